/* The settings of byoca.conf merged into the command's options: the
 * command line wins, the file fills in what it left unset. */
#include "config.h"

/* [rfc2136] fills what the command line left unset. */
static void rfc2136_finish(struct cli_opts *o,
                           const struct cli_config_rfc2136 *r) {
  if (o->rfc2136_server == NULL)
    o->rfc2136_server = r->server;
  if (o->tsig_key == NULL)
    o->tsig_key = r->tsig_key;
  if (o->tsig_alg == NULL)
    o->tsig_alg = r->tsig_alg;
  if (o->tsig_secret_file == NULL)
    o->tsig_secret_file = r->tsig_secret_file;
  if (o->dns_zone == NULL)
    o->dns_zone = r->zone;
  if (o->dns_wait_ms == 0)
    o->dns_wait_ms = r->wait_ms;
  if (o->dns_interval_ms == 0)
    o->dns_interval_ms = r->interval_ms;
}

int cli_opts_finish(struct cli_opts *o, struct cli_config *cfg,
                    struct byoca_err *err) {
  int rc = cli_config_load(o->config, cfg, err);
  if (rc != 0)
    return rc;
  o->cfg = cfg;
  if (!o->state_dir_given && cfg->state_dir != NULL)
    o->state_dir = cfg->state_dir;
  if (o->resolver == NULL)
    o->resolver = cfg->resolver;
  if (o->trust_anchor == NULL)
    o->trust_anchor = cfg->trust_anchor;
  for (size_t i = 0; i < cfg->nallow && o->nallow < CLI_MAX_ALLOW; i++)
    o->allow_net[o->nallow++] = cfg->allow_net[i];
  if (o->http_timeout_ms == 0)
    o->http_timeout_ms = cfg->http_timeout_ms;
  if (o->order_timeout_ms == 0)
    o->order_timeout_ms = cfg->order_timeout_ms;
  rfc2136_finish(o, &cfg->rfc2136);
  o->tls_alpn_conf = cfg->tls_alpn;
  o->challenge_order_conf = cfg->challenge_order;
  return 0;
}

int cli_opts_ready(struct cli_opts *o, struct cli_config *cfg) {
  struct byoca_err e = {0};
  if (cli_opts_finish(o, cfg, &e) == 0)
    return 0;
  cli_error_err(&e);
  byoca_err_clear(&e);
  return EXIT_USAGE;
}
