/* The audit log and what it notifies: every event goes to the store's
 * append-only table (never with secrets), some also to the operator's
 * webhook (through the outbox, notify.c). Expiry warnings
 * (certificate.expiring) go out for lineages whose renewal keeps failing while
 * their certificate runs out. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define EXPIRY_CHECK_S 3600
#define EXPIRY_MAX 256

void mgr_event(struct byoca_manager *m, int64_t tenant_id, int64_t cert_id,
               const char *type, json_t *detail, int notify) {
  struct byoca_err e = {0};
  char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
  const char *url = notify ? m->cfg.webhook_url : NULL;
  char *body =
      url != NULL ? mgr_notice_body(type, tenant_id, cert_id, detail) : NULL;
  /* the event and its notification are recorded together (outbox) */
  if (byoca_store_event_notify(m->store, tenant_id, cert_id, type, text,
                               byoca_now_ms(), body != NULL ? url : NULL, body,
                               &e) != 0) {
    byoca_log(BYOCA_LOG_WARN, "cannot record the event %s: %s", type, e.msg);
    byoca_err_clear(&e);
  }
  free(text);
  free(body);
  json_decref(detail);
  if (url != NULL)
    mgr_notify_pump(m); /* sent now, not at the next tick */
}

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

static void warn_one(struct byoca_manager *m, int64_t id, int day) {
  struct byoca_cert_row r;
  struct byoca_err e = {0};
  char na[32];
  memset(&r, 0, sizeof(r));
  if (byoca_store_cert_get(m->store, 0, id, 0, &r, &e) != 0) {
    byoca_err_clear(&e);
    return;
  }
  byoca_time_format_rfc3339(r.not_after, na, sizeof(na));
  byoca_log(BYOCA_LOG_WARN,
            "cert %lld tenant %lld: expires %s and renewing it failed: %s",
            (long long)id, (long long)r.tenant_id, na, r.last_outcome);
  json_t *d = json_pack("{s:s,s:s,s:i}", "not_after", na, "last_outcome",
                        r.last_outcome, "failures", r.failures);
  json_t *ids = json_loads(
      r.identifiers_json != NULL ? r.identifiers_json : "[]", 0, NULL);
  if (d != NULL && ids != NULL)
    json_object_set_new(d, "identifiers", ids);
  else
    json_decref(ids);
  mgr_event(m, r.tenant_id, id, "certificate.expiring", d, 1);
  (void)!mgr_idset_put(&m->warned, id, day);
  byoca_cert_row_clear(&r);
}

void mgr_expiry_check(struct byoca_manager *m) {
  int64_t now = byoca_now(), ids[EXPIRY_MAX];
  size_t n = 0;
  struct byoca_err e = {0};
  if (now < m->next_expiry_check)
    return;
  m->next_expiry_check = now + EXPIRY_CHECK_S;
  if (byoca_store_cert_expiring(m->store, now + m->cfg.expiry_warning_s, ids,
                                EXPIRY_MAX, &n, &e) != 0) {
    byoca_err_clear(&e);
    return;
  }
  int day = (int)(now / MGR_DAY);
  for (size_t i = 0; i < n; i++) {
    int last = -1;
    if (mgr_idset_has(&m->warned, ids[i], &last) && last == day)
      continue; /* once a day is enough */
    warn_one(m, ids[i], day);
  }
}
