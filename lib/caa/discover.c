/* Discovery across the identifiers of one certificate
 * (draft-vanbrouwershaven-acme-auto-discovery-03 §4.1, §6.1): which CAs are
 * candidates (D-NOMINATE), their compromise score (D-COMPROMISE with
 * D-PRIO-MULTI), the groups of equal score and the sticky seeded order
 * inside a group (D-RANDOM), and the outcome that tells the caller what to
 * do (D-DNS-ERR, D-DEFAULT). */
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "caa_int.h"

/* Identifiers per call; ACME CAs accept about 100 names per order. */
#define MAX_IDENTS 1000

struct slot {
  struct byoca_caa_candidate c;
  uint64_t key; /* D-RANDOM position inside the group */
};

/* splitmix64's finaliser. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t caa_order_key(uint64_t seed, const char *issuer) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
  for (const unsigned char *p = (const unsigned char *)issuer; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return mix(seed ^ mix(h));
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* D-PRIO-MULTI: the lowest priority among issuer's nominating records at
 * id; 0 when none of them specifies one (or none nominates). */
static int64_t ca_priority(const struct byoca_caa_ident *id,
                           const char *issuer) {
  int64_t best = 0;
  for (size_t i = 0; i < id->nverdicts; i++) {
    const struct byoca_caa_verdict *v = &id->verdicts[i];
    if (v->nominates && v->priority > 0 &&
        strcmp(v->parsed.issuer, issuer) == 0 &&
        (best == 0 || v->priority < best))
      best = v->priority;
  }
  return best;
}

/* D-COMPROMISE: issuer's dense rank among the distinct priorities that
 * nominating records at id specify (1 = best); unspecified or not
 * nominated here ranks after all of them. */
static int64_t rank_at(const struct byoca_caa_ident *id, const char *issuer) {
  int64_t prio[BYOCA_CAA_MAX_RECORDS];
  size_t n = 0, distinct = 0;
  for (size_t i = 0; i < id->nverdicts && n < BYOCA_CAA_MAX_RECORDS; i++)
    if (id->verdicts[i].nominates && id->verdicts[i].priority > 0)
      prio[n++] = id->verdicts[i].priority;
  if (n > 0)
    qsort(prio, n, sizeof(*prio), cmp_i64);
  for (size_t i = 0; i < n; i++)
    if (distinct == 0 || prio[distinct - 1] != prio[i])
      prio[distinct++] = prio[i];
  int64_t p = ca_priority(id, issuer);
  for (size_t i = 0; p > 0 && i < distinct; i++)
    if (prio[i] == p)
      return (int64_t)i + 1;
  return (int64_t)distinct + 1;
}

/* D-NOMINATE's second half: authorized for every identifier (an
 * unrestricted one authorizes every CA). */
static int authorized_everywhere(const struct byoca_caa_discovery *d,
                                 const char *issuer) {
  for (size_t i = 0; i < d->nidents; i++) {
    const struct byoca_caa_ident *id = &d->idents[i];
    int ok = id->status == BYOCA_CAA_UNRESTRICTED;
    for (size_t k = 0;
         !ok && id->status == BYOCA_CAA_RESTRICTED && k < id->nauthorized; k++)
      ok = strcmp(id->authorized[k], issuer) == 0;
    if (!ok)
      return 0;
  }
  return 1;
}

static int excluded(const struct byoca_caa_policy *p, const char *issuer) {
  for (size_t i = 0; p->exclude != NULL && i < p->nexclude; i++)
    if (byoca_strcaseeq(p->exclude[i], issuer))
      return 1;
  return 0;
}

/* Adds issuer as a candidate unless already there, excluded, or not
 * authorized for some identifier. */
static int consider(const struct byoca_caa_discovery *d,
                    const struct byoca_caa_policy *p, const char *issuer,
                    struct slot *s, size_t *n) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp(s[i].c.issuer, issuer) == 0)
      return 0;
  if (excluded(p, issuer) || !authorized_everywhere(d, issuer))
    return 0;
  struct slot *x = &s[*n];
  if ((x->c.issuer = byoca_strdup(issuer)) == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < d->nidents; i++)
    if (d->idents[i].status == BYOCA_CAA_RESTRICTED)
      x->c.score += rank_at(&d->idents[i], issuer);
  x->key = caa_order_key(p->seed, issuer);
  (*n)++;
  return 0;
}

static int cmp_slot(const void *a, const void *b) {
  const struct slot *x = a, *y = b;
  if (x->c.score != y->c.score)
    return x->c.score < y->c.score ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return strcmp(x->c.issuer, y->c.issuer);
}

/* Every nominated issuer that fits all identifiers, scored, grouped and
 * ordered into d->candidates. */
static int build_candidates(struct byoca_caa_discovery *d,
                            const struct byoca_caa_policy *p) {
  size_t max = 0, n = 0;
  int rc = 0;
  for (size_t i = 0; i < d->nidents; i++)
    for (size_t k = 0; k < d->idents[i].nverdicts; k++)
      max += d->idents[i].verdicts[k].nominates != 0;
  if (max == 0)
    return 0;
  struct slot *s = calloc(max, sizeof(*s));
  if (s == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; rc == 0 && i < d->nidents; i++)
    for (size_t k = 0; rc == 0 && k < d->idents[i].nverdicts; k++)
      if (d->idents[i].verdicts[k].nominates)
        rc = consider(d, p, d->idents[i].verdicts[k].parsed.issuer, s, &n);
  if (rc == 0 && n > 0 &&
      (d->candidates = calloc(n, sizeof(*d->candidates))) == NULL)
    rc = BYOCA_E_NOMEM;
  if (rc == 0 && n > 0) {
    qsort(s, n, sizeof(*s), cmp_slot);
    for (size_t i = 0; i < n; i++) {
      d->candidates[i] = s[i].c;
      d->candidates[i].group = i == 0 ? 1
                                      : d->candidates[i - 1].group +
                                            (s[i].c.score != s[i - 1].c.score);
      s[i].c.issuer = NULL; /* moved */
    }
    d->ncandidates = n;
  }
  for (size_t i = 0; i < n; i++)
    free(s[i].c.issuer);
  free(s);
  return rc;
}

/* The outcome ladder: an unreadable name or a forbidding one stops
 * everything; nothing restricting means the default CAs (D-DEFAULT). */
static int decide(struct byoca_caa_discovery *d,
                  const struct byoca_caa_policy *p) {
  int error = 0, forbidden = 0, restricted = 0;
  for (size_t i = 0; i < d->nidents; i++) {
    error |= d->idents[i].status == BYOCA_CAA_LOOKUP_ERROR;
    forbidden |= d->idents[i].status == BYOCA_CAA_FORBIDDEN;
    restricted |= d->idents[i].status == BYOCA_CAA_RESTRICTED;
  }
  if (error)
    d->outcome = BYOCA_CAA_LOOKUP_FAILED;
  else if (forbidden)
    d->outcome = BYOCA_CAA_FORBIDDEN_ALL;
  else if (!restricted)
    d->outcome = BYOCA_CAA_USE_DEFAULT;
  if (error || forbidden || !restricted)
    return 0;
  int rc = build_candidates(d, p);
  if (rc == 0)
    d->outcome =
        d->ncandidates > 0 ? BYOCA_CAA_TRY_IN_ORDER : BYOCA_CAA_NO_COMMON_CA;
  return rc;
}

int byoca_caa_discover(const char *const *names,
                       const struct byoca_caa_rrset *const *rrsets, size_t n,
                       const struct byoca_caa_policy *policy,
                       struct byoca_caa_discovery *out, struct byoca_err *err) {
  struct byoca_caa_discovery d = {0};
  int rc = 0;
  if (names == NULL || rrsets == NULL || policy == NULL || out == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "byoca_caa_discover: missing argument");
  if (n == 0 || n > MAX_IDENTS)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "CAA discovery needs 1 to %d names, not %zu",
                         MAX_IDENTS, n);
  if ((d.idents = calloc(n, sizeof(*d.idents))) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory in CAA discovery");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = caa_judge(&d.idents[i], names[i], rrsets[i], policy, err);
    d.nidents = i + (rc == 0);
  }
  if (rc == 0 && (rc = decide(&d, policy)) != 0)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                  "out of memory ordering the candidate CAs");
  if (rc != 0) {
    byoca_caa_discovery_clear(&d);
    return rc;
  }
  *out = d;
  return 0;
}

void byoca_caa_discovery_clear(struct byoca_caa_discovery *d) {
  if (d == NULL)
    return;
  for (size_t i = 0; d->idents != NULL && i < d->nidents; i++)
    caa_ident_clear(&d->idents[i]);
  free(d->idents);
  for (size_t i = 0; d->candidates != NULL && i < d->ncandidates; i++)
    free(d->candidates[i].issuer);
  free(d->candidates);
  memset(d, 0, sizeof(*d));
}
