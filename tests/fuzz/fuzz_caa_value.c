/* libFuzzer target: CAA issue/issuewild value parser
 * (byoca_caa_value_parse, RFC 8659 §4.2 ABNF and RFC 8657 parameters). */
#include <stddef.h>
#include <stdint.h>

#include "byoca/caa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_caa_value v;
  if (byoca_caa_value_parse((const char *)data, size, &v) != 0)
    return 0;
  size_t count = 0;
  (void)byoca_caa_value_param(&v, "accounturi", &count);
  (void)byoca_caa_value_param(&v, "validationmethods", NULL);
  byoca_caa_value_clear(&v);
  return 0;
}
