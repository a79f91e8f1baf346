/* Operator endpoints for tenants: create (with its first token), list,
 * show, the tenant's default certificate profile, delete (revokes and
 * destroys everything of the tenant, through the manager). */
#include <stdio.h>
#include <string.h>

#include "bd.h"
#include "byoca/acme.h"

#define TOKEN_BUF 128

/* The tenant of path parameter 0; answers 404 and returns -1 if none. */
static int load_tenant(struct bd_call *c, struct byoca_tenant *t) {
  int64_t id;
  if (bd_param_id(c, 0, &id) != 0)
    return -1;
  struct byoca_err e = {0};
  int rc = byoca_store_tenant_get(c->store, id, t, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "tenant %lld not found", (long long)id);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  return rc == 0 ? 0 : -1;
}

/* Mints the tenant's first token into tok; undoes the tenant if that
 * fails. */
static int first_token(struct bd_call *c, const struct byoca_tenant *t,
                       char *tok, size_t len, int64_t *tid_out) {
  struct byoca_err e = {0};
  int64_t tid = 0;
  int rc =
      byoca_store_token_mint(c->store, t->id, "initial", tok, len, &tid, &e);
  if (rc != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    if (byoca_store_tenant_destroy(c->store, t->id, &e) != 0)
      byoca_err_clear(&e);
    return -1;
  }
  bd_event(c, t->id, 0, "tenant.created", json_pack("{s:s}", "name", t->name));
  bd_event(c, t->id, 0, "token.created",
           json_pack("{s:I,s:s,s:s}", "token_id", (json_int_t)tid, "label",
                     "initial", "scope", "tenant"));
  *tid_out = tid;
  return 0;
}

void api_tenants_create(struct bd_call *c) {
  static const struct bd_field f[] = {{"name", BD_T_STRING, 1}};
  json_t *b = bd_body(c, f, 1, 0);
  if (b == NULL)
    return;
  struct byoca_tenant t;
  struct byoca_err e = {0};
  char tok[TOKEN_BUF];
  const char *name = json_string_value(json_object_get(b, "name"));
  int64_t tid = 0;
  int rc = byoca_store_tenant_create(c->store, name, &t, &e);
  json_decref(b);
  if (rc != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  if (first_token(c, &t, tok, sizeof(tok), &tid) != 0)
    return;
  byoca_log(BYOCA_LOG_INFO, "tenant %lld created: %s", (long long)t.id, t.name);
  json_t *o = bd_json_tenant(&t);
  if (o != NULL) {
    json_object_set_new(o, "token", json_string(tok));
    json_object_set_new(o, "token_id", json_integer((json_int_t)tid));
  }
  explicit_bzero(tok, sizeof(tok));
  char loc[64];
  snprintf(loc, sizeof(loc), "Location: /v1/tenants/%lld", (long long)t.id);
  const char *const hdrs[] = {loc, NULL};
  bd_reply_json_secret(c, 201, o, hdrs);
}

void api_tenants_list(struct bd_call *c) {
  int64_t after;
  size_t limit;
  if (bd_page(c, &after, &limit) != 0)
    return;
  struct byoca_tenant *ts = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_tenant_list(c->store, &ts, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  int64_t last = 0;
  for (size_t i = 0; i < n && items != NULL; i++) {
    if (ts[i].id <= after || json_array_size(items) >= limit)
      continue;
    json_array_append_new(items, bd_json_tenant(&ts[i]));
    last = ts[i].id;
  }
  free(ts);
  bd_reply_json(c, 200, bd_json_list(items, last), NULL);
}

void api_tenants_get(struct bd_call *c) {
  struct byoca_tenant t;
  if (load_tenant(c, &t) == 0)
    bd_reply_json(c, 200, bd_json_tenant(&t), NULL);
}

/* PUT /v1/tenants/{id}/profile: the default profile (D-PROFILE) of the
 * tenant's certificates that name none; null clears it. */
void api_tenants_profile(struct bd_call *c) {
  static const struct bd_field f[] = {
      {"profile", BD_T_STRING_OR_NULL, 1},
      {"profile_required", BD_T_BOOL_OR_NULL, 0},
  };
  struct byoca_tenant t;
  if (load_tenant(c, &t) != 0)
    return;
  json_t *b = bd_body(c, f, sizeof(f) / sizeof(*f), 0);
  if (b == NULL)
    return;
  const char *p = json_string_value(json_object_get(b, "profile"));
  int req = json_is_true(json_object_get(b, "profile_required"));
  struct byoca_err e = {0};
  if (p != NULL && !byoca_profile_name_valid(p))
    bd_problem(c, 400,
               "profile: not a profile name (1-63 of A-Z a-z 0-9 . _ -)");
  else if (p == NULL && req)
    bd_problem(c, 400, "profile_required: needs a profile");
  else if (byoca_store_tenant_set_profile(c->store, t.id, p, req, &e) != 0 ||
           byoca_store_tenant_get(c->store, t.id, &t, &e) != 0)
    bd_problem_err(c, &e);
  else {
    bd_event(c, t.id, 0, "tenant.profile_set",
             json_pack("{s:s?,s:b}", "profile", p, "profile_required", req));
    bd_reply_json(c, 200, bd_json_tenant(&t), NULL);
  }
  byoca_err_clear(&e);
  json_decref(b);
}

/* On the loop after the deletion was stored: the tenant's jobs stop,
 * their deletions start, the sweep destroys the tenant once they end. */
static void then_delete(struct bd_call *c) {
  if (c->d->mgr != NULL)
    byoca_manager_delete_tenant_start(c->d->mgr, c->then_id);
}

void api_tenants_delete(struct bd_call *c) {
  struct byoca_tenant t;
  if (load_tenant(c, &t) != 0)
    return;
  struct byoca_err e = {0};
  if (byoca_manager_delete_tenant_store(c->store, t.id, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  c->then = then_delete;
  c->then_id = t.id;
  t.deleting = 1;
  bd_reply_json(c, 202, bd_json_tenant(&t), NULL);
}
