/* GET /v1/certificates/{id}/chain: the fullchain as
 * application/pem-certificate-chain; with ?include_key=1 the private key
 * PEM first. Exporting a key is audited (key.exported) before a byte of it
 * leaves, and the answer's buffer is wiped afterwards. */
#include <stdio.h>
#include <string.h>

#include "bd.h"

#define PEM_CHAIN "application/pem-certificate-chain"

/* 0 if the lineage has something to hand out; answers 409 otherwise. */
static int servable(struct bd_call *c, const struct byoca_cert_row *row) {
  if (row->state == BYOCA_CERT_DELETING) {
    bd_problem(c, 409, "certificate %lld is being deleted", (long long)row->id);
    return -1;
  }
  if (row->fullchain_pem == NULL || row->fullchain_pem[0] == '\0') {
    bd_problem(c, 409, "certificate %lld has not been issued yet",
               (long long)row->id);
    return -1;
  }
  return 0;
}

static int audit_export(struct bd_call *c, const struct byoca_cert_row *row) {
  json_t *d =
      json_pack("{s:s,s:s}", "by", c->is_operator ? "operator" : "tenant",
                "serial", row->serial);
  int rc = bd_event(c, row->tenant_id, row->id, "key.exported", d);
  if (rc != 0)
    return rc;
  byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: private key exported (%s)",
            (long long)row->id, (long long)row->tenant_id,
            c->is_operator ? "operator" : "tenant");
  return 0;
}

static void send_with_key(struct bd_call *c, const struct byoca_cert_row *row) {
  struct byoca_secret key = {0};
  struct byoca_err e = {0};
  if (byoca_store_cert_key(c->store, c->tenant, row->id, &key, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  struct byoca_buf out;
  byoca_buf_init(&out, 0);
  int audit = 0;
  int rc = byoca_buf_append(&out, key.data, key.len);
  if (rc == 0 && key.len > 0 && key.data[key.len - 1] != '\n')
    rc = byoca_buf_appends(&out, "\n");
  if (rc == 0)
    rc = byoca_buf_appends(&out, row->fullchain_pem);
  byoca_secret_free(&key);
  if (rc != 0)
    bd_problem(c, 500, "out of memory");
  else if ((audit = audit_export(c, row)) == BYOCA_E_NOSPACE)
    bd_problem(c, 507,
               "cannot record the key export: no space left on the disk;"
               " key not sent");
  else if (audit != 0)
    bd_problem(c, 500, "cannot record the key export; key not sent");
  else
    bd_reply(c, 200, PEM_CHAIN, out.data, out.len, NULL);
  byoca_buf_free_secret(&out);
}

void api_certs_chain(struct bd_call *c) {
  int with_key;
  int64_t id;
  if (bd_query_flag(c, "include_key", &with_key) != 0 ||
      bd_param_id(c, 0, &id) != 0)
    return;
  struct byoca_cert_row row;
  struct byoca_err e = {0};
  memset(&row, 0, sizeof(row));
  int rc = byoca_store_cert_get(c->store, c->tenant, id, 1, &row, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "certificate %lld not found", (long long)id);
  else if (rc != 0)
    bd_problem_err(c, &e);
  else if (servable(c, &row) != 0)
    ;
  else if (with_key)
    send_with_key(c, &row);
  else
    bd_reply(c, 200, PEM_CHAIN, row.fullchain_pem, strlen(row.fullchain_pem),
             NULL);
  byoca_err_clear(&e);
  byoca_cert_row_clear(&row);
}
