/* A blocking HTTP call from the byoca command to its local daemon, over a
 * unix socket or loopback TCP only (libcurl easy API; never on the loop).
 * The bearer token goes in a header, never into argv, the URL or a log. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "byoca/net.h"
#include "byoca/util.h"
#include "net_int.h"

#define LOCAL_MAX_BODY (16u * 1024 * 1024)
#define LOCAL_TIMEOUT_MS 60000L
#define LOCAL_CONNECT_TIMEOUT_MS 10000L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void) {
  curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* Where to connect: the URL for curl and, for unix sockets, the path. */
struct target {
  char *url;
  const char *sock; /* borrowed from the endpoint */
};

static int visible_ascii(const char *s) {
  for (; *s; s++)
    if (*s <= ' ' || *s >= 127)
      return 0;
  return 1;
}

static int check_args(const char *endpoint, const char *method,
                      const char *path, const char *token,
                      struct byoca_err *err) {
  if (endpoint == NULL || method == NULL || path == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "daemon call without endpoint, method or path");
  size_t mlen = strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  if (mlen == 0 || mlen > 16 || method[mlen] != '\0')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "daemon call with a malformed method");
  if (path[0] != '/' || !visible_ascii(path) || strchr(path, '#') != NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "daemon call with a malformed path");
  if (token != NULL && (token[0] == '\0' || !visible_ascii(token)))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the API token is empty or contains spaces or "
                         "control characters");
  return 0;
}

static int is_loopback(const char *host) {
  unsigned char a[16];
  if (byoca_strcaseeq(host, "localhost"))
    return 1;
  if (inet_pton(AF_INET, host, a) == 1)
    return a[0] == 127;
  if (inet_pton(AF_INET6, host, a) == 1) {
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(a, one, 16) == 0;
  }
  return 0;
}

/* "http://HOST[:PORT][/]" with a loopback HOST -> URL of path there. */
static int http_target(const char *endpoint, const char *safe, const char *path,
                       struct target *t, struct byoca_err *err) {
  char *scheme = NULL, *host = NULL;
  int port = 0, rc;
  struct net_url u;
  net_url_parts(endpoint, &u);
  if (byoca_url_split(endpoint, &scheme, &host, &port) != 0 ||
      strcmp(scheme, "http") != 0 || host[0] == '\0' || u.query != NULL ||
      u.frag != NULL || u.path_len > 1) {
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "daemon endpoint %s is not unix:/PATH or "
                       "http://HOST:PORT",
                       safe);
  } else if (!is_loopback(host)) {
    rc = byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_INPUT,
                       "daemon endpoint %s is not on this machine (only "
                       "127.0.0.0/8, ::1 and localhost are allowed)",
                       safe);
  } else {
    int v6 = strchr(host, ':') != NULL;
    t->url = byoca_asprintf("http://%s%s%s:%d%s", v6 ? "[" : "", host,
                            v6 ? "]" : "", port ? port : 80, path);
    rc = t->url ? 0
                : byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                                "out of memory");
  }
  free(scheme);
  free(host);
  return rc;
}

static int make_target(const char *endpoint, const char *safe, const char *path,
                       struct target *t, struct byoca_err *err) {
  if (strncmp(endpoint, "unix:", 5) == 0) {
    if (endpoint[5] == '\0')
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "daemon endpoint %s has no socket path", safe);
    t->sock = endpoint + 5;
    t->url = byoca_asprintf("http://localhost%s", path);
    return t->url ? 0
                  : byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                                  "out of memory");
  }
  return http_target(endpoint, safe, path, t, err);
}

struct sink {
  struct byoca_buf buf;
  int toobig;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg) {
  struct sink *s = arg;
  int rc = byoca_buf_append(&s->buf, data, size * n);
  if (rc != 0) {
    s->toobig = rc == BYOCA_E_TOOBIG;
    return 0; /* aborts the transfer */
  }
  return size * n;
}

/* The request headers; the token line is wiped by the caller. */
static struct curl_slist *make_headers(const char *token, const char *body,
                                       struct byoca_buf *auth) {
  struct curl_slist *sl = NULL, *t;
  /* no 100-continue round trip on a local call */
  if ((sl = curl_slist_append(NULL, "Expect:")) == NULL)
    return NULL;
  if (body != NULL) {
    if ((t = curl_slist_append(sl, "Content-Type: application/json")) == NULL)
      goto fail;
    sl = t;
  }
  if (token != NULL) {
    if (byoca_buf_appendf(auth, "Authorization: Bearer %s", token) != 0 ||
        (t = curl_slist_append(sl, auth->data)) == NULL)
      goto fail;
    sl = t;
  }
  return sl;
fail:
  curl_slist_free_all(sl);
  return NULL;
}

static void set_options(CURL *c, const struct target *t, const char *method,
                        const char *body, struct curl_slist *hdrs,
                        struct sink *s) {
  curl_easy_setopt(c, CURLOPT_URL, t->url);
  if (t->sock != NULL)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->sock);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never a proxy from the env */
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, LOCAL_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, LOCAL_CONNECT_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "byoca/" BYOCA_VERSION);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  }
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "GET") != 0 || body != NULL)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

static int transfer_error(CURLcode rc, const struct sink *s, const char *safe,
                          const char *errbuf, struct byoca_err *err) {
  int code = BYOCA_E_NET;
  if (s->toobig)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "the daemon at %s answered more than %u bytes", safe,
                         LOCAL_MAX_BODY);
  if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR)
    code = BYOCA_E_NOMEM;
  else if (rc == CURLE_OPERATION_TIMEDOUT)
    code = BYOCA_E_TIMEOUT;
  char detail[CURL_ERROR_SIZE];
  byoca_str_sanitize(errbuf[0] ? errbuf : curl_easy_strerror(rc), detail,
                     sizeof(detail));
  byoca_err_set(err, code,
                code == BYOCA_E_NOMEM ? BYOCA_CLASS_INTERNAL
                                      : BYOCA_CLASS_RETRYABLE,
                "cannot reach the daemon at %s: %s", safe, detail);
  byoca_err_native(err, BYOCA_ORIGIN_CURL, (long)rc);
  return code;
}

static int perform(CURL *c, const char *safe, struct sink *s,
                   struct byoca_local_resp *out, struct byoca_err *err) {
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
  if (rc != CURLE_OK)
    return transfer_error(rc, s, safe, errbuf, err);
  long status = 0;
  char *ct = NULL, *ctcopy = NULL;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
      ct != NULL && (ctcopy = byoca_strdup(ct)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  out->status = status;
  out->content_type = ctcopy;
  out->body = s->buf;
  byoca_buf_init(&s->buf, LOCAL_MAX_BODY);
  return 0;
}

/* Sends method path to the local daemon and waits for the answer; see
 * net.h. out is written only on success. */
int byoca_http_local(const char *endpoint, const char *method, const char *path,
                     const char *token, const char *body,
                     struct byoca_local_resp *out, struct byoca_err *err) {
  struct target t = {0};
  struct sink s = {.toobig = 0};
  struct byoca_buf auth;
  struct curl_slist *hdrs = NULL;
  CURL *c = NULL;
  char safe[256];
  int rc = check_args(endpoint, method, path, token, err);
  if (rc != 0 || out == NULL)
    return rc ? rc
              : byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                              "daemon call without a response");
  byoca_str_sanitize(endpoint, safe, sizeof(safe));
  byoca_buf_init(&s.buf, LOCAL_MAX_BODY);
  byoca_buf_init(&auth, 0);
  if ((rc = make_target(endpoint, safe, path, &t, err)) != 0)
    goto out;
  pthread_once(&curl_once, curl_init_once);
  if (!curl_ok || (c = curl_easy_init()) == NULL ||
      (hdrs = make_headers(token, body, &auth)) == NULL) {
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "cannot set up the daemon call");
    goto out;
  }
  set_options(c, &t, method, body, hdrs, &s);
  rc = perform(c, safe, &s, out, err);
out:
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  byoca_buf_free_secret(&auth);
  byoca_buf_free(&s.buf);
  free(t.url);
  return rc;
}

/* Frees what byoca_http_local filled in; NULL no-op. */
void byoca_local_resp_free(struct byoca_local_resp *r) {
  if (r == NULL)
    return;
  free(r->content_type);
  byoca_buf_free(&r->body);
  r->content_type = NULL;
  r->status = 0;
}
