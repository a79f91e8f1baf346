/* Logging to stderr: plain lines for people ("warning: ...") or JSON lines
 * for machines. Each message becomes exactly one line, written with one
 * stdio call so threads do not interleave, with control characters escaped
 * so server-provided text cannot drive the terminal or forge lines. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "byoca/util.h"
#include "util_int.h"

#define LOG_MSG_MAX 2048 /* longer messages are truncated */
/* Worst case: every byte of the message escaped as \u00XX (6 bytes). */
#define LOG_LINE_MAX (LOG_MSG_MAX * 6 + 128)

static _Atomic int log_level = BYOCA_LOG_INFO;
static _Atomic int log_json;

void byoca_log_set_level(enum byoca_loglevel lvl) {
  atomic_store(&log_level, (int)lvl);
}

enum byoca_loglevel byoca_log_get_level(void) {
  return (enum byoca_loglevel)atomic_load(&log_level);
}

void byoca_log_set_json(int on) {
  atomic_store(&log_json, on != 0);
}

/* The plain prefix, or the JSON "level" value. */
static const char *level_name(enum byoca_loglevel lvl, int json) {
  switch (lvl) {
  case BYOCA_LOG_ERROR:
    return "error";
  case BYOCA_LOG_WARN:
    return json ? "warn" : "warning";
  case BYOCA_LOG_DEBUG:
    return "debug";
  case BYOCA_LOG_INFO:
  default:
    return "info";
  }
}

/* Appends s as the inside of a JSON string (RFC 8259 §7): quote, backslash
 * and the unsafe code points as \uXXXX, invalid UTF-8 as U+FFFD, so the line
 * is valid JSON in valid UTF-8. out has room for 6 bytes per input byte. */
static size_t json_escape(const char *s, char *out) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s), o = 0;
  while (n > 0) {
    uint32_t cp;
    size_t len = util_utf8_decode(p, n, &cp);
    if (len == 0) {
      cp = 0xFFFD;
      len = 1;
    }
    if (cp == '"' || cp == '\\') {
      out[o++] = '\\';
      out[o++] = (char)cp;
    } else if (cp == 0xFFFD || util_cp_unsafe(cp)) {
      memcpy(out + o, "\\u", 2);
      o += 2;
      for (int shift = 12; shift >= 0; shift -= 4)
        out[o++] = hex[(cp >> shift) & 0xF];
    } else {
      memcpy(out + o, p, len);
      o += len;
    }
    p += len;
    n -= len;
  }
  out[o] = '\0';
  return o;
}

void byoca_logv(enum byoca_loglevel lvl, const char *fmt, va_list ap) {
  char msg[LOG_MSG_MAX];
  char line[LOG_LINE_MAX];
  if ((int)lvl > atomic_load(&log_level))
    return;
  if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
    return;
  size_t o = 0;
  if (atomic_load(&log_json)) {
    char ts[32];
    byoca_time_format_rfc3339(byoca_now(), ts, sizeof(ts));
    o = (size_t)snprintf(line, sizeof(line),
                         "{\"ts\":\"%s\",\"level\":\"%s\","
                         "\"msg\":\"",
                         ts, level_name(lvl, 1));
    o += json_escape(msg, line + o);
    memcpy(line + o, "\"}\n", 4);
  } else {
    if (lvl != BYOCA_LOG_INFO)
      o = (size_t)snprintf(line, sizeof(line), "%s: ", level_name(lvl, 0));
    o += util_str_escape(msg, line + o, sizeof(line) - o - 1);
    memcpy(line + o, "\n", 2);
  }
  fputs(line, stderr);
}

void byoca_log(enum byoca_loglevel lvl, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  byoca_logv(lvl, fmt, ap);
  va_end(ap);
}
