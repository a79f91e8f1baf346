/* Helpers shared by the files of lib/util: UTF-8 decoding and the list of
 * code points that must never reach a terminal, escaping for log lines,
 * civil-date arithmetic. Not part of the public API. */
#ifndef BYOCA_UTIL_INT_H
#define BYOCA_UTIL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"

/* Length (1-4) of the well-formed UTF-8 sequence at p (n bytes available),
 * with its code point in *cp; 0 if the bytes there are not well-formed
 * (stray continuation, overlong, surrogate, > U+10FFFF, truncated). */
size_t util_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* 1 if a code point must not be shown raw: C0 controls, DEL, C1 controls,
 * line/paragraph separators and the bidirectional overrides/isolates that
 * can reorder what a terminal shows. */
int util_cp_unsafe(uint32_t cp);

/* Like byoca_str_sanitize but writes unsafe bytes as \xNN (every byte of an
 * unsafe or invalid sequence), so a log line keeps what was there. Never
 * splits an escape or a UTF-8 sequence. Returns the length written. */
size_t util_str_escape(const char *s, char *out, size_t outlen);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t util_days_from_civil(int64_t y, int m, int d);

/* Days in month m (1-12) of year y. */
int util_days_in_month(int64_t y, int m);

/* Fills err for a failed system call on path: "cannot <what> <path>:
 * <strerror>", origin errno, class by errno (transient ones retryable).
 * Returns BYOCA_E_NOTFOUND for ENOENT, else BYOCA_E_IO. */
int util_err_errno(struct byoca_err *err, int e, const char *what,
                   const char *path);

#endif
