/* Unit tests of lib/caa's parsers: the issue/issuewild value ABNF of RFC 8659
 * §4.2 (every example of RFC 8659 §4, the consequences listed in the
 * digest §1.3, the divergence rows of digest §1.7 as DECISIONS.md settles
 * them, the draft's malformed example), parameter look-up, the D-PRIO-BAD
 * reading of priority, CAA RDATA from the wire (RFC 8659 §4.1), and the
 * enum names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/caa.h"
#include "caa_int.h"

struct vcase {
  const char *src; /* where the case comes from */
  const char *in;  /* the value */
  size_t len;      /* 0: strlen(in) */
  int valid;
  const char *issuer; /* expected issuer, NULL for none */
  const char *params; /* "tag=value|tag=value", "" for none */
  const char *err;    /* a piece of the error when malformed */
};

static const struct vcase value_cases[] = {
    /* RFC 8659 §4.2 and §4.3 examples */
    {"RFC 8659 §4.2 example.com", "ca1.example.net", 0, 1, "ca1.example.net",
     "", NULL},
    {"RFC 8659 §4.2 account.example.com", "ca1.example.net; account=230123", 0,
     1, "ca1.example.net", "account=230123", NULL},
    {"RFC 8659 §4.2 nocerts.example.com", ";", 0, 1, NULL, "", NULL},
    {"RFC 8659 §4.2 malformed.example.com", "%%%%%", 0, 0, NULL, "",
     "'%' at position 1"},
    {"RFC 8659 §4.3 wild issuewild", "ca2.example.org", 0, 1, "ca2.example.org",
     "", NULL},
    {"RFC 8659 §4.5 new.example.com", "ca1.example.net", 0, 1,
     "ca1.example.net", "", NULL},
    /* digest §1.3 "consequences an implementer must get right" */
    {"digest §1.3 trailing ';' no params", "ca.example;", 0, 1, "ca.example",
     "", NULL},
    {"digest §1.3 trailing ';' after param", "ca.example; a=b;", 0, 0, NULL, "",
     "after the last parameter"},
    {"digest §1.3 ';;'", ";;", 0, 0, NULL, "", "empty parameter"},
    {"digest §1.3 empty", "", 0, 1, NULL, "", NULL},
    {"digest §1.3 ' ; '", " ; ", 0, 1, NULL, "", NULL},
    {"digest §1.3 '; policy=ev'", "; policy=ev", 0, 1, NULL, "policy=ev", NULL},
    {"digest §1.3 WSP everywhere", "\t ca.example \t; \tk \t= \tv \t", 0, 1,
     "ca.example", "k=v", NULL},
    {"digest §1.3 WSP around ';'", "ca.example ; a=b ; c=d", 0, 1, "ca.example",
     "a=b|c=d", NULL},
    {"digest §1.3 no WSP", "ca.example;a=b;c=d", 0, 1, "ca.example", "a=b|c=d",
     NULL},
    {"digest §1.3 empty parameter value", "ca.example; a=", 0, 1, "ca.example",
     "a=", NULL},
    {"digest §1.3 '=' ',' ':' '/' in value", "ca.example; a==b,c:d/e", 0, 1,
     "ca.example", "a==b,c:d/e", NULL},
    {"RFC 8659 §4.2 value %x21 '!' and '\"'", "ca.example; a=!\"~", 0, 1,
     "ca.example", "a=!\"~", NULL},
    {"RFC 8659 §4.2 label: interior hyphen runs", "c--a.ex-am-ple", 0, 1,
     "c--a.ex-am-ple", "", NULL},
    {"RFC 8659 §4.2 A-label", "xn--bcher-kva.example", 0, 1,
     "xn--bcher-kva.example", "", NULL},
    {"RFC 8659 §4.2 digits-only labels", "123.456", 0, 1, "123.456", "", NULL},
    {"RFC 8659 §4.2 empty label", "ca..example", 0, 0, NULL, "",
     "'.' at position 4"},
    {"RFC 8659 §4.2 leading dot", ".ca.example", 0, 0, NULL, "",
     "expected an issuer domain name or ';'"},
    {"RFC 8659 §4.2 label starts with '-'", "-ca.example", 0, 0, NULL, "",
     "'-' at position 1"},
    {"RFC 8659 §4.2 label ends with '-'", "ca-.example", 0, 0, NULL, "",
     "must not end with '-'"},
    {"RFC 8659 §4.2 '_' in issuer", "ca_1.example", 0, 0, NULL, "",
     "'_' at position 3"},
    {"RFC 8659 §4.2 two names", "ca.example net", 0, 0, NULL, "",
     "expected ';' after the issuer domain name"},
    {"RFC 8659 §4.2 no '='", "ca.example; a", 0, 0, NULL, "",
     "expected '=' after the parameter tag"},
    {"RFC 8659 §4.2 ';;' after issuer", "ca.example;; a=b", 0, 0, NULL, "",
     "empty parameter"},
    {"RFC 8659 §4.2 space-separated params", "ca.example; a=b c=d", 0, 0, NULL,
     "", "separated by ';'"},
    {"RFC 8659 §4.2 tag with '_'", "ca.example; a_b=c", 0, 0, NULL, "",
     "'_' at position 14"},
    {"RFC 8659 §4.2 non-ASCII value", "ca.example; a=\xc3\xa9", 0, 0, NULL, "",
     "byte 0xc3"},
    {"RFC 8659 §4.2 NUL inside", "ca.example\0x", 12, 0, NULL, "",
     "byte 0x00 at position 11"},
    {"RFC 8659 §4.2 CR", "ca.example\r", 0, 0, NULL, "", "byte 0x0d"},
    /* digest §1.7 divergence rows, as DECISIONS.md settles them */
    {"digest §1.7 D-TAG-HYPHEN a-b=c", "ca.example; a-b=c", 0, 1, "ca.example",
     "a-b=c", NULL},
    {"digest §1.7 D-TAG-HYPHEN validation---method",
     "ca.example; "
     "validation---method=x",
     0, 1, "ca.example", "validation---method=x", NULL},
    {"digest §1.7 D-TAG-HYPHEN leading '-'", "ca.example; -a=b", 0, 0, NULL, "",
     "expected a parameter tag"},
    {"digest §1.7 D-TAG-HYPHEN trailing '-'", "ca.example; a-=b", 0, 0, NULL,
     "", "must not end with '-'"},
    {"digest §1.7 D-IDN-DOT trailing dot", "ca.example.", 0, 0, NULL, "",
     "must not end with a dot"},
    {"digest §1.7 D-IDN-DOT trailing dot before ';'", "ca.example.; a=b", 0, 0,
     NULL, "", "must not end with a dot"},
    {"digest §1.7 D-IDN-CASE lowercased", "CA1.Example.NET", 0, 1,
     "ca1.example.net", "", NULL},
    /* the draft's examples (draft-vanbrouwershaven-acme-auto-discovery-03) */
    {"draft-03 §4.2.3 malformed (digest §3.2 item 1)",
     "ca1.example; priority=1 validationmethods=ca-ev", 0, 0, NULL, "",
     "'v' at position 25: parameters must be separated by ';'"},
    {"draft-03 §4.2.5 accounturi",
     "ca1.example; priority=1; accounturi=https://ca1.example/account/1234", 0,
     1, "ca1.example", "priority=1|accounturi=https://ca1.example/account/1234",
     NULL},
    {"draft-03 §4.2.4 discovery=false", "ca2.example; discovery=false", 0, 1,
     "ca2.example", "discovery=false", NULL},
    {"D-PRIO-BAD trailing WSP is not part of the value",
     "ca.example; priority=1 ", 0, 1, "ca.example", "priority=1", NULL},
};

static void params_str(const struct byoca_caa_value *v, char *out, size_t n) {
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < v->nparams && off < n; i++)
    off += (size_t)snprintf(out + off, n - off, "%s%s=%s", i ? "|" : "",
                            v->params[i].tag, v->params[i].value);
}

static void test_value_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(value_cases) / sizeof(*value_cases); i++) {
    const struct vcase *c = &value_cases[i];
    struct byoca_caa_value v;
    size_t len = c->len ? c->len : strlen(c->in);
    char params[512];
    print_message("case: %s\n", c->src);
    assert_int_equal(byoca_caa_value_parse(c->in, len, &v), 0);
    assert_int_equal(v.valid, c->valid);
    if (c->issuer == NULL)
      assert_null(v.issuer);
    else
      assert_string_equal(v.issuer, c->issuer);
    params_str(&v, params, sizeof(params));
    assert_string_equal(params, c->params);
    if (c->valid) {
      assert_string_equal(v.error, "");
    } else {
      assert_int_equal(v.nparams, 0);
      if (strstr(v.error, c->err) == NULL)
        fail_msg("%s: error \"%s\" lacks \"%s\"", c->src, v.error, c->err);
    }
    byoca_caa_value_clear(&v);
  }
}

/* CAA_MAX_PARAMS is a cap of ours, not of the RFC: 64 pass, 65 do not. */
static void test_value_param_cap(void **state) {
  (void)state;
  char buf[2048];
  for (int total = 64; total <= 65; total++) {
    size_t off = (size_t)snprintf(buf, sizeof(buf), "ca.example");
    for (int i = 0; i < total; i++)
      off += (size_t)snprintf(buf + off, sizeof(buf) - off, "; p%d=%d", i, i);
    struct byoca_caa_value v;
    assert_int_equal(byoca_caa_value_parse(buf, off, &v), 0);
    assert_int_equal(v.valid, total == 64);
    assert_int_equal(v.nparams, total == 64 ? 64 : 0);
    if (total == 64)
      assert_string_equal(v.params[63].value, "63");
    else
      assert_non_null(strstr(v.error, "more parameters"));
    byoca_caa_value_clear(&v);
  }
}

static void test_value_param_lookup(void **state) {
  (void)state;
  struct byoca_caa_value v;
  const char *s = "ca.example; Priority=2; priority=3; accounturi=x:y";
  size_t count = 99;
  assert_int_equal(byoca_caa_value_parse(s, strlen(s), &v), 0);
  assert_string_equal(byoca_caa_value_param(&v, "priority", &count), "2");
  assert_int_equal(count, 2);
  assert_string_equal(byoca_caa_value_param(&v, "ACCOUNTURI", &count), "x:y");
  assert_int_equal(count, 1);
  assert_null(byoca_caa_value_param(&v, "discovery", &count));
  assert_int_equal(count, 0);
  assert_string_equal(byoca_caa_value_param(&v, "accounturi", NULL), "x:y");
  assert_null(byoca_caa_value_param(NULL, "x", &count));
  assert_int_equal(count, 0);
  byoca_caa_value_clear(&v);
  byoca_caa_value_clear(&v); /* cleared twice is harmless */
  byoca_caa_value_clear(NULL);
  /* NULL value bytes read as the empty value */
  assert_int_equal(byoca_caa_value_parse(NULL, 0, &v), 0);
  assert_int_equal(v.valid, 1);
  assert_null(v.issuer);
  byoca_caa_value_clear(&v);
  assert_int_equal(byoca_caa_value_parse("x", 1, NULL), BYOCA_E_INVAL);
}

struct pcase {
  const char *src;
  const char *value;
  int64_t priority;
  const char *note; /* piece of the note, "" when none */
};

static const struct pcase prio_cases[] = {
    {"draft-03 §4.1.2 1 is highest", "c.example; priority=1", 1, ""},
    {"draft-03 §4.1.2 larger is lower", "c.example; priority=3", 3, ""},
    {"D-PRIO-BAD 2^31-1 is the largest", "c.example; priority=2147483647",
     2147483647, ""},
    {"D-PRIO-BAD over 2^31-1", "c.example; priority=2147483648", 0,
     "'2147483648' ignored"},
    {"D-PRIO-BAD huge", "c.example; priority=99999999999999999999999", 0,
     "ignored"},
    {"D-PRIO-BAD leading zero", "c.example; priority=01", 0, "'01' ignored"},
    {"D-PRIO-BAD zero (draft: greater than zero)", "c.example; priority=0", 0,
     "'0' ignored"},
    {"D-PRIO-BAD negative", "c.example; priority=-1", 0, "'-1' ignored"},
    {"D-PRIO-BAD plus sign", "c.example; priority=+1", 0, "'+1' ignored"},
    {"D-PRIO-BAD not a number", "c.example; priority=abc", 0, "ignored"},
    {"D-PRIO-BAD exponent", "c.example; priority=1e3", 0, "ignored"},
    {"D-PRIO-BAD empty", "c.example; priority=", 0, "'' ignored"},
    {"D-PRIO-BAD given twice", "c.example; priority=1; priority=1", 0,
     "given 2 times"},
    {"D-PRIO-BAD 'priority=1 ' (WSP ends the value)", "c.example; priority=1 ",
     1, ""},
    {"D-PRIO-BAD tag case-insensitive", "c.example; PRIORITY=4", 4, ""},
    {"draft-03 §4.1.2 absent", "c.example", 0, ""},
};

static void test_priority_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(prio_cases) / sizeof(*prio_cases); i++) {
    const struct pcase *c = &prio_cases[i];
    struct byoca_caa_value v;
    char note[140];
    print_message("case: %s\n", c->src);
    assert_int_equal(byoca_caa_value_parse(c->value, strlen(c->value), &v), 0);
    assert_int_equal(v.valid, 1);
    assert_int_equal(caa_priority(&v, note, sizeof(note)), c->priority);
    if (c->note[0] == '\0')
      assert_string_equal(note, "");
    else if (strstr(note, c->note) == NULL)
      fail_msg("%s: note \"%s\" lacks \"%s\"", c->src, note, c->note);
    assert_int_equal(caa_priority(&v, NULL, 0), c->priority);
    byoca_caa_value_clear(&v);
  }
}

/* ---- RDATA (RFC 8659 §4.1) ---- */

static void test_rdata_good(void **state) {
  (void)state;
  static const unsigned char issue[] = "\x00\x05issueca1.example.net";
  static const unsigned char tbs[] = "\x80\x03tbsUnknown";
  static const unsigned char empty[] = "\x00\x05issue";
  static const unsigned char nul[] = "\x00\x05issuea\0b";
  struct byoca_caa_record r;
  assert_int_equal(byoca_caa_rdata_parse(issue, sizeof(issue) - 1, &r, NULL),
                   0);
  assert_int_equal(r.flags, 0);
  assert_string_equal(r.tag, "issue");
  assert_string_equal(r.value, "ca1.example.net");
  assert_int_equal(r.value_len, 15);
  byoca_caa_record_clear(&r);
  assert_null(r.tag);
  /* RFC 8659 §4.5: new.example.com CAA 128 tbs "Unknown" */
  assert_int_equal(byoca_caa_rdata_parse(tbs, sizeof(tbs) - 1, &r, NULL), 0);
  assert_int_equal(r.flags, BYOCA_CAA_FLAG_CRITICAL);
  assert_string_equal(r.tag, "tbs");
  assert_string_equal(r.value, "Unknown");
  byoca_caa_record_clear(&r);
  assert_int_equal(byoca_caa_rdata_parse(empty, sizeof(empty) - 1, &r, NULL),
                   0);
  assert_string_equal(r.value, "");
  assert_int_equal(r.value_len, 0);
  byoca_caa_record_clear(&r);
  /* the value is opaque bytes: a NUL stays, value_len is the truth */
  assert_int_equal(byoca_caa_rdata_parse(nul, sizeof(nul) - 1, &r, NULL), 0);
  assert_int_equal(r.value_len, 3);
  assert_memory_equal(r.value, "a\0b", 4);
  byoca_caa_record_clear(&r);
  byoca_caa_record_clear(NULL);
}

static void test_rdata_limits(void **state) {
  (void)state;
  /* tag length 255 with the whole of it present, and a 64 KiB value */
  size_t len = 65535;
  unsigned char *b = malloc(len + 1);
  assert_non_null(b);
  b[0] = 0;
  b[1] = 255;
  memset(b + 2, 'a', 255);
  memset(b + 257, 'v', len - 257);
  struct byoca_caa_record r;
  assert_int_equal(byoca_caa_rdata_parse(b, len, &r, NULL), 0);
  assert_int_equal(strlen(r.tag), 255);
  assert_int_equal(r.value_len, len - 257);
  byoca_caa_record_clear(&r);
  struct byoca_err e = {0};
  assert_int_equal(byoca_caa_rdata_parse(b, len + 1, &r, &e), BYOCA_E_PROTO);
  assert_non_null(strstr(e.msg, "longer than DNS allows"));
  byoca_err_clear(&e);
  free(b);
}

struct rcase {
  const char *src;
  const unsigned char *rdata;
  size_t len;
  const char *err;
};

static void test_rdata_bad(void **state) {
  (void)state;
  static const struct rcase cases[] = {
      {"RFC 8659 §4.1 tag length 0", (const unsigned char *)"\x00\x00x", 3,
       "tag length of 0"},
      {"RFC 8659 §4.1 tag length beyond the end",
       (const unsigned char *)"\x00\x0aissue", 7, "runs past the end"},
      {"RFC 8659 §4.1 tag length one past the end",
       (const unsigned char *)"\x00\x06issue", 7, "runs past the end"},
      {"RFC 8659 §4.1 '-' in tag",
       (const unsigned char *)"\x00\x03"
                              "a-bv",
       6, "0x2d at position 1"},
      {"RFC 8659 §4.1 '_' in tag", (const unsigned char *)"\x00\x06is_suev", 9,
       "letters and digits only"},
      {"RFC 8659 §4.1 non-ASCII tag", (const unsigned char *)"\x00\x02\xc3\xa9",
       4, "0xc3 at position 0"},
      {"RFC 8659 §4.1 one byte", (const unsigned char *)"\x00", 1, "too short"},
      {"RFC 8659 §4.1 empty", NULL, 0, "too short"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    struct byoca_caa_record r = {.flags = 7};
    struct byoca_err e = {0};
    print_message("case: %s\n", cases[i].src);
    assert_int_equal(
        byoca_caa_rdata_parse(cases[i].rdata, cases[i].len, &r, &e),
        BYOCA_E_PROTO);
    if (strstr(e.msg, cases[i].err) == NULL)
      fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].src, e.msg, cases[i].err);
    assert_int_equal(r.flags, 7); /* out untouched on failure */
    assert_null(r.tag);
    byoca_err_clear(&e);
  }
  struct byoca_caa_record r;
  assert_int_equal(byoca_caa_rdata_parse(NULL, 4, &r, NULL), BYOCA_E_INVAL);
  assert_int_equal(
      byoca_caa_rdata_parse((const unsigned char *)"\0\1a", 3, NULL, NULL),
      BYOCA_E_INVAL);
}

/* ---- names and rrset release ---- */

static void test_names(void **state) {
  (void)state;
  assert_string_equal(byoca_caa_status_str(BYOCA_CAA_UNRESTRICTED),
                      "unrestricted");
  assert_string_equal(byoca_caa_status_str(BYOCA_CAA_RESTRICTED), "restricted");
  assert_string_equal(byoca_caa_status_str(BYOCA_CAA_FORBIDDEN), "forbidden");
  assert_string_equal(byoca_caa_status_str(BYOCA_CAA_LOOKUP_ERROR),
                      "lookup_error");
  assert_string_equal(byoca_caa_outcome_str(BYOCA_CAA_TRY_IN_ORDER),
                      "try_in_order");
  assert_string_equal(byoca_caa_outcome_str(BYOCA_CAA_USE_DEFAULT),
                      "use_default");
  assert_string_equal(byoca_caa_outcome_str(BYOCA_CAA_NO_COMMON_CA),
                      "no_common_ca");
  assert_string_equal(byoca_caa_outcome_str(BYOCA_CAA_FORBIDDEN_ALL),
                      "forbidden");
  assert_string_equal(byoca_caa_outcome_str(BYOCA_CAA_LOOKUP_FAILED),
                      "lookup_error");
  assert_string_equal(byoca_dnssec_str(BYOCA_DNSSEC_SECURE), "secure");
  assert_string_equal(byoca_dnssec_str(BYOCA_DNSSEC_INSECURE), "insecure");
  assert_string_equal(byoca_dnssec_str(BYOCA_DNSSEC_BOGUS), "bogus");
  assert_string_equal(byoca_dnssec_str(BYOCA_DNSSEC_UNCHECKED), "unchecked");
  assert_string_equal(byoca_caa_status_str((enum byoca_caa_status)42),
                      "unknown");
  assert_string_equal(byoca_caa_outcome_str((enum byoca_caa_outcome)42),
                      "unknown");
  assert_string_equal(byoca_dnssec_str((enum byoca_dnssec)42), "unknown");
}

static void test_rrset_clear(void **state) {
  (void)state;
  static const unsigned char issue[] = "\x00\x05issueca1.example.net";
  struct byoca_caa_rrset s = {0};
  s.relevant_domain = strdup("example.com");
  s.records = calloc(2, sizeof(*s.records));
  assert_non_null(s.records);
  assert_int_equal(
      byoca_caa_rdata_parse(issue, sizeof(issue) - 1, &s.records[0], NULL), 0);
  assert_int_equal(
      byoca_caa_rdata_parse(issue, sizeof(issue) - 1, &s.records[1], NULL), 0);
  s.n = 2;
  s.dnssec = BYOCA_DNSSEC_SECURE;
  byoca_caa_rrset_clear(&s);
  assert_null(s.relevant_domain);
  assert_null(s.records);
  assert_int_equal(s.n, 0);
  assert_int_equal(s.dnssec, BYOCA_DNSSEC_UNCHECKED);
  byoca_caa_rrset_clear(&s);
  byoca_caa_rrset_clear(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_value_table),
      cmocka_unit_test(test_value_param_cap),
      cmocka_unit_test(test_value_param_lookup),
      cmocka_unit_test(test_priority_table),
      cmocka_unit_test(test_rdata_good),
      cmocka_unit_test(test_rdata_limits),
      cmocka_unit_test(test_rdata_bad),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_rrset_clear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
