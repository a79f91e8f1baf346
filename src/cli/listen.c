/* "[ADDR:]PORT" as --tls-alpn and [tls-alpn] listen take it (its own file
 * so the config fuzzer links it without the rest of the options). */
#include <arpa/inet.h>
#include <string.h>

#include "cli.h"

int cli_listen_parse(const char *s, char *addr, size_t addrlen, int *port) {
  const char *p = s, *colon;
  unsigned char ip[16];
  uint64_t v;
  size_t n = 0;
  int v6 = 0;
  if (s == NULL || addrlen == 0)
    return -1;
  addr[0] = '\0';
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (rb == NULL || rb[1] != ':')
      return -1;
    s++;
    n = (size_t)(rb - s);
    p = rb + 2;
    v6 = 1;
  } else if ((colon = strrchr(s, ':')) != NULL) {
    n = (size_t)(colon - s);
    if (memchr(s, ':', n) != NULL)
      return -1; /* IPv6 needs brackets */
    p = colon + 1;
  }
  if (p != s || v6) {
    if (n == 0 || n >= addrlen)
      return -1;
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, ip) != 1)
      return -1;
  }
  if (byoca_parse_uint(p, 65535, &v) != 0 || v == 0)
    return -1;
  *port = (int)v;
  return 0;
}
