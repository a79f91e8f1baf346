/* Unit tests of lib/caa's DNS lookup of the Relevant RRset (RFC 8659 §3)
 * against a real DNS server: pebble-challtestsrv, started by the test on
 * free loopback ports and fed through its management API (POST /add-caa,
 * /set-cname, /set-servfail, /dns-request-history). Records at the name,
 * at a parent, nowhere; CNAMEs with and without records at the target
 * (D-CNAME); SERVFAIL at and above the relevant level (D-DNS-ERR); wildcards;
 * malformed and too many records; DNSSEC (require_secure refusing
 * challtestsrv's unchecked answers, bogus answers of a validating
 * resolver); names refused up front. Skipped when pebble-challtestsrv is
 * not installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/caa.h"
#include "byoca/net.h"

#define CTS "/usr/bin/pebble-challtestsrv"

struct env {
  pid_t cts;
  int dns_port, api_port;
  char forward[32];
  struct byoca_loop *loop;
  struct byoca_resolver *res;
};

/* ---- challtestsrv ---- */

/* A port free for both UDP and TCP on 127.0.0.1 (tcp_too), or TCP only. */
static int free_port(int tcp_too) {
  for (int tries = 0; tries < 50; tries++) {
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sin);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, tcp_too ? SOCK_DGRAM : SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
    int ok = 1;
    if (tcp_too) {
      int t = socket(AF_INET, SOCK_STREAM, 0);
      ok = bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0;
      close(t);
    }
    close(s);
    if (ok)
      return ntohs(sin.sin_port);
  }
  fail_msg("no free port");
  return -1;
}

/* One HTTP/1.0 POST to the management API; the status, body into out. */
static int api_post(const struct env *e, const char *path, const char *json,
                    char *out, size_t outlen) {
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)e->api_port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(s);
    return -1;
  }
  char req[2048], resp[8192];
  int n = snprintf(req, sizeof(req),
                   "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
                   "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   path, strlen(json), json);
  assert_true(n > 0 && (size_t)n < sizeof(req));
  assert_int_equal(write(s, req, (size_t)n), n);
  size_t got = 0;
  ssize_t r;
  while (got < sizeof(resp) - 1 &&
         (r = read(s, resp + got, sizeof(resp) - 1 - got)) > 0)
    got += (size_t)r;
  close(s);
  resp[got] = '\0';
  int status = 0;
  if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
    return -1;
  const char *body = strstr(resp, "\r\n\r\n");
  if (out != NULL)
    snprintf(out, outlen, "%s", body != NULL ? body + 4 : "");
  return status;
}

static void post(const struct env *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void post(const struct env *e, const char *path, const char *fmt, ...) {
  char json[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(json, sizeof(json), fmt, ap);
  va_end(ap);
  int status = api_post(e, path, json, NULL, 0);
  if (status != 200)
    fail_msg("challtestsrv %s %s: HTTP %d", path, json, status);
}

static void add_caa(const struct env *e, const char *host, const char *tag,
                    const char *value) {
  post(e, "/add-caa",
       "{\"host\":\"%s\",\"policies\":[{\"tag\":\"%s\","
       "\"value\":\"%s\"}]}",
       host, tag, value);
}

static void start_cts(struct env *e) {
  char dns[32], api[32];
  e->dns_port = free_port(1);
  e->api_port = free_port(0);
  snprintf(dns, sizeof(dns), "127.0.0.1:%d", e->dns_port);
  snprintf(api, sizeof(api), "127.0.0.1:%d", e->api_port);
  e->cts = fork();
  assert_true(e->cts >= 0);
  if (e->cts == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* dies with the test */
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execl(CTS, CTS, "-dns01", dns, "-management", api, "-http01", "",
          "-https01", "", "-tlsalpn01", "", "-defaultIPv6", "", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 100; i++) {
    if (api_post(e, "/set-default-ipv4", "{\"ip\":\"127.0.0.1\"}", NULL, 0) ==
        200)
      return;
    int st;
    if (waitpid(e->cts, &st, WNOHANG) == e->cts)
      fail_msg("pebble-challtestsrv exited at startup");
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fail_msg("pebble-challtestsrv did not start");
}

static int setup(void **state) {
  if (access(CTS, X_OK) != 0) {
    print_message("skipped: %s is not installed\n", CTS);
    *state = NULL;
    return 0;
  }
  struct env *e = calloc(1, sizeof(*e));
  assert_non_null(e);
  start_cts(e);
  e->loop = byoca_loop_new();
  snprintf(e->forward, sizeof(e->forward), "127.0.0.1@%d", e->dns_port);
  struct byoca_resolver_opts o = {.forward = e->forward};
  struct byoca_err err = {0};
  e->res = byoca_resolver_new(e->loop, &o, &err);
  if (e->res == NULL)
    fail_msg("resolver: %s", err.msg);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  if (e == NULL)
    return 0;
  byoca_resolver_free(e->res);
  byoca_loop_free(e->loop);
  kill(e->cts, SIGTERM);
  waitpid(e->cts, NULL, 0);
  free(e);
  return 0;
}

static struct env *env_of(void **state) {
  if (*state == NULL)
    skip();
  return *state;
}

/* ---- lookups ---- */

struct got {
  struct byoca_loop *loop;
  int calls;
  struct byoca_caa_rrset *s;
  struct byoca_err err;
};

static void on_rrset(void *arg, struct byoca_caa_rrset *s,
                     const struct byoca_err *err) {
  struct got *g = arg;
  g->calls++;
  g->s = s;
  if (err != NULL)
    assert_int_equal(byoca_err_copy(&g->err, err), 0);
  byoca_loop_break(g->loop);
}

static void watchdog(void *arg) {
  (void)arg;
  fail_msg("CAA lookup did not finish");
}

/* Looks name up with r; the result is g->s (caller: done()). */
static void lookup_with(struct env *e, struct byoca_resolver *r,
                        const char *name, int require_secure, struct got *g) {
  memset(g, 0, sizeof(*g));
  g->loop = e->loop;
  assert_int_equal(byoca_caa_lookup(r, name, require_secure, on_rrset, g), 0);
  assert_int_equal(g->calls, 0); /* never from inside byoca_caa_lookup */
  struct byoca_timer *wd = byoca_timer_add(e->loop, 30000, watchdog, NULL);
  while (g->calls == 0)
    byoca_loop_run(e->loop);
  byoca_timer_cancel(wd);
  assert_int_equal(g->calls, 1);
  if (g->s == NULL)
    fail_msg("lookup of %s could not run: %s", name, g->err.msg);
}

static void lookup(struct env *e, const char *name, int require_secure,
                   struct got *g) {
  lookup_with(e, e->res, name, require_secure, g);
}

static void done(struct got *g) {
  byoca_caa_rrset_clear(g->s);
  free(g->s);
  byoca_err_clear(&g->err);
}

/* Checks a found RRset: domain and "tag value" of its first record. */
static void expect_found(struct got *g, const char *domain, size_t n,
                         const char *tag, const char *value) {
  struct byoca_caa_rrset *s = g->s;
  if (s->lookup_error)
    fail_msg("unexpected lookup error: %s", s->error);
  assert_non_null(s->relevant_domain);
  assert_string_equal(s->relevant_domain, domain);
  assert_int_equal(s->n, n);
  assert_int_equal(s->records[0].flags, 0);
  assert_string_equal(s->records[0].tag, tag);
  assert_string_equal(s->records[0].value, value);
  assert_int_equal(s->dnssec, BYOCA_DNSSEC_UNCHECKED);
}

static void expect_error(struct got *g, const char *why) {
  struct byoca_caa_rrset *s = g->s;
  assert_true(s->lookup_error);
  assert_null(s->relevant_domain);
  assert_int_equal(s->n, 0);
  if (strstr(s->error, why) == NULL)
    fail_msg("want an error with '%s', got '%s'", why, s->error);
}

static void test_at_name(void **state) {
  struct env *e = env_of(state);
  struct got g;
  add_caa(e, "name.lk.test", "issue", "ca.example; accounturi=x");
  add_caa(e, "name.lk.test", "iodef", "mailto:a@name.lk.test");
  add_caa(e, "lk.test", "issue", "parent.example");
  lookup(e, "name.lk.test", 0, &g);
  assert_false(g.s->lookup_error);
  assert_string_equal(g.s->relevant_domain, "name.lk.test");
  assert_int_equal(g.s->n, 2);
  assert_int_equal(g.s->dnssec, BYOCA_DNSSEC_UNCHECKED);
  int issue = 0, iodef = 0;
  for (size_t i = 0; i < 2; i++) {
    issue |= strcmp(g.s->records[i].tag, "issue") == 0 &&
             strcmp(g.s->records[i].value, "ca.example; accounturi=x") == 0;
    iodef |= strcmp(g.s->records[i].tag, "iodef") == 0;
  }
  assert_true(issue && iodef);
  done(&g);
  /* case and the trailing dot do not matter (challtestsrv is
     case-sensitive: the query must be lowercase) */
  lookup(e, "NAME.Lk.TEST.", 0, &g);
  assert_string_equal(g.s->relevant_domain, "name.lk.test");
  done(&g);
}

static void test_at_parent(void **state) {
  struct env *e = env_of(state);
  struct got g;
  add_caa(e, "p.lk.test", "issue", "parent.example");
  lookup(e, "a.b.www.p.lk.test", 0, &g);
  expect_found(&g, "p.lk.test", 1, "issue", "parent.example");
  done(&g);
  /* every level was asked at once, also those above the answer */
  char hist[4096];
  assert_int_equal(api_post(e, "/dns-request-history", "{\"host\":\"lk.test\"}",
                            hist, sizeof(hist)),
                   200);
  assert_non_null(strstr(hist, "\"Qtype\": 257"));
}

static void test_none(void **state) {
  struct env *e = env_of(state);
  struct got g;
  lookup(e, "www.nothing.none", 0, &g);
  assert_false(g.s->lookup_error);
  assert_null(g.s->relevant_domain);
  assert_int_equal(g.s->n, 0);
  assert_null(g.s->records);
  assert_int_equal(g.s->dnssec, BYOCA_DNSSEC_UNCHECKED);
  done(&g);
}

static void test_cname(void **state) {
  struct env *e = env_of(state);
  struct got g;
  /* the target has records: they are the alias's level's */
  add_caa(e, "tgt.other.test", "issue", "target.example");
  post(e, "/set-cname",
       "{\"host\":\"al.cn.test\",\"target\":"
       "\"tgt.other.test\"}");
  lookup(e, "al.cn.test", 0, &g);
  expect_found(&g, "al.cn.test", 1, "issue", "target.example");
  done(&g);
  lookup(e, "www.al.cn.test", 0, &g);
  assert_string_equal(g.s->relevant_domain, "al.cn.test");
  done(&g);
  /* the target has none: the climb goes on at cn.test, never at the
     target's parent other2.test */
  add_caa(e, "cn.test", "issue", "original.example");
  add_caa(e, "other2.test", "issue", "hoster.example");
  post(e, "/set-cname",
       "{\"host\":\"al2.cn.test\",\"target\":"
       "\"bare.other2.test\"}");
  lookup(e, "al2.cn.test", 0, &g);
  expect_found(&g, "cn.test", 1, "issue", "original.example");
  done(&g);
}

static void test_servfail(void **state) {
  struct env *e = env_of(state);
  struct got g;
  /* at the name, with records above: fail closed (D-DNS-ERR) */
  add_caa(e, "sf.test", "issue", "parent.example");
  post(e, "/set-servfail", "{\"host\":\"x.sf.test\"}");
  lookup(e, "x.sf.test", 0, &g);
  expect_error(&g, "CAA lookup at x.sf.test failed: SERVFAIL");
  done(&g);
  /* between the name and the records; a wildcard starts at x.sf.test */
  lookup(e, "y.x.sf.test", 0, &g);
  expect_error(&g, "CAA lookup at x.sf.test failed: SERVFAIL");
  done(&g);
  lookup(e, "*.x.sf.test", 0, &g);
  expect_error(&g, "CAA lookup at x.sf.test failed: SERVFAIL");
  done(&g);
  /* only above the relevant level: irrelevant */
  post(e, "/set-servfail", "{\"host\":\"sfp.test\"}");
  add_caa(e, "ok.sfp.test", "issue", "child.example");
  lookup(e, "www.ok.sfp.test", 0, &g);
  expect_found(&g, "ok.sfp.test", 1, "issue", "child.example");
  done(&g);
  /* above, but nothing below it: the RRset cannot be known */
  lookup(e, "www.empty.sfp.test", 0, &g);
  expect_error(&g, "CAA lookup at sfp.test failed: SERVFAIL");
  done(&g);
}

static void test_wildcard(void **state) {
  struct env *e = env_of(state);
  struct got g;
  add_caa(e, "w.lk.test", "issuewild", "wild.example");
  add_caa(e, "*.w.lk.test", "issue", "never.example");
  lookup(e, "*.w.lk.test", 0, &g);
  expect_found(&g, "w.lk.test", 1, "issuewild", "wild.example");
  done(&g);
  char hist[4096];
  assert_int_equal(api_post(e, "/dns-request-history",
                            "{\"host\":\"*.w.lk.test\"}", hist, sizeof(hist)),
                   200);
  assert_null(strstr(hist, "Qtype"));
}

static void test_bad_records(void **state) {
  struct env *e = env_of(state);
  struct got g;
  /* challtestsrv serves the tag as given: not a valid tag on the wire */
  add_caa(e, "bad.lk.test", "is-sue", "ca.example");
  lookup(e, "bad.lk.test", 0, &g);
  expect_error(&g, "malformed CAA record at bad.lk.test: ");
  done(&g);
  /* a malformed record above the relevant level does not matter */
  add_caa(e, "bad2.test", "is-sue", "ca.example");
  add_caa(e, "x.bad2.test", "issue", "ca.example");
  lookup(e, "x.bad2.test", 0, &g);
  expect_found(&g, "x.bad2.test", 1, "issue", "ca.example");
  done(&g);
  /* more than 64 records (over TCP) */
  for (int i = 0; i < BYOCA_CAA_MAX_RECORDS + 1; i++) {
    char v[32];
    snprintf(v, sizeof(v), "ca%d.example", i);
    add_caa(e, "many.lk.test", "issue", v);
  }
  lookup(e, "many.lk.test", 0, &g);
  expect_error(&g, "too many CAA records at many.lk.test: 65 records");
  done(&g);
  for (int i = 0; i < BYOCA_CAA_MAX_RECORDS; i++) {
    char v[32];
    snprintf(v, sizeof(v), "ca%d.example", i);
    add_caa(e, "max.lk.test", "issue", v);
  }
  lookup(e, "max.lk.test", 0, &g);
  assert_false(g.s->lookup_error);
  assert_int_equal(g.s->n, BYOCA_CAA_MAX_RECORDS);
  done(&g);
}

static void test_require_secure(void **state) {
  struct env *e = env_of(state);
  struct got g;
  add_caa(e, "sec.lk.test", "issue", "ca.example");
  lookup(e, "sec.lk.test", 1, &g);
  expect_error(&g, "DNSSEC: sec.lk.test is unchecked; --require-dnssec "
                   "refuses it");
  assert_int_equal(g.s->dnssec, BYOCA_DNSSEC_UNCHECKED);
  done(&g);
  /* no records anywhere: every level must be secure, the first is not */
  lookup(e, "www.nothing2.none", 1, &g);
  expect_error(&g, "DNSSEC: www.nothing2.none is unchecked");
  done(&g);
}

static void test_bogus(void **state) {
  struct env *e = env_of(state);
  /* validating with the real root key against an unsigned server: no
     chain of trust, every answer is bogus */
  struct byoca_resolver_opts o = {.forward = e->forward,
                                  .trust_anchor = "/usr/share/dns/root.key"};
  if (access(o.trust_anchor, R_OK) != 0)
    skip();
  struct byoca_err err = {0};
  struct byoca_resolver *v = byoca_resolver_new(e->loop, &o, &err);
  assert_non_null(v);
  add_caa(e, "bogus.lk.test", "issue", "ca.example");
  struct got g;
  lookup_with(e, v, "bogus.lk.test", 0, &g);
  expect_error(&g, "CAA lookup at bogus.lk.test failed: DNSSEC validation "
                   "failed (bogus)");
  assert_int_equal(g.s->dnssec, BYOCA_DNSSEC_BOGUS);
  done(&g);
  byoca_resolver_free(v);
}

static void test_timeout(void **state) {
  struct env *e = env_of(state);
  /* a server that never answers (UDP bound, nothing read; no TCP) */
  struct sockaddr_in sin = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sin);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
  char fwd[32];
  snprintf(fwd, sizeof(fwd), "127.0.0.1@%d", ntohs(sin.sin_port));
  struct byoca_resolver_opts o = {.forward = fwd};
  struct byoca_resolver *r = byoca_resolver_new(e->loop, &o, NULL);
  assert_non_null(r);
  struct got g;
  time_t t0 = time(NULL);
  lookup_with(e, r, "www.silent.test", 0, &g);
  print_message("timeout after %lds: %s\n", (long)(time(NULL) - t0),
                g.s->error);
  expect_error(&g, "CAA lookup at www.silent.test failed: ");
  done(&g);
  byoca_resolver_free(r);
  close(fd);
}

static void never(void *arg, struct byoca_caa_rrset *s,
                  const struct byoca_err *err) {
  (void)arg;
  (void)s;
  (void)err;
  fail_msg("callback of a refused lookup ran");
}

static void stop_loop(void *arg) {
  byoca_loop_break(arg);
}

/* Runs the loop for ms. */
static void run_for(struct env *e, int64_t ms) {
  struct byoca_timer *t = byoca_timer_add(e->loop, ms, stop_loop, e->loop);
  assert_non_null(t);
  byoca_loop_run(e->loop);
}

/* A lookup at a server that never answers is cancelled: at once, its
 * callback never runs, the resolver holds no query of it (freeing the
 * resolver afterwards finds nothing to cancel, and nothing leaks). A
 * lookup on another name at a live server still works meanwhile. */
static void test_cancel(void **state) {
  struct env *e = env_of(state);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sin);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
  char fwd[32];
  snprintf(fwd, sizeof(fwd), "127.0.0.1@%d", ntohs(sin.sin_port));
  struct byoca_resolver_opts o = {.forward = fwd};
  struct byoca_resolver *r = byoca_resolver_new(e->loop, &o, NULL);
  assert_non_null(r);
  struct byoca_caa_lookup *lk = NULL, *lk2 = NULL;
  assert_int_equal(
      byoca_caa_lookup_start(r, "www.silent.test", 0, never, NULL, &lk), 0);
  assert_non_null(lk);
  assert_int_equal(
      byoca_caa_lookup_start(r, "a.b.silent.test", 0, never, NULL, &lk2), 0);
  run_for(e, 300); /* the queries are out, unanswered */
  char buf[512];
  assert_true(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0);
  byoca_caa_lookup_cancel(lk);
  byoca_caa_lookup_cancel(NULL);
  run_for(e, 200);
  byoca_caa_lookup_cancel(lk2);
  run_for(e, 1500); /* unbound's retries would answer "never" by now */
  /* the live resolver is untouched by the cancellations */
  add_caa(e, "live.cancel.test", "issue", "ca.example");
  struct got g;
  lookup(e, "live.cancel.test", 0, &g);
  expect_found(&g, "live.cancel.test", 1, "issue", "ca.example");
  done(&g);
  byoca_resolver_free(r);
  close(fd);
}

static void test_refused_names(void **state) {
  struct env *e = env_of(state);
  char long_name[300], many[300];
  memset(long_name, 'a', sizeof(long_name));
  for (int i = 0; i < 254; i += 2) /* 127 labels "a." ... then 254 bytes */
    long_name[i + 1] = '.';
  long_name[253] = '\0'; /* "a.a.....a" of 253 bytes, 127 labels: fine */
  snprintf(many, sizeof(many), "b.%.253s", long_name); /* 255 bytes */
  const char *bad[] = {"",      ".",     "a..b",
                       ".a",    "*.*..", "a b.test",
                       "a\\.b", many,    "x.\xc3\xa9.test"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(byoca_caa_lookup(e->res, bad[i], 0, never, NULL),
                     BYOCA_E_INVAL);
  char label64[80];
  memset(label64, 'l', 64);
  snprintf(label64 + 64, sizeof(label64) - 64, ".test");
  assert_int_equal(byoca_caa_lookup(e->res, label64, 0, never, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_lookup(NULL, "a.test", 0, never, NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_caa_lookup(e->res, "a.test", 0, NULL, NULL),
                   BYOCA_E_INVAL);
  /* 128 labels */
  char labels128[300];
  size_t off = 0;
  for (int i = 0; i < 128; i++)
    labels128[off++] = 'c', labels128[off++] = '.';
  labels128[off] = '\0';
  assert_int_equal(byoca_caa_lookup(e->res, labels128, 0, never, NULL),
                   BYOCA_E_INVAL);
  /* the longest name accepted: 253 bytes, 127 labels, 127 queries */
  struct got g;
  lookup(e, long_name, 0, &g);
  assert_false(g.s->lookup_error);
  assert_null(g.s->relevant_domain);
  done(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_at_name),     cmocka_unit_test(test_at_parent),
      cmocka_unit_test(test_none),        cmocka_unit_test(test_cname),
      cmocka_unit_test(test_servfail),    cmocka_unit_test(test_wildcard),
      cmocka_unit_test(test_bad_records), cmocka_unit_test(test_require_secure),
      cmocka_unit_test(test_bogus),       cmocka_unit_test(test_refused_names),
      cmocka_unit_test(test_timeout),     cmocka_unit_test(test_cancel),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
