/* byoca_manager_import: tracking a certificate issued elsewhere. The
 * chain (leaf first) must parse, the key must match the leaf, the leaf
 * must not have expired; its SANs become the lineage's identifiers. The
 * chain and key are stored as a current certificate (state issued, next
 * check by the lifetime rule), deployed like an issuance, and audited;
 * renewal later goes through ACME with the lineage's ca. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define CHAIN_MAX_CERTS 10

struct imported {
  struct byoca_chain chain;
  int have_chain;
  struct byoca_key *key;
  char **sans;
  size_t nsans;
  char *serial;
  struct byoca_buf full, leaf, rest, key_pem;
  int64_t not_before, not_after;
};

static void imported_free(struct imported *im) {
  if (im->have_chain)
    byoca_chain_free(&im->chain);
  byoca_key_free(im->key);
  byoca_strv_free(im->sans, im->nsans);
  free(im->serial);
  byoca_buf_free(&im->full);
  byoca_buf_free(&im->leaf);
  byoca_buf_free(&im->rest);
  byoca_buf_free_secret(&im->key_pem);
}

static int input_err(struct byoca_err *err, const char *what) {
  char line[400];
  byoca_strlcpy(line, err != NULL && err->msg[0] ? err->msg : "invalid",
                sizeof(line));
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "%s: %s", what,
                       line);
}

/* Leaf, chain and fullchain as clean PEM. */
static int import_pems(struct imported *im, struct byoca_err *err) {
  for (size_t i = 0; i < im->chain.n; i++) {
    char *pem = NULL;
    if (byoca_cert_pem(im->chain.certs[i], &pem) != 0)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    int rc = byoca_buf_appends(&im->full, pem);
    if (rc == 0)
      rc = byoca_buf_appends(i == 0 ? &im->leaf : &im->rest, pem);
    free(pem);
    if (rc != 0)
      return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "oom");
  }
  if (im->rest.data == NULL && byoca_buf_appends(&im->rest, "") != 0)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  return 0;
}

static int import_check(struct imported *im, const char *chain_pem,
                        const struct byoca_secret *key_pem,
                        struct byoca_err *err) {
  if (chain_pem == NULL ||
      byoca_chain_parse(chain_pem, strlen(chain_pem), CHAIN_MAX_CERTS,
                        &im->chain, err) != 0)
    return input_err(err, "certificate");
  im->have_chain = 1;
  if (key_pem == NULL || key_pem->data == NULL ||
      byoca_key_load_pem((const char *)key_pem->data, key_pem->len, &im->key,
                         err) != 0)
    return input_err(err, "private_key");
  const struct byoca_cert *leaf = im->chain.certs[0];
  if (!byoca_cert_matches_key(leaf, im->key))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "private_key: does not match the certificate");
  if (byoca_cert_validity(leaf, &im->not_before, &im->not_after) != 0 ||
      im->not_after <= byoca_now())
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "certificate: it has expired");
  if (byoca_cert_sans(leaf, &im->sans, &im->nsans) != 0 || im->nsans == 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "certificate: it has no DNS or IP names");
  if (byoca_cert_serial_hex(leaf, &im->serial) != 0 ||
      byoca_key_private_pem(im->key, &im->key_pem, err) != 0)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "cannot read the certificate's serial or key");
  return import_pems(im, err);
}

static int import_store(struct byoca_manager *m, int64_t tenant_id,
                        struct imported *im, struct byoca_cert_row *row,
                        int64_t *id, struct byoca_err *err) {
  int rc = byoca_store_cert_add(m->store, tenant_id, row, byoca_now(), NULL, id,
                                err);
  if (rc != 0)
    return rc;
  struct byoca_cert_row r;
  memset(&r, 0, sizeof(r));
  byoca_strlcpy(r.serial, im->serial, sizeof(r.serial));
  r.not_before = im->not_before;
  r.not_after = im->not_after;
  r.next_check = mgr_sched_lifetime(im->not_before, im->not_after, byoca_now(),
                                    mgr_random());
  byoca_strlcpy(r.next_source, "lifetime", sizeof(r.next_source));
  byoca_strlcpy(r.last_outcome, "imported", sizeof(r.last_outcome));
  struct byoca_secret s = {(unsigned char *)im->key_pem.data, im->key_pem.len};
  rc = byoca_store_cert_issued(m->store, *id, &r, im->full.data, &s, NULL, err);
  if (rc != 0) {
    struct byoca_err e = {0};
    (void)!byoca_store_cert_destroy(m->store, *id, NULL,
                                    &e); /* no half import */
    byoca_err_clear(&e);
  }
  return rc;
}

static void imported_audit(struct byoca_manager *m, int64_t tenant_id,
                           int64_t id, const struct imported *im,
                           const struct byoca_cert_row *row) {
  char na[32];
  struct byoca_err e = {0};
  struct byoca_secret s = {(unsigned char *)im->key_pem.data, im->key_pem.len};
  if (mgr_deploy_files(m, tenant_id, id, im->full.data, &s, im->leaf.data,
                       im->rest.data, &e) != 0) {
    byoca_log(BYOCA_LOG_ERROR,
              "cert %lld tenant %lld: cannot write the live"
              " files: %s",
              (long long)id, (long long)tenant_id, e.msg);
    byoca_err_clear(&e);
  }
  byoca_time_format_rfc3339(im->not_after, na, sizeof(na));
  json_t *d = mgr_added_detail(row);
  if (d != NULL) {
    json_object_set_new(d, "serial", json_string(im->serial));
    json_object_set_new(d, "not_after", json_string(na));
  }
  byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: imported serial %s",
            (long long)id, (long long)tenant_id, im->serial);
  mgr_event(m, tenant_id, id, "certificate.imported", d, 0);
}

int byoca_manager_import(struct byoca_manager *m, int64_t tenant_id,
                         const char *chain_pem,
                         const struct byoca_secret *key_pem, const char *ca,
                         int64_t *id_out, struct byoca_err *err) {
  struct imported im;
  struct byoca_cert_row row;
  int64_t id = 0;
  memset(&im, 0, sizeof(im));
  memset(&row, 0, sizeof(row));
  byoca_buf_init(&im.full, 0);
  byoca_buf_init(&im.leaf, 0);
  byoca_buf_init(&im.rest, 0);
  byoca_buf_init(&im.key_pem, 0);
  int rc = mgr_tenant_active(m, tenant_id, err);
  if (rc == 0)
    rc = mgr_check_ca(ca, row.ca, sizeof(row.ca), err);
  if (rc == 0)
    rc = import_check(&im, chain_pem, key_pem, err);
  if (rc == 0 && (row.identifiers_json = mgr_names_json(
                      (const char *const *)im.sans, im.nsans, err)) == NULL)
    rc = BYOCA_E_INVAL;
  if (rc == 0) {
    byoca_strlcpy(row.key_type, mgr_keytype_api_name(byoca_key_type(im.key)),
                  sizeof(row.key_type));
    rc = import_store(m, tenant_id, &im, &row, &id, err);
  }
  if (rc == 0) {
    imported_audit(m, tenant_id, id, &im, &row);
    if (id_out != NULL)
      *id_out = id;
    mgr_kick(m);
  }
  free(row.identifiers_json);
  imported_free(&im);
  return rc;
}
