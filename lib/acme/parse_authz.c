/* The authorization object and its challenges (RFC 8555 §7.1.4, §8).
 * See parse.h. */
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto.h"

static int oom(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

static int take_chall(const json_t *c, struct acme_chall_obj *d) {
  return acme_parse_str(c, "type", &d->type) != 0 ||
                 acme_parse_str(c, "url", &d->url) != 0 ||
                 acme_parse_str(c, "token", &d->token) != 0 ||
                 acme_parse_str(c, "status", &d->status) != 0 ||
                 acme_parse_dump(c, "error", &d->error_json) != 0
             ? -1
             : 0;
}

int acme_parse_authz(const json_t *j, struct acme_authz_obj *out,
                     struct byoca_err *err) {
  int rc = 0;
  memset(out, 0, sizeof(*out));
  if (!json_is_object(j))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the authorization is not a JSON object");
  json_t *id = json_object_get(j, "identifier");
  json_t *challs = json_object_get(j, "challenges");
  if (acme_parse_str(j, "status", &out->status) != 0 ||
      acme_parse_str(id, "type", &out->ident.type) != 0 ||
      acme_parse_str(id, "value", &out->ident.value) != 0)
    rc = oom(err);
  out->wildcard = json_is_true(json_object_get(j, "wildcard"));
  if (rc == 0 && (out->status == NULL || out->ident.type == NULL ||
                  out->ident.value == NULL || !json_is_array(challs)))
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "the authorization has no %s",
                       out->status == NULL      ? "status"
                       : !json_is_array(challs) ? "list of challenges"
                                                : "identifier");
  size_t n = rc == 0 ? json_array_size(challs) : 0;
  if (n > ACME_MAX_CHALLENGES)
    n = ACME_MAX_CHALLENGES;
  if (n > 0 && (out->challs = calloc(n, sizeof(*out->challs))) == NULL)
    rc = oom(err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const json_t *c = json_array_get(challs, i);
    if (!json_is_object(c))
      continue;
    if (take_chall(c, &out->challs[out->nchalls++]) != 0)
      rc = oom(err);
  }
  if (rc != 0)
    acme_authz_obj_free(out);
  return rc;
}

void acme_authz_obj_free(struct acme_authz_obj *z) {
  free(z->status);
  free(z->ident.type);
  free(z->ident.value);
  for (size_t i = 0; i < z->nchalls; i++) {
    free(z->challs[i].type);
    free(z->challs[i].url);
    free(z->challs[i].token);
    free(z->challs[i].status);
    free(z->challs[i].error_json);
  }
  free(z->challs);
  memset(z, 0, sizeof(*z));
}
