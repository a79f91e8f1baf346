/* The rfc2136 solver's names and options: DNS names as FQDNs, the server
 * address, the TSIG algorithm and secret, rcode names. No I/O but the
 * secret file. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rfc2136_int.h"

static int bad(struct byoca_err *err, const char *what, const char *name,
               const char *why) {
  char safe[128];
  byoca_str_sanitize(name, safe, sizeof(safe));
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "invalid %s '%s': %s", what, safe, why);
}

static int label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Why name (n bytes, no trailing dot) is not a usable name, or NULL. */
static const char *name_problem(const char *name, size_t n) {
  size_t label = 0;
  if (n == 0)
    return "empty";
  if (n > R2136_NAME_MAX)
    return "longer than 253 characters";
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (c == '.') {
      if (label == 0)
        return "empty label";
      label = 0;
      continue;
    }
    if (++label > 63)
      return "label longer than 63 characters";
    if (c == '*' && label == 1 && i == 0 && (n == 1 || name[1] == '.'))
      continue;
    if (!label_char(c))
      return "only letters, digits, '-' and '_' are allowed";
  }
  return label == 0 ? "empty label" : NULL;
}

int r2136_fqdn(const char *name, const char *what, char **out,
               struct byoca_err *err) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n > 0 && name[n - 1] == '.')
    n--;
  const char *why = name_problem(name != NULL ? name : "", n);
  if (why != NULL)
    return bad(err, what, name != NULL ? name : "", why);
  char *s = malloc(n + 2);
  if (s == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  for (size_t i = 0; i < n; i++)
    s[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
  s[n] = '.';
  s[n + 1] = '\0';
  *out = s;
  return 0;
}

const char *r2136_parent(const char *fqdn) {
  const char *dot = strchr(fqdn, '.');
  if (dot == NULL || dot[1] == '\0')
    return NULL;
  return dot + 1;
}

int r2136_in_zone(const char *name, const char *zone) {
  size_t n = strlen(name), z = strlen(zone);
  if (n < z || strcasecmp(name + n - z, zone) != 0)
    return 0;
  return n == z || name[n - z - 1] == '.';
}

const char *r2136_alg(const char *name) {
  if (name == NULL)
    return "hmac-sha256.";
  size_t n = strlen(name);
  if (n > 0 && name[n - 1] == '.')
    n--;
  if (n == 11 && strncasecmp(name, "hmac-sha256", n) == 0)
    return "hmac-sha256.";
  if (n == 11 && strncasecmp(name, "hmac-sha512", n) == 0)
    return "hmac-sha512.";
  return NULL;
}

void r2136_srv_name(struct r2136_srv *out) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (out->ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&out->ss;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
    snprintf(out->text, sizeof(out->text), "[%s]:%u", ip,
             (unsigned)ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&out->ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
    snprintf(out->text, sizeof(out->text), "%s:%u", ip,
             (unsigned)ntohs(a->sin_port));
  }
}

static int same_ip(const struct r2136_srv *a, const struct r2136_srv *b) {
  if (a->ss.ss_family != b->ss.ss_family)
    return 0;
  if (a->ss.ss_family == AF_INET)
    return memcmp(&((const struct sockaddr_in *)&a->ss)->sin_addr,
                  &((const struct sockaddr_in *)&b->ss)->sin_addr, 4) == 0;
  return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
                &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
}

void r2136_srv_port_of(struct r2136_srv *a, const struct r2136_srv *srv) {
  if (!same_ip(a, srv))
    return;
  if (a->ss.ss_family == AF_INET)
    ((struct sockaddr_in *)&a->ss)->sin_port =
        ((const struct sockaddr_in *)&srv->ss)->sin_port;
  else
    ((struct sockaddr_in6 *)&a->ss)->sin6_port =
        ((const struct sockaddr_in6 *)&srv->ss)->sin6_port;
  r2136_srv_name(a);
}

/* Splits s into host (brackets removed) and port text (NULL if none). */
int r2136_srv_parse(const char *s, struct r2136_srv *out,
                    struct byoca_err *err) {
  char host[INET6_ADDRSTRLEN + 1];
  int p = 0;
  if (s == NULL || *s == '\0')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "no DNS update server given");
  int rc = byoca_hostport_parse(s, "DNS update server", BYOCA_HP_PORT_OPTIONAL,
                                host, sizeof(host), &p, err);
  if (rc != 0)
    return rc;
  if (p == 0)
    p = 53;
  memset(out, 0, sizeof(*out));
  struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
  if (strchr(host, ':') == NULL &&
      inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p);
    out->len = sizeof(*a4);
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)p);
    out->len = sizeof(*a6);
  } else {
    return bad(err, "DNS update server", s, "not an IP address");
  }
  r2136_srv_name(out);
  return 0;
}

int r2136_secret_parse(const char *text, size_t len, const char *what,
                       struct byoca_secret *out, struct byoca_err *err) {
  unsigned char *raw = NULL;
  size_t rawlen = 0;
  int ok = byoca_b64any_decode(text, len, &raw, &rawlen) == 0 && rawlen > 0;
  if (raw != NULL)
    explicit_bzero(raw, rawlen);
  free(raw);
  if (!ok)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "%s: not a base64 TSIG secret", what);
  /* ldns wants standard base64 with padding: translate base64url and pad
     (the decoder accepted only canonical forms) */
  size_t n = 0, cap = (rawlen + 2) / 3 * 4 + 1;
  char *b64 = malloc(cap);
  if (b64 == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  for (size_t i = 0; i < len && text[i] != '=' && n + 1 < cap; i++)
    b64[n++] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
  while (n % 4 != 0 && n + 1 < cap)
    b64[n++] = '=';
  b64[n] = '\0';
  out->data = (unsigned char *)b64;
  out->len = n;
  return 0;
}

int r2136_secret_load(const char *path, struct byoca_secret *out,
                      struct byoca_err *err) {
  struct byoca_secret file = {0};
  struct stat st;
  if (path == NULL || *path == '\0')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "no TSIG secret file given");
  int rc = byoca_secret_read_file(path, R2136_SECRET_MAX, &file, err);
  if (rc != 0) {
    if (err != NULL)
      err->cls = BYOCA_CLASS_INPUT;
    return rc;
  }
  if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
    byoca_log(BYOCA_LOG_WARN,
              "TSIG secret file %s can be read by others (mode %03o);"
              " 0600 is recommended",
              path, (unsigned)(st.st_mode & 0777));
  char what[300];
  snprintf(what, sizeof(what), "TSIG secret file %.250s", path);
  rc = r2136_secret_parse((const char *)file.data, file.len, what, out, err);
  byoca_secret_free(&file);
  return rc;
}

int r2136_value_valid(const char *value) {
  size_t n = value != NULL ? strlen(value) : 0;
  return n > 0 && n <= R2136_VALUE_MAX && byoca_b64url_valid(value);
}

const char *r2136_rcode_str(int rcode, char *buf, size_t len) {
  static const char *const names[] = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  static const char *const tsig[] = {"BADSIG",   "BADKEY",   "BADTIME",
                                     "BADMODE",  "BADNAME",  "BADALG",
                                     "BADTRUNC", "BADCOOKIE"};
  if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
    return names[rcode];
  if (rcode >= 16 && (size_t)(rcode - 16) < sizeof(tsig) / sizeof(tsig[0]))
    return tsig[rcode - 16];
  snprintf(buf, len, "RCODE %d", rcode);
  return buf;
}
