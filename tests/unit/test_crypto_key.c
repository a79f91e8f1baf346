/* Unit tests of keys: PEM round trips (PKCS#8 and traditional), refusal of
 * unsupported and encrypted keys with clear messages, public key forms and
 * loading from a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "byoca/crypto.h"
#include "crypto_int.h"

/* PEM text of pkey written by OpenSSL: traditional or PKCS#8, optionally
 * encrypted. Caller frees. */
static char *openssl_pem(EVP_PKEY *pkey, int traditional, int encrypted) {
  BIO *bio = BIO_new(BIO_s_mem());
  const EVP_CIPHER *enc = encrypted ? EVP_aes_256_cbc() : NULL;
  unsigned char pass[] = "secret";
  char *data = NULL;
  int ok;
  if (traditional)
    ok = PEM_write_bio_PrivateKey_traditional(
        bio, pkey, enc, encrypted ? pass : NULL, encrypted ? 6 : 0, NULL, NULL);
  else
    ok = PEM_write_bio_PrivateKey(bio, pkey, enc, encrypted ? pass : NULL,
                                  encrypted ? 6 : 0, NULL, NULL);
  assert_int_equal(ok, 1);
  long n = BIO_get_mem_data(bio, &data);
  char *s = strndup(data, (size_t)n);
  BIO_free(bio);
  return s;
}

static void test_pem_round_trip(void **state) {
  (void)state;
  const enum byoca_keytype types[] = {BYOCA_KEY_EC256, BYOCA_KEY_EC384,
                                      BYOCA_KEY_RSA2048, BYOCA_KEY_ED25519};
  for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
    struct byoca_key *k = NULL, *k2 = NULL;
    struct byoca_buf pem;
    struct byoca_err err = {0};
    char *jwk = NULL, *jwk2 = NULL, *jws = NULL;
    byoca_buf_init(&pem, 0);

    assert_int_equal(byoca_key_generate(types[i], &k, &err), 0);
    assert_int_equal(byoca_key_private_pem(k, &pem, &err), 0);
    assert_non_null(strstr(pem.data, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(byoca_key_load_pem(pem.data, pem.len, &k2, &err), 0);
    assert_int_equal(byoca_key_type(k2), types[i]);
    /* the EC-only decoder tried first leaves no error behind for others */
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(EVP_PKEY_eq(key_pub(k), key_pub(k2)), 1);
    assert_int_equal(byoca_jwk_json(k, &jwk), 0);
    assert_int_equal(byoca_jwk_json(k2, &jwk2), 0);
    assert_string_equal(jwk, jwk2);
    /* the loaded key signs what the original verifies */
    assert_int_equal(
        byoca_jws_acme(k2, "kid", "n", "https://x/", "{}", &jws, &err), 0);
    assert_int_equal(byoca_jws_verify(k, jws, NULL), 0);

    free(jws);
    free(jwk);
    free(jwk2);
    byoca_buf_free_secret(&pem);
    byoca_key_free(k);
    byoca_key_free(k2);
  }
}

static void test_traditional_pem(void **state) {
  (void)state;
  const char *alg[] = {"EC", "RSA"};
  for (size_t i = 0; i < 2; i++) {
    EVP_PKEY *pkey = i == 0
                         ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")
                         : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    char *pem = openssl_pem(pkey, 1, 0);
    char begin[64];
    snprintf(begin, sizeof(begin), "-----BEGIN %s PRIVATE KEY-----", alg[i]);
    assert_non_null(strstr(pem, begin));
    struct byoca_key *k = NULL;
    struct byoca_err err = {0};
    assert_int_equal(byoca_key_load_pem(pem, strlen(pem), &k, &err), 0);
    assert_int_equal(byoca_key_type(k),
                     i == 0 ? BYOCA_KEY_EC384 : BYOCA_KEY_RSA3072);
    assert_int_equal(EVP_PKEY_eq(key_pub(k), pkey), 1);
    byoca_key_free(k);
    EVP_PKEY_free(pkey);
    free(pem);
  }
}

static void expect_refused(EVP_PKEY *pkey, const char *msg) {
  char *pem = openssl_pem(pkey, 0, 0);
  struct byoca_key *k = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_key_load_pem(pem, strlen(pem), &k, &err),
                   BYOCA_E_INVAL);
  assert_null(k);
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(err.msg, msg));
  byoca_err_clear(&err);
  free(pem);
  EVP_PKEY_free(pkey);
}

static void test_unsupported_keys(void **state) {
  (void)state;
  expect_refused(EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024),
                 "unsupported key: RSA 1024");
  expect_refused(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"),
                 "unsupported key: EC secp521r1");
  expect_refused(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"),
                 "unsupported key: EC secp256k1");
  expect_refused(EVP_PKEY_Q_keygen(NULL, NULL, "ED448"),
                 "unsupported key: ED448");
  expect_refused(EVP_PKEY_Q_keygen(NULL, NULL, "X25519"),
                 "unsupported key: X25519");
}

static void test_bad_pem(void **state) {
  (void)state;
  struct byoca_key *k = NULL;
  struct byoca_err err = {0};
  const char *junk = "-----BEGIN PRIVATE KEY-----\nnot base64!\n"
                     "-----END PRIVATE KEY-----\n";
  assert_int_equal(byoca_key_load_pem(junk, strlen(junk), &k, &err),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(err.msg, "cannot read private key"));
  assert_int_equal(err.origin, BYOCA_ORIGIN_OPENSSL);
  byoca_err_clear(&err);
  assert_int_equal(byoca_key_load_pem("", 0, &k, &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_null(k);

  /* encrypted keys, in both PEM forms, never prompt and are refused */
  for (int trad = 0; trad < 2; trad++) {
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *pem = openssl_pem(pkey, trad, 1);
    assert_int_equal(byoca_key_load_pem(pem, strlen(pem), &k, &err),
                     BYOCA_E_INVAL);
    assert_string_equal(err.msg, "encrypted private keys are not supported");
    byoca_err_clear(&err);
    free(pem);
    EVP_PKEY_free(pkey);
  }
}

static void test_public_forms(void **state) {
  (void)state;
  struct byoca_key *k = NULL;
  char *pem = NULL, hex[65];
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &k, NULL), 0);
  assert_int_equal(byoca_key_public_pem(k, &pem), 0);
  assert_true(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
  assert_null(strstr(pem, "PRIVATE"));

  /* SHA-256 over the DER SubjectPublicKeyInfo */
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  unsigned char *der = NULL, md[32];
  int n = i2d_PUBKEY(pub, &der);
  char want[65];
  assert_int_equal(byoca_sha256(der, (size_t)n, md), 0);
  for (size_t i = 0; i < 32; i++)
    snprintf(want + 2 * i, 3, "%02x", md[i]);
  assert_int_equal(byoca_key_public_sha256(k, hex), 0);
  assert_string_equal(hex, want);

  OPENSSL_free(der);
  EVP_PKEY_free(pub);
  BIO_free(bio);
  free(pem);
  byoca_key_free(k);
  byoca_key_free(NULL);
}

static void test_private_pem_cap(void **state) {
  (void)state;
  struct byoca_key *k = NULL;
  struct byoca_buf pem;
  struct byoca_err err = {0};
  byoca_buf_init(&pem, 16);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_ED25519, &k, NULL), 0);
  assert_int_equal(byoca_key_private_pem(k, &pem, &err), BYOCA_E_TOOBIG);
  byoca_err_clear(&err);
  byoca_buf_free_secret(&pem);
  byoca_key_free(k);
}

/* What crypto_ec_pkcs8_pem wrote for pkey (NULL: it declined). */
static char *fast_pem(EVP_PKEY *pkey, enum byoca_keytype t) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL, *s = NULL;
  int rc = crypto_ec_pkcs8_pem(pkey, t, bio);
  assert_true(rc >= 0);
  long n = BIO_get_mem_data(bio, &data);
  if (rc == 1)
    s = strndup(data, (size_t)n);
  else
    assert_int_equal(n, 0); /* declined: nothing written */
  BIO_free(bio);
  return s;
}

/* The PKCS#8 PEM of P-256 and P-384 keys built without OpenSSL's encoder
 * is byte for byte OpenSSL's, for many keys (a scalar with leading zero
 * bytes among them); keys encoded otherwise (no public key, compressed
 * point, explicit parameters) are left to OpenSSL or match it too. */
static void test_ec_pkcs8_matches_openssl(void **state) {
  (void)state;
  const struct {
    const char *curve;
    enum byoca_keytype t;
  } c[] = {{"P-256", BYOCA_KEY_EC256}, {"P-384", BYOCA_KEY_EC384}};
  for (size_t i = 0; i < 2; i++)
    for (int round = 0; round < 300; round++) {
      EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", c[i].curve);
      assert_non_null(pkey);
      char *want = openssl_pem(pkey, 0, 0), *got = fast_pem(pkey, c[i].t);
      assert_non_null(got);
      assert_string_equal(got, want);
      free(got);
      free(want);
      if (round < 3) {
        /* another curve's type: declined or the same bytes, never wrong */
        got = fast_pem(pkey, c[1 - i].t);
        assert_null(got);
        assert_null(fast_pem(pkey, BYOCA_KEY_ED25519));
        const char *set[][2] = {
            {OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
             OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED},
            {OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT}};
        EVP_PKEY *k2 = EVP_PKEY_dup(pkey);
        if (round == 0)
          assert_int_equal(
              EVP_PKEY_set_int_param(k2, OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, 0),
              1);
        else
          assert_int_equal(EVP_PKEY_set_utf8_string_param(k2, set[round - 1][0],
                                                          set[round - 1][1]),
                           1);
        want = openssl_pem(k2, 0, 0);
        got = fast_pem(k2, c[i].t);
        if (got != NULL)
          assert_string_equal(got, want);
        free(got);
        free(want);
        EVP_PKEY_free(k2);
      }
      EVP_PKEY_free(pkey);
    }
}

static void test_load_file(void **state) {
  (void)state;
  char path[] = "/tmp/byoca-test-key-XXXXXX";
  int fd = mkstemp(path);
  struct byoca_key *k = NULL, *k2 = NULL;
  struct byoca_buf pem;
  struct byoca_err err = {0};
  byoca_buf_init(&pem, 0);
  assert_true(fd >= 0);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &k, NULL), 0);
  assert_int_equal(byoca_key_private_pem(k, &pem, NULL), 0);
  assert_int_equal(write(fd, pem.data, pem.len), (ssize_t)pem.len);
  close(fd);
  assert_int_equal(byoca_key_load_file(path, &k2, &err), 0);
  char *a = NULL, *b = NULL;
  assert_int_equal(byoca_jwk_thumbprint(k, &a), 0);
  assert_int_equal(byoca_jwk_thumbprint(k2, &b), 0);
  assert_string_equal(a, b);
  free(a);
  free(b);
  byoca_key_free(k2);

  /* a file that is not a key: the error names the path */
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_int_equal(write(fd, "hello\n", 6), 6);
  close(fd);
  assert_int_not_equal(byoca_key_load_file(path, &k2, &err), 0);
  assert_non_null(strstr(err.msg, path));
  byoca_err_clear(&err);
  unlink(path);
  assert_int_not_equal(byoca_key_load_file(path, &k2, &err), 0);
  byoca_err_clear(&err);

  byoca_buf_free_secret(&pem);
  byoca_key_free(k);
}

static void test_keytype_names(void **state) {
  (void)state;
  enum byoca_keytype t;
  const char *ok[][2] = {{"ec256", "ec256"},     {"EC-P256", "ec256"},
                         {"p256", "ec256"},      {"ec-p384", "ec384"},
                         {"rsa3072", "rsa3072"}, {"Ed25519", "ed25519"}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    assert_int_equal(byoca_keytype_parse(ok[i][0], &t), 0);
    assert_string_equal(byoca_keytype_name(t), ok[i][1]);
  }
  assert_int_equal(byoca_keytype_parse("rsa1024", &t), BYOCA_E_INVAL);
  assert_int_equal(byoca_keytype_parse("ec-p521", &t), BYOCA_E_INVAL);
  assert_int_equal(byoca_keytype_parse(NULL, &t), BYOCA_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pem_round_trip),
      cmocka_unit_test(test_traditional_pem),
      cmocka_unit_test(test_unsupported_keys),
      cmocka_unit_test(test_bad_pem),
      cmocka_unit_test(test_public_forms),
      cmocka_unit_test(test_private_pem_cap),
      cmocka_unit_test(test_ec_pkcs8_matches_openssl),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_keytype_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
