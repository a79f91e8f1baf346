/* Hashing and randomness: SHA-256 and OpenSSL's CSPRNG. */
#include <limits.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto_int.h"

int byoca_sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int n = 0;

  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
    ERR_clear_error();
    return BYOCA_E_CRYPTO;
  }
  return 0;
}

int byoca_sha256_b64url(const void *data, size_t len, char **out) {
  unsigned char md[32];
  int rc;

  if ((rc = byoca_sha256(data, len, md)) != 0)
    return rc;
  return byoca_b64url_encode(md, sizeof(md), out);
}

int byoca_random(void *out, size_t len) {
  unsigned char *p = out;

  while (len > 0) {
    int n = len > INT_MAX ? INT_MAX : (int)len;
    if (RAND_bytes(p, n) != 1) {
      ERR_clear_error();
      return BYOCA_E_CRYPTO;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
