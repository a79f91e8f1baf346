/* byoca solve internals shared by the solvers. */
#ifndef BYOCA_SOLVE_INT_H
#define BYOCA_SOLVE_INT_H

#include <sys/socket.h>

#include "byoca/solve.h"

/* Longest token a solver accepts; RFC 8555 tokens are 43 characters. */
#define SOLVE_TOKEN_MAX 256

/* Wraps ctx in a solver; on NOMEM frees ctx with ops->free and fills err. */
struct byoca_solver *solve_new(const char *name,
                               const struct byoca_solver_ops *ops, void *ctx,
                               struct byoca_err *err);

/* 1 if token is 1..SOLVE_TOKEN_MAX characters of [A-Za-z0-9_-] (RFC 8555
 * §8.3: base64url), so it is safe in a path and a URL. */
int solve_token_valid(const char *token);

/* Parses an IP literal into a socket address with port (listen.c);
 * BYOCA_E_INVAL if addr is no IP literal. */
int solve_addr_parse(const char *addr, int port, struct sockaddr_storage *ss,
                     socklen_t *len);
/* A non-blocking, close-on-exec socket bound to addr and listening
 * (SO_REUSEADDR; IPV6_V6ONLY for IPv6): the fd, or -errno. */
int solve_listen_fd(const struct sockaddr *addr, socklen_t alen);

/* The TLS server name a tls-alpn-01 validator sends for an identifier
 * (tls_alpn.c): the identifier lowercased for "dns", the reverse-mapping
 * name for "ip" (RFC 8738 §6: "4.3.2.1.in-addr.arpa", or the 32 nibbles
 * under ip6.arpa). 0, or BYOCA_E_INVAL when it cannot be formed or does
 * not fit outlen. */
int solve_alpn_sni(const char *ident_type, const char *identifier, char *out,
                   size_t outlen);

#endif
