/* The order object (RFC 8555 §7.1.3). See parse.h. */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto.h"

static int oom(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

/* 1 when ids is a list of at most ACME_MAX_AUTHZ {type, value} strings
 * (taken into o), 0 when not, -1 when out of memory. */
static int take_ids(const json_t *ids, struct acme_order_obj *o) {
  size_t n = json_array_size(ids);
  if (!json_is_array(ids) || n > ACME_MAX_AUTHZ)
    return 0;
  if (n > 0 && (o->ids = calloc(n, sizeof(*o->ids))) == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *id = json_array_get(ids, i);
    struct acme_ident *d = &o->ids[o->nids++];
    if (acme_parse_str(id, "type", &d->type) != 0 ||
        acme_parse_str(id, "value", &d->value) != 0)
      return -1;
    if (d->type == NULL || d->value == NULL)
      return 0;
  }
  return 1;
}

/* 1 when arr is a list of 1..ACME_MAX_AUTHZ strings (taken), 0 when not,
 * -1 when out of memory. */
static int take_authz(const json_t *arr, struct acme_order_obj *o) {
  size_t n = json_array_size(arr);
  if (!json_is_array(arr) || n == 0 || n > ACME_MAX_AUTHZ)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!json_is_string(json_array_get(arr, i)))
      return 0;
  if ((o->authz = calloc(n, sizeof(char *))) == NULL)
    return -1;
  for (size_t i = 0; i < n; i++, o->nauthz++)
    if ((o->authz[i] = strdup(json_string_value(json_array_get(arr, i)))) ==
        NULL)
      return -1;
  return 1;
}

int acme_parse_order(const json_t *j, struct acme_order_obj *out,
                     struct byoca_err *err) {
  int rc = 0;
  memset(out, 0, sizeof(*out));
  if (!json_is_object(j))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the order is not a JSON object");
  if (acme_parse_str(j, "status", &out->status) != 0 ||
      acme_parse_str(j, "finalize", &out->finalize) != 0 ||
      acme_parse_str(j, "expires", &out->expires) != 0 ||
      acme_parse_str(j, "certificate", &out->certificate) != 0 ||
      acme_parse_str(j, "profile", &out->profile) != 0 ||
      acme_parse_dump(j, "error", &out->error_json) != 0)
    rc = oom(err);
  int r = rc == 0 ? take_ids(json_object_get(j, "identifiers"), out) : 0;
  if (r < 0)
    rc = oom(err);
  out->ids_ok = r > 0;
  r = rc == 0 ? take_authz(json_object_get(j, "authorizations"), out) : 0;
  if (r < 0)
    rc = oom(err);
  if (r == 0 && out->authz != NULL) { /* partly taken: none */
    for (size_t i = 0; i < out->nauthz; i++)
      free(out->authz[i]);
    free(out->authz);
    out->authz = NULL;
    out->nauthz = 0;
  }
  if (rc == 0 && (out->status == NULL || out->finalize == NULL))
    rc =
        byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA, "the order has no %s",
                      out->status == NULL ? "status" : "finalize URL");
  if (rc != 0)
    acme_order_obj_free(out);
  return rc;
}

void acme_order_obj_free(struct acme_order_obj *o) {
  free(o->status);
  free(o->finalize);
  free(o->expires);
  free(o->certificate);
  free(o->profile);
  free(o->error_json);
  for (size_t i = 0; i < o->nids; i++) {
    free(o->ids[i].type);
    free(o->ids[i].value);
  }
  free(o->ids);
  for (size_t i = 0; i < o->nauthz; i++)
    free(o->authz[i]);
  free(o->authz);
  memset(o, 0, sizeof(*o));
}
