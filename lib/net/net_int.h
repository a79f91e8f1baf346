/* Helpers shared between the files of lib/net: a cancellable host lookup
 * for the HTTP client, the pieces of a parsed URL, and small limits. */
#ifndef BYOCA_NET_INT_H
#define BYOCA_NET_INT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "byoca/net.h"

/* Longest URL we accept from anyone (ACME URLs are short). */
#define NET_URL_MAX 8192

/* ---- DNS (resolver.c) ---- */

/* One byoca_resolve_host in flight; owned by the resolver until its
 * callback has run or net_dnsq_cancel is called. */
struct net_dnsq;

/* byoca_resolve_host that hands back a handle, so a caller that goes away
 * (an HTTP request being freed) can cancel the lookup. */
int net_resolve_host_start(struct byoca_resolver *r, const char *host,
                           byoca_addrs_cb cb, void *arg,
                           struct net_dnsq **out) BYOCA_WUR;
/* Cancels a lookup whose callback has not run yet; the callback never runs.
 * Safe to call from inside any resolver callback. */
void net_dnsq_cancel(struct net_dnsq *q);

/* ---- URLs (url.c) ---- */

/* The five parts of a URI reference (RFC 3986 §3, appendix B). A part is
 * absent when its pointer is NULL; present parts point into the parsed
 * string and are not NUL-terminated. */
struct net_url {
  const char *scheme, *auth, *path, *query, *frag;
  size_t scheme_len, auth_len, path_len, query_len, frag_len;
};
/* Splits ref into its parts; never fails (every string is a reference). */
void net_url_parts(const char *ref, struct net_url *u);
/* The default port of "http"/"https"; 0 for other schemes. */
int net_url_default_port(const char *scheme);

/* ---- address policy (policy.c) ---- */

/* Formats an address (v4 or v6, no port) into out; "?" if unknown. */
void net_addr_format(const struct sockaddr *sa, char *out, size_t outlen);

/* ---- HTTP client (http.c: the multi handle and delivery; http_hop.c:
 * one hop of a request: trust, policy, pinning and the easy handle) ---- */

#define HTTP_MAX_HEADERS 100
#define HTTP_MAX_HEADER_BYTES (64 * 1024)

struct http_trust {
  char *host;
  int port;
};

struct http_sock; /* one libevent event per socket curl wants watched */

/* Easy handles kept for reuse: curl_easy_init and curl_easy_cleanup of
 * one per request cost about 1.5% of a certificate's client CPU in a batch
 * (allocating and freeing curl's buffers); a reset handle keeps them. */
#define NET_HTTP_SPARE 32

struct byoca_http {
  struct byoca_loop *loop;
  struct event_base *base;
  CURLM *multi;
  struct event *timer; /* curl's timeout */
  struct http_sock *socks;
  char *user_agent, *ca_bundle;
  int64_t timeout_ms, connect_timeout_ms;
  size_t max_body;
  int max_redirects;
  struct byoca_netpolicy *policy;  /* borrowed */
  struct byoca_resolver *resolver; /* borrowed */
  struct http_trust *trust;
  size_t ntrust;
  struct http_xfer *xfers;     /* requests not yet delivered */
  CURL *spare[NET_HTTP_SPARE]; /* easy handles of finished hops, reset */
  size_t nspare;
  int busy; /* depth of our own callbacks on the stack */
  int dead; /* byoca_http_free ran while busy */
};

/* A request, across its redirect hops. */
struct http_xfer {
  struct byoca_http *h;
  struct http_xfer *prev, *next;
  byoca_http_cb cb;
  void (*dropped)(void *arg);
  void *arg;
  /* the request (copied) */
  char *method, *url, *content_type;
  unsigned char *body;
  size_t body_len;
  char **headers;
  int follow, hops;
  int64_t started_ms; /* monotonic */
  /* the current hop */
  char *host;
  int port, trusted, in_multi;
  CURL *easy;
  struct curl_slist *slist, *pins;
  struct net_dnsq *dnsq;
  struct byoca_timer *timer; /* deferred failure or DNS deadline */
  struct byoca_buf body_buf;
  struct byoca_http_header *rh;
  size_t nrh, rh_bytes;
  char errbuf[CURL_ERROR_SIZE];
  struct byoca_err err; /* our own reason to fail (policy, size) */
};

/* Monotonic milliseconds. */
int64_t net_http_mono_ms(void);
/* 1 if host:port was marked operator-given. */
int net_http_is_trusted(const struct byoca_http *h, const char *host, int port);
/* Starts the hop for x->url: 0 when under way (resolving or in curl),
 * else the error, with x->err filled. */
int net_http_hop_start(struct http_xfer *x);
/* Frees what the current hop holds (easy handle removed from the multi). */
void net_http_hop_reset(struct http_xfer *x);
/* An easy handle in its initial state: a spare one of h, or a new one;
 * NULL if out of memory. */
CURL *net_http_easy_get(struct byoca_http *h);
/* Hands e back to h for reuse (reset to its defaults), or cleans it up. */
void net_http_easy_put(struct byoca_http *h, CURL *e);
/* Turns a finished transfer's CURLcode into x->err. */
void net_http_hop_error(struct http_xfer *x, CURLcode rc);
/* Delivers x->err to the caller and frees x; from the loop only. */
void net_http_xfer_fail(struct http_xfer *x);
/* Brackets every entry from the loop, so byoca_http_free inside a callback
 * is deferred until the stack unwinds. */
void net_http_enter(struct byoca_http *h);
void net_http_leave(struct byoca_http *h);

#endif
