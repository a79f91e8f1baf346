/* byoca_manager_import: tracking a certificate issued elsewhere. The
 * chain (leaf first) must parse, the key must match the leaf, the leaf
 * must not have expired; its SANs become the lineage's identifiers. The
 * chain and key are stored as a current certificate (state issued, next
 * check by the lifetime rule) with their audit event, then deployed like
 * an issuance; renewal later goes through ACME with the lineage's ca. The
 * store part (byoca_manager_import_store) touches only its arguments and
 * the store it is given; the deployment follows on the loop, from the
 * PEMs it kept (the key wiped when they are freed). */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define CHAIN_MAX_CERTS 10

struct byoca_imported {
  int64_t tenant_id;
  int64_t id;
  struct byoca_chain chain;
  int have_chain;
  struct byoca_key *key;
  char **sans;
  size_t nsans;
  char *serial;
  struct byoca_buf full, leaf, rest, key_pem;
  int64_t not_before, not_after;
};

static void imported_clear(struct byoca_imported *im) {
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
static int import_pems(struct byoca_imported *im, struct byoca_err *err) {
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

static int import_check(struct byoca_imported *im, const char *chain_pem,
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

/* The lineage, then its certificate with the audit event (no half
 * import: the lineage goes again when the certificate cannot be stored). */
static int import_save(struct byoca_store *s, struct byoca_imported *im,
                       struct byoca_cert_row *row, struct byoca_err *err) {
  int rc = byoca_store_cert_add(s, im->tenant_id, row, byoca_now(), NULL,
                                &im->id, err);
  if (rc != 0)
    return rc;
  struct byoca_cert_row r;
  char na[32];
  memset(&r, 0, sizeof(r));
  byoca_strlcpy(r.serial, im->serial, sizeof(r.serial));
  r.not_before = im->not_before;
  r.not_after = im->not_after;
  r.next_check = mgr_sched_lifetime(im->not_before, im->not_after, byoca_now(),
                                    mgr_random());
  byoca_strlcpy(r.next_source, "lifetime", sizeof(r.next_source));
  byoca_strlcpy(r.last_outcome, "imported", sizeof(r.last_outcome));
  byoca_time_format_rfc3339(im->not_after, na, sizeof(na));
  json_t *d = mgr_added_detail(row);
  if (d != NULL) {
    json_object_set_new(d, "serial", json_string(im->serial));
    json_object_set_new(d, "not_after", json_string(na));
  }
  struct byoca_event ev;
  mgr_event_prepare(&ev, im->tenant_id, im->id, "certificate.imported", d);
  json_decref(d);
  struct byoca_secret k = {(unsigned char *)im->key_pem.data, im->key_pem.len};
  rc = byoca_store_cert_issued(s, im->id, &r, im->full.data, &k, &ev, err);
  mgr_event_done(&ev);
  if (rc != 0) {
    struct byoca_err e = {0};
    (void)!byoca_store_cert_destroy(s, im->id, NULL, &e);
    byoca_err_clear(&e);
    return rc;
  }
  byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: imported serial %s",
            (long long)im->id, (long long)im->tenant_id, im->serial);
  return 0;
}

int byoca_manager_import_store(struct byoca_store *s, int64_t tenant_id,
                               const char *chain_pem,
                               const struct byoca_secret *key_pem,
                               const char *ca, struct byoca_imported **out,
                               struct byoca_err *err) {
  struct byoca_cert_row row;
  struct byoca_imported *im = calloc(1, sizeof(*im));
  memset(&row, 0, sizeof(row));
  if (im == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  im->tenant_id = tenant_id;
  byoca_buf_init(&im->full, 0);
  byoca_buf_init(&im->leaf, 0);
  byoca_buf_init(&im->rest, 0);
  byoca_buf_init(&im->key_pem, 0);
  int rc = mgr_tenant_active(s, tenant_id, err);
  if (rc == 0)
    rc = mgr_check_ca(ca, row.ca, sizeof(row.ca), err);
  if (rc == 0)
    rc = import_check(im, chain_pem, key_pem, err);
  if (rc == 0 && (row.identifiers_json = mgr_names_json(
                      (const char *const *)im->sans, im->nsans, err)) == NULL)
    rc = BYOCA_E_INVAL;
  if (rc == 0) {
    byoca_strlcpy(row.key_type, mgr_keytype_api_name(byoca_key_type(im->key)),
                  sizeof(row.key_type));
    rc = import_save(s, im, &row, err);
  }
  free(row.identifiers_json);
  if (rc != 0) {
    byoca_manager_imported_free(im);
    return rc;
  }
  /* only the PEMs wait for the deployment */
  byoca_key_free(im->key);
  im->key = NULL;
  byoca_chain_free(&im->chain);
  im->have_chain = 0;
  *out = im;
  return 0;
}

int64_t byoca_manager_imported_id(const struct byoca_imported *im) {
  return im->id;
}

void byoca_manager_imported_free(struct byoca_imported *im) {
  if (im == NULL)
    return;
  imported_clear(im);
  free(im);
}

void byoca_manager_imported_deploy(struct byoca_manager *m,
                                   struct byoca_imported *im) {
  struct byoca_err e = {0};
  struct byoca_secret k = {(unsigned char *)im->key_pem.data, im->key_pem.len};
  if (mgr_deploy_files(m, im->tenant_id, im->id, im->full.data, &k,
                       im->leaf.data, im->rest.data, &e) != 0) {
    byoca_log(BYOCA_LOG_ERROR,
              "cert %lld tenant %lld: cannot write the live files: %s",
              (long long)im->id, (long long)im->tenant_id, e.msg);
    byoca_err_clear(&e);
  }
  byoca_manager_imported_free(im);
  mgr_kick(m);
}

int byoca_manager_import(struct byoca_manager *m, int64_t tenant_id,
                         const char *chain_pem,
                         const struct byoca_secret *key_pem, const char *ca,
                         int64_t *id_out, struct byoca_err *err) {
  struct byoca_imported *im = NULL;
  int rc = byoca_manager_import_store(m->store, tenant_id, chain_pem, key_pem,
                                      ca, &im, err);
  if (rc != 0)
    return rc;
  if (id_out != NULL)
    *id_out = im->id;
  byoca_manager_imported_deploy(m, im);
  return 0;
}
