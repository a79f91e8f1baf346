/* libFuzzer target: byocad.conf (bd_config_load in src/daemon/config.c),
 * including the reload comparison with a default configuration. */
/* fuzz-sources: src/daemon/config.c lib/store/url.c lib/store/pg/url.c */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file_write(data, size);
  struct bd_config c = {0}, running = {0};
  struct byoca_err err = {0};
  if (bd_config_load(path, &c, &err) != 0)
    return 0;
  const char *empty = fuzz_file_write((const uint8_t *)"", 0);
  if (bd_config_load(empty, &running, &err) == 0) {
    char changed[1024];
    bd_config_keep_running(&c, &running, changed, sizeof(changed));
    bd_config_free(&running);
  }
  bd_config_free(&c);
  return 0;
}
