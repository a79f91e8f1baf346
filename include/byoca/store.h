/* byoca store: the daemon's persistent state behind one interface.
 *
 * Two backends implement the same functions with the same schema and
 * semantics: SQLite (one file, WAL, foreign keys on) and PostgreSQL
 * (libpq; several byocad nodes may share one database). Schema
 * migrations are recorded in a version table and run once. Every call is
 * a short synchronous transaction.
 *
 * Secrets at rest (DESIGN.md, security model): certificate and account
 * private keys and EAB MAC keys are sealed with AES-256-GCM under a
 * per-tenant data key; the data key is stored wrapped by the master key.
 * Callers hand plaintext in and get plaintext out (as byoca_secret); the
 * database never holds it. Destroying a tenant's data key makes all its
 * sealed material unreadable (crypto-shredding); rows holding sealed
 * material are deleted with secure_delete on, and the WAL checkpointed, so
 * not even the ciphertext stays in the file. PostgreSQL keeps deleted rows
 * until VACUUM and in its WAL and backups; there the destruction of the
 * data key (whose wrapped copy may linger the same way) is what shreds.
 *
 * Ownership: every object is scoped to a tenant; functions that take a
 * tenant id and an object id return BYOCA_E_NOTFOUND when the object
 * belongs to another tenant, exactly as when it does not exist.
 */
#ifndef BYOCA_STORE_H
#define BYOCA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"
#include "byoca/util.h"

struct byoca_store;

#define BYOCA_MASTER_KEY_LEN 32

/* Reads the 32-byte master key from path (raw bytes or 64 hex digits).
 * With create set and no file there, makes one (random, mode 0600, written
 * atomically). Refuses a file readable by group or others. */
int byoca_master_key_load(const char *path, int create,
                          struct byoca_secret *out,
                          struct byoca_err *err) BYOCA_WUR;

/* Opens (creating and migrating as needed) the store at url: a file path
 * or "sqlite:PATH" (the file is created 0600), or a libpq connection URI
 * "postgresql://..." / "postgres://..." (the database must exist; the
 * tables are created). master is copied. Errors never quote the URL,
 * which may hold a password. */
int byoca_store_open(const char *url, const struct byoca_secret *master,
                     struct byoca_store **out, struct byoca_err *err) BYOCA_WUR;
/* 1 if url names a database server (PostgreSQL) rather than a file. */
int byoca_store_url_is_remote(const char *url);
/* url as it may be logged: a PostgreSQL URL as
 * postgresql://user@host:port/dbname, whatever password it held. */
void byoca_store_url_display(const char *url, char *out, size_t n);
/* 1 if url carries a password (PostgreSQL; also when it cannot be
 * parsed). */
int byoca_store_url_has_password(const char *url);
/* Closes; NULL no-op. */
void byoca_store_close(struct byoca_store *s);
/* A second connection to the store s was opened on, with its master key
 * and node name: for another thread (a connection is used by one thread
 * at a time). On SQLite it opens the same file again. */
int byoca_store_open_twin(struct byoca_store *s, struct byoca_store **out,
                          struct byoca_err *err) BYOCA_WUR;
/* The schema version the store is at. */
int byoca_store_schema_version(struct byoca_store *s);
/* "sqlite" or "postgresql" (static). */
const char *byoca_store_backend(struct byoca_store *s);
/* Names this process in the leases it takes (claimed_by) and in the nodes
 * table; the default is "<hostname>-<pid>" (byocad's manager sets its
 * node_id, default the host name). 1 to 63 bytes. */
int byoca_store_set_node(struct byoca_store *s, const char *node,
                         struct byoca_err *err) BYOCA_WUR;
/* The node name (borrowed from s). */
const char *byoca_store_node(struct byoca_store *s);
/* Names this connection in the server's session list (PostgreSQL's
 * application_name, kept across reconnections), e.g. "byocad:node1:main";
 * 1 to 63 bytes; SQLite has no such list and ignores it. */
int byoca_store_set_app_name(struct byoca_store *s, const char *name,
                             struct byoca_err *err) BYOCA_WUR;

/* Copies every row of from into to, which must be empty (just created):
 * ids, sealed values and wrapped data keys byte for byte, so nothing is
 * unsealed and to must be opened with the same master key. from is read
 * in one snapshot (stop the daemons writing to it first), to is written in
 * one transaction: on failure it stays empty. Works between any two
 * backends (byocad migrate-store). */
int byoca_store_copy(struct byoca_store *from, struct byoca_store *to,
                     struct byoca_err *err) BYOCA_WUR;

/* ---- tenants ---- */

struct byoca_tenant {
  int64_t id;
  char name[128];
  int64_t created;
  int deleting;     /* deletion started: certificates being revoked */
  char profile[64]; /* D-PROFILE default for its certificates, or "" */
  int profile_required;
};

/* Creates a tenant with a fresh data key. name: 1-64 of [A-Za-z0-9._-];
 * a duplicate name is BYOCA_E_INVAL naming it. */
int byoca_store_tenant_create(struct byoca_store *s, const char *name,
                              struct byoca_tenant *out,
                              struct byoca_err *err) BYOCA_WUR;
int byoca_store_tenant_get(struct byoca_store *s, int64_t id,
                           struct byoca_tenant *out,
                           struct byoca_err *err) BYOCA_WUR;
/* All tenants by id (caller frees *out). */
int byoca_store_tenant_list(struct byoca_store *s, struct byoca_tenant **out,
                            size_t *n, struct byoca_err *err) BYOCA_WUR;
int byoca_store_tenant_set_deleting(struct byoca_store *s, int64_t id,
                                    struct byoca_err *err) BYOCA_WUR;
/* Sets the tenant's default profile (NULL or "" = none; required only
 * with a profile). The name is not checked here. */
int byoca_store_tenant_set_profile(struct byoca_store *s, int64_t id,
                                   const char *profile, int required,
                                   struct byoca_err *err) BYOCA_WUR;
/* Destroys the tenant's data key and every row of the tenant except its
 * events (which hold no secrets); then checkpoints the WAL. */
int byoca_store_tenant_destroy(struct byoca_store *s, int64_t id,
                               struct byoca_err *err) BYOCA_WUR;

/* ---- API tokens ---- */

/* Mints a token for tenant_id (0 = operator): 32 random bytes shown once
 * as "byoca_" + base64url in token_out (at least 64 bytes); stores only
 * its SHA-256. *id_out gets the token's id. */
int byoca_store_token_mint(struct byoca_store *s, int64_t tenant_id,
                           const char *label, char *token_out, size_t outlen,
                           int64_t *id_out, struct byoca_err *err) BYOCA_WUR;
/* Finds the token: *tenant_out = its tenant (0 = operator). Compares
 * hashes in constant time; an unknown or revoked token is
 * BYOCA_E_NOTFOUND. */
int byoca_store_token_check(struct byoca_store *s, const char *token,
                            int64_t *tenant_out,
                            struct byoca_err *err) BYOCA_WUR;
/* Revokes token id of tenant_id; another tenant's is BYOCA_E_NOTFOUND. */
int byoca_store_token_revoke(struct byoca_store *s, int64_t tenant_id,
                             int64_t id, struct byoca_err *err) BYOCA_WUR;
/* A token as listed: never its secret nor its hash. */
struct byoca_token_info {
  int64_t id;
  char label[128];
  int64_t created; /* unix seconds */
};
/* The active (not revoked) tokens of tenant_id (0 = operator), by id;
 * caller frees *out. */
int byoca_store_token_list(struct byoca_store *s, int64_t tenant_id,
                           struct byoca_token_info **out, size_t *n,
                           struct byoca_err *err) BYOCA_WUR;
/* Number of operator tokens (to decide whether `init` must mint one). */
int byoca_store_operator_tokens(struct byoca_store *s, int64_t *n,
                                struct byoca_err *err) BYOCA_WUR;

/* ---- CA health (D-BACKOFF), shared by every tenant ---- */

struct byoca_ca_health {
  char issuer[256];      /* issuer-domain-name or directory URL */
  int failures;          /* consecutive CA-level failures */
  int64_t backoff_until; /* 0 = not backing off */
  int64_t backoff_secs;  /* length of the current/last backoff */
  int64_t last_ok;
  int64_t last_failure;
  char last_error[512];
};

/* Records an attempt's outcome: ok clears; a failure counts, and the 3rd
 * consecutive one starts a backoff of 5 min doubling to 24 h.
 * *started is set to 1 when this call started a backoff. */
int byoca_store_ca_record(struct byoca_store *s, const char *issuer, int ok,
                          const char *error, int64_t now, int *started,
                          struct byoca_err *err) BYOCA_WUR;
/* The health of issuer; an unknown CA is all zeros (not an error). */
int byoca_store_ca_get(struct byoca_store *s, const char *issuer,
                       struct byoca_ca_health *out,
                       struct byoca_err *err) BYOCA_WUR;
int byoca_store_ca_list(struct byoca_store *s, struct byoca_ca_health **out,
                        size_t *n, struct byoca_err *err) BYOCA_WUR;

/* ---- ACME accounts: one per tenant per CA (directory URL) ---- */

struct byoca_account_row {
  int64_t id;
  int64_t tenant_id;
  char directory[1024];
  char issuer[256]; /* "" when pinned by URL */
  char url[1024];   /* account URL (kid) */
  int64_t created;
};

/* Stores an account with its private key PEM (sealed). Replaces an
 * existing row for (tenant, directory). */
int byoca_store_account_put(struct byoca_store *s,
                            const struct byoca_account_row *row,
                            const struct byoca_secret *key_pem,
                            struct byoca_err *err) BYOCA_WUR;
/* The account of tenant at directory; key_pem may be NULL. Missing ->
 * BYOCA_E_NOTFOUND. */
int byoca_store_account_get(struct byoca_store *s, int64_t tenant_id,
                            const char *directory,
                            struct byoca_account_row *out,
                            struct byoca_secret *key_pem,
                            struct byoca_err *err) BYOCA_WUR;
/* Every account's public JWK (JSON object text, computed from the key at
 * byoca_store_account_put and stored in clear) for /.well-known/acme-keys;
 * the caller frees each string, then the array. */
int byoca_store_account_jwks(struct byoca_store *s, char ***jwks, size_t *n,
                             struct byoca_err *err) BYOCA_WUR;
/* Accounts of a tenant (no keys). */
int byoca_store_account_list(struct byoca_store *s, int64_t tenant_id,
                             struct byoca_account_row **out, size_t *n,
                             struct byoca_err *err) BYOCA_WUR;

/* ---- EAB credentials per tenant per CA (write-only through the API) ---- */

int byoca_store_eab_put(struct byoca_store *s, int64_t tenant_id,
                        const char *issuer, const char *kid,
                        const struct byoca_secret *hmac,
                        struct byoca_err *err) BYOCA_WUR;
/* kid_out (>= 256 bytes) and hmac (may be NULL); missing ->
 * BYOCA_E_NOTFOUND. */
int byoca_store_eab_get(struct byoca_store *s, int64_t tenant_id,
                        const char *issuer, char *kid_out, size_t kidlen,
                        struct byoca_secret *hmac,
                        struct byoca_err *err) BYOCA_WUR;
int byoca_store_eab_delete(struct byoca_store *s, int64_t tenant_id,
                           const char *issuer, struct byoca_err *err) BYOCA_WUR;
/* The issuers (and kids) a tenant has EAB for: parallel arrays the caller
 * frees (each string, then the arrays). */
int byoca_store_eab_list(struct byoca_store *s, int64_t tenant_id,
                         char ***issuers, char ***kids, size_t *n,
                         struct byoca_err *err) BYOCA_WUR;

/* ---- a tenant's RFC 2136 servers (the secret write-only through the API) */

/* One zone a tenant updates by RFC 2136 itself: dns-01 and dns-account-01
 * records of its lineages' names in zone go to server:port, signed with
 * the TSIG key. The secret is sealed under the tenant's data key. */
struct byoca_rfc2136_row {
  char zone[256];     /* lower case, no trailing dot; "" = any name (its
                         zone found by SOA at the server) */
  char server[64];    /* an IPv4 or IPv6 address */
  int port;           /* 1-65535 */
  char key_name[256]; /* TSIG key name */
  char algorithm[16]; /* "hmac-sha256" or "hmac-sha512" */
  int64_t created;
};

/* Stores the tenant's entry for row->zone with its base64 TSIG secret
 * (sealed), replacing an earlier one; no such tenant -> BYOCA_E_NOTFOUND. */
int byoca_store_rfc2136_put(struct byoca_store *s, int64_t tenant_id,
                            const struct byoca_rfc2136_row *row,
                            const struct byoca_secret *secret,
                            struct byoca_err *err) BYOCA_WUR;
/* The tenant's entries ordered by zone (malloc'd array); with secrets
 * non-NULL also a parallel array of the opened secrets (the caller frees
 * each with byoca_secret_free, then the array). */
int byoca_store_rfc2136_list(struct byoca_store *s, int64_t tenant_id,
                             struct byoca_rfc2136_row **out,
                             struct byoca_secret **secrets, size_t *n,
                             struct byoca_err *err) BYOCA_WUR;
/* Missing -> BYOCA_E_NOTFOUND. */
int byoca_store_rfc2136_delete(struct byoca_store *s, int64_t tenant_id,
                               const char *zone,
                               struct byoca_err *err) BYOCA_WUR;

/* ---- certificates (lineages) ---- */

enum byoca_cert_state {
  BYOCA_CERT_PENDING = 0, /* never issued yet */
  BYOCA_CERT_ISSUED,      /* a valid certificate is stored */
  BYOCA_CERT_FAILED,      /* never issued and the last attempt failed */
  BYOCA_CERT_DELETING,    /* being revoked and destroyed */
};
/* "pending", "issued", "failed", "deleting". */
const char *byoca_cert_state_str(enum byoca_cert_state st);

#define BYOCA_STORE_MAX_IDENTS 100

struct byoca_cert_row {
  int64_t id;
  int64_t tenant_id;
  char *identifiers_json; /* JSON array of strings, as requested */
  char key_type[16];      /* byoca_keytype_name */
  char ca[1024];          /* "auto", an issuer-domain-name or a URL */
  char profile[64];       /* preferred profile or "" */
  int profile_required;   /* D-PROFILE: CAs without it are skipped */
  enum byoca_cert_state state;
  /* the current certificate (state issued) */
  char issuer[256];     /* CA that issued it ("" unknown/imported) */
  char directory[1024]; /* its directory URL */
  char serial[128];
  int64_t not_before, not_after;
  char issued_profile[64]; /* the profile the CA echoed, or "" */
  char *fullchain_pem;     /* NULL unless asked for */
  /* scheduling */
  int64_t next_check;   /* indexed; due when <= now */
  char next_source[16]; /* "new", "lifetime", "retry", "ari", "forced" */
  int failures;         /* consecutive failed attempts */
  int64_t last_attempt;
  char last_outcome[512]; /* "issued by ..." or the error line */
  int64_t created, updated;
  int64_t lease_until;  /* an in-process or node claim; 0 none */
  char claimed_by[64];  /* the node holding the lease ("" none) */
  int revoke_on_delete; /* state deleting: revoke first (default 1) */
  /* ACME Renewal Information (RFC 9773) of the current certificate */
  char ari_cert_id[256];      /* its CertID ("" = none: not polled) */
  int64_t ari_start, ari_end; /* the CA's suggested window; 0 = none yet */
  char ari_explanation[1024]; /* the CA's explanationURL, or "" */
  int64_t ari_next;           /* next renewalInfo poll; 0 = never */
  int ari_failures;           /* consecutive failed polls */
};
void byoca_cert_row_clear(struct byoca_cert_row *r);

struct byoca_event;
/* Adds a lineage in state pending, due now. row->identifiers_json,
 * key_type, ca, profile, profile_required are read; *id_out receives the
 * id. ev (unless NULL) is appended to the audit log for the new id (its
 * cert_id is ignored) in the same transaction. */
int byoca_store_cert_add(struct byoca_store *s, int64_t tenant_id,
                         const struct byoca_cert_row *row, int64_t now,
                         const struct byoca_event *ev, int64_t *id_out,
                         struct byoca_err *err) BYOCA_WUR;
/* One lineage of tenant (tenant_id 0 = any tenant, for the manager); with
 * with_pem the fullchain is loaded too. */
int byoca_store_cert_get(struct byoca_store *s, int64_t tenant_id, int64_t id,
                         int with_pem, struct byoca_cert_row *out,
                         struct byoca_err *err) BYOCA_WUR;
/* Lineages of tenant with id > after, by id, at most limit (no PEMs).
 * Free with byoca_cert_rows_free. */
int byoca_store_cert_list(struct byoca_store *s, int64_t tenant_id,
                          int64_t after, size_t limit,
                          struct byoca_cert_row **out, size_t *n,
                          struct byoca_err *err) BYOCA_WUR;
void byoca_cert_rows_free(struct byoca_cert_row *rows, size_t n);
/* The private key of the current certificate (PEM, unsealed). */
int byoca_store_cert_key(struct byoca_store *s, int64_t tenant_id, int64_t id,
                         struct byoca_secret *key_pem,
                         struct byoca_err *err) BYOCA_WUR;
/* Stores a new certificate for lineage id: state issued, the chain, the
 * sealed key, serial/validity/issuer/directory/issued_profile from row,
 * next_check and next_source from row, failures 0, last_outcome from row,
 * ari_cert_id and ari_next from row (no window yet, no failures); the previous
 * key is destroyed. Also deletes the lineage's in-flight order row and
 * clears the lease, and appends ev (unless NULL; its id is ignored) to the
 * audit log, in the same transaction: a crash leaves both or neither. */
int byoca_store_cert_issued(struct byoca_store *s, int64_t id,
                            const struct byoca_cert_row *row,
                            const char *fullchain_pem,
                            const struct byoca_secret *key_pem,
                            const struct byoca_event *ev,
                            struct byoca_err *err) BYOCA_WUR;
/* Records a failed attempt: failures+1, last_outcome, next_check, state
 * failed unless it was issued; deletes the in-flight order row and clears
 * the lease. */
int byoca_store_cert_failed(struct byoca_store *s, int64_t id,
                            const char *outcome, int64_t next_check,
                            int64_t now, struct byoca_err *err) BYOCA_WUR;
/* Records a renewalInfo poll of lineage id's certificate serial (RFC
 * 9773): ari_start, ari_end, ari_explanation, ari_next and ari_failures
 * from row; next_check and next_source from row too, but only while the
 * stored next_source is "lifetime" or "ari" (a retry backoff or a forced
 * renewal stays). Nothing happens (0) when the lineage is not issued any
 * more or holds another serial: the answer was for a replaced
 * certificate. */
int byoca_store_cert_ari_set(struct byoca_store *s, int64_t id,
                             const struct byoca_cert_row *row,
                             struct byoca_err *err) BYOCA_WUR;
/* Claims up to max issued, unleased lineages whose renewalInfo poll is
 * due (0 < ari_next <= now) by setting ari_next to until (so a poll whose
 * answer is lost is made again then); returns their ids, most overdue
 * first. On PostgreSQL rows another node is claiming are skipped. */
int byoca_store_cert_ari_claim(struct byoca_store *s, int64_t now,
                               int64_t until, size_t max, int64_t *ids,
                               size_t *n, struct byoca_err *err) BYOCA_WUR;
/* Sets next_check (and source), e.g. "forced" renewals (due now). */
int byoca_store_cert_schedule(struct byoca_store *s, int64_t tenant_id,
                              int64_t id, int64_t next_check,
                              const char *source,
                              struct byoca_err *err) BYOCA_WUR;
/* Marks a lineage for deletion (revoke: whether to revoke first); ids are
 * never reused, so audit events keep naming one lineage. */
int byoca_store_cert_set_deleting(struct byoca_store *s, int64_t tenant_id,
                                  int64_t id, int revoke,
                                  struct byoca_err *err) BYOCA_WUR;
/* Deletes the lineage, its key, in-flight order and challenge tokens, and
 * appends ev (unless NULL) to the audit log in the same transaction. */
int byoca_store_cert_destroy(struct byoca_store *s, int64_t id,
                             const struct byoca_event *ev,
                             struct byoca_err *err) BYOCA_WUR;
/* Claims up to max lineages that are due (next_check <= now, or state
 * deleting) and not leased (lease_until < now): sets lease_until and
 * claimed_by (this node) and returns their ids, deletions first, then the
 * most overdue. Uses the next_check index. On PostgreSQL rows another
 * node is claiming at the same moment are skipped (FOR UPDATE SKIP
 * LOCKED), so no lineage is claimed twice. */
int byoca_store_cert_claim_due(struct byoca_store *s, int64_t now,
                               int64_t lease_until, size_t max, int64_t *ids,
                               size_t *n, struct byoca_err *err) BYOCA_WUR;
/* Clears every lease, whichever node holds it (start-up of a single
 * node). */
int byoca_store_cert_release_all(struct byoca_store *s,
                                 struct byoca_err *err) BYOCA_WUR;
/* Counts by state (indexed by enum byoca_cert_state) and the number due
 * at now. */
int byoca_store_cert_counts(struct byoca_store *s, int64_t now,
                            int64_t counts[4], int64_t *due,
                            struct byoca_err *err) BYOCA_WUR;
/* Lineages in state issued whose not_after is before `before` and whose
 * last attempt failed (for the expiry warning). ids, at most max. */
int byoca_store_cert_expiring(struct byoca_store *s, int64_t before,
                              int64_t *ids, size_t max, size_t *n,
                              struct byoca_err *err) BYOCA_WUR;

/* ---- in-flight orders (crash recovery) ---- */

struct byoca_order_row {
  int64_t cert_id;
  char directory[1024];
  char issuer[256];
  char order_url[1024];
  int64_t started;
};
/* Records (or updates) the in-flight order of a lineage; key_pem (the
 * fresh certificate key, sealed) may be NULL until it exists. Must be
 * durable when it returns. */
int byoca_store_order_put(struct byoca_store *s,
                          const struct byoca_order_row *row,
                          const struct byoca_secret *key_pem,
                          struct byoca_err *err) BYOCA_WUR;
/* The in-flight order of cert_id and its key (key_pem->data NULL when
 * none was stored); missing -> BYOCA_E_NOTFOUND. */
int byoca_store_order_get(struct byoca_store *s, int64_t cert_id,
                          struct byoca_order_row *out,
                          struct byoca_secret *key_pem,
                          struct byoca_err *err) BYOCA_WUR;
/* Deletes it and its sealed key. */
int byoca_store_order_delete(struct byoca_store *s, int64_t cert_id,
                             struct byoca_err *err) BYOCA_WUR;
/* Number of in-flight order rows (for tests and metrics). */
int byoca_store_order_count(struct byoca_store *s, int64_t *n,
                            struct byoca_err *err) BYOCA_WUR;

/* ---- challenge tokens (http-01 tokens and tls-alpn-01 rows; any node
 * answers any token) ---- */

/* Stores the key authorization of token for certificate cert_id (a row
 * of the same certificate is replaced). An unexpired row of another
 * certificate is left alone: BYOCA_E_CONFLICT, naming that certificate
 * (two lineages validating one name by tls-alpn-01 would share its
 * row; the first keeps it until its validation ends). */
int byoca_store_challenge_put(struct byoca_store *s, const char *token,
                              const char *key_authz, int64_t cert_id,
                              int64_t expires, struct byoca_err *err) BYOCA_WUR;
/* The certificate whose row holds token and has not expired at now;
 * missing or expired -> BYOCA_E_NOTFOUND. */
int byoca_store_challenge_owner(struct byoca_store *s, const char *token,
                                int64_t now, int64_t *cert_id,
                                struct byoca_err *err) BYOCA_WUR;
/* The key authorization for token into out (>= 512 bytes); missing or
 * expired -> BYOCA_E_NOTFOUND. */
int byoca_store_challenge_get(struct byoca_store *s, const char *token,
                              int64_t now, char *out, size_t outlen,
                              struct byoca_err *err) BYOCA_WUR;
/* Deletes token's row if it is certificate cert_id's (another
 * certificate's row stays); no such row is not an error. */
int byoca_store_challenge_delete(struct byoca_store *s, const char *token,
                                 int64_t cert_id,
                                 struct byoca_err *err) BYOCA_WUR;
/* Deletes every token that expired at or before now; *n (may be NULL)
 * gets how many. */
int byoca_store_challenge_purge(struct byoca_store *s, int64_t now, int64_t *n,
                                struct byoca_err *err) BYOCA_WUR;

/* ---- events: the append-only audit log ---- */

struct byoca_event {
  int64_t id;
  int64_t ts;
  int64_t tenant_id; /* 0 = operator/system */
  int64_t cert_id;   /* 0 = none */
  char type[48];     /* "certificate.issued", "key.exported", ... */
  char *detail_json; /* a JSON object */
  /* Only for the store operations that take an event (cert_add, _issued,
   * _destroy): when notify_url is set, the webhook notification
   * (notify_body) joins the outbox in the same transaction. */
  const char *notify_url;
  char *notify_body;
};
/* Appends an event; detail_json NULL = {}. Never put secrets in it. */
int byoca_store_event_add(struct byoca_store *s, int64_t tenant_id,
                          int64_t cert_id, const char *type,
                          const char *detail_json, int64_t now,
                          struct byoca_err *err) BYOCA_WUR;
/* Events with id > after, oldest first, at most limit; tenant_id < 0 =
 * every tenant (operator view). Free with byoca_events_free. */
int byoca_store_event_list(struct byoca_store *s, int64_t tenant_id,
                           int64_t after, size_t limit,
                           struct byoca_event **out, size_t *n,
                           struct byoca_err *err) BYOCA_WUR;
void byoca_events_free(struct byoca_event *ev, size_t n);

/* ---- nodes: the byocad processes sharing the store ---- */

struct byoca_node_row {
  char name[64];     /* byoca_store_node of that process */
  int64_t started;   /* when it started (unix seconds) */
  int64_t heartbeat; /* its last heartbeat */
  char version[32];  /* the byoca version it runs */
  int64_t leases;    /* lineages it holds a lease on (lease_until >= now) */
  int tls_alpn;      /* it runs a tls-alpn-01 responder ([tls-alpn]) */
};
/* Records this node's heartbeat (the row named byoca_store_node(s)):
 * created on the first beat, heartbeat/started/version/tls_alpn updated
 * after. tls_alpn: this node runs a tls-alpn-01 responder. */
int byoca_store_node_beat(struct byoca_store *s, int64_t started,
                          const char *version, int tls_alpn, int64_t now,
                          struct byoca_err *err) BYOCA_WUR;
/* *any = 1 when some node with a tls-alpn-01 responder beat at or after
 * since (it answers the store's tls-alpn-01 rows for every node). */
int byoca_store_node_alpn(struct byoca_store *s, int64_t since, int *any,
                          struct byoca_err *err) BYOCA_WUR;
/* Every node that ever beat, by name, with the leases each holds at now;
 * *out is malloc'd (free()). */
int byoca_store_node_list(struct byoca_store *s, int64_t now,
                          struct byoca_node_row **out, size_t *n,
                          struct byoca_err *err) BYOCA_WUR;
/* Clears the leases held by this node's name, on certificates and on
 * outbox rows: at start-up they belong to a previous process of the same
 * name, which is gone. Leases of other nodes are left to run out. */
int byoca_store_cert_release_node(struct byoca_store *s,
                                  struct byoca_err *err) BYOCA_WUR;
/* Moves to lease_until the leases this node still holds among ids (a
 * long order keeps its lineage); *kept is how many it still held (the
 * others ran out and may belong to another node now). */
int byoca_store_cert_lease_extend(struct byoca_store *s, const int64_t *ids,
                                  size_t n, int64_t lease_until, size_t *kept,
                                  struct byoca_err *err) BYOCA_WUR;

/* ---- outbox: webhook notifications, sent once by any node ---- */

struct byoca_outbox_row {
  int64_t id;
  char type[48]; /* the event type */
  char *url;     /* where to POST */
  char *body;    /* the JSON body */
  int tries;     /* failed tries so far */
};
void byoca_outbox_rows_free(struct byoca_outbox_row *rows, size_t n);
/* Appends an audit event (as byoca_store_event_add) and, when url is not
 * NULL, a notification of it (url, body) due at now_ms, in one
 * transaction: an event is notified exactly when it is recorded. */
int byoca_store_event_notify(struct byoca_store *s, int64_t tenant_id,
                             int64_t cert_id, const char *type,
                             const char *detail_json, int64_t now_ms,
                             const char *url, const char *body,
                             struct byoca_err *err) BYOCA_WUR;
/* Claims up to max notifications due at now_ms (next_try_ms <= now_ms)
 * whose lease ran out, leasing them to this node until lease_until
 * (seconds); on PostgreSQL rows another node is claiming are skipped
 * (FOR UPDATE SKIP LOCKED). Free *out with byoca_outbox_rows_free. */
int byoca_store_outbox_claim(struct byoca_store *s, int64_t now_ms,
                             int64_t lease_until, size_t max,
                             struct byoca_outbox_row **out, size_t *n,
                             struct byoca_err *err) BYOCA_WUR;
/* A notification delivered (or given up): its row goes. */
int byoca_store_outbox_done(struct byoca_store *s, int64_t id,
                            struct byoca_err *err) BYOCA_WUR;
/* A failed try: tries + 1, next try at next_try_ms, the error line kept,
 * the lease cleared. */
int byoca_store_outbox_retry(struct byoca_store *s, int64_t id,
                             int64_t next_try_ms, const char *error,
                             struct byoca_err *err) BYOCA_WUR;
/* Notifications waiting (for metrics and tests). */
int byoca_store_outbox_count(struct byoca_store *s, int64_t *n,
                             struct byoca_err *err) BYOCA_WUR;

#endif
