/* Public endpoints, on the API listener and on http_listen: http-01 key
 * authorizations, this node's own from memory, any other node's from the
 * store's challenge table (any node answers any token; on PostgreSQL read
 * on the manager's thread, the answer deferred), the account keys
 * (draft-vanbrouwershaven-acme-client-discovery) and the health check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"

#define TOKEN_MAX 255
#define KEYAUTHZ_MAX 1024
#define WK_CHALLENGE_PATH "/.well-known/acme-challenge/"

/* A request for another node's token, answered once the store did. */
struct wk_wait {
  struct bd *d;
  struct byoca_httpd_req *req; /* deferred */
  int api;
  int64_t start_ms;
  char verb[8];
  char path[sizeof(WK_CHALLENGE_PATH) + TOKEN_MAX];
};

static void wk_answer(struct bd_call *c, const char *token, int rc,
                      const char *authz, const struct byoca_err *e) {
  if (rc == 0) {
    /* the token is public (it is in the URL); the answer is not logged */
    byoca_log(BYOCA_LOG_DEBUG, "http-01: answered the challenge %.64s", token);
    bd_reply(c, 200, "text/plain", authz, strlen(authz), NULL);
  } else if (rc == BYOCA_E_NOTFOUND) {
    bd_problem(c, 404, "no such challenge");
  } else if (e != NULL) {
    bd_problem_err(c, e);
  } else {
    bd_problem(c, 503, "the challenge cannot be read now");
  }
}

static void wk_found(void *arg, int rc, const char *authz) {
  struct wk_wait *w = arg;
  struct bd_call c = {.d = w->d,
                      .req = w->req,
                      .method = "GET",
                      .verb = w->verb,
                      .path = w->path,
                      .api = w->api,
                      .start_ms = w->start_ms};
  wk_answer(&c, w->path + sizeof(WK_CHALLENGE_PATH) - 1, rc, authz, NULL);
  bd_log_request(&c);
  free(w);
}

/* Another node's token from the store, on the manager's thread (the loop
 * never waits for PostgreSQL): 0 when the answer comes later. */
static int wk_lookup(struct bd_call *c, const char *token) {
  struct wk_wait *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return -1;
  w->d = c->d;
  w->api = c->api;
  w->start_ms = c->start_ms;
  byoca_strlcpy(w->verb, c->verb, sizeof(w->verb));
  snprintf(w->path, sizeof(w->path), WK_CHALLENGE_PATH "%s", token);
  if ((w->req = byoca_httpd_defer(c->req)) == NULL) {
    free(w);
    return -1;
  }
  c->deferred = 1;
  if (byoca_manager_challenge_lookup(c->d->mgr, token, wk_found, w) != 0)
    wk_found(w, BYOCA_E_NOMEM, NULL); /* answered now: 503 */
  return 0;
}

void wk_challenge(struct bd_call *c) {
  const char *token = c->param[0];
  char authz[KEYAUTHZ_MAX];
  struct byoca_err e = {0};
  if (strlen(token) > TOKEN_MAX || !byoca_b64url_valid(token)) {
    bd_problem(c, 404, "no such challenge");
    return;
  }
  /* this node's own, from memory */
  int rc = byoca_manager_challenge_get(c->d->mgr, token, authz, sizeof(authz));
  if (rc != 0) /* not ours (or too long to answer from memory) */
    rc = BYOCA_E_NOTFOUND;
  if (rc == BYOCA_E_NOTFOUND && c->d->mgr != NULL &&
      byoca_manager_store_async(c->d->mgr) && wk_lookup(c, token) == 0)
    return;                   /* another node's, if any, from the store later */
  if (rc == BYOCA_E_NOTFOUND) /* SQLite (or out of memory): at once */
    rc = byoca_store_challenge_get(c->d->store, token, byoca_now(), authz,
                                   sizeof(authz), &e);
  wk_answer(c, token, rc, authz, &e);
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
  if (byoca_store_account_jwks(c->store, &jwks, &n, &e) != 0) {
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
