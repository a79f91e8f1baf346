/* What the issuing commands print when they are done: a summary table for
 * batches, or one JSON document with --json. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *status_word(int status) {
  switch (status) {
  case 1:
    return "issued";
  case 2:
    return "skipped";
  case -1:
    return "failed";
  default:
    return "pending";
  }
}

static json_t *job_json(const struct cli_opts *o, const struct cli_job *j) {
  char nb[32], na[32];
  json_t *names = json_array();
  for (size_t i = 0; i < j->lin->nnames; i++)
    json_array_append_new(names, json_string(j->lin->names[i]));
  json_t *r =
      json_pack("{s:s,s:o,s:s,s:s}", "name", j->lin->name, "names", names,
                "status", status_word(j->status), "detail", j->detail);
  if (j->status == 1 && j->res != NULL) {
    byoca_time_format_rfc3339(j->res->not_before, nb, sizeof(nb));
    byoca_time_format_rfc3339(j->res->not_after, na, sizeof(na));
    char *p[4] = {cli_live_path(o->state_dir, j->lin->name, "cert.pem"),
                  cli_live_path(o->state_dir, j->lin->name, "chain.pem"),
                  cli_live_path(o->state_dir, j->lin->name, "fullchain.pem"),
                  cli_live_path(o->state_dir, j->lin->name, "privkey.pem")};
    json_object_set_new(r, "serial", json_string(j->res->serial));
    json_object_set_new(r, "not_before", json_string(nb));
    json_object_set_new(r, "not_after", json_string(na));
    json_object_set_new(r, "server", json_string(j->lin->server));
    json_object_set_new(r, "cert_path", json_string(p[0] ? p[0] : ""));
    json_object_set_new(r, "chain_path", json_string(p[1] ? p[1] : ""));
    json_object_set_new(r, "fullchain_path", json_string(p[2] ? p[2] : ""));
    json_object_set_new(r, "key_path", json_string(p[3] ? p[3] : ""));
    if (j->res->profile != NULL)
      json_object_set_new(r, "profile", json_string(j->res->profile));
    for (int i = 0; i < 4; i++)
      free(p[i]);
  }
  if (j->attempts != NULL)
    json_object_set(r, "attempts", (json_t *)j->attempts);
  if (j->lin->issuer != NULL)
    json_object_set_new(r, "issuer", json_string(j->lin->issuer));
  return r;
}

static void print_json(const struct cli_opts *o, const struct cli_job *jobs,
                       size_t njobs) {
  json_t *doc;
  if (njobs == 1) {
    doc = job_json(o, &jobs[0]);
  } else {
    json_t *arr = json_array();
    size_t ok = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < njobs; i++) {
      json_array_append_new(arr, job_json(o, &jobs[i]));
      ok += jobs[i].status == 1;
      failed += jobs[i].status == -1;
      skipped += jobs[i].status == 2;
    }
    doc =
        json_pack("{s:o,s:I,s:I,s:I}", "results", arr, "issued", (json_int_t)ok,
                  "failed", (json_int_t)failed, "skipped", (json_int_t)skipped);
  }
  char *s = json_dumps(doc, JSON_INDENT(2));
  if (s != NULL)
    puts(s);
  free(s);
  json_decref(doc);
}

void cli_print_jobs(const struct cli_opts *o, const struct cli_job *jobs,
                    size_t njobs) {
  if (o->json) {
    print_json(o, jobs, njobs);
    return;
  }
  if (njobs < 2)
    return;
  size_t ok = 0, failed = 0;
  printf("%-40s %-8s %s\n", "NAME", "STATUS", "DETAIL");
  for (size_t i = 0; i < njobs; i++) {
    const struct cli_job *j = &jobs[i];
    char detail[600], safe[600];
    if (j->status == 1 && j->res != NULL) {
      char na[32];
      byoca_time_format_rfc3339(j->res->not_after, na, sizeof(na));
      snprintf(detail, sizeof(detail), "serial %.40s, notAfter %s",
               j->res->serial, na);
    } else {
      snprintf(detail, sizeof(detail), "%s", j->detail);
    }
    byoca_str_sanitize(detail, safe, sizeof(safe));
    printf("%-40s %-8s %s\n", j->lin->name, status_word(j->status), safe);
    ok += j->status == 1;
    failed += j->status == -1;
  }
  printf("%zu issued, %zu failed, %zu not needed\n", ok, failed,
         njobs - ok - failed);
}
