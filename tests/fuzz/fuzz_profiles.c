/* libFuzzer target: a directory's meta.profiles (byoca_profiles_parse,
 * draft-ietf-acme-profiles), which any CA found through CAA may send. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "byoca/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_profile *p = NULL;
  size_t n = 0;
  if (byoca_profiles_parse((const char *)data, size, &p, &n, NULL) != 0)
    return 0;
  if (n > BYOCA_PROFILES_MAX)
    __builtin_trap();
  for (size_t i = 0; i < n; i++)
    if (!byoca_profile_name_valid(p[i].name) ||
        strlen(p[i].description) > BYOCA_PROFILE_DESC_MAX)
      __builtin_trap();
  byoca_profiles_free(p, n);
  return 0;
}
