/* The order engine's persist hook against a small ACME server on
 * 127.0.0.1 (random port, same loop) whose newOrder answers an order
 * that is ready at once and whose finalize answers a problem ("the test
 * stops here"): the hook in callback form holds the order until
 * byoca_order_persist_done (nothing finalized before the key is
 * durable), a failed completion fails the order with the durable
 * message and nothing finalized, a completion from within the hook (byocad
 * on SQLite) goes on as the synchronous hook does, a cancel while waiting
 * only frees the order at the completion (ASan: no leak, no
 * use-after-free), and the synchronous hook still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/acme.h"
#include "byoca/crypto.h"
#include "byoca/net.h"

struct env {
  struct byoca_loop *loop;
  struct byoca_httpd *srv;
  struct byoca_http *http;
  struct byoca_acme *a;
  struct byoca_key *acct;
  char base[64];
  int nonce;
  int new_orders, finalizes; /* what the server saw */
  /* the hook */
  int mode; /* HOOK_* */
  int calls;
  int with_key[2];
  char url[256];
  struct byoca_order *waiting; /* completion owed for it */
  /* the order */
  struct byoca_order *o;
  int reported;
  struct byoca_err err;
};

enum { HOOK_LATER, HOOK_INLINE, HOOK_REFUSE };

/* ---- the server ---- */

static void answer(struct env *e, struct byoca_httpd_req *r, int status,
                   const char *ctype, const char *body, const char *loc) {
  char nonce[64], location[128];
  const char *hdr[3] = {nonce, NULL, NULL};
  snprintf(nonce, sizeof(nonce), "Replay-Nonce: nonce%d", ++e->nonce);
  if (loc != NULL) {
    snprintf(location, sizeof(location), "Location: %s%s", e->base, loc);
    hdr[1] = location;
  }
  byoca_httpd_respond(r, status, ctype, body, body ? strlen(body) : 0, hdr);
}

static void on_request(void *arg, struct byoca_httpd_req *r) {
  struct env *e = arg;
  const char *path = byoca_httpd_path(r);
  char body[1024];
  if (strcmp(path, "/dir") == 0) {
    snprintf(body, sizeof(body),
             "{\"newNonce\":\"%s/nonce\",\"newAccount\":\"%s/acct\","
             "\"newOrder\":\"%s/new-order\"}",
             e->base, e->base, e->base);
    answer(e, r, 200, "application/json", body, NULL);
  } else if (strcmp(path, "/nonce") == 0) {
    answer(e, r, 200, NULL, NULL, NULL);
  } else if (strcmp(path, "/new-order") == 0) {
    e->new_orders++;
    snprintf(body, sizeof(body),
             "{\"status\":\"ready\",\"identifiers\":[{\"type\":\"dns\","
             "\"value\":\"example.org\"}],\"authorizations\":[],"
             "\"finalize\":\"%s/order/1/finalize\"}",
             e->base);
    answer(e, r, 201, "application/json", body, "/order/1");
  } else if (strcmp(path, "/order/1/finalize") == 0) {
    e->finalizes++;
    answer(e, r, 403, "application/problem+json",
           "{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
           "\"detail\":\"the test stops here\"}",
           NULL);
  } else {
    answer(e, r, 404, NULL, NULL, NULL);
  }
}

/* ---- the loop ---- */

struct wait {
  struct env *e;
  int (*pred)(struct env *e);
  int64_t until_ms;
  struct byoca_timer *t;
};

static void wait_fire(void *arg) {
  struct wait *w = arg;
  w->t = NULL;
  if ((w->pred != NULL && w->pred(w->e)) || byoca_now_ms() > w->until_ms) {
    byoca_loop_break(w->e->loop);
    return;
  }
  w->t = byoca_timer_add(w->e->loop, 5, wait_fire, w);
}

/* Runs the loop until pred holds (5 s at most) or, pred NULL, for ms. */
static void run(struct env *e, int (*pred)(struct env *e), int64_t ms) {
  struct wait w = {e, pred, byoca_now_ms() + ms, NULL};
  w.t = byoca_timer_add(e->loop, 0, wait_fire, &w);
  assert_non_null(w.t);
  byoca_loop_run(e->loop);
  if (w.t != NULL)
    byoca_timer_cancel(w.t);
}

static int dir_ok;
static void on_dir(void *arg, const struct byoca_err *err) {
  struct env *e = arg;
  dir_ok = err == NULL ? 1 : -1;
  byoca_loop_break(e->loop);
}

static int setup(void **state) {
  struct env *e = calloc(1, sizeof(*e));
  struct byoca_httpd_opts so = {0};
  struct byoca_http_opts ho = {.timeout_ms = 5000, .connect_timeout_ms = 2000};
  assert_non_null(e);
  e->loop = byoca_loop_new();
  e->srv = byoca_httpd_new(e->loop, &so, on_request, e, NULL);
  assert_non_null(e->srv);
  assert_int_equal(byoca_httpd_listen(e->srv, "127.0.0.1:0", NULL), 0);
  snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d",
           byoca_httpd_port(e->srv));
  e->http = byoca_http_new(e->loop, &ho, NULL);
  assert_non_null(e->http);
  assert_int_equal(byoca_http_trust_url(e->http, e->base), 0);
  char dir[96];
  snprintf(dir, sizeof(dir), "%s/dir", e->base);
  e->a = byoca_acme_new(e->loop, e->http, dir, NULL);
  assert_non_null(e->a);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &e->acct, NULL), 0);
  char kid[96];
  snprintf(kid, sizeof(kid), "%s/acct/1", e->base);
  byoca_acme_set_account(e->a, e->acct, kid);
  dir_ok = 0;
  assert_int_equal(byoca_acme_directory(e->a, on_dir, e), 0);
  byoca_loop_run(e->loop);
  assert_int_equal(dir_ok, 1);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  byoca_acme_free(e->a);
  byoca_key_free(e->acct);
  byoca_http_free(e->http);
  byoca_httpd_free(e->srv);
  byoca_loop_free(e->loop);
  byoca_err_clear(&e->err);
  free(e);
  return 0;
}

/* ---- the hooks and the order ---- */

static int hook(void *arg, struct byoca_order *o, const char *order_url,
                const struct byoca_key *key) {
  struct env *e = arg;
  assert_null(e->waiting); /* one at a time */
  if (e->calls < 2)
    e->with_key[e->calls] = key != NULL;
  e->calls++;
  snprintf(e->url, sizeof(e->url), "%s", order_url);
  if (e->mode == HOOK_REFUSE)
    return -1;
  if (e->mode == HOOK_INLINE) {
    byoca_order_persist_done(o, 0);
    return 0;
  }
  e->waiting = o;
  return 0;
}

static int sync_rc;
static int sync_hook(void *arg, const char *order_url,
                     const struct byoca_key *key) {
  struct env *e = arg;
  if (e->calls < 2)
    e->with_key[e->calls] = key != NULL;
  e->calls++;
  snprintf(e->url, sizeof(e->url), "%s", order_url);
  return sync_rc;
}

static void on_order(void *arg, struct byoca_order_result *res,
                     const struct byoca_err *err) {
  struct env *e = arg;
  e->reported++;
  e->o = NULL;
  assert_null(res);
  assert_non_null(err);
  assert_int_equal(byoca_err_copy(&e->err, err), 0);
}

static void start(struct env *e, int mode, int sync) {
  static const char *const names[] = {"example.org"};
  struct byoca_order_req req = {.names = names,
                                .nnames = 1,
                                .key_type = BYOCA_KEY_EC256,
                                .persist_arg = e};
  if (sync)
    req.persist = sync_hook;
  else
    req.persist_start = hook;
  e->mode = mode;
  e->o = byoca_order_start(e->a, &req, on_order, e, NULL);
  assert_non_null(e->o);
}

static int hook_waits(struct env *e) {
  return e->waiting != NULL;
}
static int reported(struct env *e) {
  return e->reported > 0;
}

/* Completes the hook's wait with rc. */
static void complete(struct env *e, int rc) {
  struct byoca_order *o = e->waiting;
  e->waiting = NULL;
  byoca_order_persist_done(o, rc);
}

/* The order ended at the server's finalize answer: it was finalized. */
static void assert_finalized(struct env *e) {
  assert_int_equal(e->reported, 1);
  assert_int_equal(e->finalizes, 1);
  assert_non_null(e->err.problem);
  assert_string_equal(e->err.problem->detail, "the test stops here");
}

static void assert_durable_failure(struct env *e) {
  assert_int_equal(e->reported, 1);
  assert_int_equal(e->finalizes, 0);
  assert_int_equal(e->err.code, BYOCA_E_IO);
  assert_int_equal(e->err.cls, BYOCA_CLASS_RETRYABLE);
  assert_string_equal(e->err.msg, "could not record the order of example.org"
                                  " durably; not finalizing it");
}

/* ---- the tests ---- */

static void test_later_goes_on(void **state) {
  struct env *e = *state;
  char want[128];
  start(e, HOOK_LATER, 0);
  byoca_order_persist_done(e->o, 0); /* nothing owed yet: ignored */
  run(e, hook_waits, 5000);
  assert_non_null(e->waiting);
  assert_int_equal(e->calls, 1);
  assert_int_equal(e->with_key[0], 0);
  snprintf(want, sizeof(want), "%s/order/1", e->base);
  assert_string_equal(e->url, want);
  run(e, NULL, 200); /* the order waits: ready, but not finalized */
  assert_int_equal(e->calls, 1);
  assert_int_equal(e->finalizes, 0);
  assert_int_equal(e->reported, 0);
  complete(e, 0); /* the ready order is handled now: the key is due */
  run(e, hook_waits, 5000);
  assert_int_equal(e->calls, 2);
  assert_int_equal(e->with_key[1], 1);
  assert_string_equal(e->url, want);
  run(e, NULL, 200); /* nothing finalized before the key is durable */
  assert_int_equal(e->finalizes, 0);
  assert_int_equal(e->reported, 0);
  complete(e, 0);
  run(e, reported, 5000);
  assert_finalized(e);
  assert_int_equal(e->new_orders, 1);
}

static void test_later_fails_order_url(void **state) {
  struct env *e = *state;
  start(e, HOOK_LATER, 0);
  run(e, hook_waits, 5000);
  complete(e, BYOCA_E_IO);
  run(e, reported, 5000);
  assert_durable_failure(e);
  assert_int_equal(e->calls, 1);
}

static void test_later_fails_key(void **state) {
  struct env *e = *state;
  start(e, HOOK_LATER, 0);
  run(e, hook_waits, 5000);
  complete(e, 0);
  run(e, hook_waits, 5000);
  assert_int_equal(e->with_key[1], 1);
  complete(e, BYOCA_E_IO);
  run(e, reported, 5000);
  assert_durable_failure(e);
  assert_int_equal(e->calls, 2);
}

static void test_inline_goes_on(void **state) {
  struct env *e = *state;
  start(e, HOOK_INLINE, 0);
  run(e, reported, 5000);
  assert_int_equal(e->calls, 2);
  assert_int_equal(e->with_key[0], 0);
  assert_int_equal(e->with_key[1], 1);
  assert_finalized(e);
}

static void test_refused(void **state) {
  struct env *e = *state;
  start(e, HOOK_REFUSE, 0);
  run(e, reported, 5000);
  assert_durable_failure(e);
  assert_int_equal(e->calls, 1);
}

/* Cancelled while the hook holds it (a job stopped, its deadline past):
 * no callback, and the completion only frees it, even after its client
 * went (byocad frees the client with the cancelled order). */
static void test_cancel_waiting_url(void **state) {
  struct env *e = *state;
  start(e, HOOK_LATER, 0);
  run(e, hook_waits, 5000);
  byoca_order_cancel(e->o);
  byoca_order_cancel(e->o); /* twice is harmless */
  run(e, NULL, 100);
  assert_int_equal(e->reported, 0);
  byoca_acme_free(e->a);
  e->a = NULL;
  complete(e, 0);
  run(e, NULL, 100);
  assert_int_equal(e->reported, 0);
  assert_int_equal(e->finalizes, 0);
}

static void test_cancel_waiting_key(void **state) {
  struct env *e = *state;
  start(e, HOOK_LATER, 0);
  run(e, hook_waits, 5000);
  complete(e, 0);
  run(e, hook_waits, 5000);
  byoca_order_cancel(e->o);
  complete(e, BYOCA_E_IO); /* a failure after a cancel: not reported */
  run(e, NULL, 100);
  assert_int_equal(e->reported, 0);
  assert_int_equal(e->finalizes, 0);
}

static void test_sync_hook(void **state) {
  struct env *e = *state;
  sync_rc = 0;
  start(e, HOOK_LATER, 1);
  run(e, reported, 5000);
  assert_int_equal(e->calls, 2);
  assert_int_equal(e->with_key[1], 1);
  assert_finalized(e);
}

static void test_sync_hook_fails(void **state) {
  struct env *e = *state;
  sync_rc = -1;
  start(e, HOOK_LATER, 1);
  run(e, reported, 5000);
  assert_durable_failure(e);
  assert_int_equal(e->calls, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_later_goes_on, setup, teardown),
      cmocka_unit_test_setup_teardown(test_later_fails_order_url, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_later_fails_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inline_goes_on, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_waiting_url, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_waiting_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_hook, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_hook_fails, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
