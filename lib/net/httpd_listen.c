/* The HTTP server's listeners ("unix:/path", "tcp:ADDR:PORT", "ADDR:PORT",
 * "[V6]:PORT") and its connection cap.
 *
 * The evhttp of libevent 2.1 has no connection cap and no public way to
 * hand it an accepted socket, so the cap works around evhttp's own accept:
 * every connection evhttp accepts gets its bufferevent from our
 * evhttp_set_bevcb callback, which counts it; right after (from an
 * activated event, still in the same loop iteration) the bufferevent's
 * callback argument -- the evhttp_connection -- gets a close callback that
 * uncounts it. While the count is at max_connections, each listener's
 * evconnlistener is disabled and a plain read event on the same socket
 * accepts and closes every new connection at once; the listener comes back
 * when a connection closes. So: at most max_connections connections are
 * open, and one beyond is closed without a byte read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "byoca/net.h"
#include "byoca/util.h"
#include "httpd_int.h"

#define LISTEN_BACKLOG 511
#define REJECT_BURST 64 /* connections closed per wake-up at the cap */

/* ---- the connection cap ---- */

static void set_rejecting(struct byoca_httpd *h, int on) {
  if (h->rejecting == on || h->freeing)
    return;
  h->rejecting = on;
  for (struct httpd_lsn *l = h->lsn; l != NULL; l = l->next) {
    if (on) {
      evconnlistener_disable(l->evl);
      event_add(l->reject, NULL);
    } else {
      event_del(l->reject);
      evconnlistener_enable(l->evl);
    }
  }
  if (on)
    byoca_log(BYOCA_LOG_WARN,
              "HTTP server: %zu connections open, closing new ones until "
              "one ends",
              h->live);
}

static void reject_fire(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  (void)arg;
  for (int i = 0; i < REJECT_BURST; i++) {
    int c = accept((int)fd, NULL, NULL); /* closed at once */
    if (c < 0)
      break;
    close(c);
  }
}

static void conn_closed(struct evhttp_connection *evcon, void *arg) {
  (void)evcon;
  struct byoca_httpd *h = arg;
  if (h->live > 0)
    h->live--;
  if (h->live < h->max_connections)
    set_rejecting(h, 0);
}

/* Gives each connection accepted since the last run its close callback. */
static void adopt_fire(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct byoca_httpd *h = arg;
  for (size_t i = 0; i < h->npending; i++) {
    struct bufferevent *bev = h->pending[i];
    void *cbarg = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
    if (cbarg != NULL)
      evhttp_connection_set_closecb(cbarg, conn_closed, h);
    else /* evhttp already freed it (bufferevent_free clears callbacks) */
      conn_closed(NULL, h);
    bufferevent_decref(bev);
  }
  h->npending = 0;
}

static int pending_grow(struct byoca_httpd *h) {
  if (h->npending < h->cap_pending)
    return 0;
  size_t cap = h->cap_pending ? h->cap_pending * 2 : 16;
  struct bufferevent **p = realloc(h->pending, cap * sizeof(*p));
  if (p == NULL)
    return BYOCA_E_NOMEM;
  h->pending = p;
  h->cap_pending = cap;
  return 0;
}

/* evhttp's bufferevent factory: one call per accepted connection. On any
 * failure NULL makes evhttp build its own, uncounted. Our extra reference
 * keeps the bufferevent readable until adopt_fire looks at it. */
static struct bufferevent *new_bev(struct event_base *base, void *arg) {
  struct byoca_httpd *h = arg;
  if (pending_grow(h) != 0)
    return NULL;
  struct bufferevent *bev =
      bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (bev == NULL)
    return NULL;
  bufferevent_incref(bev);
  h->pending[h->npending++] = bev;
  event_active(h->adopt, EV_TIMEOUT, 0);
  if (++h->live >= h->max_connections)
    set_rejecting(h, 1);
  return bev;
}

int httpd_conncap_init(struct byoca_httpd *h) {
  h->adopt = event_new(h->base, -1, 0, adopt_fire, h);
  if (h->adopt == NULL)
    return BYOCA_E_NOMEM;
  evhttp_set_bevcb(h->http, new_bev, h);
  return 0;
}

void httpd_conncap_free(struct byoca_httpd *h) {
  /* evhttp_free has run: whatever is pending holds only our reference */
  for (size_t i = 0; i < h->npending; i++)
    bufferevent_decref(h->pending[i]);
  free(h->pending);
  h->pending = NULL;
  h->npending = h->cap_pending = 0;
  if (h->adopt != NULL)
    event_free(h->adopt);
  h->adopt = NULL;
}

/* ---- listeners ---- */

void httpd_listeners_free_events(struct byoca_httpd *h) {
  for (struct httpd_lsn *l = h->lsn; l != NULL; l = l->next) {
    if (l->reject != NULL)
      event_free(l->reject);
    l->reject = NULL;
  }
}

void httpd_listeners_free(struct byoca_httpd *h) {
  struct httpd_lsn *l = h->lsn;
  while (l != NULL) {
    struct httpd_lsn *next = l->next;
    struct stat st;
    /* only the file we bound: another process may have replaced it */
    if (l->unix_path != NULL && lstat(l->unix_path, &st) == 0 &&
        S_ISSOCK(st.st_mode) && st.st_dev == l->dev && st.st_ino == l->ino)
      unlink(l->unix_path);
    free(l->unix_path);
    free(l);
    l = next;
  }
  h->lsn = NULL;
}

static int errno_err(struct byoca_err *err, int code, int e, const char *spec,
                     const char *what) {
  char reason[128];
  if (strerror_r(e, reason, sizeof(reason)) != 0)
    snprintf(reason, sizeof(reason), "error %d", e);
  byoca_err_set(err, code, BYOCA_CLASS_INPUT, "cannot listen on %s: %s: %s",
                spec, what, reason);
  byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
  return code;
}

/* Hands a bound, listening socket to evhttp; takes fd in every case. */
static int add_listener(struct byoca_httpd *h, int fd, struct httpd_lsn *l,
                        const char *spec, struct byoca_err *err) {
  l->evl = evconnlistener_new(h->base, NULL, NULL,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                              0 /* listen() done */, fd);
  if (l->evl == NULL) {
    close(fd);
    return errno_err(err, BYOCA_E_NOMEM, ENOMEM, spec, "listener");
  }
  l->reject = event_new(h->base, fd, EV_READ | EV_PERSIST, reject_fire, h);
  if (l->reject == NULL || evhttp_bind_listener(h->http, l->evl) == NULL) {
    if (l->reject != NULL)
      event_free(l->reject);
    l->reject = NULL;
    evconnlistener_free(l->evl);
    return errno_err(err, BYOCA_E_NOMEM, ENOMEM, spec, "listener");
  }
  if (h->rejecting) {
    evconnlistener_disable(l->evl);
    event_add(l->reject, NULL);
  }
  l->next = h->lsn;
  h->lsn = l;
  return 0;
}

/* 1 when a server accepts connections on the socket at path (a running
 * daemon), 0 when none does (a stale file left by a crash). */
static int socket_alive(const char *path) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  int alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
              errno == EAGAIN || errno == EINPROGRESS;
  close(fd);
  return alive;
}

/* Removes path if it is a stale socket; refuses anything else there, and a
 * socket another server still listens on. */
static int clear_stale(const char *path, const char *spec,
                       struct byoca_err *err) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0
                           : errno_err(err, BYOCA_E_IO, errno, spec, "lstat");
  if (!S_ISSOCK(st.st_mode))
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "cannot listen on %s: the file exists and is not a "
                         "socket",
                         spec);
  if (socket_alive(path))
    return errno_err(err, BYOCA_E_IO, EADDRINUSE, spec,
                     "another server listens there");
  if (unlink(path) != 0 && errno != ENOENT)
    return errno_err(err, BYOCA_E_IO, errno, spec, "unlink");
  return 0;
}

/* Binds path, mode 0660 before listen() so no one connects to a socket
 * with wider permissions. Returns the fd or a negative error. */
static int bind_unix(const char *path, const char *spec, struct stat *st,
                     struct byoca_err *err) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno_err(err, BYOCA_E_IO, errno, spec, "socket");
  memcpy(sun.sun_path, path, strlen(path) + 1);
  const char *step = "bind";
  if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
    step = "chmod";
    if (chmod(path, 0660) == 0 && lstat(path, st) == 0) {
      step = "listen";
      if (listen(fd, LISTEN_BACKLOG) == 0)
        return fd;
    }
    int e = errno;
    unlink(path);
    errno = e;
  }
  int e = errno;
  close(fd);
  return errno_err(err, BYOCA_E_IO, e, spec, step);
}

static int listen_unix(struct byoca_httpd *h, const char *path,
                       const char *spec, struct byoca_err *err) {
  if (path[0] == '\0' ||
      strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "cannot listen on %s: socket path empty or too long",
                         spec);
  int rc = clear_stale(path, spec, err);
  if (rc != 0)
    return rc;
  struct httpd_lsn *l = calloc(1, sizeof(*l));
  if (l == NULL || (l->unix_path = byoca_strdup(path)) == NULL) {
    free(l);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  }
  struct stat st;
  int fd = bind_unix(path, spec, &st, err);
  if (fd < 0) {
    free(l->unix_path);
    free(l);
    return fd;
  }
  l->dev = st.st_dev;
  l->ino = st.st_ino;
  rc = add_listener(h, fd, l, spec, err);
  if (rc != 0) {
    unlink(path);
    free(l->unix_path);
    free(l);
  }
  return rc;
}

/* "ADDR:PORT" or "[V6]:PORT" with an IP literal (port 0: any free one)
 * -> socket address (byoca_hostport_parse says why not into err). */
static int parse_hostport(const char *a, struct sockaddr_storage *ss,
                          socklen_t *len, struct byoca_err *err) {
  char host[64];
  int port = 0;
  int rc = byoca_hostport_parse(a, "listen address", BYOCA_HP_PORT_ZERO, host,
                                sizeof(host), &port, err);
  if (rc != 0)
    return rc;
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (strchr(host, ':') == NULL &&
      inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*v6);
  } else {
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "not an IP address");
  }
  return 0;
}

/* Binds and listens; returns the fd or a negative error. */
static int bind_tcp(const struct sockaddr_storage *ss, socklen_t len,
                    const char *spec, struct byoca_err *err) {
  int one = 1;
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno_err(err, BYOCA_E_NET, errno, spec, "socket");
  const char *step = "setsockopt";
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
      (ss->ss_family != AF_INET6 ||
       setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0)) {
    step = "bind";
    if (bind(fd, (const struct sockaddr *)ss, len) == 0) {
      step = "listen";
      if (listen(fd, LISTEN_BACKLOG) == 0)
        return fd;
    }
  }
  int e = errno;
  close(fd);
  return errno_err(err, BYOCA_E_NET, e, spec, step);
}

static int bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

static int listen_tcp(struct byoca_httpd *h, const char *addr, const char *spec,
                      struct byoca_err *err) {
  struct sockaddr_storage ss;
  socklen_t len = 0;
  struct byoca_err why = {0};
  if (parse_hostport(addr, &ss, &len, &why) != 0) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "cannot listen on %s: %s (expected unix:/PATH, ADDR:PORT or"
                  " [IPV6]:PORT with an IP address and a port)",
                  spec, why.msg);
    byoca_err_clear(&why);
    return BYOCA_E_INVAL;
  }
  struct httpd_lsn *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  int fd = bind_tcp(&ss, len, spec, err);
  if (fd < 0) {
    free(l);
    return fd;
  }
  int port = bound_port(fd);
  int rc = add_listener(h, fd, l, spec, err);
  if (rc != 0) {
    free(l);
    return rc;
  }
  h->port = port;
  return 0;
}

/* Adds a listener; see net.h for the spec forms. */
int byoca_httpd_listen(struct byoca_httpd *h, const char *spec,
                       struct byoca_err *err) {
  if (h == NULL || spec == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "no server or no listen address");
  char safe[256];
  byoca_str_sanitize(spec, safe, sizeof(safe));
  if (strncmp(spec, "unix:", 5) == 0)
    return listen_unix(h, spec + 5, safe, err);
  const char *addr = spec;
  if (strncmp(addr, "tcp:", 4) == 0)
    addr += 4;
  return listen_tcp(h, addr, safe, err);
}

/* The TCP port of the last TCP listener, or 0. */
int byoca_httpd_port(const struct byoca_httpd *h) {
  return h != NULL ? h->port : 0;
}
