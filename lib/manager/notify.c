/* Webhook notifications: a JSON POST to the operator's webhook_url
 * ({"event","time","tenant","certificate","detail"}), retried on
 * transport errors and non-2xx answers after 1 s, doubling, 5 tries in
 * all. Kept in memory only: a restart loses pending notifications, the
 * audit log keeps the events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

struct mgr_notice {
  struct mgr_notice *prev, *next;
  struct byoca_manager *m; /* NULL once the manager is gone */
  char *url;
  char *body;
  char type[48];
  int tries;
  int in_flight;
  struct byoca_timer *timer;
};

static void notice_free(struct mgr_notice *n) {
  free(n->url);
  free(n->body);
  free(n);
}

static void notice_unlink(struct mgr_notice *n) {
  if (n->m == NULL)
    return;
  if (n->prev != NULL)
    n->prev->next = n->next;
  else
    n->m->notices = n->next;
  if (n->next != NULL)
    n->next->prev = n->prev;
  n->prev = n->next = NULL;
}

static void send_notice(struct mgr_notice *n);

static void on_retry(void *arg) {
  struct mgr_notice *n = arg;
  n->timer = NULL;
  send_notice(n);
}

static void retry_later(struct mgr_notice *n, const char *why) {
  if (++n->tries >= MGR_WEBHOOK_TRIES) {
    byoca_log(BYOCA_LOG_WARN, "webhook %s: gave up after %d tries: %s", n->type,
              n->tries, why);
    notice_unlink(n);
    notice_free(n);
    return;
  }
  n->timer = byoca_timer_add(n->m->loop, 1000LL << (n->tries - 1), on_retry, n);
  if (n->timer == NULL) {
    notice_unlink(n);
    notice_free(n);
  }
}

static void on_resp(void *arg, const struct byoca_http_resp *resp,
                    const struct byoca_err *err) {
  struct mgr_notice *n = arg;
  char why[600];
  n->in_flight = 0;
  if (n->m == NULL) {
    notice_free(n);
    return;
  }
  if (err == NULL && resp->status >= 200 && resp->status < 300) {
    notice_unlink(n);
    notice_free(n);
    return;
  }
  if (err != NULL)
    byoca_err_format(err, why, sizeof(why));
  else
    snprintf(why, sizeof(why), "HTTP status %ld", resp->status);
  retry_later(n, why);
}

static void send_notice(struct mgr_notice *n) {
  struct byoca_err e = {0};
  const char *const headers[] = {"Accept: application/json", NULL};
  struct byoca_http_req req = {
      .method = "POST",
      .url = n->url,
      .content_type = "application/json",
      .body = n->body,
      .body_len = strlen(n->body),
      .headers = headers,
  };
  n->in_flight = 1;
  if (byoca_http_send(n->m->http, &req, on_resp, n, &e) == 0)
    return;
  n->in_flight = 0;
  char why[600];
  byoca_err_format(&e, why, sizeof(why));
  byoca_err_clear(&e);
  retry_later(n, why);
}

static char *notice_body(const char *type, int64_t tenant_id, int64_t cert_id,
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

void mgr_notify(struct byoca_manager *m, const char *type, int64_t tenant_id,
                int64_t cert_id, const json_t *detail) {
  if (m->cfg.webhook_url == NULL)
    return;
  struct mgr_notice *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return;
  n->m = m;
  n->url = strdup(m->cfg.webhook_url);
  n->body = notice_body(type, tenant_id, cert_id, detail);
  byoca_strlcpy(n->type, type, sizeof(n->type));
  if (n->url == NULL || n->body == NULL) {
    notice_free(n);
    return;
  }
  n->next = m->notices;
  if (m->notices != NULL)
    m->notices->prev = n;
  m->notices = n;
  send_notice(n);
}

void mgr_notify_free_all(struct byoca_manager *m) {
  while (m->notices != NULL) {
    struct mgr_notice *n = m->notices;
    notice_unlink(n);
    if (n->timer != NULL)
      byoca_timer_cancel(n->timer);
    n->m = NULL;
    if (!n->in_flight)
      notice_free(n); /* else freed by its HTTP callback */
  }
}
