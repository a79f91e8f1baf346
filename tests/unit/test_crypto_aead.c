/* Unit tests of the AES-256-GCM boxes of secrets at rest: the box layout
 * against a published GCM vector (McGrew & Viega test case 16), round
 * trips of many lengths, fresh nonces, and that a wrong key, wrong AAD,
 * any flipped byte or a truncated box fails with "authentication failed"
 * and leaves no plaintext; plus the constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/crypto.h"

static size_t unhex(const char *h, unsigned char *out) {
  size_t n = 0;
  for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
    char b[3] = {h[0], h[1], '\0'};
    out[n++] = (unsigned char)strtoul(b, NULL, 16);
  }
  return n;
}

static int contains(const unsigned char *h, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++)
    if (memcmp(h + i, needle, m) == 0)
      return 1;
  return 0;
}

/* The GCM spec's test case 16 (AES-256, 96-bit IV, with AAD). */
static const char tc16_key[] =
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char tc16_iv[] = "cafebabefacedbaddecaf888";
static const char tc16_pt[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char tc16_aad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char tc16_ct[] =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
static const char tc16_tag[] = "76fc6ece0f4e1768cddf8853bb2d551b";

static void test_known_box(void **state) {
  (void)state;
  unsigned char key[32], box[256], pt[128], aad[32];
  size_t boxlen = unhex(tc16_iv, box);
  boxlen += unhex(tc16_ct, box + boxlen);
  boxlen += unhex(tc16_tag, box + boxlen);
  assert_int_equal(unhex(tc16_key, key), 32);
  size_t ptlen = unhex(tc16_pt, pt), aadlen = unhex(tc16_aad, aad);
  struct byoca_secret out = {0};
  assert_int_equal(byoca_aead_open(key, aad, aadlen, box, boxlen, &out, NULL),
                   0);
  assert_int_equal(out.len, ptlen);
  assert_memory_equal(out.data, pt, ptlen);
  assert_int_equal(out.data[out.len], '\0'); /* usable as a string */
  byoca_secret_free(&out);
}

static void test_round_trips(void **state) {
  (void)state;
  unsigned char key[BYOCA_AEAD_KEY_LEN], plain[600];
  assert_int_equal(byoca_random(key, sizeof(key)), 0);
  assert_int_equal(byoca_random(plain, sizeof(plain)), 0);
  static const size_t lens[] = {0, 1, 15, 16, 17, 255, 600};
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    unsigned char *box = NULL;
    size_t n = 0;
    struct byoca_secret out = {0};
    assert_int_equal(
        byoca_aead_seal(key, "ctx", 3, plain, lens[i], &box, &n, NULL), 0);
    assert_int_equal(n, 12 + lens[i] + 16);
    assert_int_equal(byoca_aead_open(key, "ctx", 3, box, n, &out, NULL), 0);
    assert_int_equal(out.len, lens[i]);
    assert_non_null(out.data);
    if (lens[i] > 0)
      assert_memory_equal(out.data, plain, lens[i]);
    byoca_secret_free(&out);
    free(box);
  }
}

static void test_fresh_nonces(void **state) {
  (void)state;
  unsigned char key[32] = {7}, *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  assert_int_equal(byoca_aead_seal(key, NULL, 0, "same", 4, &a, &na, NULL), 0);
  assert_int_equal(byoca_aead_seal(key, NULL, 0, "same", 4, &b, &nb, NULL), 0);
  assert_int_equal(na, nb);
  assert_memory_not_equal(a, b, 12); /* nonces */
  assert_memory_not_equal(a, b, na); /* and so everything */
  free(a);
  free(b);
}

/* Opening must fail cleanly: BYOCA_E_CRYPTO, the message, no output. */
static void assert_open_fails(const unsigned char *key, const char *aad,
                              const unsigned char *box, size_t n) {
  struct byoca_secret out = {(unsigned char *)"x", 1};
  struct byoca_err err = {0};
  assert_int_equal(byoca_aead_open(key, aad, strlen(aad), box, n, &out, &err),
                   BYOCA_E_CRYPTO);
  assert_null(out.data);
  assert_int_equal(out.len, 0);
  assert_non_null(strstr(err.msg, "authentication failed"));
  byoca_err_clear(&err);
}

static void test_tampering_fails(void **state) {
  (void)state;
  unsigned char key[32], other[32], *box = NULL;
  const char *secret = "-----BEGIN PRIVATE KEY-----\nsecret";
  size_t n = 0;
  assert_int_equal(byoca_random(key, sizeof(key)), 0);
  memcpy(other, key, sizeof(key));
  other[31] ^= 0x80;
  assert_int_equal(byoca_aead_seal(key, "byoca:cert-key:1:2", 18, secret,
                                   strlen(secret), &box, &n, NULL),
                   0);
  assert_false(contains(box, n, "secret")); /* not in clear */
  assert_open_fails(other, "byoca:cert-key:1:2", box, n);
  assert_open_fails(key, "byoca:cert-key:1:3", box, n);
  assert_open_fails(key, "", box, n);
  for (size_t i = 0; i < n; i++) { /* nonce, ciphertext and tag bytes */
    box[i] ^= 0x01;
    assert_open_fails(key, "byoca:cert-key:1:2", box, n);
    box[i] ^= 0x01;
  }
  assert_open_fails(key, "byoca:cert-key:1:2", box, n - 1);
  assert_open_fails(key, "byoca:cert-key:1:2", box, 27); /* < nonce + tag */
  assert_open_fails(key, "byoca:cert-key:1:2", box, 0);
  struct byoca_secret out = {0};
  assert_int_equal(
      byoca_aead_open(key, "byoca:cert-key:1:2", 18, box, n, &out, NULL), 0);
  assert_string_equal((const char *)out.data, secret);
  byoca_secret_free(&out);
  free(box);
}

static void test_ct_equal(void **state) {
  (void)state;
  assert_true(byoca_ct_equal("abc", "abc", 3));
  assert_false(byoca_ct_equal("abc", "abd", 3));
  assert_false(byoca_ct_equal("xbc", "abc", 3));
  assert_true(byoca_ct_equal("a", "b", 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_box),
      cmocka_unit_test(test_round_trips),
      cmocka_unit_test(test_fresh_nonces),
      cmocka_unit_test(test_tampering_fails),
      cmocka_unit_test(test_ct_equal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
