/* The Relevant RRset of a name over DNS (RFC 8659 §3): one CAA query per
 * level, from the name up to its TLD, all in flight at once (as Boulder's
 * selectCAA); once every level has answered, the climb is replayed on the
 * answers. D-DNS-ERR: a failed level at or below the first non-empty one
 * makes the whole lookup an error; D-CNAME: the resolver follows aliases
 * inside each level's query and the climb stays on the original name.
 * A lookup can be cancelled while its queries are in flight (a job that
 * stops must not wait for a DNS server that never answers). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "lookup_int.h"

#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

/* What one level's query said. */
struct level {
  struct byoca_caa_lookup *lk;
  struct byoca_dns_query *q; /* in flight, or NULL */
  const char *name;          /* points into lk->base */
  int failed;                /* no usable answer */
  int malformed;             /* a record does not parse */
  int too_many;              /* more than BYOCA_CAA_MAX_RECORDS records */
  char why[200];             /* the reason of any of the three */
  enum byoca_dnssec dnssec;
  struct byoca_caa_record *recs;
  size_t n;
};

struct byoca_caa_lookup {
  byoca_caa_lookup_cb cb;
  void *arg;
  int require_secure;
  size_t pending; /* queries still to answer */
  size_t nlevels;
  char base[CAA_NAME_MAX + 1];
  struct level levels[]; /* nlevels: the name first, the TLD last */
};

int caa_base_name(const char *name, char *out, size_t outlen) {
  if (name == NULL || out == NULL)
    return BYOCA_E_INVAL;
  size_t len = strlen(name);
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len > CAA_NAME_MAX || len == 0)
    return BYOCA_E_INVAL;
  if (len >= 2 && name[0] == '*' && name[1] == '.') {
    name += 2;
    len -= 2;
  }
  if (len == 0 || len >= outlen)
    return BYOCA_E_INVAL;
  size_t labels = 1, label_len = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c <= 0x20 || c >= 0x7f || c == '\\')
      return BYOCA_E_INVAL;
    if (c == '.') {
      if (label_len == 0)
        return BYOCA_E_INVAL;
      labels++;
      label_len = 0;
    } else if (++label_len > 63) {
      return BYOCA_E_INVAL;
    }
    out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  if (label_len == 0 || labels > CAA_LABELS_MAX)
    return BYOCA_E_INVAL;
  out[len] = '\0';
  return 0;
}

const char *caa_parent(const char *name) {
  const char *dot = strchr(name, '.');
  return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

static void level_free(struct level *lv) {
  for (size_t i = 0; i < lv->n; i++)
    byoca_caa_record_clear(&lv->recs[i]);
  free(lv->recs);
  lv->recs = NULL;
  lv->n = 0;
}

static const char *rcode_str(int rcode) {
  switch (rcode) {
  case 1:
    return "FORMERR";
  case 2:
    return "SERVFAIL";
  case 4:
    return "NOTIMP";
  case 5:
    return "REFUSED";
  }
  return NULL;
}

/* Keeps the CAA records of a NOERROR answer, parsed. */
static void level_keep(struct level *lv, const struct byoca_dns_answer *ans) {
  if (ans->n > BYOCA_CAA_MAX_RECORDS) {
    lv->too_many = 1;
    snprintf(lv->why, sizeof(lv->why), "%zu records, at most %d", ans->n,
             BYOCA_CAA_MAX_RECORDS);
    return;
  }
  if (ans->n == 0)
    return;
  lv->recs = calloc(ans->n, sizeof(*lv->recs));
  if (lv->recs == NULL) {
    lv->failed = 1;
    byoca_strlcpy(lv->why, "out of memory", sizeof(lv->why));
    return;
  }
  for (size_t i = 0; i < ans->n; i++) {
    struct byoca_err e = {0};
    if (byoca_caa_rdata_parse(ans->rdata[i], ans->rdlen[i], &lv->recs[i], &e) !=
        0) {
      if (e.code == BYOCA_E_NOMEM)
        lv->failed = 1;
      else
        lv->malformed = 1;
      byoca_strlcpy(lv->why, e.msg, sizeof(lv->why));
      byoca_err_clear(&e);
      level_free(lv);
      return;
    }
    lv->n = i + 1;
  }
}

static void finish(struct byoca_caa_lookup *lk);

static void on_answer(void *arg, const struct byoca_dns_answer *ans,
                      const struct byoca_err *err) {
  struct level *lv = arg;
  struct byoca_caa_lookup *lk = lv->lk;
  const char *rc;
  lv->q = NULL; /* the resolver is done with it */
  if (err != NULL) {
    lv->failed = 1;
    byoca_strlcpy(lv->why, err->msg, sizeof(lv->why));
  } else if ((lv->dnssec = ans->dnssec) == BYOCA_DNSSEC_BOGUS) {
    lv->failed = 1;
    byoca_strlcpy(lv->why, "DNSSEC validation failed (bogus)", sizeof(lv->why));
  } else if (ans->rcode == RCODE_NOERROR) {
    level_keep(lv, ans);
  } else if (ans->rcode != RCODE_NXDOMAIN) {
    lv->failed = 1;
    if ((rc = rcode_str(ans->rcode)) != NULL)
      byoca_strlcpy(lv->why, rc, sizeof(lv->why));
    else
      snprintf(lv->why, sizeof(lv->why), "DNS rcode %d", ans->rcode);
  }
  if (--lk->pending == 0)
    finish(lk);
}

/* DNSSEC states from weakest to strongest, for a result found nowhere. */
static int strength(enum byoca_dnssec d) {
  switch (d) {
  case BYOCA_DNSSEC_BOGUS:
    return 0;
  case BYOCA_DNSSEC_UNCHECKED:
    return 1;
  case BYOCA_DNSSEC_INSECURE:
    return 2;
  case BYOCA_DNSSEC_SECURE:
    return 3;
  }
  return 0;
}

static void set_error(struct byoca_caa_rrset *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The reason of a lookup error, truncated to fit. */
static void set_error(struct byoca_caa_rrset *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof(s->error), fmt, ap);
  va_end(ap);
  s->lookup_error = 1;
}

/* Why level lv cannot be used, written into s; 0 when it can. */
static int level_refused(const struct byoca_caa_lookup *lk,
                         const struct level *lv, struct byoca_caa_rrset *s) {
  if (lv->failed)
    set_error(s, "CAA lookup at %s failed: %s", lv->name, lv->why);
  else if (lv->malformed)
    set_error(s, "malformed CAA record at %s: %s", lv->name, lv->why);
  else if (lv->too_many)
    set_error(s, "too many CAA records at %s: %s", lv->name, lv->why);
  else if (lk->require_secure && lv->dnssec != BYOCA_DNSSEC_SECURE)
    set_error(s, "DNSSEC: %s is %s; --require-dnssec refuses it", lv->name,
              byoca_dnssec_str(lv->dnssec));
  else
    return 0;
  s->dnssec = lv->dnssec;
  return 1;
}

/* The climb of RFC 8659 §3 over the answers. With require_secure every
 * level consulted must be secure: an insecure empty answer below the
 * records could have hidden the name's own records. */
static int decide(struct byoca_caa_lookup *lk, struct byoca_caa_rrset *s) {
  enum byoca_dnssec weakest = BYOCA_DNSSEC_SECURE;
  for (size_t i = 0; i < lk->nlevels; i++) {
    struct level *lv = &lk->levels[i];
    if (level_refused(lk, lv, s))
      return 0;
    if (strength(lv->dnssec) < strength(weakest))
      weakest = lv->dnssec;
    if (lv->n > 0) {
      if ((s->relevant_domain = byoca_strdup(lv->name)) == NULL)
        return BYOCA_E_NOMEM;
      s->records = lv->recs;
      s->n = lv->n;
      s->dnssec = lv->dnssec;
      lv->recs = NULL;
      lv->n = 0;
      return 0;
    }
  }
  s->dnssec = weakest;
  return 0;
}

static void lookup_free(struct byoca_caa_lookup *lk) {
  for (size_t i = 0; i < lk->nlevels; i++)
    level_free(&lk->levels[i]);
  free(lk);
}

static void finish(struct byoca_caa_lookup *lk) {
  struct byoca_caa_rrset *s = calloc(1, sizeof(*s));
  struct byoca_err err = {0};
  if (s == NULL || decide(lk, s) != 0) {
    byoca_caa_rrset_clear(s);
    free(s);
    s = NULL;
    byoca_err_set(&err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                  "out of memory looking up the CAA records of %.200s",
                  lk->base);
  }
  byoca_caa_lookup_cb cb = lk->cb;
  void *arg = lk->arg;
  lookup_free(lk);
  cb(arg, s, s == NULL ? &err : NULL);
  byoca_err_clear(&err);
}

void byoca_caa_lookup_cancel(struct byoca_caa_lookup *lk) {
  if (lk == NULL)
    return;
  for (size_t i = 0; i < lk->nlevels; i++) {
    byoca_dns_cancel(lk->levels[i].q);
    lk->levels[i].q = NULL;
  }
  lookup_free(lk);
}

int byoca_caa_lookup(struct byoca_resolver *r, const char *name,
                     int require_secure, byoca_caa_lookup_cb cb, void *arg) {
  return byoca_caa_lookup_start(r, name, require_secure, cb, arg, NULL);
}

int byoca_caa_lookup_start(struct byoca_resolver *r, const char *name,
                           int require_secure, byoca_caa_lookup_cb cb,
                           void *arg, struct byoca_caa_lookup **out) {
  char base[CAA_NAME_MAX + 1];
  size_t n = 0;
  if (r == NULL || cb == NULL || caa_base_name(name, base, sizeof(base)) != 0)
    return BYOCA_E_INVAL;
  for (const char *l = base; l != NULL; l = caa_parent(l))
    n++;
  struct byoca_caa_lookup *lk =
      calloc(1, sizeof(*lk) + n * sizeof(lk->levels[0]));
  if (lk == NULL)
    return BYOCA_E_NOMEM;
  lk->cb = cb;
  lk->arg = arg;
  lk->require_secure = require_secure;
  byoca_strlcpy(lk->base, base, sizeof(lk->base));
  for (const char *l = lk->base; l != NULL; l = caa_parent(l)) {
    struct level *lv = &lk->levels[lk->nlevels++];
    lv->lk = lk;
    lv->name = l;
  }
  /* Answers arrive from the loop only, so pending cannot reach 0 here. A
     level that cannot even be asked counts as failed. */
  for (size_t i = 0; i < lk->nlevels; i++) {
    struct level *lv = &lk->levels[i];
    int rc = byoca_resolve_start(r, lv->name, BYOCA_CAA_RRTYPE, on_answer, lv,
                                 &lv->q);
    if (rc == 0) {
      lk->pending++;
      continue;
    }
    if (lk->pending == 0) { /* nothing in flight: give up now */
      free(lk);
      return rc;
    }
    lv->failed = 1;
    snprintf(lv->why, sizeof(lv->why), "cannot send the query (%s)",
             byoca_errcode_str(rc));
  }
  if (out != NULL)
    *out = lk;
  return 0;
}
