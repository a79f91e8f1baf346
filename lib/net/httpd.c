/* The HTTP server for the daemon's API and the well-known responders:
 * libevent's evhttp on the loop, with size limits and timeouts, a request
 * wrapper that decodes the path and query once, and answers that always
 * carry Content-Length, Cache-Control: no-store and nosniff.
 *
 * Listeners and the connection cap are in httpd_listen.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "byoca/net.h"
#include "byoca/util.h"
#include "httpd_int.h"

#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_MAX_HEADERS (16 * 1024)
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_CONNECTIONS 1024
#define HEADER_NAME_MAX 64

struct byoca_httpd_req {
  struct byoca_httpd *h;
  struct evhttp_request *ev;
  const char *method;
  char *path;
  struct evkeyvalq query;
  char *body;
  size_t body_len;
  int local;
  int responded;
  int deferred; /* a heap copy made by byoca_httpd_defer */
};

static void apply_opts(struct byoca_httpd *h,
                       const struct byoca_httpd_opts *o) {
  size_t max_body = o && o->max_body ? o->max_body : DEFAULT_MAX_BODY;
  size_t max_hdr = o && o->max_headers ? o->max_headers : DEFAULT_MAX_HEADERS;
  int64_t ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  h->max_connections =
      o && o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
  /* evhttp refuses bodies over 4x our limit with its own HTML 413; the
     ones in between reach on_request, which answers a problem document */
  h->max_body = max_body;
  evhttp_set_max_body_size(h->http, (ev_ssize_t)(max_body * 4 + 4096));
  evhttp_set_max_headers_size(h->http, (ev_ssize_t)max_hdr);
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
                       .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
  evhttp_set_timeout_tv(h->http, &tv);
  /* PATCH and OPTIONS reach the handler, so it can answer 405 with Allow */
  evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                          EVHTTP_REQ_HEAD | EVHTTP_REQ_PATCH |
                                          EVHTTP_REQ_OPTIONS);
  /* Read and drop the rest of an oversized body before answering 413, so
     the client sees the answer instead of a reset while still sending; the
     idle timeout bounds how long that may take. */
  evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
}

static void on_request(struct evhttp_request *ev, void *arg);

/* A server on loop; nothing listens until byoca_httpd_listen. */
struct byoca_httpd *byoca_httpd_new(struct byoca_loop *loop,
                                    const struct byoca_httpd_opts *opts,
                                    byoca_httpd_cb cb, void *arg,
                                    struct byoca_err *err) {
  if (loop == NULL || cb == NULL) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "HTTP server needs a loop and a handler");
    return NULL;
  }
  struct byoca_httpd *h = calloc(1, sizeof(*h));
  if (h == NULL)
    goto nomem;
  h->base = byoca_loop_base(loop);
  h->cb = cb;
  h->arg = arg;
  if ((h->http = evhttp_new(h->base)) == NULL)
    goto nomem;
  apply_opts(h, opts);
  evhttp_set_gencb(h->http, on_request, h);
  if (httpd_conncap_init(h) != 0)
    goto nomem;
  return h;
nomem:
  byoca_httpd_free(h);
  byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                "out of memory creating the HTTP server");
  return NULL;
}

/* Stops listening, closes every connection, unlinks our unix sockets. Not
 * from inside the handler. */
void byoca_httpd_free(struct byoca_httpd *h) {
  if (h == NULL)
    return;
  h->freeing = 1;
  httpd_listeners_free_events(h);
  if (h->http != NULL)
    evhttp_free(h->http); /* listeners, sockets, connections */
  httpd_conncap_free(h);
  httpd_listeners_free(h);
  free(h);
}

/* ---- answers ---- */

static int status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

/* Adds one "Name: value" line; 0 or -1 if malformed (evhttp refuses CR/LF
 * in values itself). */
static int add_extra(struct evkeyvalq *out, const char *line) {
  const char *colon = strchr(line, ':');
  if (colon == NULL || colon == line ||
      (size_t)(colon - line) >= HEADER_NAME_MAX)
    return -1;
  char name[HEADER_NAME_MAX];
  memcpy(name, line, (size_t)(colon - line));
  name[colon - line] = '\0';
  for (const char *c = name; *c; c++)
    if (*c <= ' ' || *c >= 127)
      return -1;
  if (byoca_strcaseeq(name, "Content-Length"))
    return -1; /* ours, from len */
  const char *value = colon + 1;
  while (*value == ' ' || *value == '\t')
    value++;
  return evhttp_add_header(out, name, value);
}

static void add_headers(struct byoca_httpd_req *r, int status,
                        const char *content_type, size_t len,
                        const char *const *headers) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
  char num[32];
  if (content_type != NULL &&
      evhttp_add_header(out, "Content-Type", content_type) != 0)
    byoca_log(BYOCA_LOG_ERROR, "HTTP handler gave a malformed Content-Type");
  if (status_has_body(status)) {
    snprintf(num, sizeof(num), "%zu", len);
    evhttp_add_header(out, "Content-Length", num);
  }
  evhttp_add_header(out, "Cache-Control", "no-store");
  evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
    if (add_extra(out, headers[i]) != 0)
      byoca_log(BYOCA_LOG_ERROR,
                "HTTP handler gave a malformed header line; dropped");
}

/* Sends the answer on r->ev. */
static void send_reply(struct byoca_httpd_req *r, int status,
                       const char *content_type, const void *body, size_t len,
                       const char *const *headers) {
  if (status < 100 || status > 599) {
    byoca_log(BYOCA_LOG_ERROR, "HTTP handler answered status %d", status);
    status = 500;
    content_type = NULL;
    body = NULL;
    len = 0;
  }
  if (body == NULL || !status_has_body(status))
    len = 0;
  add_headers(r, status, content_type, len, headers);
  struct evbuffer *buf = evbuffer_new();
  if (buf != NULL && len > 0 && strcmp(r->method, "HEAD") != 0 &&
      evbuffer_add(buf, body, len) != 0) {
    evbuffer_free(buf);
    buf = NULL;
  }
  if (buf == NULL) {
    evhttp_send_error(r->ev, 500, NULL);
    return;
  }
  evhttp_send_reply(r->ev, status, NULL, buf);
  evbuffer_free(buf);
}

/* What a request holds besides evhttp's part. */
static void req_release(struct byoca_httpd_req *r) {
  evhttp_clear_headers(&r->query);
  free(r->path);
  r->path = NULL;
  /* bodies may carry keys (import, EAB): wipe ours */
  if (r->body != NULL)
    explicit_bzero(r->body, r->body_len);
  free(r->body);
  r->body = NULL;
}

/* Sends the answer; see net.h. A second call for one request is logged and
 * ignored. */
void byoca_httpd_respond(struct byoca_httpd_req *r, int status,
                         const char *content_type, const void *body, size_t len,
                         const char *const *headers) {
  if (r == NULL)
    return;
  if (r->responded) {
    byoca_log(BYOCA_LOG_ERROR, "HTTP handler answered %s %s twice", r->method,
              r->path ? r->path : "?");
    return;
  }
  r->responded = 1;
  if (!r->deferred) {
    send_reply(r, status, content_type, body, len, headers);
    return;
  }
  if (r->ev != NULL) { /* the client is still there */
    evhttp_connection_set_closecb(evhttp_request_get_connection(r->ev), NULL,
                                  NULL);
    send_reply(r, status, content_type, body, len, headers);
  }
  req_release(r);
  free(r);
}

/* The connection of a deferred request closed: evhttp frees the request. */
static void on_deferred_gone(struct evhttp_connection *evcon, void *arg) {
  struct byoca_httpd_req *d = arg;
  (void)evcon;
  d->ev = NULL;
}

struct byoca_httpd_req *byoca_httpd_defer(struct byoca_httpd_req *r) {
  struct evhttp_connection *evcon = r != NULL && !r->responded && !r->deferred
                                        ? evhttp_request_get_connection(r->ev)
                                        : NULL;
  struct byoca_httpd_req *d = evcon != NULL ? malloc(sizeof(*d)) : NULL;
  if (d == NULL)
    return NULL;
  *d = *r;
  d->deferred = 1;
  TAILQ_INIT(&d->query); /* the parameters move over */
  struct evkeyval *kv;
  while ((kv = TAILQ_FIRST(&r->query)) != NULL) {
    TAILQ_REMOVE(&r->query, kv, next);
    TAILQ_INSERT_TAIL(&d->query, kv, next);
  }
  r->path = NULL;
  r->body = NULL;
  r->body_len = 0;
  r->responded = 1; /* by d, later */
  evhttp_connection_set_closecb(evcon, on_deferred_gone, d);
  return d;
}

/* The server's own answers (RFC 7807, as the API's). */
static void respond_problem(struct byoca_httpd_req *r, int status,
                            const char *name, const char *title,
                            const char *detail) {
  char body[512];
  int n = snprintf(body, sizeof(body),
                   "{\"type\":\"urn:byoca:error:%s\",\"title\":\"%s\","
                   "\"status\":%d,\"detail\":\"%s\"}",
                   name, title, status, detail);
  byoca_httpd_respond(r, status, "application/problem+json", body,
                      n > 0 ? (size_t)n : 0, NULL);
}

/* ---- requests ---- */

static const char *method_name(enum evhttp_cmd_type t) {
  switch (t) {
  case EVHTTP_REQ_GET:
    return "GET";
  case EVHTTP_REQ_POST:
    return "POST";
  case EVHTTP_REQ_PUT:
    return "PUT";
  case EVHTTP_REQ_DELETE:
    return "DELETE";
  case EVHTTP_REQ_HEAD:
    return "HEAD";
  case EVHTTP_REQ_PATCH:
    return "PATCH";
  case EVHTTP_REQ_OPTIONS:
    return "OPTIONS";
  default:
    return "OTHER";
  }
}

static int came_over_unix(struct evhttp_request *ev) {
  struct evhttp_connection *c = evhttp_request_get_connection(ev);
  struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
  int fd = bev ? (int)bufferevent_getfd(bev) : -1;
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  return ss.ss_family == AF_UNIX;
}

static int has_nul_escape(const char *s) {
  for (; *s; s++)
    if (s[0] == '%' && s[1] == '0' && s[2] == '0')
      return 1;
  return 0;
}

/* Decodes the request target into r; an error status (400, 500) when it is
 * unusable, with the detail in *why. */
static int parse_target(struct byoca_httpd_req *r, const char **why) {
  struct evhttp_uri *u = evhttp_uri_parse(evhttp_request_get_uri(r->ev));
  int rc = 400;
  *why = "malformed request target";
  if (u == NULL)
    return rc;
  const char *raw = evhttp_uri_get_path(u);
  const char *q = evhttp_uri_get_query(u);
  size_t dlen = 0;
  if (raw == NULL || raw[0] != '/')
    goto out;
  if ((r->path = evhttp_uridecode(raw, 0, &dlen)) == NULL) {
    rc = 500;
    *why = "out of memory";
    goto out;
  }
  if (strlen(r->path) != dlen || r->path[0] != '/')
    goto out; /* an encoded NUL */
  *why = "malformed query string";
  if (q != NULL && (has_nul_escape(q) || evhttp_parse_query_str(q, &r->query)))
    goto out;
  rc = 0;
out:
  evhttp_uri_free(u);
  return rc;
}

static void wipe_evbuffer(struct evbuffer *in) {
  size_t len = evbuffer_get_length(in);
  struct evbuffer_iovec v[8];
  int n = evbuffer_peek(in, (ev_ssize_t)len, NULL, v, 8);
  for (int i = 0; i < n && i < 8; i++)
    explicit_bzero(v[i].iov_base, v[i].iov_len);
}

static int copy_body(struct byoca_httpd_req *r) {
  struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
  size_t len = in ? evbuffer_get_length(in) : 0;
  r->body = malloc(len + 1);
  if (r->body == NULL)
    return -1;
  if (len > 0 && evbuffer_copyout(in, r->body, len) != (ev_ssize_t)len)
    return -1;
  r->body[len] = '\0';
  r->body_len = len;
  return 0;
}

static void on_request(struct evhttp_request *ev, void *arg) {
  struct byoca_httpd_req r = {.h = arg, .ev = ev};
  TAILQ_INIT(&r.query);
  r.method = method_name(evhttp_request_get_command(ev));
  const char *why;
  int rc = parse_target(&r, &why);
  if (rc == 0 && copy_body(&r) != 0) {
    rc = 500;
    why = "out of memory";
  }
  if (rc == 0 && r.body_len > r.h->max_body) {
    respond_problem(&r, 413, "tooLarge", "Payload Too Large",
                    "the request body is larger than the server accepts");
  } else if (rc != 0) {
    respond_problem(&r, rc, rc == 400 ? "badRequest" : "internal",
                    rc == 400 ? "Bad Request" : "Internal Server Error", why);
  } else {
    r.local = came_over_unix(ev);
    r.h->cb(r.h->arg, &r);
    if (!r.responded) {
      byoca_log(BYOCA_LOG_ERROR, "HTTP handler did not answer %s %s", r.method,
                r.path);
      respond_problem(&r, 500, "internal", "Internal Server Error",
                      "the request was not answered");
    }
  }
  req_release(&r);
  /* and evhttp's copy of the body */
  struct evbuffer *in = evhttp_request_get_input_buffer(ev);
  if (in != NULL)
    wipe_evbuffer(in);
}

/* ---- accessors ---- */

const char *byoca_httpd_method(const struct byoca_httpd_req *r) {
  return r->method;
}

const char *byoca_httpd_path(const struct byoca_httpd_req *r) {
  return r->path;
}

const char *byoca_httpd_query(const struct byoca_httpd_req *r,
                              const char *name) {
  if (name == NULL)
    return NULL;
  /* parameter names are case-sensitive, unlike evhttp_find_header */
  struct evkeyval *kv;
  TAILQ_FOREACH(kv, &r->query, next) {
    if (strcmp(kv->key, name) == 0)
      return kv->value;
  }
  return NULL;
}

const char *byoca_httpd_header(const struct byoca_httpd_req *r,
                               const char *name) {
  if (name == NULL)
    return NULL;
  return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *byoca_httpd_body(const struct byoca_httpd_req *r, size_t *len) {
  if (len != NULL)
    *len = r->body_len;
  return r->body;
}

int byoca_httpd_is_local(const struct byoca_httpd_req *r) {
  return r->local;
}
