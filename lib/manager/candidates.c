/* Candidate CAs as pure data (no store, no network), so the policy is
 * unit-testable: the list, D-BACKOFF filtering with reasons, D-EAB
 * skipping, RFC 8657 validationmethods against our solvers, and the
 * D-RANDOM seed of a lineage. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

void mgr_cands_clear(struct mgr_cands *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->v[i].issuer);
    free(c->v[i].directory);
  }
  free(c->v);
  memset(c, 0, sizeof(*c));
}

int mgr_cands_add(struct mgr_cands *c, const char *issuer,
                  const char *directory, int by_url, unsigned methods) {
  for (size_t i = 0; i < c->n; i++)
    if (byoca_strcaseeq(c->v[i].issuer, issuer))
      return 0; /* listed twice (default list): first place wins */
  struct mgr_cand *v = realloc(c->v, (c->n + 1) * sizeof(*v));
  if (v == NULL)
    return BYOCA_E_NOMEM;
  c->v = v;
  struct mgr_cand *n = &c->v[c->n];
  memset(n, 0, sizeof(*n));
  n->issuer = strdup(issuer);
  n->directory = directory != NULL ? strdup(directory) : NULL;
  if (n->issuer == NULL || (directory != NULL && n->directory == NULL)) {
    free(n->issuer);
    free(n->directory);
    return BYOCA_E_NOMEM;
  }
  n->by_url = by_url;
  n->methods = methods;
  c->n++;
  return 0;
}

size_t mgr_cands_filter(struct mgr_cands *c,
                        const struct byoca_ca_health *health, int64_t now,
                        struct byoca_buf *why) {
  size_t keep = 0;
  for (size_t i = 0; i < c->n; i++) {
    struct mgr_cand *x = &c->v[i];
    const char *reason = NULL;
    char t[32] = "";
    if (health != NULL && health[i].backoff_until > now) {
      byoca_time_format_rfc3339(health[i].backoff_until, t, sizeof(t));
      reason = "backing off after repeated failures until ";
    } else if (x->methods == 0) {
      reason = "no challenge type its CAA records allow is configured";
    }
    if (reason == NULL) {
      c->v[keep++] = *x;
      continue;
    }
    if (why != NULL)
      (void)!byoca_buf_appendf(why, "%s: %s%s; ", x->issuer, reason, t);
    free(x->issuer);
    free(x->directory);
  }
  c->n = keep;
  return keep;
}

const char *mgr_why(struct byoca_buf *why) {
  if (why->data == NULL)
    return "";
  while (why->len > 0 &&
         (why->data[why->len - 1] == ' ' || why->data[why->len - 1] == ';'))
    why->data[--why->len] = '\0';
  return why->data;
}

int mgr_eab_skip(int eab_required, int have_account, int have_eab) {
  return eab_required && !have_account && !have_eab;
}

/* MGR_M_* of the challenge types in a validationmethods value. */
static unsigned methods_of(const char *vm) {
  unsigned m = 0;
  for (const char *p = vm; *p != '\0';) {
    const char *c = strchr(p, ',');
    size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
    if (n == 7 && strncmp(p, "http-01", 7) == 0)
      m |= MGR_M_HTTP01;
    else if (n == 6 && strncmp(p, "dns-01", 6) == 0)
      m |= MGR_M_DNS01;
    else if (n == 11 && strncmp(p, "tls-alpn-01", 11) == 0)
      m |= MGR_M_TLSALPN01;
    else if (n == 14 && strncmp(p, "dns-account-01", 14) == 0)
      m |= MGR_M_DNSACCT01;
    p += n + (c != NULL);
  }
  return m;
}

/* What one identifier's usable records for issuer allow. */
static unsigned ident_allows(const struct byoca_caa_ident *id,
                             const char *issuer) {
  unsigned m = 0;
  if (id->status != BYOCA_CAA_RESTRICTED)
    return MGR_M_ALL;
  for (size_t v = 0; v < id->nverdicts; v++) {
    const struct byoca_caa_verdict *vd = &id->verdicts[v];
    if (!vd->usable || vd->parsed.issuer == NULL ||
        !byoca_strcaseeq(vd->parsed.issuer, issuer))
      continue;
    const char *vm =
        byoca_caa_value_param(&vd->parsed, "validationmethods", NULL);
    m |= vm == NULL ? MGR_M_ALL : methods_of(vm);
  }
  return m;
}

unsigned mgr_methods_ours(const struct byoca_manager *m,
                          const struct mgr_job *j) {
  return MGR_M_HTTP01 | (mgr_alpn_ready(m) ? MGR_M_TLSALPN01 : 0u) |
         (mgr_dns01_ready(m, j) ? MGR_M_DNS01 | MGR_M_DNSACCT01 : 0u);
}

unsigned mgr_methods_allowed(const struct byoca_caa_discovery *d,
                             const char *issuer, unsigned ours) {
  unsigned m = ours;
  for (size_t i = 0; d != NULL && i < d->nidents; i++)
    m &= ident_allows(&d->idents[i], issuer);
  return m;
}

uint64_t mgr_seed(int64_t cert_id) {
  uint64_t z = (uint64_t)cert_id + 0x9e3779b97f4a7c15ULL; /* splitmix64 */
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
