/* libFuzzer target: HTTP Link header values (byoca_link_parse) with the
 * targets resolved against a base URL, for rel "alternate" and "up". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rels[] = {"alternate", "up", "index"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  if (size > 0)
    memcpy(s, data, size);
  s[size] = '\0';
  for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
    char **v = NULL;
    size_t n = 0;
    if (byoca_link_parse(s, rels[i], "https://ca.example/acme/cert/a/b?x=1", &v,
                         &n) == 0)
      byoca_http_links_free(v, n);
  }
  free(s);
  return 0;
}
