/* Unit tests of JWK, JWS and EAB: the RFC 7638 §3.1 thumbprint vector,
 * sign/verify round trips for every key type, tamper detection, JWS
 * signature sizes, the ACME protected header, External Account Binding
 * checked against OpenSSL's HMAC, and the hash helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "byoca/crypto.h"
#include "crypto_int.h"

#define NTYPES 6
static const enum byoca_keytype all_types[NTYPES] = {
    BYOCA_KEY_EC256,   BYOCA_KEY_EC384,   BYOCA_KEY_RSA2048,
    BYOCA_KEY_RSA3072, BYOCA_KEY_RSA4096, BYOCA_KEY_ED25519,
};

/* One key per type, generated once for the whole file (RSA is slow). */
static struct byoca_key *keys[NTYPES];

static int setup_keys(void **state) {
  (void)state;
  for (size_t i = 0; i < NTYPES; i++) {
    struct byoca_err err = {0};
    if (byoca_key_generate(all_types[i], &keys[i], &err) != 0)
      return -1;
  }
  return 0;
}

static int teardown_keys(void **state) {
  (void)state;
  for (size_t i = 0; i < NTYPES; i++) {
    byoca_key_free(keys[i]);
    keys[i] = NULL;
  }
  return 0;
}

static unsigned char *unb64(const char *s, size_t *len) {
  unsigned char *out = NULL;
  if (*s == '\0') {
    *len = 0;
    return calloc(1, 1);
  }
  assert_int_equal(byoca_b64url_decode(s, strlen(s), &out, len), 0);
  return out;
}

/* Builds a public-only RSA key from base64url n and e (RFC 7518 §6.3.1). */
static struct byoca_key *rsa_from_ne(const char *n64, const char *e64) {
  size_t nlen, elen;
  unsigned char *n = unb64(n64, &nlen), *e = unb64(e64, &elen);
  BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL),
         *be = BN_bin2bn(e, (int)elen, NULL);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  EVP_PKEY *pkey = NULL;
  struct byoca_key *k = NULL;
  struct byoca_err err = {0};

  assert_non_null(bld);
  assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn), 1);
  assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be), 1);
  assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
  assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
  assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params),
                   1);
  assert_int_equal(signer_default_new(pkey, &k, &err), 0);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  free(n);
  free(e);
  return k;
}

static void test_rfc7638_thumbprint(void **state) {
  (void)state;
  const char *n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7"
      "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
      "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
      "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF"
      "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  struct byoca_key *k = rsa_from_ne(n, "AQAB");
  char *jwk = NULL, *tp = NULL;

  assert_int_equal(byoca_key_type(k), BYOCA_KEY_RSA2048);
  assert_int_equal(byoca_jwk_json(k, &jwk), 0);
  char *want =
      byoca_asprintf("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}", n);
  assert_string_equal(jwk, want);
  assert_int_equal(byoca_jwk_thumbprint(k, &tp), 0);
  assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

  /* a public-only key cannot sign */
  char *jws = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_jws_sign(k, "{}", "", &jws, &err), BYOCA_E_CRYPTO);
  assert_null(jws);
  byoca_err_clear(&err);
  free(want);
  free(jwk);
  free(tp);
  byoca_key_free(k);
}

/* The JWK has exactly the required members, in order, with fixed-size EC
 * coordinates. */
static void test_jwk_shapes(void **state) {
  (void)state;
  for (size_t i = 0; i < NTYPES; i++) {
    char *jwk = NULL;
    assert_int_equal(byoca_jwk_json(keys[i], &jwk), 0);
    assert_null(strchr(jwk, ' '));
    json_t *j = json_loads(jwk, 0, NULL);
    assert_non_null(j);
    const char *kty = json_string_value(json_object_get(j, "kty"));
    size_t len = 0;
    unsigned char *raw;
    switch (all_types[i]) {
    case BYOCA_KEY_EC256:
    case BYOCA_KEY_EC384: {
      size_t sz = all_types[i] == BYOCA_KEY_EC256 ? 32 : 48;
      assert_string_equal(kty, "EC");
      assert_int_equal(json_object_size(j), 4);
      assert_true(strncmp(jwk, "{\"crv\":\"P-", 10) == 0);
      raw = unb64(json_string_value(json_object_get(j, "x")), &len);
      assert_int_equal(len, sz);
      free(raw);
      raw = unb64(json_string_value(json_object_get(j, "y")), &len);
      assert_int_equal(len, sz);
      free(raw);
      break;
    }
    case BYOCA_KEY_ED25519:
      assert_string_equal(kty, "OKP");
      assert_true(strncmp(jwk, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"",
                          33) == 0);
      raw = unb64(json_string_value(json_object_get(j, "x")), &len);
      assert_int_equal(len, 32);
      free(raw);
      break;
    default:
      assert_string_equal(kty, "RSA");
      assert_true(
          strncmp(jwk, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"", 29) == 0);
      raw = unb64(json_string_value(json_object_get(j, "n")), &len);
      assert_true(len == 256 || len == 384 || len == 512);
      assert_true(raw[0] != 0);
      free(raw);
      break;
    }
    json_decref(j);
    free(jwk);
  }
}

/* Replaces member name of the flattened JWS with value. */
static char *jws_with(const char *jws, const char *name, const char *value) {
  json_t *j = json_loads(jws, 0, NULL);
  assert_non_null(j);
  assert_int_equal(json_object_set_new(j, name, json_string(value)), 0);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

static void test_jws_round_trip(void **state) {
  (void)state;
  const char *payload = "{\"termsOfServiceAgreed\":true}";
  for (size_t i = 0; i < NTYPES; i++) {
    char *jws = NULL, *got = NULL, *bad;
    struct byoca_err err = {0};
    assert_int_equal(byoca_jws_acme(keys[i], NULL, "nonce-1",
                                    "https://ca.test/new-acct", payload, &jws,
                                    &err),
                     0);
    assert_int_equal(byoca_jws_verify(keys[i], jws, &got), 0);
    assert_string_equal(got, payload);
    free(got);

    /* another payload under the same signature */
    bad = jws_with(jws, "payload", "eyJ4IjoyfQ");
    assert_int_equal(byoca_jws_verify(keys[i], bad, NULL), BYOCA_E_CRYPTO);
    free(bad);
    /* a flipped signature character */
    json_t *j = json_loads(jws, 0, NULL);
    char *sig = strdup(json_string_value(json_object_get(j, "signature")));
    sig[3] = sig[3] == 'A' ? 'B' : 'A';
    bad = jws_with(jws, "signature", sig);
    assert_int_equal(byoca_jws_verify(keys[i], bad, NULL), BYOCA_E_CRYPTO);
    free(bad);
    free(sig);
    json_decref(j);
    /* the right signature, checked with another key */
    assert_int_equal(byoca_jws_verify(keys[(i + 1) % NTYPES], jws, NULL),
                     BYOCA_E_CRYPTO);
    free(jws);
  }
}

/* A key that signs again copies a prepared signing context: every
 * signature of a series verifies, for every key type. */
static void test_jws_repeated(void **state) {
  (void)state;
  for (size_t i = 0; i < NTYPES; i++)
    for (int round = 0; round < 4; round++) {
      char *jws = NULL, *got = NULL;
      char payload[32];
      snprintf(payload, sizeof(payload), "{\"n\":%d}", round);
      assert_int_equal(byoca_jws_acme(keys[i], NULL, "nonce-1",
                                      "https://ca.test/new-acct", payload, &jws,
                                      NULL),
                       0);
      assert_int_equal(byoca_jws_verify(keys[i], jws, &got), 0);
      assert_string_equal(got, payload);
      free(got);
      free(jws);
    }
}

static void test_jws_signature_sizes(void **state) {
  (void)state;
  const size_t want[NTYPES] = {64, 96, 256, 384, 512, 64};
  for (size_t i = 0; i < NTYPES; i++) {
    char *jws = NULL;
    size_t len = 0;
    assert_int_equal(
        byoca_jws_sign(keys[i], "{\"alg\":\"x\"}", "p", &jws, NULL), 0);
    json_t *j = json_loads(jws, 0, NULL);
    unsigned char *sig =
        unb64(json_string_value(json_object_get(j, "signature")), &len);
    assert_int_equal(len, want[i]);
    free(sig);
    json_decref(j);
    free(jws);
  }
}

static void test_jws_acme_header(void **state) {
  (void)state;
  struct byoca_key *k = keys[0];
  char *jws = NULL, *jwk = NULL;
  size_t len;
  assert_int_equal(byoca_jwk_json(k, &jwk), 0);

  /* jwk form, with nonce */
  assert_int_equal(
      byoca_jws_acme(k, NULL, "abc", "https://ca.test/x", "{}", &jws, NULL), 0);
  json_t *j = json_loads(jws, 0, NULL);
  assert_int_equal(json_object_size(j), 3);
  unsigned char *h =
      unb64(json_string_value(json_object_get(j, "protected")), &len);
  json_t *hdr = json_loadb((const char *)h, len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
  assert_string_equal(json_string_value(json_object_get(hdr, "nonce")), "abc");
  assert_string_equal(json_string_value(json_object_get(hdr, "url")),
                      "https://ca.test/x");
  assert_null(json_object_get(hdr, "kid"));
  char *embedded =
      json_dumps(json_object_get(hdr, "jwk"), JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(embedded, jwk);
  free(embedded);
  json_decref(hdr);
  json_decref(j);
  free(h);
  free(jws);

  /* kid form, no nonce (keyChange inner JWS), POST-as-GET payload */
  assert_int_equal(byoca_jws_acme(keys[5], "https://ca.test/acct/1", NULL,
                                  "https://ca.test/order/2", "", &jws, NULL),
                   0);
  j = json_loads(jws, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "payload")), "");
  h = unb64(json_string_value(json_object_get(j, "protected")), &len);
  hdr = json_loadb((const char *)h, len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "EdDSA");
  assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
                      "https://ca.test/acct/1");
  assert_null(json_object_get(hdr, "jwk"));
  assert_null(json_object_get(hdr, "nonce"));
  char *got = NULL;
  assert_int_equal(byoca_jws_verify(keys[5], jws, &got), 0);
  assert_string_equal(got, "");
  free(got);
  json_decref(hdr);
  json_decref(j);
  free(h);
  free(jws);
  free(jwk);
}

static void test_jws_verify_rejects(void **state) {
  (void)state;
  char *jws = NULL;
  assert_int_equal(
      byoca_jws_acme(keys[0], NULL, "n", "https://ca.test/", "{}", &jws, NULL),
      0);
  /* a header claiming another algorithm is refused */
  char *other = jws_with(jws, "protected", "eyJhbGciOiJub25lIn0");
  assert_int_equal(byoca_jws_verify(keys[0], other, NULL), BYOCA_E_CRYPTO);
  free(other);
  const char *garbage[] = {"", "{}", "[]", "{\"protected\":1}", "not json"};
  for (size_t i = 0; i < sizeof(garbage) / sizeof(*garbage); i++)
    assert_int_equal(byoca_jws_verify(keys[0], garbage[i], NULL),
                     BYOCA_E_CRYPTO);
  free(jws);
}

static void test_eab(void **state) {
  (void)state;
  unsigned char mac_key[32];
  struct byoca_secret hmac = {mac_key, sizeof(mac_key)};
  struct byoca_err err = {0};
  char *eab = NULL, *jwk = NULL;
  size_t len = 0;

  assert_int_equal(byoca_random(mac_key, sizeof(mac_key)), 0);
  assert_int_equal(byoca_eab_jws(keys[2], "kid-123", &hmac,
                                 "https://ca.test/new-account", &eab, &err),
                   0);
  assert_int_equal(byoca_jwk_json(keys[2], &jwk), 0);
  json_t *j = json_loads(eab, 0, NULL);
  assert_non_null(j);
  const char *p64 = json_string_value(json_object_get(j, "protected"));
  const char *pl64 = json_string_value(json_object_get(j, "payload"));
  const char *s64 = json_string_value(json_object_get(j, "signature"));

  unsigned char *hdr = unb64(p64, &len);
  assert_string_equal((char *)hdr, "{\"alg\":\"HS256\",\"kid\":\"kid-123\","
                                   "\"url\":\"https://ca.test/new-account\"}");
  free(hdr);
  unsigned char *payload = unb64(pl64, &len);
  assert_string_equal((char *)payload, jwk);
  free(payload);

  /* recompute the MAC with OpenSSL directly */
  char *input = byoca_asprintf("%s.%s", p64, pl64);
  unsigned char want[32];
  size_t wantlen = 0;
  assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mac_key,
                            sizeof(mac_key), (unsigned char *)input,
                            strlen(input), want, sizeof(want), &wantlen));
  unsigned char *sig = unb64(s64, &len);
  assert_int_equal(len, 32);
  assert_memory_equal(sig, want, 32);
  free(sig);
  free(input);
  json_decref(j);
  free(eab);
  free(jwk);

  /* an empty key is refused */
  struct byoca_secret empty = {mac_key, 0};
  eab = NULL;
  assert_int_equal(
      byoca_eab_jws(keys[2], "kid-123", &empty, "https://x/", &eab, &err),
      BYOCA_E_INVAL);
  assert_null(eab);
  byoca_err_clear(&err);
}

static void test_hashes(void **state) {
  (void)state;
  unsigned char md[32];
  char *s = NULL;
  /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
  static const unsigned char abc[32] = {
      0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
      0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
      0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  assert_int_equal(byoca_sha256("abc", 3, md), 0);
  assert_memory_equal(md, abc, 32);
  assert_int_equal(byoca_sha256_b64url("abc", 3, &s), 0);
  assert_string_equal(s, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  free(s);

  unsigned char a[32] = {0}, b[32] = {0};
  assert_int_equal(byoca_random(a, sizeof(a)), 0);
  assert_int_equal(byoca_random(b, sizeof(b)), 0);
  assert_memory_not_equal(a, b, sizeof(a));
  assert_int_equal(byoca_random(a, 0), 0);
}

static void test_keytype_names(void **state) {
  (void)state;
  const char *names[NTYPES] = {"ec256",   "ec384",   "rsa2048",
                               "rsa3072", "rsa4096", "ed25519"};
  const char *algs[NTYPES] = {"ES256", "ES384", "RS256",
                              "RS256", "RS256", "EdDSA"};
  for (size_t i = 0; i < NTYPES; i++) {
    enum byoca_keytype t;
    assert_int_equal(byoca_keytype_parse(names[i], &t), 0);
    assert_int_equal(t, all_types[i]);
    assert_string_equal(byoca_keytype_name(all_types[i]), names[i]);
    assert_int_equal(byoca_key_type(keys[i]), all_types[i]);
    assert_string_equal(byoca_key_alg(keys[i]), algs[i]);
  }
  enum byoca_keytype t;
  assert_int_equal(byoca_keytype_parse("rsa1024", &t), BYOCA_E_INVAL);
  assert_int_equal(byoca_keytype_parse("", &t), BYOCA_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc7638_thumbprint),
      cmocka_unit_test(test_jwk_shapes),
      cmocka_unit_test(test_jws_round_trip),
      cmocka_unit_test(test_jws_signature_sizes),
      cmocka_unit_test(test_jws_acme_header),
      cmocka_unit_test(test_jws_verify_rejects),
      cmocka_unit_test(test_jws_repeated),
      cmocka_unit_test(test_eab),
      cmocka_unit_test(test_hashes),
      cmocka_unit_test(test_keytype_names),
  };
  return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
