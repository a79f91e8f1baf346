/* libFuzzer target: the ACME objects a server sends, decoded the way every
 * response is (acme_json_load) and parsed by the functions the client
 * uses (lib/acme/parse_*.c): directory, order, authorization with its
 * challenges. Each input goes through all three parsers (each checks the
 * shape it needs), then through what the client does next with the parts
 * that came from the server: identifier normalisation, problem documents
 * in "error", meta.profiles. Traps when a parser's promise (parse.h) is
 * broken. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void problem(const char *txt) {
  struct byoca_problem *p = NULL;
  if (txt != NULL && byoca_problem_parse(txt, strlen(txt), &p) == 0)
    byoca_problem_free(p);
}

static void directory(const json_t *j) {
  struct acme_dir_obj d;
  if (acme_parse_directory(j, &d, NULL) != 0)
    return;
  if (d.new_nonce == NULL || d.new_account == NULL || d.new_order == NULL ||
      d.ncaa_ids > ACME_MAX_CAA_IDS)
    __builtin_trap();
  if (d.profiles != NULL) {
    struct byoca_profile *pl = NULL;
    size_t n = 0;
    if (acme_profiles_from_json(d.profiles, &pl, &n) == 0)
      byoca_profiles_free(pl, n);
  }
  acme_dir_obj_free(&d);
}

static void order(const json_t *j) {
  struct acme_order_obj o;
  if (acme_parse_order(j, &o, NULL) != 0)
    return;
  if (o.status == NULL || o.finalize == NULL || o.nauthz > ACME_MAX_AUTHZ ||
      o.nids > ACME_MAX_AUTHZ || (o.nauthz > 0) != (o.authz != NULL))
    __builtin_trap();
  for (size_t i = 0; o.ids_ok && i < o.nids; i++) {
    const char *t = NULL;
    if (o.ids[i].type == NULL || o.ids[i].value == NULL)
      __builtin_trap();
    free(acme_ident_norm(o.ids[i].value, &t));
  }
  for (size_t i = 0; i < o.nauthz; i++)
    if (o.authz[i] == NULL)
      __builtin_trap();
  problem(o.error_json);
  acme_order_obj_free(&o);
}

static void authz(const json_t *j) {
  struct acme_authz_obj z;
  if (acme_parse_authz(j, &z, NULL) != 0)
    return;
  if (z.status == NULL || z.ident.type == NULL || z.ident.value == NULL ||
      z.nchalls > ACME_MAX_CHALLENGES)
    __builtin_trap();
  const char *t = NULL;
  free(acme_ident_norm(z.ident.value, &t));
  for (size_t i = 0; i < z.nchalls; i++) {
    if (z.challs[i].token != NULL)
      (void)byoca_b64url_valid(z.challs[i].token);
    problem(z.challs[i].error_json);
  }
  acme_authz_obj_free(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *j = NULL;
  if (acme_json_load((const char *)data, size, &j, NULL) != 0)
    return 0;
  directory(j);
  order(j);
  authz(j);
  json_decref(j);
  return 0;
}
