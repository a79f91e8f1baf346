/* Unit tests of base64url: RFC 4648 §10 vectors (url alphabet), round trips
 * of every length 0..300, every strict-decoder rejection, nonce validity,
 * and the lenient decoder for pasted EAB keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/util.h"

struct vec {
  const char *plain;
  size_t len;
  const char *enc;
};

/* RFC 4648 §10, plus bytes that land on the url alphabet's - and _. */
static const struct vec vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xef\xff", 3, "--__"},
    {"\xfb\xff", 2, "-_8"},
    {"\xff", 1, "_w"},
    {"\x00\x00\x00", 3, "AAAA"},
};

static void test_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++) {
    const struct vec *v = &vectors[i];
    char *enc = NULL;
    unsigned char *dec = NULL;
    size_t declen = 99;
    assert_int_equal(byoca_b64url_encode(v->plain, v->len, &enc), 0);
    assert_string_equal(enc, v->enc);
    assert_int_equal(byoca_b64url_decode(v->enc, strlen(v->enc), &dec, &declen),
                     0);
    assert_int_equal(declen, v->len);
    assert_memory_equal(dec, v->plain, v->len);
    assert_int_equal(dec[declen], '\0');
    free(enc);
    free(dec);
  }
}

/* xorshift64: deterministic test data (rand is banned). */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_round_trip(void **state) {
  (void)state;
  uint64_t seed = 0x9E3779B97F4A7C15u;
  unsigned char data[300];
  for (size_t len = 0; len <= sizeof(data); len++) {
    for (size_t i = 0; i < len; i++)
      data[i] = (unsigned char)rng_next(&seed);
    char *enc = NULL;
    unsigned char *dec = NULL;
    size_t declen = 0;
    assert_int_equal(byoca_b64url_encode(data, len, &enc), 0);
    assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
    assert_true(len == 0 || byoca_b64url_valid(enc));
    assert_int_equal(byoca_b64url_decode(enc, strlen(enc), &dec, &declen), 0);
    assert_int_equal(declen, len);
    assert_memory_equal(dec, data, len);
    free(dec);
    dec = NULL;
    /* The lenient decoder agrees on canonical input. */
    assert_int_equal(byoca_b64any_decode(enc, strlen(enc), &dec, &declen), 0);
    assert_int_equal(declen, len);
    assert_memory_equal(dec, data, len);
    free(dec);
    free(enc);
  }
}

struct bad {
  const char *s;
  size_t len; /* 0: strlen */
  const char *why;
};

static const struct bad strict_bad[] = {
    {"Zg==", 0, "padding"},
    {"Zg=", 0, "partial padding"},
    {"Zm9vYg==", 0, "padding after a full quad"},
    {"=", 0, "only padding"},
    {"Z", 0, "length 4k+1"},
    {"Zm9vY", 0, "length 4k+1 after a quad"},
    {"Zh", 0, "non-zero unused bits (2 chars)"},
    {"Zm8", 0, NULL}, /* canonical "fo": must pass */
    {"Zm9", 0, "non-zero unused bits (3 chars)"},
    {"Zm-", 0, "non-zero unused bits (3 chars, url alphabet)"},
    {"Zg", 0, NULL}, /* canonical "f": must pass */
    {"Zm+v", 0, "standard alphabet +"},
    {"Zm/v", 0, "standard alphabet /"},
    {"Zm 9v", 0, "space inside"},
    {"Zm9v\n", 0, "trailing newline"},
    {" Zm9v", 0, "leading space"},
    {"Zm9v\0Yg", 7, "NUL inside"},
    {"Zm9\xc3\xa9", 0, "non-ASCII"},
    {"Zm9v.", 0, "dot"},
};

static void test_strict_rejects(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(strict_bad) / sizeof(*strict_bad); i++) {
    const struct bad *b = &strict_bad[i];
    unsigned char *dec = (unsigned char *)"untouched";
    size_t declen = 12345;
    size_t len = b->len != 0 ? b->len : strlen(b->s);
    int rc = byoca_b64url_decode(b->s, len, &dec, &declen);
    if (b->why == NULL) {
      assert_int_equal(rc, 0);
      free(dec);
      continue;
    }
    if (rc != BYOCA_E_INVAL)
      fail_msg("accepted (%s): %s", b->why, b->s);
    assert_string_equal((const char *)dec, "untouched");
    assert_int_equal(declen, 12345);
  }
}

static void test_decode_uses_slen(void **state) {
  (void)state;
  unsigned char *dec = NULL;
  size_t declen = 0;
  /* Only the first 4 characters count; the rest is not looked at. */
  assert_int_equal(byoca_b64url_decode("Zm9v!!!", 4, &dec, &declen), 0);
  assert_int_equal(declen, 3);
  assert_memory_equal(dec, "foo", 3);
  free(dec);
}

static void test_valid(void **state) {
  (void)state;
  assert_true(byoca_b64url_valid("oFvnlFP1wIhRlYS2jTaXbA"));
  assert_true(byoca_b64url_valid("-_-_"));
  assert_true(byoca_b64url_valid("Z")); /* charset only, as for nonces */
  assert_false(byoca_b64url_valid(""));
  assert_false(byoca_b64url_valid(NULL));
  assert_false(byoca_b64url_valid("abc="));
  assert_false(byoca_b64url_valid("ab+c"));
  assert_false(byoca_b64url_valid("ab c"));
  assert_false(byoca_b64url_valid("ab\n"));
}

struct anyvec {
  const char *in;
  int ok;
  const char *plain;
  size_t len;
};

static const struct anyvec any_vectors[] = {
    {"Zm9vYg==", 1, "foob", 4},
    {"Zm9vYg", 1, "foob", 4},
    {"Zm9vYmE=", 1, "fooba", 5},
    {"Zm9vYmE", 1, "fooba", 5},
    {"Zm9vYmFy", 1, "foobar", 6},
    {"++//", 1, "\xfb\xef\xff", 3},
    {"--__", 1, "\xfb\xef\xff", 3},
    {"+-/_", 1, "\xfb\xef\xff", 3},
    {"+/8=", 1, "\xfb\xff", 2},
    {"", 1, "", 0},
    {"Zg=", 0, NULL, 0},   /* padding that does not complete a quad */
    {"Zg===", 0, NULL, 0}, /* too much padding */
    {"Z===", 0, NULL, 0},  /* 4k+1 data characters */
    {"====", 0, NULL, 0},
    {"=", 0, NULL, 0},
    {"Zm9v=", 0, NULL, 0},     /* padding after a full quad */
    {"Zg==Zg==", 0, NULL, 0},  /* padding in the middle */
    {"Zh==", 0, NULL, 0},      /* non-zero unused bits */
    {"Zm9v Yg==", 0, NULL, 0}, /* space */
    {"Zm9v*", 0, NULL, 0},
};

static void test_any(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(any_vectors) / sizeof(*any_vectors); i++) {
    const struct anyvec *v = &any_vectors[i];
    unsigned char *dec = NULL;
    size_t declen = 0;
    int rc = byoca_b64any_decode(v->in, strlen(v->in), &dec, &declen);
    if (!v->ok) {
      if (rc != BYOCA_E_INVAL)
        fail_msg("b64any accepted '%s'", v->in);
      assert_null(dec);
      continue;
    }
    if (rc != 0)
      fail_msg("b64any refused '%s'", v->in);
    assert_int_equal(declen, v->len);
    assert_memory_equal(dec, v->plain, v->len);
    free(dec);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_strict_rejects),
      cmocka_unit_test(test_decode_uses_slen),
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_any),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
