/* Time: the (fakeable) clock, RFC 3339 timestamps as ACME sends them,
 * HTTP-dates (RFC 9110 §5.6.7) and Retry-After (RFC 9110 §10.2.3). Civil
 * dates are converted with our own proleptic Gregorian arithmetic, so no
 * timezone state or gmtime is involved. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "byoca/util.h"
#include "util_int.h"

#define SECS_PER_DAY 86400
#define RETRY_AFTER_MAX (INT64_MAX / 2)
#define TIME_STR_MAX 64 /* longer "timestamps" are refused unread */

static _Atomic int64_t fake_now;

int64_t byoca_now(void) {
  int64_t f = atomic_load(&fake_now);
  if (f != 0)
    return f;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return 0;
  return (int64_t)ts.tv_sec;
}

int64_t byoca_now_ms(void) {
  int64_t f = atomic_load(&fake_now);
  if (f != 0)
    return f * 1000;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void byoca_time_set_fake(int64_t unix_seconds) {
  atomic_store(&fake_now, unix_seconds);
}

/* ---- civil calendar ---- */

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int util_days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12)
    return 0;
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Counts in 400-year eras starting March 1st, so the leap day is the last
 * day of the shifted year and each era has exactly 146097 days. */
int64_t util_days_from_civil(int64_t y, int m, int d) {
  if (m <= 2)
    y--;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                         /* 0..399 */
  int64_t mp = m > 2 ? m - 3 : m + 9;                  /* March = 0 */
  int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
  return era * 146097 + doe - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

struct civil {
  int64_t year;
  int mon, day, hour, min, sec;
};

/* Checks the ranges (sec 60 allowed for a leap second) and converts. */
static int civil_to_unix(const struct civil *c, int64_t *out) {
  if (c->year < 0 || c->year > 9999 || c->mon < 1 || c->mon > 12 ||
      c->day < 1 || c->day > util_days_in_month(c->year, c->mon) ||
      c->hour > 23 || c->min > 59 || c->sec > 60)
    return BYOCA_E_INVAL;
  *out = util_days_from_civil(c->year, c->mon, c->day) * SECS_PER_DAY +
         c->hour * 3600 + c->min * 60 + c->sec;
  return 0;
}

void byoca_time_format_rfc3339(int64_t t, char *out, size_t outlen) {
  const int64_t lo = util_days_from_civil(0, 1, 1) * SECS_PER_DAY;
  const int64_t hi = util_days_from_civil(10000, 1, 1) * SECS_PER_DAY - 1;
  if (outlen == 0)
    return;
  t = t < lo ? lo : t > hi ? hi : t;
  int64_t days =
      t >= 0 ? t / SECS_PER_DAY : (t - SECS_PER_DAY + 1) / SECS_PER_DAY;
  int64_t secs = t - days * SECS_PER_DAY, y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
           (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* ---- scanning ---- */

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int lit(const char **p, const char *s) {
  size_t n = strlen(s);
  if (strncmp(*p, s, n) != 0)
    return -1;
  *p += n;
  return 0;
}

/* "hh:mm:ss" into c. */
static int time_of_day(const char **p, struct civil *c) {
  if (digits(p, 2, &c->hour) || lit(p, ":") || digits(p, 2, &c->min) ||
      lit(p, ":") || digits(p, 2, &c->sec))
    return -1;
  return 0;
}

/* ---- RFC 3339 §5.6 ---- */

static int rfc3339_offset(const char **p, int *off) {
  char c = **p;
  int hh, mm;
  (*p)++;
  if (c == 'Z' || c == 'z') {
    *off = 0;
    return 0;
  }
  if ((c != '+' && c != '-') || digits(p, 2, &hh) || lit(p, ":") ||
      digits(p, 2, &mm) || hh > 23 || mm > 59)
    return -1;
  *off = (hh * 60 + mm) * 60 * (c == '-' ? -1 : 1);
  return 0;
}

int byoca_time_parse_rfc3339(const char *s, int64_t *out) {
  struct civil c;
  int y, off;
  const char *p = s;
  if (s == NULL || strnlen(s, TIME_STR_MAX + 1) > TIME_STR_MAX)
    return BYOCA_E_INVAL;
  if (digits(&p, 4, &y) || lit(&p, "-") || digits(&p, 2, &c.mon) ||
      lit(&p, "-") || digits(&p, 2, &c.day))
    return BYOCA_E_INVAL;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return BYOCA_E_INVAL;
  p++;
  if (time_of_day(&p, &c) != 0)
    return BYOCA_E_INVAL;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return BYOCA_E_INVAL;
    while (*p >= '0' && *p <= '9')
      p++;
  }
  if (rfc3339_offset(&p, &off) != 0 || *p != '\0')
    return BYOCA_E_INVAL;
  c.year = y;
  int64_t t;
  if (civil_to_unix(&c, &t) != 0)
    return BYOCA_E_INVAL;
  *out = t - off;
  return 0;
}

/* ---- HTTP-date, RFC 9110 §5.6.7 ---- */

static const char *const wkday[7] = {"Mon", "Tue", "Wed", "Thu",
                                     "Fri", "Sat", "Sun"};
static const char *const weekday[7] = {"Monday",   "Tuesday", "Wednesday",
                                       "Thursday", "Friday",  "Saturday",
                                       "Sunday"};
static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};

/* Matches one of names at *p, case-insensitively; returns its index. */
static int name_of(const char **p, const char *const *names, int n) {
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]);
    if (strncasecmp(*p, names[i], len) == 0) {
      *p += len;
      return i;
    }
  }
  return -1;
}

/* IMF-fixdate, after the day name: ", 06 Nov 1994 08:49:37 GMT". */
static int imf_fixdate(const char *p, struct civil *c) {
  int y;
  if (lit(&p, ", ") || digits(&p, 2, &c->day) || lit(&p, " ") ||
      (c->mon = name_of(&p, months, 12) + 1) == 0 || lit(&p, " ") ||
      digits(&p, 4, &y) || lit(&p, " ") || time_of_day(&p, c) ||
      strcasecmp(p, " GMT") != 0)
    return -1;
  c->year = y;
  return 0;
}

/* Two-digit years (RFC 9110 §5.6.7): a year more than 50 years in the
 * future is the most recent past year with those digits; symmetrically,
 * one more than 50 years in the past is taken in the next century. */
static int64_t year_of_yy(int yy) {
  int64_t now_y, y;
  int m, d;
  int64_t now = byoca_now();
  civil_from_days(now >= 0 ? now / SECS_PER_DAY : 0, &now_y, &m, &d);
  y = now_y - now_y % 100 + yy;
  if (y > now_y + 50)
    y -= 100;
  else if (y < now_y - 50)
    y += 100;
  return y;
}

/* rfc850-date, after the day name: ", 06-Nov-94 08:49:37 GMT". */
static int rfc850_date(const char *p, struct civil *c) {
  int yy;
  if (lit(&p, ", ") || digits(&p, 2, &c->day) || lit(&p, "-") ||
      (c->mon = name_of(&p, months, 12) + 1) == 0 || lit(&p, "-") ||
      digits(&p, 2, &yy) || lit(&p, " ") || time_of_day(&p, c) ||
      strcasecmp(p, " GMT") != 0)
    return -1;
  c->year = year_of_yy(yy);
  return 0;
}

/* asctime-date, after the day name: " Nov  6 08:49:37 1994". */
static int asctime_date(const char *p, struct civil *c) {
  int y;
  if (lit(&p, " ") || (c->mon = name_of(&p, months, 12) + 1) == 0 ||
      lit(&p, " "))
    return -1;
  if (*p == ' ') {
    p++;
    if (digits(&p, 1, &c->day))
      return -1;
  } else if (digits(&p, 2, &c->day)) {
    return -1;
  }
  if (lit(&p, " ") || time_of_day(&p, c) || lit(&p, " ") || digits(&p, 4, &y) ||
      *p != '\0')
    return -1;
  c->year = y;
  return 0;
}

int byoca_time_parse_httpdate(const char *s, int64_t *out) {
  struct civil c;
  const char *p = s;
  int rc = -1;
  if (s == NULL || strnlen(s, TIME_STR_MAX + 1) > TIME_STR_MAX)
    return BYOCA_E_INVAL;
  /* The long names first: "Sunday" also starts with "Sun". */
  if (name_of(&p, weekday, 7) >= 0)
    rc = rfc850_date(p, &c);
  else if (name_of(&p, wkday, 7) >= 0)
    rc = *p == ',' ? imf_fixdate(p, &c) : asctime_date(p, &c);
  int64_t t;
  if (rc != 0 || civil_to_unix(&c, &t) != 0)
    return BYOCA_E_INVAL;
  *out = t;
  return 0;
}

/* ---- Retry-After ---- */

static int is_ows(char c) {
  return c == ' ' || c == '\t';
}

/* delay-seconds = 1*DIGIT over [p, p+n); saturates. 1 if it is one. */
static int delay_seconds(const char *p, size_t n, int64_t *out) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return 0;
    int d = p[i] - '0';
    v = v > (RETRY_AFTER_MAX - d) / 10 ? RETRY_AFTER_MAX : v * 10 + d;
  }
  *out = v;
  return 1;
}

int byoca_retry_after_parse(const char *value, int64_t now,
                            int64_t *delay_out) {
  char v[TIME_STR_MAX + 1];
  if (value == NULL)
    return BYOCA_E_INVAL;
  while (is_ows(*value))
    value++;
  size_t n = strlen(value);
  while (n > 0 && is_ows(value[n - 1]))
    n--;
  if (n == 0)
    return BYOCA_E_INVAL;
  if (delay_seconds(value, n, delay_out))
    return 0;
  if (n >= sizeof(v))
    return BYOCA_E_INVAL;
  memcpy(v, value, n);
  v[n] = '\0';
  int64_t t;
  if (byoca_time_parse_httpdate(v, &t) != 0)
    return BYOCA_E_INVAL;
  /* t is within years 0..9999; only an absurd now could overflow. */
  if (now < -RETRY_AFTER_MAX || now > RETRY_AFTER_MAX)
    return BYOCA_E_INVAL;
  *delay_out = t - now;
  return 0;
}
