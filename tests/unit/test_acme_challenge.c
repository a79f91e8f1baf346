/* Unit tests of the challenge rule (byoca_challenge_choose), the
 * --challenge-order parser and the dns-account-01 account label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/acme.h"

/* ---- a solver that answers a fixed list of types ---- */

static int fake_supports(void *ctx, const char *type) {
  for (const char *const *t = ctx; *t != NULL; t++)
    if (strcmp(*t, type) == 0)
      return 1;
  return 0;
}

static const struct byoca_solver_ops fake_ops = {.supports = fake_supports};

static const char *const dns_types[] = {"dns-01", "dns-account-01", NULL};
static const char *const http_types[] = {"http-01", NULL};
static struct byoca_solver dns_solver = {"dns", &fake_ops, (void *)dns_types};
static struct byoca_solver http_solver = {"http", &fake_ops,
                                          (void *)http_types};

static const char *const pebble[] = {"http-01", "dns-01", "tls-alpn-01",
                                     "dns-account-01"};

struct choose_case {
  const char *name;
  const char *order; /* NULL = default */
  int caa;           /* restricts */
  const char *caa_list;
  int nsolvers;         /* 1: dns only, 2: http then dns */
  const char *want;     /* chosen type, or NULL */
  const char *want_why; /* substring of why, when nothing fits */
};

static const struct choose_case cases[] = {
    {"default prefers dns-account-01", NULL, 0, NULL, 2, "dns-account-01",
     NULL},
    {"CAA dns-01 only", NULL, 1, "dns-01", 2, "dns-01", NULL},
    {"CAA http-01 only", NULL, 1, "http-01", 2, "http-01", NULL},
    {"order http first", "http-01,dns-01", 0, NULL, 2, "http-01", NULL},
    {"order names only an unsolved type", "tls-alpn-01", 0, NULL, 2, NULL,
     "tls-alpn-01: no configured solver"},
    {"CAA and no solver", NULL, 1, "http-01", 1, NULL,
     "http-01: no configured solver; dns-01: not allowed by CAA "
     "validationmethods; tls-alpn-01: not allowed by CAA validationmethods, "
     "no configured solver; dns-account-01: not allowed by CAA "
     "validationmethods"},
    {"not in order", "http-01", 0, NULL, 1, NULL,
     "dns-01: not in the challenge order; tls-alpn-01: not in the challenge "
     "order, no configured solver; dns-account-01: not in the challenge "
     "order"},
};

static void test_choose(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    const struct choose_case *c = &cases[i];
    struct byoca_challenge_policy p = {0};
    const char *ord[BYOCA_CHALLENGE_TYPES_MAX], *caa[BYOCA_CHALLENGE_TYPES_MAX];
    size_t nord = 0, ncaa = 0, oi = 99, si = 99;
    if (c->order != NULL) {
      assert_int_equal(byoca_challenge_order_parse(c->order, ord, &nord, NULL),
                       0);
      p.order = ord;
      p.norder = nord;
    }
    if (c->caa) {
      assert_int_equal(
          byoca_challenge_order_parse(c->caa_list, caa, &ncaa, NULL), 0);
      p.caa_restricts = 1;
      p.caa_allowed = caa;
      p.ncaa_allowed = ncaa;
    }
    struct byoca_solver *two[] = {&http_solver, &dns_solver};
    struct byoca_solver *const *sv = c->nsolvers == 2 ? two : two + 1;
    char why[512];
    int rc = byoca_challenge_choose(&p, pebble, 4, sv, 1 + (c->nsolvers == 2),
                                    &oi, &si, why, sizeof(why));
    if (c->want != NULL) {
      if (rc != 0)
        fail_msg("%s: nothing chosen: %s", c->name, why);
      assert_string_equal(pebble[oi], c->want);
      assert_true(sv[si]->ops->supports(sv[si]->ctx, c->want));
    } else {
      assert_int_equal(rc, BYOCA_E_INVAL);
      if (strstr(why, c->want_why) == NULL)
        fail_msg("%s: why is '%s'", c->name, why);
    }
  }
}

static void test_choose_edges(void **state) {
  (void)state;
  size_t oi, si;
  char why[64];
  struct byoca_solver *sv[] = {&dns_solver};
  /* nothing offered */
  assert_int_equal(
      byoca_challenge_choose(NULL, NULL, 0, sv, 1, &oi, &si, why, sizeof(why)),
      BYOCA_E_INVAL);
  assert_string_equal(why, "no challenge offered");
  /* a typeless challenge is skipped; the other is taken */
  const char *off[] = {NULL, "dns-01"};
  assert_int_equal(
      byoca_challenge_choose(NULL, off, 2, sv, 1, &oi, &si, why, sizeof(why)),
      0);
  assert_int_equal(oi, 1);
  /* a short why buffer is cut, never overrun */
  const char *many[] = {"x-01", "y-01", "z-01", "w-01", "v-01", "u-01"};
  char tiny[16];
  assert_int_equal(byoca_challenge_choose(NULL, many, 6, sv, 1, &oi, &si, tiny,
                                          sizeof(tiny)),
                   BYOCA_E_INVAL);
  assert_true(strlen(tiny) < sizeof(tiny));
}

/* ---- a dns-01 solver holding the zone example.com only ---- */

static int zone_covers(void *ctx, const char *type, const char *ident) {
  (void)ctx;
  (void)type;
  size_t n = strlen(ident);
  return strcmp(ident, "example.com") == 0 ||
         (n > 12 && strcmp(ident + n - 12, ".example.com") == 0);
}

static const struct byoca_solver_ops zone_ops = {.supports = fake_supports,
                                                 .covers = zone_covers};
static struct byoca_solver zone_solver = {"zone", &zone_ops, (void *)dns_types};

/* A dns-01 solver that holds some names only: the rule passes to http-01
 * for the others (a tenant's RFC 2136 zone must not break its other
 * names), keeps dns-01 for its own, and says why when nothing else fits. */
static void test_choose_covers(void **state) {
  (void)state;
  struct byoca_solver *sv[] = {&zone_solver, &http_solver};
  struct byoca_challenge_policy p = {0};
  size_t oi = 99, si = 99;
  char why[512];
  p.identifier = "www.example.com";
  assert_int_equal(
      byoca_challenge_choose(&p, pebble, 4, sv, 2, &oi, &si, why, sizeof(why)),
      0);
  assert_string_equal(pebble[oi], "dns-account-01");
  assert_int_equal(si, 0);
  p.identifier = "shop.example.org";
  assert_int_equal(
      byoca_challenge_choose(&p, pebble, 4, sv, 2, &oi, &si, why, sizeof(why)),
      0);
  assert_string_equal(pebble[oi], "http-01");
  assert_int_equal(si, 1);
  p.identifier = NULL; /* no identifier: supports alone decides */
  assert_int_equal(
      byoca_challenge_choose(&p, pebble, 4, sv, 2, &oi, &si, why, sizeof(why)),
      0);
  assert_string_equal(pebble[oi], "dns-account-01");
  /* only the zone solver, a name outside it */
  p.identifier = "shop.example.org";
  assert_int_equal(
      byoca_challenge_choose(&p, pebble, 4, sv, 1, &oi, &si, why, sizeof(why)),
      BYOCA_E_INVAL);
  assert_non_null(strstr(why, "dns-01: no zone or hook configured for this name"));
  assert_non_null(strstr(why, "http-01: no configured solver;"));
}

static void test_order_parse(void **state) {
  (void)state;
  const char *out[BYOCA_CHALLENGE_TYPES_MAX];
  size_t n = 0;
  struct byoca_err e = {0};
  assert_int_equal(
      byoca_challenge_order_parse("dns-01, http-01 tls-alpn-01", out, &n, &e),
      0);
  assert_int_equal(n, 3);
  assert_string_equal(out[2], "tls-alpn-01");
  assert_ptr_equal(out[0], byoca_challenge_known("dns-01", 6));
  assert_int_equal(byoca_challenge_order_parse("dns-01,dns-02", out, &n, &e),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "'dns-02'"));
  byoca_err_clear(&e);
  assert_int_equal(byoca_challenge_order_parse("http-01,http-01", out, &n, &e),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "twice"));
  byoca_err_clear(&e);
  assert_int_equal(byoca_challenge_order_parse(" , ", out, &n, &e),
                   BYOCA_E_INVAL);
  byoca_err_clear(&e);
  assert_null(byoca_challenge_known("HTTP-01", 7));
  const char *const *d = byoca_challenge_default();
  assert_string_equal(d[0], "dns-account-01");
  assert_string_equal(d[1], "dns-01");
  assert_string_equal(d[2], "tls-alpn-01");
  assert_string_equal(d[3], "http-01");
  assert_null(d[4]);
}

/* Lowercase base32(SHA-256(url)[0:10]) computed by python3's hashlib and
 * base64 (an independent implementation), or NULL when python3 is
 * missing. */
static int python_label(const char *url, char *out, size_t outlen) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "python3 -c 'import hashlib,base64,sys; "
           "print(\"_\"+base64.b32encode(hashlib.sha256(sys.argv[1].encode())"
           ".digest()[:10]).decode().lower())' '%s' 2>/dev/null",
           url);
  FILE *f = popen(cmd, "r");
  if (f == NULL)
    return -1;
  char *r = fgets(out, (int)outlen, f);
  int st = pclose(f);
  if (r == NULL || st != 0)
    return -1;
  out[strcspn(out, "\n")] = '\0';
  return 0;
}

static void test_account_label(void **state) {
  (void)state;
  char label[BYOCA_DNS_ACCOUNT_LABEL_SIZE];
  /* the worked example of the draft's implementers (Certify The Web's
   * documentation of draft-03), checked with python3 as well */
  assert_int_equal(byoca_dns_account_label(
                       "https://example.com/acme/acct/ExampleAccount", label),
                   0);
  assert_string_equal(label, "_ujmmovf2vn55tgye");
  static const char *const urls[] = {
      "https://127.0.0.1:14000/my-account/1",
      "https://acme-v02.api.letsencrypt.org/acme/acct/123456789",
      "https://ca.example/a/b?c=d", "x"};
  for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
    char want[64];
    assert_int_equal(byoca_dns_account_label(urls[i], label), 0);
    assert_int_equal(strlen(label), 17);
    if (python_label(urls[i], want, sizeof(want)) != 0) {
      fprintf(stderr, "python3 missing: only the documented vector\n");
      break;
    }
    assert_string_equal(label, want);
  }
  assert_int_equal(byoca_dns_account_label("", label), BYOCA_E_INVAL);
  assert_int_equal(byoca_dns_account_label(NULL, label), BYOCA_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_choose),        cmocka_unit_test(test_choose_edges),
      cmocka_unit_test(test_choose_covers), cmocka_unit_test(test_order_parse),
      cmocka_unit_test(test_account_label),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
