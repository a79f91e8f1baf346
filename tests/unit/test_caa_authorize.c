/* Unit tests of the per-identifier judgement of lib/caa: every example of
 * RFC 8659 §4 (issue, issuewild, critical flag), the RFC 8657 parameters
 * against our accounts and methods (D-ACCT-UNKNOWN, D-VM-DUP, D-VM-BAD),
 * the digest §1.7 rows DECISIONS.md settles (D-FLAG1, D-IDN-DOT,
 * D-IDN-CASE, D-TAG-HYPHEN, D-KNOWN-TAGS), and the reason each record gets.
 * Each case runs through byoca_caa_discover with one name, so the outcome
 * of a single-name certificate is checked too. */
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

#define MAXREC 5

struct acase {
  const char *src;
  const char *name;
  struct rec recs[MAXREC + 1]; /* ended by a NULL tag */
  enum byoca_caa_status status;
  const char *authorized;      /* "a,b" */
  const char *reasons[MAXREC]; /* prefix of each record's reason */
  enum byoca_caa_outcome outcome;
};

#define ACCT1 "https://ca1.example.net/acme/acct/1"
#define ACCT2 "https://ca1.example.net/acme/acct/2"

/* We can perform http-01 and tls-alpn-01, not dns-01, and hold account 1
 * at ca1.example.net. */
static const char *const our_methods[] = {"http-01", "tls-alpn-01"};
static const struct byoca_caa_account our_accounts[] = {
    {"ca1.example.net", ACCT1}};
static const struct byoca_caa_policy policy = {
    .methods = our_methods,
    .nmethods = 2,
    .accounts = our_accounts,
    .naccounts = 1,
};

static const struct acase cases[] = {
    /* ---- RFC 8659 §4.2 issue ---- */
    {"RFC 8659 §4.2 example.com CAA 0 issue \"ca1.example.net\"",
     "example.com",
     {{0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable: authorizes ca1.example.net, no priority"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.2 account.example.com account=230123 (CA-defined)",
     "account.example.com",
     {{0, "issue", "ca1.example.net; account=230123"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable: authorizes ca1.example.net"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.2 nocerts.example.com issue \";\"",
     "nocerts.example.com",
     {{0, "issue", ";"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"no issuer: grants nothing"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"RFC 8659 §4.2 malformed.example.com issue \"%%%%%\"",
     "malformed.example.com",
     {{0, "issue", "%%%%%"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"malformed: '%' at position 1: expected an issuer domain name or ';'; "
      "grants nothing but still restricts"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"RFC 8659 §4.2 additive: empty issuer + named issuer",
     "example.com",
     {{0, "issue", ";"}, {0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"no issuer", "usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.2 additive: malformed + valid",
     "example.com",
     {{0, "issue", "%%%%%"}, {0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"malformed: ", "usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.2 two records for one CA are listed once",
     "example.com",
     {{0, "issue", "ca1.example.net"}, {0, "issue", "CA1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable", "usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    /* ---- RFC 8659 §4.3 issuewild ---- */
    {"RFC 8659 §4.3 wild.example.com (name)",
     "wild.example.com",
     {{0, "issue", "ca1.example.net"}, {0, "issuewild", "ca2.example.org"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable", "ignored: issuewild does not apply to a non-wildcard name"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.3 wild.example.com (wildcard)",
     "*.wild.example.com",
     {{0, "issue", "ca1.example.net"}, {0, "issuewild", "ca2.example.org"}},
     BYOCA_CAA_RESTRICTED,
     "ca2.example.org",
     {"ignored: issue records do not apply because issuewild records exist",
      "usable: authorizes ca2.example.org"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.3 wild2.example.com (wildcard: issue governs)",
     "*.wild2.example.com",
     {{0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.3 wild2.example.com (name)",
     "wild2.example.com",
     {{0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.3 wild3.example.com (wildcard)",
     "*.wild3.example.com",
     {{0, "issuewild", "ca2.example.org"}, {0, "issue", ";"}},
     BYOCA_CAA_RESTRICTED,
     "ca2.example.org",
     {"usable", "ignored: issue records do not apply"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.3 wild3.example.com (name: nobody)",
     "wild3.example.com",
     {{0, "issuewild", "ca2.example.org"}, {0, "issue", ";"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"ignored: issuewild does not apply", "no issuer: grants nothing"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"RFC 8659 §4.3 issuewild \";\" forbids wildcards only",
     "*.example.com",
     {{0, "issue", "ca1.example.net"}, {0, "issuewild", ";"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"ignored: issue records", "no issuer"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"digest §1.1 only issuewild at a name: unrestricted for the name",
     "example.com",
     {{0, "issuewild", "ca2.example.org"}},
     BYOCA_CAA_UNRESTRICTED,
     "",
     {"ignored: issuewild"},
     BYOCA_CAA_USE_DEFAULT},
    /* ---- RFC 8659 §4.4-§4.5 iodef, critical flag ---- */
    {"RFC 8659 §4.5 new.example.com: critical tbs forbids even ca1",
     "new.example.com",
     {{0, "issue", "ca1.example.net"}, {128, "tbs", "Unknown"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"not usable: the critical unknown tag 'tbs' forbids all issuance",
      "forbids issuance: critical unknown tag 'tbs'"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"RFC 8659 §4.5 critical unknown tag alone",
     "example.com",
     {{128, "tbs", "Unknown"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"forbids issuance: critical unknown tag 'tbs'"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"RFC 8659 §3 only iodef: nothing restricts",
     "example.com",
     {{0, "iodef", "mailto:security@example.com"}},
     BYOCA_CAA_UNRESTRICTED,
     "",
     {"ignored: iodef"},
     BYOCA_CAA_USE_DEFAULT},
    {"RFC 8659 §3 unknown non-critical tag: nothing restricts",
     "example.com",
     {{0, "tbs", "Unknown"}},
     BYOCA_CAA_UNRESTRICTED,
     "",
     {"ignored: unknown tag 'tbs' is not marked critical"},
     BYOCA_CAA_USE_DEFAULT},
    {"digest §1.7 D-FLAG1: flags=1 is not critical",
     "example.com",
     {{0, "issue", "ca1.example.net"}, {1, "tbs", "Unknown"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable", "ignored: unknown tag 'tbs' (flags 1"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"D-FLAG1: flags=129 is critical",
     "example.com",
     {{129, "tbs", "Unknown"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"forbids issuance"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"D-KNOWN-TAGS: critical iodef, issuemail, IssueVMC are known",
     "example.com",
     {{128, "iodef", "mailto:x@example.com"},
      {128, "issuemail", "ca3.example"},
      {128, "IssueVMC", "ca3.example"},
      {128, "contactemail", "x@example.com"},
      {0, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"ignored: iodef", "ignored: issuemail does not govern TLS",
      "ignored: IssueVMC", "ignored: contactemail", "usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.1 tags match case-insensitively",
     "example.com",
     {{0, "ISSUE", "ca1.example.net"}, {128, "IoDeF", "mailto:x@example.com"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable", "ignored: iodef"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8659 §4.1 critical issue is processed as issue",
     "example.com",
     {{128, "issue", "ca1.example.net"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    /* ---- digest §1.7 rows settled by DECISIONS.md ---- */
    {"digest §1.7 D-IDN-DOT: trailing dot is malformed, still restricts",
     "example.com",
     {{0, "issue", "ca1.example.net."}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"malformed: '.' at position 16: the issuer domain name must not end "
      "with a dot"},
     BYOCA_CAA_FORBIDDEN_ALL},
    {"digest §1.7 D-IDN-CASE: issuer compared case-insensitively",
     "example.com",
     {{0, "issue", "CA1.Example.NET; accounturi=" ACCT1}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable: authorizes ca1.example.net"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"digest §1.7 D-TAG-HYPHEN: a-b=c is valid",
     "example.com",
     {{0, "issue", "ca1.example.net; a-b=c; validation---method=x"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"digest §1.7 trailing ';' after a parameter is malformed",
     "example.com",
     {{0, "issue", "ca1.example.net; a=b;"}},
     BYOCA_CAA_FORBIDDEN,
     "",
     {"malformed: "},
     BYOCA_CAA_FORBIDDEN_ALL},
    /* ---- RFC 8657 accounturi (D-ACCT-UNKNOWN) ---- */
    {"RFC 8657 §3 accounturi: our account",
     "example.com",
     {{0, "issue", "ca1.example.net; accounturi=" ACCT1}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable: authorizes ca1.example.net"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8657 §3 accounturi: an account we lack (D-ACCT-UNKNOWN)",
     "example.com",
     {{0, "issue", "ca1.example.net; accounturi=" ACCT2}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: accounturi " ACCT2
      " is not an account we have at ca1.example.net"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §3 accounturi: URL compared exactly",
     "example.com",
     {{0, "issue", "ca1.example.net; accounturi=" ACCT1 "/"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: accounturi"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §3 accounturi does not replace the issuer check",
     "example.com",
     {{0, "issue", "ca2.example.org; accounturi=" ACCT1}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: accounturi " ACCT1
      " is not an account we have at ca2.example.org"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §3 two accounturi: unsatisfiable",
     "example.com",
     {{0, "issue", "ca1.example.net; accounturi=" ACCT1 "; accounturi=" ACCT1}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: accounturi appears 2 times"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §3 one record per account is additive",
     "example.com",
     {{0, "issue", "ca1.example.net; accounturi=" ACCT2},
      {0, "issue", "ca1.example.net; accounturi=" ACCT1}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"not usable: accounturi", "usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    /* ---- RFC 8657 validationmethods (D-VM-DUP, D-VM-BAD) ---- */
    {"RFC 8657 §4 validationmethods: one we perform",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=http-01"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8657 §4 validationmethods: none we perform",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=dns-01"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods dns-01 is not a method we can perform"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §4 validationmethods: list sharing one",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=dns-01,tls-alpn-01"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"RFC 8657 §4 validationmethods: ca- method only (digest §3.2 item 16)",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=ca-ev"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods ca-ev is not a method"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §4 validationmethods: empty list allows nothing",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods="}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods is empty"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §4 D-VM-DUP: two validationmethods",
     "example.com",
     {{0, "issue",
       "ca1.example.net; validationmethods=http-01; "
       "validationmethods=http-01"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods appears 2 times"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §4 D-VM-BAD: an invalid label",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=http-01,dns_01"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods http-01,dns_01 has an invalid method "
      "name"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 §4 D-VM-BAD: empty label (trailing comma)",
     "example.com",
     {{0, "issue", "ca1.example.net; validationmethods=http-01,"}},
     BYOCA_CAA_RESTRICTED,
     "",
     {"not usable: validationmethods http-01, has an invalid"},
     BYOCA_CAA_NO_COMMON_CA},
    {"RFC 8657 accounturi and validationmethods together",
     "example.com",
     {{0, "issue",
       "ca1.example.net; accounturi=" ACCT1 "; validationmethods=http-01"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example.net",
     {"usable"},
     BYOCA_CAA_TRY_IN_ORDER},
    /* ---- the draft's examples (draft-vanbrouwershaven-acme-auto-discovery-03)
     */
    {"draft-03 §4.2.3 (digest §3.2 item 1): the malformed record grants "
     "nothing",
     "example.com",
     {{0, "issue", "ca1.example; priority=1 validationmethods=ca-ev"},
      {0, "issue", "ca1.example; priority=2"},
      {0, "issue", "ca2.example; priority=3"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example,ca2.example",
     {"malformed: 'v' at position 25",
      "usable: authorizes ca1.example, priority 2",
      "usable: authorizes ca2.example, priority 3"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"draft-03 §4.2.4 discovery=false still authorizes (D-DISC-FALSE)",
     "example.com",
     {{0, "issue", "ca1.example"},
      {0, "issue", "ca2.example; discovery=false"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example,ca2.example",
     {"usable: authorizes ca1.example, no priority",
      "usable: authorizes ca2.example, no priority; discovery=false: this "
      "record does not nominate it"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"D-PRIO-BAD: bad priority is reported, record still usable",
     "example.com",
     {{0, "issue", "ca1.example; priority=01"},
      {0, "issue", "ca2.example; priority=1; priority=2"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example,ca2.example",
     {"usable: authorizes ca1.example, priority '01' ignored",
      "usable: authorizes ca2.example, priority given 2 times"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"D-DISC-FALSE: discovery=False is not \"false\"",
     "example.com",
     {{0, "issue", "ca1.example; discovery=False"}},
     BYOCA_CAA_RESTRICTED,
     "ca1.example",
     {"usable: authorizes ca1.example, no priority; discovery=False is not "
      "\"false\", so it nominates"},
     BYOCA_CAA_TRY_IN_ORDER},
    {"D-NOMINATE: the only CA is never nominated",
     "example.com",
     {{0, "issue", "ca2.example; discovery=false"}},
     BYOCA_CAA_RESTRICTED,
     "ca2.example",
     {"usable"},
     BYOCA_CAA_NO_COMMON_CA},
    {"D-DEFAULT: no CAA record anywhere",
     "example.com",
     {{0, NULL, NULL}},
     BYOCA_CAA_UNRESTRICTED,
     "",
     {NULL},
     BYOCA_CAA_USE_DEFAULT},
};

static void check_case(const struct acase *c) {
  struct byoca_caa_rrset *s = fx_set("example.com", c->recs);
  const char *names[] = {c->name};
  const struct byoca_caa_rrset *sets[] = {s};
  struct byoca_caa_discovery d = {0};
  char buf[512];
  assert_int_equal(byoca_caa_discover(names, sets, 1, &policy, &d, NULL), 0);
  assert_int_equal(d.nidents, 1);
  const struct byoca_caa_ident *id = &d.idents[0];
  assert_ptr_equal(id->rrset, s);
  assert_int_equal(id->nverdicts, s->n);
  for (size_t i = 0; i < id->nverdicts; i++) {
    const struct byoca_caa_verdict *v = &id->verdicts[i];
    assert_ptr_equal(v->record, &s->records[i]);
    if (strncmp(v->reason, c->reasons[i], strlen(c->reasons[i])) != 0)
      fail_msg("%s: record %zu: reason \"%s\" does not start with \"%s\"",
               c->src, i, v->reason, c->reasons[i]);
    /* the reason's first word and the flags tell the same story */
    assert_int_equal(v->usable, strncmp(v->reason, "usable:", 7) == 0);
    assert_true(!v->nominates || v->usable);
    assert_true(!v->usable || v->relevant);
  }
  if (id->status != c->status)
    fail_msg("%s: status %s, expected %s", c->src,
             byoca_caa_status_str(id->status), byoca_caa_status_str(c->status));
  fx_auth(id, buf, sizeof(buf));
  assert_string_equal(buf, c->authorized);
  if (d.outcome != c->outcome)
    fail_msg("%s: outcome %s, expected %s", c->src,
             byoca_caa_outcome_str(d.outcome),
             byoca_caa_outcome_str(c->outcome));
  /* single name: candidates = the nominated authorized CAs */
  assert_int_equal(d.ncandidates > 0, c->outcome == BYOCA_CAA_TRY_IN_ORDER);
  byoca_caa_discovery_clear(&d);
  fx_free(s);
}

static void test_authorize_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    print_message("case: %s\n", cases[i].src);
    check_case(&cases[i]);
  }
}

/* D-DNS-ERR: a lookup error fails the identifier closed, no verdicts. */
static void test_lookup_error(void **state) {
  (void)state;
  struct byoca_caa_rrset *s = fx_error("SERVFAIL at example.com");
  const char *names[] = {"example.com"};
  const struct byoca_caa_rrset *sets[] = {s};
  struct byoca_caa_discovery d = {0};
  assert_int_equal(byoca_caa_discover(names, sets, 1, &policy, &d, NULL), 0);
  assert_int_equal(d.idents[0].status, BYOCA_CAA_LOOKUP_ERROR);
  assert_int_equal(d.idents[0].nverdicts, 0);
  assert_int_equal(d.outcome, BYOCA_CAA_LOOKUP_FAILED);
  assert_int_equal(d.ncandidates, 0);
  byoca_caa_discovery_clear(&d);
  /* a missing rrset (the lookup never answered) is treated the same */
  sets[0] = NULL;
  assert_int_equal(byoca_caa_discover(names, sets, 1, &policy, &d, NULL), 0);
  assert_int_equal(d.idents[0].status, BYOCA_CAA_LOOKUP_ERROR);
  assert_null(d.idents[0].rrset);
  assert_int_equal(d.outcome, BYOCA_CAA_LOOKUP_FAILED);
  byoca_caa_discovery_clear(&d);
  fx_free(s);
}

/* With no methods configured, the defaults are http-01, dns-01 and
 * tls-alpn-01 (caa.h); dns-account-01 is not among them. */
static void test_default_methods(void **state) {
  (void)state;
  static const struct rec recs[] = {
      {0, "issue", "ca1.example; validationmethods=dns-01"},
      {0, "issue", "ca2.example; validationmethods=dns-account-01"},
      {0, NULL, NULL}};
  struct byoca_caa_rrset *s = fx_set("example.com", recs);
  const char *names[] = {"example.com"};
  const struct byoca_caa_rrset *sets[] = {s};
  struct byoca_caa_policy p = {0};
  struct byoca_caa_discovery d = {0};
  char buf[256];
  assert_int_equal(byoca_caa_discover(names, sets, 1, &p, &d, NULL), 0);
  fx_auth(&d.idents[0], buf, sizeof(buf));
  assert_string_equal(buf, "ca1.example");
  byoca_caa_discovery_clear(&d);
  /* an explicit list replaces the defaults */
  const char *const dnsacct[] = {"dns-account-01"};
  p.methods = dnsacct;
  p.nmethods = 1;
  assert_int_equal(byoca_caa_discover(names, sets, 1, &p, &d, NULL), 0);
  fx_auth(&d.idents[0], buf, sizeof(buf));
  assert_string_equal(buf, "ca2.example");
  byoca_caa_discovery_clear(&d);
  fx_free(s);
}

/* Reasons quote DNS data and are printed raw: they must come out clean. */
static void test_reason_sanitised(void **state) {
  (void)state;
  static const struct rec recs[] = {{128, "tbs", "x"}, {0, NULL, NULL}};
  struct byoca_caa_rrset *s = fx_set("example.com", recs);
  /* a tag with an escape sequence, as a careless zone parser could give */
  free(s->records[0].tag);
  s->records[0].tag = strdup("t\x1b[2Jb");
  const char *names[] = {"example.com"};
  const struct byoca_caa_rrset *sets[] = {s};
  struct byoca_caa_discovery d = {0};
  assert_int_equal(byoca_caa_discover(names, sets, 1, &policy, &d, NULL), 0);
  assert_int_equal(d.idents[0].status, BYOCA_CAA_FORBIDDEN);
  assert_null(strchr(d.idents[0].verdicts[0].reason, '\x1b'));
  assert_non_null(strstr(d.idents[0].verdicts[0].reason, "'t?[2Jb'"));
  byoca_caa_discovery_clear(&d);
  fx_free(s);
}

static void test_tag_known(void **state) {
  (void)state;
  static const char *const known[] = {
      "issue",        "issuewild",    "iodef", "issuemail", "issuevmc",
      "contactemail", "contactphone", "ISSUE", "IssueWild"};
  for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
    assert_true(caa_tag_known(known[i]));
  assert_false(caa_tag_known("tbs"));
  assert_false(caa_tag_known("issuer"));
  assert_false(caa_tag_known(""));
  assert_false(caa_tag_known(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_authorize_table),
      cmocka_unit_test(test_lookup_error),
      cmocka_unit_test(test_default_methods),
      cmocka_unit_test(test_reason_sanitised),
      cmocka_unit_test(test_tag_known),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
