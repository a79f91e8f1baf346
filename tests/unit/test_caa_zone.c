/* Unit tests of lib/caa's zone-file source (byoca discover --zone): every
 * accepted form of the master-file subset (relative names, $ORIGIN, $TTL,
 * TTL and class in either order, blank owners, quoted and unquoted values,
 * escapes), each syntax error with its line number, and the climb of RFC
 * 8659 §3 over the file: records at the name or a parent, none, CNAMEs with
 * and without records at the target (the climb stays on the original name,
 * D-CNAME), loops and over-long chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/caa.h"

/* ---- helpers ---- */

static char *write_zone(const char *text, size_t len) {
  char *path = strdup("/tmp/byoca-zone-XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  return path;
}

static struct byoca_caa_zone *load(const char *text) {
  char *path = write_zone(text, strlen(text));
  struct byoca_caa_zone *z = NULL;
  struct byoca_err err = {0};
  int rc = byoca_caa_zone_load(path, &z, &err);
  if (rc != 0)
    fail_msg("zone did not load: %s", err.msg);
  byoca_err_clear(&err);
  unlink(path);
  free(path);
  return z;
}

/* The rrset of name as "domain|flags tag value|..." or "error:<why>" or
 * "none". */
static void rrset_str(const struct byoca_caa_zone *z, const char *name,
                      char *out, size_t outlen) {
  struct byoca_caa_rrset s;
  memset(&s, 0xa5, sizeof(s)); /* must be fully written */
  assert_int_equal(byoca_caa_zone_rrset(z, name, &s), 0);
  assert_int_equal(s.dnssec, BYOCA_DNSSEC_UNCHECKED);
  if (s.lookup_error) {
    assert_null(s.relevant_domain);
    assert_int_equal(s.n, 0);
    snprintf(out, outlen, "error:%s", s.error);
  } else if (s.relevant_domain == NULL) {
    assert_int_equal(s.n, 0);
    snprintf(out, outlen, "none");
  } else {
    size_t off = (size_t)snprintf(out, outlen, "%s", s.relevant_domain);
    for (size_t i = 0; i < s.n && off < outlen; i++)
      off += (size_t)snprintf(out + off, outlen - off, "|%u %s %s",
                              s.records[i].flags, s.records[i].tag,
                              s.records[i].value);
  }
  byoca_caa_rrset_clear(&s);
  assert_null(s.records);
}

static void expect(const struct byoca_caa_zone *z, const char *name,
                   const char *want) {
  char got[512];
  rrset_str(z, name, got, sizeof(got));
  if (strncmp(want, "error:", 6) == 0
          ? strstr(got, want) != got || strstr(got, want + 6) == NULL
          : strcmp(got, want) != 0)
    fail_msg("%s: want '%s', got '%s'", name, want, got);
}

/* ---- accepted forms ---- */

static const char good_zone[] =
    "; a zone as an owner might write it\n"
    "$ORIGIN example.com.\n"
    "$TTL 1h30m\n"
    "@            IN CAA 0 issue \"ca.example; "
    "accounturi=https://ca.example/a/1\"\n"
    "@ 300 IN CAA 128 tbs \"x\" ; critical, unknown\n"
    "             CAA 0 iodef \"mailto:sec@example.com\"\n"
    "\t \t\n"
    "www          CAA 0 issuewild ca2.example ; unquoted\n"
    "esc.example.com. 60 CAA 0 issue \"a\\\"b\\\\c\\059d\\000e\"\n"
    "Sub.Example.COM. IN 60 CAA 0 Issue \"x\"\r\n"
    "un 60 CAA 0 issue ca.example\\;\\ policy=ev\n"
    "empty CAA 0 issue \"\"\n"
    "semi CAA 0 issue \";\"\n"
    "dup CAA 0 issue \"d\"\n"
    "dup CAA 0 issue \"d\"\n"
    "$ORIGIN other\n"
    "rel CAA 0 issue \"rel\"\n"
    "$ORIGIN .\n"
    "top.test CAA 0 issue \"top\"\n"
    "top.test. 1W in caa 0 issue \"top2\"";

static void test_good_forms(void **state) {
  (void)state;
  struct byoca_caa_zone *z = load(good_zone);
  expect(z, "example.com",
         "example.com|0 issue ca.example; accounturi=https://ca.example/a/1"
         "|128 tbs x|0 iodef mailto:sec@example.com");
  expect(z, "www.example.com", "www.example.com|0 issuewild ca2.example");
  expect(z, "sub.example.com", "sub.example.com|0 Issue x");
  expect(z, "un.example.com", "un.example.com|0 issue ca.example; policy=ev");
  expect(z, "empty.example.com", "empty.example.com|0 issue ");
  expect(z, "semi.example.com", "semi.example.com|0 issue ;");
  expect(z, "dup.example.com", "dup.example.com|0 issue d");
  expect(z, "rel.other.example.com", "rel.other.example.com|0 issue rel");
  expect(z, "top.test", "top.test|0 issue top|0 issue top2");
  /* escapes: \" \\ \059 (';') \000 (a NUL inside the value) */
  struct byoca_caa_rrset s;
  assert_int_equal(byoca_caa_zone_rrset(z, "esc.example.com", &s), 0);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.records[0].value_len, 9);
  assert_memory_equal(s.records[0].value, "a\"b\\c;d\0e", 10);
  byoca_caa_rrset_clear(&s);
  byoca_caa_zone_free(z);
  byoca_caa_zone_free(NULL);
}

static void test_empty_file(void **state) {
  (void)state;
  struct byoca_caa_zone *z = load("");
  expect(z, "example.com", "none");
  byoca_caa_zone_free(z);
  z = load("; only comments\n\n   \n$TTL 60\n");
  expect(z, "www.example.com", "none");
  byoca_caa_zone_free(z);
}

/* ---- errors ---- */

struct ecase {
  const char *text;
  unsigned line;
  const char *what;
};

static const struct ecase error_cases[] = {
    {"example.com. A 192.0.2.1\n", 1,
     "record type A is not supported (only CAA and CNAME)"},
    {"; c\n\nexample.com. CAA 0 issue\n", 3,
     "a CAA record needs flags, tag and value"},
    {"x.test. CAA 256 issue \"a\"\n", 1, "invalid CAA flags '256'"},
    {"x.test. CAA -1 issue \"a\"\n", 1, "invalid CAA flags"},
    {"x.test. CAA 0 iss-ue \"a\"\n", 1, "invalid CAA record:"},
    {"x.test. CAA 0 \"issue\" \"a\"\n", 1, "the CAA tag must not be quoted"},
    {"x.test. CAA 0 issue \"abc\n", 1, "unterminated quoted string"},
    {"x.test. CAA 0 issue \"a\"\"b\"\n", 1, "no blank after a quoted string"},
    {"x.test. CAA 0 issue ab\"c\"\n", 1, "a quote inside an unquoted field"},
    {"x.test. CAA 0 issue ca.example priority=1\n", 1,
     "text after the CAA value"},
    {"x.test. CAA 0 issue \"a\\1\"\n", 1, "\\DDD needs three digits"},
    {"x.test. CAA 0 issue \"\\300\"\n", 1, "\\300 is above 255"},
    {"x.test. CAA 0 issue a\\\n", 1, "a backslash ends the value"},
    {"x.test. CH CAA 0 issue \"a\"\n", 1, "class CH is not supported"},
    {"x.test. IN\n", 1, "missing record type"},
    {"x.test. 1h30 CAA 0 issue \"a\"\n", 1, "invalid TTL '1h30'"},
    {"x.test. 99999999999 CAA 0 issue \"a\"\n", 1, "invalid TTL"},
    {"$TTL abc\n", 1, "$TTL takes one TTL"},
    {"$ORIGIN\n", 1, "$ORIGIN takes one name"},
    {"$INCLUDE other.zone\n", 1, "directive $INCLUDE is not supported"},
    {"@ CAA 0 issue \"a\"\n", 1, "'@' for the owner name, but no $ORIGIN"},
    {" CAA 0 issue \"a\"\n", 1, "no owner name"},
    {"x.test. ( CAA 0 issue \"a\" )\n", 1, "parentheses"},
    {"*.x.test. CAA 0 issue \"a\"\n", 1, "wildcard names are not supported"},
    {"a..test. CAA 0 issue \"a\"\n", 1, "'a..test.' is not a valid domain"},
    {"\"x.test.\" CAA 0 issue \"a\"\n", 1, "must not be quoted"},
    {"x.test. CAA 0 issue \"a\"\n. CAA 0 issue \"a\"\n", 2, "is the root"},
    {"x.test. CNAME\n", 1, "a CNAME record takes one target name"},
    {"x.test. CNAME a..b\n", 1, "the CNAME target 'a..b' is not a valid"},
    {"x.test. CNAME a.test.\nx.test. CAA 0 issue \"a\"\n", 2,
     "x.test has a CNAME (line 1), it cannot also hold CAA records"},
    {"x.test. CAA 0 issue \"a\"\ny.test. CAA 0 issue \"a\"\n"
     "x.test. CNAME a.test.\n",
     3, "x.test has CAA records (line 1), it cannot also be a CNAME"},
    {"x.test. CNAME a.test.\nx.test. CNAME b.test.\n", 2,
     "x.test already has a CNAME (line 1)"},
    {"x.test. CAA 0 a b c d e f g h\n", 1, "too many fields"},
};

static void check_error(const char *text, size_t len, unsigned line,
                        const char *what, int code) {
  char *path = write_zone(text, len);
  struct byoca_caa_zone *z = NULL;
  struct byoca_err err = {0};
  char want[600];
  int rc = byoca_caa_zone_load(path, &z, &err);
  if (rc != code)
    fail_msg("zone '%s': want code %d, got %d (%s)", text, code, rc, err.msg);
  assert_null(z);
  snprintf(want, sizeof(want), "%s:%u: ", path, line);
  if (strncmp(err.msg, want, strlen(want)) != 0 ||
      strstr(err.msg, what) == NULL)
    fail_msg("zone '%s': want '%s%s', got '%s'", text, want, what, err.msg);
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  byoca_err_clear(&err);
  unlink(path);
  free(path);
}

static void test_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
    check_error(error_cases[i].text, strlen(error_cases[i].text),
                error_cases[i].line, error_cases[i].what, BYOCA_E_INVAL);
  /* a NUL byte in the file */
  check_error("x.test. CAA 0 issue \"a\"\nx\0y CAA\n", 32, 2, "a NUL byte",
              BYOCA_E_INVAL);
  /* a label of 64 bytes, a name of 254 */
  char text[4096];
  snprintf(text, sizeof(text), "%064d.test. CAA 0 issue \"a\"\n", 0);
  check_error(text, strlen(text), 1, "is not a valid domain name",
              BYOCA_E_INVAL);
  snprintf(text, sizeof(text),
           "$ORIGIN test.\n%s%s%s%s%s%s.x.y CAA 0 issue a\n",
           "a234567890123456789012345678901234567890.",
           "b234567890123456789012345678901234567890.",
           "c234567890123456789012345678901234567890.",
           "d234567890123456789012345678901234567890.",
           "e234567890123456789012345678901234567890.",
           "f234567890123456789012345678901234567890");
  check_error(text, strlen(text), 2, "is longer than 253 bytes", BYOCA_E_INVAL);
  /* 65 CAA records at one name */
  size_t off = 0;
  for (int i = 0; i < 65; i++)
    off += (size_t)snprintf(text + off, sizeof(text) - off,
                            "x.test. CAA 0 issue \"%d\"\n", i);
  check_error(text, off, 65, "more than 64 CAA records at x.test",
              BYOCA_E_INVAL);
}

static void test_load_io(void **state) {
  (void)state;
  struct byoca_caa_zone *z = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_caa_zone_load("/nonexistent/byoca.zone", &z, &err),
                   BYOCA_E_NOTFOUND);
  assert_null(z);
  assert_non_null(strstr(err.msg, "/nonexistent/byoca.zone"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_caa_zone_load(NULL, &z, NULL), BYOCA_E_INVAL);
  /* 64 records at one name are fine */
  char text[4096];
  size_t off = 0;
  for (int i = 0; i < 64; i++)
    off += (size_t)snprintf(text + off, sizeof(text) - off,
                            "x.test. CAA 0 issue \"%d\"\n", i);
  z = load(text);
  struct byoca_caa_rrset s;
  assert_int_equal(byoca_caa_zone_rrset(z, "x.test", &s), 0);
  assert_int_equal(s.n, 64);
  byoca_caa_rrset_clear(&s);
  assert_int_equal(byoca_caa_zone_rrset(z, "", &s), BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_zone_rrset(z, "a..b", &s), BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_zone_rrset(NULL, "x.test", &s), BYOCA_E_INVAL);
  byoca_caa_zone_free(z);
}

/* ---- the climb ---- */

static const char climb_zone[] =
    "$ORIGIN example.com.\n"
    "@       CAA 0 issue \"parent.ca\"\n"
    "sub     CAA 0 issue \"sub.ca\"\n"
    "        CAA 0 iodef \"mailto:a@example.com\"\n"
    "iodef   CAA 0 iodef \"mailto:b@example.com\"\n"
    "alias   CNAME has.other.\n"
    "alias2  CNAME none.other.\n"
    "alias3  CNAME nowhere.invalid.\n"
    "loop    CNAME loop.example.com.\n"
    "$ORIGIN other.\n"
    "has     CAA 0 issue \"target.ca\"\n"
    "@       CAA 0 issue \"other.ca\"\n"
    "none    CNAME hop.other.\n"
    "hop     CNAME empty.other.\n"
    "$ORIGIN loop.\n"
    "a       CNAME b\n"
    "b       CNAME c\n"
    "c       CNAME a\n"
    "$ORIGIN chain.\n"
    "c0 CNAME c1\nc1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\n"
    "c5 CNAME c6\nc6 CNAME c7\nc7 CNAME c8\nc8 CAA 0 issue \"end.ca\"\n"
    "d0 CNAME c0\n";

static void test_climb(void **state) {
  (void)state;
  struct byoca_caa_zone *z = load(climb_zone);
  /* at the name, at a parent, none at all */
  expect(z, "example.com", "example.com|0 issue parent.ca");
  expect(z, "sub.example.com",
         "sub.example.com|0 issue sub.ca|0 iodef mailto:a@example.com");
  expect(z, "a.b.sub.example.com",
         "sub.example.com|0 issue sub.ca|0 iodef mailto:a@example.com");
  expect(z, "www.example.com", "example.com|0 issue parent.ca");
  expect(z, "nothing.test", "none");
  expect(z, "com", "none");
  /* the first non-empty level wins whatever it holds */
  expect(z, "x.iodef.example.com",
         "iodef.example.com|0 iodef "
         "mailto:b@example.com");
  /* wildcards start at the base name; case and trailing dot do not matter */
  expect(z, "*.sub.example.com",
         "sub.example.com|0 issue sub.ca|0 iodef mailto:a@example.com");
  expect(z, "*.www.example.com", "example.com|0 issue parent.ca");
  expect(z, "WWW.Example.COM.", "example.com|0 issue parent.ca");
  /* a CNAME to a name with records: they are the level's, named after it */
  expect(z, "alias.example.com", "alias.example.com|0 issue target.ca");
  expect(z, "x.alias.example.com", "alias.example.com|0 issue target.ca");
  /* a CNAME chain to a name without records: the climb goes on at
     example.com, never at other. (whose records would be other.ca) */
  expect(z, "alias2.example.com", "example.com|0 issue parent.ca");
  expect(z, "alias3.example.com", "example.com|0 issue parent.ca");
  expect(z, "none.other", "other|0 issue other.ca");
  /* loops and long chains are lookup errors */
  expect(z, "loop.example.com",
         "error:CNAME loop at loop.example.com: "
         "loop.example.com -> loop.example.com");
  expect(z, "a.loop",
         "error:CNAME loop at a.loop: a.loop -> b.loop -> "
         "c.loop -> a.loop");
  expect(z, "x.b.loop", "error:CNAME loop at b.loop");
  expect(z, "loop", "none");
  expect(z, "c0.chain", "c0.chain|0 issue end.ca"); /* 8 aliases */
  expect(z, "d0.chain", "error:CNAME chain at d0.chain is longer than 8");
  byoca_caa_zone_free(z);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_forms), cmocka_unit_test(test_empty_file),
      cmocka_unit_test(test_errors),     cmocka_unit_test(test_load_io),
      cmocka_unit_test(test_climb),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
