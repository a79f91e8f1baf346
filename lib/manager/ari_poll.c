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
 * event and a webhook (certificate.renewal_moved) with the explanationURL. */
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

/* Folds one answer (or failure) into the lineage's stored schedule. */
static void apply(struct byoca_manager *m, const struct ari_item *it,
                  const struct byoca_ari *ari, const struct byoca_err *err) {
  struct byoca_cert_row r;
  struct byoca_err e = {0};
  int64_t now = byoca_now();
  memset(&r, 0, sizeof(r));
  if (byoca_store_cert_get(m->store, 0, it->id, 0, &r, &e) != 0) {
    byoca_err_clear(&e);
    return; /* deleted meanwhile */
  }
  if (r.state != BYOCA_CERT_ISSUED || strcmp(r.ari_cert_id, it->cert_id) != 0)
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
  int earlier = byoca_renewal_update(&s, r.not_before, r.not_after, ari, err,
                                     now, mgr_random());
  int moved = ours && byoca_renewal_moved(earlier, was_ari, &s, now);
  r.next_check = s.at;
  byoca_strlcpy(r.next_source, s.source, sizeof(r.next_source));
  r.ari_start = s.ari_start;
  r.ari_end = s.ari_end;
  r.ari_next = s.next_check;
  r.ari_failures = s.failures;
  if (ari != NULL)
    byoca_strlcpy(r.ari_explanation,
                  ari->explanation_url != NULL ? ari->explanation_url : "",
                  sizeof(r.ari_explanation));
  if (byoca_store_cert_ari_set(m->store, it->id, &r, &e) != 0) {
    byoca_log(BYOCA_LOG_WARN, "cert %lld: cannot store its renewal window: %s",
              (long long)it->id, e.msg);
    goto out;
  }
  char at[32], line[600] = "";
  byoca_time_format_rfc3339(s.at, at, sizeof(at));
  if (err != NULL)
    byoca_err_format(err, line, sizeof(line));
  byoca_log(err != NULL ? BYOCA_LOG_INFO : BYOCA_LOG_DEBUG,
            "cert %lld: %s%s; renewing at %s (%s)", (long long)it->id,
            err != NULL ? "no renewal window: " : "renewal window received",
            line, at, s.source);
  if (moved) {
    char safe[256] = "";
    byoca_str_sanitize(r.ari_explanation, safe, sizeof(safe));
    byoca_log(BYOCA_LOG_WARN,
              "cert %lld tenant %lld: the CA moved the renewal earlier, to"
              " %s%s%s",
              (long long)it->id, (long long)r.tenant_id, at,
              safe[0] ? "; the CA explains: " : "", safe);
    mgr_event(m, r.tenant_id, it->id, "certificate.renewal_moved",
              moved_detail(&r, before), 1);
  }
  if (ours && s.at <= now)
    mgr_kick(m);
out:
  byoca_err_clear(&e);
  byoca_cert_row_clear(&r);
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
  apply(b->m, it, res, err);
  byoca_ari_free(res);
  item_done(b);
}

static void start_more(struct mgr_ari_batch *b) {
  while (b->started < b->n && b->started - b->done < ARI_PARALLEL) {
    struct ari_item *it = &b->items[b->started++];
    if (byoca_ari_fetch(b->acme, it->cert_id, on_answer, it) != 0) {
      struct byoca_err e = {0};
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_RETRYABLE, "out of memory");
      apply(b->m, it, NULL, &e);
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
    apply(b->m, it, NULL, err != NULL ? err : &e);
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

/* Groups the claimed lineages by the directory that issued them. */
static void group(struct byoca_manager *m, const int64_t *ids, size_t n,
                  struct mgr_ari_batch **list) {
  for (size_t i = 0; i < n; i++) {
    struct byoca_cert_row r;
    struct byoca_err e = {0};
    memset(&r, 0, sizeof(r));
    if (byoca_store_cert_get(m->store, 0, ids[i], 0, &r, &e) == 0 &&
        r.ari_cert_id[0] != '\0' && r.directory[0] != '\0') {
      struct mgr_ari_batch *b = batch_for(list, m, r.directory);
      if (b == NULL || batch_add(b, ids[i], r.ari_cert_id) != 0)
        byoca_log(BYOCA_LOG_WARN,
                  "cert %lld: out of memory polling its renewal window",
                  (long long)ids[i]);
    }
    byoca_err_clear(&e);
    byoca_cert_row_clear(&r);
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
};

static void ari_claim_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct ari_claim_op *c = (struct ari_claim_op *)op;
  int64_t now = byoca_now(); /* when it runs */
  c->rc = byoca_store_cert_ari_claim(s, now, now + ARI_LEASE_S, c->room, c->ids,
                                     &c->n, &c->e);
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
  if (m->draining) /* their short ARI leases run out */
    return;
  group(m, c->ids, c->n, &list);
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
