/* byoca util: capped buffers, base64url, time parsing, logging, strings.
 *
 * libc only. Everything else in byoca builds on these.
 */
#ifndef BYOCA_UTIL_H
#define BYOCA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"

#define BYOCA_WUR __attribute__((warn_unused_result))

/* ---- capped dynamic buffer ---- */

/* A growable byte buffer that refuses to grow past max. data is always
 * NUL-terminated after len bytes (when non-NULL), so text can be used as a
 * C string. */
struct byoca_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max; /* 0 = no cap */
};

/* Initialises an empty buffer with a cap (0 = none). Allocates nothing.
 * Growth copies and wipes (no realloc), so secrets leave no stray copies. */
void byoca_buf_init(struct byoca_buf *b, size_t max);
/* Appends bytes; BYOCA_E_TOOBIG past the cap (nothing is appended then),
 * BYOCA_E_NOMEM. */
int byoca_buf_append(struct byoca_buf *b, const void *data,
                     size_t len) BYOCA_WUR;
int byoca_buf_appends(struct byoca_buf *b, const char *s) BYOCA_WUR;
int byoca_buf_appendf(struct byoca_buf *b, const char *fmt, ...) BYOCA_WUR
    __attribute__((format(printf, 2, 3)));
/* Empties the buffer, keeps the allocation. */
void byoca_buf_reset(struct byoca_buf *b);
/* Frees the data and resets to empty (max kept). */
void byoca_buf_free(struct byoca_buf *b);
/* Wipes (explicit_bzero) then frees: for buffers that held secrets. */
void byoca_buf_free_secret(struct byoca_buf *b);
/* Hands the data (NUL-terminated, caller frees) and resets b. Returns
 * an empty allocated string when b is empty; NULL only on NOMEM. */
char *byoca_buf_steal(struct byoca_buf *b);

/* ---- secrets ---- */

/* Bytes that wipe themselves on free. Never format into logs or errors. */
struct byoca_secret {
  unsigned char *data;
  size_t len;
};
/* Reads a whole regular file into a secret, stripping trailing whitespace.
 * Refuses files larger than max (BYOCA_E_TOOBIG), files that are not regular
 * and files that are empty after stripping (BYOCA_E_INVAL); a missing file
 * is BYOCA_E_NOTFOUND. err names the path, never the contents. data is
 * NUL-terminated (not counted in len). */
int byoca_secret_read_file(const char *path, size_t max,
                           struct byoca_secret *out,
                           struct byoca_err *err) BYOCA_WUR;
void byoca_secret_free(struct byoca_secret *s);

/* ---- base64url (RFC 4648 §5, no padding) ---- */

/* Encodes; *out is NUL-terminated, caller frees. */
int byoca_b64url_encode(const void *data, size_t len, char **out) BYOCA_WUR;
/* Decodes strictly: rejects padding, whitespace and characters outside the
 * alphabet, and non-canonical trailing bits. *out caller frees (NUL-terminated
 * for convenience, not counted in *outlen). */
int byoca_b64url_decode(const char *s, size_t slen, unsigned char **out,
                        size_t *outlen) BYOCA_WUR;
/* 1 if s is a non-empty string of base64url characters (RFC 8555 nonce). */
int byoca_b64url_valid(const char *s);
/* Decodes standard base64 or base64url, with or without padding (for EAB
 * keys pasted from CA dashboards). Padding, when present, must complete the
 * last group; no whitespace; non-canonical trailing bits are refused. */
int byoca_b64any_decode(const char *s, size_t slen, unsigned char **out,
                        size_t *outlen) BYOCA_WUR;

/* ---- time ---- */

/* Current wall-clock time, unix seconds / milliseconds. Overridable for tests
 * with byoca_time_set_fake (0 restores the real clock). */
int64_t byoca_now(void);
int64_t byoca_now_ms(void);
void byoca_time_set_fake(int64_t unix_seconds);

/* RFC 3339 date-time ("2026-11-28T12:00:00Z", offsets, fractions) ->
 * unix seconds (fractions truncated). */
int byoca_time_parse_rfc3339(const char *s, int64_t *out) BYOCA_WUR;
/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ"; out needs 21 bytes. */
void byoca_time_format_rfc3339(int64_t t, char *out, size_t outlen);
/* HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms) -> unix seconds. */
int byoca_time_parse_httpdate(const char *s, int64_t *out) BYOCA_WUR;
/* Retry-After (RFC 9110 §10.2.3): delay-seconds or HTTP-date. Returns the
 * delay in seconds from now (may be negative for dates in the past; huge
 * values saturate at INT64_MAX/2). BYOCA_E_INVAL if neither form. */
int byoca_retry_after_parse(const char *value, int64_t now,
                            int64_t *delay_out) BYOCA_WUR;

/* ---- logging ---- */

enum byoca_loglevel {
  BYOCA_LOG_ERROR = 0,
  BYOCA_LOG_WARN,
  BYOCA_LOG_INFO,  /* progress lines a user sees by default */
  BYOCA_LOG_DEBUG, /* --verbose */
};
/* Sets the threshold; messages above it are dropped. Default INFO. */
void byoca_log_set_level(enum byoca_loglevel lvl);
enum byoca_loglevel byoca_log_get_level(void);
/* JSON lines ({"ts":...,"level":...,"msg":...}) instead of plain text. */
void byoca_log_set_json(int on);
/* Logs one line to stderr: plain text is the message, prefixed "error: ",
 * "warning: " or "debug: " (none for INFO); JSON lines carry level "error",
 * "warn", "info" or "debug". Control characters, C1, bidi controls and
 * invalid UTF-8 in the formatted message are escaped (\xNN in plain text,
 * \uXXXX in JSON) so a server-provided string cannot drive the terminal or
 * forge lines. Messages are truncated at 2 KiB. */
void byoca_log(enum byoca_loglevel lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void byoca_logv(enum byoca_loglevel lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* ---- strings ---- */

/* strdup that returns NULL on NULL input. */
char *byoca_strdup(const char *s);
/* Allocating printf; NULL on NOMEM. */
char *byoca_asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Copies src into dst (size n), always NUL-terminates, truncates. Returns
 * strlen(src). */
size_t byoca_strlcpy(char *dst, const char *src, size_t n);
/* Writes s into out with control characters (C0, DEL, C1 as UTF-8), the
 * bidirectional overrides/isolates, U+2028/U+2029 and invalid UTF-8 replaced
 * by '?' (TAB by a space), at most outlen-1 bytes, never cutting a UTF-8
 * sequence. Always NUL-terminates when outlen > 0. */
void byoca_str_sanitize(const char *s, char *out, size_t outlen);
/* Parses a non-negative decimal integer in full (no sign, no spaces):
 * BYOCA_E_INVAL for bad syntax, BYOCA_E_TOOBIG past max. */
int byoca_parse_uint(const char *s, uint64_t max, uint64_t *out) BYOCA_WUR;
/* byoca_hostport_parse flags. */
#define BYOCA_HP_ADDR_OPTIONAL 1u /* "PORT" alone: addr "" */
#define BYOCA_HP_PORT_OPTIONAL 2u /* "ADDR" alone: *port 0 */
#define BYOCA_HP_PORT_ZERO 4u     /* port 0 (any free port) allowed */
/* Splits "ADDR:PORT", "[IPV6]:PORT", and with the flags "PORT", "ADDR",
 * "[IPV6]" or a bare IPv6 "ADDR", into addr (an IP literal, without
 * brackets; "" when absent) and *port (1-65535; 0 when absent, or given
 * with BYOCA_HP_PORT_ZERO). ADDR must be an IPv4 literal, or IPv6 in
 * brackets when a port follows. Malformed -> BYOCA_E_INVAL, the message
 * naming what (e.g. "listen address"), the value and the bad part. */
int byoca_hostport_parse(const char *s, const char *what, unsigned flags,
                         char *addr, size_t addrlen, int *port,
                         struct byoca_err *err) BYOCA_WUR;
/* ASCII case-insensitive equality. */
int byoca_strcaseeq(const char *a, const char *b);

/* ---- files ---- */

/* Writes data to path atomically: temp file "<dir>/.<name>.tmp<pid>-XXXXXX"
 * given exactly mode (umask not applied) before any byte is written,
 * fsync, rename, fsync of the folder. Never leaves a partial file; a
 * crash may leave the temp file, which byoca_tmp_sweep removes. */
int byoca_file_write_atomic(const char *path, const void *data, size_t len,
                            unsigned mode, struct byoca_err *err) BYOCA_WUR;
/* One file of a set for byoca_dir_write_atomic: a plain name (no '/', not
 * starting with '.'), its bytes and exact mode. */
struct byoca_file_ent {
  const char *name;
  const void *data;
  size_t len;
  unsigned mode;
};
/* Creates the folder path (exactly mode) holding the n files, all or
 * nothing: they are written and fsynced in a temp folder
 * "<dir>/.<name>.tmp<pid>-XXXXXX", which is renamed to path (which must
 * not exist, or be an empty folder), then the parent is fsynced. Readers
 * never see path with some of the files; a crash may leave the temp
 * folder, which byoca_tmp_sweep removes. */
int byoca_dir_write_atomic(const char *path, unsigned mode,
                           const struct byoca_file_ent *files, size_t n,
                           struct byoca_err *err) BYOCA_WUR;
/* Removes the folder path and the files in it (not subfolders: then the
 * folder stays and -1 is returned). A missing folder is 0; a symlink is
 * not followed (-1). */
int byoca_dir_remove(const char *path);
/* A mkstemp/mkdtemp template for a temp next to path:
 * "<dir>/.<name>.tmp<pid>-XXXXXX". Caller frees; NULL on NOMEM. */
char *byoca_tmp_template(const char *path);
/* Removes from dir, and from its folders down to depth levels (symlinks
 * are not followed), the temps named by byoca_tmp_template whose writing
 * process is gone: its pid runs no more, or runs but started after the
 * temp was last modified (a reused pid). Nothing else is touched; a temp
 * of a process still writing stays. Returns how many were removed. */
int byoca_tmp_sweep(const char *dir, int depth);
/* Reads a whole file (cap max bytes, else BYOCA_E_TOOBIG) into a
 * NUL-terminated buffer; outlen may be NULL. A missing file is
 * BYOCA_E_NOTFOUND. */
int byoca_file_read(const char *path, size_t max, char **out, size_t *outlen,
                    struct byoca_err *err) BYOCA_WUR;
/* mkdir -p with mode (minus umask) for the created folders, each made
 * durable (its parent fsynced); existing folders are left as they are. */
int byoca_mkdir_p(const char *path, unsigned mode,
                  struct byoca_err *err) BYOCA_WUR;

#endif
