/* Internals shared by the files of lib/acme: the client object, signed
 * requests with nonce handling, and JSON helpers. */
#ifndef BYOCA_ACME_INT_H
#define BYOCA_ACME_INT_H

#include <jansson.h>

#include "byoca/acme.h"
#include "proto.h"

struct acme_req;

struct byoca_acme {
  struct byoca_loop *loop;
  struct byoca_http *http;
  char *dir_url;
  char *issuer;
  int64_t dir_max_age;
  /* Cache-Control max-age of the directory, -1 */ /* set when found through
                                                      CAA (D-WELLKNOWN) */
  json_t *dir; /* the directory object, once fetched */
  char *tos;
  int eab_required;
  struct byoca_profile *plist; /* meta.profiles, as parsed */
  size_t nplist;
  char **profiles; /* their names, NULL-terminated (borrowed from plist) */
  /* nonce pool: LIFO */
  char *nonces[ACME_NONCE_POOL];
  size_t nnonces;
  struct byoca_key *key; /* account key, borrowed */
  char *thumbprint;      /* key's JWK thumbprint, made on first use */
  char *kid;             /* account URL */
  char *account_json;
  struct acme_req *inflight; /* list, for cancellation on free */
};

/* A response handed to internal callbacks; valid during the callback. */
struct acme_resp {
  long status;
  const struct byoca_http_resp *http;
  json_t *json;         /* parsed body if it is JSON, else NULL */
  const char *location; /* Location header or NULL */
};

typedef void (*acme_resp_cb)(void *arg, const struct acme_resp *resp,
                             const struct byoca_err *err);

/* How to sign an acme_post. */
struct acme_sign {
  struct byoca_key *jwk_key; /* non-NULL: sign with it and embed its jwk
                                (newAccount, revoke by certificate key) */
  const char *accept;        /* Accept header, or NULL */
  void (*drop)(void *arg);   /* called instead of cb when the answer can
                                no longer be delivered (the client or the
                                HTTP layer was freed); NULL = nothing */
  void *drop_arg;            /* what drop gets; NULL = the cb's arg */
};

/* POSTs a JWS to url: payload NULL means POST-as-GET (empty payload).
 * Takes a nonce from the pool or newNonce, retries badNonce (D-NONCE),
 * turns problem documents into err (code BYOCA_E_ACME, class per
 * D-FALLBACK, retry_after). cb is called once, from the loop. */
int acme_post(struct byoca_acme *a, const char *url, const char *payload,
              const struct acme_sign *how, acme_resp_cb cb, void *arg,
              struct byoca_err *err);

/* GET of url without JWS (directory, renewalInfo); JSON parsed. With
 * follow, redirects are followed (each hop through the address policy). */
int acme_get(struct byoca_acme *a, const char *url, int follow, acme_resp_cb cb,
             void (*drop)(void *arg), void *arg, struct byoca_err *err);

/* Calls cb(arg, err) on the next loop turn (for errors found before any
 * I/O, so completion is never re-entrant). err may be NULL. */
void acme_defer(struct byoca_acme *a, byoca_acme_cb cb, void *arg,
                const struct byoca_err *err);

/* The loop the client runs on. */
struct byoca_loop *byoca_acme_loop(const struct byoca_acme *a);

/* Directory URL of resource, or NULL. */
const char *acme_dir_url(const struct byoca_acme *a, const char *resource);

/* The account key in use (borrowed), or NULL. */
struct byoca_key *acme_account_key(const struct byoca_acme *a);
/* The account key's JWK thumbprint (RFC 7638), computed once per key and
 * kept in a (every key authorization of a batch repeats it); NULL without
 * a key or on failure. */
const char *acme_account_thumbprint(struct byoca_acme *a);

/* Nonce pool. */
void acme_nonce_put(struct byoca_acme *a, const char *nonce);
char *acme_nonce_take(struct byoca_acme *a);
void acme_nonce_clear(struct byoca_acme *a);

/* JSON helpers: a string member or NULL. */
const char *acme_json_str(const json_t *obj, const char *key);
/* Dumps compactly; caller frees. */
char *acme_json_dump(const json_t *v);
/* Checks that url is an absolute https URL, or http(s) on the directory's
 * own origin (servers the operator trusted); names what in err. */
int acme_check_url(const struct byoca_acme *a, const char *url,
                   const char *what, struct byoca_err *err);

/* Fills err from a failed HTTP response that carried no problem. */
void acme_err_http(struct byoca_err *err, const struct acme_resp *resp,
                   const char *what);

/* Identifier helpers (order.c): normalised form of a name for comparing:
 * lowercase DNS name without trailing dot, or canonical IP text. Returns
 * "dns" or "ip" in *type. */
char *acme_ident_norm(const char *name, const char **type);
/* Validates a user-given name; err names it. */
int acme_ident_check(const char *name, struct byoca_err *err);

/* meta.profiles (profile.c): the valid entries of obj (an object) in
 * *out; BYOCA_E_PROTO when obj is not an object, BYOCA_E_NOMEM. */
int acme_profiles_from_json(const json_t *obj, struct byoca_profile **out,
                            size_t *nout);

/* Finalisation (finalize.c): continues an order whose authorizations are
 * all valid. */
void order_finalize(struct byoca_order *o);

#endif
