/* byoca list: every lineage with its names, CA, serial, expiry and
 * lifetime, the time its renewal is due and where that time comes from
 * (the CA's ARI window, or the lifetime rule) with the window and the
 * CA's explanation, and the last attempt and its outcome. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const char help[] =
    "usage: byoca list [--json] [--state-dir DIR]\n"
    "\n"
    "Shows the certificates byoca manages: names, CA, serial, notAfter,\n"
    "lifetime, when renewal is due and why (ari: the CA's renewal window,\n"
    "shown below the row; lifetime: 2/3 of the lifetime, 1/2 under 10\n"
    "days), the profile the CA issued it under, the state (valid, due,\n"
    "expired, revoked), and the last attempt with its outcome.\n";

static const char *state_of(const struct cli_lineage *l, int64_t now) {
  if (l->revoked)
    return "revoked";
  if (l->serial == NULL)
    return "none";
  if (now >= l->not_after)
    return "expired";
  if (now >= cli_renewal_due(l))
    return "due";
  return "valid";
}

/* The ARI window the schedule came from, or JSON null. */
static json_t *window_json(const struct cli_lineage *l) {
  char s[32], e[32];
  if (strcmp(cli_renewal_source(l), "ari") != 0 || l->sched.ari_end == 0)
    return json_null();
  byoca_time_format_rfc3339(l->sched.ari_start, s, sizeof(s));
  byoca_time_format_rfc3339(l->sched.ari_end, e, sizeof(e));
  return json_pack("{s:s,s:s}", "start", s, "end", e);
}

static json_t *json_str_or_null(const char *s) {
  return s != NULL ? json_string(s) : json_null();
}

/* The CA: its issuer-domain-name when discovered through CAA, else the
 * host of the directory that issued the certificate (or is configured). */
static void ca_label(const struct cli_lineage *l, char *out, size_t n) {
  char *scheme = NULL, *host = NULL;
  int port = 0;
  const char *dir = l->cert_server != NULL ? l->cert_server : l->server;
  if (l->issuer != NULL) {
    byoca_str_sanitize(l->issuer, out, n);
  } else if (dir != NULL && byoca_url_split(dir, &scheme, &host, &port) == 0) {
    if (port != 443)
      snprintf(out, n, "%s:%d", host, port);
    else
      byoca_strlcpy(out, host, n);
  } else {
    byoca_strlcpy(out, "-", n);
  }
  free(scheme);
  free(host);
}

/* "90d", "6d", "160h": the certificate's lifetime, or "-". */
static void lifetime_label(const struct cli_lineage *l, char *out, size_t n) {
  int64_t life = l->not_after - l->not_before;
  int64_t days = (life + 43200) / 86400;
  if (l->serial == NULL || life <= 0)
    byoca_strlcpy(out, "-", n);
  else if (life >= 10 * 86400 || llabs(life - days * 86400) <= 3600)
    snprintf(out, n, "%lldd", (long long)days); /* notAfter is inclusive */
  else
    snprintf(out, n, "%lldh", (long long)((life + 1800) / 3600));
}

static json_t *lineage_json(const struct cli_lineage *l, int64_t now) {
  char nb[32], na[32], due[32], next[32] = "", why[512] = "";
  json_t *names = json_array();
  for (size_t i = 0; i < l->nnames; i++)
    json_array_append_new(names, json_string(l->names[i]));
  byoca_time_format_rfc3339(l->not_before, nb, sizeof(nb));
  byoca_time_format_rfc3339(l->not_after, na, sizeof(na));
  byoca_time_format_rfc3339(cli_renewal_due(l), due, sizeof(due));
  if (l->sched.next_check != 0)
    byoca_time_format_rfc3339(l->sched.next_check, next, sizeof(next));
  if (l->ari_explanation != NULL)
    byoca_str_sanitize(l->ari_explanation, why, sizeof(why));
  json_t *j = json_pack(
      "{s:s,s:o,s:s,s:s?,s:s,s:s,s:s,s:s,s:o,s:s?,s:s?,s:I,s:s,s:s}", "name",
      l->name, "names", names, "server", l->server, "serial", l->serial,
      "not_before", nb, "not_after", na, "renew_at", due, "renew_source",
      cli_renewal_source(l), "ari_window", window_json(l), "explanation_url",
      why[0] ? why : NULL, "ari_next_check", next[0] ? next : NULL,
      "lifetime_seconds", (json_int_t)(l->not_after - l->not_before), "state",
      state_of(l, now), "key_type", l->key_type ? l->key_type : "ec256");
  if (j != NULL) {
    char ca[256], life[32], last[32] = "", outcome[512] = "";
    ca_label(l, ca, sizeof(ca));
    lifetime_label(l, life, sizeof(life));
    if (l->last_attempt != 0)
      byoca_time_format_rfc3339(l->last_attempt, last, sizeof(last));
    if (l->last_outcome != NULL)
      byoca_str_sanitize(l->last_outcome, outcome, sizeof(outcome));
    json_object_set_new(j, "ca", json_string(ca));
    json_object_set_new(j, "directory", json_str_or_null(l->cert_server));
    json_object_set_new(j, "lifetime", json_string(life));
    json_object_set_new(j, "last_attempt",
                        last[0] ? json_string(last) : json_null());
    json_object_set_new(j, "last_outcome",
                        outcome[0] ? json_string(outcome) : json_null());
    json_object_set_new(j, "profile", json_str_or_null(l->issued_profile));
    json_object_set_new(j, "profile_wanted", json_str_or_null(l->profile));
    json_object_set_new(j, "profile_required",
                        json_boolean(l->profile_required));
  }
  return j;
}

static const char *js(json_t *j, const char *key) {
  const char *v = json_string_value(json_object_get(j, key));
  return v != NULL ? v : "-";
}

/* One row, then indented lines: the ARI window, the CA's explanation,
 * the last attempt and its outcome. */
static void print_text(const struct cli_lineage *l, json_t *j) {
  char prof[64];
  json_t *w = json_object_get(j, "ari_window");
  byoca_str_sanitize(l->issued_profile != NULL ? l->issued_profile : "-", prof,
                     sizeof(prof));
  printf("%-30s %-8s %-20s %-8s %-20s %-8s %-24s %-12s", l->name,
         js(j, "state"), js(j, "not_after"), js(j, "lifetime"),
         js(j, "renew_at"), js(j, "renew_source"), js(j, "ca"), prof);
  for (size_t k = 0; k < l->nnames; k++)
    printf(" %s", l->names[k]);
  printf("\n");
  if (json_is_object(w))
    printf("%-30s renewal window (ari): %s to %s\n", "", js(w, "start"),
           js(w, "end"));
  const char *why = json_string_value(json_object_get(j, "explanation_url"));
  if (why != NULL)
    printf("%-30s the CA explains its renewal window: %s\n", "", why);
  if (l->last_attempt != 0)
    printf("%-30s last attempt %s: %s\n", "", js(j, "last_attempt"),
           js(j, "last_outcome"));
}

int cmd_list(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {NULL, 0, NULL, 0}};
  struct cli_opts o;
  struct byoca_err e = {0};
  char **names = NULL;
  size_t n = 0;
  int c, r, rc = EXIT_OK;
  cli_opts_init(&o);
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
    if ((r = cli_opts_common(&o, c, optarg)) != 0) {
      if (r < 0)
        return EXIT_USAGE;
      continue;
    }
    if (c == 'h') {
      fputs(help, stdout);
      return EXIT_OK;
    }
    return cli_usage("list", "unknown option '%s'", argv[optind - 1]);
  }
  if (optind != argc)
    return cli_usage("list", "unexpected argument '%s'", argv[optind]);
  struct cli_config cfg;
  if (cli_opts_ready(&o, &cfg) != 0)
    return EXIT_USAGE;
  if (cli_lineage_list(o.state_dir, &names, &n, &e) != 0) {
    cli_error_err(&e);
    cli_config_free(&cfg);
    return EXIT_FAILED;
  }
  int64_t now = byoca_now();
  json_t *arr = json_array();
  if (!o.json && n > 0)
    printf("%-30s %-8s %-20s %-8s %-20s %-8s %-24s %-12s %s\n", "NAME", "STATE",
           "EXPIRES", "LIFETIME", "RENEW AT", "SOURCE", "CA", "PROFILE",
           "NAMES");
  for (size_t i = 0; i < n; i++) {
    struct cli_lineage l;
    if (cli_lineage_load(o.state_dir, names[i], &l, &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
      rc = EXIT_FAILED;
      continue;
    }
    json_t *j = lineage_json(&l, now);
    if (o.json) {
      json_array_append(arr, j);
    } else {
      print_text(&l, j);
    }
    json_decref(j);
    cli_lineage_free(&l);
  }
  if (o.json) {
    char *s = json_dumps(arr, JSON_INDENT(2));
    if (s != NULL)
      puts(s);
    free(s);
  } else if (n == 0) {
    printf("no certificates in %s\n", o.state_dir);
  }
  json_decref(arr);
  byoca_strv_free(names, n);
  cli_config_free(&cfg);
  return rc;
}
