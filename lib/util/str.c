/* String helpers: allocation, bounded copy, integer parsing, and the
 * sanitising of untrusted text (server details, names) before it reaches a
 * terminal or a log: control characters, C1, bidi overrides and invalid
 * UTF-8 never pass through. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/util.h"
#include "util_int.h"

char *byoca_strdup(const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

char *byoca_asprintf(const char *fmt, ...) {
  /* Formatted once into a stack buffer, which holds most results: glibc's
   * size-only pass (vsnprintf(NULL, 0)) flushes a small scratch buffer
   * every few bytes and costs more than formatting twice. */
  char small[512];
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  char *s = NULL;
  if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
    if ((size_t)n < sizeof(small)) {
      memcpy(s, small, (size_t)n + 1);
    } else if (vsnprintf(s, (size_t)n + 1, fmt, ap2) != n) {
      free(s);
      s = NULL;
    }
  }
  va_end(ap2);
  explicit_bzero(small, sizeof(small)); /* it may have held a secret */
  return s;
}

size_t byoca_strlcpy(char *dst, const char *src, size_t n) {
  size_t len = strlen(src);
  if (n > 0) {
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(dst, src, c);
    dst[c] = '\0';
  }
  return len;
}

size_t util_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
  if (n == 0)
    return 0;
  unsigned c = p[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0; /* continuation byte, C0/C1 overlong lead, F5-FF */
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (p[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

int util_cp_unsafe(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

void byoca_str_sanitize(const char *s, char *out, size_t outlen) {
  if (outlen == 0)
    return;
  size_t pos = 0;
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t n = strlen((const char *)p);
  while (n > 0 && pos < outlen - 1) {
    uint32_t cp;
    size_t len = util_utf8_decode(p, n, &cp);
    if (len == 0 || util_cp_unsafe(cp)) {
      out[pos++] = (len != 0 && cp == '\t') ? ' ' : '?';
      len = len == 0 ? 1 : len;
    } else {
      if (pos + len > outlen - 1)
        break; /* never cut a multi-byte sequence */
      memcpy(out + pos, p, len);
      pos += len;
    }
    p += len;
    n -= len;
  }
  out[pos] = '\0';
}

size_t util_str_escape(const char *s, char *out, size_t outlen) {
  static const char hex[] = "0123456789ABCDEF";
  if (outlen == 0)
    return 0;
  size_t pos = 0;
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  size_t n = strlen((const char *)p);
  while (n > 0) {
    uint32_t cp;
    size_t len = util_utf8_decode(p, n, &cp);
    int esc = len == 0 || util_cp_unsafe(cp);
    len = len == 0 ? 1 : len;
    if (pos + (esc ? 4 * len : len) > outlen - 1)
      break;
    for (size_t i = 0; i < len; i++) {
      if (esc) {
        out[pos++] = '\\';
        out[pos++] = 'x';
        out[pos++] = hex[p[i] >> 4];
        out[pos++] = hex[p[i] & 0x0F];
      } else {
        out[pos++] = (char)p[i];
      }
    }
    p += len;
    n -= len;
  }
  out[pos] = '\0';
  return pos;
}

int byoca_parse_uint(const char *s, uint64_t max, uint64_t *out) {
  if (s == NULL || *s == '\0')
    return BYOCA_E_INVAL;
  uint64_t v = 0;
  int big = 0;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9')
      return BYOCA_E_INVAL;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      big = 1; /* keep scanning: a syntax error wins over overflow */
    else
      v = v * 10 + d;
  }
  if (big || v > max)
    return BYOCA_E_TOOBIG;
  *out = v;
  return 0;
}

static int lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int byoca_strcaseeq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  for (; *a != '\0' && *b != '\0'; a++, b++)
    if (lower((unsigned char)*a) != lower((unsigned char)*b))
      return 0;
  return *a == *b;
}
