/* Listening sockets of the built-in responders (http-01, tls-alpn-01). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byoca/util.h"
#include "solve_int.h"

int solve_addr_parse(const char *addr, int port, struct sockaddr_storage *ss,
                     socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof(*v4);
    return 0;
  }
  if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*v6);
    return 0;
  }
  return BYOCA_E_INVAL;
}

int solve_listen_fd(const struct sockaddr *addr, socklen_t alen) {
  int one = 1;
  int fd =
      socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0;
  /* With an explicit v6 socket, v4 is served by its own socket. */
  if (ok && addr->sa_family == AF_INET6)
    ok = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0;
  if (ok)
    ok = bind(fd, addr, alen) == 0 && listen(fd, 128) == 0;
  if (!ok) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int byoca_listen_spec_parse(const char *s, char *addr, size_t addrlen,
                            int *port) {
  if (s == NULL || addrlen == 0)
    return -1;
  addr[0] = '\0';
  return byoca_hostport_parse(s, "listen address", BYOCA_HP_ADDR_OPTIONAL, addr,
                              addrlen, port, NULL) == 0
             ? 0
             : -1;
}
