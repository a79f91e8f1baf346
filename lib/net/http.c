/* The HTTP client: one libcurl multi handle driven by libevent on the loop
 * (multi-socket API), request lifecycle, redirects and delivery of results.
 * What one hop does (policy, pinning, the easy handle) is in http_hop.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "byoca/net.h"
#include "net_int.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY (2u * 1024 * 1024)
#define DEFAULT_MAX_REDIRECTS 5
#define MAX_CONNECTS 64

struct http_sock {
  struct byoca_http *h;
  struct http_sock *prev, *next;
  struct event *ev;
  curl_socket_t fd;
  short what; /* the events ev waits for */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void) {
  curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int64_t net_http_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sockets and timer: the multi-socket plumbing ---- */

static void check_done(struct byoca_http *h);

static void sock_free(struct http_sock *s) {
  struct byoca_http *h = s->h;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    h->socks = s->next;
  if (s->next != NULL)
    s->next->prev = s->prev;
  event_free(s->ev);
  free(s);
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg) {
  struct http_sock *s = arg;
  struct byoca_http *h = s->h; /* s may be gone after socket_action */
  int flags = 0, running;
  if (what & EV_READ)
    flags |= CURL_CSELECT_IN;
  if (what & EV_WRITE)
    flags |= CURL_CSELECT_OUT;
  net_http_enter(h);
  (void)curl_multi_socket_action(h->multi, fd, flags, &running);
  check_done(h);
  net_http_leave(h);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  (void)e;
  struct byoca_http *h = userp;
  struct http_sock *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (s != NULL) {
      curl_multi_assign(h->multi, fd, NULL);
      sock_free(s);
    }
    return 0;
  }
  short ev = EV_PERSIST;
  if (what & CURL_POLL_IN)
    ev |= EV_READ;
  if (what & CURL_POLL_OUT)
    ev |= EV_WRITE;
  if (s == NULL) {
    if ((s = calloc(1, sizeof(*s))) == NULL)
      return -1;
    s->h = h;
    s->fd = fd;
    if ((s->ev = event_new(h->base, fd, ev, on_sock_event, s)) == NULL) {
      free(s);
      return -1;
    }
    s->next = h->socks;
    if (h->socks != NULL)
      h->socks->prev = s;
    h->socks = s;
    curl_multi_assign(h->multi, fd, s);
  } else if (s->what == ev) {
    return 0; /* already waiting for these: no epoll_ctl */
  } else {
    event_del(s->ev);
    event_assign(s->ev, h->base, fd, ev, on_sock_event, s);
  }
  s->what = ev;
  return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

static void on_timer_fire(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct byoca_http *h = arg;
  int running;
  net_http_enter(h);
  (void)curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(h);
  net_http_leave(h);
}

static int on_timer_set(CURLM *m, long ms, void *userp) {
  (void)m;
  struct byoca_http *h = userp;
  if (ms < 0)
    return evtimer_del(h->timer) == 0 ? 0 : -1;
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  return evtimer_add(h->timer, &tv) == 0 ? 0 : -1;
}

/* ---- lifecycle ---- */

static int set_defaults(struct byoca_http *h, const struct byoca_http_opts *o) {
  h->user_agent = byoca_strdup(o->user_agent != NULL ? o->user_agent
                                                     : "byoca/" BYOCA_VERSION);
  h->ca_bundle = byoca_strdup(o->ca_bundle);
  h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  h->connect_timeout_ms = o->connect_timeout_ms > 0
                              ? o->connect_timeout_ms
                              : DEFAULT_CONNECT_TIMEOUT_MS;
  h->max_body = o->max_body > 0 ? o->max_body : DEFAULT_MAX_BODY;
  h->max_redirects =
      o->max_redirects > 0 ? o->max_redirects : DEFAULT_MAX_REDIRECTS;
  h->policy = o->policy;
  h->resolver = o->resolver;
  if (h->user_agent == NULL || (o->ca_bundle != NULL && h->ca_bundle == NULL))
    return BYOCA_E_NOMEM;
  return 0;
}

CURL *net_http_easy_get(struct byoca_http *h) {
  return h->nspare > 0 ? h->spare[--h->nspare] : curl_easy_init();
}

void net_http_easy_put(struct byoca_http *h, CURL *e) {
  if (e == NULL)
    return;
  if (h->nspare < NET_HTTP_SPARE && !h->dead) {
    curl_easy_reset(e);
    h->spare[h->nspare++] = e;
  } else {
    curl_easy_cleanup(e);
  }
}

static void destroy(struct byoca_http *h) {
  if (h->multi != NULL)
    curl_multi_cleanup(h->multi);
  while (h->nspare > 0)
    curl_easy_cleanup(h->spare[--h->nspare]);
  while (h->socks != NULL)
    sock_free(h->socks);
  if (h->timer != NULL)
    event_free(h->timer);
  for (size_t i = 0; i < h->ntrust; i++)
    free(h->trust[i].host);
  free(h->trust);
  free(h->user_agent);
  free(h->ca_bundle);
  free(h);
}

struct byoca_http *byoca_http_new(struct byoca_loop *loop,
                                  const struct byoca_http_opts *opts,
                                  struct byoca_err *err) {
  struct byoca_http_opts none = {0};
  struct byoca_http *h = NULL;
  pthread_once(&curl_once, curl_init_once);
  if (!curl_ok || loop == NULL) {
    byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                  "cannot initialise libcurl");
    return NULL;
  }
  if ((h = calloc(1, sizeof(*h))) == NULL ||
      set_defaults(h, opts != NULL ? opts : &none) != 0)
    goto nomem;
  h->loop = loop;
  h->base = byoca_loop_base(loop);
  h->timer = evtimer_new(h->base, on_timer_fire, h);
  h->multi = curl_multi_init();
  if (h->timer == NULL || h->multi == NULL)
    goto nomem;
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTS);
  return h;
nomem:
  byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  if (h != NULL)
    destroy(h);
  return NULL;
}

static void xfer_unlink(struct http_xfer *x) {
  struct byoca_http *h = x->h;
  if (x->prev != NULL)
    x->prev->next = x->next;
  else if (h->xfers == x)
    h->xfers = x->next;
  if (x->next != NULL)
    x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

static void xfer_free(struct http_xfer *x) {
  net_http_hop_reset(x);
  byoca_err_clear(&x->err);
  for (size_t i = 0; x->headers != NULL && x->headers[i] != NULL; i++)
    free(x->headers[i]);
  free(x->headers);
  free(x->method);
  free(x->url);
  free(x->content_type);
  free(x->body);
  free(x);
}

void byoca_http_free(struct byoca_http *h) {
  if (h == NULL || h->dead)
    return;
  while (h->xfers != NULL) { /* cancelled: no callbacks, only dropped */
    struct http_xfer *x = h->xfers;
    xfer_unlink(x);
    if (x->dropped != NULL)
      x->dropped(x->arg);
    xfer_free(x);
  }
  if (h->busy > 0) {
    h->dead = 1; /* the outermost net_http_leave destroys it */
    return;
  }
  destroy(h);
}

void net_http_enter(struct byoca_http *h) {
  h->busy++;
}

void net_http_leave(struct byoca_http *h) {
  if (--h->busy == 0 && h->dead)
    destroy(h);
}

int net_http_is_trusted(const struct byoca_http *h, const char *host,
                        int port) {
  for (size_t i = 0; i < h->ntrust; i++)
    if (h->trust[i].port == port && strcasecmp(h->trust[i].host, host) == 0)
      return 1;
  return 0;
}

int byoca_http_trust_url(struct byoca_http *h, const char *url) {
  char *scheme = NULL, *host = NULL;
  int port = 0, rc = 0;
  if (h == NULL || byoca_url_split(url, &scheme, &host, &port) != 0 ||
      net_url_default_port(scheme) == 0) {
    rc = BYOCA_E_INVAL;
    goto out;
  }
  if (port == 0)
    port = net_url_default_port(scheme);
  if (net_http_is_trusted(h, host, port))
    goto out;
  struct http_trust *t = realloc(h->trust, (h->ntrust + 1) * sizeof(*t));
  if (t == NULL) {
    rc = BYOCA_E_NOMEM;
    goto out;
  }
  h->trust = t;
  t[h->ntrust].host = host;
  t[h->ntrust].port = port;
  h->ntrust++;
  host = NULL;
out:
  free(scheme);
  free(host);
  return rc;
}

/* ---- delivery ---- */

static void deliver(struct http_xfer *x, int ok) {
  struct byoca_http *h = x->h;
  struct byoca_http_resp resp;
  char empty[1] = "";
  long status = 0;
  /* x leaves the list first: byoca_http_free inside the callback must not
     see it, and we free it ourselves afterwards */
  xfer_unlink(x);
  if (x->in_multi) {
    curl_multi_remove_handle(h->multi, x->easy);
    x->in_multi = 0;
  }
  if (ok) {
    if (x->easy != NULL)
      curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.headers = x->rh;
    resp.nheaders = x->nrh;
    resp.body = x->body_buf;
    if (resp.body.data == NULL)
      resp.body.data = empty;
    resp.url = x->url;
  }
  net_http_enter(h);
  x->cb(x->arg, ok ? &resp : NULL, ok ? NULL : &x->err);
  xfer_free(x);
  net_http_leave(h);
}

void net_http_xfer_fail(struct http_xfer *x) {
  if (x->err.code == 0)
    byoca_err_set(&x->err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                  "request failed for no known reason");
  deliver(x, 0);
}

static int is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

/* Moves x to the Location of a redirect response; the new hop is judged
 * like the first one (trust, https, policy, pinning). */
static void redirect(struct http_xfer *x, long status, const char *loc) {
  struct byoca_http *h = x->h;
  if (x->hops >= h->max_redirects) {
    byoca_err_set(&x->err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "too many redirects (more than %d) at %.200s",
                  h->max_redirects, x->url);
    net_http_xfer_fail(x);
    return;
  }
  char *next = byoca_url_resolve(x->url, loc);
  if (next == NULL) {
    byoca_err_set(&x->err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "invalid redirect from %.200s", x->url);
    net_http_xfer_fail(x);
    return;
  }
  free(x->url);
  x->url = next;
  x->hops++;
  int to_get =
      (status == 303 && strcmp(x->method, "HEAD") != 0) ||
      ((status == 301 || status == 302) && strcmp(x->method, "POST") == 0);
  if (to_get) {
    char *get = byoca_strdup("GET");
    if (get == NULL) {
      byoca_err_set(&x->err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                    "out of memory");
      net_http_xfer_fail(x);
      return;
    }
    free(x->method);
    x->method = get;
    free(x->body);
    x->body = NULL;
    x->body_len = 0;
    free(x->content_type);
    x->content_type = NULL;
  }
  net_http_hop_reset(x);
  if (net_http_hop_start(x) != 0)
    net_http_xfer_fail(x);
}

static const char *hop_header(const struct http_xfer *x, const char *name) {
  for (size_t i = 0; i < x->nrh; i++)
    if (strcasecmp(x->rh[i].name, name) == 0)
      return x->rh[i].value;
  return NULL;
}

static void xfer_done(struct http_xfer *x, CURLcode rc) {
  long status = 0;
  const char *loc;
  curl_multi_remove_handle(x->h->multi, x->easy);
  x->in_multi = 0;
  if (rc != CURLE_OK) {
    net_http_hop_error(x, rc);
    net_http_xfer_fail(x);
    return;
  }
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (x->follow && is_redirect(status) &&
      (loc = hop_header(x, "Location")) != NULL) {
    redirect(x, status, loc);
    return;
  }
  deliver(x, 1);
}

static void check_done(struct byoca_http *h) {
  CURLMsg *m;
  int left;
  while (!h->dead && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURLcode rc = m->data.result;
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    if (priv != NULL)
      xfer_done((struct http_xfer *)(void *)priv, rc);
  }
}

/* ---- requests ---- */

static char **copy_headers(const char *const *in, int *ok) {
  size_t n = 0;
  *ok = 1;
  if (in == NULL)
    return NULL;
  while (in[n] != NULL)
    n++;
  char **out = calloc(n + 1, sizeof(*out));
  for (size_t i = 0; out != NULL && i < n; i++)
    if ((out[i] = byoca_strdup(in[i])) == NULL)
      *ok = 0;
  if (out == NULL)
    *ok = 0;
  return out;
}

static struct http_xfer *xfer_new(struct byoca_http *h,
                                  const struct byoca_http_req *req) {
  int ok;
  struct http_xfer *x = calloc(1, sizeof(*x));
  if (x == NULL)
    return NULL;
  x->h = h;
  x->method = byoca_strdup(req->method);
  x->url = byoca_strdup(req->url);
  x->content_type = byoca_strdup(req->content_type);
  x->headers = copy_headers(req->headers, &ok);
  x->follow = req->follow_redirects;
  x->started_ms = net_http_mono_ms();
  if (req->body_len > 0 && (x->body = malloc(req->body_len)) != NULL)
    memcpy(x->body, req->body, req->body_len);
  x->body_len = req->body_len;
  if (!ok || x->method == NULL || x->url == NULL ||
      (req->content_type != NULL && x->content_type == NULL) ||
      (req->body_len > 0 && x->body == NULL)) {
    xfer_free(x);
    return NULL;
  }
  return x;
}

static void on_deferred_fail(void *arg) {
  struct http_xfer *x = arg;
  struct byoca_http *h = x->h;
  x->timer = NULL;
  net_http_enter(h);
  net_http_xfer_fail(x);
  net_http_leave(h);
}

int byoca_http_send(struct byoca_http *h, const struct byoca_http_req *req,
                    byoca_http_cb cb, void *arg, struct byoca_err *err) {
  if (h == NULL || req == NULL || req->url == NULL || cb == NULL ||
      req->method == NULL || h->dead)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "invalid HTTP request");
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
      strcmp(req->method, "POST") != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "unsupported HTTP method '%.16s'", req->method);
  if (req->body_len > 0 && req->body == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "HTTP request body missing");
  struct http_xfer *x = xfer_new(h, req);
  if (x == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  x->cb = cb;
  x->dropped = req->dropped;
  x->arg = arg;
  x->next = h->xfers;
  if (h->xfers != NULL)
    h->xfers->prev = x;
  h->xfers = x;
  if (net_http_hop_start(x) != 0) {
    /* never call back from inside this call: report from the loop */
    x->timer = byoca_timer_add(h->loop, 0, on_deferred_fail, x);
    if (x->timer == NULL) {
      xfer_unlink(x);
      xfer_free(x);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    }
  }
  return 0;
}

const char *byoca_http_header(const struct byoca_http_resp *resp,
                              const char *name) {
  if (resp == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < resp->nheaders; i++)
    if (strcasecmp(resp->headers[i].name, name) == 0)
      return resp->headers[i].value;
  return NULL;
}
