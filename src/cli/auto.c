/* --ca auto: the domain owner's CAA records choose the CA. For each
 * certificate: look up the CAA records of every name, order the candidate
 * CAs (lib/caa), then try them in that order (D-FALLBACK): directory
 * (well-known URL or the known table), account (EAB from --eab), order
 * with a challenge the records allow. Every attempt and every skipped CA
 * is reported with its reason. */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"

static const char *const known_types[] = {"http-01", "dns-01", "tls-alpn-01",
                                          "dns-account-01"};

/* Challenge types some configured solver answers. */
static size_t our_methods(const struct cli_rt *rt, const char **out) {
  size_t n = 0;
  for (size_t t = 0; t < sizeof(known_types) / sizeof(*known_types); t++)
    for (size_t s = 0; s < rt->nsolvers; s++)
      if (byoca_solver_supports(rt->solvers[s], known_types[t])) {
        out[n++] = known_types[t];
        break;
      }
  return n;
}

/* ---- CAA lookups for one certificate ---- */

struct lookups {
  struct cli_rt *rt;
  struct byoca_caa_rrset **rrsets;
  size_t pending;
};

struct slot {
  struct lookups *l;
  size_t i;
};

static void on_rrset(void *arg, struct byoca_caa_rrset *rrset,
                     const struct byoca_err *err) {
  struct slot *s = arg;
  if (rrset == NULL && (rrset = calloc(1, sizeof(*rrset))) != NULL) {
    rrset->lookup_error = 1;
    byoca_err_format(err, rrset->error, sizeof(rrset->error));
  }
  s->l->rrsets[s->i] = rrset;
  if (--s->l->pending == 0)
    byoca_loop_break(s->l->rt->loop);
  free(s);
}

static int lookup_all(struct cli_rt *rt, const struct cli_lineage *lin,
                      int require_secure, struct byoca_caa_rrset **rrsets,
                      struct byoca_err *err) {
  struct lookups l = {.rt = rt, .rrsets = rrsets};
  for (size_t i = 0; i < lin->nnames; i++) {
    struct slot *s = calloc(1, sizeof(*s));
    if (s == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    s->l = &l;
    s->i = i;
    l.pending++;
    if (byoca_caa_lookup(rt->resolver, lin->names[i], require_secure, on_rrset,
                         s) != 0) {
      l.pending--;
      free(s);
      return byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_RETRYABLE,
                           "cannot look up the CAA records of %s",
                           lin->names[i]);
    }
  }
  while (l.pending > 0)
    if (byoca_loop_run(rt->loop) == 1 && l.pending > 0)
      return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                           "CAA lookups lost their callbacks");
  return 0;
}

/* ---- accounts we hold, for accounturi ---- */

static size_t load_accounts(const char *state, struct byoca_caa_account *out,
                            char **keep, size_t max) {
  char *dir = byoca_asprintf("%s/accounts", state);
  DIR *d = dir != NULL ? opendir(dir) : NULL;
  struct dirent *e;
  size_t n = 0;
  while (d != NULL && n < max && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char *p = byoca_asprintf("%s/%s/account.json", dir, e->d_name);
    json_t *j = p != NULL ? json_load_file(p, 0, NULL) : NULL;
    const char *url = json_string_value(json_object_get(j, "url"));
    const char *iss = json_string_value(json_object_get(j, "issuer"));
    if (url != NULL && iss != NULL) {
      keep[2 * n] = strdup(iss);
      keep[2 * n + 1] = strdup(url);
      out[n].issuer = keep[2 * n];
      out[n].url = keep[2 * n + 1];
      n++;
    }
    json_decref(j);
    free(p);
  }
  if (d != NULL)
    closedir(d);
  free(dir);
  return n;
}

static uint64_t name_seed(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

int cli_auto_discover(struct cli_rt *rt, const struct cli_opts *o,
                      const struct cli_auto *ao, const struct cli_lineage *lin,
                      struct cli_auto_plan *plan, struct byoca_err *err) {
  const char *methods[8];
  struct byoca_caa_account accts[64];
  memset(plan, 0, sizeof(*plan));
  plan->n = lin->nnames;
  plan->rrsets = calloc(lin->nnames, sizeof(*plan->rrsets));
  plan->keep = calloc(128, sizeof(char *));
  if (plan->rrsets == NULL || plan->keep == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  byoca_log(BYOCA_LOG_INFO, "%s: reading the CAA records of %s%s", lin->name,
            lin->names[0], lin->nnames > 1 ? " and the other names" : "");
  int rc = lookup_all(rt, lin, ao->require_dnssec, plan->rrsets, err);
  if (rc != 0)
    return rc;
  struct byoca_caa_policy policy = {
      .methods = methods,
      .nmethods = our_methods(rt, methods),
      .accounts = accts,
      .naccounts = load_accounts(o->state_dir, accts, plan->keep, 64),
      .exclude = ao->exclude,
      .nexclude = ao->nexclude,
      .seed = name_seed(lin->name),
  };
  return byoca_caa_discover((const char *const *)lin->names,
                            (const struct byoca_caa_rrset *const *)plan->rrsets,
                            lin->nnames, &policy, &plan->disc, err);
}

void cli_auto_plan_free(struct cli_auto_plan *p) {
  byoca_caa_discovery_clear(&p->disc);
  for (size_t i = 0; p->rrsets != NULL && i < p->n; i++) {
    if (p->rrsets[i] != NULL)
      byoca_caa_rrset_clear(p->rrsets[i]);
    free(p->rrsets[i]);
  }
  free(p->rrsets);
  for (size_t i = 0; p->keep != NULL && i < 128; i++)
    free(p->keep[i]);
  free(p->keep);
  memset(p, 0, sizeof(*p));
}
