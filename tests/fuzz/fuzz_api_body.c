/* libFuzzer target: byocad request bodies (bd_body_parse) checked against
 * the fields of POST /v1/certificates, the widest body the API takes,
 * and an integer field (as PUT /v1/rfc2136/{zone} takes "port"). The
 * first byte picks the Content-Type and whether an empty body is allowed,
 * so the media-type and empty-body paths are reached too. */
/* fuzz-sources: src/daemon/body_parse.c */
#include <stddef.h>
#include <stdint.h>

#include "body_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct bd_field fields[] = {
    {"identifiers", BD_T_STRINGS, 1},
    {"key_type", BD_T_STRING, 0},
    {"ca", BD_T_STRING, 0},
    {"profile", BD_T_STRING_OR_NULL, 0},
    {"port", BD_T_INT, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const types[] = {"application/json",
                                      "application/json; charset=utf-8",
                                      " APPLICATION/JSON ", "text/plain", NULL};
  if (size == 0)
    return 0;
  const char *ct = types[data[0] % 5];
  int allow_empty = (data[0] / 5) & 1;
  int status = 0;
  char why[512];
  json_t *o = bd_body_parse(ct, (const char *)data + 1, size - 1, fields,
                            sizeof(fields) / sizeof(*fields), allow_empty,
                            &status, why, sizeof(why));
  if (o == NULL && status != 400 && status != 415 && status != 500)
    __builtin_trap(); /* a refusal always carries its status */
  json_decref(o);
  return 0;
}
