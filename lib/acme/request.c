/* Signed requests (RFC 8555 §6.2-6.5): nonce acquisition, JWS, badNonce
 * retries (D-NONCE), problem documents turned into errors, and the list of
 * requests in flight so a freed client never gets a callback. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "acme_int.h"

struct acme_req {
  struct acme_req *next, *prev;
  struct byoca_acme *a; /* NULL once the client is gone */
  char *url;
  char *payload; /* NULL: POST-as-GET; unused for GET */
  int is_get;
  int follow; /* GET only: follow redirects (each hop re-checked) */
  int nonce_retries;
  int nonce_rounds; /* backoff rounds after nonce_retries ran out */
  struct byoca_key *jwk_key;
  char *accept;
  acme_resp_cb cb;
  void (*drop)(void *arg);
  void *drop_arg;
  void *arg;
};

static void req_link(struct byoca_acme *a, struct acme_req *r) {
  r->a = a;
  r->next = a->inflight;
  if (a->inflight != NULL)
    a->inflight->prev = r;
  a->inflight = r;
}

static void req_unlink(struct acme_req *r) {
  if (r->a == NULL)
    return;
  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    r->a->inflight = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  r->next = r->prev = NULL;
  r->a = NULL;
}

static void req_free(struct acme_req *r) {
  req_unlink(r);
  free(r->url);
  free(r->payload);
  free(r->accept);
  free(r);
}

/* Frees a request whose answer cannot be delivered, letting its owner
 * free what arg holds. */
static void req_drop(struct acme_req *r) {
  void (*drop)(void *) = r->drop;
  void *arg = r->drop_arg != NULL ? r->drop_arg : r->arg;
  req_free(r);
  if (drop != NULL)
    drop(arg);
}

static void req_http_dropped(void *arg) {
  req_drop(arg);
}

void acme_req_detach_all(struct byoca_acme *a);
/* Called by byoca_acme_free: requests stay allocated until their HTTP
 * callback arrives, but no longer reach the client or the caller. */
void acme_req_detach_all(struct byoca_acme *a) {
  while (a->inflight != NULL)
    req_unlink(a->inflight);
}

/* ---- responses ---- */

/* JSON by its content type, or (servers get this wrong) by its first
 * character when the type says nothing else. */
static int looks_json(const char *ct, const struct byoca_buf *body) {
  if (body->len == 0)
    return 0;
  if (ct != NULL && (strncasecmp(ct, "application/json", 16) == 0 ||
                     strncasecmp(ct, ACME_CT_PROBLEM, 24) == 0))
    return 1;
  if (ct != NULL && strncasecmp(ct, ACME_CT_PEM_CHAIN, 33) == 0)
    return 0;
  size_t i = 0;
  while (i < body->len && strchr(" \t\r\n", body->data[i]) != NULL)
    i++;
  return i < body->len && body->data[i] == '{';
}

static void harvest_nonce(struct byoca_acme *a,
                          const struct byoca_http_resp *h) {
  const char *n = byoca_http_header(h, ACME_H_NONCE);
  if (n != NULL && strlen(n) <= ACME_MAX_NONCE_LEN && byoca_b64url_valid(n))
    acme_nonce_put(a, n);
}

static void problem_to_err(struct byoca_err *err, const struct acme_resp *r) {
  struct byoca_problem *p = NULL;
  const char *body = r->http->body.data;
  if (body != NULL && byoca_problem_parse(body, r->http->body.len, &p) == 0 &&
      p->type != NULL) {
    enum byoca_errclass cls = byoca_problem_class(p->type);
    byoca_err_set(err, BYOCA_E_ACME, cls, "the server refused (HTTP %ld)",
                  r->status);
    byoca_err_set_problem(err, p);
  } else {
    byoca_problem_free(p);
    byoca_err_set(
        err, BYOCA_E_PROTO, r->status >= 500 ? BYOCA_CLASS_CA : BYOCA_CLASS_CA,
        "the server answered HTTP %ld without a problem document", r->status);
  }
  if (err == NULL)
    return;
  err->http_status = (int)r->status;
  const char *ra = byoca_http_header(r->http, ACME_H_RETRY_AFTER);
  int64_t delay;
  if (ra != NULL && byoca_retry_after_parse(ra, byoca_now(), &delay) == 0 &&
      delay > 0)
    err->retry_after = byoca_now() + delay;
}

static int is_bad_nonce(const struct acme_resp *r) {
  if (r->status != 400 || r->json == NULL)
    return 0;
  const char *t = acme_json_str(r->json, "type");
  return t != NULL && strcmp(t, ACME_ERR_PREFIX ACME_E_BAD_NONCE) == 0;
}

static int req_send(struct acme_req *r, const char *nonce,
                    struct byoca_err *err);
static void req_fail(struct acme_req *r, const struct byoca_err *err);
static void req_backoff(struct acme_req *r);

static void req_done(void *arg, const struct byoca_http_resp *h,
                     const struct byoca_err *herr) {
  struct acme_req *r = arg;
  struct byoca_err e = {0};
  struct acme_resp resp = {0};
  if (r->a == NULL) {
    req_drop(r);
    return;
  }
  if (herr != NULL) {
    req_fail(r, herr);
    return;
  }
  harvest_nonce(r->a, h);
  resp.status = h->status;
  resp.http = h;
  resp.location = byoca_http_header(h, ACME_H_LOCATION);
  if (looks_json(byoca_http_header(h, "Content-Type"), &h->body)) {
    struct byoca_err je = {0};
    if (acme_json_load(h->body.data, h->body.len, &resp.json, &je) != 0 &&
        resp.status < 400) {
      /* say why: a server sending broken JSON is the server's fault */
      byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                    "the server's answer from %.200s is %s", r->url, je.msg);
      byoca_err_clear(&je);
      req_fail(r, &e);
      byoca_err_clear(&e);
      return;
    }
    byoca_err_clear(&je);
  }
  if (!r->is_get && is_bad_nonce(&resp) &&
      r->nonce_retries >= ACME_MAX_NONCE_RETRIES &&
      r->nonce_rounds < ACME_MAX_NONCE_ROUNDS) {
    /* D-NONCE's immediate retries are spent; a badNonce means the server
       did not act on the request, so it is safe to send again later */
    json_decref(resp.json);
    req_backoff(r);
    return;
  }
  if (!r->is_get && is_bad_nonce(&resp) &&
      r->nonce_retries < ACME_MAX_NONCE_RETRIES) {
    r->nonce_retries++;
    char *nonce = acme_nonce_take(r->a);
    byoca_log(BYOCA_LOG_DEBUG, "badNonce from %s, retry %d", r->url,
              r->nonce_retries);
    json_decref(resp.json);
    if (nonce != NULL && req_send(r, nonce, &e) == 0) {
      free(nonce);
      return;
    }
    free(nonce);
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                    "badNonce without a fresh Replay-Nonce from %.200s",
                    r->url);
    req_fail(r, &e);
    byoca_err_clear(&e);
    return;
  }
  if (resp.status >= 400)
    problem_to_err(&e, &resp);
  r->cb(r->arg, e.code == 0 ? &resp : NULL, e.code == 0 ? NULL : &e);
  byoca_err_clear(&e);
  json_decref(resp.json);
  req_free(r);
}

static void req_fail(struct acme_req *r, const struct byoca_err *err) {
  if (r->a != NULL)
    r->cb(r->arg, NULL, err);
  req_free(r);
}

static int fetch_nonce(struct acme_req *r, struct byoca_err *err);

static void backoff_fire(void *arg) {
  struct acme_req *r = arg;
  struct byoca_err e = {0};
  if (r->a == NULL) {
    req_drop(r);
    return;
  }
  char *nonce = acme_nonce_take(r->a);
  int rc = nonce != NULL ? req_send(r, nonce, &e) : fetch_nonce(r, &e);
  free(nonce);
  if (rc != 0) {
    req_fail(r, &e);
    byoca_err_clear(&e);
  }
}

static void req_backoff(struct acme_req *r) {
  int64_t ms = 250LL << r->nonce_rounds;
  r->nonce_rounds++;
  r->nonce_retries = 0;
  byoca_log(BYOCA_LOG_DEBUG, "badNonce %d times from %s; again in %lld ms",
            ACME_MAX_NONCE_RETRIES + 1, r->url, (long long)ms);
  if (byoca_timer_add(r->a->loop, ms, backoff_fire, r) == NULL) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    req_fail(r, &e);
  }
}

/* ---- sending ---- */

static int req_send(struct acme_req *r, const char *nonce,
                    struct byoca_err *err) {
  struct byoca_acme *a = r->a;
  char *jws = NULL;
  const char *hdrs[3] = {NULL, NULL, NULL};
  char accept[160];
  int rc;
  if (r->is_get) {
    struct byoca_http_req hr = {.method = "GET",
                                .url = r->url,
                                .follow_redirects = r->follow,
                                .dropped = req_http_dropped};
    return byoca_http_send(a->http, &hr, req_done, r, err);
  }
  if (r->jwk_key == NULL && (a->key == NULL || a->kid == NULL))
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "no ACME account to sign with");
  rc = byoca_jws_acme(r->jwk_key != NULL ? r->jwk_key : a->key,
                      r->jwk_key != NULL ? NULL : a->kid, nonce, r->url,
                      r->payload != NULL ? r->payload : "", &jws, err);
  if (rc != 0)
    return rc;
  if (r->accept != NULL) {
    snprintf(accept, sizeof(accept), "Accept: %s", r->accept);
    hdrs[0] = accept;
  }
  struct byoca_http_req hr = {.method = "POST",
                              .url = r->url,
                              .content_type = ACME_CT_JOSE,
                              .body = jws,
                              .body_len = strlen(jws),
                              .headers = hdrs,
                              .dropped = req_http_dropped};
  rc = byoca_http_send(a->http, &hr, req_done, r, err);
  free(jws);
  return rc;
}

static void nonce_done(void *arg, const struct byoca_http_resp *h,
                       const struct byoca_err *herr) {
  struct acme_req *r = arg;
  struct byoca_err e = {0};
  if (r->a == NULL) {
    req_drop(r);
    return;
  }
  if (herr != NULL) {
    req_fail(r, herr);
    return;
  }
  const char *n = byoca_http_header(h, ACME_H_NONCE);
  if (h->status >= 400 || n == NULL || strlen(n) > ACME_MAX_NONCE_LEN ||
      !byoca_b64url_valid(n)) {
    byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "newNonce gave no valid Replay-Nonce (HTTP %ld)", h->status);
    req_fail(r, &e);
  } else if (req_send(r, n, &e) != 0) {
    req_fail(r, &e);
  }
  byoca_err_clear(&e);
}

static int fetch_nonce(struct acme_req *r, struct byoca_err *err) {
  const char *url = acme_dir_url(r->a, ACME_DIR_NEW_NONCE);
  if (url == NULL)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "directory not loaded");
  struct byoca_http_req hr = {
      .method = "HEAD", .url = url, .dropped = req_http_dropped};
  return byoca_http_send(r->a->http, &hr, nonce_done, r, err);
}

static struct acme_req *req_new(struct byoca_acme *a, const char *url,
                                const char *payload, acme_resp_cb cb,
                                void *arg) {
  struct acme_req *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->url = strdup(url);
  r->payload = payload != NULL ? strdup(payload) : NULL;
  if (r->url == NULL || (payload != NULL && r->payload == NULL)) {
    free(r->url);
    free(r->payload);
    free(r);
    return NULL;
  }
  r->cb = cb;
  r->arg = arg;
  req_link(a, r);
  return r;
}

int acme_post(struct byoca_acme *a, const char *url, const char *payload,
              const struct acme_sign *how, acme_resp_cb cb, void *arg,
              struct byoca_err *err) {
  struct acme_req *r = req_new(a, url, payload, cb, arg);
  if (r == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  if (how != NULL) {
    r->jwk_key = how->jwk_key;
    r->drop = how->drop;
    r->drop_arg = how->drop_arg;
    if (how->accept != NULL && (r->accept = strdup(how->accept)) == NULL) {
      req_free(r);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    }
  }
  char *nonce = acme_nonce_take(a);
  int rc = nonce != NULL ? req_send(r, nonce, err) : fetch_nonce(r, err);
  free(nonce);
  if (rc != 0)
    req_free(r);
  return rc;
}

int acme_get(struct byoca_acme *a, const char *url, int follow, acme_resp_cb cb,
             void (*drop)(void *arg), void *arg, struct byoca_err *err) {
  struct acme_req *r = req_new(a, url, NULL, cb, arg);
  if (r == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  r->drop = drop;
  r->is_get = 1;
  r->follow = follow;
  int rc = req_send(r, NULL, err);
  if (rc != 0)
    req_free(r);
  return rc;
}
