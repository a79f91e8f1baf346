/* libFuzzer target: RenewalInfo objects (RFC 9773 §4.2) as a CA sends them
 * (byoca_ari_parse), the first line of the input being the Retry-After
 * header value, and the schedule built from the answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t ralen = nl != NULL ? (size_t)(nl - data) : 0;
  char *ra = malloc(ralen + 1);
  if (ra == NULL)
    return 0;
  memcpy(ra, data, ralen);
  ra[ralen] = '\0';
  const char *body = nl != NULL ? (const char *)nl + 1 : (const char *)data;
  size_t blen = nl != NULL ? size - ralen - 1 : size;
  struct byoca_ari *r = NULL;
  struct byoca_err e = {0};
  int64_t now = 1795867200, nb = now - 86400, na = now + 5 * 86400;
  if (byoca_ari_parse(body, blen, nl != NULL ? ra : NULL, now, &r, &e) == 0) {
    struct byoca_renewal s;
    byoca_renewal_init(&s, nb, na, now);
    (void)byoca_renewal_update(&s, nb, na, r, NULL, now, (uint64_t)size);
    if (r->retry_after < BYOCA_ARI_RETRY_MIN ||
        r->retry_after > BYOCA_ARI_RETRY_MAX || r->end <= r->start ||
        s.at < now)
      abort();
  }
  byoca_ari_free(r);
  byoca_err_clear(&e);
  free(ra);
  return 0;
}
