/* DNS messages of the rfc2136 solver, built and read with ldns: queries,
 * TSIG-signed UPDATEs (RFC 2136, RFC 8945) and what their answers say. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byoca/crypto.h"
#include "rfc2136_int.h"

static int nomem(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

uint16_t r2136_id(void) {
  uint16_t id = 0;
  if (byoca_random(&id, sizeof(id)) != 0)
    id = (uint16_t)(byoca_now_ms() ^ (int64_t)(uintptr_t)&id);
  return id;
}

/* p (consumed) to wire form. */
static int to_wire(ldns_pkt *p, uint16_t id, uint8_t **wire, size_t *len,
                   struct byoca_err *err) {
  ldns_pkt_set_id(p, id);
  ldns_status st = ldns_pkt2wire(wire, p, len);
  ldns_pkt_free(p);
  if (st != LDNS_STATUS_OK)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "cannot encode a DNS message: %s",
                         ldns_get_errorstr_by_id(st));
  return 0;
}

int r2136_query_wire(const char *name, ldns_rr_type type, int rd, uint16_t id,
                     uint8_t **wire, size_t *len, struct byoca_err *err) {
  ldns_rdf *owner = ldns_dname_new_frm_str(name);
  if (owner == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid DNS name");
  ldns_pkt *p =
      ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0);
  if (p == NULL) {
    ldns_rdf_deep_free(owner);
    return nomem(err);
  }
  return to_wire(p, id, wire, len, err);
}

/* "name TTL IN TXT value" to add, or the same in class NONE with TTL 0,
 * which deletes exactly that record (RFC 2136 §2.5.4). */
static ldns_rr *txt_rr(const char *name, const char *value, int add) {
  ldns_rr *rr = ldns_rr_new();
  ldns_rdf *owner = ldns_dname_new_frm_str(name);
  ldns_rdf *txt = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, value);
  if (rr == NULL || owner == NULL || txt == NULL) {
    ldns_rr_free(rr);
    ldns_rdf_deep_free(owner);
    ldns_rdf_deep_free(txt);
    return NULL;
  }
  ldns_rr_set_owner(rr, owner);
  ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
  ldns_rr_set_class(rr, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
  ldns_rr_set_ttl(rr, add ? R2136_TTL : 0);
  if (!ldns_rr_push_rdf(rr, txt)) {
    ldns_rdf_deep_free(txt);
    ldns_rr_free(rr);
    return NULL;
  }
  return rr;
}

static ldns_pkt *update_pkt(const char *zone, const char *name,
                            const char *value, int add) {
  ldns_rr_list *up = ldns_rr_list_new();
  ldns_rr *rr = txt_rr(name, value, add);
  ldns_rdf *z = ldns_dname_new_frm_str(zone);
  ldns_pkt *p = NULL;
  if (up != NULL && rr != NULL && z != NULL && ldns_rr_list_push_rr(up, rr)) {
    rr = NULL; /* the list owns it */
    p = ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, up, NULL);
    if (p != NULL)
      z = NULL; /* the packet owns it */
  }
  ldns_rdf_deep_free(z);
  ldns_rr_free(rr);
  ldns_rr_list_deep_free(up);
  if (p != NULL)
    ldns_pkt_set_rd(p, false); /* RFC 2136 §2.2: no RD in an UPDATE */
  return p;
}

int r2136_update_wire(const struct r2136_key *key, const char *zone,
                      const char *name, const char *value, int add, uint16_t id,
                      uint8_t **wire, size_t *len, ldns_rdf **mac,
                      struct byoca_err *err) {
  if (!r2136_value_valid(value))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "invalid dns-01 TXT value");
  ldns_pkt *p = update_pkt(zone, name, value, add);
  if (p == NULL)
    return nomem(err);
  ldns_pkt_set_id(p, id);
  ldns_status st = ldns_pkt_tsig_sign(p, key->name, (const char *)key->b64.data,
                                      R2136_FUDGE, key->alg, NULL);
  ldns_rr *tsig = ldns_pkt_tsig(p);
  if (st != LDNS_STATUS_OK || tsig == NULL || ldns_rr_rd_count(tsig) < 4) {
    ldns_pkt_free(p);
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INPUT,
                         "cannot sign the DNS update with TSIG key %s (%s):"
                         " %s",
                         key->name, key->alg, ldns_get_errorstr_by_id(st));
  }
  if ((*mac = ldns_rdf_clone(ldns_rr_rdf(tsig, 3))) == NULL) {
    ldns_pkt_free(p);
    return nomem(err);
  }
  int rc = to_wire(p, id, wire, len, err);
  if (rc != 0) {
    ldns_rdf_deep_free(*mac);
    *mac = NULL;
  }
  return rc;
}

int r2136_parse(const uint8_t *wire, size_t len, uint16_t id,
                const struct r2136_srv *from, ldns_pkt **out,
                struct byoca_err *err) {
  ldns_pkt *p = NULL;
  if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK || p == NULL ||
      ldns_pkt_id(p) != id || !ldns_pkt_qr(p)) {
    ldns_pkt_free(p);
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_RETRYABLE,
                         "malformed DNS answer from %s", from->text);
  }
  *out = p;
  return 0;
}

/* What usually causes a refusal, for the message. */
static const char *hint(int rcode, int tsig_error) {
  if (tsig_error == 16)
    return ": the secret or the algorithm does not match the server's key";
  if (tsig_error == 17)
    return ": the server does not know this key name";
  if (tsig_error == 18)
    return ": the clocks differ by more than 5 minutes";
  if (rcode == 9 || rcode == 5)
    return ": the key may not update this zone, or the server is not its"
           " primary";
  if (rcode == 10)
    return ": the record is not inside this zone";
  return "";
}

static int refused(const struct r2136_key *key, const ldns_pkt *p,
                   const struct r2136_srv *srv, const char *zone,
                   struct byoca_err *err) {
  char b1[16], b2[16], tsig[48] = "";
  int rcode = ldns_pkt_get_rcode(p);
  const ldns_rr *t = ldns_pkt_tsig(p);
  int terr = 0;
  if (t != NULL && ldns_rr_rd_count(t) > 5)
    terr = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
  if (terr != 0)
    snprintf(tsig, sizeof(tsig), ", TSIG error %s",
             r2136_rcode_str(terr, b2, sizeof(b2)));
  return byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INPUT,
                       "DNS server %s refused the update of zone %s with key"
                       " %s: %s%s%s",
                       srv->text, zone, key->name,
                       r2136_rcode_str(rcode, b1, sizeof(b1)), tsig,
                       hint(rcode, terr));
}

int r2136_update_result(const struct r2136_key *key, const uint8_t *wire,
                        size_t len, uint16_t id, const ldns_rdf *mac,
                        const struct r2136_srv *srv, const char *zone,
                        struct byoca_err *err) {
  ldns_pkt *p = NULL;
  int rc = r2136_parse(wire, len, id, srv, &p, err);
  if (rc != 0)
    return rc;
  if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR) {
    rc = refused(key, p, srv, zone, err);
  } else if (ldns_pkt_tsig(p) == NULL ||
             !ldns_pkt_tsig_verify(p, wire, len, key->name,
                                   (const char *)key->b64.data, mac)) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                       "DNS server %s accepted the update of zone %s but its"
                       " answer is not signed with key %s",
                       srv->text, zone, key->name);
  }
  ldns_pkt_free(p);
  return rc;
}

/* The owner of rr as an FQDN in lower case, or NULL. */
static char *owner_of(const ldns_rdf *dname) {
  char *s = ldns_rdf2str(dname), *out = NULL;
  if (s != NULL && r2136_fqdn(s, "name", &out, NULL) != 0)
    out = NULL;
  free(s);
  return out;
}

static int soa_in(const ldns_rr_list *list, char **out) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA)
      continue;
    *out = owner_of(ldns_rr_owner(rr));
    return *out != NULL ? 1 : -1;
  }
  return 0;
}

int r2136_soa_owner(const ldns_pkt *p, char **out) {
  int r = soa_in(ldns_pkt_answer(p), out);
  return r != 0 ? r : soa_in(ldns_pkt_authority(p), out);
}

/* 1 if the owner of rr is name (an FQDN). */
static int owned_by(const ldns_rr *rr, const char *name) {
  char *o = owner_of(ldns_rr_owner(rr));
  int same = o != NULL && strcasecmp(o, name) == 0;
  free(o);
  return same;
}

size_t r2136_ns_names(const ldns_pkt *p, const char *zone, char **out,
                      size_t max) {
  const ldns_rr_list *an = ldns_pkt_answer(p);
  size_t n = 0;
  for (size_t i = 0; i < ldns_rr_list_rr_count(an) && n < max; i++) {
    const ldns_rr *rr = ldns_rr_list_rr(an, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !owned_by(rr, zone) ||
        ldns_rr_rd_count(rr) < 1)
      continue;
    if ((out[n] = owner_of(ldns_rr_rdf(rr, 0))) != NULL)
      n++;
  }
  return n;
}

static int same_addr(const struct r2136_srv *a, const struct r2136_srv *b) {
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* Appends the address of an A/AAAA record to ns, unless already there. */
static void add_addr(struct r2136_ns *ns, const ldns_rdf *rd, uint16_t port) {
  struct r2136_srv s;
  memset(&s, 0, sizeof(s));
  size_t sz = ldns_rdf_size(rd);
  if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A && sz == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&s.ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, ldns_rdf_data(rd), 4);
    s.len = sizeof(*a);
  } else if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA && sz == 16) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s.ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, ldns_rdf_data(rd), 16);
    s.len = sizeof(*a);
  } else {
    return;
  }
  for (size_t i = 0; i < ns->naddr; i++)
    if (same_addr(&ns->addr[i], &s))
      return;
  r2136_srv_name(&s);
  if (ns->naddr < R2136_MAX_ADDR)
    ns->addr[ns->naddr++] = s;
}

void r2136_ns_addrs(const ldns_rr_list *list, struct r2136_ns *ns,
                    uint16_t port) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(list, i);
    ldns_rr_type t = ldns_rr_get_type(rr);
    if ((t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) &&
        ldns_rr_rd_count(rr) == 1 && owned_by(rr, ns->name))
      add_addr(ns, ldns_rr_rdf(rr, 0), port);
  }
}

/* 1 if the character-strings of a TXT record spell value. */
static int txt_is(const ldns_rr *rr, const char *value) {
  size_t vlen = strlen(value), used = 0;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
    const ldns_rdf *rd = ldns_rr_rdf(rr, i);
    const uint8_t *d = ldns_rdf_data(rd);
    size_t sz = ldns_rdf_size(rd);
    if (sz < 1 || d[0] != sz - 1 || used + d[0] > vlen ||
        memcmp(value + used, d + 1, d[0]) != 0)
      return 0;
    used += d[0];
  }
  return used == vlen;
}

int r2136_txt_match(const ldns_pkt *p, const char *name, const char *value,
                    char *why, size_t whylen) {
  char b[16];
  int rcode = ldns_pkt_get_rcode(p);
  if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
    snprintf(why, whylen, "answered %s", r2136_rcode_str(rcode, b, sizeof(b)));
    return -1;
  }
  if (!ldns_pkt_aa(p)) {
    snprintf(why, whylen, "answered without authority");
    return -1;
  }
  const ldns_rr_list *an = ldns_pkt_answer(p);
  size_t others = 0;
  for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(an, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || !owned_by(rr, name))
      continue;
    if (txt_is(rr, value))
      return 1;
    others++;
  }
  if (rcode == LDNS_RCODE_NXDOMAIN)
    snprintf(why, whylen, "answered NXDOMAIN");
  else
    snprintf(why, whylen, "answered %zu other TXT record%s", others,
             others == 1 ? "" : "s");
  return 0;
}
