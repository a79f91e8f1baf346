/* The order state machine shared by order.c (newOrder, authorizations,
 * challenges), finalize.c (key, CSR, finalize, polling) and download.c
 * (certificate, alternate chains, verification). */
#ifndef BYOCA_ORDER_INT_H
#define BYOCA_ORDER_INT_H

#include "acme_int.h"

struct authz {
  struct byoca_order *o;
  char *url;
  char *ident; /* as the authorization names it (no "*.") */
  char *ident_type;
  int wildcard;
  char *chall_type;
  char *chall_url;
  char *token;
  char *key_authz;
  char *dns_value;
  char *record_name;
  char account_label[BYOCA_DNS_ACCOUNT_LABEL_SIZE]; /* dns-account-01 */
  struct byoca_solver *solver;                      /* borrowed */
  int responded;
  int answered_before;   /* the challenge was no longer pending when picked */
  int refused;           /* the server refused our answer (400) once */
  char refused_why[320]; /* what it said then */
  int provisioned;
  int done;
  int attempt;
  struct byoca_timer *timer;
  int64_t poll_at; /* when timer fires (byoca_now_ms), if set */
  int wait_told;   /* the CA said when to poll (Retry-After) */
  int seen_new;    /* the CA fetched our answer since the last poll */
  int seen_polls;  /* polls brought forward by that, at most SEEN_MAX */
};

struct byoca_order {
  struct byoca_acme *a;
  byoca_order_cb cb;
  void *arg;
  int pending; /* async operations outstanding */
  int cancelled;
  int failed;
  int reported;
  struct byoca_err err;
  /* request */
  char **names; /* normalised, as requested (may start "*.") */
  size_t nnames;
  enum byoca_keytype key_type;
  char *profile;      /* what newOrder asks for (advertised), or NULL */
  char *want_profile; /* what the caller asked for, or NULL */
  int profile_required;
  char *preferred_chain;
  char *replaces;
  struct byoca_solver **solvers;
  size_t nsolvers;
  struct byoca_challenge_policy chall; /* points into the two below */
  const char *chall_order[BYOCA_CHALLENGE_TYPES_MAX];
  const char *chall_caa[BYOCA_CHALLENGE_TYPES_MAX];
  char *label;
  char *thumbprint;
  int (*persist)(void *arg, const char *order_url, const struct byoca_key *key);
  byoca_order_persist_cb persist_start;
  void *persist_arg;
  /* persist_start under way (one operation pending): how to go on */
  int persist_wait;    /* byoca_order_persist_done not called yet */
  int persist_in_hook; /* persist_start is running */
  int persist_inline;  /* ... and completed meanwhile, with persist_rc */
  int persist_rc;
  json_t *persist_json;  /* the new-order response to handle, or NULL */
  char *persist_ra;      /* its Retry-After, or NULL */
  char *persist_payload; /* the finalize request to send, or NULL */
  /* server state */
  char *url;
  char *finalize_url;
  char *cert_url;
  char *echoed_profile;
  int64_t expires;
  int64_t wait_until_ms; /* polling stops here (byoca_now_ms clock) */
  int64_t max_wait_ms;
  struct authz *authz;
  size_t nauthz;
  size_t authz_left;
  /* key and finalisation */
  struct byoca_key *key;
  int key_ready;
  int want_finalize;
  struct byoca_err key_err;
  int finalized;
  int attempt;
  struct byoca_timer *timer;
  /* download */
  char *default_pem;
  char **alts;
  size_t nalts;
  size_t alt_next;
};

/* Bookkeeping for every async step: call op_begin before starting one,
 * and op_end first thing in its callback; op_end returns 1 if the order is
 * being torn down and the callback must return at once. */
void op_begin(struct byoca_order *o);
int op_end(struct byoca_order *o);
/* Records the first failure, cleans up challenges, and reports once
 * nothing is outstanding. */
void order_fail(struct byoca_order *o, const struct byoca_err *err);
/* Fails with a copy of err, adding what we were doing (unless err already
 * says). */
void order_fail_during(struct byoca_order *o, const struct byoca_err *err,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports success (ownership of res passes to the caller's callback). */
void order_succeed(struct byoca_order *o, struct byoca_order_result *res);
/* Progress line on stderr, prefixed with the label when there is one. */
void order_progress(const struct byoca_order *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* POST to url on behalf of o (op_begin included). */
int order_post(struct byoca_order *o, const char *url, const char *payload,
               const char *accept, acme_resp_cb cb, void *arg);
/* Handles an order object from the server: checks it and moves on. */
void order_handle(struct byoca_order *o, const struct acme_resp *resp);
/* The same for an order object json (borrowed) answered with the
 * Retry-After ra (NULL: none). */
void order_handle_json(struct byoca_order *o, const json_t *json,
                       const char *ra);
/* Downloads the certificate (download.c). */
void order_download(struct byoca_order *o);
/* Fails with a formatted error. */
void order_failf(struct byoca_order *o, int code, enum byoca_errclass cls,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* authz.c */
void authz_start(struct authz *z);
void authz_cancel_timer(struct authz *z);
void authz_cleanup(struct authz *z);
/* finalize.c: starts generating the certificate key */
void order_keygen_start(struct byoca_order *o);
/* finalize.c: polls the order again after Retry-After ra (NULL: none)
 * or D-POLL */
void order_poll(struct byoca_order *o, const char *ra);
/* 1 (with the order failed, naming what was still waiting) when waiting
 * delay_ms more would pass the order's overall wait limit or its
 * expiry; 0 when the poll may be scheduled. */
int order_wait_over(struct byoca_order *o, int64_t delay_ms, const char *what);
/* finalize.c: fetches the order now (POST-as-GET) and handles it */
void order_refresh(struct byoca_order *o);
/* finalize.c: sends the finalize request payload */
void order_finalize_send(struct byoca_order *o, const char *payload);
/* order.c: hands the order URL and key (NULL before finalize) to the
 * caller's persist hook, then goes on: handles json (the new-order
 * response, borrowed, answered with Retry-After ra) or sends payload
 * (the finalize request, taken over). With the hook in callback form the
 * order waits (one operation pending) until byoca_order_persist_done;
 * a hook that fails fails the order. */
void order_persist(struct byoca_order *o, const struct byoca_key *key,
                   json_t *json, const char *ra, char *payload);

#endif
