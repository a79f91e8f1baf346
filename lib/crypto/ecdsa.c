/* ECDSA signature forms: DER Ecdsa-Sig-Value (X.509, OpenSSL) <-> raw
 * r||s (JWS, RFC 7518 §3.4). */
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "crypto_int.h"

int ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t size,
                     unsigned char **out, size_t *outlen,
                     struct byoca_err *err) {
  const unsigned char *p = der;
  ECDSA_SIG *sig = NULL;
  const BIGNUM *r, *s;
  unsigned char *raw = NULL;
  int rc;

  if (derlen > 1024 || (sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL ||
      p != der + derlen) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "malformed ECDSA signature");
    goto out;
  }
  ECDSA_SIG_get0(sig, &r, &s);
  if ((size_t)BN_num_bytes(r) > size || (size_t)BN_num_bytes(s) > size) {
    rc = byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "ECDSA signature larger than the curve");
    goto out;
  }
  if ((raw = malloc(2 * size)) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  if (BN_bn2binpad(r, raw, (int)size) < 0 ||
      BN_bn2binpad(s, raw + size, (int)size) < 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode ECDSA signature");
    goto out;
  }
  *out = raw;
  *outlen = 2 * size;
  raw = NULL;
  rc = 0;
out:
  free(raw);
  ECDSA_SIG_free(sig);
  return rc;
}

int ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen,
                     unsigned char **out, size_t *outlen,
                     struct byoca_err *err) {
  size_t half = rawlen / 2;
  BIGNUM *r = NULL, *s = NULL;
  ECDSA_SIG *sig = NULL;
  unsigned char *der = NULL, *p;
  int n, rc;

  if (rawlen == 0 || rawlen % 2 != 0 || rawlen > 256)
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "malformed ECDSA signature");
  if ((r = BN_bin2bn(raw, (int)half, NULL)) == NULL ||
      (s = BN_bin2bn(raw + half, (int)half, NULL)) == NULL ||
      (sig = ECDSA_SIG_new()) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  if (ECDSA_SIG_set0(sig, r, s) != 1) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot build ECDSA signature");
    goto out;
  }
  r = s = NULL; /* owned by sig now */
  if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode ECDSA signature");
    goto out;
  }
  if ((der = malloc((size_t)n)) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  p = der;
  if (i2d_ECDSA_SIG(sig, &p) != n) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode ECDSA signature");
    goto out;
  }
  *out = der;
  *outlen = (size_t)n;
  der = NULL;
  rc = 0;
out:
  free(der);
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return rc;
}
