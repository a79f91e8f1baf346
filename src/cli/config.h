/* byoca.conf (config.c): what an operator keeps in a file. */
#ifndef BYOCA_CLI_CONFIG_H
#define BYOCA_CLI_CONFIG_H

#include "cli.h"

#define CLI_CONFIG_DEFAULT "/etc/byoca/byoca.conf"
#define CLI_CONFIG_MAX_CA 64

/* One [ca "issuer"] section. */
struct cli_config_ca {
  char *issuer;
  char *directory;
  char *eab_kid;
  char *eab_hmac_file;
  char *profile; /* D-PROFILE: for certificates that name none */
  int profile_required;
};

/* The [rfc2136] section: the dns-01 solver by RFC 2136 update. */
struct cli_config_rfc2136 {
  char *server;
  char *tsig_key;
  char *tsig_alg;
  char *tsig_secret_file;
  char *zone;
  int64_t wait_ms;
  int64_t interval_ms;
};

struct cli_config {
  char *default_ca;
  char *resolver;
  char *trust_anchor;
  char *state_dir;
  int require_dnssec;
  char *allow_net[CLI_MAX_ALLOW];
  size_t nallow;
  struct cli_config_ca ca[CLI_CONFIG_MAX_CA];
  size_t nca;
  struct cli_config_rfc2136 rfc2136;
  char *tls_alpn;           /* [tls-alpn] listen = [ADDR:]PORT */
  int64_t http_timeout_ms;  /* [defaults] http_timeout (seconds) */
  int64_t order_timeout_ms; /* [defaults] order_timeout (seconds) */
  char *challenge_order;    /* [defaults] challenge_order, checked */
};

/* Reads path (NULL: $BYOCA_CONFIG or /etc/byoca/byoca.conf if present).
 * A bad line is an error naming the file and line. */
int cli_config_load(const char *path, struct cli_config *out,
                    struct byoca_err *err);
void cli_config_free(struct cli_config *c);
/* The section for issuer (case-insensitive), or NULL. */
const struct cli_config_ca *cli_config_ca(const struct cli_config *c,
                                          const char *issuer);
/* The section for issuer, else the one whose directory is directory (a
 * --server URL); NULL if none. Either may be NULL. */
const struct cli_config_ca *cli_config_ca_at(const struct cli_config *c,
                                             const char *issuer,
                                             const char *directory);

#endif
