/* The byoca error type: setting, copying and clearing a struct byoca_err
 * with its owned ACME problem tree, and formatting it as one safe line for a
 * user (every part sanitised, the whole bounded by the caller's buffer). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/err.h"
#include "byoca/util.h"

#define ACME_ERR_PREFIX "urn:ietf:params:acme:error:"
#define PROBLEM_MAX_DEPTH                                                      \
  4                      /* subproblems of subproblems: deeper is dropped      \
                          */
#define FORMAT_MAX_SUB 8 /* subproblems shown in one line */

int byoca_err_set(struct byoca_err *err, int code, enum byoca_errclass cls,
                  const char *fmt, ...) {
  if (err == NULL)
    return code;
  /* Through a copy, freeing the problem after: the arguments may point into
   * err->msg or the old problem. */
  char msg[sizeof(err->msg)];
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    msg[0] = '\0';
  va_end(ap);
  memcpy(err->msg, msg, sizeof(msg));
  byoca_problem_free(err->problem);
  err->problem = NULL;
  err->code = code;
  err->cls = cls;
  return code;
}

void byoca_err_activity(struct byoca_err *err, const char *fmt, ...) {
  if (err == NULL || err->activity[0] != '\0')
    return;
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(err->activity, sizeof(err->activity), fmt, ap) < 0)
    err->activity[0] = '\0';
  va_end(ap);
}

void byoca_err_native(struct byoca_err *err, enum byoca_errorigin origin,
                      long native) {
  if (err == NULL)
    return;
  err->origin = origin;
  err->native = native;
}

void byoca_err_set_problem(struct byoca_err *err,
                           struct byoca_problem *problem) {
  if (err == NULL) {
    byoca_problem_free(problem);
    return;
  }
  if (err->problem != problem)
    byoca_problem_free(err->problem);
  err->problem = problem;
}

void byoca_err_clear(struct byoca_err *err) {
  if (err == NULL)
    return;
  byoca_problem_free(err->problem);
  memset(err, 0, sizeof(*err));
}

static void problem_free_fields(struct byoca_problem *p) {
  free(p->type);
  free(p->detail);
  free(p->instance);
  free(p->ident_type);
  free(p->ident_value);
  for (size_t i = 0; i < p->nsub; i++)
    problem_free_fields(&p->sub[i]);
  free(p->sub);
}

void byoca_problem_free(struct byoca_problem *p) {
  if (p == NULL)
    return;
  problem_free_fields(p);
  free(p);
}

static int dup_field(char **dst, const char *src) {
  *dst = NULL;
  if (src == NULL)
    return 0;
  *dst = byoca_strdup(src);
  return *dst != NULL ? 0 : BYOCA_E_NOMEM;
}

/* Copies src into the zeroed *dst; on failure *dst holds what was copied so
 * far, freeable with problem_free_fields. */
static int problem_copy_into(struct byoca_problem *dst,
                             const struct byoca_problem *src, int depth) {
  dst->status = src->status;
  dst->nsub_sent = src->nsub_sent;
  if (dup_field(&dst->type, src->type) != 0 ||
      dup_field(&dst->detail, src->detail) != 0 ||
      dup_field(&dst->instance, src->instance) != 0 ||
      dup_field(&dst->ident_type, src->ident_type) != 0 ||
      dup_field(&dst->ident_value, src->ident_value) != 0)
    return BYOCA_E_NOMEM;
  if (src->nsub == 0 || src->sub == NULL || depth >= PROBLEM_MAX_DEPTH)
    return 0;
  dst->sub = calloc(src->nsub, sizeof(*dst->sub));
  if (dst->sub == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < src->nsub; i++) {
    dst->nsub = i + 1;
    if (problem_copy_into(&dst->sub[i], &src->sub[i], depth + 1) != 0)
      return BYOCA_E_NOMEM;
  }
  return 0;
}

int byoca_err_copy(struct byoca_err *dst, const struct byoca_err *src) {
  if (dst == NULL || dst == src)
    return 0;
  byoca_err_clear(dst);
  if (src == NULL)
    return 0;
  *dst = *src;
  dst->problem = NULL;
  if (src->problem == NULL)
    return 0;
  struct byoca_problem *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return BYOCA_E_NOMEM;
  if (problem_copy_into(p, src->problem, 0) != 0) {
    byoca_problem_free(p);
    return BYOCA_E_NOMEM;
  }
  dst->problem = p;
  return 0;
}

/* ---- one-line formatting ---- */

struct line {
  char *out;
  size_t size;
  size_t pos;
  int full; /* a part was cut for lack of room: nothing more goes in */
};

#define FORMAT_PART_MAX 512

/* Appends s sanitised, at most limit bytes of it; when out is full, cuts at
 * a UTF-8 boundary and stops, so a short line is a prefix of the long one. */
static void put(struct line *l, const char *s, size_t limit) {
  char tmp[FORMAT_PART_MAX + 1];
  if (l->full || s == NULL)
    return;
  byoca_str_sanitize(s, tmp,
                     (limit < FORMAT_PART_MAX ? limit : FORMAT_PART_MAX) + 1);
  size_t n = strlen(tmp), room = l->size - l->pos - 1;
  if (n > room) {
    n = room;
    while (n > 0 && ((unsigned char)tmp[n] & 0xC0) == 0x80)
      n--;
    l->full = 1;
  }
  memcpy(l->out + l->pos, tmp, n);
  l->pos += n;
  l->out[l->pos] = '\0';
}

static const char *short_type(const char *type) {
  size_t n = strlen(ACME_ERR_PREFIX);
  if (type != NULL && strncmp(type, ACME_ERR_PREFIX, n) == 0 && type[n])
    return type + n;
  return type;
}

static int has(const char *s) {
  return s != NULL && *s != '\0';
}

static void put_subproblems(struct line *l, const struct byoca_problem *p) {
  char more[64];
  size_t total = p->nsub_sent > p->nsub ? p->nsub_sent : p->nsub;
  if (total > FORMAT_MAX_SUB) {
    snprintf(more, sizeof(more), " (%zu subproblems)", total);
    put(l, more, sizeof(more));
  }
  for (size_t i = 0; i < p->nsub && p->sub != NULL; i++) {
    const struct byoca_problem *s = &p->sub[i];
    put(l, i == 0 ? ": " : "; ", 2);
    if (i == FORMAT_MAX_SUB) {
      snprintf(more, sizeof(more), "and %zu more", total - i);
      put(l, more, sizeof(more));
      return;
    }
    if (has(s->ident_value)) {
      put(l, s->ident_value, 128);
      put(l, ": ", 2);
    }
    put(l, has(s->detail) ? s->detail : short_type(s->type), 200);
  }
}

void byoca_err_format(const struct byoca_err *err, char *out, size_t outlen) {
  struct line l = {out, outlen, 0, 0};
  if (outlen == 0)
    return;
  out[0] = '\0';
  if (err == NULL) {
    put(&l, "no error", 8);
    return;
  }
  if (has(err->activity)) {
    put(&l, err->activity, sizeof(err->activity));
    put(&l, ": ", 2);
  }
  put(&l, has(err->msg) ? err->msg : byoca_errcode_str(err->code),
      sizeof(err->msg));
  const struct byoca_problem *p = err->problem;
  if (p == NULL)
    return;
  if (has(p->detail) || has(p->type))
    put(&l, " \xe2\x80\x94 ", 5); /* em dash */
  if (has(p->detail))
    put(&l, p->detail, 300);
  if (has(p->type)) {
    put(&l, has(p->detail) ? " (" : "", 2);
    put(&l, short_type(p->type), 100);
    put(&l, has(p->detail) ? ")" : "", 1);
  }
  put_subproblems(&l, p);
}

const char *byoca_errcode_str(int code) {
  switch (code) {
  case BYOCA_OK:
    return "success";
  case BYOCA_E_INTERNAL:
    return "internal error";
  case BYOCA_E_NOMEM:
    return "out of memory";
  case BYOCA_E_INVAL:
    return "invalid input";
  case BYOCA_E_IO:
    return "file system error";
  case BYOCA_E_CRYPTO:
    return "cryptography error";
  case BYOCA_E_NET:
    return "network error";
  case BYOCA_E_TIMEOUT:
    return "timed out";
  case BYOCA_E_POLICY:
    return "refused by policy";
  case BYOCA_E_PROTO:
    return "protocol error";
  case BYOCA_E_ACME:
    return "ACME server error";
  case BYOCA_E_DNS:
    return "DNS error";
  case BYOCA_E_TOOBIG:
    return "too big";
  case BYOCA_E_NOTFOUND:
    return "not found";
  case BYOCA_E_CANCELLED:
    return "cancelled";
  case BYOCA_E_HOOK:
    return "hook failed";
  case BYOCA_E_CONFLICT:
    return "conflict";
  case BYOCA_E_PROFILE:
    return "profile not offered";
  case BYOCA_E_NOSPACE:
    return "no space left on the disk";
  default:
    return "unknown error";
  }
}

const char *byoca_errclass_str(enum byoca_errclass cls) {
  switch (cls) {
  case BYOCA_CLASS_RETRYABLE:
    return "retryable";
  case BYOCA_CLASS_CA:
    return "ca";
  case BYOCA_CLASS_INPUT:
    return "input";
  case BYOCA_CLASS_INTERNAL:
    return "internal";
  case BYOCA_CLASS_NONE:
  default:
    return "none";
  }
}
