/* CA backoff (D-BACKOFF), kept in <state>/ca-health.json so that every run
 * of byoca shares it: 3 consecutive CA-level failures put a CA into
 * backoff for 5 minutes, doubling with each further failure, capped at 24
 * hours; one success clears it. A CA in backoff is left out of discovery
 * with the reason reported. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"

#define FAILS_BEFORE_BACKOFF 3
#define BACKOFF_FIRST 300
#define BACKOFF_MAX 86400

#define STATE_FILE "ca-health.json"

static json_t *load(const char *state) {
  return cli_state_json_load(state, STATE_FILE);
}

/* Backoff that cannot be saved is said: other runs would not honour it. */
static void save(const char *state, json_t *j) {
  struct byoca_err e = {0};
  if (cli_state_json_save(state, STATE_FILE, j, &e) != 0)
    cli_error_err(&e);
  byoca_err_clear(&e);
}

int64_t cli_backoff_until(const char *state, const char *issuer) {
  json_t *j = load(state);
  int64_t until = json_integer_value(
      json_object_get(json_object_get(j, issuer), "backoff_until"));
  json_decref(j);
  return until > byoca_now() ? until : 0;
}

void cli_backoff_record(const char *state, const char *issuer, int ok) {
  json_t *j = load(state), *ca = json_object_get(j, issuer);
  if (ok) {
    if (ca == NULL) {
      json_decref(j);
      return;
    }
    json_object_del(j, issuer);
    save(state, j);
    json_decref(j);
    return;
  }
  if (ca == NULL) {
    ca = json_object();
    json_object_set_new(j, issuer, ca);
  }
  int64_t fails = json_integer_value(json_object_get(ca, "failures")) + 1;
  json_object_set_new(ca, "failures", json_integer(fails));
  if (fails >= FAILS_BEFORE_BACKOFF) {
    int64_t secs = BACKOFF_FIRST;
    for (int64_t i = FAILS_BEFORE_BACKOFF; i < fails && secs < BACKOFF_MAX; i++)
      secs *= 2;
    if (secs > BACKOFF_MAX)
      secs = BACKOFF_MAX;
    char t[32];
    byoca_time_format_rfc3339(byoca_now() + secs, t, sizeof(t));
    json_object_set_new(ca, "backoff_until", json_integer(byoca_now() + secs));
    byoca_log(BYOCA_LOG_WARN,
              "%s failed %lld times in a row; not using it until %s", issuer,
              (long long)fails, t);
  }
  save(state, j);
  json_decref(j);
}
