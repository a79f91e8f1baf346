/* The one parser of "[ADDR:]PORT" forms: an IPv4 literal, or an IPv6
 * literal in brackets ("[::1]:53"; bare when no port follows), and a
 * port. The API listener, the tls-alpn and http-01 responders' listen
 * specs and the RFC 2136 server address all go through it, so they
 * accept and refuse the same text and say why the same way. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "byoca/util.h"
#include "util_int.h"

#define SHOW 96

static int refuse(struct byoca_err *err, const char *what, const char *s,
                  const char *why, const char *part) {
  char safe[SHOW], safe_part[SHOW];
  byoca_str_sanitize(s, safe, sizeof(safe));
  byoca_str_sanitize(part != NULL ? part : "", safe_part, sizeof(safe_part));
  return byoca_err_set(
      err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "invalid %s '%s': %s%s%s%s",
      what != NULL ? what : "address", safe, part != NULL ? "'" : "", safe_part,
      part != NULL ? "' " : "", why);
}

/* 1 if s is all decimal digits (and not empty). */
static int digits(const char *s) {
  return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

int byoca_hostport_parse(const char *s, const char *what, unsigned flags,
                         char *addr, size_t addrlen, int *port,
                         struct byoca_err *err) {
  const char *host = s, *p = NULL, *colon;
  size_t n;
  int v6 = 0;
  unsigned char ip[16];
  uint64_t v = 0;
  if (s == NULL || *s == '\0' || addrlen == 0)
    return refuse(err, what, s != NULL ? s : "", "is empty", NULL);
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
      return refuse(err, what, s,
                    "expected [IPV6] or [IPV6]:PORT, a ']' missing or"
                    " misplaced",
                    NULL);
    host = s + 1;
    n = (size_t)(rb - host);
    p = rb[1] == ':' ? rb + 2 : NULL;
    v6 = 1;
  } else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':')) {
    n = strlen(s); /* two colons or more: a bare IPv6 address */
    if (!(flags & BYOCA_HP_PORT_OPTIONAL))
      return refuse(err, what, s,
                    "an IPv6 address needs brackets before a port:"
                    " [ADDR]:PORT",
                    NULL);
    v6 = 1;
  } else if (colon != NULL) {
    n = (size_t)(colon - s);
    p = colon + 1;
  } else if ((flags & BYOCA_HP_ADDR_OPTIONAL) && digits(s)) {
    n = 0; /* PORT alone */
    p = s;
  } else {
    n = strlen(s);
  }
  if (n == 0 && p != s)
    return refuse(err, what, s, "has no address before the port", NULL);
  if (n >= addrlen || n >= INET6_ADDRSTRLEN)
    return refuse(err, what, s, "has too long an address", NULL);
  memcpy(addr, host, n);
  addr[n] = '\0';
  if (n > 0 && inet_pton(v6 ? AF_INET6 : AF_INET, addr, ip) != 1) {
    int r = refuse(err, what, s,
                   v6 ? "is not an IPv6 address"
                      : "is not an IP address (IPv4, or IPv6 in brackets)",
                   addr);
    addr[0] = '\0';
    return r;
  }
  if (p == NULL) {
    if (!(flags & BYOCA_HP_PORT_OPTIONAL)) {
      addr[0] = '\0';
      return refuse(err, what, s, "has no port", NULL);
    }
    *port = 0;
    return 0;
  }
  if (byoca_parse_uint(p, 65535, &v) != 0 ||
      (v == 0 && !(flags & BYOCA_HP_PORT_ZERO))) {
    addr[0] = '\0';
    return refuse(err, what, s,
                  flags & BYOCA_HP_PORT_ZERO
                      ? "is not a port number from 0 to 65535"
                      : "is not a port number from 1 to 65535",
                  p);
  }
  *port = (int)v;
  return 0;
}
