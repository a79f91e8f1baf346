/* Tenant endpoints for certificate lineages: add, import, list, show,
 * delete, renew, and the chain (with the private key only on request,
 * audited). Input is checked here for shape; the manager checks meaning
 * (names, key types, CAs) and its error names what was wrong. The
 * handlers change only the store (the manager's *_store functions, on
 * c->store: a store lane on PostgreSQL); what the manager then does
 * (work started, a job stopped, files deployed) is their step on the
 * loop (c->then). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"

/* Lineage path-parameter 0 of the call's tenant into row; answers 404 (or
 * 500) and returns -1 when there is none. */
static int load_cert(struct bd_call *c, int with_pem,
                     struct byoca_cert_row *row) {
  int64_t id;
  memset(row, 0, sizeof(*row));
  if (bd_param_id(c, 0, &id) != 0)
    return -1;
  struct byoca_err e = {0};
  int rc = byoca_store_cert_get(c->store, c->tenant, id, with_pem, row, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "certificate %lld not found", (long long)id);
  else if (rc != 0)
    bd_problem_err(c, &e);
  byoca_err_clear(&e);
  return rc == 0 ? 0 : -1;
}

/* Answers status with lineage id as it is now (or fallback when it is
 * already gone). */
static void answer_cert(struct bd_call *c, int status, int64_t id,
                        struct byoca_cert_row *fallback, int location) {
  struct byoca_cert_row row;
  struct byoca_err e = {0};
  memset(&row, 0, sizeof(row));
  int rc = byoca_store_cert_get(c->store, c->tenant, id, 0, &row, &e);
  if (rc != 0 && fallback == NULL) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  byoca_err_clear(&e);
  json_t *o = bd_json_cert(rc == 0 ? &row : fallback);
  byoca_cert_row_clear(&row);
  char loc[64];
  snprintf(loc, sizeof(loc), "Location: /v1/certificates/%lld", (long long)id);
  const char *const hdrs[] = {loc, NULL};
  bd_reply_json(c, status, o, location ? hdrs : NULL);
}

/* On the loop after an add or a renewal: work starts now. */
static void then_kick(struct bd_call *c) {
  byoca_manager_kick(c->d->mgr);
}

/* On the loop after a deletion was stored: the lineage's job stops, its
 * deletion starts. */
static void then_delete(struct bd_call *c) {
  if (c->d->mgr != NULL)
    byoca_manager_delete_start(c->d->mgr, c->then_id);
}

static void imported_free(void *ctx) {
  byoca_manager_imported_free(ctx);
}

/* On the loop after an import was stored: its live files. */
static void then_deploy(struct bd_call *c) {
  if (c->d->mgr == NULL)
    return; /* freed with the call */
  byoca_manager_imported_deploy(c->d->mgr, c->ctx);
  c->ctx = NULL;
  c->ctx_free = NULL;
}

static const char *opt_str(json_t *b, const char *key) {
  return json_string_value(json_object_get(b, key)); /* NULL for null */
}

void api_certs_add(struct bd_call *c) {
  static const struct bd_field f[] = {
      {"identifiers", BD_T_STRINGS, 1},
      {"key_type", BD_T_STRING_OR_NULL, 0},
      {"ca", BD_T_STRING_OR_NULL, 0},
      {"profile", BD_T_STRING_OR_NULL, 0},
      {"profile_required", BD_T_BOOL_OR_NULL, 0},
  };
  json_t *b = bd_body(c, f, sizeof(f) / sizeof(*f), 0);
  if (b == NULL)
    return;
  json_t *ids = json_object_get(b, "identifiers");
  size_t n = json_array_size(ids);
  if (n == 0 || n > BYOCA_STORE_MAX_IDENTS) {
    bd_problem(c, 400, "identifiers: between 1 and %d names are needed",
               BYOCA_STORE_MAX_IDENTS);
    json_decref(b);
    return;
  }
  const char *names[BYOCA_STORE_MAX_IDENTS];
  for (size_t i = 0; i < n; i++)
    names[i] = json_string_value(json_array_get(ids, i));
  int64_t id = 0;
  struct byoca_err e = {0};
  struct byoca_manager_cert_req req = {
      .names = names,
      .nnames = n,
      .key_type = opt_str(b, "key_type"),
      .ca = opt_str(b, "ca"),
      .profile = opt_str(b, "profile"),
      .profile_required = json_is_true(json_object_get(b, "profile_required")),
  };
  int rc = byoca_manager_add_store(c->store, c->tenant, &req, &id, &e);
  json_decref(b);
  if (rc != 0) {
    bd_problem_err(c, &e);
  } else {
    c->then = then_kick;
    answer_cert(c, 201, id, NULL, 1);
  }
  byoca_err_clear(&e);
}

void api_certs_import(struct bd_call *c) {
  static const struct bd_field f[] = {
      {"certificate", BD_T_STRING, 1},
      {"private_key", BD_T_STRING, 1},
      {"ca", BD_T_STRING_OR_NULL, 0},
  };
  json_t *b = bd_body(c, f, sizeof(f) / sizeof(*f), 0);
  if (b == NULL)
    return;
  json_t *k = json_object_get(b, "private_key");
  /* the key stays in jansson's string, wiped before it is freed */
  struct byoca_secret key = {(unsigned char *)json_string_value(k),
                             json_string_length(k)};
  struct byoca_imported *im = NULL;
  struct byoca_err e = {0};
  int rc =
      byoca_manager_import_store(c->store, c->tenant, opt_str(b, "certificate"),
                                 &key, opt_str(b, "ca"), &im, &e);
  explicit_bzero(key.data, key.len);
  json_decref(b);
  if (rc != 0) {
    bd_problem_err(c, &e);
  } else {
    c->ctx = im; /* the PEMs to deploy, the key wiped when freed */
    c->ctx_free = imported_free;
    c->then = then_deploy;
    answer_cert(c, 201, byoca_manager_imported_id(im), NULL, 1);
  }
  byoca_err_clear(&e);
}

void api_certs_list(struct bd_call *c) {
  int64_t after;
  size_t limit;
  if (bd_page(c, &after, &limit) != 0)
    return;
  struct byoca_cert_row *rows = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_cert_list(c->store, c->tenant, after, limit, &rows, &n, &e) !=
      0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < n && items != NULL; i++)
    json_array_append_new(items, bd_json_cert(&rows[i]));
  int64_t last = n > 0 ? rows[n - 1].id : 0;
  byoca_cert_rows_free(rows, n);
  bd_reply_json(c, 200, bd_json_list(items, last), NULL);
}

void api_certs_get(struct bd_call *c) {
  struct byoca_cert_row row;
  if (load_cert(c, 0, &row) != 0)
    return;
  bd_reply_json(c, 200, bd_json_cert(&row), NULL);
  byoca_cert_row_clear(&row);
}

void api_certs_delete(struct bd_call *c) {
  const char *v = byoca_httpd_query(c->req, "revoke");
  int revoke = 1;
  if (v != NULL && bd_query_flag(c, "revoke", &revoke) != 0)
    return;
  struct byoca_cert_row row;
  if (load_cert(c, 0, &row) != 0)
    return;
  struct byoca_err e = {0};
  if (byoca_manager_delete_store(c->store, c->tenant, row.id, revoke, &e) != 0)
    bd_problem_err(c, &e);
  else {
    c->then = then_delete;
    c->then_id = row.id;
    row.state = BYOCA_CERT_DELETING;
    answer_cert(c, 202, row.id, &row, 0);
  }
  byoca_err_clear(&e);
  byoca_cert_row_clear(&row);
}

void api_certs_renew(struct bd_call *c) {
  struct byoca_cert_row row;
  if (load_cert(c, 0, &row) != 0)
    return;
  json_t *b = bd_body(c, NULL, 0, 1);
  struct byoca_err e = {0};
  if (b == NULL)
    ;
  else if (row.state == BYOCA_CERT_DELETING)
    bd_problem(c, 409, "certificate %lld is being deleted", (long long)row.id);
  else if (byoca_manager_renew_store(c->store, c->tenant, row.id, &e) != 0)
    bd_problem_err(c, &e);
  else {
    c->then = then_kick;
    answer_cert(c, 202, row.id, NULL, 0);
  }
  json_decref(b);
  byoca_err_clear(&e);
  byoca_cert_row_clear(&row);
}
