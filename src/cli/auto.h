/* --ca auto: discovery through CAA and trying the owner's CAs in order. */
#ifndef BYOCA_CLI_AUTO_H
#define BYOCA_CLI_AUTO_H

#include "byoca/caa.h"
#include "cli.h"

#define CLI_MAX_EAB 16

/* EAB credentials for one CA: --eab ISSUER=KID:HMAC_FILE. */
struct cli_eab {
  const char *issuer;
  const char *kid;
  const char *hmac_file;
};

struct cli_config;

struct cli_auto {
  const struct cli_config *cfg; /* byoca.conf: [ca] directory and EAB */
  struct cli_eab eab[CLI_MAX_EAB];
  size_t neab;
  const char *exclude[16];
  size_t nexclude;
  int require_dnssec;
  const char *default_server; /* used when no CAA record restricts */
};

/* The discovery for one certificate. */
struct cli_auto_plan {
  struct byoca_caa_rrset **rrsets;
  size_t n;
  struct byoca_caa_discovery disc;
  char **keep; /* strings the policy borrowed */
};

/* Looks up the CAA records of lin's names and orders the candidates. */
int cli_auto_discover(struct cli_rt *rt, const struct cli_opts *o,
                      const struct cli_auto *ao, const struct cli_lineage *lin,
                      struct cli_auto_plan *plan, struct byoca_err *err);
void cli_auto_plan_free(struct cli_auto_plan *p);

/* Issues job with the CA its names' CAA records choose, falling back in
 * the owner's order. Returns EXIT_OK or EXIT_FAILED; job holds the
 * outcome. */
int cli_auto_issue(struct cli_rt *rt, const struct cli_opts *o,
                   const struct cli_auto *ao, struct cli_job *job);

/* D-BACKOFF: the instant issuer's backoff ends, or 0 if not backing off;
 * and recording the outcome of an attempt at issuer. */
int64_t cli_backoff_until(const char *state, const char *issuer);
void cli_backoff_record(const char *state, const char *issuer, int ok);

/* D-WELLKNOWN cache (dircache.c): the cached directory of issuer (caller
 * frees) or NULL; store one for max_age seconds (clamped); forget one. */
char *cli_dircache_get(const char *state, const char *issuer);
void cli_dircache_put(const char *state, const char *issuer, const char *url,
                      int64_t max_age);
void cli_dircache_forget(const char *state, const char *issuer);

/* The directory URL of a public CA that does not serve the well-known
 * URL yet, or NULL. */
const char *cli_known_directory(const char *issuer);

#endif
