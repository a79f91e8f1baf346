/* Decoding a server's JSON, and the directory object (RFC 8555 §7.1.1).
 * See parse.h. */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto.h"

int acme_json_load(const char *buf, size_t len, json_t **out,
                   struct byoca_err *err) {
  json_error_t je;
  *out = buf != NULL ? json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je) : NULL;
  if (*out != NULL)
    return 0;
  if (buf == NULL)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA, "no body");
  return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "not JSON: %.100s (line %d, column %d)", je.text,
                       je.line, je.column);
}

int acme_parse_str(const json_t *j, const char *key, char **out) {
  json_t *v = json_is_object(j) ? json_object_get(j, key) : NULL;
  *out = NULL;
  if (!json_is_string(v))
    return 0;
  *out = strdup(json_string_value(v));
  return *out != NULL ? 0 : -1;
}

int acme_parse_dump(const json_t *j, const char *key, char **out) {
  json_t *v = json_is_object(j) ? json_object_get(j, key) : NULL;
  *out = NULL;
  if (v == NULL)
    return 0;
  *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  return *out != NULL ? 0 : -1;
}

static int oom(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

static int parse_meta(const json_t *meta, struct acme_dir_obj *d,
                      struct byoca_err *err) {
  d->has_meta = 1;
  if (acme_parse_str(meta, ACME_META_TOS, &d->tos) != 0)
    return oom(err);
  d->eab_required = json_is_true(json_object_get(meta, ACME_META_EAB));
  json_t *prof = json_object_get(meta, ACME_META_PROFILES);
  if (json_is_object(prof))
    d->profiles = json_incref(prof);
  json_t *ids = json_object_get(meta, ACME_META_CAA);
  if (!json_is_array(ids))
    return 0;
  d->has_caa_ids = 1;
  size_t n = json_array_size(ids);
  if (n > ACME_MAX_CAA_IDS)
    n = ACME_MAX_CAA_IDS;
  if (n > 0 && (d->caa_ids = calloc(n, sizeof(char *))) == NULL)
    return oom(err);
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(ids, i));
    if (s == NULL)
      continue;
    if ((d->caa_ids[d->ncaa_ids++] = strdup(s)) == NULL)
      return oom(err);
  }
  return 0;
}

int acme_parse_directory(const json_t *j, struct acme_dir_obj *out,
                         struct byoca_err *err) {
  static const char *const required[] = {
      ACME_DIR_NEW_NONCE, ACME_DIR_NEW_ACCOUNT, ACME_DIR_NEW_ORDER};
  static const char *const optional[] = {ACME_DIR_REVOKE, ACME_DIR_KEY_CHANGE,
                                         ACME_DIR_RENEWAL_INFO};
  char **req[] = {&out->new_nonce, &out->new_account, &out->new_order};
  char **opt[] = {&out->revoke_cert, &out->key_change, &out->renewal_info};
  int rc = 0;
  memset(out, 0, sizeof(*out));
  if (!json_is_object(j))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the directory is not a JSON object");
  for (size_t i = 0; rc == 0 && i < 3; i++) {
    if (acme_parse_str(j, required[i], req[i]) != 0)
      rc = oom(err);
    else if (*req[i] == NULL)
      rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the directory has no \"%s\"", required[i]);
  }
  for (size_t i = 0; rc == 0 && i < 3; i++) {
    json_t *v = json_object_get(j, optional[i]);
    if (v != NULL && !json_is_string(v))
      rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the directory has an invalid \"%s\"", optional[i]);
    else if (acme_parse_str(j, optional[i], opt[i]) != 0)
      rc = oom(err);
  }
  json_t *meta = json_object_get(j, ACME_DIR_META);
  if (rc == 0 && meta != NULL && !json_is_object(meta))
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "the directory has an invalid \"meta\"");
  else if (rc == 0 && meta != NULL)
    rc = parse_meta(meta, out, err);
  if (rc != 0)
    acme_dir_obj_free(out);
  return rc;
}

void acme_dir_obj_free(struct acme_dir_obj *d) {
  free(d->new_nonce);
  free(d->new_account);
  free(d->new_order);
  free(d->revoke_cert);
  free(d->key_change);
  free(d->renewal_info);
  free(d->tos);
  json_decref(d->profiles);
  for (size_t i = 0; i < d->ncaa_ids; i++)
    free(d->caa_ids[i]);
  free(d->caa_ids);
  memset(d, 0, sizeof(*d));
}
