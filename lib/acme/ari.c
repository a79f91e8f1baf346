/* ACME Renewal Information (RFC 9773): the CertID, the unauthenticated
 * renewalInfo GET and its answer, Retry-After and error backoff (§4.3),
 * and the renewal schedule built from them or, without ARI, from the
 * certificate's lifetime (D-ARI). */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

#define ARI_MAX_CERT_ID 512
#define ARI_MAX_EXPLANATION 2048
#define SHORT_LIFETIME (10 * 86400)

/* ---- CertID (§4.1) ---- */

int byoca_ari_cert_id(const struct byoca_cert *cert, char **out,
                      struct byoca_err *err) {
  unsigned char *aki = NULL, *serial = NULL;
  size_t akilen = 0, seriallen = 0;
  char *a = NULL, *s = NULL;
  int rc = byoca_cert_aki(cert, &aki, &akilen);
  if (rc == BYOCA_E_NOTFOUND || (rc == 0 && akilen == 0)) {
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_CA,
                       "the certificate has no authority key identifier;"
                       " it has no ARI CertID");
    goto out;
  }
  if (rc != 0 || (rc = byoca_cert_serial_raw(cert, &serial, &seriallen)) != 0 ||
      (rc = byoca_b64url_encode(aki, akilen, &a)) != 0 ||
      (rc = byoca_b64url_encode(serial, seriallen, &s)) != 0) {
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                  "could not read the certificate's AKI and serial");
    goto out;
  }
  if ((*out = byoca_asprintf("%s.%s", a, s)) == NULL)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
out:
  free(aki);
  free(serial);
  free(a);
  free(s);
  return rc;
}

int byoca_ari_cert_id_pem(const void *cert, size_t len, char **out,
                          struct byoca_err *err) {
  struct byoca_cert *c = NULL;
  int rc = byoca_cert_parse(cert, len, &c, err);
  if (rc == 0)
    rc = byoca_ari_cert_id(c, out, err);
  byoca_cert_free(c);
  return rc;
}

/* base64url "." base64url, nothing else: it goes into a URL path. */
static int cert_id_ok(const char *id) {
  const char *dot = id != NULL ? strchr(id, '.') : NULL;
  size_t n = id != NULL ? strlen(id) : 0;
  if (dot == NULL || dot == id || dot[1] == '\0' || n > ARI_MAX_CERT_ID ||
      strchr(dot + 1, '.') != NULL)
    return 0;
  for (const char *p = id; *p != '\0'; p++)
    if (p != dot && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                           "wxyz0123456789-_",
                           *p) == NULL)
      return 0;
  return 1;
}

/* ---- the RenewalInfo object (§4.2) ---- */

void byoca_ari_free(struct byoca_ari *r) {
  if (r == NULL)
    return;
  free(r->explanation_url);
  free(r);
}

int64_t byoca_ari_retry_after(const char *value, int64_t now) {
  int64_t d;
  if (value == NULL || byoca_retry_after_parse(value, now, &d) != 0)
    return BYOCA_ARI_LONG_TERM;
  if (d < BYOCA_ARI_RETRY_MIN)
    return BYOCA_ARI_RETRY_MIN;
  return d > BYOCA_ARI_RETRY_MAX ? BYOCA_ARI_RETRY_MAX : d;
}

/* An explanationURL worth keeping: http(s), printable ASCII, bounded. A
 * bad one is dropped, not fatal: the window is what matters. */
static char *explanation(const json_t *obj) {
  const char *u = acme_json_str(obj, "explanationURL");
  char *scheme = NULL, *host = NULL;
  int port, ok;
  if (u == NULL || strlen(u) > ARI_MAX_EXPLANATION)
    return NULL;
  for (const char *p = u; *p != '\0'; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
      return NULL;
  ok = byoca_url_split(u, &scheme, &host, &port) == 0 &&
       (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0);
  free(scheme);
  free(host);
  return ok ? strdup(u) : NULL;
}

int byoca_ari_parse(const char *json, size_t len, const char *retry_after,
                    int64_t now, struct byoca_ari **out,
                    struct byoca_err *err) {
  json_t *j =
      json != NULL ? json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
  json_t *w = json_object_get(j, "suggestedWindow");
  const char *s = acme_json_str(w, "start"), *e = acme_json_str(w, "end");
  int64_t start, end;
  int rc = 0;
  if (!json_is_object(j) || s == NULL || e == NULL ||
      byoca_time_parse_rfc3339(s, &start) != 0 ||
      byoca_time_parse_rfc3339(e, &end) != 0) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "the renewal information is not a RenewalInfo object"
                       " with a suggestedWindow of two RFC 3339 timestamps");
  } else if (end <= start) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "the suggested renewal window ends (%.40s) before it"
                       " starts (%.40s); ignored",
                       e, s);
  } else if ((*out = calloc(1, sizeof(**out))) == NULL) {
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
  } else {
    (*out)->start = start;
    (*out)->end = end;
    (*out)->explanation_url = explanation(j);
    (*out)->retry_after = byoca_ari_retry_after(retry_after, now);
  }
  json_decref(j);
  return rc;
}

/* ---- fetching (§4.1, §4.3) ---- */

struct ari_ctx {
  byoca_ari_cb cb;
  void *arg;
  char *cert_id;
};

static void ari_ctx_free(void *arg) {
  struct ari_ctx *c = arg;
  free(c->cert_id);
  free(c);
}

/* §4.3.3: timeouts and 5xx are temporary, everything else long-term. */
static void classify(struct byoca_err *e) {
  int temporary = e->code == BYOCA_E_TIMEOUT || e->http_status >= 500;
  e->cls = temporary ? BYOCA_CLASS_RETRYABLE : BYOCA_CLASS_CA;
}

static void ari_done(void *arg, const struct acme_resp *resp,
                     const struct byoca_err *err) {
  struct ari_ctx *c = arg;
  struct byoca_err e = {0};
  struct byoca_ari *res = NULL;
  if (err != NULL) {
    if (byoca_err_copy(&e, err) != 0)
      byoca_err_set(&e, err->code, err->cls, "%s", err->msg);
  } else if (resp->status != 200) {
    acme_err_http(&e, resp, "renewalInfo");
  } else {
    const struct byoca_buf *b = &resp->http->body;
    const char *ra = byoca_http_header(resp->http, ACME_H_RETRY_AFTER);
    if (byoca_ari_parse(b->data, b->len, ra, byoca_now(), &res, &e) != 0)
      res = NULL; /* e says why */
  }
  if (e.code != 0) {
    classify(&e);
    byoca_err_activity(&e, "asking for the renewal window of %s", c->cert_id);
  }
  c->cb(c->arg, res, e.code != 0 ? &e : NULL);
  byoca_err_clear(&e);
  free(c->cert_id);
  free(c);
}

static void early_fire(void *arg, const struct byoca_err *err) {
  struct ari_ctx *c = arg;
  c->cb(c->arg, NULL, err);
  free(c->cert_id);
  free(c);
}

/* The renewalInfo URL joined with the CertID, without a double slash. */
static char *ari_url(const char *base, const char *id) {
  size_t n = strlen(base);
  return byoca_asprintf(
      "%.*s/%s", (int)(n > 0 && base[n - 1] == '/' ? n - 1 : n), base, id);
}

int byoca_ari_fetch(struct byoca_acme *a, const char *cert_id, byoca_ari_cb cb,
                    void *arg) {
  struct ari_ctx *c = calloc(1, sizeof(*c));
  const char *base = acme_dir_url(a, ACME_DIR_RENEWAL_INFO);
  struct byoca_err e = {0};
  char *url = NULL;
  if (c == NULL ||
      (cert_id != NULL && (c->cert_id = strdup(cert_id)) == NULL)) {
    free(c);
    return BYOCA_E_NOMEM;
  }
  c->cb = cb;
  c->arg = arg;
  if (!cert_id_ok(cert_id))
    byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "not an ARI CertID: %.80s", cert_id ? cert_id : "(none)");
  else if (base == NULL)
    byoca_err_set(&e, BYOCA_E_NOTFOUND, BYOCA_CLASS_CA,
                  "the CA's directory has no renewalInfo (no ARI)");
  else if ((url = ari_url(base, cert_id)) == NULL)
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  else if (acme_get(a, url, 0, ari_done, ari_ctx_free, c, &e) == 0) {
    free(url);
    return 0;
  }
  free(url);
  classify(&e);
  acme_defer(a, early_fire, c, &e);
  byoca_err_clear(&e);
  return 0;
}

int64_t byoca_ari_error_delay(const struct byoca_err *err, int failures,
                              int64_t now) {
  if (err == NULL || err->cls != BYOCA_CLASS_RETRYABLE || failures < 1 ||
      failures > BYOCA_ARI_TEMP_TRIES)
    return BYOCA_ARI_LONG_TERM;
  if (err->retry_after > 0) {
    int64_t d = err->retry_after - now;
    return d < BYOCA_ARI_RETRY_MIN   ? BYOCA_ARI_RETRY_MIN
           : d > BYOCA_ARI_RETRY_MAX ? BYOCA_ARI_RETRY_MAX
                                     : d;
  }
  return (int64_t)BYOCA_ARI_RETRY_MIN << (failures - 1);
}

/* ---- choosing the instant ---- */

int64_t byoca_ari_pick(int64_t start, int64_t end, int64_t now, uint64_t rnd) {
  int64_t at = start;
  if (end > start)
    at = start + (int64_t)(rnd % (uint64_t)(end - start));
  return at < now ? now : at;
}

int64_t byoca_renewal_due_lifetime(int64_t not_before, int64_t not_after) {
  int64_t life = not_after - not_before;
  if (life <= 0)
    return not_before;
  if (life < SHORT_LIFETIME)
    return not_before + life / 2;
  return not_before + life * 2 / 3;
}

void byoca_renewal_init(struct byoca_renewal *s, int64_t not_before,
                        int64_t not_after, int64_t now) {
  memset(s, 0, sizeof(*s));
  s->at = byoca_renewal_due_lifetime(not_before, not_after);
  s->source = "lifetime";
  s->next_check = now < not_after ? now : 0;
}

static int64_t ari_cap(int64_t not_before, int64_t not_after) {
  int64_t life = not_after - not_before;
  return not_after - (life > 0 ? life / 10 : 0);
}

int byoca_renewal_update(struct byoca_renewal *s, int64_t not_before,
                         int64_t not_after, const struct byoca_ari *ari,
                         const struct byoca_err *err, int64_t now,
                         uint64_t rnd) {
  int64_t before = s->at, next;
  if (s->source == NULL || s->at == 0) {
    s->at = byoca_renewal_due_lifetime(not_before, not_after);
    s->source = "lifetime";
  }
  if (ari != NULL) {
    int same = s->ari_start == ari->start && s->ari_end == ari->end &&
               strcmp(s->source, "ari") == 0;
    if (!same) {
      int64_t at = byoca_ari_pick(ari->start, ari->end, now, rnd);
      int64_t cap = ari_cap(not_before, not_after);
      s->at = at > cap && cap > now ? cap : at;
      s->source = "ari";
      s->ari_start = ari->start;
      s->ari_end = ari->end;
    }
    s->failures = 0;
    next = now + ari->retry_after;
  } else {
    s->failures++;
    next = now + byoca_ari_error_delay(err, s->failures, now);
  }
  s->next_check = next < not_after ? next : 0;
  return before != 0 && s->at < before;
}

int byoca_renewal_is_due(const struct byoca_renewal *s, int64_t now) {
  return s->at <= now;
}

int byoca_renewal_moved(int earlier, int was_ari, const struct byoca_renewal *s,
                        int64_t now) {
  return earlier && (was_ari || s->at <= now);
}

const char *byoca_ari_replaces(const char *cert_id,
                               const char *issued_directory,
                               const char *order_directory) {
  if (cert_id == NULL || cert_id[0] == '\0' || issued_directory == NULL ||
      order_directory == NULL || strcmp(issued_directory, order_directory) != 0)
    return NULL;
  return cert_id;
}
