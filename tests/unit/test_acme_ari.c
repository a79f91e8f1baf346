/* ACME Renewal Information (RFC 9773): the CertID against the RFC's own
 * example certificate, RenewalInfo parsing, Retry-After clamping (D-ARI),
 * error backoff (§4.3.3), the renewal timing table for 6-, 47-, 90- and
 * 200-day certificates with and without ARI under an injected clock, and
 * the renewalInfo GET against a local HTTP server (windows, 5xx then
 * success, 404, garbage, end before start, connection refused, address
 * policy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/acme.h"

#define DAY 86400
#define T0 1893456000 /* 2030-01-01T00:00:00Z */

/* RFC 9773 Appendix A. */
static const char rfc_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
    "cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
    "BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
    "7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
    "qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
    "yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
    "+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
    "-----END CERTIFICATE-----\n";
static const char rfc_cert_id[] = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

/* Self-signed, without an authority key identifier. */
static const char no_aki_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBTjCB9qADAgECAhRteKFu1AvKfs3c6FTzz6meElH8XTAKBggqhkjOPQQDAjAR\n"
    "MQ8wDQYDVQQDDAZubyBha2kwHhcNMjYxMTI4MTU1MzA2WhcNMzYxMTI1MTU1MzA2\n"
    "WjARMQ8wDQYDVQQDDAZubyBha2kwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQg\n"
    "kxDw3Jz3S19lkWhuFqng6a92fhdzg8GeA68KCNyUyziI0Qhl+DoXSKeYUaB4Chma\n"
    "NSPOfujcD/KOVV1mDL28oywwKjAJBgNVHRMEAjAAMB0GA1UdDgQWBBSN+UBElPZx\n"
    "cRzaEoW8y4W0PWJzpzAKBggqhkjOPQQDAgNHADBEAiBWuGYLYgWy4sYkUbmAHLC8\n"
    "Os405apPdVZeMQO+gZnbWAIgVr0eatGHcawvs1dsp/cKwWInt9GY4hhs4hS7ooiL\n"
    "K0w=\n"
    "-----END CERTIFICATE-----\n";

/* ---- CertID ---- */

static void test_cert_id_rfc_example(void **state) {
  (void)state;
  char *id = NULL;
  assert_int_equal(
      byoca_ari_cert_id_pem(rfc_cert, sizeof(rfc_cert) - 1, &id, NULL), 0);
  assert_string_equal(id, rfc_cert_id);
  free(id);
  /* the same from DER */
  struct byoca_cert *c = NULL;
  unsigned char *der = NULL;
  size_t len = 0;
  assert_int_equal(byoca_cert_parse(rfc_cert, sizeof(rfc_cert) - 1, &c, NULL),
                   0);
  assert_int_equal(byoca_cert_der(c, &der, &len), 0);
  assert_int_equal(byoca_ari_cert_id_pem(der, len, &id, NULL), 0);
  assert_string_equal(id, rfc_cert_id);
  free(id);
  free(der);
  byoca_cert_free(c);
}

static void test_cert_id_without_aki(void **state) {
  (void)state;
  char *id = NULL;
  struct byoca_err e = {0};
  assert_int_equal(
      byoca_ari_cert_id_pem(no_aki_cert, sizeof(no_aki_cert) - 1, &id, &e),
      BYOCA_E_NOTFOUND);
  assert_null(id);
  assert_non_null(strstr(e.msg, "authority key identifier"));
  byoca_err_clear(&e);
  assert_int_not_equal(byoca_ari_cert_id_pem("junk", 4, &id, NULL), 0);
  assert_null(id);
}

/* ---- RenewalInfo objects and Retry-After ---- */

static void test_parse_window(void **state) {
  (void)state;
  const char *ok = "{\"suggestedWindow\":{\"start\":\"2030-01-02T04:00:00Z\","
                   "\"end\":\"2030-01-03T04:00:00Z\"},"
                   "\"explanationURL\":\"https://acme.example.com/docs/ari\"}";
  struct byoca_ari *r = NULL;
  assert_int_equal(byoca_ari_parse(ok, strlen(ok), "21600", T0, &r, NULL), 0);
  assert_int_equal(r->start, T0 + DAY + 4 * 3600);
  assert_int_equal(r->end, T0 + 2 * DAY + 4 * 3600);
  assert_string_equal(r->explanation_url, "https://acme.example.com/docs/ari");
  assert_int_equal(r->retry_after, 21600);
  byoca_ari_free(r);
  /* a hostile or odd explanationURL is dropped, the window kept */
  static const char *const bad_urls[] = {
      "\"javascript:alert(1)\"", "\"https://x.example/\\u001b[31m\"",
      "\"https://x.example/a b\"", "42", "\"not a url\""};
  for (size_t i = 0; i < sizeof(bad_urls) / sizeof(*bad_urls); i++) {
    char doc[256];
    snprintf(doc, sizeof(doc),
             "{\"suggestedWindow\":{\"start\":\"2030-01-02T04:00:00Z\","
             "\"end\":\"2030-01-03T04:00:00Z\"},\"explanationURL\":%s}",
             bad_urls[i]);
    r = NULL;
    assert_int_equal(byoca_ari_parse(doc, strlen(doc), NULL, T0, &r, NULL), 0);
    assert_null(r->explanation_url);
    assert_int_equal(r->retry_after, BYOCA_ARI_LONG_TERM); /* no header */
    byoca_ari_free(r);
  }
}

static void test_parse_invalid(void **state) {
  (void)state;
  static const char *const bad[] = {
      /* end before start, end equal to start: "as though no response" */
      "{\"suggestedWindow\":{\"start\":\"2030-01-03T00:00:00Z\","
      "\"end\":\"2030-01-02T00:00:00Z\"}}",
      "{\"suggestedWindow\":{\"start\":\"2030-01-03T00:00:00Z\","
      "\"end\":\"2030-01-03T00:00:00Z\"}}",
      "{\"suggestedWindow\":{\"start\":\"yesterday\","
      "\"end\":\"2030-01-03T00:00:00Z\"}}",
      "{\"suggestedWindow\":{\"start\":\"2030-01-03T00:00:00Z\"}}",
      "{\"suggestedWindow\":\"soon\"}",
      "{}",
      "[]",
      "this is not { json",
      "",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    struct byoca_ari *r = NULL;
    struct byoca_err e = {0};
    assert_int_equal(byoca_ari_parse(bad[i], strlen(bad[i]), "60", T0, &r, &e),
                     BYOCA_E_PROTO);
    assert_null(r);
    assert_int_equal(e.cls, BYOCA_CLASS_CA);
    byoca_err_clear(&e);
  }
}

static void test_retry_after_clamped(void **state) {
  (void)state;
  static const struct {
    const char *value;
    int64_t want;
  } rows[] = {
      {"3600", 3600},
      {"60", 60},
      {"0", BYOCA_ARI_RETRY_MIN}, /* under a minute: a minute */
      {"1", BYOCA_ARI_RETRY_MIN},
      {"86400", 86400},
      {"86401", BYOCA_ARI_RETRY_MAX}, /* over a day: a day */
      {"99999999999999999999", BYOCA_ARI_RETRY_MAX},
      /* HTTP-date: T0 is Tue, 01 Jan 2030 00:00:00 GMT */
      {"Tue, 01 Jan 2030 02:00:00 GMT", 7200},
      {"Tuesday, 01-Jan-30 02:00:00 GMT", 7200},
      {"Tue Jan  1 02:00:00 2030", 7200},
      {"Mon, 31 Dec 2029 00:00:00 GMT", BYOCA_ARI_RETRY_MIN}, /* past */
      {"Fri, 01 Jan 2100 00:00:00 GMT", BYOCA_ARI_RETRY_MAX}, /* absurd */
      /* invalid or absent: a long-term error, six hours */
      {"-5", BYOCA_ARI_LONG_TERM},
      {"soon", BYOCA_ARI_LONG_TERM},
      {"", BYOCA_ARI_LONG_TERM},
      {NULL, BYOCA_ARI_LONG_TERM},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
    int64_t got = byoca_ari_retry_after(rows[i].value, T0);
    if (got != rows[i].want)
      fail_msg("Retry-After \"%s\": got %lld, want %lld",
               rows[i].value ? rows[i].value : "(none)", (long long)got,
               (long long)rows[i].want);
  }
}

static void test_error_delay(void **state) {
  (void)state;
  struct byoca_err tmp = {
      .code = BYOCA_E_PROTO, .cls = BYOCA_CLASS_RETRYABLE, .http_status = 503};
  struct byoca_err lt = {.code = BYOCA_E_NET, .cls = BYOCA_CLASS_CA};
  /* temporary: exponential from a minute, capped tries, then long-term */
  assert_int_equal(byoca_ari_error_delay(&tmp, 1, T0), 60);
  assert_int_equal(byoca_ari_error_delay(&tmp, 2, T0), 120);
  assert_int_equal(byoca_ari_error_delay(&tmp, 3, T0), 240);
  assert_int_equal(byoca_ari_error_delay(&tmp, BYOCA_ARI_TEMP_TRIES, T0),
                   60 << (BYOCA_ARI_TEMP_TRIES - 1));
  assert_int_equal(byoca_ari_error_delay(&tmp, BYOCA_ARI_TEMP_TRIES + 1, T0),
                   BYOCA_ARI_LONG_TERM);
  /* the server's Retry-After on a 503, clamped */
  tmp.retry_after = T0 + 600;
  assert_int_equal(byoca_ari_error_delay(&tmp, 1, T0), 600);
  tmp.retry_after = T0 + 5;
  assert_int_equal(byoca_ari_error_delay(&tmp, 1, T0), 60);
  tmp.retry_after = T0 + 30 * DAY;
  assert_int_equal(byoca_ari_error_delay(&tmp, 1, T0), DAY);
  /* long-term: six hours, whatever the count */
  assert_int_equal(byoca_ari_error_delay(&lt, 1, T0), 6 * 3600);
  assert_int_equal(byoca_ari_error_delay(&lt, 9, T0), 6 * 3600);
  assert_int_equal(byoca_ari_error_delay(NULL, 1, T0), 6 * 3600);
}

static void test_pick(void **state) {
  (void)state;
  int64_t s = T0 + DAY, e = T0 + 2 * DAY;
  assert_int_equal(byoca_ari_pick(s, e, T0, 0), s);
  assert_int_equal(byoca_ari_pick(s, e, T0, DAY - 1), e - 1);
  assert_int_equal(byoca_ari_pick(s, e, T0, DAY), s); /* wraps: mod */
  assert_int_equal(byoca_ari_pick(s, e, T0, UINT64_MAX), s + UINT64_MAX % DAY);
  /* every draw lands inside the window */
  for (uint64_t r = 1; r < 1000000; r = r * 7 + 3) {
    int64_t at = byoca_ari_pick(s, e, T0, r);
    assert_true(at >= s && at < e);
  }
  /* a window in the past, or straddling now: never before now */
  assert_int_equal(byoca_ari_pick(T0 - 2 * DAY, T0 - DAY, T0, 12345), T0);
  assert_int_equal(byoca_ari_pick(T0 - DAY, T0 + DAY, T0, 0), T0);
  assert_int_equal(byoca_ari_pick(T0 - DAY, T0 + DAY, T0, DAY + 5), T0 + 5);
}

/* ---- the renewal timing table, with an injected clock ---- */

struct life_row {
  int days;
  int64_t lifetime_at; /* seconds after notBefore, D-ARI without ARI */
};
static const struct life_row lives[] = {
    {6, 3 * DAY},                      /* under 10 days: half */
    {47, 47 * DAY * 2 / 3},            /* 31 d 8 h */
    {90, 60 * DAY},                    /* two thirds */
    {200, 200 * (int64_t)DAY * 2 / 3}, /* 133 d 8 h */
};

static void test_timing_without_ari(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(lives) / sizeof(*lives); i++) {
    int64_t nb = T0, na = T0 + lives[i].days * (int64_t)DAY;
    int64_t want = nb + lives[i].lifetime_at;
    struct byoca_renewal s;
    assert_int_equal(byoca_renewal_due_lifetime(nb, na), want);
    byoca_time_set_fake(nb + 60); /* just issued */
    byoca_renewal_init(&s, nb, na, byoca_now());
    assert_int_equal(s.at, want);
    assert_string_equal(s.source, "lifetime");
    assert_int_equal(s.next_check, nb + 60); /* ARI asked right away */
    assert_false(byoca_renewal_is_due(&s, byoca_now()));
    /* never the 90-day assumption: the renewal falls well before expiry
       and, for short lifetimes, well after issuance */
    assert_true(s.at < na - lives[i].days * (int64_t)DAY / 4);
    assert_true(s.at >= nb + lives[i].days * (int64_t)DAY / 2);
    byoca_time_set_fake(want - 1);
    assert_false(byoca_renewal_is_due(&s, byoca_now()));
    byoca_time_set_fake(want);
    assert_true(byoca_renewal_is_due(&s, byoca_now()));
    /* the directory has no renewalInfo: a long-term failure, the lifetime
       rule stays, ARI is asked again in six hours */
    struct byoca_err e = {.code = BYOCA_E_NOTFOUND, .cls = BYOCA_CLASS_CA};
    byoca_time_set_fake(nb + 60);
    assert_int_equal(byoca_renewal_update(&s, nb, na, NULL, &e, byoca_now(), 7),
                     0);
    assert_int_equal(s.at, want);
    assert_string_equal(s.source, "lifetime");
    assert_int_equal(s.next_check, nb + 60 + BYOCA_ARI_LONG_TERM);
  }
  byoca_time_set_fake(0);
}

static void test_timing_with_ari(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(lives) / sizeof(*lives); i++) {
    int64_t life = lives[i].days * (int64_t)DAY, nb = T0, na = T0 + life;
    /* the CA suggests the middle fifth of the lifetime */
    struct byoca_ari w = {.start = nb + life * 2 / 5,
                          .end = nb + life * 3 / 5,
                          .retry_after = 3600};
    struct byoca_renewal s;
    byoca_time_set_fake(nb + 60);
    int64_t now = byoca_now();
    byoca_renewal_init(&s, nb, na, now);
    /* lowest draw: the window's start, earlier than the lifetime rule */
    assert_int_equal(byoca_renewal_update(&s, nb, na, &w, NULL, now, 0), 1);
    assert_int_equal(s.at, w.start);
    assert_string_equal(s.source, "ari");
    assert_int_equal(s.next_check, now + 3600);
    /* the same window again keeps the instant, whatever the draw */
    assert_int_equal(
        byoca_renewal_update(&s, nb, na, &w, NULL, now + 3600, 99999), 0);
    assert_int_equal(s.at, w.start);
    /* highest draw of a fresh schedule: just before the window's end */
    byoca_renewal_init(&s, nb, na, now);
    byoca_renewal_update(&s, nb, na, &w, NULL, now,
                         (uint64_t)(w.end - w.start) - 1);
    assert_int_equal(s.at, w.end - 1);
    byoca_time_set_fake(s.at - 1);
    assert_false(byoca_renewal_is_due(&s, byoca_now()));
    byoca_time_set_fake(s.at);
    assert_true(byoca_renewal_is_due(&s, byoca_now()));
    /* the window moves into the past (a mass revocation): due at once,
       and reported as earlier than planned */
    struct byoca_ari past = {
        .start = now - 2 * DAY, .end = now - DAY, .retry_after = 60};
    int64_t later = now + 3600;
    byoca_time_set_fake(later);
    assert_int_equal(
        byoca_renewal_update(&s, nb, na, &past, NULL, later, 424242), 1);
    assert_int_equal(s.at, later);
    assert_true(byoca_renewal_is_due(&s, byoca_now()));
    /* a window reaching past expiry is not trusted beyond 90% of the
       lifetime */
    struct byoca_ari late = {
        .start = na - life / 20, .end = na + 30 * DAY, .retry_after = 60};
    byoca_renewal_init(&s, nb, na, now);
    byoca_renewal_update(&s, nb, na, &late, NULL, now, 1);
    assert_int_equal(s.at, na - life / 10);
    /* end before start: treated as no answer; the schedule held stays */
    struct byoca_err e = {0};
    struct byoca_ari *bad = NULL;
    const char *doc =
        "{\"suggestedWindow\":{\"start\":\"2031-01-03T00:00:00Z\","
        "\"end\":\"2031-01-02T00:00:00Z\"}}";
    assert_int_not_equal(byoca_ari_parse(doc, strlen(doc), "60", now, &bad, &e),
                         0);
    byoca_renewal_init(&s, nb, na, now);
    assert_int_equal(byoca_renewal_update(&s, nb, na, bad, &e, now, 5), 0);
    assert_int_equal(s.at, nb + lives[i].lifetime_at);
    assert_string_equal(s.source, "lifetime");
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.next_check, now + BYOCA_ARI_LONG_TERM);
    byoca_err_clear(&e);
    /* no fetch after expiry */
    byoca_renewal_update(&s, nb, na, &w, NULL, na - 10, 0);
    assert_int_equal(s.next_check, 0);
  }
  byoca_time_set_fake(0);
}

/* D-ARI: "replaces" only to the directory that issued the predecessor. */
static void test_replaces_same_ca(void **state) {
  (void)state;
  const char *id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
  const char *a = "https://ca-a.test/dir", *b = "https://ca-b.test/dir";
  assert_ptr_equal(byoca_ari_replaces(id, a, a), id);
  assert_null(byoca_ari_replaces(id, a, b)); /* CAA moved it elsewhere */
  assert_null(byoca_ari_replaces(id, a, "https://ca-a.test/dir/"));
  assert_null(byoca_ari_replaces(id, NULL, a)); /* issuer unknown */
  assert_null(byoca_ari_replaces(id, a, NULL));
  assert_null(byoca_ari_replaces("", a, a)); /* no CertID */
  assert_null(byoca_ari_replaces(NULL, a, a));
}

/* What is news for the operator: a known window moved earlier, or a
 * first window that says renew now; not a first window merely earlier
 * than the lifetime rule. */
static void test_renewal_moved(void **state) {
  (void)state;
  struct byoca_renewal s = {.at = T0 + DAY, .source = "ari"};
  assert_true(byoca_renewal_moved(1, 1, &s, T0));
  assert_false(byoca_renewal_moved(1, 0, &s, T0));
  assert_false(byoca_renewal_moved(0, 1, &s, T0));
  s.at = T0;
  assert_true(byoca_renewal_moved(1, 0, &s, T0));
  assert_false(byoca_renewal_moved(0, 0, &s, T0));
}

/* ---- fetching, against a local server ---- */

struct answer {
  int status;
  const char *retry_after;
  const char *body;
};

struct fx {
  struct byoca_loop *loop;
  struct byoca_httpd *httpd;
  struct byoca_http *http;
  struct byoca_acme *acme;
  int port;
  const char *renewal_info; /* "" = none; NULL = our own /ari/ */
  struct answer answers[4];
  size_t nanswers, next;
  char paths[4][300];
  size_t npaths;
  int bad_method;
  /* outcome */
  int done;
  struct byoca_ari *res;
  struct byoca_err err;
};

static void serve(void *arg, struct byoca_httpd_req *req) {
  struct fx *f = arg;
  const char *path = byoca_httpd_path(req);
  char body[1024], ra[128];
  if (strcmp(path, "/dir") == 0) {
    char ri[200] = "";
    if (f->renewal_info == NULL)
      snprintf(ri, sizeof(ri), ",\"renewalInfo\":\"http://127.0.0.1:%d/ari/\"",
               f->port);
    else if (f->renewal_info[0] != '\0')
      snprintf(ri, sizeof(ri), ",\"renewalInfo\":\"%s\"", f->renewal_info);
    snprintf(body, sizeof(body),
             "{\"newNonce\":\"http://127.0.0.1:%d/n\","
             "\"newAccount\":\"http://127.0.0.1:%d/a\","
             "\"newOrder\":\"http://127.0.0.1:%d/o\"%s}",
             f->port, f->port, f->port, ri);
    byoca_httpd_respond(req, 200, "application/json", body, strlen(body), NULL);
    return;
  }
  if (f->npaths < 4)
    snprintf(f->paths[f->npaths++], sizeof(f->paths[0]), "%s", path);
  f->bad_method |= strcmp(byoca_httpd_method(req), "GET") != 0;
  const struct answer *a = &f->answers[f->next < f->nanswers ? f->next++ : 0];
  const char *hdrs[2] = {NULL, NULL};
  if (a->retry_after != NULL) {
    snprintf(ra, sizeof(ra), "Retry-After: %s", a->retry_after);
    hdrs[0] = ra;
  }
  byoca_httpd_respond(req, a->status, "application/json", a->body,
                      strlen(a->body), hdrs);
}

static void dir_done(void *arg, const struct byoca_err *err) {
  struct fx *f = arg;
  assert_null(err);
  f->done = 1;
  byoca_loop_break(f->loop);
}

static void fetched(void *arg, struct byoca_ari *res,
                    const struct byoca_err *err) {
  struct fx *f = arg;
  assert_true((res == NULL) != (err == NULL));
  f->res = res;
  if (err != NULL)
    assert_int_equal(byoca_err_copy(&f->err, err), 0);
  f->done = 1;
  byoca_loop_break(f->loop);
}

static void run(struct fx *f) {
  while (!f->done)
    assert_int_equal(byoca_loop_run(f->loop), 0);
  f->done = 0;
}

static void fx_start(struct fx *f) {
  char url[100];
  struct byoca_http_opts ho = {.timeout_ms = 5000};
  f->loop = byoca_loop_new();
  f->httpd = byoca_httpd_new(f->loop, NULL, serve, f, NULL);
  assert_non_null(f->httpd);
  assert_int_equal(byoca_httpd_listen(f->httpd, "127.0.0.1:0", NULL), 0);
  f->port = byoca_httpd_port(f->httpd);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/dir", f->port);
  f->http = byoca_http_new(f->loop, &ho, NULL);
  assert_non_null(f->http);
  assert_int_equal(byoca_http_trust_url(f->http, url), 0);
  f->acme = byoca_acme_new(f->loop, f->http, url, NULL);
  assert_int_equal(byoca_acme_directory(f->acme, dir_done, f), 0);
  run(f);
}

static void fx_fetch(struct fx *f, const char *id) {
  byoca_ari_free(f->res);
  f->res = NULL;
  byoca_err_clear(&f->err);
  assert_int_equal(byoca_ari_fetch(f->acme, id, fetched, f), 0);
  run(f);
}

static void fx_stop(struct fx *f) {
  byoca_ari_free(f->res);
  byoca_err_clear(&f->err);
  byoca_acme_free(f->acme);
  byoca_http_free(f->http);
  byoca_httpd_free(f->httpd);
  byoca_loop_free(f->loop);
}

#define WINDOW_2030                                                            \
  "{\"suggestedWindow\":{\"start\":\"2030-01-02T00:00:00Z\","                  \
  "\"end\":\"2030-01-03T00:00:00Z\"},"                                         \
  "\"explanationURL\":\"https://ca.example/why\"}"

static void test_fetch_window(void **state) {
  (void)state;
  struct fx f = {.nanswers = 1, .answers = {{200, "3600", WINDOW_2030}}};
  fx_start(&f);
  fx_fetch(&f, rfc_cert_id);
  assert_non_null(f.res);
  assert_int_equal(f.res->start, T0 + DAY);
  assert_int_equal(f.res->end, T0 + 2 * DAY);
  assert_int_equal(f.res->retry_after, 3600);
  assert_string_equal(f.res->explanation_url, "https://ca.example/why");
  /* an unauthenticated GET of <renewalInfo>/<CertID>, no double slash */
  assert_int_equal(f.npaths, 1);
  assert_string_equal(f.paths[0], "/ari/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  assert_false(f.bad_method);
  fx_stop(&f);
}

static void test_fetch_5xx_then_success(void **state) {
  (void)state;
  struct fx f = {.nanswers = 2,
                 .answers = {{503, "120",
                              "{\"type\":\"urn:ietf:params:acme:"
                              "error:serverInternal\"}"},
                             {200, "60", WINDOW_2030}}};
  fx_start(&f);
  fx_fetch(&f, rfc_cert_id);
  assert_null(f.res);
  assert_int_equal(f.err.http_status, 503);
  assert_int_equal(f.err.cls, BYOCA_CLASS_RETRYABLE); /* temporary */
  assert_true(f.err.retry_after > 0);
  int64_t d = byoca_ari_error_delay(&f.err, 1, byoca_now());
  assert_true(d >= 118 && d <= 120);
  fx_fetch(&f, rfc_cert_id);
  assert_non_null(f.res);
  assert_int_equal(f.res->start, T0 + DAY);
  assert_int_equal(f.res->retry_after, 60);
  fx_stop(&f);
}

static void test_fetch_long_term_errors(void **state) {
  (void)state;
  static const struct answer rows[] = {
      {404, NULL, "{\"type\":\"urn:ietf:params:acme:error:malformed\"}"},
      {200, "60", "this is not { json"},
      {200, "60",
       "{\"suggestedWindow\":{\"start\":\"2030-01-03T00:00:00Z\","
       "\"end\":\"2030-01-02T00:00:00Z\"}}"},
      {204, NULL, ""},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
    struct fx f = {.nanswers = 1, .answers = {rows[i]}};
    fx_start(&f);
    fx_fetch(&f, rfc_cert_id);
    assert_null(f.res);
    assert_int_equal(f.err.cls, BYOCA_CLASS_CA); /* long-term */
    assert_int_equal(byoca_ari_error_delay(&f.err, 1, byoca_now()),
                     BYOCA_ARI_LONG_TERM);
    assert_non_null(strstr(f.err.activity, "renewal window"));
    fx_stop(&f);
  }
}

static void test_fetch_connection_refused(void **state) {
  (void)state;
  struct fx f = {.nanswers = 1, .answers = {{200, "60", WINDOW_2030}}};
  fx_start(&f);
  byoca_httpd_free(f.httpd); /* nobody listens on the port any more */
  f.httpd = NULL;
  fx_fetch(&f, rfc_cert_id);
  assert_null(f.res);
  assert_int_equal(f.err.code, BYOCA_E_NET);
  assert_int_equal(f.err.cls, BYOCA_CLASS_CA); /* long-term per §4.3.3 */
  assert_int_equal(byoca_ari_error_delay(&f.err, 1, byoca_now()),
                   BYOCA_ARI_LONG_TERM);
  fx_stop(&f);
}

static void test_fetch_policy_and_input(void **state) {
  (void)state;
  /* renewalInfo on a host nobody trusted: the address policy refuses */
  struct fx f = {.renewal_info = "https://127.0.0.2:9/ari",
                 .nanswers = 1,
                 .answers = {{200, "60", WINDOW_2030}}};
  fx_start(&f);
  fx_fetch(&f, rfc_cert_id);
  assert_null(f.res);
  assert_int_equal(f.err.code, BYOCA_E_POLICY);
  assert_int_equal(f.err.cls, BYOCA_CLASS_CA);
  /* a CertID that could escape the path is refused before any I/O */
  static const char *const bad_ids[] = {"a.b/../c", "abc", "a.b.c",
                                        ".b",       "a.",  "a?b.c"};
  for (size_t i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++) {
    fx_fetch(&f, bad_ids[i]);
    assert_int_equal(f.err.code, BYOCA_E_INVAL);
  }
  fx_fetch(&f, NULL);
  assert_int_equal(f.err.code, BYOCA_E_INVAL);
  assert_int_equal(f.npaths, 0);
  fx_stop(&f);
  /* no renewalInfo in the directory: BYOCA_E_NOTFOUND */
  struct fx g = {.renewal_info = ""};
  fx_start(&g);
  assert_false(byoca_acme_has(g.acme, "renewalInfo"));
  fx_fetch(&g, rfc_cert_id);
  assert_int_equal(g.err.code, BYOCA_E_NOTFOUND);
  assert_int_equal(g.err.cls, BYOCA_CLASS_CA);
  fx_stop(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cert_id_rfc_example),
      cmocka_unit_test(test_cert_id_without_aki),
      cmocka_unit_test(test_parse_window),
      cmocka_unit_test(test_parse_invalid),
      cmocka_unit_test(test_retry_after_clamped),
      cmocka_unit_test(test_error_delay),
      cmocka_unit_test(test_pick),
      cmocka_unit_test(test_timing_without_ari),
      cmocka_unit_test(test_timing_with_ari),
      cmocka_unit_test(test_replaces_same_ca),
      cmocka_unit_test(test_renewal_moved),
      cmocka_unit_test(test_fetch_window),
      cmocka_unit_test(test_fetch_5xx_then_success),
      cmocka_unit_test(test_fetch_long_term_errors),
      cmocka_unit_test(test_fetch_connection_refused),
      cmocka_unit_test(test_fetch_policy_and_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
