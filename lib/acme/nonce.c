/* The nonce pool (RFC 8555 §6.5): every Replay-Nonce a response carries
 * is kept for the next request, newest first, so a busy client rarely
 * needs a newNonce round trip. */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

void acme_nonce_put(struct byoca_acme *a, const char *nonce) {
  char *copy = strdup(nonce);
  if (copy == NULL)
    return;
  if (a->nnonces == ACME_NONCE_POOL) {
    /* drop the oldest: it is the most likely to have expired */
    free(a->nonces[0]);
    memmove(a->nonces, a->nonces + 1, (ACME_NONCE_POOL - 1) * sizeof(char *));
    a->nnonces--;
  }
  a->nonces[a->nnonces++] = copy;
}

char *acme_nonce_take(struct byoca_acme *a) {
  if (a->nnonces == 0)
    return NULL;
  return a->nonces[--a->nnonces];
}

void acme_nonce_clear(struct byoca_acme *a) {
  while (a->nnonces > 0)
    free(a->nonces[--a->nnonces]);
}
