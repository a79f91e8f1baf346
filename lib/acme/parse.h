/* Pure parsers of the ACME objects a server sends (RFC 8555 §7.1): the
 * directory, orders, authorizations and their challenges. Each takes the
 * decoded JSON and fills a struct of owned strings, or fails with an error
 * naming what was wrong; none does I/O or keeps state, so they are fuzzed
 * on their own (tests/fuzz/fuzz_acme_json.c). Policy (which URLs may be
 * contacted, whether identifiers match the request) is the callers'. */
#ifndef BYOCA_ACME_PARSE_H
#define BYOCA_ACME_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "byoca/err.h"

/* Decodes a server's JSON body the way every response is decoded
 * (duplicate keys refused). The error names the line and column. */
int acme_json_load(const char *buf, size_t len, json_t **out,
                   struct byoca_err *err);

struct acme_ident {
  char *type, *value;
};

struct acme_dir_obj {
  char *new_nonce, *new_account, *new_order; /* required */
  char *revoke_cert, *key_change, *renewal_info;
  int has_meta;
  char *tos;
  int eab_required;
  json_t *profiles; /* meta.profiles when an object (borrowed ref held) */
  char **caa_ids;   /* meta.caaIdentities strings, at most ACME_MAX_CAA_IDS */
  size_t ncaa_ids;
  int has_caa_ids; /* meta.caaIdentities is an array */
};

/* The directory: the three required URLs must be strings; the optional
 * ones strings when present; meta an object when present. */
int acme_parse_directory(const json_t *j, struct acme_dir_obj *out,
                         struct byoca_err *err);
void acme_dir_obj_free(struct acme_dir_obj *d);

struct acme_order_obj {
  char *status, *finalize, *expires, *certificate, *profile;
  struct acme_ident *ids; /* identifiers, all of type and value strings */
  size_t nids;
  int ids_ok;   /* "identifiers" was an array of well-formed entries */
  char **authz; /* authorization URLs; NULL when not a list of strings */
  size_t nauthz;
  char *error_json; /* the "error" member as compact JSON, or NULL */
};

/* An order: status and finalize must be strings; identifiers (at most
 * ACME_MAX_AUTHZ) and authorizations (at most ACME_MAX_AUTHZ) are taken
 * when well-formed and flagged when not. */
int acme_parse_order(const json_t *j, struct acme_order_obj *out,
                     struct byoca_err *err);
void acme_order_obj_free(struct acme_order_obj *o);

struct acme_chall_obj {
  char *type, *url, *token, *status; /* each may be NULL (not a string) */
  char *error_json;                  /* "error" as compact JSON, or NULL */
};

struct acme_authz_obj {
  char *status;
  struct acme_ident ident;
  int wildcard;
  struct acme_chall_obj *challs; /* the first ACME_MAX_CHALLENGES */
  size_t nchalls;
};

/* An authorization: status, identifier.type/value must be strings and
 * challenges an array; of its challenges the first ACME_MAX_CHALLENGES
 * are kept (objects only). */
int acme_parse_authz(const json_t *j, struct acme_authz_obj *out,
                     struct byoca_err *err);
void acme_authz_obj_free(struct acme_authz_obj *z);

/* Shared by the parsers: a copy of j[key] when it is a string (*out NULL
 * otherwise); -1 only when out of memory. */
int acme_parse_str(const json_t *j, const char *key, char **out);
/* j[key] as compact JSON (*out NULL when absent); -1 when out of memory. */
int acme_parse_dump(const json_t *j, const char *key, char **out);

#endif
