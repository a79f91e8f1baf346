/* byoca.conf: settings an operator keeps in a file instead of repeating
 * them on every command line. Read from --config FILE, else $BYOCA_CONFIG,
 * else /etc/byoca/byoca.conf when it exists. Command-line options win.
 *
 *   [defaults]
 *   default_ca = URL         ; used when no CAA record restricts the names
 *   resolver = ADDR[@PORT]
 *   trust_anchor = FILE
 *   allow_net = CIDR         ; repeatable
 *   require_dnssec = yes|no
 *   state_dir = DIR
 *   http_timeout = SECONDS   ; --http-timeout: each HTTP request
 *   order_timeout = SECONDS  ; --order-timeout: polling one order
 *   challenge_order = LIST   ; like --challenge-order
 *
 *   [ca "letsencrypt.org"]   ; a CA by its CAA issuer-domain-name
 *   directory = URL          ; for CAs without /.well-known/acme (D-WELLKNOWN)
 *   eab_kid = ID
 *   eab_hmac_file = FILE
 *   profile = NAME           ; D-PROFILE: asked of this CA when a
 *   profile_required = yes|no ;  certificate names none of its own
 *
 *   [rfc2136]                ; dns-01 by RFC 2136 update (byoca.conf(5))
 *   server = IP[:PORT]
 *   tsig_key = NAME
 *   tsig_alg = hmac-sha256|hmac-sha512
 *   tsig_secret_file = FILE
 *   zone = ZONE
 *   propagation_timeout = SECONDS
 *   propagation_interval = SECONDS
 *
 *   [tls-alpn]               ; tls-alpn-01 responder (byoca.conf(5))
 *   listen = [ADDR:]PORT
 */
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static struct cli_config_ca *ca_entry(struct cli_config *c,
                                      const char *issuer) {
  for (size_t i = 0; i < c->nca; i++)
    if (byoca_strcaseeq(c->ca[i].issuer, issuer))
      return &c->ca[i];
  if (c->nca == CLI_CONFIG_MAX_CA)
    return NULL;
  struct cli_config_ca *e = &c->ca[c->nca];
  if ((e->issuer = strdup(issuer)) == NULL)
    return NULL;
  c->nca++;
  return e;
}

static int set_str(char **dst, const char *v) {
  free(*dst);
  return (*dst = strdup(v)) != NULL;
}

static int yes(const char *v, int *out) {
  if (byoca_strcaseeq(v, "yes") || byoca_strcaseeq(v, "true") ||
      strcmp(v, "1") == 0)
    return *out = 1;
  if (byoca_strcaseeq(v, "no") || byoca_strcaseeq(v, "false") ||
      strcmp(v, "0") == 0)
    return (*out = 0) == 0;
  return 0;
}

static int seconds(const char *v, int64_t *out_ms);

static int defaults_key(struct cli_config *c, const char *k, const char *v) {
  if (strcmp(k, "http_timeout") == 0)
    return seconds(v, &c->http_timeout_ms);
  if (strcmp(k, "order_timeout") == 0)
    return seconds(v, &c->order_timeout_ms);
  if (strcmp(k, "default_ca") == 0)
    return set_str(&c->default_ca, v);
  if (strcmp(k, "resolver") == 0)
    return set_str(&c->resolver, v);
  if (strcmp(k, "trust_anchor") == 0)
    return set_str(&c->trust_anchor, v);
  if (strcmp(k, "state_dir") == 0)
    return set_str(&c->state_dir, v);
  if (strcmp(k, "require_dnssec") == 0)
    return yes(v, &c->require_dnssec);
  if (strcmp(k, "challenge_order") == 0) {
    const char *t[BYOCA_CHALLENGE_TYPES_MAX];
    size_t n;
    return byoca_challenge_order_parse(v, t, &n, NULL) == 0 &&
           set_str(&c->challenge_order, v);
  }
  if (strcmp(k, "allow_net") == 0 && c->nallow < CLI_MAX_ALLOW)
    return (c->allow_net[c->nallow++] = strdup(v)) != NULL;
  return 0;
}

static int ca_key(struct cli_config_ca *e, const char *k, const char *v) {
  if (strcmp(k, "directory") == 0)
    return set_str(&e->directory, v);
  if (strcmp(k, "eab_kid") == 0)
    return set_str(&e->eab_kid, v);
  if (strcmp(k, "eab_hmac_file") == 0)
    return set_str(&e->eab_hmac_file, v);
  if (strcmp(k, "profile") == 0)
    return byoca_profile_name_valid(v) && set_str(&e->profile, v);
  if (strcmp(k, "profile_required") == 0)
    return yes(v, &e->profile_required);
  return 0;
}

static int seconds(const char *v, int64_t *out_ms) {
  uint64_t n;
  if (byoca_parse_uint(v, 86400, &n) != 0 || n == 0)
    return 0;
  *out_ms = (int64_t)n * 1000;
  return 1;
}

static int rfc2136_key(struct cli_config_rfc2136 *r, const char *k,
                       const char *v) {
  if (strcmp(k, "server") == 0)
    return set_str(&r->server, v);
  if (strcmp(k, "tsig_key") == 0)
    return set_str(&r->tsig_key, v);
  if (strcmp(k, "tsig_alg") == 0)
    return set_str(&r->tsig_alg, v);
  if (strcmp(k, "tsig_secret_file") == 0)
    return set_str(&r->tsig_secret_file, v);
  if (strcmp(k, "zone") == 0)
    return set_str(&r->zone, v);
  if (strcmp(k, "propagation_timeout") == 0)
    return seconds(v, &r->wait_ms);
  if (strcmp(k, "propagation_interval") == 0)
    return seconds(v, &r->interval_ms);
  return 0;
}

/* inih calls this per key; 0 stops with the line number in ini_parse's
 * return. */
static int on_key(void *user, const char *section, const char *k,
                  const char *v) {
  struct cli_config *c = user;
  if (strcmp(section, "defaults") == 0)
    return defaults_key(c, k, v);
  if (strcmp(section, "rfc2136") == 0)
    return rfc2136_key(&c->rfc2136, k, v);
  if (strcmp(section, "tls-alpn") == 0) {
    char addr[64];
    int port;
    return strcmp(k, "listen") == 0 &&
           byoca_listen_spec_parse(v, addr, sizeof(addr), &port) == 0 &&
           set_str(&c->tls_alpn, v);
  }
  size_t n = strlen(section);
  if (strncmp(section, "ca \"", 4) == 0 && n > 5 && section[n - 1] == '"') {
    char issuer[256];
    snprintf(issuer, sizeof(issuer), "%.*s", (int)(n - 5), section + 4);
    struct cli_config_ca *e = ca_entry(c, issuer);
    return e != NULL && ca_key(e, k, v);
  }
  return 0;
}

int cli_config_load(const char *path, struct cli_config *out,
                    struct byoca_err *err) {
  memset(out, 0, sizeof(*out));
  if (path == NULL) {
    const char *env = getenv("BYOCA_CONFIG");
    path = env != NULL && env[0] != '\0' ? env : CLI_CONFIG_DEFAULT;
    if (access(path, F_OK) != 0)
      return 0; /* no configuration is fine */
  }
  int line = ini_parse(path, on_key, out);
  if (line == 0)
    return 0;
  cli_config_free(out);
  if (line < 0)
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "cannot read the configuration %s", path);
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "%s:%d: unknown section or key, or a bad value", path,
                       line);
}

void cli_config_free(struct cli_config *c) {
  for (size_t i = 0; i < c->nca; i++) {
    free(c->ca[i].issuer);
    free(c->ca[i].directory);
    free(c->ca[i].eab_kid);
    free(c->ca[i].eab_hmac_file);
    free(c->ca[i].profile);
  }
  for (size_t i = 0; i < c->nallow; i++)
    free(c->allow_net[i]);
  free(c->default_ca);
  free(c->resolver);
  free(c->trust_anchor);
  free(c->state_dir);
  free(c->rfc2136.server);
  free(c->rfc2136.tsig_key);
  free(c->rfc2136.tsig_alg);
  free(c->rfc2136.tsig_secret_file);
  free(c->rfc2136.zone);
  free(c->tls_alpn);
  free(c->challenge_order);
  memset(c, 0, sizeof(*c));
}

const struct cli_config_ca *cli_config_ca(const struct cli_config *c,
                                          const char *issuer) {
  for (size_t i = 0; c != NULL && issuer != NULL && i < c->nca; i++)
    if (byoca_strcaseeq(c->ca[i].issuer, issuer))
      return &c->ca[i];
  return NULL;
}

const struct cli_config_ca *cli_config_ca_at(const struct cli_config *c,
                                             const char *issuer,
                                             const char *directory) {
  const struct cli_config_ca *cc = cli_config_ca(c, issuer);
  for (size_t i = 0; cc == NULL && c != NULL && directory != NULL && i < c->nca;
       i++)
    if (c->ca[i].directory != NULL &&
        strcmp(c->ca[i].directory, directory) == 0)
      cc = &c->ca[i];
  return cc;
}
