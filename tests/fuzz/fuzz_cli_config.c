/* libFuzzer target: byoca.conf (cli_config_load in src/cli/config.c). The
 * loader reads a path, so each input is written to one scratch file of this
 * process first. */
/* fuzz-sources: src/cli/config.c */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file_write(data, size);
  struct cli_config c = {0};
  struct byoca_err err = {0};
  if (cli_config_load(path, &c, &err) == 0) {
    (void)cli_config_ca(&c, "example.org");
    cli_config_free(&c);
  }
  return 0;
}
