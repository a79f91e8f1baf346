/* Webhook notifications through the store's outbox: an event that
 * notifies is recorded together with its notification (one transaction,
 * events.c); every node pumps the outbox on its tick, claiming due rows
 * under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL) and POSTing them
 * ({"event","time","tenant","certificate","detail"}). A transport error
 * or non-2xx answer is a failed try, recorded in the row with the next
 * try after 1 s, doubling; after MGR_WEBHOOK_TRIES tries the row goes and
 * a webhook.failed audit event says so. A restart loses nothing, and a
 * notification is sent by one node at a time; at least once, though: a
 * node that stops or dies between the POST and recording its answer
 * leaves it to be sent again, so every try carries the row's id as
 * Idempotency-Key for the receiver to drop repeats. The claims and the
 * answers' records (outbox_done, outbox_retry) go through the periodic
 * store lane, never waiting on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define PUMP_MAX 16        /* notifications posted at once per node */
#define OUTBOX_LEASE_S 120 /* longer than one POST may take */

struct mgr_notice {
  struct mgr_notice *prev, *next;
  struct byoca_manager *m; /* NULL once the manager is gone */
  int64_t id;
  int tries;
  char type[48];
  struct byoca_outbox_row row; /* url and body owned */
};

static void notice_free(struct mgr_notice *n) {
  free(n->row.url);
  free(n->row.body);
  free(n);
}

static void notice_unlink(struct mgr_notice *n) {
  struct byoca_manager *m = n->m;
  if (m == NULL)
    return;
  if (n->prev != NULL)
    n->prev->next = n->next;
  else
    m->notices = n->next;
  if (n->next != NULL)
    n->next->prev = n->prev;
  n->prev = n->next = NULL;
  m->nnotices--;
}

/* A webhook's answer recorded in the outbox, on the periodic lane: the
 * row cleared (sent, or given up: with its webhook.failed event), or its
 * next try set. The notice stays in m->notices (counted against
 * PUMP_MAX) until the answer is recorded, so at most PUMP_MAX of these
 * are queued. */
struct answer_op {
  struct mgr_lane_op op;
  struct mgr_notice *n; /* freed with the operation */
  int64_t id;
  int sent;    /* a 2xx answer: the row goes */
  int give_up; /* the last try failed: the row goes, audited */
  int tries;   /* with this one */
  int pump;    /* pump the outbox afterwards (more may be due) */
  char why[600];
  int rc;
  struct byoca_err e;
  struct mgr_event_rec ev; /* webhook.failed */
};

static void answer_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct answer_op *a = (struct answer_op *)op;
  if (a->sent || a->give_up)
    a->rc = byoca_store_outbox_done(s, a->id, &a->e);
  else
    a->rc = byoca_store_outbox_retry(
        s, a->id, byoca_now_ms() + (1000LL << (a->tries - 1)), a->why, &a->e);
  mgr_event_rec_work(s, &a->ev);
}

static void answer_drop(struct mgr_lane_op *op) {
  struct answer_op *a = (struct answer_op *)op;
  notice_unlink(a->n); /* nothing once the manager is gone */
  notice_free(a->n);
  mgr_event_rec_clear(&a->ev);
  byoca_err_clear(&a->e);
}

static void answer_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct answer_op *a = (struct answer_op *)op;
  /* a failed update: the lease runs out, and it is tried again then */
  if (a->rc != 0 && a->sent)
    byoca_log(BYOCA_LOG_WARN, "webhook %s sent, but cannot clear it: %s",
              a->n->type, a->e.msg);
  else if (a->rc != 0)
    byoca_log(BYOCA_LOG_WARN, "webhook %s: cannot update the outbox: %s",
              a->n->type, a->e.msg);
  mgr_event_rec_done(m, &a->ev);
  int pump = a->pump;
  answer_drop(op);
  if (pump)
    mgr_notify_pump(m); /* more may be due */
}

/* Records the answer to n's try (why: NULL when it was sent) on the
 * lane; n goes when it is recorded. */
static void answered(struct mgr_notice *n, const char *why, int pump) {
  struct byoca_manager *m = n->m;
  struct answer_op *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    byoca_log(BYOCA_LOG_WARN,
              "webhook %s: cannot update the outbox: out of"
              " memory",
              n->type); /* the lease runs out; tried again then */
    notice_unlink(n);
    notice_free(n);
    return;
  }
  a->n = n;
  a->id = n->id;
  a->sent = why == NULL;
  a->tries = n->tries + 1;
  a->pump = pump;
  if (why != NULL) {
    byoca_strlcpy(a->why, why, sizeof(a->why));
    a->give_up = a->tries >= MGR_WEBHOOK_TRIES;
  }
  if (a->give_up) {
    byoca_log(BYOCA_LOG_WARN, "webhook %s: gave up after %d tries: %s", n->type,
              a->tries, why);
    json_t *d = json_pack("{s:s,s:i,s:s}", "event", n->type, "tries", a->tries,
                          "error", why);
    (void)mgr_event_rec_fill(&a->ev, NULL, 0, 0, "webhook.failed", d);
    json_decref(d);
  }
  a->op.work = answer_work;
  a->op.done = answer_done;
  a->op.drop = answer_drop;
  mgr_lane_run(m, &a->op);
}

static void on_resp(void *arg, const struct byoca_http_resp *resp,
                    const struct byoca_err *err) {
  struct mgr_notice *n = arg;
  char why[600];
  if (n->m == NULL) { /* the manager is gone; the lease runs out */
    notice_free(n);
    return;
  }
  if (err == NULL && resp->status >= 200 && resp->status < 300) {
    answered(n, NULL, 1);
    return;
  }
  if (err != NULL)
    byoca_err_format(err, why, sizeof(why));
  else
    snprintf(why, sizeof(why), "HTTP status %ld", resp->status);
  answered(n, why, 1);
}

static void send_notice(struct byoca_manager *m, struct byoca_outbox_row *r) {
  struct byoca_err e = {0};
  char idem[64];
  /* the same for every try, on every node: the receiver drops repeats
   * (delivery is at least once) */
  snprintf(idem, sizeof(idem), "Idempotency-Key: %lld", (long long)r->id);
  const char *const headers[] = {"Accept: application/json", idem, NULL};
  struct mgr_notice *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return; /* the lease runs out; tried again then */
  n->m = m;
  n->id = r->id;
  n->tries = r->tries;
  byoca_strlcpy(n->type, r->type, sizeof(n->type));
  n->row = *r;
  r->url = r->body = NULL; /* n owns them */
  n->next = m->notices;
  if (m->notices != NULL)
    m->notices->prev = n;
  m->notices = n;
  m->nnotices++;
  struct byoca_http_req req = {
      .method = "POST",
      .url = n->row.url,
      .content_type = "application/json",
      .body = n->row.body,
      .body_len = strlen(n->row.body),
      .headers = headers,
  };
  if (byoca_http_send(m->http, &req, on_resp, n, &e) == 0)
    return;
  char why[600];
  byoca_err_format(&e, why, sizeof(why));
  byoca_err_clear(&e);
  answered(n, why, 0); /* still pumping: no pump from here */
}

/* A claim of due notifications (on the store lane, one at a time). */
struct pump_op {
  struct mgr_lane_op op;
  size_t room, n;
  int rc;
  struct byoca_err e;
  struct byoca_outbox_row *rows;
};

static void pump_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct pump_op *p = (struct pump_op *)op;
  p->rc =
      byoca_store_outbox_claim(s, byoca_now_ms(), byoca_now() + OUTBOX_LEASE_S,
                               p->room, &p->rows, &p->n, &p->e);
}

static void pump_drop(struct mgr_lane_op *op) {
  struct pump_op *p = (struct pump_op *)op;
  byoca_outbox_rows_free(p->rows, p->n); /* their leases run out */
  byoca_err_clear(&p->e);
}

static void pump_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct pump_op *p = (struct pump_op *)op;
  if (p->rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot read the notification outbox: %s",
              p->e.msg);
  /* still pumping: a send that fails at once records its answer */
  for (size_t i = 0; i < p->n; i++)
    send_notice(m, &p->rows[i]);
  pump_drop(op);
  m->pumping = 0;
  if (m->pump_again) { /* asked for while the store was asked */
    m->pump_again = 0;
    mgr_notify_pump(m);
  }
}

void mgr_notify_pump(struct byoca_manager *m) {
  size_t room = m->nnotices < PUMP_MAX ? PUMP_MAX - m->nnotices : 0;
  if (m->pumping) {
    m->pump_again = 1;
    return;
  }
  if (room == 0)
    return;
  struct pump_op *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return;
  p->op.work = pump_work;
  p->op.done = pump_done;
  p->op.drop = pump_drop;
  p->room = room;
  m->pumping = 1;
  mgr_lane_run(m, &p->op);
}

char *mgr_notice_body(const char *type, int64_t tenant_id, int64_t cert_id,
                      const json_t *detail) {
  char t[32];
  byoca_time_format_rfc3339(byoca_now(), t, sizeof(t));
  json_t *o = json_pack("{s:s,s:s}", "event", type, "time", t);
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "tenant",
                      tenant_id > 0 ? json_integer(tenant_id) : json_null());
  json_object_set_new(o, "certificate",
                      cert_id > 0 ? json_integer(cert_id) : json_null());
  json_object_set_new(o, "detail",
                      detail != NULL ? json_deep_copy(detail) : json_object());
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

void mgr_notify_free_all(struct byoca_manager *m) {
  while (m->notices != NULL) {
    struct mgr_notice *n = m->notices;
    notice_unlink(n);
    n->m = NULL; /* freed by its HTTP callback, or with the operation
                    recording its answer; its lease runs out */
  }
}
