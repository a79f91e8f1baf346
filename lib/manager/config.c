/* The manager's options: deep copies with defaults, the provider's CA
 * table, trust for the URLs the operator configured, and small id sets. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mgr_int.h"

#define DEF_MAX_PARALLEL 64
#define DEF_MAX_PER_CA 16
#define DEF_TICK_MS 1000
#define DEF_RETRY_BASE 300
#define DEF_LEASE 600
#define DEF_HOOK_TIMEOUT_MS 300000
#define DEF_NOTIFY_AFTER 3
#define DEF_EXPIRY_WARNING (7 * MGR_DAY)
#define DEF_ORDER_TIMEOUT_MS 3600000
#define DEF_METRICS_REFRESH 30

int64_t mgr_job_deadline_ms(const struct mgr_cfg *cfg) {
  int64_t d = (int64_t)MGR_JOB_DEADLINE_S * 1000,
          o = cfg->order_timeout_ms + 600000;
  return o > d ? o : d;
}

int mgr_is_url(const char *s) {
  return s != NULL && strncasecmp(s, "https://", 8) == 0 && s[8] != '\0';
}

static int dup_opt(char **dst, const char *src) {
  *dst = NULL;
  if (src == NULL || *src == '\0')
    return 0;
  return (*dst = strdup(src)) != NULL ? 0 : BYOCA_E_NOMEM;
}

static int copy_cas(struct mgr_cfg *cfg, const struct byoca_manager_opts *o,
                    struct byoca_err *err) {
  if (o->ncas > 0 && (cfg->cas = calloc(o->ncas, sizeof(*cfg->cas))) == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < o->ncas; i++, cfg->ncas++) {
    const struct byoca_manager_ca *c = &o->cas[i];
    struct mgr_ca *d = &cfg->cas[i];
    if (c->issuer == NULL || *c->issuer == '\0')
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "a [ca] entry has no issuer name");
    if (c->directory != NULL && !mgr_is_url(c->directory))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "the directory of [ca \"%.200s\"] is not an"
                           " https URL",
                           c->issuer);
    if ((c->eab_kid == NULL) != (c->eab_hmac_file == NULL))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "[ca \"%.200s\"]: eab_kid and eab_hmac_file go"
                           " together",
                           c->issuer);
    if (dup_opt(&d->issuer, c->issuer) != 0 ||
        dup_opt(&d->directory, c->directory) != 0 ||
        dup_opt(&d->eab_kid, c->eab_kid) != 0 ||
        dup_opt(&d->eab_hmac_file, c->eab_hmac_file) != 0)
      return BYOCA_E_NOMEM;
    if (c->profile != NULL && !byoca_profile_name_valid(c->profile))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "[ca \"%.200s\"]: '%.80s' is not a profile name",
                           c->issuer, c->profile);
    if (dup_opt(&d->profile, c->profile) != 0)
      return BYOCA_E_NOMEM;
    d->profile_required = c->profile != NULL && c->profile_required;
  }
  return 0;
}

static int copy_defaults(struct mgr_cfg *cfg,
                         const struct byoca_manager_opts *o) {
  if (o->ndefault_cas == 0)
    return 0;
  cfg->default_cas = calloc(o->ndefault_cas, sizeof(char *));
  if (cfg->default_cas == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < o->ndefault_cas; i++) {
    if (o->default_cas[i] == NULL || *o->default_cas[i] == '\0')
      continue;
    if ((cfg->default_cas[cfg->ndefault_cas++] = strdup(o->default_cas[i])) ==
        NULL)
      return BYOCA_E_NOMEM;
  }
  return 0;
}

static void fill_numbers(struct mgr_cfg *cfg,
                         const struct byoca_manager_opts *o) {
  cfg->require_dnssec = o->require_dnssec;
  cfg->max_parallel = o->max_parallel > 0 ? o->max_parallel : DEF_MAX_PARALLEL;
  cfg->max_parallel_per_ca =
      o->max_parallel_per_ca > 0 ? o->max_parallel_per_ca : DEF_MAX_PER_CA;
  cfg->tick_ms = o->tick_ms > 0 ? o->tick_ms : DEF_TICK_MS;
  cfg->retry_base_s = o->retry_base_s > 0 ? o->retry_base_s : DEF_RETRY_BASE;
  cfg->lease_s = o->lease_s > 0 ? o->lease_s : DEF_LEASE;
  cfg->hook_timeout_ms =
      o->hook_timeout_ms > 0 ? o->hook_timeout_ms : DEF_HOOK_TIMEOUT_MS;
  cfg->notify_after_failures = o->notify_after_failures > 0
                                   ? o->notify_after_failures
                                   : DEF_NOTIFY_AFTER;
  cfg->order_timeout_ms =
      o->order_timeout_ms > 0 ? o->order_timeout_ms : DEF_ORDER_TIMEOUT_MS;
  cfg->metrics_refresh_s = o->metrics_refresh_s == 0  ? DEF_METRICS_REFRESH
                           : o->metrics_refresh_s < 0 ? 0
                                                      : o->metrics_refresh_s;
  cfg->expiry_warning_s =
      o->expiry_warning_s > 0 ? o->expiry_warning_s : DEF_EXPIRY_WARNING;
}

static int copy_node_id(struct mgr_cfg *cfg, const char *node_id) {
  char host[256] = "";
  if (node_id != NULL && *node_id != '\0')
    return dup_opt(&cfg->node_id, node_id);
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
    byoca_strlcpy(host, "byocad", sizeof(host));
  return dup_opt(&cfg->node_id, host);
}

int mgr_cfg_copy(struct mgr_cfg *cfg, const struct byoca_manager_opts *o,
                 struct byoca_err *err) {
  memset(cfg, 0, sizeof(*cfg));
  fill_numbers(cfg, o);
  cfg->tls_alpn = o->tls_alpn != 0;
  int rc = copy_cas(cfg, o, err);
  if (rc == 0)
    rc = copy_defaults(cfg, o);
  if (rc == 0 && o->challenge_order != NULL && *o->challenge_order != '\0')
    rc = byoca_challenge_order_parse(o->challenge_order, cfg->chall_order,
                                     &cfg->nchall_order, err);
  if (rc == 0 && o->webhook_url != NULL && *o->webhook_url != '\0' &&
      strncasecmp(o->webhook_url, "https://", 8) != 0 &&
      strncasecmp(o->webhook_url, "http://", 7) != 0)
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "webhook_url must be an http or https URL");
  if (rc == 0 && (copy_node_id(cfg, o->node_id) != 0 ||
                  dup_opt(&cfg->contact_email, o->contact_email) != 0 ||
                  dup_opt(&cfg->dns_hook, o->dns_hook) != 0 ||
                  dup_opt(&cfg->deploy_dir, o->deploy_dir) != 0 ||
                  dup_opt(&cfg->deploy_hook, o->deploy_hook) != 0 ||
                  dup_opt(&cfg->webhook_url, o->webhook_url) != 0))
    rc = BYOCA_E_NOMEM;
  if (rc == BYOCA_E_NOMEM)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  if (rc != 0)
    mgr_cfg_free(cfg);
  return rc;
}

void mgr_cfg_free(struct mgr_cfg *cfg) {
  for (size_t i = 0; i < cfg->ndefault_cas; i++)
    free(cfg->default_cas[i]);
  free(cfg->default_cas);
  for (size_t i = 0; i < cfg->ncas; i++) {
    free(cfg->cas[i].issuer);
    free(cfg->cas[i].directory);
    free(cfg->cas[i].eab_kid);
    free(cfg->cas[i].eab_hmac_file);
    free(cfg->cas[i].profile);
  }
  free(cfg->cas);
  free(cfg->node_id);
  free(cfg->contact_email);
  free(cfg->dns_hook);
  free(cfg->deploy_dir);
  free(cfg->deploy_hook);
  free(cfg->webhook_url);
  memset(cfg, 0, sizeof(*cfg));
}

const struct mgr_ca *mgr_cfg_ca(const struct mgr_cfg *cfg, const char *issuer) {
  for (size_t i = 0; issuer != NULL && i < cfg->ncas; i++)
    if (byoca_strcaseeq(cfg->cas[i].issuer, issuer))
      return &cfg->cas[i];
  return NULL;
}

/* The operator wrote these URLs: they skip the address policy, as
 * byoca --server does. */
void mgr_trust_operator_urls(struct byoca_manager *m) {
  for (size_t i = 0; i < m->cfg.ncas; i++)
    if (m->cfg.cas[i].directory != NULL &&
        byoca_http_trust_url(m->http, m->cfg.cas[i].directory) != 0)
      byoca_log(BYOCA_LOG_WARN, "cannot trust the directory URL of %s",
                m->cfg.cas[i].issuer);
  for (size_t i = 0; i < m->cfg.ndefault_cas; i++)
    if (mgr_is_url(m->cfg.default_cas[i]) &&
        byoca_http_trust_url(m->http, m->cfg.default_cas[i]) != 0)
      byoca_log(BYOCA_LOG_WARN, "cannot trust the default CA URL %s",
                m->cfg.default_cas[i]);
  if (m->cfg.webhook_url != NULL &&
      byoca_http_trust_url(m->http, m->cfg.webhook_url) != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot trust the webhook URL");
}

/* ---- id sets ---- */

int mgr_idset_has(const struct mgr_idset *s, int64_t id, int *count) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == id) {
      if (count != NULL)
        *count = s->count[i];
      return 1;
    }
  return 0;
}

int mgr_idset_put(struct mgr_idset *s, int64_t id, int count) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == id) {
      s->count[i] = count;
      return 0;
    }
  int64_t *v = realloc(s->v, (s->n + 1) * sizeof(*v));
  if (v == NULL)
    return BYOCA_E_NOMEM;
  s->v = v;
  int *c = realloc(s->count, (s->n + 1) * sizeof(*c));
  if (c == NULL)
    return BYOCA_E_NOMEM;
  s->count = c;
  s->v[s->n] = id;
  s->count[s->n++] = count;
  return 0;
}

void mgr_idset_del(struct mgr_idset *s, int64_t id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == id) {
      s->v[i] = s->v[s->n - 1];
      s->count[i] = s->count[s->n - 1];
      s->n--;
      return;
    }
}

void mgr_idset_free(struct mgr_idset *s) {
  free(s->v);
  free(s->count);
  memset(s, 0, sizeof(*s));
}
