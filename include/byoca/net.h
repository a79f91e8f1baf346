/* byoca net: the event loop, the HTTP client, DNS resolution and the address
 * policy.
 *
 * One loop per process (libevent). The HTTP client drives libcurl's
 * multi-socket API on that loop, so thousands of requests can be in flight;
 * DNS goes through libunbound's async API on the same loop. libevent,
 * libcurl and libunbound are used from lib/net only.
 *
 * Hostile-server model (DESIGN.md): a URL whose host the operator gave is
 * trusted as given; every other URL is resolved by our resolver, each
 * address is checked by the address policy, and the connection is pinned to
 * the checked address (CURLOPT_RESOLVE), so DNS rebinding cannot move it.
 * Only https is allowed for untrusted URLs.
 */
#ifndef BYOCA_NET_H
#define BYOCA_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "byoca/err.h"
#include "byoca/util.h"

/* ---- event loop ---- */

struct byoca_loop;
struct byoca_timer;
struct byoca_watch;

typedef void (*byoca_timer_cb)(void *arg);
typedef void (*byoca_fd_cb)(int fd, void *arg);
typedef void (*byoca_work_cb)(void *arg); /* runs on a worker thread */
typedef void (*byoca_done_cb)(void *arg); /* runs on the loop afterwards */

struct byoca_loop *byoca_loop_new(void);
/* Runs until byoca_loop_break or nothing is left to wait for. Returns 0
 * after byoca_loop_break, 1 when nothing was left to wait for, -1 on error
 * (event_base_dispatch's convention). */
int byoca_loop_run(struct byoca_loop *loop);
void byoca_loop_break(struct byoca_loop *loop);
/* Frees the loop; everything registered on it must be gone. NULL no-op. */
void byoca_loop_free(struct byoca_loop *loop);
/* The underlying struct event_base *, for lib/net and lib/solve internals
 * (lib/solve may use libevent's evhttp for its responder). */
void *byoca_loop_base(struct byoca_loop *loop);

/* One-shot timer after ms milliseconds. The handle is valid until the
 * callback starts or byoca_timer_cancel is called (which frees it). */
struct byoca_timer *byoca_timer_add(struct byoca_loop *loop, int64_t ms,
                                    byoca_timer_cb cb, void *arg);
void byoca_timer_cancel(struct byoca_timer *t);

/* Calls cb every time fd becomes readable, until byoca_watch_free. */
struct byoca_watch *byoca_watch_read(struct byoca_loop *loop, int fd,
                                     byoca_fd_cb cb, void *arg);
void byoca_watch_free(struct byoca_watch *w);

/* Calls cb on the loop whenever signal signo arrives (SIGHUP, SIGTERM,
 * ...), instead of the default action, until byoca_signal_free. */
struct byoca_signal;
struct byoca_signal *byoca_signal_add(struct byoca_loop *loop, int signo,
                                      byoca_timer_cb cb, void *arg);
void byoca_signal_free(struct byoca_signal *s);

/* Runs work(arg) on a small worker pool, then done(arg) on the loop thread.
 * For CPU-heavy work (RSA key generation). */
int byoca_loop_offload(struct byoca_loop *loop, byoca_work_cb work,
                       byoca_done_cb done, void *arg) BYOCA_WUR;
/* The loop's lanes, 0 .. BYOCA_LOOP_LANES - 1. */
#define BYOCA_LOOP_LANES 3
/* The same on one of the loop's lanes: a thread of its own, one job at a
 * time in the order given, never waiting behind the pool's (long) jobs
 * nor another lane's. For blocking I/O that must not be delayed (byocad's
 * store work: 0 its periodic work, 1 its jobs'). */
int byoca_loop_offload_lane(struct byoca_loop *loop, int lane,
                            byoca_work_cb work, byoca_done_cb done,
                            void *arg) BYOCA_WUR;

/* ---- child processes (hooks) ---- */

/* Exit of a child: status as from waitpid (use WIFEXITED etc.), and the
 * last up to 4 KiB of what it wrote on stderr/stdout (NUL-terminated). */
typedef void (*byoca_proc_cb)(void *arg, int wstatus, const char *output);

/* Runs argv[0] (a path, no shell) with envp (NULL-terminated "K=V" list
 * added to a minimal environment: PATH, HOME, LANG of ours), stdin from
 * /dev/null, without blocking the loop. Kills it (SIGKILL) after
 * timeout_ms (0 = none), reporting that as a signal exit. cb is called
 * once from the loop. */
int byoca_proc_run(struct byoca_loop *loop, char *const argv[],
                   char *const envp[], int64_t timeout_ms, byoca_proc_cb cb,
                   void *arg, struct byoca_err *err) BYOCA_WUR;

/* ---- address policy ---- */

struct byoca_netpolicy;

/* A policy refusing loopback, private, link-local, CGNAT, multicast,
 * reserved/unspecified, broadcast, documentation, IPv4-mapped/compatible
 * and NAT64 (v6 forms are judged by the v4 inside), unique-local and
 * site-local IPv6. */
struct byoca_netpolicy *byoca_netpolicy_new(void);
void byoca_netpolicy_free(struct byoca_netpolicy *p);
/* Allows a CIDR ("127.0.0.0/8", "::1/128", "10.1.2.3"); BYOCA_E_INVAL if
 * malformed. Repeatable. */
int byoca_netpolicy_allow(struct byoca_netpolicy *p, const char *cidr,
                          struct byoca_err *err) BYOCA_WUR;
/* 0 if the address may be contacted; BYOCA_E_POLICY with a reason naming
 * the address and its range ("127.0.0.1 is loopback") otherwise. */
int byoca_netpolicy_check(const struct byoca_netpolicy *p,
                          const struct sockaddr *sa,
                          struct byoca_err *err) BYOCA_WUR;
/* Same for a textual address. */
int byoca_netpolicy_check_str(const struct byoca_netpolicy *p, const char *addr,
                              struct byoca_err *err) BYOCA_WUR;
/* Judges a URL host before any lookup: hosts that are numeric in any form
 * inet_aton accepts ("127.1", "0x7f000001", "2130706433", "017700000001")
 * or bracketed IPv6 are checked as addresses (non-canonical v4 forms are
 * refused outright); names are left for the resolver (returns 1). Returns
 * 0 if an allowed literal, 1 if a name to resolve, BYOCA_E_POLICY if
 * refused. */
int byoca_netpolicy_check_host(const struct byoca_netpolicy *p,
                               const char *host, struct byoca_err *err);

/* ---- DNS ---- */

struct byoca_resolver;

struct byoca_resolver_opts {
  const char *forward;      /* "ADDR[@PORT]" to forward to; NULL = recursive
                               from the root (or /etc/resolv.conf if no root
                               hints are reachable) */
  const char *trust_anchor; /* file with DNSSEC trust anchor(s); NULL =
                               Debian's dns-root-data root key when not
                               forwarding, none when forwarding */
};

struct byoca_resolver *byoca_resolver_new(struct byoca_loop *loop,
                                          const struct byoca_resolver_opts *o,
                                          struct byoca_err *err);
void byoca_resolver_free(struct byoca_resolver *r);

enum byoca_dnssec {
  BYOCA_DNSSEC_UNCHECKED = 0,
  BYOCA_DNSSEC_SECURE,
  BYOCA_DNSSEC_INSECURE,
  BYOCA_DNSSEC_BOGUS,
};

/* The addresses of a host name (A and AAAA), or an error. */
struct byoca_addrs {
  struct sockaddr_storage *addr;
  size_t n;
};
typedef void (*byoca_addrs_cb)(void *arg, const struct byoca_addrs *addrs,
                               const struct byoca_err *err);
int byoca_resolve_host(struct byoca_resolver *r, const char *host,
                       byoca_addrs_cb cb, void *arg) BYOCA_WUR;

/* A raw answer of any type (for CAA, TXT, SOA): rdata of each record of the
 * final RRset (after CNAMEs, which libunbound follows), rcode and DNSSEC
 * state. */
struct byoca_dns_answer {
  int rcode; /* 0 NOERROR, 3 NXDOMAIN, ... */
  enum byoca_dnssec dnssec;
  char *canonname; /* the name after following CNAMEs */
  unsigned char **rdata;
  size_t *rdlen;
  size_t n;
};
typedef void (*byoca_dns_cb)(void *arg, const struct byoca_dns_answer *ans,
                             const struct byoca_err *err);
int byoca_resolve(struct byoca_resolver *r, const char *name, int rrtype,
                  byoca_dns_cb cb, void *arg) BYOCA_WUR;
/* One byoca_resolve_start in flight. */
struct byoca_dns_query;
/* byoca_resolve that also hands back the query in *out (may be NULL),
 * so a caller that goes away can cancel it. *out stays valid until cb
 * starts or byoca_dns_cancel is called, whichever comes first. */
int byoca_resolve_start(struct byoca_resolver *r, const char *name, int rrtype,
                        byoca_dns_cb cb, void *arg,
                        struct byoca_dns_query **out) BYOCA_WUR;
/* Cancels a query whose callback has not started: the callback never
 * runs, and a server that never answers holds nothing of the caller's.
 * Safe from inside any resolver callback (for another query). NULL no-op. */
void byoca_dns_cancel(struct byoca_dns_query *q);

/* ---- HTTP client ---- */

struct byoca_http;

struct byoca_http_opts {
  const char *user_agent;          /* default "byoca/VERSION" */
  const char *ca_bundle;           /* PEM file trusted for TLS; NULL = system */
  int64_t timeout_ms;              /* whole request; default 30000 */
  int64_t connect_timeout_ms;      /* default 10000 */
  size_t max_body;                 /* default 2 MiB */
  int max_redirects;               /* default 5 */
  struct byoca_netpolicy *policy;  /* borrowed; NULL = refuse all untrusted */
  struct byoca_resolver *resolver; /* borrowed; NULL = no untrusted URLs */
};

struct byoca_http *byoca_http_new(struct byoca_loop *loop,
                                  const struct byoca_http_opts *opts,
                                  struct byoca_err *err);
/* Cancels in-flight requests (their callbacks are not called) and frees. */
void byoca_http_free(struct byoca_http *h);
/* Marks a URL's host:port as operator-given: requests to it skip the
 * address policy and use the system resolver. */
int byoca_http_trust_url(struct byoca_http *h, const char *url) BYOCA_WUR;

struct byoca_http_req {
  const char *method; /* "GET", "HEAD", "POST" */
  const char *url;
  const char *content_type; /* for POST */
  const void *body;
  size_t body_len;
  int follow_redirects;       /* each hop re-checked by the policy */
  const char *const *headers; /* extra "Name: value" lines, NULL-terminated
                                 array (e.g. Accept); NULL = none */
  void (*dropped)(void *arg); /* called with arg instead of the callback
                                 when byoca_http_free cancels the request,
                                 so its owner can free what arg holds;
                                 NULL = nothing to do */
};

struct byoca_http_header {
  char *name;  /* as received */
  char *value; /* trimmed */
};

struct byoca_http_resp {
  long status;
  struct byoca_http_header *headers;
  size_t nheaders;
  struct byoca_buf body; /* NUL-terminated */
  char *url;             /* final URL after redirects */
};

/* resp is valid only during the callback; err non-NULL means transport
 * failure (resp NULL). Any HTTP status is a response, not an error. */
typedef void (*byoca_http_cb)(void *arg, const struct byoca_http_resp *resp,
                              const struct byoca_err *err);

/* Starts a request; cb is called exactly once from the loop (never from
 * inside this call). Returns an error only if the request could not start. */
int byoca_http_send(struct byoca_http *h, const struct byoca_http_req *req,
                    byoca_http_cb cb, void *arg,
                    struct byoca_err *err) BYOCA_WUR;

/* First header with that name (case-insensitive), or NULL. Borrowed from
 * resp. */
const char *byoca_http_header(const struct byoca_http_resp *resp,
                              const char *name);

/* Every URL of Link headers (several headers and comma-joined values) with
 * the given rel, resolved against base. *out array of n strings, free with
 * byoca_strv_free-like byoca_http_links_free. */
int byoca_http_links(const struct byoca_http_resp *resp, const char *rel,
                     char ***out, size_t *n) BYOCA_WUR;
/* The same on one raw Link header value (for tests and fixtures). */
int byoca_link_parse(const char *value, const char *rel, const char *base,
                     char ***out, size_t *n) BYOCA_WUR;
void byoca_http_links_free(char **v, size_t n);

/* Resolves a possibly relative reference against base (RFC 3986 §5). */
char *byoca_url_resolve(const char *base, const char *ref);
/* Splits an absolute URL; out strings caller frees. port 0 if absent. */
int byoca_url_split(const char *url, char **scheme, char **host,
                    int *port) BYOCA_WUR;

/* ---- HTTP server (the daemon's API and well-known responders) ---- */

struct byoca_httpd;
struct byoca_httpd_req;

/* Called on the loop for every complete request. The handler must answer
 * with byoca_httpd_respond exactly once before it returns. */
typedef void (*byoca_httpd_cb)(void *arg, struct byoca_httpd_req *req);

struct byoca_httpd_opts {
  size_t max_body;        /* larger bodies get 413 without calling cb;
                             default 1 MiB */
  size_t max_headers;     /* bytes of request line + headers; default 16 KiB */
  int64_t timeout_ms;     /* idle read/write timeout; default 30000 */
  size_t max_connections; /* default 1024; beyond it new connections are
                             closed */
};

/* A server on loop; nothing listens until byoca_httpd_listen. */
struct byoca_httpd *byoca_httpd_new(struct byoca_loop *loop,
                                    const struct byoca_httpd_opts *opts,
                                    byoca_httpd_cb cb, void *arg,
                                    struct byoca_err *err);
/* Listens on spec: "unix:/path" (an existing socket file is replaced --
 * unless a server still listens on it, BYOCA_E_IO "in use"; any other kind
 * of file there is refused; the socket gets mode 0660), "tcp:ADDR:PORT",
 * "ADDR:PORT" or "[V6]:PORT" with ADDR an IP address. Port 0 picks one;
 * byoca_httpd_port tells which. Several calls add listeners. */
int byoca_httpd_listen(struct byoca_httpd *h, const char *spec,
                       struct byoca_err *err) BYOCA_WUR;
/* The TCP port of the last TCP listener, or 0. */
int byoca_httpd_port(const struct byoca_httpd *h);
/* Stops listening and closes every connection; unlinks unix sockets it
 * created. NULL no-op. */
void byoca_httpd_free(struct byoca_httpd *h);

/* Request accessors; strings are borrowed for the handler's duration. */
const char *byoca_httpd_method(const struct byoca_httpd_req *r);
/* The path, percent-decoded once, without the query; NULL when the
 * request line's URI is malformed (the server answers 400 itself). */
const char *byoca_httpd_path(const struct byoca_httpd_req *r);
/* A query parameter (decoded), or NULL. */
const char *byoca_httpd_query(const struct byoca_httpd_req *r,
                              const char *name);
/* A request header (case-insensitive), or NULL. */
const char *byoca_httpd_header(const struct byoca_httpd_req *r,
                               const char *name);
/* The body (NUL-terminated; len may be 0). */
const char *byoca_httpd_body(const struct byoca_httpd_req *r, size_t *len);
/* 1 when the request came over a unix socket. */
int byoca_httpd_is_local(const struct byoca_httpd_req *r);

/* Keeps r open after the handler returns, for an answer that needs what
 * the loop must not wait for (a store round trip on another thread): the
 * handler returns without answering and answers later, on the loop, with
 * byoca_httpd_respond on the request returned (exactly once; it frees
 * it). The request's path, query and body move to it; if the client goes
 * away first, byoca_httpd_respond only frees it. NULL when out of memory
 * (r is then as before, to be answered now). */
struct byoca_httpd_req *byoca_httpd_defer(struct byoca_httpd_req *r);
/* Answers: status, Content-Type (NULL = none), body (may be NULL/0) and
 * extra headers as NULL-terminated "Name: value" strings (may be NULL).
 * Always adds Cache-Control: no-store and X-Content-Type-Options: nosniff.
 */
void byoca_httpd_respond(struct byoca_httpd_req *r, int status,
                         const char *content_type, const void *body, size_t len,
                         const char *const *headers);

/* ---- a blocking HTTP call to the local daemon (for byoca's daemon
 * commands; not for the loop) ---- */

struct byoca_local_resp {
  long status;
  char *content_type; /* or NULL */
  struct byoca_buf body;
};
/* Sends method path (e.g. "/v1/certificates") to the daemon at endpoint:
 * "unix:/path" or "http://host:port" (loopback only); bearer token if not
 * NULL (sent as a header, never in argv or the URL); body with
 * application/json when not NULL. Any HTTP status is a response. */
int byoca_http_local(const char *endpoint, const char *method, const char *path,
                     const char *token, const char *body,
                     struct byoca_local_resp *out,
                     struct byoca_err *err) BYOCA_WUR;
void byoca_local_resp_free(struct byoca_local_resp *r);

#endif
