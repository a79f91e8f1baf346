/* byoca error type.
 *
 * Every fallible function returns int (0 ok, negative BYOCA_E_*) and takes an
 * optional caller-owned struct byoca_err * last, filled only on failure. The
 * error carries what policy code needs to decide (the class) and what a user
 * needs to read (message, activity, ACME problem), never secrets.
 */
#ifndef BYOCA_ERR_H
#define BYOCA_ERR_H

#include <stddef.h>
#include <stdint.h>

enum byoca_errcode {
  BYOCA_OK = 0,
  BYOCA_E_INTERNAL = -1, /* a bug or an impossible state */
  BYOCA_E_NOMEM = -2,
  BYOCA_E_INVAL = -3,  /* bad input from the caller or the user */
  BYOCA_E_IO = -4,     /* file system */
  BYOCA_E_CRYPTO = -5, /* OpenSSL failure */
  BYOCA_E_NET = -6,    /* connection, TLS, HTTP transport */
  BYOCA_E_TIMEOUT = -7,
  BYOCA_E_POLICY = -8, /* refused by the address policy or a safety rule */
  BYOCA_E_PROTO = -9,  /* the server said something invalid */
  BYOCA_E_ACME = -10,  /* the server answered with a problem document */
  BYOCA_E_DNS = -11,
  BYOCA_E_TOOBIG = -12, /* a size cap was hit */
  BYOCA_E_NOTFOUND = -13,
  BYOCA_E_CANCELLED = -14,
  BYOCA_E_HOOK = -15,     /* a hook program failed */
  BYOCA_E_PROFILE = -16,  /* the CA does not offer the certificate profile
                             (not advertised, or invalidProfile) */
  BYOCA_E_CONFLICT = -17, /* the object's state forbids the request: a
                             name taken, a tenant or certificate being
                             deleted, the last operator token (HTTP 409) */
  BYOCA_E_NOSPACE = -18,  /* no space left on a disk (ENOSPC, EDQUOT, a full
                             database) */
};

/* What policy code (fallback, backoff) reads; never strings. */
enum byoca_errclass {
  BYOCA_CLASS_NONE = 0,
  BYOCA_CLASS_RETRYABLE, /* transient: try the same again later */
  BYOCA_CLASS_CA,        /* the CA's fault: try another CA */
  BYOCA_CLASS_INPUT,     /* the user's or caller's fault: do not retry */
  BYOCA_CLASS_INTERNAL,  /* ours */
};

/* Where the native code comes from. */
enum byoca_errorigin {
  BYOCA_ORIGIN_NONE = 0,
  BYOCA_ORIGIN_ERRNO,
  BYOCA_ORIGIN_OPENSSL,
  BYOCA_ORIGIN_CURL,
  BYOCA_ORIGIN_UNBOUND,
  BYOCA_ORIGIN_SQLITE,
  BYOCA_ORIGIN_POSTGRES, /* SQLSTATE, packed 6 bits a character as
                            PostgreSQL's MAKE_SQLSTATE does */
};

/* An RFC 7807 / RFC 8555 §6.7 problem document. */
struct byoca_problem {
  char *type;   /* full URN, e.g. urn:ietf:params:acme:error:badNonce */
  char *detail; /* as sent; sanitise before printing */
  char *instance;
  int status;
  char *ident_type; /* subproblems only */
  char *ident_value;
  struct byoca_problem *sub; /* array of nsub */
  size_t nsub;
  size_t nsub_sent; /* how many the server sent (>= nsub, which is capped) */
};

struct byoca_err {
  int code; /* BYOCA_E_* */
  enum byoca_errclass cls;
  enum byoca_errorigin origin;
  long native;                   /* errno, CURLcode, ... */
  int http_status;               /* 0 if none */
  int64_t retry_after;           /* unix seconds; 0 if none */
  char msg[512];                 /* one line, no secrets */
  char activity[256];            /* "finalizing order for example.org" */
  struct byoca_problem *problem; /* owned; NULL if none */
};

/* Sets code, class and message (printf-style, truncated to fit). Frees a
 * previous problem; other fields are left as they are. The arguments may
 * point into err itself (its msg or problem). A NULL err is allowed and
 * ignored. Returns code, for `return byoca_err_set(...)`. */
int byoca_err_set(struct byoca_err *err, int code, enum byoca_errclass cls,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets the "what we were doing" part, unless one is already set (the
 * innermost activity wins). NULL err is ignored. */
void byoca_err_activity(struct byoca_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records origin and native code (errno, CURLcode...). */
void byoca_err_native(struct byoca_err *err, enum byoca_errorigin origin,
                      long native);

/* Takes ownership of problem (may be NULL), freeing a previous one; with a
 * NULL err the problem is freed. */
void byoca_err_set_problem(struct byoca_err *err,
                           struct byoca_problem *problem);

/* Frees owned parts and zeroes the struct; safe on a zeroed struct and NULL. */
void byoca_err_clear(struct byoca_err *err);

/* Deep copy; dst is cleared first. Returns 0 or BYOCA_E_NOMEM (dst then has
 * everything but the problem). */
int byoca_err_copy(struct byoca_err *dst, const struct byoca_err *src);

/* Formats one line for a user:
 *   "activity: message — detail (type): ident: detail; ident: detail"
 * (ACME types shortened to the part after urn:ietf:params:acme:error:, at
 * most 8 subproblems), every part through byoca_str_sanitize and truncated
 * to outlen. Always NUL-terminates out (outlen > 0). */
void byoca_err_format(const struct byoca_err *err, char *out, size_t outlen);

/* Short name of an error code, e.g. "network error". */
const char *byoca_errcode_str(int code);

/* Short name of a class: "retryable", "ca", "input", "internal", "none". */
const char *byoca_errclass_str(enum byoca_errclass cls);

/* Frees a problem and its subproblems; NULL is a no-op. */
void byoca_problem_free(struct byoca_problem *p);

#endif
