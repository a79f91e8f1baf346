/* Operator endpoints for API tokens: a tenant's (mint, shown once; list;
 * revoke) and the operator's own (the same, under /v1/tokens; the last
 * one cannot be revoked). Lists never show a secret or its hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"

#define TOKEN_BUF 128
#define LABEL_MAX 100

/* The label of the body: absent or a short printable string; answers 400
 * and returns -1 otherwise. */
static int check_label(struct bd_call *c, const char *label) {
  char safe[LABEL_MAX * 4 + 8];
  if (label == NULL)
    return 0;
  byoca_str_sanitize(label, safe, sizeof(safe));
  if (strlen(label) > LABEL_MAX || strcmp(safe, label) != 0) {
    bd_problem(c, 400, "label: at most %d printable characters", LABEL_MAX);
    return -1;
  }
  return 0;
}

/* The tenant of path parameter 0, which must be active. */
static int active_tenant(struct bd_call *c, int64_t *id) {
  struct byoca_tenant t;
  struct byoca_err e = {0};
  if (bd_param_id(c, 0, id) != 0)
    return -1;
  int rc = byoca_store_tenant_get(c->store, *id, &t, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "tenant %lld not found", (long long)*id);
  else if (rc != 0)
    bd_problem_err(c, &e);
  else if (t.deleting)
    bd_problem(c, 409, "tenant %lld is being deleted", (long long)*id);
  byoca_err_clear(&e);
  return rc == 0 && !t.deleting ? 0 : -1;
}

/* Mints a token for tenant (0 = operator) with the body's label and
 * answers 201 with it (the only time it is shown). */
static void mint(struct bd_call *c, int64_t tenant) {
  static const struct bd_field f[] = {{"label", BD_T_STRING_OR_NULL, 0}};
  json_t *b = bd_body(c, f, 1, 1);
  if (b == NULL)
    return;
  const char *label = json_string_value(json_object_get(b, "label"));
  char tok[TOKEN_BUF];
  int64_t tid = 0;
  struct byoca_err e = {0};
  if (check_label(c, label) != 0 ||
      byoca_store_token_mint(c->store, tenant, label, tok, sizeof(tok), &tid,
                             &e) != 0) {
    if (e.code != 0)
      bd_problem_err(c, &e);
    byoca_err_clear(&e);
    json_decref(b);
    return;
  }
  bd_event(c, tenant, 0, "token.created",
           json_pack("{s:I,s:s?,s:s}", "token_id", (json_int_t)tid, "label",
                     label, "scope", tenant > 0 ? "tenant" : "operator"));
  json_decref(b);
  json_t *o =
      json_pack("{s:I,s:o,s:s}", "id", (json_int_t)tid, "tenant",
                tenant > 0 ? json_integer((json_int_t)tenant) : json_null(),
                "token", tok);
  explicit_bzero(tok, sizeof(tok));
  bd_reply_json_secret(c, 201, o, NULL);
}

void api_tokens_create(struct bd_call *c) {
  int64_t tenant;
  if (active_tenant(c, &tenant) == 0)
    mint(c, tenant);
}

/* Answers the active tokens of tenant (0 = operator). */
static void list(struct bd_call *c, int64_t tenant) {
  struct byoca_token_info *t = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_token_list(c->store, tenant, &t, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < n && items != NULL; i++)
    if (json_array_append_new(items, bd_json_token(&t[i], tenant)) != 0) {
      json_decref(items);
      items = NULL;
    }
  free(t);
  bd_reply_json(c, 200, bd_json_list(items, 0), NULL);
}

void api_tokens_list(struct bd_call *c) {
  int64_t tenant;
  struct byoca_tenant t;
  struct byoca_err e = {0};
  if (bd_param_id(c, 0, &tenant) != 0)
    return;
  int rc = byoca_store_tenant_get(c->store, tenant, &t, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "tenant %lld not found", (long long)tenant);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  if (rc == 0)
    list(c, tenant);
}

void api_optokens_create(struct bd_call *c) {
  mint(c, 0);
}

void api_optokens_list(struct bd_call *c) {
  list(c, 0);
}

void api_optokens_delete(struct bd_call *c) {
  int64_t tid, n = 0;
  if (bd_param_id(c, 0, &tid) != 0)
    return;
  struct byoca_err e = {0};
  int rc = byoca_store_operator_tokens(c->store, &n, &e);
  if (rc == 0 && n <= 1) {
    /* only if tid is that one: else it is not an operator token (404) */
    struct byoca_token_info *t = NULL;
    size_t nt = 0;
    rc = byoca_store_token_list(c->store, 0, &t, &nt, &e);
    int last = rc == 0 && nt == 1 && t[0].id == tid;
    free(t);
    if (last) {
      bd_problem(c, 409,
                 "token %lld is the last operator token; mint another"
                 " first (POST /v1/tokens or 'byocad token')",
                 (long long)tid);
      return;
    }
  }
  if (rc == 0)
    rc = byoca_store_token_revoke(c->store, 0, tid, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "no operator token %lld", (long long)tid);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  if (rc != 0)
    return;
  byoca_log(BYOCA_LOG_INFO, "operator token %lld revoked", (long long)tid);
  bd_event(
      c, 0, 0, "token.revoked",
      json_pack("{s:I,s:s}", "token_id", (json_int_t)tid, "scope", "operator"));
  bd_reply(c, 204, NULL, NULL, 0, NULL);
}

void api_tokens_delete(struct bd_call *c) {
  int64_t tenant, tid;
  if (bd_param_id(c, 0, &tenant) != 0 || bd_param_id(c, 1, &tid) != 0)
    return;
  struct byoca_err e = {0};
  int rc = byoca_store_token_revoke(c->store, tenant, tid, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "token %lld of tenant %lld not found", (long long)tid,
               (long long)tenant);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  if (rc != 0)
    return;
  bd_event(
      c, tenant, 0, "token.revoked",
      json_pack("{s:I,s:s}", "token_id", (json_int_t)tid, "scope", "tenant"));
  bd_reply(c, 204, NULL, NULL, 0, NULL);
}
