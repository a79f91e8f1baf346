/* Unit tests of discovery across the names of one certificate: the draft's
 * examples (draft-vanbrouwershaven-acme-auto-discovery-03 §4.2, §6.1.1),
 * candidates (D-NOMINATE), the compromise score and groups (D-COMPROMISE,
 * D-PRIO-MULTI), the seeded order inside a group (D-RANDOM), exclusions,
 * and the outcome ladder (D-DNS-ERR, D-DEFAULT). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/caa.h"
#include "caa_fixture.h"
#include "caa_int.h"

#define MAXN 4

/* A certificate's names with the records of each name's Relevant RRset. */
struct cert {
  const char *names[MAXN];
  struct rec recs[MAXN][6]; /* each ended by a NULL tag */
  size_t n;
};

/* Runs discovery on c under p; the rrsets are freed at once, so the
 * results are read from d's own strings only (issuers, authorized). */
static void discover(const struct cert *c, const struct byoca_caa_policy *p,
                     struct byoca_caa_discovery *d) {
  struct byoca_caa_rrset *sets[MAXN];
  for (size_t i = 0; i < c->n; i++)
    sets[i] = fx_set(c->names[i], c->recs[i]);
  assert_int_equal(
      byoca_caa_discover(c->names, (const struct byoca_caa_rrset *const *)sets,
                         c->n, p, d, NULL),
      0);
  for (size_t i = 0; i < d->nidents; i++) {
    d->idents[i].rrset = NULL; /* borrowed: about to go */
    for (size_t k = 0; k < d->idents[i].nverdicts; k++)
      d->idents[i].verdicts[k].record = NULL;
  }
  for (size_t i = 0; i < c->n; i++)
    fx_free(sets[i]);
}

static void expect(const struct cert *c, const struct byoca_caa_policy *p,
                   enum byoca_caa_outcome outcome, const char *cands) {
  struct byoca_caa_discovery d = {0};
  char buf[1024];
  discover(c, p, &d);
  fx_cands(&d, buf, sizeof(buf));
  if (d.outcome != outcome || strcmp(buf, cands) != 0)
    fail_msg("outcome %s candidates \"%s\"; expected %s \"%s\"",
             byoca_caa_outcome_str(d.outcome), buf,
             byoca_caa_outcome_str(outcome), cands);
  byoca_caa_discovery_clear(&d);
}

static const struct byoca_caa_policy plain = {0};

/* draft-03 §4.2.2: ca2 (priority 1) before ca1 (priority 2). */
static void test_draft03_s4_2_2_priority(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example; priority=2"},
                           {0, "issue", "ca2.example; priority=1"}}},
                         1};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1,ca1.example:2:2");
}

/* draft-03 §4.2.2: ca2 and ca3 (priority 1) in random order, then ca1
 * (no priority: lower than all that specify one). */
static void test_draft03_s4_2_2_equal_priority(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example"},
                           {0, "issue", "ca2.example; priority=1"},
                           {0, "issue", "ca3.example; priority=1"}}},
                         1};
  struct byoca_caa_policy p = {0};
  int seen2 = 0, seen3 = 0;
  for (uint64_t seed = 0; seed < 32; seed++) {
    struct byoca_caa_discovery d = {0};
    p.seed = seed;
    discover(&c, &p, &d);
    assert_int_equal(d.ncandidates, 3);
    assert_int_equal(d.candidates[0].group, 1);
    assert_int_equal(d.candidates[1].group, 1);
    assert_int_equal(d.candidates[0].score, 1);
    assert_int_equal(d.candidates[1].score, 1);
    assert_string_equal(d.candidates[2].issuer, "ca1.example");
    assert_int_equal(d.candidates[2].group, 2);
    assert_int_equal(d.candidates[2].score, 2);
    seen2 |= strcmp(d.candidates[0].issuer, "ca2.example") == 0;
    seen3 |= strcmp(d.candidates[0].issuer, "ca3.example") == 0;
    byoca_caa_discovery_clear(&d);
  }
  assert_true(seen2 && seen3); /* either may come first */
}

/* draft-03 §4.2.3 (digest §3.2 item 1): the first record is malformed, so
 * ca1 comes in at priority 2, then ca2 at 3. */
static void test_draft03_s4_2_3_validationmethods(void **state) {
  (void)state;
  const struct cert c = {
      {"example.com"},
      {{{0, "issue", "ca1.example; priority=1 validationmethods=ca-ev"},
        {0, "issue", "ca1.example; priority=2"},
        {0, "issue", "ca2.example; priority=3"}}},
      1};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:2:2");
  /* written correctly, ca-ev is a method we cannot perform (digest §3.2
   * item 16): the same order results */
  struct cert ok = c;
  ok.recs[0][0].value = "ca1.example; priority=1; validationmethods=ca-ev";
  expect(&ok, &plain, BYOCA_CAA_TRY_IN_ORDER,
         "ca1.example:1:1,ca2.example:2:2");
}

/* draft-03 §4.2.4: issuewild governs wildcards exclusively; a certificate
 * with both names has no common CA (digest §3.2 item 17). */
static void test_draft03_s4_2_4_issuewild(void **state) {
  (void)state;
  struct cert c = {{"example.com"},
                   {{{0, "issue", "ca1.example; priority=1"},
                     {0, "issue", "ca2.example; priority=2"},
                     {0, "issuewild", "ca3.example; priority=3"}}},
                   1};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:2:2");
  c.names[0] = "*.example.com";
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca3.example:1:1");
  c.names[0] = "*.sub.example.com"; /* same Relevant RRset */
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca3.example:1:1");
  c.names[1] = "example.com";
  memcpy(c.recs[1], c.recs[0], sizeof(c.recs[0]));
  c.n = 2;
  expect(&c, &plain, BYOCA_CAA_NO_COMMON_CA, "");
}

/* draft-03 §4.2.4 and D-DISC-FALSE: only ca1 is tried; ca2 still
 * authorizes. */
static void test_draft03_s4_2_4_discovery_false(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example"},
                           {0, "issue", "ca2.example; discovery=false"}}},
                         1};
  struct byoca_caa_discovery d = {0};
  char buf[256];
  discover(&c, &plain, &d);
  fx_auth(&d.idents[0], buf, sizeof(buf));
  assert_string_equal(buf, "ca1.example,ca2.example");
  assert_int_equal(d.idents[0].verdicts[1].usable, 1);
  assert_int_equal(d.idents[0].verdicts[1].nominates, 0);
  fx_cands(&d, buf, sizeof(buf));
  assert_string_equal(buf, "ca1.example:1:1");
  byoca_caa_discovery_clear(&d);
}

/* D-DISC-FALSE: only the exact lowercase "false" turns nomination off. */
static void test_d_disc_false_values(void **state) {
  (void)state;
  static const char *const values[] = {"true", "False", "FALSE", "no", "0", ""};
  for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
    char v[64];
    snprintf(v, sizeof(v), "ca1.example; discovery=%s", values[i]);
    const struct cert c = {{"example.com"}, {{{0, "issue", v}}}, 1};
    print_message("case: discovery=%s\n", values[i]);
    expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1");
  }
  const struct cert off = {
      {"example.com"}, {{{0, "issue", "ca1.example; DISCOVERY=false"}}}, 1};
  expect(&off, &plain, BYOCA_CAA_NO_COMMON_CA, "");
}

/* draft-03 §4.2.5 with RFC 8657 and D-ACCT-UNKNOWN: ca1 only with our
 * account; without it ca2 alone remains (and ranks first). */
static void test_draft03_s4_2_5_accounturi(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue",
                            "ca1.example; priority=1; "
                            "accounturi=https://ca1.example/account/1234"},
                           {0, "issue", "ca2.example; priority=2"}}},
                         1};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1");
  const struct byoca_caa_account acct[] = {
      {"ca1.example", "https://ca1.example/account/1234"}};
  const struct byoca_caa_policy p = {.accounts = acct, .naccounts = 1};
  expect(&c, &p, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:2:2");
  /* the account must be at that issuer */
  const struct byoca_caa_account other[] = {
      {"ca2.example", "https://ca1.example/account/1234"}};
  const struct byoca_caa_policy q = {.accounts = other, .naccounts = 1};
  expect(&c, &q, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1");
}

/* draft-03 §4.2.5: several accounturi for ca1; we hold 1235, whose record
 * has priority 2 (D-PRIO-MULTI counts only usable records). */
static void test_draft03_s4_2_5_several_accounts(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue",
                            "ca1.example; priority=1; "
                            "accounturi=https://ca1.example/account/1234"},
                           {0, "issue",
                            "ca1.example; priority=2; "
                            "accounturi=https://ca1.example/account/1235"},
                           {0, "issue",
                            "ca1.example; priority=2; "
                            "accounturi=https://ca1.example/account/1236"},
                           {0, "issue", "ca2.example; priority=3"}}},
                         1};
  const struct byoca_caa_account acct[] = {
      {"ca1.example", "https://ca1.example/account/1235"}};
  const struct byoca_caa_policy p = {.accounts = acct, .naccounts = 1};
  struct byoca_caa_discovery d = {0};
  char buf[256];
  discover(&c, &p, &d);
  fx_cands(&d, buf, sizeof(buf));
  assert_string_equal(buf, "ca1.example:1:1,ca2.example:2:2");
  assert_int_equal(d.idents[0].verdicts[0].usable, 0);
  assert_int_equal(d.idents[0].verdicts[1].usable, 1);
  assert_int_equal(d.idents[0].verdicts[1].priority, 2);
  byoca_caa_discovery_clear(&d);
}

/* D-PRIO-MULTI: several usable records for one CA, the lowest specified
 * priority counts; an unspecified one does not hide a specified one. */
static void test_d_prio_multi(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example; priority=3"},
                           {0, "issue", "ca2.example; priority=2"},
                           {0, "issue", "ca1.example; priority=1"}}},
                         1};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:2:2");
  const struct cert u = {{"example.com"},
                         {{{0, "issue", "ca1.example"},
                           {0, "issue", "ca1.example; priority=2"},
                           {0, "issue", "ca2.example; priority=1"}}},
                         1};
  expect(&u, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1,ca1.example:2:2");
  /* a discovery=false record's priority does not count for its CA */
  const struct cert f = {{"example.com"},
                         {{{0, "issue",
                            "ca1.example; priority=1; "
                            "discovery=false"},
                           {0, "issue", "ca1.example; priority=5"},
                           {0, "issue", "ca2.example; priority=2"}}},
                         1};
  expect(&f, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1,ca1.example:2:2");
}

/* D-COMPROMISE ranks are dense: priorities 10 and 20 rank 1 and 2. */
static void test_d_compromise_dense_rank(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example; priority=20"},
                           {0, "issue", "ca2.example; priority=10"},
                           {0, "issue", "ca3.example; priority=10"},
                           {0, "issue", "ca4.example"}}},
                         1};
  struct byoca_caa_discovery d = {0};
  discover(&c, &plain, &d);
  assert_int_equal(d.ncandidates, 4);
  assert_int_equal(d.candidates[0].score, 1);
  assert_int_equal(d.candidates[1].score, 1);
  assert_string_equal(d.candidates[2].issuer, "ca1.example");
  assert_int_equal(d.candidates[2].score, 2);
  assert_int_equal(d.candidates[2].group, 2);
  assert_string_equal(d.candidates[3].issuer, "ca4.example");
  assert_int_equal(d.candidates[3].score, 3);
  assert_int_equal(d.candidates[3].group, 3);
  byoca_caa_discovery_clear(&d);
}

/* draft-03 §6.1.1 "Selecting a CA through Compromise" (digest §3.1,
 * multi-domain: "one/three prefer ca1, two prefers ca2, all authorize both
 * => ca1"). D-COMPROMISE: ca1 = 1 + 2 + 1 = 4, ca2 = 2 + 1 + 2 = 5. */
static void test_draft03_s6_1_1_compromise(void **state) {
  (void)state;
  const struct cert c = {{"one.example", "two.example", "three.example"},
                         {{{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; priority=2"}},
                          {{0, "issue", "ca1.example; priority=2"},
                           {0, "issue", "ca2.example; priority=1"}},
                          {{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; priority=2"}}},
                         3};
  for (uint64_t seed = 0; seed < 8; seed++) {
    const struct byoca_caa_policy p = {.seed = seed};
    expect(&c, &p, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:4,ca2.example:2:5");
  }
}

/* D-COMPROMISE: an unrestricted name adds 0 and authorizes every CA. */
static void test_d_compromise_unrestricted_adds_zero(void **state) {
  (void)state;
  const struct cert c = {{"one.example", "free.example"},
                         {{{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; priority=2"}},
                          {{0, "iodef", "mailto:x@free.example"}}},
                         2};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:2:2");
}

/* D-COMPROMISE: a CA not nominated at a name (there only through a
 * discovery=false record) ranks after that name's specified priorities;
 * D-NOMINATE: it stays a candidate because another name nominates it. */
static void test_d_compromise_not_nominated(void **state) {
  (void)state;
  const struct cert c = {{"a.example", "b.example"},
                         {{{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; priority=2"}},
                          {{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; discovery=false"}}},
                         2};
  expect(&c, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:2,ca2.example:2:4");
}

/* D-NOMINATE: authorized everywhere is not enough, some name must nominate
 * the CA; nominated somewhere is not enough, every name must authorize. */
static void test_d_nominate(void **state) {
  (void)state;
  const struct cert via_other = {
      {"a.example", "b.example"},
      {{{0, "issue", "ca1.example"},
        {0, "issue", "ca2.example; discovery=false"}},
       {{0, "issue", "ca2.example"}}},
      2};
  expect(&via_other, &plain, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:2");
  const struct cert nobody = {{"a.example", "b.example"},
                              {{{0, "issue", "ca1.example; discovery=false"}},
                               {{0, "issue", "ca1.example; discovery=false"}}},
                              2};
  expect(&nobody, &plain, BYOCA_CAA_NO_COMMON_CA, "");
  const struct cert disjoint = {
      {"a.example", "b.example"},
      {{{0, "issue", "ca1.example"}}, {{0, "issue", "ca2.example"}}},
      2};
  expect(&disjoint, &plain, BYOCA_CAA_NO_COMMON_CA, "");
  /* an unrestricted name alone nominates nobody: the default CAs apply */
  const struct cert none = {{"a.example", "b.example"}, {{{0}}, {{0}}}, 2};
  expect(&none, &plain, BYOCA_CAA_USE_DEFAULT, "");
}

/* Excluded issuers (backoff, user) leave the candidates, case-insensitively;
 * the others keep their scores. */
static void test_exclude(void **state) {
  (void)state;
  const struct cert c = {{"example.com"},
                         {{{0, "issue", "ca1.example; priority=1"},
                           {0, "issue", "ca2.example; priority=2"}}},
                         1};
  const char *const ex[] = {"CA1.Example"};
  const struct byoca_caa_policy p = {.exclude = ex, .nexclude = 1};
  expect(&c, &p, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:2");
  const char *const both[] = {"ca1.example", "ca2.example"};
  const struct byoca_caa_policy q = {.exclude = both, .nexclude = 2};
  expect(&c, &q, BYOCA_CAA_NO_COMMON_CA, "");
}

/* The outcome ladder: lookup error > forbidden > nothing restricts >
 * no common CA > try in order. */
static void test_outcomes(void **state) {
  (void)state;
  const struct rec ok[] = {{0, "issue", "ca1.example"}, {0, NULL, NULL}};
  const struct rec nobody[] = {{0, "issue", ";"}, {0, NULL, NULL}};
  const struct rec other[] = {{0, "issue", "ca2.example"}, {0, NULL, NULL}};
  struct byoca_caa_rrset *s_ok = fx_set("a.example", ok);
  struct byoca_caa_rrset *s_no = fx_set("b.example", nobody);
  struct byoca_caa_rrset *s_other = fx_set("c.example", other);
  struct byoca_caa_rrset *s_free = fx_set("d.example", NULL);
  struct byoca_caa_rrset *s_err = fx_error("timeout");
  const struct {
    const char *src;
    const struct byoca_caa_rrset *sets[3];
    enum byoca_caa_outcome outcome;
  } cases[] = {
      {"D-DNS-ERR beats forbidden",
       {s_ok, s_no, s_err},
       BYOCA_CAA_LOOKUP_FAILED},
      {"D-DNS-ERR with unrestricted names: no default",
       {s_free, s_free, s_err},
       BYOCA_CAA_LOOKUP_FAILED},
      {"RFC 8659 §4.2 one name forbids",
       {s_ok, s_no, s_ok},
       BYOCA_CAA_FORBIDDEN_ALL},
      {"D-DEFAULT nothing restricts",
       {s_free, s_free, s_free},
       BYOCA_CAA_USE_DEFAULT},
      {"D-NOMINATE no common CA",
       {s_ok, s_other, s_free},
       BYOCA_CAA_NO_COMMON_CA},
      {"draft-03 §6.1 common CA", {s_ok, s_free, s_ok}, BYOCA_CAA_TRY_IN_ORDER},
  };
  const char *names[] = {"a.example", "b.example", "c.example"};
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    struct byoca_caa_discovery d = {0};
    print_message("case: %s\n", cases[i].src);
    assert_int_equal(
        byoca_caa_discover(names, cases[i].sets, 3, &plain, &d, NULL), 0);
    assert_int_equal(d.outcome, cases[i].outcome);
    assert_int_equal(d.ncandidates > 0,
                     cases[i].outcome == BYOCA_CAA_TRY_IN_ORDER);
    byoca_caa_discovery_clear(&d);
  }
  fx_free(s_ok);
  fx_free(s_no);
  fx_free(s_other);
  fx_free(s_free);
  fx_free(s_err);
}

/* D-RANDOM: the order inside a group depends on the seed only: same seed,
 * same order (whatever the record order); some other seed differs. */
static void test_d_random_seed(void **state) {
  (void)state;
  struct cert c = {{"example.com"},
                   {{{0, "issue", "ca1.example"},
                     {0, "issue", "ca2.example"},
                     {0, "issue", "ca3.example"},
                     {0, "issue", "ca4.example"},
                     {0, "issue", "ca5.example"}}},
                   1};
  struct cert rev = c;
  for (size_t i = 0; i < 5; i++)
    rev.recs[0][i] = c.recs[0][4 - i];
  char first[256], again[256], reversed[256], other[256];
  const struct byoca_caa_policy p = {.seed = 0x5eedULL};
  struct byoca_caa_discovery d = {0};
  discover(&c, &p, &d);
  fx_order(&d, first, sizeof(first));
  for (size_t i = 0; i < d.ncandidates; i++)
    assert_int_equal(d.candidates[i].group, 1);
  byoca_caa_discovery_clear(&d);
  discover(&c, &p, &d);
  fx_order(&d, again, sizeof(again));
  byoca_caa_discovery_clear(&d);
  discover(&rev, &p, &d);
  fx_order(&d, reversed, sizeof(reversed));
  byoca_caa_discovery_clear(&d);
  assert_string_equal(first, again);
  assert_string_equal(first, reversed);
  int differs = 0;
  for (uint64_t seed = 1; seed <= 16 && !differs; seed++) {
    const struct byoca_caa_policy q = {.seed = seed};
    discover(&c, &q, &d);
    fx_order(&d, other, sizeof(other));
    differs = strcmp(first, other) != 0;
    byoca_caa_discovery_clear(&d);
  }
  assert_true(differs);
}

/* The shuffle key is pinned so an order is the same on every machine and
 * across releases (renewals stay with their CA). */
static void test_order_key_pinned(void **state) {
  (void)state;
  assert_true(caa_order_key(0, "ca1.example") == 0x6f95f965e0485d4cULL);
  assert_true(caa_order_key(0, "ca2.example") == 0x461baf3ef2fedb85ULL);
  assert_true(caa_order_key(1, "ca1.example") == 0x213535a967b06b0aULL);
  assert_true(caa_order_key(1, "ca2.example") == 0x6e8f59d6070f50b2ULL);
  const struct cert c = {
      {"example.com"},
      {{{0, "issue", "ca1.example"}, {0, "issue", "ca2.example"}}},
      1};
  const struct byoca_caa_policy s0 = {.seed = 0}, s1 = {.seed = 1};
  expect(&c, &s0, BYOCA_CAA_TRY_IN_ORDER, "ca2.example:1:1,ca1.example:1:1");
  expect(&c, &s1, BYOCA_CAA_TRY_IN_ORDER, "ca1.example:1:1,ca2.example:1:1");
}

/* Identifiers: lowercase names, wildcard flag, the rrset borrowed. */
static void test_idents(void **state) {
  (void)state;
  const struct rec r[] = {{0, "issue", "ca1.example"}, {0, NULL, NULL}};
  struct byoca_caa_rrset *s = fx_set("example.com", r);
  const char *names[] = {"WWW.Example.COM", "*.Example.com"};
  const struct byoca_caa_rrset *sets[] = {s, s};
  struct byoca_caa_discovery d = {0};
  assert_int_equal(byoca_caa_discover(names, sets, 2, &plain, &d, NULL), 0);
  assert_string_equal(d.idents[0].name, "www.example.com");
  assert_int_equal(d.idents[0].wildcard, 0);
  assert_string_equal(d.idents[1].name, "*.example.com");
  assert_int_equal(d.idents[1].wildcard, 1);
  assert_ptr_equal(d.idents[1].rrset, s);
  assert_string_equal(d.candidates[0].issuer, "ca1.example");
  assert_int_equal(d.candidates[0].score, 2);
  byoca_caa_discovery_clear(&d);
  assert_null(d.idents);
  byoca_caa_discovery_clear(&d);
  byoca_caa_discovery_clear(NULL);
  fx_free(s);
}

static void test_bad_input(void **state) {
  (void)state;
  const struct rec r[] = {{0, "issue", "ca1.example"}, {0, NULL, NULL}};
  struct byoca_caa_rrset *s = fx_set("example.com", r);
  const char *names[] = {"example.com", NULL};
  const struct byoca_caa_rrset *sets[] = {s, s};
  struct byoca_caa_discovery d = {.ncandidates = 77};
  struct byoca_err e = {0};
  assert_int_equal(byoca_caa_discover(names, sets, 0, &plain, &d, &e),
                   BYOCA_E_INVAL);
  byoca_err_clear(&e);
  assert_int_equal(byoca_caa_discover(names, sets, 2, &plain, &d, &e),
                   BYOCA_E_INVAL);
  byoca_err_clear(&e);
  assert_int_equal(byoca_caa_discover(NULL, sets, 1, &plain, &d, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_discover(names, NULL, 1, &plain, &d, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_discover(names, sets, 1, NULL, &d, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_discover(names, sets, 1, &plain, NULL, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(d.ncandidates, 77); /* out untouched on failure */
  /* more records than BYOCA_CAA_MAX_RECORDS */
  struct byoca_caa_rrset big = *s;
  big.n = BYOCA_CAA_MAX_RECORDS + 1;
  const struct byoca_caa_rrset *bigs[] = {&big};
  assert_int_equal(byoca_caa_discover(names, bigs, 1, &plain, &d, &e),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "65 records"));
  byoca_err_clear(&e);
  fx_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_draft03_s4_2_2_priority),
      cmocka_unit_test(test_draft03_s4_2_2_equal_priority),
      cmocka_unit_test(test_draft03_s4_2_3_validationmethods),
      cmocka_unit_test(test_draft03_s4_2_4_issuewild),
      cmocka_unit_test(test_draft03_s4_2_4_discovery_false),
      cmocka_unit_test(test_d_disc_false_values),
      cmocka_unit_test(test_draft03_s4_2_5_accounturi),
      cmocka_unit_test(test_draft03_s4_2_5_several_accounts),
      cmocka_unit_test(test_d_prio_multi),
      cmocka_unit_test(test_d_compromise_dense_rank),
      cmocka_unit_test(test_draft03_s6_1_1_compromise),
      cmocka_unit_test(test_d_compromise_unrestricted_adds_zero),
      cmocka_unit_test(test_d_compromise_not_nominated),
      cmocka_unit_test(test_d_nominate),
      cmocka_unit_test(test_exclude),
      cmocka_unit_test(test_outcomes),
      cmocka_unit_test(test_d_random_seed),
      cmocka_unit_test(test_order_key_pinned),
      cmocka_unit_test(test_idents),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
