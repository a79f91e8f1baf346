/* The listeners and the front door of every request: the routing table
 * (method + path pattern -> handler and who may call it), bearer-token
 * authentication and scope, the drain switch, and one access-log line per
 * request. Handlers only see requests they may answer.
 *
 * On PostgreSQL every API route is marked LANE (its handler uses only
 * the call and its store) and runs with its authentication on the
 * manager's store lane for requests (byoca_manager_store_run), the answer
 * deferred: the handler's answer is kept (struct bd_later) and sent from
 * the loop, after the handler's step on the loop (c->then: what it asks
 * of the manager), so the loop never waits for the store. Only the
 * public /healthz and http-01 routes (LOOP) stay on the loop: the first
 * reads no store, the second answers from memory or defers itself. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bd.h"
#include "byoca/solve.h"

#define PARAM_MAX 256
#define TOKEN_MAX 128
#define LATER_HEADERS 8

/* Whether a route's handler may run on a store lane (LOOP: it reads no
 * store on the loop, or defers its own store work). */
enum { LOOP = 0, LANE = 1 };

struct route {
  const char *method;
  const char *pattern; /* '*' = one path segment, '+' = the rest of the
                          path: parameters */
  enum bd_scope scope;
  bd_handler fn;
  int lane;        /* LANE: the handler touches only the call and c->store */
  bd_handler prep; /* NULL, or run on the loop first (sets c->ctx) */
};

static const struct route public_routes[] = {
    {"GET", "/.well-known/acme-challenge/*", BD_PUBLIC, wk_challenge, LOOP,
     NULL},
    {"GET", "/.well-known/acme-keys", BD_PUBLIC, wk_acme_keys, LANE, NULL},
    {"GET", "/healthz", BD_PUBLIC, wk_healthz, LOOP, NULL},
};

static const struct route api_routes[] = {
    {"POST", "/v1/tenants", BD_OPERATOR, api_tenants_create, LANE, NULL},
    {"GET", "/v1/tenants", BD_OPERATOR, api_tenants_list, LANE, NULL},
    {"GET", "/v1/tenants/*", BD_OPERATOR, api_tenants_get, LANE, NULL},
    {"DELETE", "/v1/tenants/*", BD_OPERATOR, api_tenants_delete, LANE, NULL},
    {"PUT", "/v1/tenants/*/profile", BD_OPERATOR, api_tenants_profile, LANE,
     NULL},
    {"POST", "/v1/tenants/*/tokens", BD_OPERATOR, api_tokens_create, LANE,
     NULL},
    {"GET", "/v1/tenants/*/tokens", BD_OPERATOR, api_tokens_list, LANE, NULL},
    {"DELETE", "/v1/tenants/*/tokens/*", BD_OPERATOR, api_tokens_delete, LANE,
     NULL},
    {"POST", "/v1/tokens", BD_OPERATOR, api_optokens_create, LANE, NULL},
    {"GET", "/v1/tokens", BD_OPERATOR, api_optokens_list, LANE, NULL},
    {"DELETE", "/v1/tokens/*", BD_OPERATOR, api_optokens_delete, LANE, NULL},
    {"GET", "/v1/cas", BD_OPERATOR, api_cas_list, LANE, NULL},
    {"GET", "/v1/nodes", BD_OPERATOR, api_nodes_list, LANE, api_nodes_prep},
    {"GET", "/metrics", BD_OPERATOR, metrics_get, LANE, metrics_prep},
    {"GET", "/v1/events", BD_ANY, api_events_list, LANE, NULL},
    {"POST", "/v1/certificates", BD_TENANT, api_certs_add, LANE, NULL},
    {"POST", "/v1/certificates/import", BD_TENANT, api_certs_import, LANE,
     NULL},
    {"GET", "/v1/certificates", BD_TENANT, api_certs_list, LANE, NULL},
    {"GET", "/v1/certificates/*", BD_TENANT, api_certs_get, LANE, NULL},
    {"DELETE", "/v1/certificates/*", BD_TENANT, api_certs_delete, LANE, NULL},
    {"POST", "/v1/certificates/*/renew", BD_TENANT, api_certs_renew, LANE,
     NULL},
    {"GET", "/v1/certificates/*/chain", BD_TENANT, api_certs_chain, LANE, NULL},
    {"PUT", "/v1/eab/+", BD_TENANT, api_eab_put, LANE, NULL},
    {"GET", "/v1/eab", BD_TENANT, api_eab_list, LANE, NULL},
    {"DELETE", "/v1/eab/+", BD_TENANT, api_eab_delete, LANE, NULL},
    {"PUT", "/v1/rfc2136/*", BD_TENANT, api_rfc2136_put, LANE, NULL},
    {"GET", "/v1/rfc2136", BD_TENANT, api_rfc2136_list, LANE, NULL},
    {"DELETE", "/v1/rfc2136/*", BD_TENANT, api_rfc2136_delete, LANE, NULL},
};

struct table {
  const struct route *r;
  size_t n;
};

/* Parameters of a matched route, owned by the call. */
struct params {
  char v[BD_MAX_PARAMS][PARAM_MAX];
};

/* 1 if path matches pattern; the '*' segments go to p. */
static int match(const char *pattern, const char *path, struct params *p) {
  size_t np = 0;
  while (*pattern != '\0') {
    if (*pattern == '*' || *pattern == '+') {
      size_t n = *pattern == '*' ? strcspn(path, "/") : strlen(path);
      if (n == 0 || n >= PARAM_MAX || np == BD_MAX_PARAMS)
        return 0;
      memcpy(p->v[np], path, n);
      p->v[np++][n] = '\0';
      path += n;
      pattern++;
    } else if (*pattern++ != *path++) {
      return 0;
    }
  }
  return *path == '\0';
}

/* The route for the call's method, or NULL; *allow lists the methods the
 * path has (for 405). */
static const struct route *find(const struct table *t, struct bd_call *c,
                                struct params *p, char *allow, size_t len) {
  const struct route *hit = NULL;
  allow[0] = '\0';
  for (size_t ti = 0; ti < 2; ti++)
    for (size_t i = 0; i < t[ti].n; i++) {
      const struct route *r = &t[ti].r[i];
      struct params tmp;
      if (!match(r->pattern, c->path, &tmp))
        continue;
      if (strcmp(r->method, c->method) == 0 && hit == NULL) {
        hit = r;
        *p = tmp;
      }
      if (strstr(allow, r->method) == NULL) {
        if (allow[0] != '\0')
          byoca_strlcpy(allow + strlen(allow), ", ", len - strlen(allow));
        byoca_strlcpy(allow + strlen(allow), r->method, len - strlen(allow));
      }
    }
  return hit;
}

/* The bearer token's tenant into *out (0 = operator); answers 401/500
 * and returns -1 on failure. */
static int authenticate(struct bd_call *c, int64_t *out) {
  const char *h = c->auth;
  if (h == NULL) {
    bd_problem(c, 401, "a bearer token is required");
    return -1;
  }
  if (strncasecmp(h, "Bearer ", 7) != 0) {
    bd_problem(c, 401, "the Authorization header must be 'Bearer TOKEN'");
    return -1;
  }
  char tok[TOKEN_MAX + 1];
  const char *t = h + 7 + strspn(h + 7, " ");
  size_t n = strcspn(t, " \t");
  if (n == 0 || n > TOKEN_MAX || t[n + strspn(t + n, " \t")] != '\0') {
    bd_problem(c, 401, "unknown or revoked token");
    return -1;
  }
  memcpy(tok, t, n);
  tok[n] = '\0';
  struct byoca_err e = {0};
  int rc = byoca_store_token_check(c->store, tok, out, &e);
  explicit_bzero(tok, sizeof(tok));
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 401, "unknown or revoked token");
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  return rc == 0 ? 0 : -1;
}

/* ?tenant= for the operator: *out the id (0 when absent). */
static int tenant_param(struct bd_call *c, int64_t *out) {
  const char *v = byoca_httpd_query(c->req, "tenant");
  uint64_t id = 0;
  *out = 0;
  if (v == NULL)
    return 0;
  if (byoca_parse_uint(v, INT64_MAX, &id) != 0 || id == 0) {
    bd_problem(c, 400, "tenant=ID: '%.40s' is not a tenant id", v);
    return -1;
  }
  *out = (int64_t)id;
  return 0;
}

static int operator_tenant(struct bd_call *c, enum bd_scope scope) {
  int64_t id;
  if (tenant_param(c, &id) != 0)
    return -1;
  if (scope == BD_ANY) {
    c->tenant = id;
    return 0;
  }
  if (id == 0) {
    bd_problem(c, 400, "tenant=ID required");
    return -1;
  }
  struct byoca_tenant t;
  struct byoca_err e = {0};
  int rc = byoca_store_tenant_get(c->store, id, &t, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "tenant %lld not found", (long long)id);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  c->tenant = id;
  return rc == 0 ? 0 : -1;
}

/* Sets operator/tenant for the route's scope; answers and returns -1 when
 * the caller may not call it. */
static int authorize(struct bd_call *c, enum bd_scope scope) {
  int64_t owner;
  if (scope == BD_PUBLIC)
    return 0;
  if (authenticate(c, &owner) != 0)
    return -1;
  c->is_operator = owner == 0;
  c->tenant = owner; /* for the access log; narrowed below */
  if (scope == BD_OPERATOR && !c->is_operator) {
    bd_problem(c, 403, "this endpoint needs the operator token");
    return -1;
  }
  if (c->is_operator)
    return scope == BD_OPERATOR ? 0 : operator_tenant(c, scope);
  int64_t asked;
  if (tenant_param(c, &asked) != 0)
    return -1;
  if (asked != 0 && asked != owner) {
    bd_problem(c, 403, "tenant=ID is for the operator token");
    return -1;
  }
  c->tenant = owner;
  return 0;
}

static int mutating(const char *method) {
  return strcmp(method, "GET") != 0;
}

/* A call running on a store lane and the answer it gave. */
struct bd_later {
  struct bd_call c;
  struct params p;
  const struct route *r;
  char *auth; /* copies of the headers: the request's are the loop's */
  char *ctype;
  char *path;   /* for the access log: the request's goes with its answer */
  int answered; /* what bd_reply was given: */
  int oom;
  int status;
  char *type;
  char *body;
  size_t len;
  char *hdr[LATER_HEADERS + 1];
};

static void later_free(struct bd_later *l) {
  if (l->c.ctx_free != NULL)
    l->c.ctx_free(l->c.ctx);
  if (l->auth != NULL)
    explicit_bzero(l->auth, strlen(l->auth));
  free(l->auth);
  free(l->ctype);
  free(l->path);
  free(l->type);
  if (l->body != NULL) /* it may hold a new token */
    explicit_bzero(l->body, l->len);
  free(l->body);
  for (size_t i = 0; l->hdr[i] != NULL; i++)
    free(l->hdr[i]);
  free(l);
}

/* Keeps the handler's answer (on the lane's thread). */
static void later_keep(struct bd_later *l, int status, const char *type,
                       const void *body, size_t len,
                       const char *const *headers) {
  if (l->answered) {
    byoca_log(BYOCA_LOG_ERROR, "api: a handler answered twice; ignored");
    return;
  }
  l->answered = 1;
  l->status = status;
  if (type != NULL && (l->type = strdup(type)) == NULL)
    l->oom = 1;
  if (body != NULL && len > 0) {
    if ((l->body = malloc(len)) == NULL)
      l->oom = 1;
    else
      memcpy(l->body, body, len);
    l->len = len;
  }
  for (size_t i = 0, n = 0; headers != NULL && headers[i] != NULL; i++) {
    if (n == LATER_HEADERS || (l->hdr[n++] = strdup(headers[i])) == NULL)
      l->oom = 1;
  }
}

/* On the lane's thread: authentication and the handler, on the lane's
 * store connection. */
static void later_work(struct byoca_store *s, void *arg) {
  struct bd_later *l = arg;
  l->c.store = s;
  if (authorize(&l->c, l->r->scope) == 0)
    l->r->fn(&l->c);
}

/* On the loop: sends what the handler answered. */
static void later_done(void *arg, int rc) {
  struct bd_later *l = arg;
  struct bd_call *c = &l->c;
  c->later = NULL; /* answers go out now */
  if (rc != 0) {
    bd_problem(c, 503, "the store cannot be read now");
  } else {
    if (c->then != NULL)
      c->then(c); /* the handler's step on the loop; answers if it did not */
    if (l->answered && !l->oom)
      byoca_httpd_respond(c->req, l->status, l->type, l->body, l->len,
                          (const char *const *)l->hdr);
    else if (l->answered || c->status == 0)
      bd_problem(c, 500, "out of memory");
  }
  bd_log_request(c);
  later_free(l);
}

/* Runs the call on the manager's store lane for requests, the answer
 * deferred: 0 when it will be answered from the loop later. */
static int on_lane(struct bd_call *c, const struct route *r,
                   const struct params *p) {
  struct bd_later *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return -1;
  l->c = *c;
  l->p = *p;
  l->r = r;
  for (size_t i = 0; i < BD_MAX_PARAMS; i++)
    l->c.param[i] = l->p.v[i];
  if ((c->auth != NULL && (l->auth = strdup(c->auth)) == NULL) ||
      (c->ctype != NULL && (l->ctype = strdup(c->ctype)) == NULL) ||
      (l->path = strdup(c->path)) == NULL ||
      (l->c.req = byoca_httpd_defer(c->req)) == NULL) {
    l->c.ctx_free = NULL; /* still the caller's */
    later_free(l);
    return -1;
  }
  l->c.auth = l->auth;
  l->c.ctype = l->ctype;
  l->c.path = l->path;
  l->c.later = l;
  c->deferred = 1;
  if (byoca_manager_store_run(c->d->mgr, later_work, later_done, l) != 0)
    later_done(l, BYOCA_E_NOMEM); /* answered now: 503 */
  return 0;
}

static void dispatch(struct bd_call *c, const struct table *t, int api) {
  struct params p;
  char allow[64];
  const struct route *r = find(t, c, &p, allow, sizeof(allow));
  if (r == NULL && (!api || allow[0] == '\0')) {
    bd_problem(c, 404, "no such resource");
    return;
  }
  if (r == NULL) {
    bd_problem_405(c, allow);
    return;
  }
  for (size_t i = 0; i < BD_MAX_PARAMS; i++)
    c->param[i] = p.v[i];
  if (r->scope != BD_PUBLIC && c->d->draining && mutating(c->method)) {
    bd_problem(c, 503, "byocad is shutting down");
    return;
  }
  if (r->prep != NULL) {
    r->prep(c);
    if (c->status != 0) /* answered */
      return;
  }
  if (r->lane == LANE && c->d->mgr != NULL &&
      byoca_manager_store_async(c->d->mgr) && on_lane(c, r, &p) == 0)
    return; /* answered from the loop once the lane ran it */
  if (authorize(c, r->scope) == 0)
    r->fn(c);
  if (c->then != NULL)
    c->then(c);
}

void bd_log_request(const struct bd_call *c) {
  char who[32];
  if (c->tenant > 0)
    snprintf(who, sizeof(who), "%lld", (long long)c->tenant);
  else
    byoca_strlcpy(who, c->is_operator ? "operator" : "-", sizeof(who));
  byoca_log(c->api ? BYOCA_LOG_INFO : BYOCA_LOG_DEBUG,
            "%s: %s %.200s %d tenant=%s %lldms", c->api ? "api" : "http",
            c->verb, c->path, c->status, who,
            (long long)(byoca_now_ms() - c->start_ms));
}

static void handle(struct bd *d, struct byoca_httpd_req *req, int api) {
  struct bd_call c = {
      .d = d, .req = req, .api = api, .start_ms = byoca_now_ms()};
  const char *m = byoca_httpd_method(req);
  c.verb = m;
  c.method = strcmp(m, "HEAD") == 0 ? "GET" : m;
  c.path = byoca_httpd_path(req);
  c.store = d->store;
  c.auth = byoca_httpd_header(req, "Authorization");
  c.ctype = byoca_httpd_header(req, "Content-Type");
  struct table t[2] = {
      {public_routes, sizeof(public_routes) / sizeof(*public_routes)},
      {api ? api_routes : NULL,
       api ? sizeof(api_routes) / sizeof(*api_routes) : 0}};
  dispatch(&c, t, api);
  if (!c.deferred) {
    bd_log_request(&c);
    if (c.ctx_free != NULL)
      c.ctx_free(c.ctx);
  }
}

static void on_api(void *arg, struct byoca_httpd_req *req) {
  handle(arg, req, 1);
}

static void on_web(void *arg, struct byoca_httpd_req *req) {
  handle(arg, req, 0);
}

void bd_reply(struct bd_call *c, int status, const char *content_type,
              const void *body, size_t len, const char *const *headers) {
  c->status = status;
  if (c->later != NULL) /* on a store lane: sent from the loop */
    later_keep(c->later, status, content_type, body, len, headers);
  else
    byoca_httpd_respond(c->req, status, content_type, body, len, headers);
}

static void reply_json(struct bd_call *c, int status, json_t *obj,
                       const char *const *headers, int secret) {
  char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
  json_decref(obj);
  if (text == NULL) {
    bd_problem(c, 500, "out of memory");
    return;
  }
  size_t len = strlen(text);
  bd_reply(c, status, "application/json", text, len, headers);
  if (secret)
    explicit_bzero(text, len);
  free(text);
}

void bd_reply_json(struct bd_call *c, int status, json_t *obj,
                   const char *const *headers) {
  reply_json(c, status, obj, headers, 0);
}

void bd_reply_json_secret(struct bd_call *c, int status, json_t *obj,
                          const char *const *headers) {
  reply_json(c, status, obj, headers, 1);
}

/* Creates the folder of a unix socket when it is missing. */
static int socket_dir(const char *spec, struct byoca_err *err) {
  if (strncmp(spec, "unix:", 5) != 0)
    return 0;
  const char *path = spec + 5;
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path)
    return 0;
  char dir[1024];
  snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  struct stat st;
  if (stat(dir, &st) == 0)
    return 0;
  return byoca_mkdir_p(dir, 0750, err);
}

static int listen_all(struct byoca_httpd *h, const struct bd_list *l,
                      const char *what, struct byoca_err *err) {
  for (size_t i = 0; i < l->n; i++) {
    if (socket_dir(l->v[i], err) != 0 ||
        byoca_httpd_listen(h, l->v[i], err) != 0) {
      byoca_err_activity(err, "listening on %s %.200s", what, l->v[i]);
      return err != NULL && err->code != 0 ? err->code : BYOCA_E_IO;
    }
    byoca_log(BYOCA_LOG_INFO, "listening on %.200s (%s)", l->v[i], what);
  }
  return 0;
}

static void alpn_found(void *arg, int rc, const char *key_authz) {
  byoca_alpn_query_answer(arg, rc, key_authz);
}

/* The responder's source: the key authorization for the validation
 * server name, this node's at once from memory, else what the store holds
 * (written by any node's manager): on PostgreSQL read on the jobs' lane
 * and answered later (the handshake waits, the loop does not), on SQLite
 * at once. */
static int alpn_source(void *arg, const char *sni, struct byoca_alpn_query *q,
                       char *out, size_t outlen) {
  struct bd *d = arg;
  char token[300];
  struct byoca_err e = {0};
  int n = snprintf(token, sizeof(token), BYOCA_ALPN_TOKEN_PREFIX "%s", sni);
  if (n < 0 || (size_t)n >= sizeof(token))
    return BYOCA_E_INVAL;
  int rc = byoca_manager_challenge_get(d->mgr, token, out, outlen);
  if (rc == 0)
    return 0;
  if (byoca_manager_store_async(d->mgr)) /* another node's, if any */
    return byoca_manager_challenge_lookup(d->mgr, token, alpn_found, q) == 0
               ? BYOCA_ALPN_LATER
               : BYOCA_E_TOOBIG; /* refused, never read on the loop */
  rc = byoca_store_challenge_get(d->store, token, byoca_now(), out, outlen, &e);
  if (rc != 0 && rc != BYOCA_E_NOTFOUND)
    byoca_log(BYOCA_LOG_WARN, "tls-alpn-01: reading the challenge for %s: %s",
              sni, e.msg);
  byoca_err_clear(&e);
  return rc;
}

static int alpn_start(struct bd *d, struct byoca_err *err) {
  char addr[64];
  int port;
  const char *spec = d->cfg.tls_alpn_listen;
  if (spec == NULL)
    return 0;
  if (byoca_listen_spec_parse(spec, addr, sizeof(addr), &port) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid [tls-alpn] listen '%.100s'", spec);
  d->alpn = byoca_solver_tls_alpn_async(d->loop, addr[0] != '\0' ? addr : NULL,
                                        port, alpn_source, d, err);
  if (d->alpn == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_NET;
  byoca_log(BYOCA_LOG_INFO, "listening on %.100s (tls-alpn-01)", spec);
  return 0;
}

int bd_server_start(struct bd *d, struct byoca_err *err) {
  int rc = alpn_start(d, err);
  if (rc != 0)
    return rc;
  struct byoca_httpd_opts ao = {.max_body = (size_t)d->cfg.max_body};
  d->api = byoca_httpd_new(d->loop, &ao, on_api, d, err);
  if (d->api == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_NOMEM;
  rc = listen_all(d->api, &d->cfg.api_listen, "api", err);
  if (rc != 0 || d->cfg.http_listen.n == 0)
    return rc;
  /* the public responder takes no bodies worth speaking of */
  struct byoca_httpd_opts wo = {.max_body = 4096, .timeout_ms = 10000};
  d->web = byoca_httpd_new(d->loop, &wo, on_web, d, err);
  if (d->web == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_NOMEM;
  return listen_all(d->web, &d->cfg.http_listen, "http", err);
}

void bd_server_stop(struct bd *d) {
  byoca_solver_free(d->alpn);
  d->alpn = NULL;
  byoca_httpd_free(d->web);
  byoca_httpd_free(d->api);
  d->web = NULL;
  d->api = NULL;
}
