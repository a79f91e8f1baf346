/* The rfc2136 dns-01 solver's parts: names and options (rfc2136_name.c),
 * DNS messages built and read with ldns (rfc2136_msg.c), one exchange with
 * a server over UDP or TCP (rfc2136_wire.c), the blocking steps a worker
 * thread runs (rfc2136_zone.c), and the solver on the loop (rfc2136.c,
 * rfc2136_wait.c). Only lib/solve includes ldns.
 */
#ifndef BYOCA_SOLVE_RFC2136_INT_H
#define BYOCA_SOLVE_RFC2136_INT_H

#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "byoca/solve.h"
#include "byoca/util.h"

#define R2136_TTL 60          /* of the TXT records we add */
#define R2136_FUDGE 300       /* TSIG time fudge, seconds (RFC 8945 §10) */
#define R2136_MAX_NS 16       /* name servers checked per zone */
#define R2136_MAX_ADDR 4      /* addresses tried per name server */
#define R2136_MAX_MSG 65535   /* largest DNS message read */
#define R2136_NAME_MAX 253    /* presentation length without the root dot */
#define R2136_SECRET_MAX 4096 /* bytes of a TSIG secret file */
#define R2136_VALUE_MAX 255   /* one TXT character-string */

/* A server: address, port and how messages name it ("192.0.2.1:53",
 * "[2001:db8::1]:5353"). */
struct r2136_srv {
  struct sockaddr_storage ss;
  socklen_t len;
  char text[64];
};

/* Per query: how long to wait for one answer, and how many sends. */
struct r2136_lim {
  int64_t timeout_ms;
  int tries;
};

/* A TSIG key: name and algorithm as ldns spells them (FQDNs), the secret
 * as canonical base64 text (what ldns signs with). */
struct r2136_key {
  char *name;
  const char *alg; /* static string */
  struct byoca_secret b64;
};

/* One name server of the zone and what the last check found. */
struct r2136_ns {
  char *name;
  struct r2136_srv addr[R2136_MAX_ADDR];
  size_t naddr;
  int current;   /* the last check found the value */
  char why[160]; /* why it lags, for the timeout message */
};

/* ---- names and options (rfc2136_name.c) ---- */

/* name in lower case with one trailing dot, checked as a host-like DNS
 * name (labels of 1-63 of [A-Za-z0-9_-], or a leading "*"; at most 253
 * characters; not the root). *out caller frees. BYOCA_E_INVAL (err names
 * what) or BYOCA_E_NOMEM. */
int r2136_fqdn(const char *name, const char *what, char **out,
               struct byoca_err *err);
/* The parent of an FQDN ("b.c." for "a.b.c."), borrowed from fqdn; NULL
 * for a top-level name ("c."): the walk stops below the root. */
const char *r2136_parent(const char *fqdn);
/* 1 if the FQDN name is zone or below it (ASCII case-insensitive). */
int r2136_in_zone(const char *name, const char *zone);
/* "hmac-sha256" (also NULL) or "hmac-sha512", any case, optional trailing
 * dot -> the algorithm's FQDN; NULL if not one of those. */
const char *r2136_alg(const char *name);
/* Parses "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (port 53 when
 * absent) into out. BYOCA_E_INVAL naming the value. */
int r2136_srv_parse(const char *s, struct r2136_srv *out,
                    struct byoca_err *err);
/* Fills out->text from out->ss. */
void r2136_srv_name(struct r2136_srv *out);
/* Gives a the port of srv when both have the same IP: a name server at
 * the update server's address is the update server. */
void r2136_srv_port_of(struct r2136_srv *a, const struct r2136_srv *srv);
/* The base64 (or base64url) secret of a TSIG key from text (len bytes),
 * re-encoded as canonical base64 into out. The error names what, never
 * the text. */
int r2136_secret_parse(const char *text, size_t len, const char *what,
                       struct byoca_secret *out, struct byoca_err *err);
/* The same from a file (warns when group or others may read it). */
int r2136_secret_load(const char *path, struct byoca_secret *out,
                      struct byoca_err *err);
/* 1 if value can be a dns-01 TXT value: 1-255 base64url characters. */
int r2136_value_valid(const char *value);
/* "NOERROR", "NOTAUTH", ... for an rcode; "BADSIG", ... for a TSIG error
 * (RFC 8945 §5.2); "RCODE 42" for others (buf used then). */
const char *r2136_rcode_str(int rcode, char *buf, size_t len);

/* ---- messages (rfc2136_msg.c) ---- */

/* A random 16-bit message id. */
uint16_t r2136_id(void);
/* Wire form of a query for name/type (RD set when rd), id given. *wire
 * caller frees. */
int r2136_query_wire(const char *name, ldns_rr_type type, int rd, uint16_t id,
                     uint8_t **wire, size_t *len, struct byoca_err *err);
/* Wire form of an UPDATE of zone adding (add) or deleting exactly
 * (class NONE, RFC 2136 §2.5.4) the record "name TTL IN TXT value",
 * TSIG-signed with key. *mac (ldns_rdf_deep_free) is the request's MAC,
 * to verify the answer with. */
int r2136_update_wire(const struct r2136_key *key, const char *zone,
                      const char *name, const char *value, int add, uint16_t id,
                      uint8_t **wire, size_t *len, ldns_rdf **mac,
                      struct byoca_err *err);
/* Parses an answer and checks it answers message id. *out
 * (ldns_pkt_free). */
int r2136_parse(const uint8_t *wire, size_t len, uint16_t id,
                const struct r2136_srv *from, ldns_pkt **out,
                struct byoca_err *err);
/* Judges the answer to an update: 0 when NOERROR and signed by key over
 * mac; otherwise an INPUT-class error naming the server, the zone, the
 * rcode and the TSIG error. */
int r2136_update_result(const struct r2136_key *key, const uint8_t *wire,
                        size_t len, uint16_t id, const ldns_rdf *mac,
                        const struct r2136_srv *srv, const char *zone,
                        struct byoca_err *err);
/* The owner of the SOA in the answer, else in the authority section, as
 * an FQDN (*out caller frees); 1 if found, 0 if none, <0 on NOMEM. */
int r2136_soa_owner(const ldns_pkt *p, char **out);
/* The NS names of zone in the answer section, up to max, FQDNs (caller
 * frees each). Returns how many. */
size_t r2136_ns_names(const ldns_pkt *p, const char *zone, char **out,
                      size_t max);
/* Adds the A/AAAA addresses of ns->name found in list (any section),
 * with port, up to R2136_MAX_ADDR. */
void r2136_ns_addrs(const ldns_rr_list *list, struct r2136_ns *ns,
                    uint16_t port);
/* 1 if p is an authoritative answer holding "name TXT value"; 0 if it
 * answers without it (why says what it said); -1 if not authoritative or
 * not an answer. */
int r2136_txt_match(const ldns_pkt *p, const char *name, const char *value,
                    char *why, size_t whylen);

/* ---- one exchange (rfc2136_wire.c) ---- */

/* Sends q (qlen bytes, message id in its first two bytes) to srv and
 * returns the answer to it: over TCP when tcp, else over UDP falling back
 * to TCP when truncated. Each try waits lim->timeout_ms. *out caller
 * frees. */
int r2136_exchange(const struct r2136_srv *srv, const uint8_t *q, size_t qlen,
                   int tcp, const struct r2136_lim *lim, uint8_t **out,
                   size_t *outlen, struct byoca_err *err);

/* ---- blocking steps (rfc2136_zone.c), for a worker thread ---- */

/* The zone holding name according to srv: SOA asked for name, then each
 * parent, until an answer names a SOA. *out caller frees. */
int r2136_find_zone(const struct r2136_srv *srv, const struct r2136_lim *lim,
                    const char *name, char **out, struct byoca_err *err);
/* Sends one signed UPDATE (see r2136_update_wire) over TCP and judges
 * its answer. */
int r2136_update(const struct r2136_srv *srv, const struct r2136_lim *lim,
                 const struct r2136_key *key, const char *zone,
                 const char *name, const char *value, int add,
                 struct byoca_err *err);
/* The zone's name servers (NS at srv) with their addresses from glue or
 * A/AAAA queries to srv; an address equal to srv's is given srv's port.
 * Names left without an address have naddr 0. *out array of *n,
 * free with r2136_ns_free. */
int r2136_find_ns(const struct r2136_srv *srv, const struct r2136_lim *lim,
                  const char *zone, struct r2136_ns **out, size_t *n,
                  struct byoca_err *err);
void r2136_ns_free(struct r2136_ns *ns, size_t n);
/* Asks each of ns's addresses, without recursion, for name's TXT until
 * one answers authoritatively; sets ns->current and ns->why. */
void r2136_check_ns(struct r2136_ns *ns, const struct r2136_lim *lim,
                    const char *name, const char *value);

/* ---- the solver on the loop (rfc2136.c, rfc2136_wait.c) ---- */

/* What the solver was configured with; immutable once built, so worker
 * threads may read it. refs (touched on the loop only): the solver and
 * each running operation, so the solver may be freed while one runs. */
struct r2136_cfg {
  struct byoca_loop *loop;
  struct byoca_resolver *resolver; /* borrowed; may be NULL */
  struct r2136_srv srv;
  struct r2136_key key;
  char *zone; /* NULL: found per record by SOA */
  struct r2136_lim lim;
  int64_t wait_ms;     /* propagation timeout */
  int64_t interval_ms; /* between propagation checks */
  int refs;
  int closing; /* the solver was freed: operations stop waiting */
};

/* One setup or cleanup in flight. */
struct r2136_op {
  struct r2136_cfg *cfg;
  int add;
  char *name;  /* the record's FQDN */
  char *value; /* the TXT value */
  byoca_solve_cb cb;
  void *arg;
  char *zone;          /* the zone updated (worker) */
  int added;           /* the record is in the zone: remove it on failure */
  struct r2136_ns *ns; /* the zone's name servers (worker) */
  size_t nns;
  struct byoca_err err;  /* of the last worker step */
  struct byoca_err fail; /* reported once the record is removed again */
  int64_t deadline;      /* monotonic ms: end of the propagation wait */
  size_t resolving;      /* name server lookups in flight */
};

/* Waits until every name server of op->zone serves the record, then
 * finishes op (r2136_op_fail on timeout). */
void r2136_wait_start(struct r2136_op *op);
/* Monotonic milliseconds. */
int64_t r2136_mono_ms(void);
/* Counts operations in flight (byoca_rfc2136_in_flight). */
void r2136_running_add(int delta);
/* Fails op with err: removes the record first when it was added. */
void r2136_op_fail(struct r2136_op *op, const struct byoca_err *err);
/* Calls op's callback with err (NULL = success) and frees op. */
void r2136_op_finish(struct r2136_op *op, const struct byoca_err *err);

#endif
