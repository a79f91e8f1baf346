/* The rfc2136 solver's blocking steps, run on the loop's worker pool:
 * finding the zone by SOA, sending an UPDATE, finding the zone's name
 * servers, asking one of them for the TXT record. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc2136_int.h"

/* Asks srv for name/type; *out the parsed answer. */
static int ask(const struct r2136_srv *srv, const struct r2136_lim *lim,
               const char *name, ldns_rr_type type, int rd, ldns_pkt **out,
               struct byoca_err *err) {
  uint8_t *q = NULL, *a = NULL;
  size_t qlen = 0, alen = 0;
  uint16_t id = r2136_id();
  int rc = r2136_query_wire(name, type, rd, id, &q, &qlen, err);
  if (rc == 0)
    rc = r2136_exchange(srv, q, qlen, 0, lim, &a, &alen, err);
  if (rc == 0)
    rc = r2136_parse(a, alen, id, srv, out, err);
  free(q);
  free(a);
  return rc;
}

int r2136_find_zone(const struct r2136_srv *srv, const struct r2136_lim *lim,
                    const char *name, char **out, struct byoca_err *err) {
  for (const char *n = name; n != NULL; n = r2136_parent(n)) {
    ldns_pkt *p = NULL;
    char *owner = NULL;
    int rc = ask(srv, lim, n, LDNS_RR_TYPE_SOA, 0, &p, err);
    if (rc != 0) {
      byoca_err_activity(err, "looking up the zone of %s", name);
      return rc;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    int found = rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN
                    ? r2136_soa_owner(p, &owner)
                    : 0;
    ldns_pkt_free(p);
    if (found < 0)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    if (found > 0 && r2136_in_zone(name, owner)) {
      *out = owner;
      return 0;
    }
    free(owner); /* none here, or one for an unrelated name: go up */
  }
  return byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INPUT,
                       "DNS server %s serves no zone holding %s (no SOA"
                       " record found for it or a parent)",
                       srv->text, name);
}

int r2136_update(const struct r2136_srv *srv, const struct r2136_lim *lim,
                 const struct r2136_key *key, const char *zone,
                 const char *name, const char *value, int add,
                 struct byoca_err *err) {
  uint8_t *q = NULL, *a = NULL;
  size_t qlen = 0, alen = 0;
  ldns_rdf *mac = NULL;
  uint16_t id = r2136_id();
  /* TCP: no truncation, and no doubt whether a lost datagram was applied */
  int rc =
      r2136_update_wire(key, zone, name, value, add, id, &q, &qlen, &mac, err);
  if (rc == 0)
    rc = r2136_exchange(srv, q, qlen, 1, lim, &a, &alen, err);
  if (rc == 0)
    rc = r2136_update_result(key, a, alen, id, mac, srv, zone, err);
  if (rc != 0)
    byoca_err_activity(err, "%s the TXT record %s in zone %s at %s",
                       add ? "adding" : "deleting", name, zone, srv->text);
  ldns_rdf_deep_free(mac);
  free(q);
  free(a);
  return rc;
}

void r2136_ns_free(struct r2136_ns *ns, size_t n) {
  for (size_t i = 0; ns != NULL && i < n; i++)
    free(ns[i].name);
  free(ns);
}

/* Addresses of ns->name asked of srv (A, then AAAA). Failures leave it
 * without addresses; the loop may still resolve it. */
static void ask_addrs(const struct r2136_srv *srv, const struct r2136_lim *lim,
                      struct r2136_ns *ns) {
  static const ldns_rr_type types[2] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
  for (int t = 0; t < 2; t++) {
    ldns_pkt *p = NULL;
    if (ask(srv, lim, ns->name, types[t], 1, &p, NULL) != 0)
      continue;
    r2136_ns_addrs(ldns_pkt_answer(p), ns, 53);
    ldns_pkt_free(p);
  }
}

int r2136_find_ns(const struct r2136_srv *srv, const struct r2136_lim *lim,
                  const char *zone, struct r2136_ns **out, size_t *n,
                  struct byoca_err *err) {
  ldns_pkt *p = NULL;
  char *names[R2136_MAX_NS];
  int rc = ask(srv, lim, zone, LDNS_RR_TYPE_NS, 0, &p, err);
  if (rc != 0) {
    byoca_err_activity(err, "looking up the name servers of %s", zone);
    return rc;
  }
  size_t count = r2136_ns_names(p, zone, names, R2136_MAX_NS);
  struct r2136_ns *ns = count > 0 ? calloc(count, sizeof(*ns)) : NULL;
  if (ns == NULL) {
    for (size_t i = 0; i < count; i++)
      free(names[i]);
    ldns_pkt_free(p);
    if (count > 0)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    return byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INPUT,
                         "DNS server %s lists no NS records for zone %s",
                         srv->text, zone);
  }
  for (size_t i = 0; i < count; i++) {
    ns[i].name = names[i];
    r2136_ns_addrs(ldns_pkt_additional(p), &ns[i], 53); /* glue */
  }
  ldns_pkt_free(p);
  for (size_t i = 0; i < count; i++) {
    if (ns[i].naddr == 0)
      ask_addrs(srv, lim, &ns[i]);
    for (size_t a = 0; a < ns[i].naddr; a++)
      r2136_srv_port_of(&ns[i].addr[a], srv);
  }
  *out = ns;
  *n = count;
  return 0;
}

void r2136_check_ns(struct r2136_ns *ns, const struct r2136_lim *lim,
                    const char *name, const char *value) {
  ns->current = 0;
  if (ns->naddr == 0 && ns->why[0] == '\0') /* else the resolver's reason */
    snprintf(ns->why, sizeof(ns->why), "no address found");
  for (size_t i = 0; i < ns->naddr; i++) {
    struct byoca_err e = {0};
    ldns_pkt *p = NULL;
    char why[128];
    if (ask(&ns->addr[i], lim, name, LDNS_RR_TYPE_TXT, 0, &p, &e) != 0) {
      byoca_strlcpy(ns->why, e.msg, sizeof(ns->why));
      byoca_err_clear(&e);
      continue;
    }
    int r = r2136_txt_match(p, name, value, why, sizeof(why));
    ldns_pkt_free(p);
    if (r == 1) {
      ns->current = 1;
      ns->why[0] = '\0';
      return;
    }
    snprintf(ns->why, sizeof(ns->why), "%.63s %.95s", ns->addr[i].text, why);
    if (r == 0)
      return; /* an authoritative answer without it decides */
  }
}
