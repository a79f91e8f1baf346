/* ACME Renewal Information (RFC 9773) in the daemon. After an issuance
 * the lineage keeps its certificate's CertID and is polled at once when
 * the CA's directory has renewalInfo. Each tick claims the lineages whose
 * poll is due (ari_next), groups them by directory, fetches the directory
 * once per group and asks renewalInfo for each (unauthenticated GETs, a
 * few at a time). The answer is folded into the stored schedule by the
 * engine's byoca_renewal_update, as `byoca renew` does: a uniform instant
 * of the window (source "ari"), a window in the past renews at once, the
 * next poll after the clamped Retry-After; temporary errors back off,
 * long-term ones keep the schedule held (the lifetime rule until a window
 * came). A window that moves the renewal earlier than planned is an
 * event and a webhook (certificate.renewal_moved) with the explanationURL.
 * The claim (with the rows it groups) and the answers' records run on the
 * periodic store lane; answers that come while one record runs wait for
 * the next, so at most one is queued. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define ARI_MAX_INFLIGHT 512 /* lineages being polled at once, all CAs */
#define ARI_PARALLEL 16      /* renewalInfo GETs at once per directory */
#define ARI_LEASE_S 600      /* a claimed poll is made again after this */

struct ari_item {
  struct mgr_ari_batch *b;
  int64_t id;
  char cert_id[256];
};

struct mgr_ari_batch {
  struct mgr_ari_batch *next;
  struct byoca_manager *m;
  char *directory;
  struct byoca_acme *acme;
  struct ari_item *items;
  size_t n, cap, started, done;
  struct byoca_timer *reaper;
};

static void batch_free(struct mgr_ari_batch *b) {
  if (b == NULL)
    return;
  if (b->reaper != NULL)
    byoca_timer_cancel(b->reaper);
  byoca_acme_free(b->acme); /* cancels what is in flight */
  free(b->directory);
  free(b->items);
  free(b);
}

static void batch_unlink(struct mgr_ari_batch *b) {
  struct mgr_ari_batch **p = &b->m->ari_batches;
  while (*p != NULL && *p != b)
    p = &(*p)->next;
  if (*p == b)
    *p = b->next;
}

static void on_reap(void *arg) {
  struct mgr_ari_batch *b = arg;
  b->reaper = NULL;
  batch_unlink(b);
  batch_free(b);
}

static json_t *moved_detail(const struct byoca_cert_row *r, int64_t before) {
  char s[32], e[32], at[32], was[32];
  byoca_time_format_rfc3339(r->ari_start, s, sizeof(s));
  byoca_time_format_rfc3339(r->ari_end, e, sizeof(e));
  byoca_time_format_rfc3339(r->next_check, at, sizeof(at));
  byoca_time_format_rfc3339(before, was, sizeof(was));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?}", "serial", r->serial,
                   "window_start", s, "window_end", e, "renew_at", at,
                   "planned", was, "directory", r->directory, "explanation_url",
                   r->ari_explanation[0] ? r->ari_explanation : NULL);
}

/* One answer (or failure) waiting to be folded into its lineage's stored
 * schedule, on the periodic lane; what the lane found comes back in it. */
struct mgr_ari_answer {
  struct mgr_ari_answer *next;
  int64_t id;
  char cert_id[256];
  struct byoca_ari *ari; /* owned; NULL on a failure */
  int failed;
  struct byoca_err err; /* the failure (a copy) */
  /* on the lane */
  int state; /* 0: gone or stale, 1: not stored (e), 2: stored */
  struct byoca_err e;
  int64_t tenant_id, at;
  char source[16];
  int moved, kick;
  char safe[256];          /* the CA's explanationURL, sanitised */
  struct mgr_event_rec ev; /* certificate.renewal_moved */
};

static void answer_free(struct mgr_ari_answer *a) {
  byoca_ari_free(a->ari);
  byoca_err_clear(&a->err);
  byoca_err_clear(&a->e);
  mgr_event_rec_clear(&a->ev);
  free(a);
}

static void answers_free(struct mgr_ari_answer *a) {
  while (a != NULL) {
    struct mgr_ari_answer *next = a->next;
    answer_free(a);
    a = next;
  }
}

/* On the lane: folds a into the stored schedule (url: the webhook's). */
static void apply(struct byoca_store *st, struct mgr_ari_answer *a,
                  const char *url) {
  struct byoca_cert_row r;
  const struct byoca_err *err = a->failed ? &a->err : NULL;
  int64_t now = byoca_now();
  memset(&r, 0, sizeof(r));
  if (byoca_store_cert_get(st, 0, a->id, 0, &r, &a->e) != 0) {
    byoca_err_clear(&a->e);
    return; /* deleted meanwhile */
  }
  if (r.state != BYOCA_CERT_ISSUED || strcmp(r.ari_cert_id, a->cert_id) != 0)
    goto out; /* renewed or deleted meanwhile: the answer is stale */
  int was_ari = strcmp(r.next_source, "ari") == 0;
  /* a retry backoff or a forced renewal keeps its time (the store does
     not move it), so a window says nothing new about it */
  int ours = was_ari || strcmp(r.next_source, "lifetime") == 0;
  struct byoca_renewal s = {
      .at = r.next_check,
      .source = was_ari ? "ari" : "lifetime",
      .ari_start = r.ari_start,
      .ari_end = r.ari_end,
      .next_check = r.ari_next,
      .failures = r.ari_failures,
  };
  int64_t before = r.next_check;
  int earlier = byoca_renewal_update(&s, r.not_before, r.not_after, a->ari, err,
                                     now, mgr_random());
  int moved = ours && byoca_renewal_moved(earlier, was_ari, &s, now);
  r.next_check = s.at;
  byoca_strlcpy(r.next_source, s.source, sizeof(r.next_source));
  r.ari_start = s.ari_start;
  r.ari_end = s.ari_end;
  r.ari_next = s.next_check;
  r.ari_failures = s.failures;
  if (a->ari != NULL)
    byoca_strlcpy(r.ari_explanation,
                  a->ari->explanation_url != NULL ? a->ari->explanation_url
                                                  : "",
                  sizeof(r.ari_explanation));
  a->state = 1;
  if (byoca_store_cert_ari_set(st, a->id, &r, &a->e) != 0)
    goto out;
  a->state = 2;
  a->tenant_id = r.tenant_id;
  a->at = s.at;
  byoca_strlcpy(a->source, s.source, sizeof(a->source));
  a->kick = ours && s.at <= now;
  if (moved) {
    a->moved = 1;
    byoca_str_sanitize(r.ari_explanation, a->safe, sizeof(a->safe));
    json_t *d = moved_detail(&r, before);
    (void)mgr_event_rec_fill(&a->ev, url, r.tenant_id, a->id,
                             "certificate.renewal_moved", d);
    json_decref(d);
    mgr_event_rec_work(st, &a->ev);
  }
out:
  byoca_cert_row_clear(&r);
}

/* On the loop: what apply did, logged (and its event's notification
 * sent). */
static void applied(struct byoca_manager *m, struct mgr_ari_answer *a) {
  if (a->state == 1)
    byoca_log(BYOCA_LOG_WARN, "cert %lld: cannot store its renewal window: %s",
              (long long)a->id, a->e.msg);
  if (a->state != 2)
    return;
  char at[32], line[600] = "";
  byoca_time_format_rfc3339(a->at, at, sizeof(at));
  if (a->failed)
    byoca_err_format(&a->err, line, sizeof(line));
  byoca_log(a->failed ? BYOCA_LOG_INFO : BYOCA_LOG_DEBUG,
            "cert %lld: %s%s; renewing at %s (%s)", (long long)a->id,
            a->failed ? "no renewal window: " : "renewal window received", line,
            at, a->source);
  if (a->moved) {
    byoca_log(BYOCA_LOG_WARN,
              "cert %lld tenant %lld: the CA moved the renewal earlier, to"
              " %s%s%s",
              (long long)a->id, (long long)a->tenant_id, at,
              a->safe[0] ? "; the CA explains: " : "", a->safe);
    mgr_event_rec_done(m, &a->ev);
  }
  if (a->kick)
    mgr_kick(m);
}

/* The answers gathered meanwhile, applied on the periodic lane (one
 * operation at a time: answers that come meanwhile wait for the next). */
struct apply_op {
  struct mgr_lane_op op;
  char *url; /* the webhook's, copied */
  struct mgr_ari_answer *list;
};

static void apply_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct apply_op *c = (struct apply_op *)op;
  for (struct mgr_ari_answer *a = c->list; a != NULL; a = a->next)
    apply(s, a, c->url);
}

static void apply_drop(struct mgr_lane_op *op) {
  struct apply_op *c = (struct apply_op *)op;
  answers_free(c->list);
  free(c->url);
}

static void apply_next(struct byoca_manager *m);

static void apply_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct apply_op *c = (struct apply_op *)op;
  m->ari_applying = 0;
  for (struct mgr_ari_answer *a = c->list; a != NULL; a = a->next)
    applied(m, a);
  apply_drop(op);
  apply_next(m);
}

/* Queues the answers waiting, unless an operation has them already. */
static void apply_next(struct byoca_manager *m) {
  if (m->ari_applying || m->ari_answers == NULL)
    return;
  struct apply_op *c = calloc(1, sizeof(*c));
  if (c == NULL || (m->cfg.webhook_url != NULL &&
                    (c->url = strdup(m->cfg.webhook_url)) == NULL)) {
    free(c); /* their polls are made again when their short lease ends */
    byoca_log(BYOCA_LOG_WARN, "cannot store renewal windows: out of memory");
    answers_free(m->ari_answers);
    m->ari_answers = NULL;
    return;
  }
  c->list = m->ari_answers;
  m->ari_answers = NULL;
  c->op.work = apply_work;
  c->op.done = apply_done;
  c->op.drop = apply_drop;
  m->ari_applying = 1;
  mgr_lane_run(m, &c->op);
}

/* An answer (ari taken over) or failure for it, to be applied. */
static void answered(struct byoca_manager *m, const struct ari_item *it,
                     struct byoca_ari *ari, const struct byoca_err *err) {
  struct mgr_ari_answer *a = calloc(1, sizeof(*a));
  if (a == NULL || (err != NULL && byoca_err_copy(&a->err, err) != 0)) {
    byoca_log(BYOCA_LOG_WARN,
              "cert %lld: out of memory storing its renewal window",
              (long long)it->id); /* polled again when its lease ends */
    byoca_ari_free(ari);
    if (a != NULL)
      answer_free(a);
    return;
  }
  a->id = it->id;
  byoca_strlcpy(a->cert_id, it->cert_id, sizeof(a->cert_id));
  a->ari = ari;
  a->failed = err != NULL;
  a->next = m->ari_answers;
  m->ari_answers = a;
  apply_next(m);
}

static void start_more(struct mgr_ari_batch *b);

static void item_done(struct mgr_ari_batch *b) {
  b->done++;
  if (b->m->ari_inflight > 0)
    b->m->ari_inflight--;
  if (b->done == b->n) {
    if (b->reaper == NULL)
      b->reaper = byoca_timer_add(b->m->loop, 0, on_reap, b);
    return;
  }
  start_more(b);
}

static void on_answer(void *arg, struct byoca_ari *res,
                      const struct byoca_err *err) {
  struct ari_item *it = arg;
  struct mgr_ari_batch *b = it->b;
  answered(b->m, it, res, err);
  item_done(b);
}

static void start_more(struct mgr_ari_batch *b) {
  while (b->started < b->n && b->started - b->done < ARI_PARALLEL) {
    struct ari_item *it = &b->items[b->started++];
    if (byoca_ari_fetch(b->acme, it->cert_id, on_answer, it) != 0) {
      struct byoca_err e = {0};
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_RETRYABLE, "out of memory");
      answered(b->m, it, NULL, &e);
      byoca_err_clear(&e);
      item_done(b);
      return; /* item_done started the rest */
    }
  }
}

/* Every item of b without asking: the directory failed, or it has no
 * renewalInfo (err NULL: asked again after BYOCA_ARI_LONG_TERM). */
static void fail_all(struct mgr_ari_batch *b, const struct byoca_err *err) {
  struct byoca_err e = {0};
  if (err == NULL)
    byoca_err_set(&e, BYOCA_E_NOTFOUND, BYOCA_CLASS_CA,
                  "the CA's directory has no renewalInfo (no ARI)");
  while (b->started < b->n) {
    struct ari_item *it = &b->items[b->started++];
    answered(b->m, it, NULL, err != NULL ? err : &e);
    item_done(b);
  }
  byoca_err_clear(&e);
}

static void on_directory(void *arg, const struct byoca_err *err) {
  struct mgr_ari_batch *b = arg;
  if (err != NULL) {
    byoca_log(BYOCA_LOG_INFO, "renewal windows at %s: %s", b->directory,
              err->msg);
    fail_all(b, err);
  } else if (!byoca_acme_has(b->acme, "renewalInfo")) {
    fail_all(b, NULL);
  } else {
    start_more(b);
  }
}

static struct mgr_ari_batch *batch_for(struct mgr_ari_batch **list,
                                       struct byoca_manager *m,
                                       const char *directory) {
  for (struct mgr_ari_batch *b = *list; b != NULL; b = b->next)
    if (strcmp(b->directory, directory) == 0)
      return b;
  struct mgr_ari_batch *b = calloc(1, sizeof(*b));
  if (b == NULL || (b->directory = strdup(directory)) == NULL) {
    free(b);
    return NULL;
  }
  b->m = m;
  b->next = *list;
  *list = b;
  return b;
}

static int batch_add(struct mgr_ari_batch *b, int64_t id, const char *cert_id) {
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    struct ari_item *v = realloc(b->items, cap * sizeof(*v));
    if (v == NULL)
      return BYOCA_E_NOMEM;
    b->items = v;
    b->cap = cap;
  }
  struct ari_item *it = &b->items[b->n++];
  memset(it, 0, sizeof(*it));
  it->id = id;
  byoca_strlcpy(it->cert_id, cert_id, sizeof(it->cert_id));
  return 0;
}

/* A claimed lineage with what its poll needs (read on the lane). */
struct ari_claimed {
  int64_t id;
  char cert_id[256];
  char directory[1024];
};

/* Groups the claimed lineages by the directory that issued them. */
static void group(struct byoca_manager *m, const struct ari_claimed *v,
                  size_t n, struct mgr_ari_batch **list) {
  for (size_t i = 0; i < n; i++) {
    if (v[i].cert_id[0] == '\0' || v[i].directory[0] == '\0')
      continue;
    struct mgr_ari_batch *b = batch_for(list, m, v[i].directory);
    if (b == NULL || batch_add(b, v[i].id, v[i].cert_id) != 0)
      byoca_log(BYOCA_LOG_WARN,
                "cert %lld: out of memory polling its renewal window",
                (long long)v[i].id);
  }
}

static void batch_start(struct byoca_manager *m, struct mgr_ari_batch *b) {
  struct byoca_err e = {0};
  for (size_t i = 0; i < b->n; i++)
    b->items[i].b = b; /* items no longer move */
  m->ari_inflight += b->n;
  b->next = m->ari_batches;
  m->ari_batches = b;
  if ((b->acme = byoca_acme_new(m->loop, m->http, b->directory, &e)) == NULL ||
      byoca_acme_directory(b->acme, on_directory, b) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_INTERNAL, BYOCA_CLASS_RETRYABLE,
                    "cannot fetch the directory %s", b->directory);
    fail_all(b, &e);
  }
  byoca_err_clear(&e);
}

/* A claim of lineages whose renewal window is due to be asked (on the
 * store lane; one at a time, so the room counted when it was queued is
 * still free when it is done). */
struct ari_claim_op {
  struct mgr_lane_op op;
  size_t room, n;
  int rc;
  struct byoca_err e;
  int64_t ids[MGR_MAX_CLAIM];
  struct ari_claimed *v; /* n, or NULL when out of memory */
};

static void ari_claim_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct ari_claim_op *c = (struct ari_claim_op *)op;
  int64_t now = byoca_now(); /* when it runs */
  c->rc = byoca_store_cert_ari_claim(s, now, now + ARI_LEASE_S, c->room, c->ids,
                                     &c->n, &c->e);
  if (c->rc != 0 || c->n == 0 || (c->v = calloc(c->n, sizeof(*c->v))) == NULL)
    return; /* out of memory: their short ARI leases run out */
  for (size_t i = 0; i < c->n; i++) {
    struct byoca_cert_row r;
    struct byoca_err e = {0};
    memset(&r, 0, sizeof(r));
    c->v[i].id = c->ids[i];
    if (byoca_store_cert_get(s, 0, c->ids[i], 0, &r, &e) == 0) {
      byoca_strlcpy(c->v[i].cert_id, r.ari_cert_id, sizeof(c->v[i].cert_id));
      byoca_strlcpy(c->v[i].directory, r.directory, sizeof(c->v[i].directory));
    }
    byoca_err_clear(&e);
    byoca_cert_row_clear(&r);
  }
}

static void ari_claim_drop(struct mgr_lane_op *op) {
  struct ari_claim_op *c = (struct ari_claim_op *)op;
  free(c->v);
  byoca_err_clear(&c->e);
}

static void ari_claim_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct ari_claim_op *c = (struct ari_claim_op *)op;
  struct mgr_ari_batch *list = NULL;
  m->ari_claiming = 0;
  if (c->rc != 0) {
    byoca_log(BYOCA_LOG_ERROR, "cannot claim renewal-window polls: %s",
              c->e.msg);
    byoca_err_clear(&c->e);
    return;
  }
  if (m->draining || c->v == NULL) { /* their short ARI leases run out */
    ari_claim_drop(op);
    return;
  }
  group(m, c->v, c->n, &list);
  ari_claim_drop(op);
  while (list != NULL) {
    struct mgr_ari_batch *b = list;
    list = b->next;
    if (b->n == 0) {
      batch_free(b);
      continue;
    }
    batch_start(m, b);
  }
}

void mgr_ari_poll(struct byoca_manager *m) {
  size_t room = ARI_MAX_INFLIGHT > m->ari_inflight
                    ? ARI_MAX_INFLIGHT - m->ari_inflight
                    : 0;
  if (room > MGR_MAX_CLAIM)
    room = MGR_MAX_CLAIM;
  if (room == 0 || m->ari_claiming)
    return;
  struct ari_claim_op *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->op.work = ari_claim_work;
  c->op.done = ari_claim_done;
  c->op.drop = ari_claim_drop;
  c->room = room;
  m->ari_claiming = 1;
  mgr_lane_run(m, &c->op);
}

void mgr_ari_free_all(struct byoca_manager *m) {
  while (m->ari_batches != NULL) {
    struct mgr_ari_batch *b = m->ari_batches;
    m->ari_batches = b->next;
    batch_free(b);
  }
  m->ari_inflight = 0;
  answers_free(m->ari_answers); /* their short ARI leases run out */
  m->ari_answers = NULL;
}

void mgr_ari_issued(const struct mgr_job *j,
                    const struct byoca_order_result *res,
                    struct byoca_cert_row *r) {
  char *id = byoca_strdup(res->cert_id); /* NULL: parse the leaf for why */
  struct byoca_err e = {0};
  if ((id == NULL &&
       (res->cert_pem == NULL ||
        byoca_ari_cert_id_pem(res->cert_pem, strlen(res->cert_pem), &id, &e) !=
            0)) ||
      strlen(id) >= sizeof(r->ari_cert_id)) {
    mgr_job_log(j, BYOCA_LOG_DEBUG, "no ARI CertID: %s",
                e.code != 0 ? e.msg : "too long");
    byoca_err_clear(&e);
    free(id);
    return;
  }
  byoca_strlcpy(r->ari_cert_id, id, sizeof(r->ari_cert_id));
  free(id);
  /* asked at once where the CA offers it; elsewhere now and then, in
     case it starts to */
  r->ari_next = byoca_now();
  if (j->acme != NULL && !byoca_acme_has(j->acme, "renewalInfo"))
    r->ari_next += BYOCA_ARI_LONG_TERM;
}
