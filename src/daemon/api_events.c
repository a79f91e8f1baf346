/* The audit log (GET /v1/events: the operator sees every tenant, or one
 * with ?tenant=; a tenant only its own) and CA health (GET /v1/cas), and
 * how handlers append to the log. */
#include <stdlib.h>

#include "bd.h"

int bd_event(struct bd_call *c, int64_t tenant, int64_t cert, const char *type,
             json_t *detail) {
  char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
  json_decref(detail);
  struct byoca_err e = {0};
  int rc = byoca_store_event_add(c->store, tenant, cert, type, text,
                                 byoca_now(), &e);
  if (rc != 0) {
    byoca_log(BYOCA_LOG_ERROR, "cannot record event %s: %s", type, e.msg);
    byoca_err_clear(&e);
  }
  free(text);
  return rc;
}

void api_events_list(struct bd_call *c) {
  int64_t after;
  size_t limit;
  if (bd_page(c, &after, &limit) != 0)
    return;
  /* the operator without ?tenant= sees every tenant */
  int64_t scope = c->is_operator && c->tenant == 0 ? -1 : c->tenant;
  struct byoca_event *ev = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_event_list(c->store, scope, after, limit, &ev, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < n && items != NULL; i++)
    json_array_append_new(items, bd_json_event(&ev[i]));
  int64_t last = n > 0 ? ev[n - 1].id : 0;
  byoca_events_free(ev, n);
  bd_reply_json(c, 200, bd_json_list(items, last), NULL);
}

void api_cas_list(struct bd_call *c) {
  struct byoca_ca_health *h = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_ca_list(c->store, &h, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < n && items != NULL; i++)
    json_array_append_new(items, bd_json_ca(&h[i]));
  free(h);
  json_t *o = items != NULL ? json_pack("{s:o}", "items", items) : NULL;
  bd_reply_json(c, 200, o, NULL);
}
