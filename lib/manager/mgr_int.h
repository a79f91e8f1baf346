/* lib/manager internals: the manager object, its jobs (one lineage's
 * attempt or deletion each), and the pure policy functions the unit tests
 * drive directly (schedule, candidate filtering, metrics escaping). */
#ifndef BYOCA_MGR_INT_H
#define BYOCA_MGR_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "byoca/acme.h"
#include "byoca/caa.h"
#include "byoca/crypto.h"
#include "byoca/manager.h"
#include "byoca/solve.h"

#define MGR_DAY 86400
#define MGR_MAX_CLAIM 256       /* lineages claimed per tick at most */
#define MGR_JOB_DEADLINE_S 3600 /* one attempt of a lineage, all CAs */
#define MGR_REVOKE_TRIES 5      /* then the key is destroyed anyway */
#define MGR_WEBHOOK_TRIES 5
#define MGR_CHALLENGE_TTL_S 7200

/* Challenge types the manager can answer (bit mask). */
#define MGR_M_HTTP01 1u
#define MGR_M_DNS01 2u
#define MGR_M_TLSALPN01 4u
#define MGR_M_DNSACCT01 8u
#define MGR_M_ALL 15u

/* ---- configuration (config.c): deep copies of the options ---- */

struct mgr_ca {
  char *issuer;
  char *directory;
  char *eab_kid;
  char *eab_hmac_file;
  char *profile; /* D-PROFILE, for lineages that name none */
  int profile_required;
};

struct mgr_cfg {
  char *node_id;
  char **default_cas;
  size_t ndefault_cas;
  struct mgr_ca *cas;
  size_t ncas;
  int require_dnssec;
  char *contact_email;
  size_t max_parallel;
  size_t max_parallel_per_ca;
  int64_t tick_ms;
  int64_t retry_base_s;
  int64_t lease_s;
  char *dns_hook;
  int tls_alpn; /* a responder answers tls-alpn-01 from the store */
  const char *chall_order[BYOCA_CHALLENGE_TYPES_MAX]; /* static names */
  size_t nchall_order;                                /* 0: the default order */
  int64_t hook_timeout_ms;
  char *deploy_dir;
  char *deploy_hook;
  char *webhook_url;
  int notify_after_failures;
  int64_t expiry_warning_s;
  int64_t order_timeout_ms;
  int64_t metrics_refresh_s; /* 0: count at every scrape */
};
/* How long one job may run: an hour, or the order timeout and 10 minutes
 * for the rest of the attempt when that is longer. */
int64_t mgr_job_deadline_ms(const struct mgr_cfg *cfg);

/* Copies opts into cfg with defaults filled in; err names a bad option. */
int mgr_cfg_copy(struct mgr_cfg *cfg, const struct byoca_manager_opts *opts,
                 struct byoca_err *err);
void mgr_cfg_free(struct mgr_cfg *cfg);
/* The provider's [ca] entry for issuer (case-insensitive), or NULL. */
const struct mgr_ca *mgr_cfg_ca(const struct mgr_cfg *cfg, const char *issuer);
/* 1 if s is an https:// URL. */
int mgr_is_url(const char *s);

/* ---- schedule.c (pure, clock passed in) ---- */

/* An ARI suggested window (RFC 9773), unix seconds. */
struct mgr_window {
  int64_t start;
  int64_t end;
};

/* D-ARI lifetime rule: 2/3 of the lifetime after notBefore (1/2 under 10
 * days), jitter of +-lifetime/50 from rnd, never after notAfter - 1/10 of
 * the lifetime, never before now. */
int64_t mgr_sched_lifetime(int64_t not_before, int64_t not_after, int64_t now,
                           uint64_t rnd);
/* The next check after an issuance: a uniform instant of the ARI window
 * when one is given (source "ari"), else the lifetime rule ("lifetime"). */
int64_t mgr_sched_next(const struct mgr_window *ari, int64_t not_before,
                       int64_t not_after, int64_t now, uint64_t rnd,
                       const char **source);
/* Delay in seconds before retrying after the failures-th consecutive
 * failure: base * 2^(failures-1), +-10% jitter from rnd, at most 1 day. */
int64_t mgr_sched_backoff(int64_t base, int failures, uint64_t rnd);
/* 64 random bits from the CSPRNG (0 if it fails). */
uint64_t mgr_random(void);

/* ---- candidates (choose.c) ---- */

struct mgr_cand {
  char *issuer;     /* CA health key and label: issuer name or the URL */
  char *directory;  /* directory URL when known (pinned URL, override) */
  int by_url;       /* pinned by directory URL: no issuer-domain-name */
  unsigned methods; /* MGR_M_* our solvers may use at this CA */
};

struct mgr_cands {
  struct mgr_cand *v;
  size_t n;
};

void mgr_cands_clear(struct mgr_cands *c);
/* Appends a candidate (strings copied); BYOCA_E_NOMEM. */
int mgr_cands_add(struct mgr_cands *c, const char *issuer,
                  const char *directory, int by_url, unsigned methods);
/* Drops candidates whose health (health[i] belongs to c->v[i]) says they
 * are backing off at now, or that have no method left; appends each
 * reason to why ("ISSUER: reason; "). Returns how many are left. */
size_t mgr_cands_filter(struct mgr_cands *c,
                        const struct byoca_ca_health *health, int64_t now,
                        struct byoca_buf *why);
/* The reasons gathered in why, without the trailing "; " (borrowed). */
const char *mgr_why(struct byoca_buf *why);
/* D-EAB: 1 if a CA must be skipped: it requires EAB, the tenant has no
 * account there yet, and no credentials exist. */
int mgr_eab_skip(int eab_required, int have_account, int have_eab);
/* The MGR_M_* of ours the CAA records of every restricting identifier
 * allow for issuer (RFC 8657 validationmethods). */
/* The MGR_M_* our configured solvers answer (for j's tenant when j is
 * not NULL: its own RFC 2136 zones count). */
struct mgr_job;
unsigned mgr_methods_ours(const struct byoca_manager *m,
                          const struct mgr_job *j);
unsigned mgr_methods_allowed(const struct byoca_caa_discovery *d,
                             const char *issuer, unsigned ours);
/* D-RANDOM seed for a lineage. */
uint64_t mgr_seed(int64_t cert_id);

/* ---- metrics.c ---- */

/* Appends v escaped as a Prometheus label value (\\, \", \n). */
int mgr_prom_escape(struct byoca_buf *out, const char *v);

struct mgr_counter {
  char *ca;
  int renewal;
  int ok;
  uint64_t n;
};

#define MGR_NBUCKETS 9 /* 0.5 1 2 5 10 30 60 300 +Inf */

struct mgr_metrics {
  struct mgr_counter *issuance;
  size_t nissuance;
  uint64_t buckets[MGR_NBUCKETS];
  double sum;
  uint64_t count;
};

void mgr_metrics_issuance(struct mgr_metrics *mt, const char *ca, int renewal,
                          int ok);
void mgr_metrics_duration(struct mgr_metrics *mt, double seconds);
void mgr_metrics_free(struct mgr_metrics *mt);
/* The histogram and counters as exposition text (no store access). */
int mgr_metrics_text(const struct mgr_metrics *mt, struct byoca_buf *out);

/* ---- the manager ---- */

struct mgr_job;
struct mgr_notice;
struct mgr_ari_batch;
struct mgr_ari_answer;

struct mgr_dirent {
  char *issuer;
  char *url;
  int64_t expires;
};

struct mgr_slot {
  char *ca;
  size_t n;
};

/* An account registration under way for (tenant, directory): other jobs
 * of that tenant at that CA wait for it instead of registering their own
 * (D-KEYS: one account per tenant per CA). */
struct mgr_acct_reg {
  struct mgr_acct_reg *next;
  int64_t tenant_id;
  char *directory;
};

struct mgr_idset {
  int64_t *v;
  int *count;
  size_t n;
};

struct byoca_manager {
  struct byoca_loop *loop;
  struct byoca_store *store;
  struct byoca_http *http;
  struct byoca_resolver *resolver;
  struct mgr_cfg cfg;
  struct mgr_dns *dns; /* RFC 2136 zones; NULL = none */
  int started;
  int draining;
  int tenant_sweep; /* look for tenants whose deletion may finish */
  void (*drain_done)(void *arg);
  void *drain_arg;
  struct byoca_timer *tick_timer;
  struct byoca_timer *kick_timer;
  struct byoca_timer *drain_timer;
  struct mgr_job *jobs;    /* running, doubly linked */
  struct mgr_job *zombies; /* ended, waiting for late callbacks */
  size_t njobs;
  int claim_full; /* the last claim used every free slot */
  struct mgr_slot *slots;
  size_t nslots;
  struct mgr_acct_reg *acct_regs; /* registrations under way */
  struct mgr_dirent *dircache;
  size_t ndircache;
  struct mgr_notice *notices; /* webhook posts in flight */
  size_t nnotices;
  int pumping;
  int64_t started_at; /* this node's start (nodes table) */
  struct byoca_timer *beat_timer;
  int alpn_elsewhere;          /* no responder here, but a live node has one */
  struct mgr_idset revoke_try; /* failed revocation attempts */
  struct mgr_idset warned;     /* expiry warnings sent (count = day) */
  struct mgr_idset unrecorded; /* outcomes the store refused (full disk) */
  int64_t next_expiry_check;
  int64_t next_sweep;
  struct mgr_metrics metrics;
  /* what /metrics shows of the store, counted at most every
   * cfg.metrics_refresh_s (a count scans the certificates) */
  int64_t counts[4];
  int64_t due;
  int64_t counted_at_ms;             /* 0: never */
  struct mgr_ari_batch *ari_batches; /* renewalInfo polls under way */
  size_t ari_inflight;               /* lineages they poll */
  struct mgr_lane *lane;             /* periodic store work (lane.c) */
  struct mgr_lane *jlane;            /* the jobs' store work (lane.c) */
  struct mgr_lane *alane;            /* byocad's requests (store_run.c) */
  int claiming;                      /* a claim is on the lane */
  int claim_again;                   /* claim once more after it */
  int beating;                       /* a heartbeat is on the lane */
  int purging;                       /* a token purge is on the lane */
  int ari_claiming;                  /* an ARI claim is on the lane */
  int pump_again;                    /* pump the outbox once more */
  struct mgr_answers *answers;       /* this node's challenges (answers.c) */
  size_t lookups; /* other nodes' answers being read (answers.c) */

  /* the periodic lane's other operations (at most one of each kind) */
  int expiry_checking; /* an expiry check */
  int sweeping;        /* a tenant sweep */
  int sweep_again;     /* sweep once more after it */
  int retrying;        /* outcomes the store refused, recorded again */
  int deploy_checking; /* the start's deploy check (no claims meanwhile) */
  int ari_applying;    /* renewal-window answers being stored */
  struct mgr_ari_answer *ari_answers; /* answers waiting for the next */
};

/* ---- this node's challenge answers (answers.c) ---- */

/* The longest challenge token (an http-01 token or a tls-alpn-01 row's
 * name) and key authorization looked up. */
#define MGR_TOKEN_MAX 300
#define MGR_KEYAUTHZ_MAX 1024
/* Other nodes' challenge answers read at once at most: a validator (or
 * anyone) opening connections faster than the store answers is refused
 * beyond it instead of queueing reads ahead of the jobs' store work. */
#define MGR_LOOKUPS_MAX 128

struct mgr_answers;
/* An empty set, one reference; NULL when out of memory. */
struct mgr_answers *mgr_answers_new(void);
/* Another reference to a (NULL: none). */
struct mgr_answers *mgr_answers_ref(struct mgr_answers *a);
/* Drops a reference; the last frees the set. */
void mgr_answers_unref(struct mgr_answers *a);
/* Answers token with key_authz for lineage cert_id until expires
 * (replacing what it answered before); 0 or BYOCA_E_NOMEM. */
int mgr_answers_put(struct mgr_answers *a, const char *token,
                    const char *key_authz, int64_t cert_id, int64_t expires);
/* Stops answering token if lineage cert_id set it up. */
void mgr_answers_del(struct mgr_answers *a, const char *token, int64_t cert_id);

/* ---- the store lane (lane.c) ---- */

/* One operation on the lane: embedded first in a malloc'd block; the
 * lane frees the block after done (or drop). */
struct mgr_lane_op {
  struct mgr_lane_op *next;
  /* on a worker thread (PostgreSQL) or the loop (SQLite): only s and op */
  void (*work)(struct byoca_store *s, struct mgr_lane_op *op);
  /* on the loop afterwards, unless the manager was freed meanwhile */
  void (*done)(struct byoca_manager *m, struct mgr_lane_op *op);
  /* instead of done then, or when never run: frees what work left in op
   * (NULL: nothing) */
  void (*drop)(struct mgr_lane_op *op);
};
/* Names the store connection s "byocad:<node>:<role>" for the server's
 * session list (PostgreSQL's application_name); logs a failure. */
void mgr_store_name(struct byoca_store *s, const char *role);
/* Opens the lanes (a second, third and fourth connection on PostgreSQL). */
int mgr_lane_open(struct byoca_manager *m, struct byoca_err *err);
/* Queues op (taken over) on the periodic work's lane; on SQLite it runs
 * at once, done included. */
void mgr_lane_run(struct byoca_manager *m, struct mgr_lane_op *op);
/* The same on the jobs' lane. */
void mgr_lane_run_job(struct byoca_manager *m, struct mgr_lane_op *op);
/* The same on the HTTP requests' lane. */
void mgr_lane_run_api(struct byoca_manager *m, struct mgr_lane_op *op);
/* 1 when the jobs' lane runs its operations on a thread (PostgreSQL),
 * 0 when they run at once on the loop (SQLite, or not started). */
int mgr_lane_job_async(const struct byoca_manager *m);
/* Closes the lanes; an operation still running finishes on its own. */
void mgr_lane_close(struct byoca_manager *m);

/* config.c: trusts the operator's URLs (overrides, default CAs, webhook). */
void mgr_trust_operator_urls(struct byoca_manager *m);

/* outcome.c: records again, at each tick, the failures the store could
 * not take (a full disk); until then their lineages stay leased. */
void mgr_outcome_retry(struct byoca_manager *m);

/* manager.c */
void mgr_kick(struct byoca_manager *m);
/* Called by job.c whenever a job ended: drain and more work. */
void mgr_job_gone(struct byoca_manager *m);

/* idset (config.c) */
int mgr_idset_has(const struct mgr_idset *s, int64_t id, int *count);
int mgr_idset_put(struct mgr_idset *s, int64_t id, int count);
void mgr_idset_del(struct mgr_idset *s, int64_t id);
void mgr_idset_free(struct mgr_idset *s);

/* dircache.c: D-WELLKNOWN cache of issuer -> directory URL. */
char *mgr_dircache_get(struct byoca_manager *m, const char *issuer);
void mgr_dircache_put(struct byoca_manager *m, const char *issuer,
                      const char *url, int64_t max_age);
void mgr_dircache_forget(struct byoca_manager *m, const char *issuer);
void mgr_dircache_free(struct byoca_manager *m);

/* ---- jobs ---- */

enum mgr_job_kind {
  MGR_JOB_ISSUE = 0,
  MGR_JOB_DELETE,
};

struct mgr_solver;

/* One CAA lookup of a job in flight (the callback's argument). */
struct mgr_caa_slot {
  struct mgr_job *j;
  size_t i;                    /* the identifier */
  struct byoca_caa_lookup *lk; /* NULL once answered or cancelled */
};

struct mgr_job {
  struct byoca_manager *m;
  struct mgr_job *prev, *next;
  enum mgr_job_kind kind;
  int ended;   /* job_end/abort ran; the struct waits for pending ops */
  int pending; /* uncancellable operations in flight (lookups, procs,
                  store lane operations) */
  int64_t cert_id;
  int64_t tenant_id;
  struct byoca_cert_row row;
  char **names;
  size_t nnames;
  enum byoca_keytype key_type;
  int was_issued; /* a certificate existed at the start: renewal */
  int64_t started_ms;
  int64_t attempt_ms;
  struct byoca_timer *deadline;
  struct byoca_timer *step;   /* a deferred step (woken from a CA queue) */
  struct byoca_timer *reaper; /* frees an ended job a little later */
  int64_t retry_after;        /* the latest Retry-After a CA gave */
  /* choice */
  struct byoca_caa_rrset **rrsets;
  struct mgr_caa_slot *caa; /* nnames, while looking up */
  size_t lookups_left;
  struct byoca_caa_discovery disc;
  int have_disc;
  struct mgr_cands cands;
  size_t ci;
  struct byoca_buf why; /* reasons of skipped and failed CAs */
  /* the current attempt */
  char *cur_issuer;    /* health key / label */
  char *cur_directory; /* as asked (may differ after redirects) */
  int cur_by_url;
  int cur_cached; /* directory URL taken from the D-WELLKNOWN cache */
  unsigned cur_methods;
  const char *caa_allowed[4]; /* for the order's challenge rule */
  char *slot;                 /* per-CA slot held, or NULL */
  int waiting_slot;
  struct byoca_acme *acme;
  struct byoca_key *acct_key;
  struct byoca_secret eab;
  char *eab_kid;
  void (*acct_cb)(struct mgr_job *j, const struct byoca_err *err, int skip);
  struct mgr_dns *tdns; /* the tenant's RFC 2136 zones; NULL = none */
  struct mgr_solver *solvers[3];
  struct byoca_solver *solver_ptrs[3];
  size_t nsolvers;
  struct byoca_order *order;
  int attempted;                 /* some CA was contacted */
  int acct_retried;              /* re-registered after accountDoesNotExist */
  struct mgr_acct_reg *acct_reg; /* the registration this job makes */
  int acct_waiting;              /* waits for another job's registration */
  struct byoca_timer *acct_wake; /* re-checks the account after the wait */
  struct byoca_err acct_err;     /* how the awaited registration failed */
  char *acct_stale;              /* account URL the CA does not know */
  int resuming;
  char *resume_url; /* the stored order URL being resumed */
  char label[48];   /* "cert N", for the engine's progress lines */
  /* deletion */
  int revoke;
  char key_sha256[65];
  unsigned char *leaf_der;
  size_t leaf_len;
  struct byoca_key *cert_key;
  /* deploy */
  int deploying; /* the deploy hook runs */
  int recording; /* its outcome is on the store lane (outcome.c) */
};

/* job.c */
void mgr_job_start(struct byoca_manager *m, int64_t cert_id);
struct mgr_job *mgr_job_find(struct byoca_manager *m, int64_t cert_id);
/* Ends the job exactly once: releases slot, order, client, solvers. */
void mgr_job_end(struct mgr_job *j);
/* Ends without recording anything (manager freed, lineage deleted). */
void mgr_job_abort(struct mgr_job *j);
/* 1 if a drain may stop j at once: an issuance with no order placed, not
 * resuming one, not registering an account, not running a deploy hook,
 * not recording its outcome. */
int mgr_job_stoppable(const struct mgr_job *j);
/* At manager free: detaches every ended job from the manager. */
void mgr_jobs_detach(struct byoca_manager *m);
/* For callbacks of uncancellable operations: 1 if the job is over (and
 * the struct was freed if this was its last pending operation). */
int mgr_job_op_done(struct mgr_job *j);
void mgr_job_log(const struct mgr_job *j, enum byoca_loglevel lvl,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Releases the current attempt (client, solvers, account key, slot). */
void mgr_attempt_release(struct mgr_job *j);
/* Sets the current attempt's CA. */
int mgr_attempt_set_ca(struct mgr_job *j, const char *issuer,
                       const char *directory, int by_url, unsigned methods);

/* choose.c: fills j->cands, then calls mgr_attempt_first or fails. */
void mgr_choose_start(struct mgr_job *j);
/* Cancels the job's CAA lookups still in flight (the job ends): their
 * callbacks never run and the job waits for none of them. */
void mgr_choose_cancel(struct mgr_job *j);

/* attempt.c */
void mgr_attempt_first(struct mgr_job *j);
void mgr_attempt_next(struct mgr_job *j);
/* 1 if err carries the ACME problem type short ("alreadyRevoked"). */
int mgr_err_is(const struct byoca_err *err, const char *short_type);
/* An attempt at the current CA failed with err. */
void mgr_attempt_failed(struct mgr_job *j, const struct byoca_err *err);
/* Starts the order at the current CA (account known). */
void mgr_attempt_order(struct mgr_job *j);
/* Contacts the current CA (its slot held): directory, account, order. */
void mgr_attempt_go(struct mgr_job *j);
/* Per-CA slots: take one for j->cur_issuer (1) or queue (0). */
int mgr_slot_take(struct mgr_job *j, int force);
void mgr_slot_release(struct mgr_job *j);
/* Starts queued jobs whose CA has a free slot again. */
void mgr_slots_wake(struct byoca_manager *m);
void mgr_slots_free(struct byoca_manager *m);

/* account.c: the tenant's account at j->acme; cb(j, err, skip) on the
 * loop once the jobs' store lane read (and, for a new account, stored)
 * it (at once on SQLite); not called when j was stopped meanwhile. */
typedef void (*mgr_account_cb)(struct mgr_job *j, const struct byoca_err *err,
                               int skip);
void mgr_account_ensure(struct mgr_job *j, mgr_account_cb cb);
/* Registers a new account at j->acme (the stored one is unknown there);
 * jobs that find the same stale account wait for one replacement. */
void mgr_account_register(struct mgr_job *j, mgr_account_cb cb);
/* Ends j's part in account registration (its own, or waiting for
 * another job's); the waiters of a registration it made look again. */
void mgr_account_release(struct mgr_job *j);
/* What mgr_account_fetch found: the account's URL (its key in
 * j->acct_key), or err (BYOCA_E_NOTFOUND when none is stored). */
typedef void (*mgr_fetch_cb)(struct mgr_job *j, const char *url,
                             const struct byoca_err *err);
/* Reads the tenant's stored account at directory on the jobs' lane (a
 * resumption, a revocation; never registers one) and calls cb on the
 * loop, unless the job was stopped meanwhile. */
void mgr_account_fetch(struct mgr_job *j, const char *directory,
                       mgr_fetch_cb cb);

/* outcome.c: the store writes go through the jobs' lane; the job ends
 * (or deploys) in the continuation, so j may be gone when these return. */
/* Stores the certificate (res taken over), then deploys it. */
void mgr_job_issued(struct mgr_job *j, struct byoca_order_result *res);
/* All candidates failed, or the job cannot go on: records and ends. */
void mgr_job_fail(struct mgr_job *j, enum byoca_errclass cls,
                  const char *outcome, int64_t retry_after);
/* Records an attempt at j->cur_issuer in CA health (+ backoff event),
 * on the jobs' lane; j goes on at once. */
void mgr_ca_outcome(struct mgr_job *j, int ok, const char *error);

/* persist.c */
/* The engine's persist hook in callback form (byoca_order_persist_cb,
 * arg the job): the order row is written on the jobs' lane and the order
 * goes on (or fails, logged "cannot make the order durable") from its
 * continuation; the job's memory waits for it. */
int mgr_persist_cb(void *arg, struct byoca_order *o, const char *order_url,
                   const struct byoca_key *key);
/* 1 if an in-flight order was found and its resumption started, from
 * what order_get read (rc, *o, *key and *e; *key and *e are taken over
 * and left empty). */
int mgr_resume_with(struct mgr_job *j, int rc, struct byoca_order_row *o,
                    struct byoca_secret *key, struct byoca_err *e);
/* The order request of j (names, key type, solvers, persist). */
void mgr_order_req(struct mgr_job *j, struct byoca_order_req *req);

/* dns.c: the RFC 2136 zones of the options, shared by reference */
struct mgr_dns;
/* Builds a solver per rfc2136 zone of o (secret files checked and read
 * now); *out NULL when there is none. err names the zone and what. */
int mgr_dns_build(struct byoca_manager *m, const struct byoca_manager_opts *o,
                  struct mgr_dns **out, struct byoca_err *err);
struct mgr_dns *mgr_dns_ref(struct mgr_dns *d);
void mgr_dns_unref(struct mgr_dns *d);
/* Frees the set's solvers now, though jobs may still hold the set (their
 * operations then stop waiting and remove their records), and unrefs. */
void mgr_dns_close(struct mgr_dns *d);
/* The solver of the longest zone holding name, else the zone-less entry,
 * else NULL. Borrowed from d. */
struct byoca_solver *mgr_dns_pick(const struct mgr_dns *d, const char *name);
/* The tenant's own RFC 2136 zones, each with its solver, from the rows
 * and secrets rfc2136_list read (taken over and freed); *out NULL when it
 * has none. */
int mgr_dns_tenant_build(struct byoca_manager *m,
                         struct byoca_rfc2136_row *rows,
                         struct byoca_secret *secrets, size_t n,
                         struct mgr_dns **out, struct byoca_err *err);
/* 1 if dns-01 can be answered (a hook or an rfc2136 zone of the
 * provider's, or of j's tenant when j is not NULL). */
int mgr_dns01_ready(const struct byoca_manager *m, const struct mgr_job *j);
/* 1 if tls-alpn-01 can be answered: this node runs a responder, or
 * another live node does (nodes.c learns it at each heartbeat). */
int mgr_alpn_ready(const struct byoca_manager *m);

/* solver.c */
/* The solvers of the current attempt: every configured one (the order's
 * challenge rule weighs CAA and preference); tls-alpn-01 not when taken
 * (a name another lineage validates by it) is not NULL. */
int mgr_solvers_build(struct mgr_job *j, const char *taken,
                      struct byoca_err *err);
typedef void (*mgr_taken_cb)(struct mgr_job *j, const char *taken);
/* Asks on the jobs' store lane which of j's names (if any) another
 * lineage validates by tls-alpn-01 now; cb(j, that name or NULL) on the
 * loop (at once when tls-alpn-01 cannot be answered, or on SQLite); not
 * called when j was stopped meanwhile. */
void mgr_alpn_check(struct mgr_job *j, mgr_taken_cb cb);
struct mgr_solver *mgr_solver_http(struct byoca_manager *m, int64_t cert_id);
/* tls-alpn-01 as store rows (BYOCA_ALPN_TOKEN_PREFIX) for any node's
 * responder. */
struct mgr_solver *mgr_solver_alpn(struct byoca_manager *m, int64_t cert_id);
struct mgr_solver *mgr_solver_dns(struct byoca_manager *m,
                                  struct mgr_dns *tenant_zones,
                                  struct byoca_err *err);
struct byoca_solver *mgr_solver_pub(struct mgr_solver *s);
/* At shutdown: cleanup leaves http-01 tokens in the store (they expire),
 * so a validation under way still succeeds for the resumed order. */
void mgr_solver_keep(struct mgr_solver *s);
/* Frees once no setup/cleanup is running any more. */
void mgr_solver_retire(struct mgr_solver *s);

/* deploy.c: files now, the hook asynchronously; calls mgr_job_end. */
void mgr_deploy(struct mgr_job *j, const struct byoca_order_result *res);
/* Removes a deleted lineage's deployed files (live link and versions,
 * the private key with them); failures are logged. */
void mgr_deploy_remove(struct byoca_manager *m, int64_t tenant_id,
                       int64_t cert_id);
/* At start: removes the temps a killed byocad left under deploy_dir. */
void mgr_deploy_sweep(struct byoca_manager *m);
/* At start: writes again the live files of every issued lineage whose
 * live/<id>/fullchain.pem is not its stored chain (deploy_check.c). */
void mgr_deploy_check(struct byoca_manager *m);
/* Writes the live files of a lineage (deploy_dir set) as a set. */
int mgr_deploy_files(struct byoca_manager *m, int64_t tenant_id,
                     int64_t cert_id, const char *fullchain,
                     const struct byoca_secret *key_pem, const char *cert_pem,
                     const char *chain_pem, struct byoca_err *err);

/* delete.c */
void mgr_delete_run(struct mgr_job *j);
/* Marks the tenant's remaining lineages deleting on s (any thread);
 * returns how many it has (-1 on a store error). */
int64_t mgr_tenant_mark(struct byoca_store *s, int64_t tenant_id);
/* Finishes tenants in deletion whose certificates are all gone. */
void mgr_tenant_sweep(struct byoca_manager *m);

/* ari_poll.c: renewal windows (RFC 9773) */
/* Claims the lineages whose renewalInfo poll is due and starts polling. */
void mgr_ari_poll(struct byoca_manager *m);
/* Cancels the polls under way (manager freed). */
void mgr_ari_free_all(struct byoca_manager *m);
/* Sets r->ari_cert_id and the first poll (r->ari_next) of a certificate
 * just issued through j->acme. */
void mgr_ari_issued(const struct mgr_job *j,
                    const struct byoca_order_result *res,
                    struct byoca_cert_row *r);

/* events.c: appends an audit event (detail stolen, may be NULL) and,
 * with notify, sends the webhook. */
/* Fills ev for a store operation that appends it in its own transaction
 * (byoca_store_cert_issued/destroy): ev->detail_json is detail as text
 * (free it with mgr_event_done); detail itself is not consumed. */
void mgr_event_prepare(struct byoca_event *ev, int64_t tenant_id,
                       int64_t cert_id, const char *type, const json_t *detail);
/* Adds the webhook notification of ev (when a webhook is configured) so
 * the store queues it with the event, in the same transaction. */
void mgr_event_notify(struct byoca_manager *m, struct byoca_event *ev,
                      const json_t *detail);
void mgr_event_done(struct byoca_event *ev);
/* An audit event (and its notification) recorded by a lane operation:
 * filled on either thread, recorded on the lane's connection, acted on
 * back on the loop. */
struct mgr_event_rec {
  int armed; /* something to record */
  int64_t tenant_id, cert_id, now_ms;
  char type[48];
  char *text, *url, *body;
  int rc;
  struct byoca_err e;
};
/* Fills r (detail not consumed, may be NULL; url: the webhook's, copied,
 * or NULL for no notification). Touches no manager: safe on a lane.
 * BYOCA_E_NOMEM: the event is still recorded, without its notification. */
int mgr_event_rec_fill(struct mgr_event_rec *r, const char *url,
                       int64_t tenant_id, int64_t cert_id, const char *type,
                       const json_t *detail);
/* On the lane: records r (nothing when it was never filled). */
void mgr_event_rec_work(struct byoca_store *s, struct mgr_event_rec *r);
/* On the loop: logs a failure, sends a recorded notification now. */
void mgr_event_rec_done(struct byoca_manager *m, struct mgr_event_rec *r);
void mgr_event_rec_clear(struct mgr_event_rec *r);
/* Records an audit event (and its notification to the webhook when
 * notify) as an operation on the jobs' lane (job_lane) or the periodic
 * one: after what was queued there before (detail stolen); the
 * notification is sent once it is recorded. */
void mgr_event_queue(struct byoca_manager *m, int job_lane, int64_t tenant_id,
                     int64_t cert_id, const char *type, json_t *detail,
                     int notify);
/* Expiry warnings (certificate.expiring), at most hourly. */
void mgr_expiry_check(struct byoca_manager *m);

/* notify.c: the webhook outbox. */
/* The notification body of an event (malloc'd JSON; NULL on oom). */
char *mgr_notice_body(const char *type, int64_t tenant_id, int64_t cert_id,
                      const json_t *detail);
/* Claims due outbox rows (as many as free sending slots) and posts them. */
void mgr_notify_pump(struct byoca_manager *m);
/* Forgets the posts in flight (their leases run out). */
void mgr_notify_free_all(struct byoca_manager *m);

/* nodes.c: this node's heartbeat and lease renewal. */
/* Beats (nodes table), moves the leases of running jobs forward, and
 * arms the timer of the next beat (every heartbeat period, also while
 * draining). */
void mgr_node_beat(struct byoca_manager *m);
/* Names the store's leases after this node, clears the leases a previous
 * process of this name left, and beats. */
int mgr_node_start(struct byoca_manager *m, struct byoca_err *err);
/* A node whose last heartbeat is younger than this is alive. */
int64_t mgr_node_alive_s(const struct byoca_manager *m);

/* api.c: checks shared with import.c. */
/* The identifiers as a JSON array: checked, lowercase, no duplicates. */
char *mgr_names_json(const char *const *names, size_t n, struct byoca_err *err);
/* The API's spelling of a key type: byoca_keytype_name ("ec256", ...). */
const char *mgr_keytype_api_name(enum byoca_keytype t);
/* "auto", an issuer-domain-name (lowercased) or an https directory URL. */
int mgr_check_ca(const char *ca, char *out, size_t outlen,
                 struct byoca_err *err);
/* 0 if the tenant exists on s and is not being deleted. */
int mgr_tenant_active(struct byoca_store *s, int64_t tenant_id,
                      struct byoca_err *err);
/* The detail of certificate.added/imported. */
json_t *mgr_added_detail(const struct byoca_cert_row *r);
/* Identifiers of a row as an array. */
int mgr_names_parse(const char *json, char ***out, size_t *n);
void mgr_names_free(char **v, size_t n);

#endif
