/* Identifiers (RFC 8555 §9.7.7, RFC 8738): checking what a user typed and
 * the normal form used to compare names with what a server returns. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

static int is_ip(const char *s, char *canon, size_t canonlen) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, s, buf) == 1)
    return inet_ntop(AF_INET, buf, canon, (socklen_t)canonlen) != NULL;
  if (inet_pton(AF_INET6, s, buf) == 1)
    return inet_ntop(AF_INET6, buf, canon, (socklen_t)canonlen) != NULL;
  return 0;
}

char *acme_ident_norm(const char *name, const char **type) {
  char canon[64];
  if (is_ip(name, canon, sizeof(canon))) {
    *type = "ip";
    return strdup(canon);
  }
  *type = "dns";
  size_t n = strlen(name);
  if (n > 0 && name[n - 1] == '.')
    n--;
  char *out = strndup(name, n);
  for (size_t i = 0; out != NULL && out[i] != '\0'; i++)
    out[i] = (char)tolower((unsigned char)out[i]);
  return out;
}

static int label_ok(const char *l, size_t n) {
  if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)l[i]) && l[i] != '-')
      return 0;
  return 1;
}

int acme_ident_check(const char *name, struct byoca_err *err) {
  char canon[64];
  const char *p = name;
  size_t len = strlen(name), labels = 0;
  if (is_ip(name, canon, sizeof(canon)))
    return 0;
  if (len > 0 && name[len - 1] == '.')
    len--;
  if (len == 0 || len > 253)
    goto bad;
  if (strncmp(p, "*.", 2) == 0)
    p += 2;
  const char *end = name + len;
  while (p < end) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    size_t n = dot != NULL ? (size_t)(dot - p) : (size_t)(end - p);
    if (!label_ok(p, n))
      goto bad;
    labels++;
    p += n + (dot != NULL ? 1 : 0);
    if (dot != NULL && p == end)
      goto bad;
  }
  if (labels < 2)
    goto bad;
  return 0;
bad : {
  char safe[128];
  byoca_str_sanitize(name, safe, sizeof(safe));
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "invalid domain name \"%s\": use letters, digits and"
                       " hyphens in dot-separated labels, optionally"
                       " starting with \"*.\"",
                       safe);
}
}

int byoca_acme_check_name(const char *name, struct byoca_err *err) {
  return acme_ident_check(name, err);
}
