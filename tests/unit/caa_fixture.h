/* Helpers for the lib/caa unit tests: Relevant RRsets built from
 * presentation-like records (through byoca_caa_rdata_parse, as the lookup
 * layer builds them), and the results of discovery as short strings that a
 * table can compare. */
#ifndef BYOCA_TEST_CAA_FIXTURE_H
#define BYOCA_TEST_CAA_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"

/* One record as a zone file would write it: flags tag "value". */
struct rec {
  unsigned flags;
  const char *tag;
  const char *value;
};

/* An RRset found at domain holding the records of r (ended by a NULL tag);
 * no records = no CAA anywhere (unrestricted). Caller: fx_free. */
static inline struct byoca_caa_rrset *fx_set(const char *domain,
                                             const struct rec *r) {
  struct byoca_caa_rrset *s = calloc(1, sizeof(*s));
  size_t n = 0;
  while (r != NULL && r[n].tag != NULL)
    n++;
  if (s == NULL || (s->records = calloc(n + 1, sizeof(*s->records))) == NULL)
    abort();
  if (n > 0 && (s->relevant_domain = strdup(domain)) == NULL)
    abort();
  for (size_t i = 0; i < n; i++) {
    unsigned char wire[1024];
    size_t tl = strlen(r[i].tag), vl = strlen(r[i].value);
    if (tl > 255 || 2 + tl + vl > sizeof(wire))
      abort();
    wire[0] = (unsigned char)r[i].flags;
    wire[1] = (unsigned char)tl;
    memcpy(wire + 2, r[i].tag, tl);
    memcpy(wire + 2 + tl, r[i].value, vl);
    if (byoca_caa_rdata_parse(wire, 2 + tl + vl, &s->records[i], NULL) != 0)
      abort();
    s->n = i + 1;
  }
  return s;
}

/* An RRset whose lookup failed (SERVFAIL, timeout, bogus: D-DNS-ERR). */
static inline struct byoca_caa_rrset *fx_error(const char *why) {
  struct byoca_caa_rrset *s = calloc(1, sizeof(*s));
  if (s == NULL)
    abort();
  s->lookup_error = 1;
  s->dnssec = BYOCA_DNSSEC_BOGUS;
  snprintf(s->error, sizeof(s->error), "%s", why);
  return s;
}

static inline void fx_free(struct byoca_caa_rrset *s) {
  byoca_caa_rrset_clear(s);
  free(s);
}

/* "issuer:group:score,..." in the order discovery gave. */
static inline void fx_cands(const struct byoca_caa_discovery *d, char *out,
                            size_t n) {
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < d->ncandidates && off < n; i++)
    off += (size_t)snprintf(out + off, n - off, "%s%s:%d:%lld", i ? "," : "",
                            d->candidates[i].issuer, d->candidates[i].group,
                            (long long)d->candidates[i].score);
}

/* "issuer,issuer" of the candidates only, in order. */
static inline void fx_order(const struct byoca_caa_discovery *d, char *out,
                            size_t n) {
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < d->ncandidates && off < n; i++)
    off += (size_t)snprintf(out + off, n - off, "%s%s", i ? "," : "",
                            d->candidates[i].issuer);
}

/* "issuer,issuer" authorized for one identifier. */
static inline void fx_auth(const struct byoca_caa_ident *id, char *out,
                           size_t n) {
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i < id->nauthorized && off < n; i++)
    off += (size_t)snprintf(out + off, n - off, "%s%s", i ? "," : "",
                            id->authorized[i]);
}

#endif
