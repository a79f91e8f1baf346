/* libFuzzer target: CAA RDATA from the wire (byoca_caa_rdata_parse); a
 * record that parses has its value fed to the value parser too. */
#include <stddef.h>
#include <stdint.h>

#include "byoca/caa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_caa_record r = {0};
  struct byoca_err err = {0};
  if (byoca_caa_rdata_parse(data, size, &r, &err) != 0) {
    byoca_err_clear(&err);
    return 0;
  }
  struct byoca_caa_value v;
  if (byoca_caa_value_parse(r.value, r.value_len, &v) == 0)
    byoca_caa_value_clear(&v);
  byoca_caa_record_clear(&r);
  byoca_err_clear(&err);
  return 0;
}
