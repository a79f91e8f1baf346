/* The byoca command: shared options, the runtime (loop, HTTP, solvers),
 * the state directory layout, and the job runner every command uses. */
#ifndef BYOCA_CLI_H
#define BYOCA_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "byoca/acme.h"
#include "byoca/crypto.h"
#include "byoca/net.h"
#include "byoca/solve.h"
#include "byoca/util.h"

/* Exit codes (byoca(1)). */
enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_PARTIAL = 3,
};

#define CLI_MAX_NAMES 100
#define CLI_MAX_ALLOW 32
#define CLI_MAX_SOLVERS 5

/* Options shared by the commands that talk to a CA. */
struct cli_opts {
  const char *config;  /* --config FILE */
  int state_dir_given; /* --state-dir or $BYOCA_STATE_DIR */
  const char *state_dir;
  const char *server;
  const char *issuer; /* set when the server was found through CAA */
  const char *ca_bundle;
  const char *resolver;
  const char *trust_anchor; /* DNSSEC anchor for --resolver */
  const char *allow_net[CLI_MAX_ALLOW];
  size_t nallow;
  int json;
  /* account */
  const char *email;
  int agree_tos;
  const char *eab_kid;
  const char *eab_hmac_file;
  /* solvers */
  const char *webroot;
  const char *http_addr;
  int http_port;
  const char *hook;
  const char *hook_types;
  int64_t hook_timeout_ms;
  /* dns-01 by RFC 2136 update (--dns-rfc2136 or [rfc2136] in byoca.conf) */
  const char *rfc2136_server;
  const char *tsig_key;
  const char *tsig_alg;
  const char *tsig_secret_file;
  const char *dns_zone;
  int64_t dns_wait_ms;     /* 0: the solver's default */
  int64_t dns_interval_ms; /* 0: the solver's default */
  /* limits on the CA (0: the library's defaults) */
  int64_t http_timeout_ms;  /* --http-timeout: each HTTP request */
  int64_t order_timeout_ms; /* --order-timeout: polling an order in all */
  /* tls-alpn-01 responder "[ADDR:]PORT": --tls-alpn (kept with the
   * lineage), else [tls-alpn] listen in byoca.conf */
  const char *tls_alpn;
  const char *tls_alpn_conf;
  /* challenge preference: --challenge-order (kept with the lineage), else
   * challenge_order in byoca.conf's [defaults], else the library's */
  const char *challenge_order;
  const char *challenge_order_conf;
  /* --ca auto: the CA's CAA validationmethods (RFC 8657) for these names */
  int caa_restricts;
  const char *caa_allowed[BYOCA_CHALLENGE_TYPES_MAX];
  size_t ncaa_allowed;
  const struct cli_config *cfg; /* byoca.conf, set by cli_opts_finish */
};

struct cli_config;
/* After parsing: reads the configuration (--config, $BYOCA_CONFIG or
 * /etc/byoca/byoca.conf) into cfg and fills what the command line left
 * unset (state dir, resolver, trust anchor, allow_net). cfg must outlive
 * o; free it with cli_config_free. */
int cli_opts_finish(struct cli_opts *o, struct cli_config *cfg,
                    struct byoca_err *err);

/* cli_opts_finish, printing the error: 0, or EXIT_USAGE to return. */
int cli_opts_ready(struct cli_opts *o, struct cli_config *cfg);

/* Global switches (main.c). */
extern int cli_verbose;
extern int cli_log_json; /* --log-json: errors as JSON lines too */

/* ---- options (opts.c) ---- */

/* Fills defaults: state dir from $BYOCA_STATE_DIR or /var/lib/byoca. */
void cli_opts_init(struct cli_opts *o);
/* Handles an option shared by CA commands; 1 if it was one, 0 if not,
 * -1 on a bad value (message printed). */
int cli_opts_common(struct cli_opts *o, int opt, const char *arg);
/* The getopt_long entries for the shared options, and their help text. */
#define CLI_COMMON_LONGOPTS                                                    \
  {"state-dir", required_argument, NULL, 1001},                                \
      {"server", required_argument, NULL, 1002},                               \
      {"ca-bundle", required_argument, NULL, 1003},                            \
      {"resolver", required_argument, NULL, 1004},                             \
      {"allow-net", required_argument, NULL, 1005},                            \
      {"json", no_argument, NULL, 1006},                                       \
      {"email", required_argument, NULL, 1007},                                \
      {"agree-tos", no_argument, NULL, 1008},                                  \
      {"eab-kid", required_argument, NULL, 1009},                              \
      {"eab-hmac-file", required_argument, NULL, 1010},                        \
      {"webroot", required_argument, NULL, 1011},                              \
      {"http-addr", required_argument, NULL, 1012},                            \
      {"http-port", required_argument, NULL, 1013},                            \
      {"hook", required_argument, NULL, 1014},                                 \
      {"hook-types", required_argument, NULL, 1015},                           \
      {"hook-timeout", required_argument, NULL, 1016},                         \
      {"config", required_argument, NULL, 1017},                               \
      {"dns-rfc2136", required_argument, NULL, 1018},                          \
      {"tsig-key", required_argument, NULL, 1019},                             \
      {"tsig-alg", required_argument, NULL, 1020},                             \
      {"tsig-secret-file", required_argument, NULL, 1021},                     \
      {"dns-zone", required_argument, NULL, 1022},                             \
      {"dns-propagation-timeout", required_argument, NULL, 1023},              \
      {"dns-propagation-interval", required_argument, NULL, 1024},             \
      {"http-timeout", required_argument, NULL, 1025},                         \
      {"order-timeout", required_argument, NULL, 1026},                        \
      {"tls-alpn", required_argument, NULL, 1027},                             \
      {"challenge-order", required_argument, NULL, 1028},                      \
      {"verbose", no_argument, NULL, 'v'}, {"quiet", no_argument, NULL, 'q'},  \
  {                                                                            \
    "help", no_argument, NULL, 'h'                                             \
  }
extern const char cli_common_help[];
/* Prints "byoca: <msg>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints an error struct as one line (plus detail with --verbose). */
void cli_error_err(const struct byoca_err *err);
/* Usage error: message + hint, returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- runtime (runtime.c) ---- */

struct cli_rt {
  struct byoca_loop *loop;
  struct byoca_netpolicy *policy;
  struct byoca_resolver *resolver;
  struct byoca_http *http;
  struct byoca_solver *solvers[CLI_MAX_SOLVERS];
  size_t nsolvers;
};

/* Loop, address policy (with --allow-net), resolver (with --resolver),
 * HTTP client (with --ca-bundle) trusting --server. */
int cli_rt_init(struct cli_rt *rt, const struct cli_opts *o,
                struct byoca_err *err);
/* Solvers from --tls-alpn (first, so tls-alpn-01 is used wherever the CA
 * offers it), --webroot, --http-port/--http-addr, --hook, --dns-rfc2136
 * (standalone http-01 on port 80 when none is given). */
int cli_rt_solvers(struct cli_rt *rt, const struct cli_opts *o,
                   struct byoca_err *err);
void cli_rt_free(struct cli_rt *rt);

/* Runs one asynchronous operation to completion: calls start(arg, cb,
 * cbarg) and spins the loop until cb fires. Returns 0 or the error. */
typedef int (*cli_start_fn)(void *arg, byoca_acme_cb cb, void *cbarg);
int cli_wait(struct cli_rt *rt, cli_start_fn start, void *arg,
             struct byoca_err *err);

/* ---- state directory (state.c) ---- */

/* <state>/accounts/<server id>/ with key.pem (0600) and account.json. */
struct cli_account {
  char *dir;
  struct byoca_key *key;
  char *url;    /* NULL until registered */
  char *issuer; /* issuer-domain-name when found through CAA */
  int deactivated;
};

/* Loads the account for server, or prepares a new one (generating and
 * saving its key) when create is set. */
int cli_account_load(const char *state, const char *server, int create,
                     struct cli_account *out, struct byoca_err *err);
int cli_account_save(const struct cli_account *acct, struct byoca_err *err);
void cli_account_free(struct cli_account *acct);

/* A lineage: what was asked and what was issued (renewal/<name>.json). */
struct cli_lineage {
  char *name;
  char **names;
  size_t nnames;
  char *server;
  char *key_type;
  char *preferred_chain;
  char *profile;        /* preferred (or required) profile, or NULL */
  int profile_required; /* D-PROFILE: a CA without it is skipped */
  char *issued_profile; /* the profile the CA echoed for the certificate
                           held, or NULL */
  char *webroot;
  char *http_addr;
  int http_port;
  char *hook;
  char *hook_types;
  char *tls_alpn;        /* "[ADDR:]PORT" of the tls-alpn-01 responder */
  char *challenge_order; /* --challenge-order given at issue, or NULL */
  char *deploy_hook;
  char *ca_bundle;
  int ca_auto;  /* the CA is chosen by CAA discovery at each issuance */
  char *issuer; /* the CA's issuer-domain-name, when discovered */
  /* issued */
  char *serial;
  int64_t not_before, not_after;
  int revoked;
  /* renewal schedule (renewal.c) */
  char *cert_id;              /* ARI CertID of the certificate held */
  char *cert_server;          /* directory of the CA that issued it */
  struct byoca_renewal sched; /* at 0: none yet (the lifetime rule) */
  char *ari_explanation;      /* the CA's explanationURL, unsanitised */
  /* the last issuance attempt of an issued lineage (shown by list) */
  int64_t last_attempt;
  char *last_outcome; /* "issued by ..." or the error line */
};

int cli_lineage_load(const char *state, const char *name,
                     struct cli_lineage *out, struct byoca_err *err);
int cli_lineage_save(const char *state, const struct cli_lineage *l,
                     struct byoca_err *err);
void cli_lineage_free(struct cli_lineage *l);
/* Names of every lineage, sorted; *out free with byoca_strv_free. */
int cli_lineage_list(const char *state, char ***out, size_t *n,
                     struct byoca_err *err);
/* A JSON object kept in <state>/<file> (CA health, directory cache): an
 * empty object when absent or damaged; saved atomically, mode 0600. */
struct json_t;
struct json_t *cli_state_json_load(const char *state, const char *file);
int cli_state_json_save(const char *state, const char *file, struct json_t *j,
                        struct byoca_err *err);

/* Records an attempt's outcome in l (now); saved with the lineage. */
void cli_lineage_attempt(struct cli_lineage *l, const char *outcome);
/* Records a failed attempt in the stored lineage name, as it is on disk
 * (a failed run may have changed the copy in memory, e.g. the CA it
 * tried); nothing for a lineage that holds no certificate. */
void cli_lineage_failed(const char *state, const char *name,
                        const char *outcome);
/* Checks a certificate name is a safe file name. */
int cli_name_check(const char *name, struct byoca_err *err);
/* The instant renewal is due (D-ARI without ARI: 2/3 of the lifetime,
 * 1/2 under 10 days). */
int64_t cli_due_time(int64_t not_before, int64_t not_after);

/* ---- renewal schedule (renewal.c): ARI (RFC 9773) or the lifetime rule
 * of D-ARI ---- */

struct cli_config;
/* The instant l is due for renewal: its schedule, else the lifetime
 * rule. */
int64_t cli_renewal_due(const struct cli_lineage *l);
/* "ari" or "lifetime": where cli_renewal_due comes from. */
const char *cli_renewal_source(const struct cli_lineage *l);
/* Asks the issuing CA's renewalInfo about the lineages whose next check
 * has come (grouped by CA, temporary errors retried briefly), folds the
 * answers into their schedules and saves them. A CA without ARI, or one
 * that fails, leaves the schedule held (warnings only). cfg may be NULL. */
void cli_renewal_check(const struct cli_opts *o, const struct cli_config *cfg,
                       struct cli_lineage *lins, size_t n);
/* After an issuance by the CA at server: the new certificate's CertID,
 * that CA, and a fresh schedule (the lifetime rule, ARI asked at once). */
void cli_renewal_issued(struct cli_lineage *l,
                        const struct byoca_order_result *res,
                        const char *server);
/* Folds one ARI answer (ari) or failure (err) into l's schedule, saying
 * so on stderr (a warning when the CA moved the renewal earlier). */
void cli_renewal_apply(struct cli_lineage *l, const struct byoca_ari *ari,
                       const struct byoca_err *err);
/* The issuing CA has no renewalInfo: the lifetime rule, its directory
 * looked at again after the long-term delay. */
void cli_renewal_no_ari(struct cli_lineage *l);
/* The CertID to send as "replaces" when l is ordered at server: only to
 * the CA that issued the certificate held (D-ARI); NULL otherwise. */
const char *cli_renewal_replaces(const struct cli_lineage *l,
                                 const char *server);
/* Takes over the predecessor facts of old (same names) into l, so a
 * re-issue can name what it replaces. */
void cli_renewal_inherit(struct cli_lineage *l, const struct cli_lineage *old);

/* Writes archive/<name>/<version>/ and switches live/<name> to it
 * atomically (a symlink renamed over the old one). */
int cli_live_write(const char *state, const char *name,
                   const struct byoca_order_result *res, struct byoca_err *err);
/* Paths inside live/<name>; caller frees. */
char *cli_live_path(const char *state, const char *name, const char *file);

/* ---- issuance jobs (jobs.c) ---- */

struct cli_job {
  struct cli_lineage *lin; /* borrowed */
  int status;              /* 0 pending, 1 ok, -1 failed, 2 skipped */
  enum byoca_errclass cls; /* of the failure: decides fallback */
  int code;                /* BYOCA_E_* of the failure */
  char detail[512];
  struct byoca_order_result *res;
  void *attempts; /* json_t array of CAs tried with --ca auto, or NULL */
};

/* Removes what a byoca killed while writing left in the state folder
 * (temp files and temp version folders of processes that are gone): all
 * of it when jobs is NULL, else all but the archive folders of lineages
 * other than the n jobs' (a state with thousands of lineages costs one
 * issuance tens of ms to walk; `byoca renew` walks it all). */
void cli_state_sweep(const char *state, const struct cli_job *jobs, size_t n);
/* Issues every job against one server with at most parallel orders in
 * flight, writing each lineage as it completes and running deploy hooks.
 * Returns EXIT_OK, EXIT_FAILED or EXIT_PARTIAL. */
int cli_run_jobs(struct cli_rt *rt, const struct cli_opts *o,
                 struct cli_job *jobs, size_t njobs, int parallel);

/* Reads and decodes the EAB MAC key of --eab-kid/--eab-hmac-file (none
 * given: nothing, 0). The key is a secret; free it with
 * byoca_secret_free. */
int cli_eab_load(const struct cli_opts *o, struct byoca_secret *out,
                 struct byoca_err *err);

/* newAccount with --email, --agree-tos and EAB (eab may be empty). */
int cli_register(struct byoca_acme *acme, const struct cli_opts *o,
                 const struct byoca_secret *eab, byoca_acme_cb cb, void *arg);

/* ---- output (output.c) ---- */

/* Prints the outcome of jobs: a table (several jobs) or nothing beyond the
 * progress lines (one job); with json, one JSON document on stdout. */
void cli_print_jobs(const struct cli_opts *o, const struct cli_job *jobs,
                    size_t njobs);

/* ---- commands ---- */

int cmd_issue(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_discover(int argc, char **argv);

#endif
