/* Finalisation (RFC 8555 §7.4): a fresh certificate key for every
 * issuance (D-KEYS; RSA generated on a worker thread), the CSR, the
 * finalize request, and polling the order until it is valid (D-POLL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_int.h"

/* ---- the certificate key ---- */

struct keygen {
  struct byoca_order *o;
  enum byoca_keytype type;
  struct byoca_key *key;
  struct byoca_err err;
};

static void keygen_work(void *arg) {
  struct keygen *k = arg;
  if (byoca_key_generate(k->type, &k->key, &k->err) != 0)
    k->key = NULL;
}

static void keygen_set(struct byoca_order *o, struct keygen *k) {
  o->key = k->key;
  k->key = NULL;
  o->key_ready = 1;
  if (o->key == NULL) {
    struct byoca_err e = {0};
    byoca_err_copy(&e, &k->err);
    byoca_err_activity(&e, "generating the certificate key");
    order_fail(o, &e);
    byoca_err_clear(&e);
  } else if (o->want_finalize) {
    order_finalize(o);
  }
}

static void keygen_done(void *arg) {
  struct keygen *k = arg;
  struct byoca_order *o = k->o;
  if (!op_end(o))
    keygen_set(o, k);
  byoca_key_free(k->key);
  byoca_err_clear(&k->err);
  free(k);
}

void order_keygen_start(struct byoca_order *o) {
  struct keygen *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return;
  }
  k->o = o;
  k->type = o->key_type;
  int slow = o->key_type == BYOCA_KEY_RSA2048 ||
             o->key_type == BYOCA_KEY_RSA3072 ||
             o->key_type == BYOCA_KEY_RSA4096;
  if (slow) {
    op_begin(o);
    if (byoca_loop_offload(byoca_acme_loop(o->a), keygen_work, keygen_done,
                           k) == 0)
      return;
    o->pending--;
  }
  keygen_work(k);
  keygen_set(o, k);
  byoca_key_free(k->key);
  byoca_err_clear(&k->err);
  free(k);
}

/* ---- polling the order ---- */

static void on_order_poll(void *arg, const struct acme_resp *resp,
                          const struct byoca_err *err) {
  struct byoca_order *o = arg;
  if (op_end(o))
    return;
  if (err != NULL) {
    order_fail_during(o, err, "waiting for the order of %s", o->names[0]);
    return;
  }
  if (resp->json == NULL) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server sent an order that is not JSON");
    return;
  }
  order_handle(o, resp);
}

static void poll_fire(void *arg) {
  struct byoca_order *o = arg;
  o->timer = NULL;
  if (op_end(o))
    return;
  order_post(o, o->url, NULL, NULL, on_order_poll, o);
}

void order_refresh(struct byoca_order *o) {
  order_post(o, o->url, NULL, NULL, on_order_poll, o);
}

void order_poll(struct byoca_order *o, const char *ra) {
  int64_t ms = byoca_poll_delay_ms(ra, o->attempt++, byoca_now());
  char what[300];
  snprintf(what, sizeof(what), "the order for %s", o->names[0]);
  if (order_wait_over(o, ms, what))
    return;
  op_begin(o);
  o->timer = byoca_timer_add(byoca_acme_loop(o->a), ms, poll_fire, o);
  if (o->timer == NULL) {
    o->pending--;
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  }
}

/* ---- finalize ---- */

static void on_finalized(void *arg, const struct acme_resp *resp,
                         const struct byoca_err *err) {
  struct byoca_order *o = arg;
  if (op_end(o))
    return;
  if (err != NULL) {
    order_fail_during(o, err, "finalizing the order for %s", o->names[0]);
    return;
  }
  if (resp->json == NULL) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "finalize answered HTTP %ld without an order", resp->status);
    return;
  }
  order_handle(o, resp);
}

static char *csr_payload(struct byoca_order *o, struct byoca_err *err) {
  unsigned char *der = NULL;
  size_t len = 0;
  char *b64 = NULL, *payload = NULL;
  if (byoca_csr_create(o->key, (const char *const *)o->names, o->nnames, &der,
                       &len, err) != 0)
    return NULL;
  if (byoca_b64url_encode(der, len, &b64) == 0)
    payload = byoca_asprintf("{\"csr\":\"%s\"}", b64);
  free(der);
  free(b64);
  if (payload == NULL)
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  return payload;
}

void order_finalize(struct byoca_order *o) {
  struct byoca_err e = {0};
  if (o->failed || o->reported || o->cancelled)
    return;
  if (!o->key_ready) {
    o->want_finalize = 1;
    return;
  }
  if (o->finalized)
    return;
  o->finalized = 1;
  char *payload = csr_payload(o, &e);
  if (payload == NULL) {
    byoca_err_activity(&e, "creating the CSR for %s", o->names[0]);
    order_fail(o, &e);
    byoca_err_clear(&e);
    return;
  }
  order_persist(o, o->key, NULL, NULL, payload);
}

void order_finalize_send(struct byoca_order *o, const char *payload) {
  order_progress(o, "finalizing");
  order_post(o, o->finalize_url, payload, NULL, on_finalized, o);
}
