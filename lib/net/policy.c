/* The address policy: which IP addresses an untrusted URL may reach.
 * Special-purpose ranges (RFC 6890 and the IANA registries) are refused
 * unless the operator allowed them by CIDR; IPv6 forms that embed an IPv4
 * address (mapped, compatible, NAT64, 6to4) are judged by that address. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byoca/net.h"
#include "net_int.h"

struct cidr {
  int family; /* AF_INET or AF_INET6 */
  unsigned char addr[16];
  unsigned bits;
};

struct byoca_netpolicy {
  struct cidr *allow;
  size_t nallow;
};

/* A refused range and how we name it ("127.0.0.1 is loopback"). */
struct range {
  unsigned char prefix[16];
  unsigned bits;
  const char *kind;
  const char *text;
};

static const struct range v4_ranges[] = {
    {{0, 0, 0, 0}, 8, "unspecified ('this network')", "0.0.0.0/8"},
    {{10, 0, 0, 0}, 8, "private", "10.0.0.0/8"},
    {{100, 64, 0, 0}, 10, "CGNAT shared space", "100.64.0.0/10"},
    {{127, 0, 0, 0}, 8, "loopback", "127.0.0.0/8"},
    {{169, 254, 0, 0}, 16, "link-local", "169.254.0.0/16"},
    {{172, 16, 0, 0}, 12, "private", "172.16.0.0/12"},
    {{192, 0, 0, 0}, 24, "IETF protocol assignment", "192.0.0.0/24"},
    {{192, 0, 2, 0}, 24, "documentation", "192.0.2.0/24"},
    {{192, 88, 99, 0}, 24, "6to4 relay anycast", "192.88.99.0/24"},
    {{192, 168, 0, 0}, 16, "private", "192.168.0.0/16"},
    {{198, 18, 0, 0}, 15, "benchmarking", "198.18.0.0/15"},
    {{198, 51, 100, 0}, 24, "documentation", "198.51.100.0/24"},
    {{203, 0, 113, 0}, 24, "documentation", "203.0.113.0/24"},
    {{224, 0, 0, 0}, 4, "multicast", "224.0.0.0/4"},
    {{255, 255, 255, 255}, 32, "broadcast", "255.255.255.255/32"},
    {{240, 0, 0, 0}, 4, "reserved", "240.0.0.0/4"},
};

static const struct range v6_ranges[] = {
    {{0}, 128, "unspecified", "::/128"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
     128,
     "loopback",
     "::1/128"},
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, "local-use NAT64", "64:ff9b:1::/48"},
    {{1, 0}, 64, "discard-only", "100::/64"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation", "2001:db8::/32"},
    {{0x20, 0x01, 0x00, 0x00}, 23, "IETF protocol assignment", "2001::/23"},
    {{0x3f, 0xff, 0x00, 0x00}, 20, "documentation", "3fff::/20"},
    {{0xfc}, 7, "unique-local", "fc00::/7"},
    {{0xfe, 0x80}, 10, "link-local", "fe80::/10"},
    {{0xfe, 0xc0}, 10, "site-local", "fec0::/10"},
    {{0xff}, 8, "multicast", "ff00::/8"},
};

/* IPv6 forms with an IPv4 address inside: where it sits and what we call
 * the form. Checked after the plain v6 ranges above. */
struct embed {
  unsigned char prefix[16];
  unsigned bits;
  size_t v4_off;
  const char *form;
};

static const struct embed v6_embeds[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12, "an IPv4-mapped"},
    {{0}, 96, 12, "an IPv4-compatible"},
    {{0, 0x64, 0xff, 0x9b}, 96, 12, "a NAT64"},
    {{0x20, 0x02}, 16, 2, "a 6to4"},
};

static int prefix_match(const unsigned char *a, const unsigned char *p,
                        unsigned bits) {
  unsigned full = bits / 8, rest = bits % 8;
  if (memcmp(a, p, full) != 0)
    return 0;
  if (rest == 0)
    return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[full] & mask) == (p[full] & mask);
}

static int allowed(const struct byoca_netpolicy *p, int family,
                   const unsigned char *a) {
  for (size_t i = 0; p != NULL && i < p->nallow; i++)
    if (p->allow[i].family == family &&
        prefix_match(a, p->allow[i].addr, p->allow[i].bits))
      return 1;
  return 0;
}

static const struct range *v4_refused(const unsigned char *a) {
  for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
    if (prefix_match(a, v4_ranges[i].prefix, v4_ranges[i].bits))
      return &v4_ranges[i];
  return NULL;
}

void net_addr_format(const struct sockaddr *sa, char *out, size_t outlen) {
  const void *a = NULL;
  if (sa->sa_family == AF_INET)
    a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
  else if (sa->sa_family == AF_INET6)
    a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) == NULL)
    byoca_strlcpy(out, "?", outlen);
}

static int check_v4(const struct byoca_netpolicy *p, const unsigned char *a,
                    const char *shown, struct byoca_err *err) {
  if (allowed(p, AF_INET, a))
    return 0;
  const struct range *r = v4_refused(a);
  if (r == NULL)
    return 0;
  return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA, "%s is %s (%s)",
                       shown, r->kind, r->text);
}

static int check_v6(const struct byoca_netpolicy *p, const unsigned char *a,
                    const char *shown, struct byoca_err *err) {
  if (allowed(p, AF_INET6, a))
    return 0;
  for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
    if (prefix_match(a, v6_ranges[i].prefix, v6_ranges[i].bits))
      return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA, "%s is %s (%s)",
                           shown, v6_ranges[i].kind, v6_ranges[i].text);
  for (size_t i = 0; i < sizeof(v6_embeds) / sizeof(v6_embeds[0]); i++) {
    const struct embed *e = &v6_embeds[i];
    if (!prefix_match(a, e->prefix, e->bits))
      continue;
    const unsigned char *v4 = a + e->v4_off;
    if (allowed(p, AF_INET, v4))
      return 0;
    const struct range *r = v4_refused(v4);
    if (r == NULL)
      return 0;
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "%s is %s %s address (%s)", shown, e->form, r->kind,
                         r->text);
  }
  /* Everything outside 2000::/3 is unassigned or reserved by IANA. */
  if ((a[0] & 0xe0) != 0x20)
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "%s is reserved (outside 2000::/3)", shown);
  return 0;
}

struct byoca_netpolicy *byoca_netpolicy_new(void) {
  return calloc(1, sizeof(struct byoca_netpolicy));
}

void byoca_netpolicy_free(struct byoca_netpolicy *p) {
  if (p == NULL)
    return;
  free(p->allow);
  free(p);
}

static int parse_cidr(const char *s, struct cidr *c) {
  char buf[INET6_ADDRSTRLEN + 8];
  if (s == NULL || strlen(s) >= sizeof(buf))
    return -1;
  byoca_strlcpy(buf, s, sizeof(buf));
  char *slash = strchr(buf, '/');
  if (slash != NULL)
    *slash = '\0';
  memset(c, 0, sizeof(*c));
  if (inet_pton(AF_INET, buf, c->addr) == 1) {
    c->family = AF_INET;
    c->bits = 32;
  } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
    c->family = AF_INET6;
    c->bits = 128;
  } else {
    return -1;
  }
  if (slash != NULL) {
    uint64_t bits;
    if (strlen(slash + 1) > 3 || byoca_parse_uint(slash + 1, c->bits, &bits))
      return -1;
    c->bits = (unsigned)bits;
  }
  /* clear host bits, so "10.1.2.3/8" means 10.0.0.0/8 */
  for (unsigned i = c->bits; i < 128; i++)
    c->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
  return 0;
}

int byoca_netpolicy_allow(struct byoca_netpolicy *p, const char *cidr,
                          struct byoca_err *err) {
  struct cidr c;
  if (p == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "no address policy");
  if (parse_cidr(cidr, &c) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid address range '%.64s' (want ADDR[/BITS])",
                         cidr != NULL ? cidr : "");
  struct cidr *n = realloc(p->allow, (p->nallow + 1) * sizeof(*n));
  if (n == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  n[p->nallow++] = c;
  p->allow = n;
  return 0;
}

int byoca_netpolicy_check(const struct byoca_netpolicy *p,
                          const struct sockaddr *sa, struct byoca_err *err) {
  char shown[INET6_ADDRSTRLEN];
  if (sa == NULL)
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_INTERNAL,
                         "no address to check");
  net_addr_format(sa, shown, sizeof(shown));
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return check_v4(p, (const unsigned char *)&in->sin_addr, shown, err);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 =
        (const struct sockaddr_in6 *)(const void *)sa;
    return check_v6(p, in6->sin6_addr.s6_addr, shown, err);
  }
  return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                       "address family %d is not allowed", sa->sa_family);
}

/* Parses "1.2.3.4", "::1" or "[::1]" into a sockaddr; -1 if not one. */
static int parse_addr(const char *s, struct sockaddr_storage *ss) {
  char buf[INET6_ADDRSTRLEN + 2];
  size_t len = strlen(s);
  memset(ss, 0, sizeof(*ss));
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    if (len - 2 >= sizeof(buf))
      return -1;
    memcpy(buf, s + 1, len - 2);
    buf[len - 2] = '\0';
    s = buf;
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      return 0;
    }
  }
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
  if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    return 0;
  }
  return -1;
}

int byoca_netpolicy_check_str(const struct byoca_netpolicy *p, const char *addr,
                              struct byoca_err *err) {
  struct sockaddr_storage ss;
  if (addr == NULL || parse_addr(addr, &ss) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "'%.64s' is not an IP address",
                         addr != NULL ? addr : "");
  return byoca_netpolicy_check(p, (const struct sockaddr *)&ss, err);
}

/* 1 if the last label of host (ignoring one trailing dot) is a number in
 * any base inet_aton knows: such a host is an address, never a DNS name
 * (WHATWG URL "ends in a number"). */
static int ends_in_number(const char *host) {
  size_t len = strlen(host);
  if (len > 0 && host[len - 1] == '.')
    len--;
  size_t start = len;
  while (start > 0 && host[start - 1] != '.')
    start--;
  if (start == len)
    return 0;
  const char *l = host + start;
  size_t n = len - start;
  if (n >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
    for (size_t i = 2; i < n; i++)
      if (!isxdigit((unsigned char)l[i]))
        return 0;
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)l[i]))
      return 0;
  return 1;
}

static int is_localhost(const char *host) {
  size_t len = strlen(host);
  if (len > 0 && host[len - 1] == '.')
    len--;
  static const char lh[] = "localhost";
  size_t ll = sizeof(lh) - 1;
  if (len < ll || strncasecmp(host + len - ll, lh, ll) != 0)
    return 0;
  return len == ll || host[len - ll - 1] == '.';
}

static int valid_name(const char *host) {
  size_t len = strlen(host);
  if (len > 253 + 1)
    return 0;
  for (const char *c = host; *c != '\0'; c++)
    if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
      return 0;
  return strstr(host, "..") == NULL && host[0] != '.';
}

int byoca_netpolicy_check_host(const struct byoca_netpolicy *p,
                               const char *host, struct byoca_err *err) {
  struct sockaddr_storage ss;
  struct in_addr dummy;
  if (host == NULL || host[0] == '\0')
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "URL has an empty host");
  if (strchr(host, '%') != NULL)
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "host '%.100s' has a zone id or escape", host);
  if (parse_addr(host, &ss) == 0) {
    int rc = byoca_netpolicy_check(p, (const struct sockaddr *)&ss, err);
    return rc != 0 ? rc : 0;
  }
  if (host[0] == '[')
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "host '%.100s' is not a valid IPv6 literal", host);
  if (inet_aton(host, &dummy) != 0 || ends_in_number(host))
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "host '%.100s' is a non-canonical numeric address "
                         "(numeric-host trick)",
                         host);
  if (is_localhost(host))
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "%.100s is loopback (localhost)", host);
  if (!valid_name(host))
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_CA,
                         "host '%.100s' is not a valid DNS name", host);
  return 1;
}
