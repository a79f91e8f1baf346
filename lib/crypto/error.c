/* OpenSSL error queue -> struct byoca_err. */
#include <openssl/err.h>

#include "crypto_int.h"

int crypto_fail(struct byoca_err *err, int code, enum byoca_errclass cls,
                const char *what) {
  unsigned long e, last = 0;
  char reason[256];

  /* The last error is the most specific one in OpenSSL 3's queues. */
  while ((e = ERR_get_error()) != 0)
    last = e;
  if (last == 0) {
    byoca_err_set(err, code, cls, "%s", what);
    return code;
  }
  /* The bare reason ("no start line") reads best; the full string with
   * library and hex code is the fallback for unregistered reasons. */
  const char *r = ERR_reason_error_string(last);
  if (r == NULL) {
    ERR_error_string_n(last, reason, sizeof(reason));
    r = reason;
  }
  byoca_err_set(err, code, cls, "%s: %s", what, r);
  byoca_err_native(err, BYOCA_ORIGIN_OPENSSL, (long)last);
  return code;
}

int crypto_nomem(struct byoca_err *err) {
  ERR_clear_error();
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}
