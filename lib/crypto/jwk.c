/* Public JWKs (RFC 7517, 7518 §6) in the canonical form of RFC 7638 §3.2
 * (required members only, lexicographic order, no whitespace), and their
 * thumbprints. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include "crypto_int.h"

/* base64url of a public-key BIGNUM parameter, left-padded to size bytes
 * (size 0: minimal big-endian form, no leading zero byte). */
static int bn_param_b64(const EVP_PKEY *pub, const char *param, size_t size,
                        char **out) {
  BIGNUM *bn = NULL;
  unsigned char *bin = NULL;
  size_t n;
  int rc = BYOCA_E_CRYPTO;

  if (EVP_PKEY_get_bn_param(pub, param, &bn) != 1)
    goto out;
  n = size != 0 ? size : (size_t)BN_num_bytes(bn);
  if (n == 0 || n > 1024 || (size_t)BN_num_bytes(bn) > n)
    goto out;
  if ((bin = malloc(n)) == NULL) {
    rc = BYOCA_E_NOMEM;
    goto out;
  }
  if (BN_bn2binpad(bn, bin, (int)n) != (int)n)
    goto out;
  rc = byoca_b64url_encode(bin, n, out);
out:
  ERR_clear_error();
  free(bin);
  BN_free(bn);
  return rc;
}

static int jwk_ec(const struct byoca_key *k, struct byoca_buf *b) {
  size_t size = key_ec_size(k->type);
  char *x = NULL, *y = NULL;
  int rc;

  if ((rc = bn_param_b64(k->pub, OSSL_PKEY_PARAM_EC_PUB_X, size, &x)) == 0 &&
      (rc = bn_param_b64(k->pub, OSSL_PKEY_PARAM_EC_PUB_Y, size, &y)) == 0)
    rc = byoca_buf_appendf(b,
                           "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\","
                           "\"y\":\"%s\"}",
                           size == 32 ? "P-256" : "P-384", x, y);
  free(x);
  free(y);
  return rc;
}

static int jwk_rsa(const struct byoca_key *k, struct byoca_buf *b) {
  char *n = NULL, *e = NULL;
  int rc;

  if ((rc = bn_param_b64(k->pub, OSSL_PKEY_PARAM_RSA_N, 0, &n)) == 0 &&
      (rc = bn_param_b64(k->pub, OSSL_PKEY_PARAM_RSA_E, 0, &e)) == 0)
    rc = byoca_buf_appendf(b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e,
                           n);
  free(n);
  free(e);
  return rc;
}

static int jwk_okp(const struct byoca_key *k, struct byoca_buf *b) {
  unsigned char raw[32];
  size_t len = sizeof(raw);
  char *x = NULL;
  int rc;

  if (EVP_PKEY_get_raw_public_key(k->pub, raw, &len) != 1 || len != 32) {
    ERR_clear_error();
    return BYOCA_E_CRYPTO;
  }
  if ((rc = byoca_b64url_encode(raw, len, &x)) == 0)
    rc = byoca_buf_appendf(
        b, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
  free(x);
  return rc;
}

int byoca_jwk_json(const struct byoca_key *k, char **out) {
  struct byoca_buf b;
  int rc;

  byoca_buf_init(&b, 8192);
  switch (k->type) {
  case BYOCA_KEY_EC256:
  case BYOCA_KEY_EC384:
    rc = jwk_ec(k, &b);
    break;
  case BYOCA_KEY_ED25519:
    rc = jwk_okp(k, &b);
    break;
  default:
    rc = jwk_rsa(k, &b);
    break;
  }
  if (rc == 0 && (*out = byoca_buf_steal(&b)) == NULL)
    rc = BYOCA_E_NOMEM;
  byoca_buf_free(&b);
  return rc;
}

int byoca_jwk_thumbprint(const struct byoca_key *k, char **out) {
  char *jwk = NULL;
  int rc;

  if ((rc = byoca_jwk_json(k, &jwk)) != 0)
    return rc;
  rc = byoca_sha256_b64url(jwk, strlen(jwk), out);
  free(jwk);
  return rc;
}
