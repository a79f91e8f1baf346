/* The ACME client object: directory fetch and validation (RFC 8555
 * §7.1.1), accessors, and small helpers shared by the engine. */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "acme_int.h"

struct byoca_acme *byoca_acme_new(struct byoca_loop *loop,
                                  struct byoca_http *http,
                                  const char *directory_url,
                                  struct byoca_err *err) {
  struct byoca_acme *a = calloc(1, sizeof(*a));
  if (a == NULL || (a->dir_url = strdup(directory_url)) == NULL) {
    free(a);
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  a->loop = loop;
  a->http = http;
  a->dir_max_age = -1;
  return a;
}

struct byoca_acme *byoca_acme_new_wellknown(struct byoca_loop *loop,
                                            struct byoca_http *http,
                                            const char *issuer,
                                            struct byoca_err *err) {
  char *url = byoca_asprintf("https://%s/.well-known/acme", issuer);
  struct byoca_acme *a =
      url != NULL ? byoca_acme_new(loop, http, url, err) : NULL;
  free(url);
  if (a != NULL && (a->issuer = strdup(issuer)) == NULL) {
    byoca_acme_free(a);
    a = NULL;
  }
  if (a == NULL && err != NULL && err->code == 0)
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  return a;
}

const char *byoca_acme_issuer(const struct byoca_acme *a) {
  return a->issuer;
}

void acme_req_detach_all(struct byoca_acme *a);

void byoca_acme_free(struct byoca_acme *a) {
  if (a == NULL)
    return;
  acme_req_detach_all(a);
  acme_nonce_clear(a);
  json_decref(a->dir);
  free(a->dir_url);
  free(a->issuer);
  free(a->tos);
  free(a->profiles);
  byoca_profiles_free(a->plist, a->nplist);
  free(a->kid);
  free(a->thumbprint);
  free(a->account_json);
  free(a);
}

struct byoca_loop *byoca_acme_loop(const struct byoca_acme *a) {
  return a->loop;
}

const char *byoca_acme_directory_url(const struct byoca_acme *a) {
  return a->dir_url;
}
const char *byoca_acme_terms_of_service(const struct byoca_acme *a) {
  return a->tos;
}
int byoca_acme_eab_required(const struct byoca_acme *a) {
  return a->eab_required;
}
const char *const *byoca_acme_profiles(const struct byoca_acme *a) {
  return (const char *const *)a->profiles;
}
const struct byoca_profile *byoca_acme_profile_list(const struct byoca_acme *a,
                                                    size_t *n) {
  *n = a->nplist;
  return a->plist;
}
int byoca_acme_has(const struct byoca_acme *a, const char *resource) {
  return acme_dir_url(a, resource) != NULL;
}

const char *acme_dir_url(const struct byoca_acme *a, const char *resource) {
  return a->dir == NULL ? NULL : acme_json_str(a->dir, resource);
}

const char *acme_json_str(const json_t *obj, const char *key) {
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

char *acme_json_dump(const json_t *v) {
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int same_origin(const char *a, const char *b) {
  char *s1 = NULL, *h1 = NULL, *s2 = NULL, *h2 = NULL;
  int p1 = 0, p2 = 0, same = 0;
  if (byoca_url_split(a, &s1, &h1, &p1) == 0 &&
      byoca_url_split(b, &s2, &h2, &p2) == 0)
    same = strcmp(s1, s2) == 0 && byoca_strcaseeq(h1, h2) && p1 == p2;
  free(s1);
  free(h1);
  free(s2);
  free(h2);
  return same;
}

int acme_check_url(const struct byoca_acme *a, const char *url,
                   const char *what, struct byoca_err *err) {
  char *scheme = NULL, *host = NULL;
  int port = 0, rc = 0;
  if (url == NULL || byoca_url_split(url, &scheme, &host, &port) != 0) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "server sent an invalid %s URL: %.200s", what,
                       url != NULL ? url : "(none)");
    goto out;
  }
  if (strcmp(scheme, "https") != 0 && !same_origin(url, a->dir_url)) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "server sent a non-https %s URL: %.200s", what, url);
  }
out:
  free(scheme);
  free(host);
  return rc;
}

void acme_err_http(struct byoca_err *err, const struct acme_resp *resp,
                   const char *what) {
  byoca_err_set(err, BYOCA_E_PROTO,
                resp->status >= 500 ? BYOCA_CLASS_CA : BYOCA_CLASS_CA,
                "%s: unexpected HTTP status %ld", what, resp->status);
  if (err != NULL)
    err->http_status = (int)resp->status;
}

/* ---- deferred completion ---- */

struct deferred {
  byoca_acme_cb cb;
  void *arg;
  int has_err;
  struct byoca_err err;
};

static void deferred_fire(void *p) {
  struct deferred *d = p;
  d->cb(d->arg, d->has_err ? &d->err : NULL);
  byoca_err_clear(&d->err);
  free(d);
}

void acme_defer(struct byoca_acme *a, byoca_acme_cb cb, void *arg,
                const struct byoca_err *err) {
  struct deferred *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    cb(arg, err); /* last resort: better re-entrant than lost */
    return;
  }
  d->cb = cb;
  d->arg = arg;
  if (err != NULL) {
    d->has_err = 1;
    if (byoca_err_copy(&d->err, err) != 0)
      byoca_err_set(&d->err, err->code, err->cls, "%s", err->msg);
  }
  if (byoca_timer_add(a->loop, 0, deferred_fire, d) == NULL)
    deferred_fire(d);
}

/* ---- directory ---- */

struct dir_ctx {
  struct byoca_acme *a;
  byoca_acme_cb cb;
  void *arg;
};

/* meta: terms of service, EAB, and meta.profiles when it is an object
 * (hostile input bounded by acme_profiles_from_json). */
static int dir_take_meta(struct byoca_acme *a, const struct acme_dir_obj *d) {
  if (d->tos != NULL && (a->tos = strdup(d->tos)) == NULL)
    return BYOCA_E_NOMEM;
  a->eab_required = d->eab_required;
  if (d->profiles == NULL)
    return 0;
  int rc = acme_profiles_from_json(d->profiles, &a->plist, &a->nplist);
  if (rc != 0 || a->nplist == 0)
    return rc;
  if ((a->profiles = calloc(a->nplist + 1, sizeof(char *))) == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < a->nplist; i++)
    a->profiles[i] = a->plist[i].name;
  return 0;
}

static int dir_validate(struct byoca_acme *a, json_t *dir,
                        struct byoca_err *err) {
  struct acme_dir_obj d;
  struct byoca_err pe = {0};
  if (acme_parse_directory(dir, &d, &pe) != 0) {
    byoca_err_set(err, pe.code, pe.cls, "directory %.200s: %s", a->dir_url,
                  pe.msg);
    byoca_err_clear(&pe);
    return err != NULL ? err->code : BYOCA_E_PROTO;
  }
  const char *const names[] = {ACME_DIR_NEW_NONCE,  ACME_DIR_NEW_ACCOUNT,
                               ACME_DIR_NEW_ORDER,  ACME_DIR_REVOKE,
                               ACME_DIR_KEY_CHANGE, ACME_DIR_RENEWAL_INFO};
  const char *const urls[] = {d.new_nonce,   d.new_account, d.new_order,
                              d.revoke_cert, d.key_change,  d.renewal_info};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(urls) / sizeof(*urls); i++) {
    if (urls[i] == NULL)
      continue;
    if (acme_check_url(a, urls[i], names[i], err) == 0)
      continue;
    rc = BYOCA_E_PROTO;
    if (i >= 3) /* an optional one: say which */
      byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                    "directory %.200s has an invalid \"%s\"", a->dir_url,
                    names[i]);
  }
  if (rc == 0 && dir_take_meta(a, &d) != 0)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
  acme_dir_obj_free(&d);
  return rc;
}

/* The max-age of a Cache-Control value, or -1 (none, no-store, no-cache,
 * malformed). */
static int64_t max_age(const char *cc) {
  uint64_t v;
  char num[24];
  if (cc == NULL || strstr(cc, "no-store") != NULL ||
      strstr(cc, "no-cache") != NULL)
    return -1;
  const char *p = strstr(cc, "max-age=");
  if (p == NULL)
    return -1;
  p += 8;
  size_t n = strspn(p, "0123456789");
  if (n == 0 || n >= sizeof(num))
    return -1;
  memcpy(num, p, n);
  num[n] = '\0';
  return byoca_parse_uint(num, INT32_MAX, &v) == 0 ? (int64_t)v : -1;
}

int64_t byoca_acme_directory_max_age(const struct byoca_acme *a) {
  return a->dir_max_age;
}

/* D-WELLKNOWN: the URL the redirects ended at is the directory; a
 * directory whose meta.caaIdentities exists and lacks the issuer is not
 * the CA the owner named. */
static int wellknown_adopt(struct byoca_acme *a, const struct acme_resp *resp,
                           struct byoca_err *err) {
  json_t *ids = json_object_get(json_object_get(resp->json, ACME_DIR_META),
                                ACME_META_CAA);
  if (json_is_array(ids)) {
    size_t i;
    json_t *v;
    int found = 0;
    json_array_foreach(ids, i, v) {
      found |=
          json_is_string(v) && byoca_strcaseeq(json_string_value(v), a->issuer);
    }
    if (!found)
      return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                           "the directory at %.200s does not list %.100s in"
                           " its caaIdentities",
                           resp->http->url, a->issuer);
  }
  if (resp->http->url != NULL && strcmp(resp->http->url, a->dir_url) != 0) {
    char *u = strdup(resp->http->url);
    if (u == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    free(a->dir_url);
    a->dir_url = u;
  }
  return 0;
}

static void dir_done(void *arg, const struct acme_resp *resp,
                     const struct byoca_err *err) {
  struct dir_ctx *c = arg;
  struct byoca_err e = {0};
  if (err != NULL) {
    byoca_err_copy(&e, err);
  } else if (resp->status != 200) {
    acme_err_http(&e, resp, "fetching the directory");
  } else if (resp->json == NULL) {
    byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "directory %.200s is not JSON", c->a->dir_url);
  } else if (c->a->issuer != NULL && wellknown_adopt(c->a, resp, &e) != 0) {
    /* refused: e says why */
  } else if (dir_validate(c->a, resp->json, &e) == 0) {
    c->a->dir = json_incref(resp->json);
    c->a->dir_max_age = max_age(byoca_http_header(resp->http, "Cache-Control"));
  }
  byoca_err_activity(&e, "reading the ACME directory %.200s", c->a->dir_url);
  c->cb(c->arg, e.code != 0 ? &e : NULL);
  byoca_err_clear(&e);
  free(c);
}

int byoca_acme_directory(struct byoca_acme *a, byoca_acme_cb cb, void *arg) {
  struct byoca_err e = {0};
  if (a->dir != NULL) {
    acme_defer(a, cb, arg, NULL);
    return 0;
  }
  struct dir_ctx *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return BYOCA_E_NOMEM;
  c->a = a;
  c->cb = cb;
  c->arg = arg;
  int rc = acme_get(a, a->dir_url, a->issuer != NULL, dir_done, free, c, &e);
  if (rc != 0) {
    free(c);
    byoca_err_activity(&e, "reading the ACME directory %.200s", a->dir_url);
    acme_defer(a, cb, arg, &e);
    byoca_err_clear(&e);
  }
  return 0;
}
