/* byoca caa: CAA records (RFC 8659), their RFC 8657 parameters, and the
 * domain owner's choice of CA (draft-vanbrouwershaven-acme-auto-discovery-03).
 *
 * Three layers, each usable alone:
 *  - parsing: CAA rdata from the wire, issue/issuewild values to the
 *    RFC 8659 §4.2 ABNF;
 *  - lookup: the Relevant RRset of a name (RFC 8659 §3), from DNS through
 *    the resolver or from a zone file the owner is still editing;
 *  - discovery: per identifier, which CAs are authorized; across all
 *    identifiers of a certificate, the ordered candidate CAs.
 * Every decision the specs leave open follows ../shared/specs/DECISIONS.md
 * (D-*), and every record's fate carries a reason a domain owner can read.
 */
#ifndef BYOCA_CAA_H
#define BYOCA_CAA_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"
#include "byoca/net.h"
#include "byoca/util.h"

#define BYOCA_CAA_RRTYPE 257
#define BYOCA_CAA_FLAG_CRITICAL 128 /* D-FLAG1: the only flag bit we read */
#define BYOCA_CAA_MAX_RECORDS 64    /* per RRset; more is an error */

/* ---- records ---- */

/* One CAA resource record (RFC 8659 §4.1). */
struct byoca_caa_record {
  uint8_t flags;
  char *tag;        /* as received (compare case-insensitively) */
  char *value;      /* the value bytes, NUL-terminated */
  size_t value_len; /* may contain NULs: value_len is the truth */
};

/* Parses RDATA: flags, tag length >= 1, tag of ASCII letters and digits,
 * value = the rest. BYOCA_E_PROTO with the reason otherwise. */
int byoca_caa_rdata_parse(const unsigned char *rdata, size_t len,
                          struct byoca_caa_record *out,
                          struct byoca_err *err) BYOCA_WUR;
/* Frees the strings of a record (not the struct itself). */
void byoca_caa_record_clear(struct byoca_caa_record *r);

/* ---- issue / issuewild values (RFC 8659 §4.2, RFC 8657) ---- */

struct byoca_caa_param {
  char *tag;
  char *value;
};

/* A parsed issue or issuewild value. A malformed value has valid = 0 and
 * issuer NULL: it grants nothing but still restricts (RFC 8659 §4.2). */
struct byoca_caa_value {
  int valid;
  char *issuer;                   /* lowercase; NULL when empty/malformed */
  struct byoca_caa_param *params; /* in order of appearance */
  size_t nparams;
  char error[160]; /* why malformed, for the owner */
};

/* Parses a value strictly to the ABNF (D-IDN-DOT: a trailing dot is
 * malformed; D-TAG-HYPHEN: interior '-' in parameter tags is valid).
 * Returns 0 (check out->valid) or BYOCA_E_NOMEM. */
int byoca_caa_value_parse(const char *value, size_t len,
                          struct byoca_caa_value *out) BYOCA_WUR;
void byoca_caa_value_clear(struct byoca_caa_value *v);
/* The value of parameter tag (case-insensitive), or NULL; *count (may be
 * NULL) receives how many times it appears. */
const char *byoca_caa_value_param(const struct byoca_caa_value *v,
                                  const char *tag, size_t *count);

/* ---- relevant RRset (RFC 8659 §3) ---- */

/* The Relevant RRset of one name, or why it could not be determined. */
struct byoca_caa_rrset {
  char *relevant_domain;    /* where the climb stopped; NULL if none */
  enum byoca_dnssec dnssec; /* state of the answer that decided */
  struct byoca_caa_record *records;
  size_t n;
  int lookup_error; /* 1: SERVFAIL, timeout, bogus (D-DNS-ERR) */
  char error[256];  /* the reason, when lookup_error */
};
void byoca_caa_rrset_clear(struct byoca_caa_rrset *s);

/* Completion of a lookup; rrset is owned by the callee (clear and free
 * it). err is set only when the lookup could not run at all; DNS
 * failures are reported as rrset->lookup_error. */
typedef void (*byoca_caa_lookup_cb)(void *arg, struct byoca_caa_rrset *rrset,
                                    const struct byoca_err *err);

/* Finds the Relevant RRset of name ("*.x" starts at x): queries every
 * level from the name up to, not including, the root in parallel (CNAMEs
 * are followed inside each query by the resolver, D-CNAME), and takes the
 * first non-empty level; an error at or below it makes the result a
 * lookup error, an error above it is irrelevant. require_secure refuses
 * answers that are not DNSSEC-secure. cb is called once, from the loop. */
int byoca_caa_lookup(struct byoca_resolver *r, const char *name,
                     int require_secure, byoca_caa_lookup_cb cb,
                     void *arg) BYOCA_WUR;
/* One byoca_caa_lookup_start in flight. */
struct byoca_caa_lookup;
/* byoca_caa_lookup that also hands back the lookup in *out (may be NULL),
 * valid until cb starts or byoca_caa_lookup_cancel is called. */
int byoca_caa_lookup_start(struct byoca_resolver *r, const char *name,
                           int require_secure, byoca_caa_lookup_cb cb,
                           void *arg, struct byoca_caa_lookup **out) BYOCA_WUR;
/* Stops a lookup whose callback has not started: its queries are
 * cancelled at the resolver, cb never runs, everything is freed at once
 * (nothing waits for a server that does not answer). NULL no-op. */
void byoca_caa_lookup_cancel(struct byoca_caa_lookup *lk);

/* CAA records from a master file (byoca discover --zone): lines
 *   name [ttl] [IN] CAA flags tag "value"   and
 *   name [ttl] [IN] CNAME target
 * with ';' comments, blank lines, $ORIGIN/$TTL ignored or honoured; any
 * other line is an error naming the file and line number. */
struct byoca_caa_zone;
int byoca_caa_zone_load(const char *path, struct byoca_caa_zone **out,
                        struct byoca_err *err) BYOCA_WUR;
void byoca_caa_zone_free(struct byoca_caa_zone *z);
/* The Relevant RRset of name as the zone file says (synchronous; CNAMEs
 * inside the zone followed, at most 8). dnssec is UNCHECKED. */
int byoca_caa_zone_rrset(const struct byoca_caa_zone *z, const char *name,
                         struct byoca_caa_rrset *out) BYOCA_WUR;

/* ---- authorization and discovery ---- */

/* What the tenant has and can do, against which records are judged. */
struct byoca_caa_account {
  const char *issuer; /* issuer-domain-name */
  const char *url;    /* the ACME account URL at that CA */
};

struct byoca_caa_policy {
  const char *const *methods; /* challenge types we can perform; NULL =
                                 http-01, dns-01, tls-alpn-01 */
  size_t nmethods;
  const struct byoca_caa_account *accounts;
  size_t naccounts;
  const char *const *exclude; /* issuers to leave out (backoff, user) */
  size_t nexclude;
  uint64_t seed; /* D-RANDOM: sticky order inside a group */
};

enum byoca_caa_status {
  BYOCA_CAA_UNRESTRICTED = 0, /* no relevant RRset or nothing restricts */
  BYOCA_CAA_RESTRICTED,       /* some CAs authorized (maybe none usable) */
  BYOCA_CAA_FORBIDDEN,        /* nobody may issue (issue ";", critical) */
  BYOCA_CAA_LOOKUP_ERROR,     /* D-DNS-ERR: fail closed */
};

/* One record's fate, for byoca discover. */
struct byoca_caa_verdict {
  const struct byoca_caa_record *record; /* borrowed from the rrset */
  struct byoca_caa_value parsed;         /* parsed when issue/issuewild */
  int relevant;     /* issue for a name / issuewild for a wildcard ... */
  int usable;       /* grants its issuer to us */
  int nominates;    /* usable and discovery is not "false" */
  int64_t priority; /* 0 = unspecified (D-PRIO-BAD) */
  char reason[200];
};

struct byoca_caa_ident {
  char *name; /* as given, lowercase */
  int wildcard;
  enum byoca_caa_status status;
  const struct byoca_caa_rrset *rrset; /* borrowed */
  struct byoca_caa_verdict *verdicts;  /* one per record */
  size_t nverdicts;
  char **authorized; /* issuers usable for this identifier */
  size_t nauthorized;
};

struct byoca_caa_candidate {
  char *issuer;
  int group;     /* 1 = best */
  int64_t score; /* D-COMPROMISE, lower is better */
};

enum byoca_caa_outcome {
  BYOCA_CAA_TRY_IN_ORDER = 0, /* candidates non-empty */
  BYOCA_CAA_USE_DEFAULT,      /* nothing restricts: D-DEFAULT */
  BYOCA_CAA_NO_COMMON_CA,     /* restricted, but no CA fits every name */
  BYOCA_CAA_FORBIDDEN_ALL,    /* some identifier forbids issuance */
  BYOCA_CAA_LOOKUP_FAILED,    /* some identifier's lookup failed */
};

struct byoca_caa_discovery {
  enum byoca_caa_outcome outcome;
  struct byoca_caa_ident *idents;
  size_t nidents;
  struct byoca_caa_candidate *candidates; /* ordered: group, then seeded */
  size_t ncandidates;
};

/* Judges every identifier's RRset (rrsets[i] belongs to names[i]) under
 * policy and orders the candidates (D-NOMINATE, D-COMPROMISE, D-PRIO-*,
 * D-RANDOM, D-KNOWN-TAGS, D-VM-*, D-ACCT-UNKNOWN, D-DISC-FALSE). */
int byoca_caa_discover(const char *const *names,
                       const struct byoca_caa_rrset *const *rrsets, size_t n,
                       const struct byoca_caa_policy *policy,
                       struct byoca_caa_discovery *out,
                       struct byoca_err *err) BYOCA_WUR;
void byoca_caa_discovery_clear(struct byoca_caa_discovery *d);

/* Strings for output: "unrestricted", "restricted", "forbidden",
 * "lookup_error"; "try_in_order", "use_default", "no_common_ca",
 * "forbidden", "lookup_error"; "secure", "insecure", "bogus",
 * "unchecked". */
const char *byoca_caa_status_str(enum byoca_caa_status s);
const char *byoca_caa_outcome_str(enum byoca_caa_outcome o);
const char *byoca_dnssec_str(enum byoca_dnssec d);

#endif
