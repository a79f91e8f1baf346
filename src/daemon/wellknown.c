/* Public endpoints, on the API listener and on http_listen: http-01 key
 * authorizations from the store's challenge table (any node answers any
 * token), the account keys (draft-vanbrouwershaven-acme-client-discovery)
 * and the health check. */
#include <stdlib.h>
#include <string.h>

#include "bd.h"

#define TOKEN_MAX 255
#define KEYAUTHZ_MAX 1024

void wk_challenge(struct bd_call *c) {
  const char *token = c->param[0];
  char authz[KEYAUTHZ_MAX];
  struct byoca_err e = {0};
  if (strlen(token) > TOKEN_MAX || !byoca_b64url_valid(token)) {
    bd_problem(c, 404, "no such challenge");
    return;
  }
  int rc = byoca_store_challenge_get(c->d->store, token, byoca_now(), authz,
                                     sizeof(authz), &e);
  if (rc == 0) {
    /* the token is public (it is in the URL); the answer is not logged */
    byoca_log(BYOCA_LOG_DEBUG, "http-01: answered the challenge %.64s", token);
    bd_reply(c, 200, "text/plain", authz, strlen(authz), NULL);
  } else if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "no such challenge");
  else
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
}

/* A stored JWK as a JSON object, or NULL if it is not a public key. */
static json_t *public_jwk(const char *text) {
  static const char *const private[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
  json_t *k = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object(k) || json_object_get(k, "kty") == NULL) {
    json_decref(k);
    return NULL;
  }
  for (size_t i = 0; i < sizeof(private) / sizeof(*private); i++)
    if (json_object_get(k, private[i]) != NULL) {
      byoca_log(BYOCA_LOG_ERROR, "acme-keys: a stored JWK has private"
                                 " members; left out");
      json_decref(k);
      return NULL;
    }
  return k;
}

void wk_acme_keys(struct bd_call *c) {
  char **jwks = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_account_jwks(c->d->store, &jwks, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *keys = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *k = keys != NULL ? public_jwk(jwks[i]) : NULL;
    if (k != NULL)
      json_array_append_new(keys, k);
    free(jwks[i]);
  }
  free(jwks);
  json_t *o = keys != NULL ? json_pack("{s:o}", "keys", keys) : NULL;
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (text == NULL) {
    bd_problem(c, 500, "out of memory");
    return;
  }
  bd_reply(c, 200, "application/jwk-set+json", text, strlen(text), NULL);
  free(text);
}

void wk_healthz(struct bd_call *c) {
  if (c->d->draining)
    bd_reply_json(c, 503, json_pack("{s:s}", "status", "draining"), NULL);
  else
    bd_reply_json(c, 200, json_pack("{s:s}", "status", "ok"), NULL);
}
