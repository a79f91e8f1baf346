/* byoca acme: the RFC 8555 engine.
 *
 * A struct byoca_acme talks to one ACME server (one directory URL) on the
 * caller's loop: it keeps the directory, a nonce pool and the account in
 * use. Every operation is a state machine advanced by HTTP callbacks, so
 * one process carries many orders at once; completion is reported through
 * a callback, exactly once, never from inside the starting call.
 *
 * Every answer of the server is checked before it is believed (DESIGN.md,
 * hostile servers): directory URLs, order identifiers, authorization
 * identifiers, certificate key and SANs, chain syntax.
 */
#ifndef BYOCA_ACME_H
#define BYOCA_ACME_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/crypto.h"
#include "byoca/err.h"
#include "byoca/net.h"
#include "byoca/solve.h"

struct byoca_acme;

/* Completion of a simple operation; err NULL on success. */
typedef void (*byoca_acme_cb)(void *arg, const struct byoca_err *err);

/* A client for the server at directory_url. http and loop are borrowed and
 * must outlive it. Nothing is fetched until an operation needs it. */
struct byoca_acme *byoca_acme_new(struct byoca_loop *loop,
                                  struct byoca_http *http,
                                  const char *directory_url,
                                  struct byoca_err *err);
/* A client for the CA whose CAA issuer-domain-name is issuer (D-WELLKNOWN):
 * its directory is https://<issuer>/.well-known/acme, fetched through the
 * address policy with at most 5 redirects, each re-checked; the URL the
 * redirects end at becomes the directory URL; a directory whose
 * meta.caaIdentities exists and lacks issuer is refused. */
struct byoca_acme *byoca_acme_new_wellknown(struct byoca_loop *loop,
                                            struct byoca_http *http,
                                            const char *issuer,
                                            struct byoca_err *err);
/* The issuer a client was created for by byoca_acme_new_wellknown, or
 * NULL. */
const char *byoca_acme_issuer(const struct byoca_acme *a);

/* Cancels what is in flight (no callbacks) and frees. NULL no-op. */
void byoca_acme_free(struct byoca_acme *a);

/* Fetches and validates the directory (RFC 8555 §7.1.1): newNonce,
 * newAccount, newOrder must be https URLs (or the server's own origin
 * when it was trusted by the operator). Cached after the first success. */
int byoca_acme_directory(struct byoca_acme *a, byoca_acme_cb cb,
                         void *arg) BYOCA_WUR;

/* Directory facts, valid after byoca_acme_directory succeeded. Strings are
 * borrowed from a until it is freed. */
const char *byoca_acme_directory_url(const struct byoca_acme *a);
const char *byoca_acme_terms_of_service(const struct byoca_acme *a);
int byoca_acme_eab_required(const struct byoca_acme *a);
/* Profiles advertised in meta.profiles (draft-ietf-acme-profiles): names,
 * NULL-terminated; NULL if none. */
const char *const *byoca_acme_profiles(const struct byoca_acme *a);
/* The same with their descriptions: *n entries, borrowed from a until it
 * is freed; NULL (and *n 0) if none. */
const struct byoca_profile *byoca_acme_profile_list(const struct byoca_acme *a,
                                                    size_t *n);
/* The Cache-Control max-age (seconds) the directory was served with, or
 * -1 when none (or no-store / no-cache). */
int64_t byoca_acme_directory_max_age(const struct byoca_acme *a);
/* 1 if the directory has that resource (e.g. "keyChange", "revokeCert"). */
int byoca_acme_has(const struct byoca_acme *a, const char *resource);

/* ---- profiles (draft-ietf-acme-profiles) ---- */

/* A certificate profile a CA advertises in its directory's meta.profiles:
 * a name to put in newOrder and the CA's description of it (prose or a
 * URL; the CA's text: sanitise before showing). */
struct byoca_profile {
  char *name;
  char *description;
};

/* Caps on what a directory may advertise (hostile servers). */
#define BYOCA_PROFILES_MAX 32
#define BYOCA_PROFILE_NAME_MAX 63
#define BYOCA_PROFILE_DESC_MAX 1024

/* 1 if name is a profile name byoca requests or keeps: 1 to
 * BYOCA_PROFILE_NAME_MAX characters of A-Z a-z 0-9 . _ - */
int byoca_profile_name_valid(const char *name);

/* Parses the value of meta.profiles (JSON text of an object mapping name
 * to description). Entries with an invalid name or a description that is
 * not a string are skipped; the first BYOCA_PROFILES_MAX valid ones are
 * kept in document order; a description is cut (on a UTF-8 character
 * boundary) to BYOCA_PROFILE_DESC_MAX bytes. Not a JSON object:
 * BYOCA_E_PROTO class CA. *out (NULL when none is valid) is freed with
 * byoca_profiles_free. */
int byoca_profiles_parse(const char *json, size_t len,
                         struct byoca_profile **out, size_t *n,
                         struct byoca_err *err) BYOCA_WUR;
void byoca_profiles_free(struct byoca_profile *p, size_t n);

/* ---- accounts (RFC 8555 §7.3) ---- */

struct byoca_account_req {
  const char *const *contacts; /* "mailto:..." (or bare addresses, which
                                  get mailto: prepended); may be NULL */
  size_t ncontacts;
  int tos_agreed;                      /* send termsOfServiceAgreed: true */
  int only_existing;                   /* onlyReturnExisting: look up only */
  const char *eab_kid;                 /* External Account Binding (§7.3.4) */
  const struct byoca_secret *eab_hmac; /* decoded MAC key */
};

/* Uses key (borrowed, must outlive a) and, if kid is non-NULL, the known
 * account URL, for every later signed request. */
void byoca_acme_set_account(struct byoca_acme *a, struct byoca_key *key,
                            const char *kid);
/* The account URL (JWS kid) once known; borrowed. */
const char *byoca_acme_account_url(const struct byoca_acme *a);
/* The account's status and contact as last seen (JSON object text);
 * borrowed, NULL if none. */
const char *byoca_acme_account_json(const struct byoca_acme *a);

/* newAccount with the key set by byoca_acme_set_account; on success the
 * account URL is known. An existing account for the key is returned as is
 * (200). Without tos_agreed and with a ToS in the directory, fails with
 * BYOCA_E_INVAL naming the terms URL. EAB required but absent -> error of
 * class CA (D-EAB: another CA may not need it). */
int byoca_acme_account_register(struct byoca_acme *a,
                                const struct byoca_account_req *req,
                                byoca_acme_cb cb, void *arg) BYOCA_WUR;
/* POST-as-GET of the account: refreshes byoca_acme_account_json. */
int byoca_acme_account_fetch(struct byoca_acme *a, byoca_acme_cb cb,
                             void *arg) BYOCA_WUR;
/* Replaces the contacts (ncontacts 0 = remove all). */
int byoca_acme_account_update(struct byoca_acme *a, const char *const *contacts,
                              size_t ncontacts, byoca_acme_cb cb,
                              void *arg) BYOCA_WUR;
/* Deactivates the account, irreversibly (§7.3.6). */
int byoca_acme_account_deactivate(struct byoca_acme *a, byoca_acme_cb cb,
                                  void *arg) BYOCA_WUR;
/* Key rollover (§7.3.5) to new_key (borrowed); on success a uses new_key. */
int byoca_acme_account_keychange(struct byoca_acme *a,
                                 struct byoca_key *new_key, byoca_acme_cb cb,
                                 void *arg) BYOCA_WUR;

/* ---- challenge choice (one rule for the CLI and the daemon) ---- */

/* Most challenge types a list holds (byoca knows four). */
#define BYOCA_CHALLENGE_TYPES_MAX 8
/* "_" + 16 base32 characters + NUL. */
#define BYOCA_DNS_ACCOUNT_LABEL_SIZE 18

/* Which challenge a lineage answers. Strings borrowed for the call that
 * receives the policy. */
struct byoca_challenge_policy {
  /* Preference order, best first; a type not listed is never used.
   * NULL (norder 0) = the default order byoca_challenge_default. */
  const char *const *order;
  size_t norder;
  /* The CA's CAA records carry validationmethods (RFC 8657) for every
   * name: only the types in caa_allowed may be used. 0 = no restriction. */
  int caa_restricts;
  const char *const *caa_allowed;
  size_t ncaa_allowed;
  /* The identifier being validated: a solver that says which identifiers
   * it covers (byoca_solver_ops covers) is eligible only for those. NULL:
   * any (the engine sets it for each authorization). */
  const char *identifier;
};

/* The default preference order, NULL-terminated: dns-account-01, dns-01,
 * tls-alpn-01, http-01 (docs/challenges.md says why). Static. */
const char *const *byoca_challenge_default(void);

/* The static spelling of a challenge type byoca knows ("http-01",
 * "dns-01", "tls-alpn-01", "dns-account-01"), or NULL. n bytes of s are
 * compared, case-sensitively as RFC 8555 registers them. */
const char *byoca_challenge_known(const char *s, size_t n);

/* Parses a list like "dns-01,http-01" (separated by commas and/or
 * blanks) into out (static strings, at most BYOCA_CHALLENGE_TYPES_MAX);
 * an unknown or repeated type, or an empty list, is BYOCA_E_INVAL naming
 * it. */
int byoca_challenge_order_parse(const char *list, const char **out,
                                size_t *nout, struct byoca_err *err) BYOCA_WUR;

/* The challenge rule: an offered type is eligible when it is in the
 * preference order, the CAA validationmethods allow it (when they
 * restrict), and some solver supports it; the eligible type first in the
 * preference order wins, answered by the first solver supporting it.
 * offered[i] may be NULL (a challenge without a type). On success 0 with
 * *offer_out (index into offered) and *solver_out. Otherwise BYOCA_E_INVAL
 * and why holds, for every offered type, why it was excluded ("dns-01:
 * not allowed by CAA validationmethods; http-01: no configured solver"). */
int byoca_challenge_choose(const struct byoca_challenge_policy *p,
                           const char *const *offered, size_t noffered,
                           struct byoca_solver *const *solvers, size_t nsolvers,
                           size_t *offer_out, size_t *solver_out, char *why,
                           size_t whylen);

/* The account label of dns-account-01 (draft-ietf-acme-dns-account-label,
 * D-DNSACCOUNT): "_" + lowercase base32(SHA-256(account_url)[0:10]), so
 * its record is "<label>._acme-challenge.<domain>". 0, or BYOCA_E_INVAL
 * for a NULL/empty URL. */
int byoca_dns_account_label(const char *account_url,
                            char out[BYOCA_DNS_ACCOUNT_LABEL_SIZE]) BYOCA_WUR;

/* ---- orders (RFC 8555 §7.4) ---- */

struct byoca_order;

/* The persist hook in callback form (struct byoca_order_req
 * persist_start): called at the same two points as persist (order_url
 * known with key NULL; just before finalize with the certificate key),
 * order_url and key borrowed for the call only. Returning 0, the hook
 * promises one call of byoca_order_persist_done(o, rc) (from within the
 * hook, or later from the loop); the order goes on only then: with the
 * new-order response it kept, or with the finalize request it kept.
 * Returning non-zero, it must not call byoca_order_persist_done: the order
 * fails at once, as for rc != 0. The order may be cancelled while it
 * waits (byoca_order_cancel: its callback is then never called); the
 * order's memory lives until byoca_order_persist_done, so o stays valid
 * for it and the call after a cancel only frees it. */
typedef int (*byoca_order_persist_cb)(void *arg, struct byoca_order *o,
                                      const char *order_url,
                                      const struct byoca_key *key);
/* Ends the wait persist_start began: rc 0, the order URL (and key) are
 * durable and the order goes on; otherwise the order fails with
 * BYOCA_E_IO, class retryable ("could not record the order of ...
 * durably; not finalizing it"), nothing finalized. Called exactly once
 * per persist_start that returned 0, from the loop (o may be freed by
 * it: after a cancel, or when the order ends inside it); a call on a
 * live order that waits for nothing is ignored. The order's callback may
 * run inside this call. */
void byoca_order_persist_done(struct byoca_order *o, int rc);

struct byoca_order_req {
  const char *const *names; /* DNS names (may be "*.x") and IP literals */
  size_t nnames;
  enum byoca_keytype key_type; /* for the fresh certificate key (D-KEYS) */
  const char *profile;         /* requested only if advertised (D-PROFILE);
                                  NULL none. When the CA answers
                                  invalidProfile the order is sent once more
                                  without it, unless profile_required */
  int profile_required;        /* a CA that does not advertise profile fails
                                  the order before anything is sent:
                                  BYOCA_E_PROFILE, class CA (D-PROFILE: skip
                                  that CA); invalidProfile, or an order
                                  echoing another profile, fails the same
                                  way */
  const char *preferred_chain; /* issuer CN of the chain's top; NULL none */
  const char *replaces;        /* ARI CertID of the predecessor; NULL none.
                                  Only for the CA that issued it (D-ARI);
                                  dropped when the directory has no
                                  renewalInfo; on 409 alreadyReplaced the
                                  order is sent once more without it */
  struct byoca_solver *const *solvers; /* borrowed; for one challenge type
                                          the first supporting it answers */
  size_t nsolvers;
  struct byoca_challenge_policy challenges; /* which challenge to answer
                                               (byoca_challenge_choose) */
  const char *label;   /* for progress lines; NULL = first name */
  int64_t max_wait_ms; /* how long the order may keep byoca polling
                          (authorizations pending, order processing)
                          in all, whatever the server's Retry-After;
                          0: ACME_ORDER_MAX_WAIT_MS (1 hour) */
  /* Crash safety: called when the order URL is known (key NULL) and again
   * just before finalize is sent (with the certificate key), so both can
   * be made durable; a non-zero return fails the order before anything
   * is finalized. NULL = none. */
  int (*persist)(void *arg, const char *order_url, const struct byoca_key *key);
  /* The same hook in callback form, for a caller that must not wait for
   * its store on the loop (byocad on PostgreSQL); when set, persist is
   * not called. See byoca_order_persist_cb. */
  byoca_order_persist_cb persist_start;
  void *persist_arg; /* what persist or persist_start gets */
};

/* What an issuance produced; owned by the receiver of the callback, freed
 * with byoca_order_result_free. */
struct byoca_order_result {
  struct byoca_key *key; /* the certificate's private key */
  char *cert_pem;        /* leaf */
  char *chain_pem;       /* intermediates (may be "") */
  char *fullchain_pem;   /* leaf + chain */
  char *serial;          /* hex */
  char *cert_id;         /* ARI CertID of the leaf (byoca_ari_cert_id), NULL
                            when it has none (no AKI) */
  char *order_url;
  char *profile; /* as echoed by the server (a valid
                    profile name), or NULL */
  int64_t not_before, not_after;
};
void byoca_order_result_free(struct byoca_order_result *r);

/* res is non-NULL exactly when err is NULL; ownership passes to the
 * callee. */
typedef void (*byoca_order_cb)(void *arg, struct byoca_order_result *res,
                               const struct byoca_err *err);

/* Runs the whole flow for names: newOrder, authorizations, challenges
 * chosen by byoca_challenge_choose with req->challenges,
 * polling (D-POLL), a fresh key, CSR, finalize, download (with the
 * preferred alternate chain), verification. The account must be known
 * (byoca_acme_account_register first). Returns a handle to cancel, or
 * NULL with err set if it could not start. */
struct byoca_order *byoca_order_start(struct byoca_acme *a,
                                      const struct byoca_order_req *req,
                                      byoca_order_cb cb, void *arg,
                                      struct byoca_err *err);
/* Continues an order created earlier, perhaps by a process that died, at
 * order_url (an URL persist was given): fetches it and goes on from its
 * status (authorizations, finalize, polling, download and verification).
 * key is the certificate key persist was given (ownership passes to the
 * order, also on failure), or NULL to generate one. req as for
 * byoca_order_start (its names are checked against the order's). An
 * order the server reports invalid fails with class CA. */
struct byoca_order *byoca_order_resume(struct byoca_acme *a,
                                       const struct byoca_order_req *req,
                                       const char *order_url,
                                       struct byoca_key *key, byoca_order_cb cb,
                                       void *arg, struct byoca_err *err);
/* Stops an order in flight; its callback is not called. Provisioned
 * challenges are cleaned up in the background. An order waiting for
 * persist_start's completion is freed by byoca_order_persist_done. */
void byoca_order_cancel(struct byoca_order *o);

/* ---- revocation (RFC 8555 §7.6) ---- */

/* Revokes cert (PEM or DER). cert_key NULL: signed by the account key
 * (kid); otherwise signed with the certificate's own key (jwk). reason is
 * an RFC 5280 CRLReason code, or -1 to omit it. */
int byoca_acme_revoke(struct byoca_acme *a, const void *cert, size_t certlen,
                      int reason, struct byoca_key *cert_key, byoca_acme_cb cb,
                      void *arg) BYOCA_WUR;
/* RFC 5280 reason name ("keyCompromise", "superseded", ...) or decimal
 * -> code; -1 for unknown. */
int byoca_revocation_reason_parse(const char *s);

/* ---- protocol helpers (exposed for tests and the daemon) ---- */

/* Checks a name a user gave: an IPv4/IPv6 literal, or a DNS name of at
 * least two LDH labels, optionally starting "*."; err names it. */
int byoca_acme_check_name(const char *name, struct byoca_err *err) BYOCA_WUR;

/* Parses a problem document (RFC 7807, RFC 8555 §6.7) with subproblems.
 * Caps: 100 subproblems kept. */
int byoca_problem_parse(const char *json, size_t len,
                        struct byoca_problem **out) BYOCA_WUR;
/* The class policy code uses for an ACME error type (full URN or short
 * name): D-FALLBACK. */
enum byoca_errclass byoca_problem_class(const char *type);
/* The delay before the next poll per D-POLL: Retry-After (clamped 1 s -
 * 10 min) when given, else 250 ms doubling per attempt up to 30 s. */
int64_t byoca_poll_delay_ms(const char *retry_after, int attempt, int64_t now);

/* ---- ARI: ACME Renewal Information (RFC 9773) ---- */

/* Retry-After of a renewalInfo answer is clamped to these (D-ARI); a
 * missing or invalid one, and long-term errors, mean 6 hours (§4.3.3). */
#define BYOCA_ARI_RETRY_MIN 60
#define BYOCA_ARI_RETRY_MAX 86400
#define BYOCA_ARI_LONG_TERM 21600
/* Temporary errors back off from 1 min, doubling, for this many tries;
 * then they count as long-term. */
#define BYOCA_ARI_TEMP_TRIES 5

/* The ARI CertID of cert (§4.1): base64url(AKI keyIdentifier) "."
 * base64url(serial DER content octets), no padding. *out caller frees.
 * BYOCA_E_NOTFOUND when the certificate has no AKI keyIdentifier. */
int byoca_ari_cert_id(const struct byoca_cert *cert, char **out,
                      struct byoca_err *err) BYOCA_WUR;
/* The same from a PEM (first certificate) or DER certificate. */
int byoca_ari_cert_id_pem(const void *cert, size_t len, char **out,
                          struct byoca_err *err) BYOCA_WUR;

/* A RenewalInfo answer (§4.2). */
struct byoca_ari {
  int64_t start, end;    /* suggested window, unix seconds; end > start */
  char *explanation_url; /* http(s) URL of printable ASCII, or NULL;
                            the CA's text: sanitise before showing */
  int64_t retry_after;   /* seconds until the next fetch, clamped to
                            BYOCA_ARI_RETRY_MIN..MAX; LONG_TERM if the
                            header was missing or invalid */
};
void byoca_ari_free(struct byoca_ari *r);

/* Parses a RenewalInfo body and its Retry-After header value (NULL when
 * absent) at now. A body that is not a JSON object, lacks the window, has
 * a timestamp that is not RFC 3339, or has end <= start is BYOCA_E_PROTO
 * class CA (§4.2: "treat as though no response"). *out caller frees. */
int byoca_ari_parse(const char *json, size_t len, const char *retry_after,
                    int64_t now, struct byoca_ari **out,
                    struct byoca_err *err) BYOCA_WUR;
/* A renewalInfo Retry-After (delay-seconds or HTTP-date) as seconds from
 * now, clamped to BYOCA_ARI_RETRY_MIN..MAX; BYOCA_ARI_LONG_TERM when value
 * is NULL or invalid. */
int64_t byoca_ari_retry_after(const char *value, int64_t now);

/* res non-NULL exactly when err is NULL; ownership passes to the callee.
 * err->cls is BYOCA_CLASS_RETRYABLE for temporary errors (timeouts, 5xx)
 * and BYOCA_CLASS_CA for long-term ones (connection refused, DNS, policy,
 * other HTTP status, invalid object); err->http_status and
 * err->retry_after (an instant, from the server) as known. */
typedef void (*byoca_ari_cb)(void *arg, struct byoca_ari *res,
                             const struct byoca_err *err);

/* Unauthenticated GET of <renewalInfo>/<cert_id> (§4.1) through the
 * client's HTTP (address policy applies; no redirects). The directory must
 * have been fetched. cb is called exactly once from the loop, never from
 * inside this call: a directory without renewalInfo is BYOCA_E_NOTFOUND
 * class CA, a malformed cert_id BYOCA_E_INVAL. Returns non-zero only when
 * nothing could be started (out of memory), cb then not called. */
int byoca_ari_fetch(struct byoca_acme *a, const char *cert_id, byoca_ari_cb cb,
                    void *arg) BYOCA_WUR;

/* Seconds until the next fetch after failures consecutive failed fetches
 * (§4.3.3), err being the last: temporary errors wait the server's
 * Retry-After (clamped) or 60 s doubling per failure, for up to
 * BYOCA_ARI_TEMP_TRIES failures; after that, and for long-term errors,
 * BYOCA_ARI_LONG_TERM. */
int64_t byoca_ari_error_delay(const struct byoca_err *err, int failures,
                              int64_t now);

/* The renewal instant RFC 9773 §4.2 recommends: start + (rnd mod
 * (end - start)), a uniform draw for a uniform rnd; now when that is
 * already past (a window in the past renews at once). */
int64_t byoca_ari_pick(int64_t start, int64_t end, int64_t now, uint64_t rnd);

/* D-ARI without ARI: not_before + 2/3 of the lifetime, 1/2 for lifetimes
 * under 10 days (never assuming 90 days). */
int64_t byoca_renewal_due_lifetime(int64_t not_before, int64_t not_after);

/* A certificate's renewal schedule, as a scheduler keeps it (a stored
 * one restored with source pointing at "ari" or "lifetime"). */
struct byoca_renewal {
  int64_t at;         /* renew at or after this instant */
  const char *source; /* "ari" or "lifetime" (static strings) */
  int64_t ari_start;  /* the window at came from; 0 when none */
  int64_t ari_end;
  int64_t next_check; /* ask ARI again at or after this; 0: never */
  int failures;       /* consecutive failed fetches */
};

/* The schedule before any ARI answer: the lifetime rule, ARI asked at
 * once (next_check = now). */
void byoca_renewal_init(struct byoca_renewal *s, int64_t not_before,
                        int64_t not_after, int64_t now);
/* Folds in one fetch: an answer (ari), or a failure (err; counted in
 * s->failures). An answer with the window already held keeps the instant
 * chosen before; a new window draws a new one with rnd (byoca_ari_pick),
 * never later than not_after minus a tenth of the lifetime (a window past
 * expiry is not trusted). A failure keeps the instant and source held,
 * sets next_check by byoca_ari_error_delay. next_check is 0 once it would
 * fall at or after not_after (§4.3: never fetched after expiry). Returns 1
 * when the instant moved earlier (worth telling the operator), else 0. */
int byoca_renewal_update(struct byoca_renewal *s, int64_t not_before,
                         int64_t not_after, const struct byoca_ari *ari,
                         const struct byoca_err *err, int64_t now,
                         uint64_t rnd);
/* 1 when s says renew now (at <= now). */
int byoca_renewal_is_due(const struct byoca_renewal *s, int64_t now);
/* 1 when an update that moved the renewal earlier (earlier: what
 * byoca_renewal_update returned; was_ari: s->source was "ari" before it)
 * is news for the operator: the CA moved a window it had given, or its
 * first window says renew now. A first window merely earlier than the
 * lifetime rule is routine. */
int byoca_renewal_moved(int earlier, int was_ari, const struct byoca_renewal *s,
                        int64_t now);
/* The CertID to send as "replaces" (RFC 9773 §5) in a renewal ordered at
 * order_directory: cert_id when the predecessor was issued through that
 * same directory (D-ARI), else NULL. Borrowed from cert_id. */
const char *byoca_ari_replaces(const char *cert_id,
                               const char *issued_directory,
                               const char *order_directory);

#endif
