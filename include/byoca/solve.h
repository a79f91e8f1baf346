/* byoca solve: challenge solvers.
 *
 * A solver provisions what a CA checks to validate a challenge (RFC 8555
 * §8) and removes it afterwards. The engine picks the challenge type by
 * byoca_challenge_choose (byoca/acme.h) and uses the first solver that
 * answers it.
 */
#ifndef BYOCA_SOLVE_H
#define BYOCA_SOLVE_H

#include <stdint.h>

#include "byoca/err.h"
#include "byoca/net.h"

/* What a solver needs to provision one challenge. All strings borrowed
 * for the duration of the call that receives them. */
struct byoca_challenge {
  const char *type;       /* "http-01", "dns-01", "tls-alpn-01", ... */
  const char *ident_type; /* "dns" or "ip" */
  const char *identifier; /* authorization identifier, never "*." */
  int wildcard;           /* the order asked for *.identifier */
  const char *token;
  const char *key_authz;     /* token "." base64url(JWK thumbprint) */
  const char *dns_value;     /* base64url(SHA-256(key_authz)) */
  const char *record_name;   /* "_acme-challenge.<identifier>" for dns-01;
                                "<account_label>._acme-challenge.<identifier>"
                                for dns-account-01 */
  const char *account_label; /* dns-account-01: "_" + 16 base32 characters
                                (D-DNSACCOUNT); NULL otherwise */
};

/* Completion of setup or cleanup; err NULL on success. */
typedef void (*byoca_solve_cb)(void *arg, const struct byoca_err *err);

struct byoca_solver_ops {
  /* 1 if this solver can answer this challenge type. */
  int (*supports)(void *ctx, const char *type);
  /* Provisions; calls cb exactly once, possibly before returning 0. A
   * non-zero return means cb will not be called. */
  int (*setup)(void *ctx, const struct byoca_challenge *ch, byoca_solve_cb cb,
               void *arg, struct byoca_err *err);
  /* Removes what setup added; same contract. */
  int (*cleanup)(void *ctx, const struct byoca_challenge *ch, byoca_solve_cb cb,
                 void *arg, struct byoca_err *err);
  /* Optional (NULL where the solver cannot tell): until cleanup of ch,
   * seen(arg) is called each time the CA fetches what setup provisioned
   * for ch, so the client polls once validation is under way instead of
   * guessing (RFC 8555 §7.5.1). seen NULL stops the calls for arg. */
  void (*watch)(void *ctx, const struct byoca_challenge *ch,
                void (*seen)(void *arg), void *arg);
  void (*free)(void *ctx);
  /* Optional (NULL: supports decides alone): 1 if this solver can answer
   * type for that identifier (a dns-01 solver holds a zone for it), so
   * the challenge rule passes to the next type for a name it does not
   * hold instead of failing the authorization. */
  int (*covers)(void *ctx, const char *type, const char *identifier);
};

struct byoca_solver {
  const char *name; /* "standalone", "webroot", "hook", "tls-alpn", ... */
  const struct byoca_solver_ops *ops;
  void *ctx;
};

/* Frees a solver and what it holds (closes listeners). NULL no-op. */
void byoca_solver_free(struct byoca_solver *s);
/* 1 if s answers type. */
int byoca_solver_supports(const struct byoca_solver *s, const char *type);

/* http-01 built-in responder: listens on addr:port (addr NULL = all,
 * default port 80) right away, so a busy port is reported now. Serves
 * GET /.well-known/acme-challenge/<token> with the key authorization
 * (text/plain) for tokens currently set up, 404 otherwise. addr is an IP
 * literal; NULL listens on 0.0.0.0 and also on [::] when the host has IPv6.
 * Its listener keeps byoca_loop_run from returning until it is freed. */
struct byoca_solver *byoca_solver_http_standalone(struct byoca_loop *loop,
                                                  const char *addr, int port,
                                                  struct byoca_err *err);

/* Splits a listen spec "[ADDR:]PORT" (ADDR an IPv4 literal, or an IPv6
 * literal in brackets) into addr (empty when absent) and port 1-65535; -1
 * if malformed. As byoca's --tls-alpn and the [tls-alpn] listen keys of
 * byoca.conf and byocad.conf take it. */
int byoca_listen_spec_parse(const char *s, char *addr, size_t addrlen,
                            int *port);

/* tls-alpn-01 built-in responder (RFC 8737; RFC 8738 for IP addresses):
 * listens on addr:port (addr NULL = 0.0.0.0 and [::] when the host has
 * IPv6; default port 443) right away, so a busy port is reported now. A
 * TLS ClientHello offering ALPN "acme-tls/1" whose server name is an
 * identifier currently set up (for an IP, its in-addr.arpa/ip6.arpa name)
 * gets that identifier's validation certificate, "acme-tls/1" is
 * negotiated and the connection closed. Every other connection is
 * refused with a fatal TLS alert before any certificate is chosen. Runs on
 * the loop without blocking: at most 64 handshakes at once, 10 s each.
 * Setting up a name already set up replaces its certificate (the newest
 * challenge wins); cleanup removes it after the last setup of it is
 * cleaned up. Its listeners keep byoca_loop_run from returning until it
 * is freed. */
struct byoca_solver *byoca_solver_tls_alpn(struct byoca_loop *loop,
                                           const char *addr, int port,
                                           struct byoca_err *err);

/* Where a tls-alpn-01 responder in source mode reads challenges: the key
 * authorization currently set up for the validation server name sni into
 * out (0), or nonzero when there is none. Called on the loop during a
 * handshake, so it must be quick (else use the async form below). */
typedef int (*byoca_alpn_source_cb)(void *arg, const char *sni, char *out,
                                    size_t outlen);

/* The async form: a source that cannot answer at once returns
 * BYOCA_ALPN_LATER and then calls byoca_alpn_query_answer(q, ...) exactly
 * once, on the loop (also from inside this call, or after the handshake
 * or the whole responder is gone: q outlives them). Meanwhile the
 * handshake is paused and the loop serves everything else. Otherwise it
 * answers as byoca_alpn_source_cb and must not keep q. */
struct byoca_alpn_query;
#define BYOCA_ALPN_LATER 1
typedef int (*byoca_alpn_source_async_cb)(void *arg, const char *sni,
                                          struct byoca_alpn_query *q, char *out,
                                          size_t outlen);
/* The answer to a query a source kept: rc 0 and key_authz (copied), or
 * nonzero for none (the handshake is refused). The source must not use q
 * afterwards; its handshake goes on (from the loop, not from inside this
 * call) unless it is gone. */
void byoca_alpn_query_answer(struct byoca_alpn_query *q, int rc,
                             const char *key_authz);

/* The same responder in source mode: the certificate for a ClientHello is
 * built from what source says for its server name at that moment (RFC
 * 8738 reverse names map back to IP identifiers), and kept up to 30 s for
 * the same key authorization. It sets nothing up itself (supports no
 * challenge type): whoever writes what source reads does. */
struct byoca_solver *byoca_solver_tls_alpn_source(struct byoca_loop *loop,
                                                  const char *addr, int port,
                                                  byoca_alpn_source_cb source,
                                                  void *arg,
                                                  struct byoca_err *err);
/* The same with an async source (byocad: another node's answer is read
 * from the store off the loop). */
struct byoca_solver *
byoca_solver_tls_alpn_async(struct byoca_loop *loop, const char *addr, int port,
                            byoca_alpn_source_async_cb source, void *arg,
                            struct byoca_err *err);

/* The TLS server name a tls-alpn-01 validator sends for an identifier:
 * the name lowercased for "dns", the RFC 8738 reverse name for "ip". 0, or
 * BYOCA_E_INVAL when it cannot be formed or does not fit outlen. */
int byoca_alpn_server_name(const char *ident_type, const char *identifier,
                           char *out, size_t outlen);

/* http-01 webroot: writes <dir>/.well-known/acme-challenge/<token>
 * (0644, folders created 0755) and removes it on cleanup (and the folders
 * it created, if empty). */
struct byoca_solver *byoca_solver_webroot(const char *dir,
                                          struct byoca_err *err);

/* Any challenge type through a hook program, called as
 *   PATH setup|cleanup
 * with environment BYOCA_ACTION, BYOCA_CHALLENGE_TYPE, BYOCA_IDENTIFIER,
 * BYOCA_IDENTIFIER_TYPE, BYOCA_WILDCARD (0/1), BYOCA_RECORD_NAME,
 * BYOCA_RECORD_VALUE, BYOCA_TOKEN, BYOCA_KEY_AUTHORIZATION,
 * BYOCA_ACCOUNT_LABEL (dns-account-01; empty when the challenge lacks the
 * field). Exit status 0 is success; otherwise the error carries its last
 * output line. types is a comma-separated list of challenge types it
 * answers (NULL = "dns-01,dns-account-01": a DNS hook publishes
 * BYOCA_RECORD_NAME, whichever the type). timeout_ms 0 = none. */
struct byoca_solver *byoca_solver_hook(struct byoca_loop *loop,
                                       const char *path, const char *types,
                                       int64_t timeout_ms,
                                       struct byoca_err *err);

/* ---- dns-01 by RFC 2136 dynamic update, signed with TSIG ---- */

/* Where and how to update the zones (RFC 2136 UPDATE, TSIG per RFC 8945).
 * Strings are borrowed for the duration of byoca_solver_rfc2136. */
struct byoca_rfc2136_opts {
  const char *server;      /* primary server: "IP", "IP:PORT", "[IPv6]:PORT";
                              port 53 when absent */
  const char *tsig_name;   /* TSIG key name, e.g. "acme-update." */
  const char *tsig_alg;    /* "hmac-sha256" (NULL) or "hmac-sha512" */
  const char *secret_file; /* the key's secret, base64 */
  const struct byoca_secret *secret; /* or the base64 text itself (copied;
                                        for the daemon's store); wins over
                                        secret_file */
  const char *zone; /* NULL: the zone of each record is found by asking the
                       server for the SOA of the name and its parents */
  int64_t propagation_timeout_ms;  /* 0: 120000 */
  int64_t propagation_interval_ms; /* between checks; 0: 2000 */
  int64_t query_timeout_ms;        /* per DNS query try; 0: 5000 */
  int query_tries;                 /* 0: 3 */
  struct byoca_resolver *resolver; /* borrowed, may be NULL: resolves name
                                      servers neither glue nor the server
                                      gives an address for */
};

/* dns-01 and dns-account-01 (the record name the engine gives,
 * D-DNSACCOUNT) through RFC 2136. setup adds "_acme-challenge.<name>. 60 IN TXT
 * <value>" with a TSIG-signed UPDATE over TCP (any rcode but NOERROR, or
 * an unsigned answer, is an INPUT-class error naming the server, zone,
 * rcode and TSIG error), then asks each name server of the zone (its NS
 * records at the server; addresses from glue, the server, or the
 * resolver; an address equal to the server's is asked on the server's
 * port), without recursion, until all serve the value; on timeout it
 * deletes the record and fails naming the servers that lag. cleanup
 * deletes exactly that record (class NONE), leaving others of the name.
 * Network I/O runs on the loop's worker pool, never on the loop. The
 * secret is read now and never appears in messages. */
struct byoca_solver *byoca_solver_rfc2136(struct byoca_loop *loop,
                                          const struct byoca_rfc2136_opts *o,
                                          struct byoca_err *err);
/* Checks o as byoca_solver_rfc2136 does (server, key name, algorithm,
 * zone, secret, limits), without making a solver: needs no loop, any
 * thread. 0, or an INPUT-class error naming what was wrong, never the
 * secret. */
int byoca_rfc2136_check(const struct byoca_rfc2136_opts *o,
                        struct byoca_err *err) BYOCA_WUR;
/* RFC 2136 setups and cleanups still in flight, of every solver. Once its
 * solver is freed, an operation stops waiting for propagation at its next
 * check, deletes the record it added and finishes (its callback runs with
 * an error), so a program about to exit runs its loop until this is 0. */
size_t byoca_rfc2136_in_flight(void);

#endif
