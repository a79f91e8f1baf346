/* byoca manager: keeps every tenant's certificates valid, unattended.
 *
 * The manager joins the store, CAA discovery and the ACME engine on one
 * loop. Its scheduler claims due lineages from the store by their indexed
 * next-check time, and for each runs: CA choice (pinned, or the owner's
 * CAA records with D-DEFAULT / D-FALLBACK / D-BACKOFF), the tenant's
 * account at that CA (created on first use, EAB from the tenant's or the
 * provider's credentials), the order (http-01 answered from the store's
 * challenge table, dns-01 by RFC 2136 or through a hook), then stores,
 * deploys, audits and schedules the next check (2/3 of the lifetime, 1/2
 * under 10 days, with jitter; ARI is a seam for later). Failures back off per
 * certificate (exponential) and per CA (D-BACKOFF, shared by all
 * tenants). Limits: a global and a per-CA number of orders in flight.
 *
 * Crash safety: before an order is finalized its URL and fresh key are
 * durable in the store; a restarted manager resumes that order (fetches
 * it, finalizes or downloads with the stored key) instead of ordering
 * again, and destroys keys of orders that cannot be resumed.
 */
#ifndef BYOCA_MANAGER_H
#define BYOCA_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"
#include "byoca/net.h"
#include "byoca/store.h"
#include "byoca/util.h"

struct byoca_manager;

/* A CA the provider configured ([ca "issuer"] in byocad.conf): directory
 * override (D-WELLKNOWN table) and the provider's EAB credentials, used
 * when a tenant has none of its own for that CA. */
struct byoca_manager_ca {
  const char *issuer;        /* CAA issuer-domain-name */
  const char *directory;     /* NULL = https://<issuer>/.well-known/acme */
  const char *eab_kid;       /* NULL = none */
  const char *eab_hmac_file; /* base64url MAC key file */
  const char *profile;       /* D-PROFILE: asked of this CA for lineages
                                that name no profile; NULL = none */
  int profile_required;      /* that profile is required */
};

/* A zone the provider updates by RFC 2136 ([rfc2136 "ZONE"] in
 * byocad.conf): dns-01 records of names in zone go to server, signed
 * with the TSIG key. The secret file must not be readable by group or
 * others; it is read when the options are applied (start, reload). */
struct byoca_manager_rfc2136 {
  const char *zone;               /* NULL: any name in no listed zone; its zone
                                     is then found by SOA at server */
  const char *server;             /* "IP", "IP:PORT", "[IPv6]:PORT" (port 53) */
  const char *tsig_name;          /* TSIG key name */
  const char *tsig_alg;           /* "hmac-sha256" (NULL) or "hmac-sha512" */
  const char *secret_file;        /* the base64 secret */
  int64_t propagation_timeout_ms; /* 0: the solver's default (120 s) */
  int64_t propagation_interval_ms; /* 0: 2 s */
};

/* The dns-01 solver of a tenant's stored RFC 2136 entry (row and its
 * base64 secret, as byoca_store_rfc2136_list gives them): checks the
 * server address, port, key name, algorithm, zone and secret, and
 * makes the solver into *out (byoca_solver_free). Errors name what was
 * wrong, never the secret. The daemon checks an entry this way before
 * storing it. */
struct byoca_solver;
int byoca_rfc2136_row_solver(struct byoca_loop *loop,
                             struct byoca_resolver *resolver,
                             const struct byoca_rfc2136_row *row,
                             const struct byoca_secret *secret,
                             struct byoca_solver **out,
                             struct byoca_err *err) BYOCA_WUR;
/* The same checks without making the solver: needs no loop (any thread),
 * so the daemon checks an entry where it stores it. */
int byoca_rfc2136_row_check(const struct byoca_rfc2136_row *row,
                            const struct byoca_secret *secret,
                            struct byoca_err *err) BYOCA_WUR;

/* tls-alpn-01 challenges are rows of the store's challenge table keyed
 * by this prefix and the validation server name (byoca_alpn_server_name),
 * holding the key authorization; any node's responder answers them. */
#define BYOCA_ALPN_TOKEN_PREFIX "alpn:"

struct byoca_manager_opts {
  struct byoca_loop *loop;         /* borrowed */
  struct byoca_store *store;       /* borrowed */
  struct byoca_http *http;         /* borrowed; ACME and webhook traffic */
  struct byoca_resolver *resolver; /* borrowed; CAA lookups */
  const char *node_id;             /* for logs and leases; default host */
  /* D-DEFAULT: CAs (issuer names or directory URLs) used in this order
   * when no identifier's CAA restricts issuance. */
  const char *const *default_cas;
  size_t ndefault_cas;
  const struct byoca_manager_ca *cas;
  size_t ncas;
  int require_dnssec;         /* CAA answers must be secure */
  const char *contact_email;  /* for new accounts; NULL none */
  size_t max_parallel;        /* orders in flight; default 64 */
  size_t max_parallel_per_ca; /* default 16 */
  int64_t tick_ms;            /* scheduler period; default 1000 */
  int64_t retry_base_s;       /* per-certificate backoff base;
                                 default 300, doubling, cap 1 day */
  int64_t lease_s;            /* claim lease; default 600 */
  const char *dns_hook;       /* dns-01 and dns-account-01 hook, for
                                 names in no rfc2136 zone; NULL = none */
  const struct byoca_manager_rfc2136 *rfc2136; /* dns-01 by RFC 2136 */
  size_t nrfc2136;
  const char *challenge_order; /* challenge types, best first
                                  (byoca_challenge_order_parse);
                                  NULL = byoca_challenge_default */
  int tls_alpn;                /* a tls-alpn-01 responder answers from the
                                  store (BYOCA_ALPN_TOKEN_PREFIX rows) */
  int64_t hook_timeout_ms;     /* default 300000 */
  const char *deploy_dir;      /* <dir>/<tenant>/live/<cert-id>/ in
                                  certbot layout; NULL = none */
  const char *deploy_hook;     /* run after each issuance; NULL */
  const char *webhook_url;     /* notifications; NULL = none */
  int notify_after_failures;   /* default 3 */
  int64_t expiry_warning_s;    /* default 7 days */
  int64_t order_timeout_ms;    /* how long one order may keep polling
                                  (byoca_order_req.max_wait_ms);
                                  default 1 hour */
  int64_t metrics_refresh_s;   /* certificates by state and due work
                                  are counted at most this often for
                                  /metrics; 0 = default 30, negative
                                  = at every scrape */
};

/* Creates a manager; strings in opts are copied. Nothing runs until
 * byoca_manager_start. */
int byoca_manager_new(const struct byoca_manager_opts *opts,
                      struct byoca_manager **out,
                      struct byoca_err *err) BYOCA_WUR;
/* Resumes in-flight orders found in the store and starts the scheduler. */
int byoca_manager_start(struct byoca_manager *m,
                        struct byoca_err *err) BYOCA_WUR;
/* Replaces the options that may change at run time (limits, defaults,
 * CA table, hooks, webhook, retry); loop/store/http/resolver are kept. */
int byoca_manager_reconfigure(struct byoca_manager *m,
                              const struct byoca_manager_opts *opts,
                              struct byoca_err *err) BYOCA_WUR;
/* Looks for due work on the next loop turn instead of the next tick. */
void byoca_manager_kick(struct byoca_manager *m);
/* Stops claiming work; calls done (once, from the loop) when no order is
 * in flight any more. */
void byoca_manager_drain(struct byoca_manager *m, void (*done)(void *arg),
                         void *arg);
/* Cancels whatever is still in flight (its store rows stay for the next
 * start) and frees. NULL no-op. */
void byoca_manager_free(struct byoca_manager *m);

/* ---- what the API asks for ---- */

/* Adds a lineage for tenant: names checked (1..100, valid, no
 * duplicates), key_type a byoca_keytype name (NULL = ec256), ca "auto"
 * (NULL), an issuer-domain-name or an https directory URL; profile may be
 * NULL. Audited; due at once. err names what was wrong. */
int byoca_manager_add(struct byoca_manager *m, int64_t tenant_id,
                      const char *const *names, size_t nnames,
                      const char *key_type, const char *ca, const char *profile,
                      int64_t *id_out, struct byoca_err *err) BYOCA_WUR;
/* A lineage to add, for byoca_manager_add_req. */
struct byoca_manager_cert_req {
  const char *const *names;
  size_t nnames;
  const char *key_type;
  const char *ca;
  const char *profile;  /* preferred profile (D-PROFILE), or NULL */
  int profile_required; /* CAs without it are skipped; needs profile */
};
/* byoca_manager_add with every option (profile_required without a
 * profile is BYOCA_E_INVAL naming it). */
int byoca_manager_add_req(struct byoca_manager *m, int64_t tenant_id,
                          const struct byoca_manager_cert_req *req,
                          int64_t *id_out, struct byoca_err *err) BYOCA_WUR;
/* Tracks an existing certificate: chain_pem (leaf first) and its key PEM
 * must match and the leaf must not be expired; its SANs become the
 * lineage's identifiers; renewed through ACME (ca as for add) when due.
 * Audited. */
int byoca_manager_import(struct byoca_manager *m, int64_t tenant_id,
                         const char *chain_pem,
                         const struct byoca_secret *key_pem, const char *ca,
                         int64_t *id_out, struct byoca_err *err) BYOCA_WUR;
/* Makes the lineage due now (source "forced"). */
int byoca_manager_renew(struct byoca_manager *m, int64_t tenant_id,
                        int64_t cert_id, struct byoca_err *err) BYOCA_WUR;
/* Starts deletion: revoke (D-REVOKE-ON-DELETE, reason 5) unless revoke is
 * 0 or nothing was issued, then destroy key and row, audit with the
 * public key's SHA-256. Returns at once; the lineage shows state
 * "deleting" until it is gone. */
int byoca_manager_delete(struct byoca_manager *m, int64_t tenant_id,
                         int64_t cert_id, int revoke,
                         struct byoca_err *err) BYOCA_WUR;
/* Deletes a tenant: every certificate as above, then the tenant's data
 * key and rows (crypto-shredding). Returns at once. */
int byoca_manager_delete_tenant(struct byoca_manager *m, int64_t tenant_id,
                                struct byoca_err *err) BYOCA_WUR;

/* The same in two steps, so that the store is written off the loop
 * (byocad: byoca_manager_store_run). Each *_store function is the
 * request's store part: it checks, changes the store s and audits
 * exactly as the function above does, touches nothing but its arguments
 * and s (any thread), and reads no manager state. The manager's part
 * follows on the loop, only after the store part succeeded. */

/* byoca_manager_add_req's store part; the manager's: byoca_manager_kick. */
int byoca_manager_add_store(struct byoca_store *s, int64_t tenant_id,
                            const struct byoca_manager_cert_req *req,
                            int64_t *id_out, struct byoca_err *err) BYOCA_WUR;
/* byoca_manager_renew's store part; the manager's: byoca_manager_kick. */
int byoca_manager_renew_store(struct byoca_store *s, int64_t tenant_id,
                              int64_t cert_id, struct byoca_err *err) BYOCA_WUR;
/* byoca_manager_delete's store part: the lineage marked deleting (kept
 * as it is when it already was). */
int byoca_manager_delete_store(struct byoca_store *s, int64_t tenant_id,
                               int64_t cert_id, int revoke,
                               struct byoca_err *err) BYOCA_WUR;
/* Its manager's part: a job running for the lineage stops and the
 * deletion starts at once; without one the next claim starts it. */
void byoca_manager_delete_start(struct byoca_manager *m, int64_t cert_id);
/* byoca_manager_delete_tenant's store part: the tenant and every
 * lineage of it marked deleting. */
int byoca_manager_delete_tenant_store(struct byoca_store *s, int64_t tenant_id,
                                      struct byoca_err *err) BYOCA_WUR;
/* Its manager's part: the tenant's running jobs stop and their deletions
 * start at once; the tenant is destroyed once its lineages are gone. */
void byoca_manager_delete_tenant_start(struct byoca_manager *m,
                                       int64_t tenant_id);
/* A certificate imported into the store, waiting to be deployed: holds
 * the private key in memory (wiped when freed). */
struct byoca_imported;
/* byoca_manager_import's store part (stored with its audit event); *out
 * (written only on success) for byoca_manager_imported_deploy. key_pem
 * is only read. */
int byoca_manager_import_store(struct byoca_store *s, int64_t tenant_id,
                               const char *chain_pem,
                               const struct byoca_secret *key_pem,
                               const char *ca, struct byoca_imported **out,
                               struct byoca_err *err) BYOCA_WUR;
/* The new lineage's id. */
int64_t byoca_manager_imported_id(const struct byoca_imported *im);
/* Its manager's part: writes the live files (deploy_dir; a failure is
 * logged: byocad's start writes them again) and frees im. */
void byoca_manager_imported_deploy(struct byoca_manager *m,
                                   struct byoca_imported *im);
/* Frees im without deploying (NULL: nothing); the key is wiped. */
void byoca_manager_imported_free(struct byoca_imported *im);

/* Orders in flight now. */
size_t byoca_manager_in_flight(const struct byoca_manager *m);
/* Store operations of any manager still running on a worker thread
 * (PostgreSQL): after byoca_manager_free the loop must run until this is
 * 0, or their connections and memory are not freed. */
size_t byoca_manager_store_in_flight(void);
/* The key authorization of an http-01 token (or a tls-alpn-01 row:
 * BYOCA_ALPN_TOKEN_PREFIX and the validation name) that one of this
 * manager's orders set up, from memory: 0, BYOCA_E_NOTFOUND (not one of
 * this node's, or expired; the store may know it), BYOCA_E_INVAL when it
 * does not fit outlen. Never waits for the store. */
int byoca_manager_challenge_get(struct byoca_manager *m, const char *token,
                                char *out, size_t outlen);
/* 1 when the manager's store work runs on threads of its own
 * (PostgreSQL, once started), so that byoca_manager_challenge_lookup
 * queues; 0 when the store is read on the loop (SQLite). */
int byoca_manager_store_async(const struct byoca_manager *m);
/* What byoca_manager_challenge_lookup found: rc 0 and the key
 * authorization (borrowed for the call), BYOCA_E_NOTFOUND, or another
 * error (logged; BYOCA_E_CANCELLED when the manager was freed first). */
typedef void (*byoca_challenge_cb)(void *arg, int rc, const char *key_authz);
/* Looks token up in the store (any node's answers) on a thread of the
 * manager's, never on the loop, and calls cb on the loop with the
 * result, exactly once: 0 when queued. BYOCA_E_INVAL when the store is
 * read on the loop anyway (SQLite) or the manager has not started: the
 * caller reads it itself then. BYOCA_E_TOOBIG when 128 reads already
 * wait for the store (the caller refuses: the validator retries). */
int byoca_manager_challenge_lookup(struct byoca_manager *m, const char *token,
                                   byoca_challenge_cb cb, void *arg) BYOCA_WUR;
/* Store work of byocad's requests. */
typedef void (*byoca_store_work_fn)(struct byoca_store *s, void *arg);
/* Its continuation on the loop: rc 0 after the work ran,
 * BYOCA_E_CANCELLED when the manager was freed first (the work may not
 * have run). */
typedef void (*byoca_store_done_fn)(void *arg, int rc);
/* Runs work(store, arg) on a store connection and thread of the
 * manager's own for HTTP requests (PostgreSQL, once started: never on
 * the loop, in the order queued; work touches only arg and the store it
 * is given), then done on the loop, exactly once: 0 when queued. On
 * SQLite (or before the start) both run now, on the manager's store.
 * BYOCA_E_NOMEM (nothing run). */
int byoca_manager_store_run(struct byoca_manager *m, byoca_store_work_fn work,
                            byoca_store_done_fn done, void *arg) BYOCA_WUR;
/* A node sharing the store counts as alive while its last heartbeat is
 * younger than this many seconds (three heartbeat periods). */
int64_t byoca_manager_node_alive_s(const struct byoca_manager *m);
/* Appends the Prometheus text exposition (certificates by state,
 * issuance/renewal counters by CA and outcome, order latency histogram,
 * CA backoff state, queue depth, in flight, nodes alive and this node's
 * leases). */
int byoca_manager_metrics(struct byoca_manager *m,
                          struct byoca_buf *out) BYOCA_WUR;
/* The same in three steps, so that the store is read off the loop: what
 * a scrape reads from the store (begin, on the loop; NULL when out of
 * memory), reading it on s (fetch: any thread, touches only r and s),
 * and the text (end, on the loop; frees r). */
struct byoca_metrics_read;
struct byoca_metrics_read *byoca_manager_metrics_begin(struct byoca_manager *m);
void byoca_manager_metrics_fetch(struct byoca_metrics_read *r,
                                 struct byoca_store *s);
int byoca_manager_metrics_end(struct byoca_manager *m,
                              struct byoca_metrics_read *r,
                              struct byoca_buf *out) BYOCA_WUR;
/* Frees r without the text (NULL: nothing). */
void byoca_manager_metrics_free(struct byoca_metrics_read *r);

#endif
