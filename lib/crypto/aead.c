/* Secrets at rest: AES-256-GCM boxes (12-byte random nonce || ciphertext
 * || 16-byte tag) bound to associated data, and a constant-time
 * comparison. A box that does not authenticate yields nothing: the
 * plaintext buffer is wiped before it is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto_int.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define AEAD_MAX ((size_t)INT32_MAX - NONCE_LEN - TAG_LEN)

/* A GCM context for key and nonce with the AAD absorbed; NULL on failure. */
static EVP_CIPHER_CTX *gcm_init(int enc, const unsigned char *key,
                                const unsigned char *nonce, const void *aad,
                                size_t aadlen) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  if (ctx != NULL &&
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
      EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
      (aadlen == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1))
    return ctx;
  EVP_CIPHER_CTX_free(ctx);
  return NULL;
}

/* Runs len bytes of in through ctx into out (len may be 0). */
static int gcm_update(EVP_CIPHER_CTX *ctx, unsigned char *out, const void *in,
                      size_t len, int *n) {
  *n = 0;
  return len == 0 || EVP_CipherUpdate(ctx, out, n, in, (int)len) == 1;
}

int byoca_aead_seal(const unsigned char *key, const void *aad, size_t aadlen,
                    const void *plain, size_t len, unsigned char **out,
                    size_t *outlen, struct byoca_err *err) {
  EVP_CIPHER_CTX *ctx = NULL;
  unsigned char *box = NULL;
  int n = 0, fin = 0, ok = 0;
  *out = NULL;
  if (len > AEAD_MAX || aadlen > (size_t)INT32_MAX)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INTERNAL,
                         "cannot seal a secret of %zu bytes", len);
  if ((box = malloc(NONCE_LEN + len + TAG_LEN)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory sealing a secret");
  if (byoca_random(box, NONCE_LEN) == 0 &&
      (ctx = gcm_init(1, key, box, aad, aadlen)) != NULL &&
      gcm_update(ctx, box + NONCE_LEN, plain, len, &n) &&
      EVP_CipherFinal_ex(ctx, box + NONCE_LEN + n, &fin) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                          box + NONCE_LEN + len) == 1)
    ok = 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    free(box);
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "sealing a secret failed");
  }
  *out = box;
  *outlen = NONCE_LEN + len + TAG_LEN;
  return 0;
}

int byoca_aead_open(const unsigned char *key, const void *aad, size_t aadlen,
                    const void *box, size_t boxlen, struct byoca_secret *out,
                    struct byoca_err *err) {
  const unsigned char *b = box;
  EVP_CIPHER_CTX *ctx = NULL;
  unsigned char tag[TAG_LEN];
  int n = 0, fin = 0, ok = 0;
  out->data = NULL;
  out->len = 0;
  if (boxlen < NONCE_LEN + TAG_LEN || boxlen > (size_t)INT32_MAX ||
      aadlen > (size_t)INT32_MAX)
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "authentication failed: a sealed secret of %zu"
                         " bytes is malformed",
                         boxlen);
  size_t len = boxlen - NONCE_LEN - TAG_LEN;
  unsigned char *plain = malloc(len + 1);
  if (plain == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory opening a secret");
  memcpy(tag, b + NONCE_LEN + len, TAG_LEN);
  if ((ctx = gcm_init(0, key, b, aad, aadlen)) != NULL &&
      gcm_update(ctx, plain, b + NONCE_LEN, len, &n) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
      EVP_CipherFinal_ex(ctx, plain + n, &fin) == 1)
    ok = 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    OPENSSL_cleanse(plain, len + 1);
    free(plain);
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "authentication failed: the sealed secret does not"
                         " open with this key and context");
  }
  plain[len] = '\0';
  out->data = plain;
  out->len = len;
  return 0;
}

int byoca_ct_equal(const void *a, const void *b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}
