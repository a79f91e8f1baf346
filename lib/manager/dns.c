/* The provider's dns-01 zones: one RFC 2136 solver (lib/solve) per
 * configured zone, built when the options are applied (start, reload), so
 * a bad server, key or secret file fails the start or the reload, not a
 * job. The set is shared by reference: a job keeps the set it started
 * with while a reload installs the next. A tenant's own zones (set
 * through the API, kept in the store) form a set of the same kind, built
 * for each job of that tenant and asked before the provider's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mgr_int.h"

#define ZONE_MAX 254

struct mgr_dns_zone {
  char *zone; /* lower case, no trailing dot; NULL = any name */
  struct byoca_solver *solver;
};

struct mgr_dns {
  int refs;
  struct mgr_dns_zone *v;
  size_t n;
};

void mgr_dns_unref(struct mgr_dns *d) {
  if (d == NULL || --d->refs > 0)
    return;
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].zone);
    byoca_solver_free(d->v[i].solver);
  }
  free(d->v);
  free(d);
}

void mgr_dns_close(struct mgr_dns *d) {
  for (size_t i = 0; d != NULL && i < d->n; i++) {
    byoca_solver_free(d->v[i].solver);
    d->v[i].solver = NULL;
  }
  mgr_dns_unref(d);
}

struct mgr_dns *mgr_dns_ref(struct mgr_dns *d) {
  if (d != NULL)
    d->refs++;
  return d;
}

/* The zone as compared: lower case, without the trailing dot. */
static char *zone_key(const char *zone) {
  size_t n = strlen(zone);
  if (n > 0 && zone[n - 1] == '.')
    n--;
  if (n == 0 || n >= ZONE_MAX)
    return NULL;
  char *k = malloc(n + 1);
  if (k == NULL)
    return NULL;
  memcpy(k, zone, n);
  k[n] = '\0';
  for (size_t i = 0; k[i] != '\0'; i++)
    if (k[i] >= 'A' && k[i] <= 'Z')
      k[i] = (char)(k[i] - 'A' + 'a');
  return k;
}

/* The secret must stay the operator's: refuse what group or others may
 * read, as ssh does for its keys. */
static int secret_file_ok(const char *zone, const char *path,
                          struct byoca_err *err) {
  struct stat st;
  if (path == NULL || *path == '\0')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "[rfc2136%s%.200s%s]: no tsig_secret_file",
                         zone ? " \"" : "", zone ? zone : "", zone ? "\"" : "");
  if (stat(path, &st) != 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "cannot read the TSIG secret file %.300s", path);
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the TSIG secret file %.300s may be read by group or"
                         " others (chmod 600 it)",
                         path);
  return 0;
}

static int add_zone(struct mgr_dns *d, struct byoca_manager *m,
                    const struct byoca_manager_rfc2136 *z,
                    struct byoca_err *err) {
  struct mgr_dns_zone *e = &d->v[d->n];
  if (z->zone != NULL && (e->zone = zone_key(z->zone)) == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "[rfc2136 \"%.200s\"]: not a zone name", z->zone);
  for (size_t i = 0; i < d->n; i++)
    if ((e->zone == NULL) == (d->v[i].zone == NULL) &&
        (e->zone == NULL || strcmp(e->zone, d->v[i].zone) == 0)) {
      free(e->zone);
      e->zone = NULL;
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "[rfc2136%s%.200s%s] given twice",
                           z->zone ? " \"" : "", z->zone ? z->zone : "",
                           z->zone ? "\"" : "");
    }
  d->n++; /* freed with the set from here on */
  int rc = secret_file_ok(z->zone, z->secret_file, err);
  if (rc != 0)
    return rc;
  struct byoca_rfc2136_opts o = {
      .server = z->server,
      .tsig_name = z->tsig_name,
      .tsig_alg = z->tsig_alg,
      .secret_file = z->secret_file,
      .zone = z->zone,
      .propagation_timeout_ms = z->propagation_timeout_ms,
      .propagation_interval_ms = z->propagation_interval_ms,
      .resolver = m->resolver,
  };
  if (z->server == NULL || *z->server == '\0')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "[rfc2136%s%.200s%s]: no server", z->zone ? " \"" : "",
                         z->zone ? z->zone : "", z->zone ? "\"" : "");
  e->solver = byoca_solver_rfc2136(m->loop, &o, err);
  if (e->solver == NULL) {
    if (err != NULL && err->code != 0)
      byoca_err_activity(err, "reading [rfc2136%s%.200s%s]",
                         z->zone ? " \"" : "", z->zone ? z->zone : "",
                         z->zone ? "\"" : "");
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_INTERNAL;
  }
  return 0;
}

int mgr_dns_build(struct byoca_manager *m, const struct byoca_manager_opts *o,
                  struct mgr_dns **out, struct byoca_err *err) {
  *out = NULL;
  if (o->nrfc2136 == 0)
    return 0;
  struct mgr_dns *d = calloc(1, sizeof(*d));
  if (d == NULL || (d->v = calloc(o->nrfc2136, sizeof(*d->v))) == NULL) {
    free(d);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  }
  d->refs = 1;
  for (size_t i = 0; i < o->nrfc2136; i++) {
    int rc = add_zone(d, m, &o->rfc2136[i], err);
    if (rc != 0) {
      mgr_dns_unref(d);
      return rc;
    }
  }
  *out = d;
  return 0;
}

/* The solver options of a tenant's row; server is their server's text. */
static int row_opts(const struct byoca_rfc2136_row *row,
                    const struct byoca_secret *secret, char *server, size_t len,
                    struct byoca_rfc2136_opts *o, struct byoca_err *err) {
  int v6 = strchr(row->server, ':') != NULL;
  if (row->port < 1 || row->port > 65535)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "port %d: expected 1-65535", row->port);
  snprintf(server, len, "%s%s%s:%d", v6 ? "[" : "", row->server, v6 ? "]" : "",
           row->port);
  memset(o, 0, sizeof(*o));
  o->server = server;
  o->tsig_name = row->key_name;
  o->tsig_alg = row->algorithm[0] != '\0' ? row->algorithm : NULL;
  o->secret = secret;
  o->zone = row->zone[0] != '\0' ? row->zone : NULL;
  return 0;
}

int byoca_rfc2136_row_solver(struct byoca_loop *loop,
                             struct byoca_resolver *resolver,
                             const struct byoca_rfc2136_row *row,
                             const struct byoca_secret *secret,
                             struct byoca_solver **out, struct byoca_err *err) {
  char server[96];
  struct byoca_rfc2136_opts o;
  *out = NULL;
  int rc = row_opts(row, secret, server, sizeof(server), &o, err);
  if (rc != 0)
    return rc;
  o.resolver = resolver;
  struct byoca_solver *sv = byoca_solver_rfc2136(loop, &o, err);
  if (sv == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_INTERNAL;
  *out = sv;
  return 0;
}

int byoca_rfc2136_row_check(const struct byoca_rfc2136_row *row,
                            const struct byoca_secret *secret,
                            struct byoca_err *err) {
  char server[96];
  struct byoca_rfc2136_opts o;
  int rc = row_opts(row, secret, server, sizeof(server), &o, err);
  return rc != 0 ? rc : byoca_rfc2136_check(&o, err);
}

/* Adds the tenant's entry to d (its zone checked and unique in the
 * store's primary key). */
static int add_row(struct mgr_dns *d, struct byoca_manager *m,
                   const struct byoca_rfc2136_row *row,
                   const struct byoca_secret *secret, struct byoca_err *err) {
  struct mgr_dns_zone *e = &d->v[d->n];
  if (row->zone[0] != '\0' && (e->zone = zone_key(row->zone)) == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tenant RFC 2136 zone '%.200s': not a zone name",
                         row->zone);
  d->n++;
  int rc = byoca_rfc2136_row_solver(m->loop, m->resolver, row, secret,
                                    &e->solver, err);
  if (rc != 0)
    byoca_err_activity(err, "reading the tenant's RFC 2136 server for %.200s",
                       row->zone[0] != '\0' ? row->zone : "any zone");
  return rc;
}

int mgr_dns_tenant_build(struct byoca_manager *m,
                         struct byoca_rfc2136_row *rows,
                         struct byoca_secret *secrets, size_t n,
                         struct mgr_dns **out, struct byoca_err *err) {
  int rc = 0;
  *out = NULL;
  if (n == 0)
    goto out;
  struct mgr_dns *d = calloc(1, sizeof(*d));
  if (d == NULL || (d->v = calloc(n, sizeof(*d->v))) == NULL) {
    free(d);
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
    goto out;
  }
  d->refs = 1;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = add_row(d, m, &rows[i], &secrets[i], err);
  if (rc != 0)
    mgr_dns_unref(d);
  else
    *out = d;
out:
  for (size_t i = 0; secrets != NULL && i < n; i++)
    byoca_secret_free(&secrets[i]);
  free(secrets);
  free(rows);
  return rc;
}

/* 1 if name is zone or below it (both lower case, no trailing dot). */
static int in_zone(const char *name, size_t nlen, const char *zone) {
  size_t zlen = strlen(zone);
  if (nlen < zlen || strncasecmp(name + nlen - zlen, zone, zlen) != 0)
    return 0;
  return nlen == zlen || name[nlen - zlen - 1] == '.';
}

struct byoca_solver *mgr_dns_pick(const struct mgr_dns *d, const char *name) {
  if (d == NULL || name == NULL)
    return NULL;
  size_t nlen = strlen(name);
  if (nlen > 0 && name[nlen - 1] == '.')
    nlen--;
  struct byoca_solver *any = NULL, *best = NULL;
  size_t best_len = 0;
  for (size_t i = 0; i < d->n; i++) {
    const struct mgr_dns_zone *z = &d->v[i];
    if (z->solver == NULL) /* closed */
      continue;
    if (z->zone == NULL)
      any = z->solver;
    else if (in_zone(name, nlen, z->zone) && strlen(z->zone) > best_len) {
      best = z->solver;
      best_len = strlen(z->zone);
    }
  }
  return best != NULL ? best : any;
}

int mgr_dns01_ready(const struct byoca_manager *m, const struct mgr_job *j) {
  return m->cfg.dns_hook != NULL || m->dns != NULL ||
         (j != NULL && j->tdns != NULL);
}
