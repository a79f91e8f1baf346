/* byoca discover internals: running the lookups and directory fetches,
 * and printing the result (text for owners, JSON for programs). */
#ifndef BYOCA_CLI_DISCOVER_OUT_H
#define BYOCA_CLI_DISCOVER_OUT_H

#include "byoca/caa.h"
#include "cli.h"

struct dsc_run {
  const struct cli_opts *o;
  const char *const *names;
  size_t n;
  int require_secure;
  struct cli_rt rt;
  int have_rt;
  struct byoca_caa_rrset **rrsets; /* one per name */
  size_t pending;
  struct byoca_caa_discovery disc;
  char **directory;                /* per candidate: URL or NULL */
  char **dir_error;                /* per candidate: error or NULL */
  struct byoca_profile **profiles; /* per candidate: meta.profiles copy */
  size_t *nprofiles;
};

/* Fills rrsets from the zone file, or from DNS through --resolver. */
int dsc_lookup(struct dsc_run *r, const struct cli_opts *o, const char *zone,
               struct byoca_err *err);
/* Fetches each candidate's directory (a byoca.conf [ca] directory, else
 * the well-known URL), in parallel, keeping its meta.profiles. */
void dsc_directories(struct dsc_run *r);
void dsc_print_json(const struct dsc_run *r);
void dsc_print_text(const struct dsc_run *r);
void dsc_run_free(struct dsc_run *r);

#endif
