/* http-01 built-in responder (RFC 8555 §8.3): a tiny libevent evhttp server
 * on the loop that answers GET /.well-known/acme-challenge/<token> with the
 * key authorization of tokens currently set up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "byoca/solve.h"
#include "byoca/util.h"
#include "solve_int.h"

#define NBUCKET 256
#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"
#define KEYAUTHZ_MAX 1024

struct entry {
  struct entry *next;
  char *token;
  char *key_authz;
  unsigned refs;           /* setups not yet cleaned up */
  void (*seen)(void *arg); /* told when the CA fetched it, or NULL */
  void *seen_arg;
};

struct standalone {
  struct event_base *base;
  struct evhttp *http;
  struct entry *bucket[NBUCKET];
};

/* FNV-1a; tokens are random, any spread does. */
static unsigned bucket_of(const char *token) {
  uint32_t h = 2166136261u;
  for (const unsigned char *c = (const unsigned char *)token; *c; c++)
    h = (h ^ *c) * 16777619u;
  return h % NBUCKET;
}

static struct entry **find(struct standalone *sa, const char *token) {
  struct entry **e = &sa->bucket[bucket_of(token)];
  while (*e && strcmp((*e)->token, token) != 0)
    e = &(*e)->next;
  return e;
}

static void entry_free(struct entry *e) {
  free(e->token);
  free(e->key_authz);
  free(e);
}

static void reply(struct evhttp_request *req, int code, const char *reason,
                  const char *body) {
  struct evbuffer *b = body ? evbuffer_new() : NULL;
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "text/plain");
  evhttp_add_header(h, "Cache-Control", "no-store");
  if (b && evbuffer_add(b, body, strlen(body)) != 0) {
    evbuffer_free(b);
    evhttp_send_error(req, HTTP_INTERNAL, NULL);
    return;
  }
  evhttp_send_reply(req, code, reason, b);
  if (b)
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg) {
  struct standalone *sa = arg;
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  /* evhttp already answers 501 to other methods; this is a second lock. */
  if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
    reply(req, 405, "Method Not Allowed", NULL);
    return;
  }
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  size_t plen = strlen(CHALLENGE_PREFIX);
  if (path && strncmp(path, CHALLENGE_PREFIX, plen) == 0 &&
      solve_token_valid(path + plen)) {
    struct entry *e = *find(sa, path + plen);
    if (e) {
      reply(req, HTTP_OK, "OK", e->key_authz);
      if (e->seen != NULL)
        e->seen(e->seen_arg);
      return;
    }
  }
  reply(req, HTTP_NOTFOUND, "Not Found", NULL);
}

/* Binds one listening socket and hands it to evhttp. Returns 0 or an
 * errno. */
static int listen_on(struct standalone *sa, const struct sockaddr *addr,
                     socklen_t alen) {
  int fd = solve_listen_fd(addr, alen);
  if (fd < 0)
    return -fd;
  struct evconnlistener *l = evconnlistener_new(
      sa->base, NULL, NULL,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 0, fd);
  if (!l) {
    close(fd);
    return ENOMEM;
  }
  if (!evhttp_bind_listener(sa->http, l)) {
    evconnlistener_free(l);
    return ENOMEM;
  }
  return 0;
}

static int sa_supports(void *ctx, const char *type) {
  (void)ctx;
  return strcmp(type, "http-01") == 0;
}

static int sa_setup(void *ctx, const struct byoca_challenge *ch,
                    byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct standalone *sa = ctx;
  if (!solve_token_valid(ch->token))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "http-01 token is not base64url");
  if (!ch->key_authz || strlen(ch->key_authz) > KEYAUTHZ_MAX)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "http-01 key authorization missing or too long");
  struct entry *e = *find(sa, ch->token);
  if (e) {
    char *ka = byoca_strdup(ch->key_authz);
    if (!ka)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    free(e->key_authz);
    e->key_authz = ka;
    e->refs++;
  } else {
    e = calloc(1, sizeof(*e));
    if (e) {
      e->token = byoca_strdup(ch->token);
      e->key_authz = byoca_strdup(ch->key_authz);
    }
    if (!e || !e->token || !e->key_authz) {
      if (e)
        entry_free(e);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    }
    e->refs = 1;
    unsigned b = bucket_of(e->token);
    e->next = sa->bucket[b];
    sa->bucket[b] = e;
  }
  cb(arg, NULL);
  return 0;
}

static int sa_cleanup(void *ctx, const struct byoca_challenge *ch,
                      byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct standalone *sa = ctx;
  (void)err;
  if (ch->token) {
    struct entry **pe = find(sa, ch->token);
    struct entry *e = *pe;
    if (e && --e->refs == 0) {
      *pe = e->next;
      entry_free(e);
    }
  }
  cb(arg, NULL);
  return 0;
}

static void sa_watch(void *ctx, const struct byoca_challenge *ch,
                     void (*seen)(void *arg), void *arg) {
  struct entry *e = ch->token != NULL ? *find(ctx, ch->token) : NULL;
  if (e == NULL || (seen == NULL && e->seen_arg != arg))
    return; /* gone, or watched by a newer setup of the same token */
  e->seen = seen;
  e->seen_arg = seen != NULL ? arg : NULL;
}

static void sa_free(void *ctx) {
  struct standalone *sa = ctx;
  if (!sa)
    return;
  if (sa->http)
    evhttp_free(sa->http);
  for (size_t i = 0; i < NBUCKET; i++)
    while (sa->bucket[i]) {
      struct entry *e = sa->bucket[i];
      sa->bucket[i] = e->next;
      entry_free(e);
    }
  free(sa);
}

static const struct byoca_solver_ops standalone_ops = {
    .supports = sa_supports,
    .setup = sa_setup,
    .cleanup = sa_cleanup,
    .watch = sa_watch,
    .free = sa_free,
};

static struct standalone *standalone_new(struct byoca_loop *loop) {
  struct standalone *sa = calloc(1, sizeof(*sa));
  if (!sa)
    return NULL;
  sa->base = byoca_loop_base(loop);
  sa->http = evhttp_new(sa->base);
  if (!sa->http) {
    free(sa);
    return NULL;
  }
  evhttp_set_allowed_methods(sa->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_max_headers_size(sa->http, 16384);
  evhttp_set_max_body_size(sa->http, 1024);
  evhttp_set_timeout(sa->http, 10);
  evhttp_set_gencb(sa->http, on_request, sa);
  return sa;
}

/* Also listens on [::] when no address was given, so IPv6 validation works;
 * a host without IPv6 is fine. */
static void listen_v6_any(struct standalone *sa, int port) {
  struct sockaddr_storage ss;
  socklen_t len;
  if (solve_addr_parse("::", port, &ss, &len) != 0)
    return;
  int e = listen_on(sa, (struct sockaddr *)&ss, len);
  if (e && e != EAFNOSUPPORT && e != EADDRNOTAVAIL)
    byoca_log(BYOCA_LOG_WARN, "cannot listen on [::]:%d for http-01: %s", port,
              strerror(e));
}

struct byoca_solver *byoca_solver_http_standalone(struct byoca_loop *loop,
                                                  const char *addr, int port,
                                                  struct byoca_err *err) {
  struct sockaddr_storage ss;
  socklen_t len;
  const char *shown = addr ? addr : "0.0.0.0";
  if (port == 0)
    port = 80;
  if (!loop || port < 0 || port > 65535) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid http-01 listen port %d", port);
    return NULL;
  }
  if (solve_addr_parse(shown, port, &ss, &len) != 0) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid http-01 listen address %s (need an IP address)",
                  shown);
    return NULL;
  }
  struct standalone *sa = standalone_new(loop);
  if (!sa) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  int e = listen_on(sa, (struct sockaddr *)&ss, len);
  if (e) {
    int v6 = ss.ss_family == AF_INET6;
    byoca_err_set(err, BYOCA_E_NET, BYOCA_CLASS_INPUT,
                  "cannot listen on %s%s%s:%d for http-01: %s", v6 ? "[" : "",
                  shown, v6 ? "]" : "", port, strerror(e));
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    sa_free(sa);
    return NULL;
  }
  if (!addr)
    listen_v6_any(sa, port);
  return solve_new("standalone", &standalone_ops, sa, err);
}
