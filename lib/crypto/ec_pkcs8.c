/* The PKCS#8 PEM of a P-256 or P-384 private key, built from the key's
 * parameters. PEM_write_bio_PrivateKey sets up an OpenSSL 3.0 encoder
 * chain (every provider's encoders and key managers are walked) for each
 * key: 4% of a certificate's client CPU in `byoca issue --batch`. The DER
 * here is what that encoder writes (RFC 5208 PrivateKeyInfo around an RFC
 * 5915 ECPrivateKey without parameters, with the public key); the unit
 * test compares the two byte for byte. Keys this does not cover exactly
 * (explicit curve parameters, no public key in the encoding, a compressed
 * point) are left to OpenSSL. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "crypto_int.h"

/* The fixed DER around the scalar and the point, per curve. */
struct ec_pkcs8_form {
  size_t scalar_len, point_len;
  const unsigned char *head; /* up to the scalar */
  size_t head_len;
  const unsigned char *mid; /* between the scalar and the point */
  size_t mid_len;
};

static const unsigned char p256_head[] = {
    0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
    0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20};
static const unsigned char p256_mid[] = {0xa1, 0x44, 0x03, 0x42, 0x00};

static const unsigned char p384_head[] = {
    0x30, 0x81, 0xb6, 0x02, 0x01, 0x00, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22,
    0x04, 0x81, 0x9e, 0x30, 0x81, 0x9b, 0x02, 0x01, 0x01, 0x04, 0x30};
static const unsigned char p384_mid[] = {0xa1, 0x64, 0x03, 0x62, 0x00};

static const struct ec_pkcs8_form forms[] = {
    {32, 65, p256_head, sizeof(p256_head), p256_mid, sizeof(p256_mid)},
    {48, 97, p384_head, sizeof(p384_head), p384_mid, sizeof(p384_mid)},
};

/* 1 if the key's encoding settings are OpenSSL's defaults: a named curve,
 * the public key included, an uncompressed point. */
static int default_encoding(EVP_PKEY *pkey) {
  char s[32];
  int incl = 1;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, s,
                                     sizeof(s), NULL) == 1 &&
      strcmp(s, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
    return 0;
  if (EVP_PKEY_get_utf8_string_param(pkey,
                                     OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     s, sizeof(s), NULL) == 1 &&
      strcmp(s, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0)
    return 0;
  if (EVP_PKEY_get_int_param(pkey, OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, &incl) ==
          1 &&
      incl == 0)
    return 0;
  return 1;
}

int crypto_ec_pkcs8_pem(EVP_PKEY *pkey, enum byoca_keytype type, BIO *bio) {
  const struct ec_pkcs8_form *f;
  unsigned char der[256], point[128];
  size_t point_len = 0, n = 0;
  BIGNUM *priv = NULL;
  int rc = 0;

  if (type == BYOCA_KEY_EC256)
    f = &forms[0];
  else if (type == BYOCA_KEY_EC384)
    f = &forms[1];
  else
    return 0;
  if (!default_encoding(pkey) ||
      EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
                                      sizeof(point), &point_len) != 1 ||
      point_len != f->point_len || point[0] != 0x04 ||
      EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1)
    goto out;
  memcpy(der, f->head, f->head_len);
  n = f->head_len;
  if (BN_bn2binpad(priv, der + n, (int)f->scalar_len) != (int)f->scalar_len)
    goto out;
  n += f->scalar_len;
  memcpy(der + n, f->mid, f->mid_len);
  n += f->mid_len;
  memcpy(der + n, point, point_len);
  n += point_len;
  rc = PEM_write_bio(bio, PEM_STRING_PKCS8INF, "", der, (long)n) > 0 ? 1 : -1;
out:
  OPENSSL_cleanse(der, sizeof(der));
  BN_clear_free(priv);
  return rc;
}
