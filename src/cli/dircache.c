/* The directories found at https://<issuer>/.well-known/acme, cached in
 * <state>/directory-cache.json for the Cache-Control max-age they were
 * served with, clamped to 5 minutes - 24 hours, 1 hour without one
 * (D-WELLKNOWN). An entry is forgotten when its CA fails. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"

#define TTL_MIN 300
#define TTL_DEFAULT 3600
#define TTL_MAX 86400

#define STATE_FILE "directory-cache.json"

char *cli_dircache_get(const char *state, const char *issuer) {
  json_t *j = cli_state_json_load(state, STATE_FILE),
         *e = json_object_get(j, issuer);
  const char *url = json_string_value(json_object_get(e, "directory"));
  int64_t exp = json_integer_value(json_object_get(e, "expires"));
  char *out = url != NULL && exp > byoca_now() ? strdup(url) : NULL;
  json_decref(j);
  return out;
}

void cli_dircache_put(const char *state, const char *issuer, const char *url,
                      int64_t max_age) {
  int64_t ttl = max_age < 0 ? TTL_DEFAULT : max_age;
  ttl = ttl < TTL_MIN ? TTL_MIN : ttl > TTL_MAX ? TTL_MAX : ttl;
  json_t *j = cli_state_json_load(state, STATE_FILE);
  json_object_set_new(j, issuer,
                      json_pack("{s:s,s:I}", "directory", url, "expires",
                                (json_int_t)(byoca_now() + ttl)));
  {
    struct byoca_err e = {0};
    (void)!cli_state_json_save(state, STATE_FILE, j, &e);
    byoca_err_clear(&e); /* only slower next time */
  }
  json_decref(j);
}

void cli_dircache_forget(const char *state, const char *issuer) {
  json_t *j = cli_state_json_load(state, STATE_FILE);
  if (json_object_del(j, issuer) == 0) {
    struct byoca_err e = {0};
    (void)!cli_state_json_save(state, STATE_FILE, j, &e);
    byoca_err_clear(&e); /* only slower next time */
  }
  json_decref(j);
}
