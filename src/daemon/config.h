/* byocad.conf (config.c): the daemon's settings, read with inih.
 * The contract is byocad.conf(5); relative paths are made relative to the
 * file's folder, defaults derive from state_dir. */
#ifndef BYOCAD_CONFIG_H
#define BYOCAD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"
#include "byoca/util.h"

#define BD_CONFIG_DEFAULT "/etc/byoca/byocad.conf"
#define BD_MAX_LIST 32  /* entries of a list key (api_listen, allow_net...) */
#define BD_MAX_CA 64    /* [ca "ISSUER"] sections */
#define BD_MAX_ZONES 64 /* [rfc2136 "ZONE"] sections (and one [rfc2136]) */

/* A comma-separated or repeated key. */
struct bd_list {
  char *v[BD_MAX_LIST];
  size_t n;
};

/* One [ca "ISSUER"] section. */
struct bd_config_ca {
  char *issuer;
  char *directory;
  char *eab_kid;
  char *eab_hmac_file;
  char *profile; /* D-PROFILE: for lineages that name none */
  int profile_required;
};

/* One [rfc2136 "ZONE"] section, or [rfc2136] (zone NULL: any other
 * name, its zone found by SOA). server holds the port once loaded. */
struct bd_config_rfc2136 {
  char *zone;
  char *server;
  int64_t port; /* 0: the one in server, else 53 */
  char *tsig_key;
  char *tsig_alg;
  char *tsig_secret_file;
  int64_t propagation_timeout; /* seconds; 0 = default */
  int64_t propagation_interval;
};

struct bd_config {
  char *path; /* the file read (absolute), or NULL when none was */
  char *state_dir;
  char *store;
  char *master_key_file;
  struct bd_list api_listen;
  struct bd_list http_listen;
  char *tls_alpn_listen; /* [tls-alpn] listen "[ADDR:]PORT"; NULL = none */
  char *node_id;
  int log_json;
  enum byoca_loglevel log_level;
  char *resolver;
  char *trust_anchor;
  int require_dnssec;
  struct bd_list allow_net;
  char *ca_bundle;
  struct bd_list default_ca;
  char *contact_email;
  int64_t max_parallel;
  int64_t max_parallel_per_ca;
  int64_t retry_base;
  int64_t tick_ms;
  int64_t lease; /* seconds a claimed lineage stays this node's */
  char *dns_hook;
  char *challenge_order; /* challenge types, best first; NULL = default */
  int64_t hook_timeout;
  char *deploy_dir;
  char *deploy_hook;
  char *webhook_url;
  int64_t notify_after_failures;
  int64_t max_body;
  int64_t drain_timeout;
  int64_t http_timeout;    /* seconds, each HTTP request (start only) */
  int64_t order_timeout;   /* seconds an order may keep polling */
  int64_t metrics_refresh; /* seconds between counts for /metrics; 0 at
                              every scrape */
  struct bd_config_ca ca[BD_MAX_CA];
  size_t nca;
  struct bd_config_rfc2136 zones[BD_MAX_ZONES];
  size_t nzones;
};

/* Reads path (NULL: $BYOCAD_CONFIG, else BD_CONFIG_DEFAULT when it
 * exists; none at all gives the defaults). An unknown section or key, or a
 * bad value, is BYOCA_E_INVAL with "FILE:LINE: ..." in err. *out is
 * written only on success; free it with bd_config_free. */
int bd_config_load(const char *path, struct bd_config *out,
                   struct byoca_err *err);
/* Frees what the config holds and zeroes it. */
void bd_config_free(struct bd_config *c);
/* For the settings read only at start (listeners, store, resolver...):
 * names those that differ between next and running, comma-separated, into
 * out ("" if none), and swaps their values so next keeps what runs. */
void bd_config_keep_running(struct bd_config *next, struct bd_config *running,
                            char *out, size_t outlen);

#endif
