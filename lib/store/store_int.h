/* Internals of lib/store shared by both backends: the store handle, the
 * table of backend operations (store_ops.h), the sealing of secrets under
 * tenant data keys, and the rules that do not depend on the database
 * (tenant names, token format, CA backoff). Each backend has its own
 * header: sqlite/sqlite_int.h, pg/pg_int.h. */
#ifndef BYOCA_STORE_INT_H
#define BYOCA_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/crypto.h"
#include "byoca/store.h"
#include "store_ops.h"

struct sqlite3;
struct pg_conn;

#define STORE_NODE_LEN 64
/* The schema version both backends' migrations lead to. */
#define STORE_SCHEMA_VERSION 7

struct byoca_store {
  const struct store_ops *ops;
  unsigned char master[BYOCA_MASTER_KEY_LEN];
  int version;
  char node[STORE_NODE_LEN];     /* written into claimed_by by claims */
  char app_name[STORE_NODE_LEN]; /* the connection's name, "" = libpq's */
  char *url; /* as opened, for byoca_store_open_twin (may hold a password) */
  /* SQLite backend */
  struct sqlite3 *db;
  int last_rc; /* extended result code of the last db_run */
  /* PostgreSQL backend */
  struct pg_conn *pg;
  char sqlstate[6];    /* of the last failed statement, "" if none */
  char constraint[64]; /* the constraint it broke, "" if none */
  int64_t pg_changes;  /* rows the last statement changed */
  int pg_in_txn;       /* inside BEGIN ... COMMIT/ROLLBACK */
};

/* The backends, chosen by byoca_store_open from the URL. */
extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* A PostgreSQL URL without its password (pg/url.c). */
void pg_url_display(const char *url, char *out, size_t n);
/* 1 if the URL holds a password (or cannot be parsed). */
int pg_url_has_password(const char *url);

/* Seals plain for tenant under its data key, bound to aad. */
int sec_seal(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *plain, size_t len, unsigned char **box, size_t *boxlen,
             struct byoca_err *err);
/* Opens a box sealed by sec_seal. */
int sec_open(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *box, size_t boxlen, struct byoca_secret *out,
             struct byoca_err *err);
/* A fresh data key for tenant id, wrapped by the master key. */
int sec_new_data_key(struct byoca_store *s, int64_t tenant,
                     unsigned char **wrapped, size_t *len,
                     struct byoca_err *err);

/* The AAD strings that bind a sealed value to its row (n >= 96, or 1200
 * for accounts, 400 for EAB and RFC 2136). */
void store_aad_cert(int64_t tenant, int64_t id, char *aad, size_t n);
void store_aad_order(int64_t tenant, int64_t cert, char *aad, size_t n);
void store_aad_account(int64_t tenant, const char *dir, char *aad, size_t n);
void store_aad_eab(int64_t tenant, const char *issuer, char *aad, size_t n);
void store_aad_rfc2136(int64_t tenant, const char *zone, char *aad, size_t n);

/* 1 if name is 1-64 of [A-Za-z0-9._-]. */
int store_tenant_name_ok(const char *name);
/* Makes a token ("byoca_" + base64url of 32 random bytes) into token_out
 * (outlen >= 64) and its SHA-256 into hash. */
int store_token_new(char *token_out, size_t outlen, unsigned char hash[32],
                    struct byoca_err *err);
/* The SHA-256 of a token that has the right form; -1 when it has not. */
int store_token_hash(const char *token, unsigned char hash[32]);
/* The public JWK (JSON text, caller frees) of a private key PEM. */
int store_public_jwk(const struct byoca_secret *pem, char **jwk,
                     struct byoca_err *err);
/* The next CA health after an outcome (D-BACKOFF); *started = 1 when this
 * outcome starts a backoff. */
void store_ca_next(struct byoca_ca_health *h, int ok, const char *error,
                   int64_t now, int *started);
/* Makes room for element n in *arr (capacity *cap, elements of size),
 * doubling from first; 0, or -1 when out of memory (*arr untouched). */
int db_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first);
/* After a challenge_put that changed no row: BYOCA_E_CONFLICT naming the
 * certificate whose unexpired row holds token (rules.c). */
int store_challenge_taken(struct byoca_store *s, const char *token,
                          struct byoca_err *err);
/* STORE_SCHEMA_VERSION, for tests. */
int store_schema_latest(void);

#endif
