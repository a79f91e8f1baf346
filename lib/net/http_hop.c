/* One hop of an HTTP request: decide whether the URL is operator-given,
 * otherwise enforce https and the address policy, resolve the host with our
 * resolver and pin curl to the checked addresses (CURLOPT_RESOLVE), and set
 * up the easy handle with capped header and body collection. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "byoca/net.h"
#include "net_int.h"

#define PIN_MAX 4096

static int hop_err(struct http_xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills x->err with "<formatted>" and returns code. */
static int hop_err(struct http_xfer *x, int code, const char *fmt, ...) {
  char msg[sizeof(x->err.msg)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return byoca_err_set(&x->err, code,
                       code == BYOCA_E_NOMEM || code == BYOCA_E_INTERNAL
                           ? BYOCA_CLASS_INTERNAL
                           : BYOCA_CLASS_CA,
                       "%s", msg);
}

static int64_t time_left(const struct http_xfer *x) {
  return x->h->timeout_ms - (net_http_mono_ms() - x->started_ms);
}

void net_http_hop_reset(struct http_xfer *x) {
  if (x->in_multi)
    curl_multi_remove_handle(x->h->multi, x->easy);
  x->in_multi = 0;
  net_http_easy_put(x->h, x->easy);
  x->easy = NULL;
  curl_slist_free_all(x->slist);
  curl_slist_free_all(x->pins);
  x->slist = x->pins = NULL;
  net_dnsq_cancel(x->dnsq);
  x->dnsq = NULL;
  byoca_timer_cancel(x->timer);
  x->timer = NULL;
  byoca_buf_free(&x->body_buf);
  for (size_t i = 0; i < x->nrh; i++) {
    free(x->rh[i].name);
    free(x->rh[i].value);
  }
  free(x->rh);
  x->rh = NULL;
  x->nrh = x->rh_bytes = 0;
  free(x->host);
  x->host = NULL;
  x->errbuf[0] = '\0';
}

/* ---- curl callbacks (never call out of lib/net from here) ---- */

static size_t on_body(char *ptr, size_t size, size_t n, void *ud) {
  struct http_xfer *x = ud;
  size_t len = size * n;
  int rc = byoca_buf_append(&x->body_buf, ptr, len);
  if (rc == BYOCA_E_TOOBIG)
    hop_err(x, BYOCA_E_TOOBIG, "response body from %.200s exceeds %zu bytes",
            x->url, x->h->max_body);
  else if (rc != 0)
    hop_err(x, BYOCA_E_NOMEM, "out of memory");
  return rc == 0 ? len : 0;
}

static char *trimmed(const char *s, size_t len) {
  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  char *d = malloc(len + 1);
  if (d != NULL) {
    memcpy(d, s, len);
    d[len] = '\0';
  }
  return d;
}

static void clear_headers(struct http_xfer *x) {
  for (size_t i = 0; i < x->nrh; i++) {
    free(x->rh[i].name);
    free(x->rh[i].value);
  }
  x->nrh = x->rh_bytes = 0;
}

/* Obsolete line folding (RFC 9112 §5.2): joins to the previous value. */
static int fold_line(struct http_xfer *x, const char *line, size_t len) {
  if (x->nrh == 0)
    return 0;
  char *more = trimmed(line, len);
  char *prev = x->rh[x->nrh - 1].value;
  char *joined = more != NULL ? byoca_asprintf("%s %s", prev, more) : NULL;
  free(more);
  if (joined == NULL)
    return -1;
  free(prev);
  x->rh[x->nrh - 1].value = joined;
  return 0;
}

static int add_header(struct http_xfer *x, const char *line, size_t len) {
  const char *colon = memchr(line, ':', len);
  if (colon == NULL || colon == line)
    return 0; /* not a header line: ignore */
  struct byoca_http_header *n = realloc(x->rh, (x->nrh + 1) * sizeof(*x->rh));
  if (n == NULL)
    return -1;
  x->rh = n;
  char *name = trimmed(line, (size_t)(colon - line));
  char *value = trimmed(colon + 1, len - (size_t)(colon - line) - 1);
  if (name == NULL || value == NULL) {
    free(name);
    free(value);
    return -1;
  }
  n[x->nrh].name = name;
  n[x->nrh].value = value;
  x->nrh++;
  return 0;
}

/* A Content-Length above the cap fails the request before any body. */
static int length_ok(struct http_xfer *x) {
  const struct byoca_http_header *hd = &x->rh[x->nrh - 1];
  uint64_t v;
  if (strcmp(x->method, "HEAD") == 0 ||
      strcasecmp(hd->name, "Content-Length") != 0 ||
      byoca_parse_uint(hd->value, UINT64_MAX, &v) != 0 || v <= x->h->max_body)
    return 1;
  hop_err(x, BYOCA_E_TOOBIG,
          "response body from %.200s exceeds %zu bytes (Content-Length %.20s)",
          x->url, x->h->max_body, hd->value);
  return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  struct http_xfer *x = ud;
  size_t len = size * n, l = len;
  while (l > 0 && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
    l--;
  if (l >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    clear_headers(x); /* a new response (after 1xx) starts */
    return len;
  }
  if (l == 0)
    return len;
  int fold = buf[0] == ' ' || buf[0] == '\t';
  x->rh_bytes += len;
  if (x->rh_bytes > HTTP_MAX_HEADER_BYTES ||
      (!fold && x->nrh >= HTTP_MAX_HEADERS)) {
    hop_err(x, BYOCA_E_TOOBIG,
            "response headers from %.200s exceed %d headers or %d bytes",
            x->url, HTTP_MAX_HEADERS, HTTP_MAX_HEADER_BYTES);
    return 0;
  }
  size_t before = x->nrh;
  if ((fold ? fold_line(x, buf, l) : add_header(x, buf, l)) != 0) {
    hop_err(x, BYOCA_E_NOMEM, "out of memory");
    return 0;
  }
  if (x->nrh > before && !length_ok(x))
    return 0;
  return len;
}

/* Defence in depth: even if a pin were missed, no socket to a refused
 * address is ever opened for an untrusted URL. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *a) {
  struct http_xfer *x = clientp;
  struct byoca_err why = {0};
  if (purpose == CURLSOCKTYPE_IPCXN && !x->trusted &&
      byoca_netpolicy_check(x->h->policy, &a->addr, &why) != 0) {
    hop_err(x, BYOCA_E_POLICY, "refusing %.200s: %s", x->url, why.msg);
    byoca_err_clear(&why);
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- the easy handle ---- */

static int set_method(struct http_xfer *x, CURL *e) {
  CURLcode rc;
  if (strcmp(x->method, "HEAD") == 0)
    rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  else if (strcmp(x->method, "POST") == 0) {
    rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)x->body_len);
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                            x->body != NULL ? (char *)x->body : "");
  } else
    rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  return rc == CURLE_OK ? 0 : -1;
}

static int set_headers(struct http_xfer *x, CURL *e) {
  struct curl_slist *l = NULL, *t;
  char *ct = NULL;
  /* no "Expect: 100-continue" round trip for our small POST bodies */
  if ((t = curl_slist_append(l, "Expect:")) == NULL)
    goto fail;
  l = t;
  if (x->content_type != NULL && strcmp(x->method, "POST") == 0) {
    if ((ct = byoca_asprintf("Content-Type: %s", x->content_type)) == NULL ||
        (t = curl_slist_append(l, ct)) == NULL)
      goto fail;
    l = t;
  }
  for (size_t i = 0; x->headers != NULL && x->headers[i] != NULL; i++) {
    if ((t = curl_slist_append(l, x->headers[i])) == NULL)
      goto fail;
    l = t;
  }
  free(ct);
  x->slist = l;
  return curl_easy_setopt(e, CURLOPT_HTTPHEADER, l) == CURLE_OK ? 0 : -1;
fail:
  free(ct);
  curl_slist_free_all(l);
  return -1;
}

static int set_common(struct http_xfer *x, CURL *e, int64_t left) {
  struct byoca_http *h = x->h;
  int64_t cto = h->connect_timeout_ms < left ? h->connect_timeout_ms : left;
  const char *protos = x->trusted ? "http,https" : "https";
  int bad = 0;
  bad |= curl_easy_setopt(e, CURLOPT_URL, x->url) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)(void *)x) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cto) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protos) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                          (curl_off_t)h->max_body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
  bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
  if (h->ca_bundle != NULL)
    bad |= curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle) != CURLE_OK;
  if (!x->trusted) {
    /* a proxy would resolve the name itself, defeating the pin */
    bad |= curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) !=
           CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x) != CURLE_OK;
    if (x->pins != NULL)
      bad |= curl_easy_setopt(e, CURLOPT_RESOLVE, x->pins) != CURLE_OK;
  }
  return bad ? -1 : 0;
}

/* Creates the easy handle for the hop and hands it to the multi handle. */
static int hop_connect(struct http_xfer *x) {
  int64_t left = time_left(x);
  if (left <= 0)
    return hop_err(x, BYOCA_E_TIMEOUT, "timed out fetching %.200s", x->url);
  if ((x->easy = net_http_easy_get(x->h)) == NULL)
    return hop_err(x, BYOCA_E_NOMEM, "out of memory");
  if (set_common(x, x->easy, left) != 0 || set_method(x, x->easy) != 0 ||
      set_headers(x, x->easy) != 0)
    return hop_err(x, BYOCA_E_INTERNAL, "cannot set up the request to %.200s",
                   x->url);
  if (curl_multi_add_handle(x->h->multi, x->easy) != CURLM_OK)
    return hop_err(x, BYOCA_E_INTERNAL, "cannot start the request to %.200s",
                   x->url);
  x->in_multi = 1;
  return 0;
}

/* Appends "ADDR" (v6 in brackets) of every allowed address to pin; the
 * first refusal is kept in why. Returns how many were allowed. */
static size_t pin_addrs(struct http_xfer *x, const struct byoca_addrs *a,
                        struct byoca_buf *pin, struct byoca_err *why) {
  size_t nok = 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i];
    struct byoca_err e = {0};
    char txt[INET6_ADDRSTRLEN];
    if (byoca_netpolicy_check(x->h->policy, sa, &e) != 0) {
      if (why->code == 0)
        byoca_err_set(why, e.code, e.cls, "%s", e.msg);
      byoca_err_clear(&e);
      continue;
    }
    net_addr_format(sa, txt, sizeof(txt));
    int v6 = sa->sa_family == AF_INET6;
    if (byoca_buf_appendf(pin, "%s%s%s%s", nok > 0 ? "," : "", v6 ? "[" : "",
                          txt, v6 ? "]" : "") != 0)
      break; /* the cap: the addresses so far are enough */
    nok++;
  }
  return nok;
}

static int pin_host(struct http_xfer *x, const char *host, const char *addrs) {
  char *entry = byoca_asprintf("%s:%d:%s", host, x->port, addrs);
  struct curl_slist *l =
      entry != NULL ? curl_slist_append(x->pins, entry) : NULL;
  free(entry);
  if (l == NULL)
    return -1;
  x->pins = l;
  return 0;
}

static int pin_and_connect(struct http_xfer *x, const struct byoca_addrs *a) {
  struct byoca_buf pin;
  struct byoca_err why = {0};
  int rc;
  byoca_buf_init(&pin, PIN_MAX);
  size_t nok = pin_addrs(x, a, &pin, &why);
  if (nok == 0) {
    rc = hop_err(x, BYOCA_E_POLICY,
                 "refusing %.200s: %s has no allowed address: %s", x->url,
                 x->host, why.code != 0 ? why.msg : "none usable");
    goto out;
  }
  /* curl may look the name up with or without a trailing dot */
  size_t hl = strlen(x->host);
  rc = pin_host(x, x->host, pin.data);
  if (rc == 0 && hl > 1 && x->host[hl - 1] == '.') {
    x->host[hl - 1] = '\0';
    rc = pin_host(x, x->host, pin.data);
    x->host[hl - 1] = '.';
  }
  rc = rc != 0 ? hop_err(x, BYOCA_E_NOMEM, "out of memory") : hop_connect(x);
out:
  byoca_buf_free(&pin);
  byoca_err_clear(&why);
  return rc;
}

static void on_resolved(void *arg, const struct byoca_addrs *addrs,
                        const struct byoca_err *err) {
  struct http_xfer *x = arg;
  struct byoca_http *h = x->h;
  x->dnsq = NULL;
  byoca_timer_cancel(x->timer);
  x->timer = NULL;
  net_http_enter(h);
  if (err != NULL) {
    byoca_err_set(&x->err, err->code, err->cls, "cannot reach %.200s: %s",
                  x->url, err->msg);
    byoca_err_native(&x->err, err->origin, err->native);
    net_http_xfer_fail(x);
  } else if (pin_and_connect(x, addrs) != 0) {
    net_http_xfer_fail(x);
  }
  net_http_leave(h);
}

static void on_dns_deadline(void *arg) {
  struct http_xfer *x = arg;
  struct byoca_http *h = x->h;
  x->timer = NULL;
  net_dnsq_cancel(x->dnsq);
  x->dnsq = NULL;
  net_http_enter(h);
  hop_err(x, BYOCA_E_TIMEOUT, "timed out looking up %.200s for %.200s", x->host,
          x->url);
  net_http_xfer_fail(x);
  net_http_leave(h);
}

/* The untrusted path: policy on the host as written, then our resolver. */
static int hop_untrusted(struct http_xfer *x) {
  struct byoca_http *h = x->h;
  struct byoca_err why = {0};
  if (h->policy == NULL)
    return hop_err(x, BYOCA_E_POLICY,
                   "refusing %.200s: no address policy for untrusted URLs",
                   x->url);
  int rc = byoca_netpolicy_check_host(h->policy, x->host, &why);
  if (rc < 0) {
    hop_err(x, BYOCA_E_POLICY, "refusing %.200s: %s", x->url, why.msg);
    byoca_err_clear(&why);
    return BYOCA_E_POLICY;
  }
  if (rc == 0)
    return hop_connect(x); /* an allowed address literal */
  if (h->resolver == NULL)
    return hop_err(x, BYOCA_E_POLICY,
                   "refusing %.200s: no resolver for untrusted host names",
                   x->url);
  rc = net_resolve_host_start(h->resolver, x->host, on_resolved, x, &x->dnsq);
  if (rc != 0)
    return hop_err(x, rc == BYOCA_E_NOMEM ? rc : BYOCA_E_DNS,
                   "cannot look up %.200s", x->host);
  x->timer = byoca_timer_add(h->loop, time_left(x), on_dns_deadline, x);
  if (x->timer == NULL)
    return hop_err(x, BYOCA_E_NOMEM, "out of memory");
  return 0;
}

int net_http_hop_start(struct http_xfer *x) {
  struct byoca_http *h = x->h;
  char *scheme = NULL, shown[256];
  int rc, defport;
  byoca_err_clear(&x->err);
  byoca_buf_init(&x->body_buf, h->max_body);
  if (byoca_url_split(x->url, &scheme, &x->host, &x->port) != 0) {
    byoca_str_sanitize(x->url, shown, sizeof(shown));
    return hop_err(x, BYOCA_E_PROTO, "invalid URL '%s'", shown);
  }
  if ((defport = net_url_default_port(scheme)) == 0) {
    rc = hop_err(x, BYOCA_E_POLICY, "refusing %.200s: only http(s) URLs",
                 x->url);
    goto out;
  }
  if (x->port == 0)
    x->port = defport;
  x->trusted = net_http_is_trusted(h, x->host, x->port);
  if (x->trusted)
    rc = hop_connect(x);
  else if (strcmp(scheme, "https") != 0)
    rc = hop_err(x, BYOCA_E_POLICY,
                 "refusing http:// URL %.200s (untrusted URLs must use https)",
                 x->url);
  else
    rc = hop_untrusted(x);
out:
  free(scheme);
  return rc;
}

void net_http_hop_error(struct http_xfer *x, CURLcode rc) {
  char detail[CURL_ERROR_SIZE];
  int code = BYOCA_E_NET;
  if (x->err.code != 0) { /* our own reason (policy, size cap) */
    byoca_err_native(&x->err, BYOCA_ORIGIN_CURL, rc);
    return;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT)
    code = BYOCA_E_TIMEOUT;
  else if (rc == CURLE_FILESIZE_EXCEEDED)
    code = BYOCA_E_TOOBIG;
  else if (rc == CURLE_OUT_OF_MEMORY)
    code = BYOCA_E_NOMEM;
  else if (rc == CURLE_UNSUPPORTED_PROTOCOL)
    code = BYOCA_E_POLICY;
  byoca_str_sanitize(x->errbuf, detail, sizeof(detail));
  hop_err(x, code, "%s %.200s failed: %s%s%s%s", x->method, x->url,
          curl_easy_strerror(rc), detail[0] != '\0' ? " (" : "", detail,
          detail[0] != '\0' ? ")" : "");
  byoca_err_native(&x->err, BYOCA_ORIGIN_CURL, rc);
}
