/* base64url (RFC 4648 §5) as ACME uses it: unpadded encoding, strict
 * decoding (the canonical form only), and a lenient decoder for keys pasted
 * by users in either alphabet, with or without padding. Decoded output is
 * wiped on failure since it is often key material. */
#include <stdlib.h>
#include <string.h>

#include "byoca/util.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int byoca_b64url_encode(const void *data, size_t len, char **out) {
  const unsigned char *p = data;
  if (len > (SIZE_MAX - 4) / 4 * 3)
    return BYOCA_E_TOOBIG;
  char *s = malloc((len + 2) / 3 * 4 + 1);
  if (s == NULL)
    return BYOCA_E_NOMEM;
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    s[o++] = url_alphabet[v >> 18];
    s[o++] = url_alphabet[(v >> 12) & 63];
    s[o++] = url_alphabet[(v >> 6) & 63];
    s[o++] = url_alphabet[v & 63];
  }
  if (len - i == 1) {
    s[o++] = url_alphabet[p[i] >> 2];
    s[o++] = url_alphabet[(p[i] & 3) << 4];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
    s[o++] = url_alphabet[v >> 10];
    s[o++] = url_alphabet[(v >> 4) & 63];
    s[o++] = url_alphabet[(v & 15) << 2];
  }
  s[o] = '\0';
  *out = s;
  return 0;
}

/* Value of c in base64url, or -1; the standard alphabet's + and / too when
 * std is set. */
static int b64val(unsigned char c, int std) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-' || (std && c == '+'))
    return 62;
  if (c == '_' || (std && c == '/'))
    return 63;
  return -1;
}

/* Decodes n unpadded characters of s; any character outside the alphabet,
 * a length of 4k+1 or non-zero unused bits fail with BYOCA_E_INVAL. */
static int decode(const char *s, size_t n, int std, unsigned char **out,
                  size_t *outlen) {
  if (n % 4 == 1)
    return BYOCA_E_INVAL;
  size_t cap = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
  unsigned char *d = malloc(cap + 1);
  if (d == NULL)
    return BYOCA_E_NOMEM;
  uint32_t acc = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val((unsigned char)s[i], std);
    if (v < 0)
      goto bad;
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      d[o++] = (unsigned char)(acc >> 16);
      d[o++] = (unsigned char)(acc >> 8);
      d[o++] = (unsigned char)acc;
      acc = 0;
    }
  }
  if (n % 4 == 2) {
    if (acc & 0x0F)
      goto bad;
    d[o++] = (unsigned char)(acc >> 4);
  } else if (n % 4 == 3) {
    if (acc & 0x03)
      goto bad;
    d[o++] = (unsigned char)(acc >> 10);
    d[o++] = (unsigned char)(acc >> 2);
  }
  d[o] = '\0';
  *out = d;
  *outlen = o;
  return 0;
bad:
  explicit_bzero(d, cap + 1);
  free(d);
  return BYOCA_E_INVAL;
}

int byoca_b64url_decode(const char *s, size_t slen, unsigned char **out,
                        size_t *outlen) {
  return decode(s, slen, 0, out, outlen);
}

int byoca_b64url_valid(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s != '\0'; s++)
    if (b64val((unsigned char)*s, 0) < 0)
      return 0;
  return 1;
}

int byoca_b64any_decode(const char *s, size_t slen, unsigned char **out,
                        size_t *outlen) {
  size_t n = slen;
  while (n > 0 && s[n - 1] == '=')
    n--;
  /* Padding, when present, must be exactly what completes the last quad. */
  if (n != slen && (slen % 4 != 0 || slen - n > 2))
    return BYOCA_E_INVAL;
  return decode(s, n, 1, out, outlen);
}
