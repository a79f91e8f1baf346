/* The capped growable byte buffer. Growth never leaves an unwiped copy of
 * the old contents behind (no realloc), so a buffer that held a secret is
 * clean after byoca_buf_free_secret. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/util.h"

#define BUF_MIN_ALLOC 64

void byoca_buf_init(struct byoca_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

/* Makes room for extra more bytes plus the NUL; checks the cap. */
static int reserve(struct byoca_buf *b, size_t extra) {
  if (extra > SIZE_MAX - 1 - b->len)
    return BYOCA_E_TOOBIG;
  size_t need = b->len + extra + 1;
  if (b->max != 0 && need - 1 > b->max)
    return BYOCA_E_TOOBIG;
  if (need <= b->cap)
    return 0;
  size_t ncap = b->cap < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->cap;
  while (ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  if (b->max != 0 && ncap > b->max + 1)
    ncap = b->max + 1;
  char *d = malloc(ncap);
  if (d == NULL)
    return BYOCA_E_NOMEM;
  if (b->data != NULL) {
    memcpy(d, b->data, b->len);
    explicit_bzero(b->data, b->cap);
    free(b->data);
  }
  d[b->len] = '\0';
  b->data = d;
  b->cap = ncap;
  return 0;
}

int byoca_buf_append(struct byoca_buf *b, const void *data, size_t len) {
  int rc = reserve(b, len);
  if (rc != 0)
    return rc;
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int byoca_buf_appends(struct byoca_buf *b, const char *s) {
  return byoca_buf_append(b, s, strlen(s));
}

int byoca_buf_appendf(struct byoca_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  /* Into the room left, when the result fits: one pass (see
   * byoca_asprintf); the room is within the cap (reserve keeps cap at most
   * max + 1). */
  size_t room = b->data != NULL ? b->cap - b->len : 0;
  int n = room > 0 ? vsnprintf(b->data + b->len, room, fmt, ap)
                   : vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < room) {
    b->len += (size_t)n;
    va_end(ap2);
    return 0;
  }
  if (b->data != NULL)
    b->data[b->len] = '\0'; /* what did not fit is not ours */
  int rc = n < 0 ? BYOCA_E_INVAL : reserve(b, (size_t)n);
  if (rc == 0) {
    if (vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2) == n)
      b->len += (size_t)n;
    else
      rc = BYOCA_E_INTERNAL;
    b->data[b->len] = '\0';
  }
  va_end(ap2);
  return rc;
}

void byoca_buf_reset(struct byoca_buf *b) {
  b->len = 0;
  if (b->data != NULL)
    b->data[0] = '\0';
}

void byoca_buf_free(struct byoca_buf *b) {
  if (b == NULL)
    return;
  free(b->data);
  byoca_buf_init(b, b->max);
}

void byoca_buf_free_secret(struct byoca_buf *b) {
  if (b == NULL)
    return;
  if (b->data != NULL)
    explicit_bzero(b->data, b->cap);
  byoca_buf_free(b);
}

char *byoca_buf_steal(struct byoca_buf *b) {
  char *d = b->data;
  if (d == NULL && (d = malloc(1)) != NULL)
    d[0] = '\0';
  if (d != NULL)
    byoca_buf_init(b, b->max);
  return d;
}
