/* The audit log and what it notifies: every event goes to the store's
 * append-only table (never with secrets), some also to the operator's
 * webhook (through the outbox, notify.c). Expiry warnings
 * (certificate.expiring) go out for lineages whose renewal keeps failing while
 * their certificate runs out.
 *
 * mgr_event records on the loop's own connection; mgr_event_queue and the
 * mgr_event_rec steps record through a store lane (docs/internals/store.md),
 * as the hourly expiry check does, read and recorded whole on the periodic
 * lane. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define EXPIRY_CHECK_S 3600
#define EXPIRY_MAX 256

void mgr_event_prepare(struct byoca_event *ev, int64_t tenant_id,
                       int64_t cert_id, const char *type,
                       const json_t *detail) {
  memset(ev, 0, sizeof(*ev));
  ev->ts = byoca_now();
  ev->tenant_id = tenant_id;
  ev->cert_id = cert_id;
  byoca_strlcpy(ev->type, type, sizeof(ev->type));
  ev->detail_json = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
}

void mgr_event_notify(struct byoca_manager *m, struct byoca_event *ev,
                      const json_t *detail) {
  if (m->cfg.webhook_url == NULL)
    return;
  ev->notify_body =
      mgr_notice_body(ev->type, ev->tenant_id, ev->cert_id, detail);
  if (ev->notify_body != NULL)
    ev->notify_url = m->cfg.webhook_url;
}

void mgr_event_done(struct byoca_event *ev) {
  free(ev->detail_json);
  ev->detail_json = NULL;
  free(ev->notify_body);
  ev->notify_body = NULL;
  ev->notify_url = NULL;
}

int mgr_event_rec_fill(struct mgr_event_rec *r, const char *url,
                       int64_t tenant_id, int64_t cert_id, const char *type,
                       const json_t *detail) {
  memset(r, 0, sizeof(*r));
  r->armed = 1;
  r->tenant_id = tenant_id;
  r->cert_id = cert_id;
  r->now_ms = byoca_now_ms();
  byoca_strlcpy(r->type, type, sizeof(r->type));
  r->text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
  if (url != NULL) {
    r->body = mgr_notice_body(type, tenant_id, cert_id, detail);
    r->url = r->body != NULL ? strdup(url) : NULL;
    if (r->body == NULL || r->url == NULL) {
      free(r->body); /* the event alone is still recorded */
      free(r->url);
      r->body = r->url = NULL;
      return BYOCA_E_NOMEM;
    }
  }
  return 0;
}

void mgr_event_rec_work(struct byoca_store *s, struct mgr_event_rec *r) {
  if (!r->armed)
    return;
  r->rc = byoca_store_event_notify(
      s, r->tenant_id, r->cert_id, r->type, r->text, r->now_ms,
      r->body != NULL ? r->url : NULL, r->body, &r->e);
}

void mgr_event_rec_done(struct byoca_manager *m, struct mgr_event_rec *r) {
  if (!r->armed)
    return;
  if (r->rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot record the event %s: %s", r->type,
              r->e.msg);
  else if (r->url != NULL && r->body != NULL)
    mgr_notify_pump(m); /* sent now, not at the next tick */
}

void mgr_event_rec_clear(struct mgr_event_rec *r) {
  free(r->text);
  free(r->url);
  free(r->body);
  byoca_err_clear(&r->e);
  memset(r, 0, sizeof(*r));
}

/* One event recorded on a lane (mgr_event_queue). */
struct event_op {
  struct mgr_lane_op op;
  struct mgr_event_rec ev;
};

static void event_work(struct byoca_store *s, struct mgr_lane_op *op) {
  mgr_event_rec_work(s, &((struct event_op *)op)->ev);
}

static void event_drop(struct mgr_lane_op *op) {
  mgr_event_rec_clear(&((struct event_op *)op)->ev);
}

static void event_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct event_op *c = (struct event_op *)op;
  mgr_event_rec_done(m, &c->ev);
  mgr_event_rec_clear(&c->ev);
}

void mgr_event_queue(struct byoca_manager *m, int job_lane, int64_t tenant_id,
                     int64_t cert_id, const char *type, json_t *detail,
                     int notify) {
  struct event_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    byoca_log(BYOCA_LOG_WARN, "cannot record the event %s: out of memory",
              type);
    json_decref(detail);
    return;
  }
  if (mgr_event_rec_fill(&c->ev, notify ? m->cfg.webhook_url : NULL, tenant_id,
                         cert_id, type, detail) != 0)
    byoca_log(BYOCA_LOG_WARN,
              "event %s: cannot build its notification: out"
              " of memory",
              type);
  json_decref(detail);
  c->op.work = event_work;
  c->op.done = event_done;
  c->op.drop = event_drop;
  if (job_lane)
    mgr_lane_run_job(m, &c->op);
  else
    mgr_lane_run(m, &c->op);
}

/* ---- expiry warnings ---- */

/* One lineage warned about (read, and its event recorded, on the lane). */
struct expiring {
  int64_t id, tenant_id;
  int rc; /* cert_get's: not 0, nothing was done */
  char not_after[32];
  char outcome[256];
  struct mgr_event_rec ev;
};

/* The hourly check, on the periodic lane: the lineages expiring soon,
 * except those warned about today (skip), each read and its
 * certificate.expiring event recorded. */
struct expiry_op {
  struct mgr_lane_op op;
  int64_t before;
  int day;   /* the day it was queued: a warning counts for it */
  char *url; /* the webhook's, copied: the lane never sees the manager */
  int64_t *skip;
  size_t nskip;
  int rc;
  struct byoca_err e;
  size_t n;
  struct expiring items[EXPIRY_MAX];
};

static void warn_one(struct expiry_op *c, struct byoca_store *s,
                     struct expiring *it) {
  struct byoca_cert_row r;
  struct byoca_err e = {0};
  memset(&r, 0, sizeof(r));
  it->rc = byoca_store_cert_get(s, 0, it->id, 0, &r, &e);
  byoca_err_clear(&e);
  if (it->rc != 0)
    return;
  it->tenant_id = r.tenant_id;
  byoca_time_format_rfc3339(r.not_after, it->not_after, sizeof(it->not_after));
  byoca_strlcpy(it->outcome, r.last_outcome, sizeof(it->outcome));
  json_t *d = json_pack("{s:s,s:s,s:i}", "not_after", it->not_after,
                        "last_outcome", r.last_outcome, "failures", r.failures);
  json_t *ids = json_loads(
      r.identifiers_json != NULL ? r.identifiers_json : "[]", 0, NULL);
  if (d != NULL && ids != NULL)
    json_object_set_new(d, "identifiers", ids);
  else
    json_decref(ids);
  (void)mgr_event_rec_fill(&it->ev, c->url, r.tenant_id, it->id,
                           "certificate.expiring", d);
  json_decref(d);
  mgr_event_rec_work(s, &it->ev);
  byoca_cert_row_clear(&r);
}

static void expiry_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct expiry_op *c = (struct expiry_op *)op;
  int64_t ids[EXPIRY_MAX];
  size_t n = 0;
  c->rc = byoca_store_cert_expiring(s, c->before, ids, EXPIRY_MAX, &n, &c->e);
  for (size_t i = 0; c->rc == 0 && i < n; i++) {
    size_t k = 0;
    while (k < c->nskip && c->skip[k] != ids[i])
      k++;
    if (k < c->nskip)
      continue; /* once a day is enough */
    struct expiring *it = &c->items[c->n++];
    it->id = ids[i];
    warn_one(c, s, it);
  }
}

static void expiry_drop(struct mgr_lane_op *op) {
  struct expiry_op *c = (struct expiry_op *)op;
  for (size_t i = 0; i < c->n; i++)
    mgr_event_rec_clear(&c->items[i].ev);
  free(c->skip);
  free(c->url);
  byoca_err_clear(&c->e);
}

static void expiry_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct expiry_op *c = (struct expiry_op *)op;
  m->expiry_checking = 0;
  for (size_t i = 0; i < c->n; i++) {
    struct expiring *it = &c->items[i];
    if (it->rc != 0)
      continue;
    byoca_log(BYOCA_LOG_WARN,
              "cert %lld tenant %lld: expires %s and renewing it failed: %s",
              (long long)it->id, (long long)it->tenant_id, it->not_after,
              it->outcome);
    mgr_event_rec_done(m, &it->ev);
    (void)!mgr_idset_put(&m->warned, it->id, c->day);
  }
  expiry_drop(op);
}

void mgr_expiry_check(struct byoca_manager *m) {
  int64_t now = byoca_now();
  if (now < m->next_expiry_check || m->expiry_checking)
    return;
  struct expiry_op *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  m->next_expiry_check = now + EXPIRY_CHECK_S;
  c->day = (int)(now / MGR_DAY);
  c->before = now + m->cfg.expiry_warning_s;
  c->skip = calloc(m->warned.n + 1, sizeof(*c->skip));
  c->url = m->cfg.webhook_url != NULL ? strdup(m->cfg.webhook_url) : NULL;
  if (c->skip == NULL || (m->cfg.webhook_url != NULL && c->url == NULL)) {
    expiry_drop(&c->op);
    free(c);
    return; /* tried again in an hour */
  }
  for (size_t i = 0; i < m->warned.n; i++)
    if (m->warned.count[i] == c->day)
      c->skip[c->nskip++] = m->warned.v[i];
  c->op.work = expiry_work;
  c->op.done = expiry_done;
  c->op.drop = expiry_drop;
  m->expiry_checking = 1;
  mgr_lane_run(m, &c->op);
}
