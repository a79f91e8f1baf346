/* libFuzzer target: date parsing for Retry-After (byoca_retry_after_parse)
 * and its building blocks, RFC 3339 and HTTP-date. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  if (size > 0)
    memcpy(s, data, size);
  s[size] = '\0';
  int64_t t = 0;
  char buf[32];
  (void)byoca_retry_after_parse(s, 1795867200, &t);
  (void)byoca_retry_after_parse(s, INT64_MAX / 4, &t);
  if (byoca_time_parse_rfc3339(s, &t) == 0)
    byoca_time_format_rfc3339(t, buf, sizeof(buf));
  if (byoca_time_parse_httpdate(s, &t) == 0)
    byoca_time_format_rfc3339(t, buf, sizeof(buf));
  free(s);
  return 0;
}
