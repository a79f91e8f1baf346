/* byoca discover: CAA lookups for every name at once (or answers from a
 * zone file), then every candidate CA's directory at once. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "discover_out.h"

static int zone_lookup(struct dsc_run *r, const char *zone,
                       struct byoca_err *err) {
  struct byoca_caa_zone *z = NULL;
  int rc = byoca_caa_zone_load(zone, &z, err);
  for (size_t i = 0; rc == 0 && i < r->n; i++) {
    r->rrsets[i] = calloc(1, sizeof(**r->rrsets));
    if (r->rrsets[i] == NULL)
      rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    else if ((rc = byoca_caa_zone_rrset(z, r->names[i], r->rrsets[i])) != 0)
      byoca_err_set(err, rc, BYOCA_CLASS_INPUT, "cannot evaluate %s in %s",
                    r->names[i], zone);
  }
  byoca_caa_zone_free(z);
  return rc;
}

struct lookup_slot {
  struct dsc_run *r;
  size_t i;
};

static void on_rrset(void *arg, struct byoca_caa_rrset *rrset,
                     const struct byoca_err *err) {
  struct lookup_slot *s = arg;
  struct dsc_run *r = s->r;
  if (rrset == NULL) {
    rrset = calloc(1, sizeof(*rrset));
    if (rrset != NULL) {
      rrset->lookup_error = 1;
      byoca_err_format(err, rrset->error, sizeof(rrset->error));
    }
  }
  r->rrsets[s->i] = rrset;
  free(s);
  if (--r->pending == 0)
    byoca_loop_break(r->rt.loop);
}

int dsc_lookup(struct dsc_run *r, const struct cli_opts *o, const char *zone,
               struct byoca_err *err) {
  r->rrsets = calloc(r->n, sizeof(*r->rrsets));
  if (r->rrsets == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  r->o = o;
  if (zone != NULL)
    return zone_lookup(r, zone, err);
  int rc = cli_rt_init(&r->rt, o, err);
  r->have_rt = 1;
  for (size_t i = 0; rc == 0 && i < r->n; i++) {
    struct lookup_slot *s = calloc(1, sizeof(*s));
    if (s == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    s->r = r;
    s->i = i;
    r->pending++;
    if (byoca_caa_lookup(r->rt.resolver, r->names[i], r->require_secure,
                         on_rrset, s) != 0) {
      r->pending--;
      free(s);
      rc = byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INPUT,
                         "cannot look up CAA records of %s", r->names[i]);
    }
  }
  while (r->pending > 0)
    if (byoca_loop_run(r->rt.loop) == 1 && r->pending > 0)
      return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                           "CAA lookups lost their callbacks");
  return rc;
}

struct dir_slot {
  struct dsc_run *r;
  size_t i;
  struct byoca_acme *acme;
};

/* A copy of the CA's meta.profiles for the report. */
static void keep_profiles(struct dsc_run *r, size_t i,
                          const struct byoca_acme *acme) {
  size_t n = 0;
  const struct byoca_profile *p = byoca_acme_profile_list(acme, &n);
  if (n == 0 || (r->profiles[i] = calloc(n, sizeof(*p))) == NULL)
    return;
  for (size_t k = 0; k < n; k++) {
    r->profiles[i][k].name = strdup(p[k].name);
    r->profiles[i][k].description = strdup(p[k].description);
  }
  r->nprofiles[i] = n;
}

static void on_directory(void *arg, const struct byoca_err *err) {
  struct dir_slot *s = arg;
  struct dsc_run *r = s->r;
  if (err == NULL) {
    r->directory[s->i] = strdup(byoca_acme_directory_url(s->acme));
    keep_profiles(r, s->i, s->acme);
  } else {
    char line[512];
    byoca_err_format(err, line, sizeof(line));
    r->dir_error[s->i] = strdup(line);
  }
  byoca_acme_free(s->acme);
  free(s);
  if (--r->pending == 0)
    byoca_loop_break(r->rt.loop);
}

void dsc_directories(struct dsc_run *r) {
  size_t n = r->disc.ncandidates;
  if (n == 0)
    return;
  if (!r->have_rt) {
    struct byoca_err e = {0};
    r->have_rt = 1;
    if (cli_rt_init(&r->rt, r->o, &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
      return;
    }
  }
  r->directory = calloc(n, sizeof(char *));
  r->dir_error = calloc(n, sizeof(char *));
  r->profiles = calloc(n, sizeof(*r->profiles));
  r->nprofiles = calloc(n, sizeof(*r->nprofiles));
  for (size_t i = 0; r->directory != NULL && r->dir_error != NULL &&
                     r->profiles != NULL && r->nprofiles != NULL && i < n;
       i++) {
    struct dir_slot *s = calloc(1, sizeof(*s));
    if (s == NULL)
      break;
    s->r = r;
    s->i = i;
    const char *issuer = r->disc.candidates[i].issuer;
    const struct cli_config_ca *cc = cli_config_ca(r->o->cfg, issuer);
    if (cc != NULL && cc->directory != NULL &&
        byoca_http_trust_url(r->rt.http, cc->directory) == 0)
      s->acme = byoca_acme_new(r->rt.loop, r->rt.http, cc->directory, NULL);
    else
      s->acme = byoca_acme_new_wellknown(r->rt.loop, r->rt.http, issuer, NULL);
    if (s->acme == NULL) {
      free(s);
      continue;
    }
    r->pending++;
    if (byoca_acme_directory(s->acme, on_directory, s) != 0) {
      r->pending--;
      byoca_acme_free(s->acme);
      free(s);
    }
  }
  while (r->pending > 0)
    if (byoca_loop_run(r->rt.loop) == 1 && r->pending > 0)
      break;
}

void dsc_run_free(struct dsc_run *r) {
  for (size_t i = 0; r->rrsets != NULL && i < r->n; i++) {
    if (r->rrsets[i] != NULL)
      byoca_caa_rrset_clear(r->rrsets[i]);
    free(r->rrsets[i]);
  }
  free(r->rrsets);
  for (size_t i = 0; i < r->disc.ncandidates; i++) {
    if (r->directory != NULL)
      free(r->directory[i]);
    if (r->dir_error != NULL)
      free(r->dir_error[i]);
    if (r->profiles != NULL && r->nprofiles != NULL)
      byoca_profiles_free(r->profiles[i], r->nprofiles[i]);
  }
  free(r->directory);
  free(r->dir_error);
  free(r->profiles);
  free(r->nprofiles);
  byoca_caa_discovery_clear(&r->disc);
  if (r->have_rt)
    cli_rt_free(&r->rt);
}
