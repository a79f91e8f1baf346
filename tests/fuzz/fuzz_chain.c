/* libFuzzer target: PEM certificate chains as a CA returns them
 * (byoca_chain_parse, at most 10 certificates) and the top issuer CN. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "byoca/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_chain ch = {0};
  struct byoca_err err = {0};
  if (byoca_chain_parse((const char *)data, size, 10, &ch, &err) == 0) {
    free(byoca_chain_top_issuer_cn(&ch));
    byoca_chain_free(&ch);
  }
  byoca_err_clear(&err);
  return 0;
}
