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

static char *cache_path(const char *state) {
  return byoca_asprintf("%s/directory-cache.json", state);
}

static json_t *cache_load(const char *state) {
  char *p = cache_path(state);
  json_t *j = p != NULL ? json_load_file(p, 0, NULL) : NULL;
  free(p);
  if (!json_is_object(j)) {
    json_decref(j);
    j = json_object();
  }
  return j;
}

static void cache_save(const char *state, json_t *j) {
  struct byoca_err e = {0};
  char *p = cache_path(state);
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (p != NULL && text != NULL && byoca_mkdir_p(state, 0700, &e) == 0)
    (void)!byoca_file_write_atomic(p, text, strlen(text), 0600, &e);
  byoca_err_clear(&e); /* a cache that cannot be written is only slower */
  free(p);
  free(text);
}

char *cli_dircache_get(const char *state, const char *issuer) {
  json_t *j = cache_load(state), *e = json_object_get(j, issuer);
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
  json_t *j = cache_load(state);
  json_object_set_new(j, issuer,
                      json_pack("{s:s,s:I}", "directory", url, "expires",
                                (json_int_t)(byoca_now() + ttl)));
  cache_save(state, j);
  json_decref(j);
}

void cli_dircache_forget(const char *state, const char *issuer) {
  json_t *j = cache_load(state);
  if (json_object_del(j, issuer) == 0)
    cache_save(state, j);
  json_decref(j);
}
