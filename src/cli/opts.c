/* Options shared by the commands that talk to a CA, and how errors are
 * shown to the user. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_common_help[] =
    "CA and state:\n"
    "  --server URL           ACME directory URL of the CA\n"
    "  --state-dir DIR        where certificates and accounts live\n"
    "                         (default $BYOCA_STATE_DIR or /var/lib/byoca)\n"
    "  --ca-bundle FILE       PEM roots trusted for the CA's HTTPS\n"
    "  --resolver ADDR[@PORT] DNS server to resolve through\n"
    "  --allow-net CIDR       allow connections to a private range\n"
    "                         (repeatable; loopback, private, link-local\n"
    "                         addresses are refused by default)\n"
    "  --json                 machine-readable output on stdout\n"
    "  --config FILE          settings file (default $BYOCA_CONFIG or\n"
    "                         /etc/byoca/byoca.conf; see byoca.conf(5))\n"
    "Account:\n"
    "  --email ADDR           contact address for the account\n"
    "  --agree-tos            agree to the CA's terms of service\n"
    "  --eab-kid ID           External Account Binding key id\n"
    "  --eab-hmac-file FILE   file holding the EAB MAC key (base64url)\n"
    "Proving control (http-01 standalone on port 80 by default):\n"
    "  --http-port PORT       port of the built-in http-01 responder\n"
    "  --http-addr ADDR       address it listens on (default all)\n"
    "  --webroot DIR          write http-01 files under DIR instead\n"
    "  --tls-alpn [ADDR:]PORT answer tls-alpn-01 on this TCP port (ADDR\n"
    "                         default all)\n"
    "  --challenge-order LIST challenge types to use, best first (default\n"
    "                         dns-account-01,dns-01,tls-alpn-01,http-01)\n"
    "  --hook PATH            program that provisions challenges (dns-01)\n"
    "  --hook-types LIST      challenge types the hook answers\n"
    "                         (dns-01,dns-account-01)\n"
    "  --hook-timeout SEC     kill the hook after SEC seconds (300)\n"
    "  --dns-rfc2136 IP[:PORT]\n"
    "                         answer dns-01 by RFC 2136 updates sent to\n"
    "                         this primary DNS server (port 53 by default)\n"
    "  --tsig-key NAME        TSIG key name for the updates\n"
    "  --tsig-alg ALG         hmac-sha256 (default) or hmac-sha512\n"
    "  --tsig-secret-file FILE\n"
    "                         file holding the key's secret (base64)\n"
    "  --dns-zone ZONE        zone to update (default: found by SOA)\n"
    "  --dns-propagation-timeout SEC\n"
    "                         wait for every name server (120)\n"
    "  --dns-propagation-interval SEC\n"
    "                         time between checks (2)\n"
    "Limits on the CA:\n"
    "  --http-timeout SEC     give up on one HTTP request after SEC (30)\n"
    "  --order-timeout SEC    stop polling an order after SEC (3600)\n"
    "Output:\n"
    "  -v, --verbose          more detail;  -q, --quiet  errors only\n";

void cli_opts_init(struct cli_opts *o) {
  memset(o, 0, sizeof(*o));
  const char *env = getenv("BYOCA_STATE_DIR");
  o->state_dir_given = env != NULL && env[0] != '\0';
  o->state_dir = o->state_dir_given ? env : "/var/lib/byoca";
  o->hook_timeout_ms = 300000;
}

static int port_arg(const char *arg, int *out) {
  uint64_t v;
  if (byoca_parse_uint(arg, 65535, &v) != 0 || v == 0) {
    cli_error("invalid port '%s': expected 1-65535", arg);
    return -1;
  }
  *out = (int)v;
  return 1;
}

static int seconds_arg(const char *name, const char *arg, int64_t *out_ms) {
  uint64_t v;
  if (byoca_parse_uint(arg, 86400, &v) != 0 || v == 0) {
    cli_error("invalid %s '%s': expected seconds (1-86400)", name, arg);
    return -1;
  }
  *out_ms = (int64_t)v * 1000;
  return 1;
}

static int listen_arg(const char *name, const char *arg, const char **out) {
  char addr[64];
  int port;
  if (byoca_listen_spec_parse(arg, addr, sizeof(addr), &port) != 0) {
    cli_error("invalid %s '%s': expected [ADDR:]PORT (an IP address,"
              " IPv6 in brackets)",
              name, arg);
    return -1;
  }
  *out = arg;
  return 1;
}

/* The options of the RFC 2136 dns-01 solver. */
static int rfc2136_opt(struct cli_opts *o, int opt, const char *arg) {
  switch (opt) {
  case 1018:
    o->rfc2136_server = arg;
    return 1;
  case 1019:
    o->tsig_key = arg;
    return 1;
  case 1020:
    o->tsig_alg = arg;
    return 1;
  case 1021:
    o->tsig_secret_file = arg;
    return 1;
  case 1022:
    o->dns_zone = arg;
    return 1;
  case 1023:
    return seconds_arg("--dns-propagation-timeout", arg, &o->dns_wait_ms);
  default:
    return seconds_arg("--dns-propagation-interval", arg, &o->dns_interval_ms);
  }
}

int cli_opts_common(struct cli_opts *o, int opt, const char *arg) {
  uint64_t v;
  switch (opt) {
  case 1001:
    o->state_dir = arg;
    o->state_dir_given = 1;
    return 1;
  case 1017:
    o->config = arg;
    return 1;
  case 1002:
    o->server = arg;
    return 1;
  case 1003:
    o->ca_bundle = arg;
    return 1;
  case 1004:
    o->resolver = arg;
    return 1;
  case 1005:
    if (o->nallow == CLI_MAX_ALLOW) {
      cli_error("too many --allow-net options (at most %d)", CLI_MAX_ALLOW);
      return -1;
    }
    o->allow_net[o->nallow++] = arg;
    return 1;
  case 1006:
    o->json = 1;
    return 1;
  case 1007:
    o->email = arg;
    return 1;
  case 1008:
    o->agree_tos = 1;
    return 1;
  case 1009:
    o->eab_kid = arg;
    return 1;
  case 1010:
    o->eab_hmac_file = arg;
    return 1;
  case 1011:
    o->webroot = arg;
    return 1;
  case 1012:
    o->http_addr = arg;
    return 1;
  case 1013:
    return port_arg(arg, &o->http_port);
  case 1014:
    o->hook = arg;
    return 1;
  case 1015:
    o->hook_types = arg;
    return 1;
  case 1016:
    if (byoca_parse_uint(arg, 86400, &v) != 0 || v == 0) {
      cli_error("invalid --hook-timeout '%s': expected seconds", arg);
      return -1;
    }
    o->hook_timeout_ms = (int64_t)v * 1000;
    return 1;
  case 1025:
    return seconds_arg("--http-timeout", arg, &o->http_timeout_ms);
  case 1026:
    return seconds_arg("--order-timeout", arg, &o->order_timeout_ms);
  case 1018:
  case 1019:
  case 1020:
  case 1021:
  case 1022:
  case 1023:
  case 1024:
    return rfc2136_opt(o, opt, arg);
  case 1027:
    return listen_arg("--tls-alpn", arg, &o->tls_alpn);
  case 1028: {
    const char *t[BYOCA_CHALLENGE_TYPES_MAX];
    size_t n;
    struct byoca_err e = {0};
    if (byoca_challenge_order_parse(arg, t, &n, &e) != 0) {
      cli_error("invalid --challenge-order: %s", e.msg);
      byoca_err_clear(&e);
      return -1;
    }
    o->challenge_order = arg;
    return 1;
  }
  case 'v':
    cli_verbose = 1;
    byoca_log_set_level(BYOCA_LOG_DEBUG);
    return 1;
  case 'q':
    byoca_log_set_level(BYOCA_LOG_WARN);
    return 1;
  default:
    return 0;
  }
}

void cli_error(const char *fmt, ...) {
  char msg[1024], safe[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (cli_log_json) {
    byoca_log(BYOCA_LOG_ERROR, "%s", msg);
    return;
  }
  byoca_str_sanitize(msg, safe, sizeof(safe));
  fprintf(stderr, "byoca: %s\n", safe);
}

void cli_error_err(const struct byoca_err *err) {
  char line[1536];
  byoca_err_format(err, line, sizeof(line));
  cli_error("%s", line);
  if (cli_verbose)
    fprintf(stderr, "byoca: (%s, class %s, http %d)\n",
            byoca_errcode_str(err->code), byoca_errclass_str(err->cls),
            err->http_status);
}

int cli_usage(const char *cmd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  cli_error("%s", msg);
  if (cmd != NULL)
    fprintf(stderr, "Try 'byoca %s --help'.\n", cmd);
  else
    fprintf(stderr, "Try 'byoca --help'.\n");
  return EXIT_USAGE;
}
