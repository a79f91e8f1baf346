/* Which challenge to answer (one rule for the CLI and the daemon, see
 * docs/challenges.md) and the account label of dns-account-01
 * (draft-ietf-acme-dns-account-label, D-DNSACCOUNT). */
#include <stdio.h>
#include <string.h>

#include "byoca/acme.h"
#include "byoca/crypto.h"
#include "byoca/util.h"

/* Account-scoped first: it never clobbers another client's or CA's
 * validation of the same name. Then dns-01 (wildcards; no inbound
 * traffic). tls-alpn-01 before http-01: its responder runs only when
 * asked for, while http-01 is also the implicit default (a standalone
 * responder on port 80), so an explicit choice wins. */
static const char *const known[] = {"dns-account-01", "dns-01", "tls-alpn-01",
                                    "http-01", NULL};

const char *const *byoca_challenge_default(void) {
  return known;
}

const char *byoca_challenge_known(const char *s, size_t n) {
  for (size_t i = 0; s != NULL && known[i] != NULL; i++)
    if (strlen(known[i]) == n && memcmp(known[i], s, n) == 0)
      return known[i];
  return NULL;
}

int byoca_challenge_order_parse(const char *list, const char **out,
                                size_t *nout, struct byoca_err *err) {
  size_t n = 0;
  const char *p = list != NULL ? list : "";
  while (*p != '\0') {
    size_t len = strcspn(p, ", \t");
    if (len == 0) {
      p++;
      continue;
    }
    const char *t = byoca_challenge_known(p, len);
    if (t == NULL)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "unknown challenge type '%.*s' (known: "
                           "dns-account-01, dns-01, http-01, tls-alpn-01)",
                           (int)(len > 40 ? 40 : len), p);
    for (size_t i = 0; i < n; i++)
      if (out[i] == t)
        return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                             "challenge type %s listed twice", t);
    if (n == BYOCA_CHALLENGE_TYPES_MAX)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "too many challenge types");
    out[n++] = t;
    p += len;
  }
  if (n == 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "empty list of challenge types");
  *nout = n;
  return 0;
}

/* Position of type in the preference order, or -1. */
static long rank_of(const struct byoca_challenge_policy *p, const char *type) {
  const char *const *ord = p != NULL && p->order != NULL ? p->order : known;
  size_t n = p != NULL && p->order != NULL ? p->norder : 4;
  for (size_t i = 0; i < n; i++)
    if (ord[i] != NULL && strcmp(ord[i], type) == 0)
      return (long)i;
  return -1;
}

static int caa_allows(const struct byoca_challenge_policy *p,
                      const char *type) {
  if (p == NULL || !p->caa_restricts)
    return 1;
  for (size_t i = 0; i < p->ncaa_allowed; i++)
    if (p->caa_allowed[i] != NULL && strcmp(p->caa_allowed[i], type) == 0)
      return 1;
  return 0;
}

/* The first solver answering type for ident (NULL: any), or -1; *some
 * says whether one answers type for other identifiers only. */
static long solver_for(struct byoca_solver *const *solvers, size_t n,
                       const char *type, const char *ident, int *some) {
  /* through ops: lib/acme does not link lib/solve */
  for (size_t s = 0; s < n; s++) {
    const struct byoca_solver *v = solvers[s];
    if (v == NULL || v->ops == NULL || v->ops->supports == NULL ||
        !v->ops->supports(v->ctx, type))
      continue;
    if (ident == NULL || v->ops->covers == NULL ||
        v->ops->covers(v->ctx, type, ident))
      return (long)s;
    *some = 1;
  }
  return -1;
}

/* Appends "type: reason, reason" for an excluded type. */
static void explain(char *why, size_t whylen, size_t *used, const char *type,
                    int in_order, int caa_ok, int have_solver, int elsewhere) {
  const char *r[3];
  size_t nr = 0;
  if (!in_order)
    r[nr++] = "not in the challenge order";
  if (!caa_ok)
    r[nr++] = "not allowed by CAA validationmethods";
  if (!have_solver && !elsewhere)
    r[nr++] = "no configured solver";
  else if (!have_solver && strncmp(type, "dns-", 4) == 0)
    r[nr++] = "no zone or hook configured for this name";
  else if (!have_solver)
    r[nr++] = "no configured solver for this name";
  if (whylen == 0 || *used >= whylen)
    return;
  int k = snprintf(why + *used, whylen - *used, "%s%.40s:", *used ? "; " : "",
                   type);
  for (size_t i = 0; k >= 0 && i < nr; i++) {
    *used += (size_t)k;
    if (*used >= whylen)
      break;
    k = snprintf(why + *used, whylen - *used, "%s %s", i ? "," : "", r[i]);
  }
  if (k > 0)
    *used += (size_t)k;
  if (*used >= whylen)
    *used = whylen - 1;
}

int byoca_challenge_choose(const struct byoca_challenge_policy *p,
                           const char *const *offered, size_t noffered,
                           struct byoca_solver *const *solvers, size_t nsolvers,
                           size_t *offer_out, size_t *solver_out, char *why,
                           size_t whylen) {
  long best = -1, best_rank = -1, best_solver = -1;
  size_t used = 0;
  if (whylen > 0)
    why[0] = '\0';
  for (size_t i = 0; i < noffered; i++) {
    if (offered[i] == NULL)
      continue;
    long rank = rank_of(p, offered[i]);
    int caa_ok = caa_allows(p, offered[i]);
    int elsewhere = 0;
    long s = solver_for(solvers, nsolvers, offered[i],
                        p != NULL ? p->identifier : NULL, &elsewhere);
    if (rank >= 0 && caa_ok && s >= 0) {
      if (best < 0 || rank < best_rank) {
        best = (long)i;
        best_rank = rank;
        best_solver = s;
      }
      continue;
    }
    explain(why, whylen, &used, offered[i], rank >= 0, caa_ok, s >= 0,
            elsewhere);
  }
  if (best < 0) {
    if (whylen > 0 && used == 0)
      snprintf(why, whylen, "no challenge offered");
    return BYOCA_E_INVAL;
  }
  *offer_out = (size_t)best;
  *solver_out = (size_t)best_solver;
  return 0;
}

int byoca_dns_account_label(const char *account_url,
                            char out[BYOCA_DNS_ACCOUNT_LABEL_SIZE]) {
  static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
  unsigned char h[32];
  if (account_url == NULL || account_url[0] == '\0' ||
      byoca_sha256(account_url, strlen(account_url), h) != 0)
    return BYOCA_E_INVAL;
  /* 10 bytes = 80 bits = 16 base32 digits exactly, no padding (RFC 4648) */
  out[0] = '_';
  for (size_t g = 0; g < 2; g++) {
    const unsigned char *b = h + 5 * g;
    uint64_t v = ((uint64_t)b[0] << 32) | ((uint64_t)b[1] << 24) |
                 ((uint64_t)b[2] << 16) | ((uint64_t)b[3] << 8) | b[4];
    for (size_t d = 0; d < 8; d++)
      out[1 + 8 * g + d] = b32[(v >> (35 - 5 * d)) & 31];
  }
  out[17] = '\0';
  return 0;
}
