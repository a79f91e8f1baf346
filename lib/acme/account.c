/* Accounts (RFC 8555 §7.3): newAccount with contacts, terms and External
 * Account Binding, lookup by key (onlyReturnExisting), update,
 * deactivation and key rollover. */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

void byoca_acme_set_account(struct byoca_acme *a, struct byoca_key *key,
                            const char *kid) {
  a->key = key;
  free(a->thumbprint);
  a->thumbprint = NULL;
  free(a->kid);
  a->kid = kid != NULL ? strdup(kid) : NULL;
}

struct byoca_key *acme_account_key(const struct byoca_acme *a) {
  return a->key;
}

const char *acme_account_thumbprint(struct byoca_acme *a) {
  if (a->thumbprint == NULL && a->key != NULL &&
      byoca_jwk_thumbprint(a->key, &a->thumbprint) != 0)
    a->thumbprint = NULL;
  return a->thumbprint;
}

const char *byoca_acme_account_url(const struct byoca_acme *a) {
  return a->kid;
}

const char *byoca_acme_account_json(const struct byoca_acme *a) {
  return a->account_json;
}

struct acct_ctx {
  struct byoca_acme *a;
  byoca_acme_cb cb;
  void *arg;
  const char *activity;
  int want_location;
  struct byoca_key *new_key; /* keyChange */
};

static struct acct_ctx *ctx_new(struct byoca_acme *a, byoca_acme_cb cb,
                                void *arg, const char *activity) {
  struct acct_ctx *c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->a = a;
    c->cb = cb;
    c->arg = arg;
    c->activity = activity;
  }
  return c;
}

static void acct_done(void *arg, const struct acme_resp *resp,
                      const struct byoca_err *err) {
  struct acct_ctx *c = arg;
  struct byoca_err e = {0};
  if (err != NULL) {
    byoca_err_copy(&e, err);
  } else if (resp->status >= 300) {
    acme_err_http(&e, resp, c->activity);
  } else if (c->want_location && resp->location == NULL) {
    byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "newAccount answer has no Location header");
  } else {
    if (c->want_location) {
      free(c->a->kid);
      c->a->kid = byoca_url_resolve(c->a->dir_url, resp->location);
    }
    if (c->new_key != NULL) {
      c->a->key = c->new_key;
      free(c->a->thumbprint);
      c->a->thumbprint = NULL;
    }
    if (resp->json != NULL) {
      free(c->a->account_json);
      c->a->account_json = acme_json_dump(resp->json);
      const char *st = acme_json_str(resp->json, "status");
      if (st != NULL && strcmp(st, "valid") != 0 && c->new_key == NULL &&
          strcmp(c->activity, "deactivating the account") != 0)
        byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_INPUT,
                      "the account is %.40s", st);
    }
  }
  if (e.code != 0)
    byoca_err_activity(&e, "%s", c->activity);
  c->cb(c->arg, e.code != 0 ? &e : NULL);
  byoca_err_clear(&e);
  free(c);
}

static int start(struct byoca_acme *a, struct acct_ctx *c, const char *url,
                 json_t *payload, struct byoca_key *jwk_key) {
  struct byoca_err e = {0};
  struct acme_sign how = {.jwk_key = jwk_key, .drop = free};
  char *body = payload != NULL ? acme_json_dump(payload) : NULL;
  json_decref(payload);
  if (payload != NULL && body == NULL)
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  else if (url == NULL)
    byoca_err_set(&e, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                  "no URL for this request (directory or account missing)");
  else if (acme_post(a, url, body, &how, acct_done, c, &e) == 0)
    e.code = 0;
  free(body);
  if (e.code != 0) {
    byoca_err_activity(&e, "%s", c->activity);
    acme_defer(a, c->cb, c->arg, &e);
    byoca_err_clear(&e);
    free(c);
  }
  return 0;
}

static json_t *contacts_json(const char *const *contacts, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; arr != NULL && i < n; i++) {
    const char *c = contacts[i];
    char *v =
        strchr(c, ':') != NULL ? strdup(c) : byoca_asprintf("mailto:%s", c);
    json_array_append_new(arr, json_string(v != NULL ? v : ""));
    free(v);
  }
  return arr;
}

static int register_precheck(struct byoca_acme *a,
                             const struct byoca_account_req *req,
                             struct byoca_err *err) {
  if (a->key == NULL)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "no account key set");
  if (req->only_existing)
    return 0;
  if (a->tos != NULL && !req->tos_agreed)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the CA's terms of service must be agreed to (%.300s);"
                         " pass --agree-tos",
                         a->tos);
  if (a->eab_required && (req->eab_kid == NULL || req->eab_hmac == NULL))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_CA,
                         "the CA requires External Account Binding;"
                         " pass --eab-kid and --eab-hmac-file");
  return 0;
}

int byoca_acme_account_register(struct byoca_acme *a,
                                const struct byoca_account_req *req,
                                byoca_acme_cb cb, void *arg) {
  struct byoca_err e = {0};
  const char *url = acme_dir_url(a, ACME_DIR_NEW_ACCOUNT);
  struct acct_ctx *c = ctx_new(a, cb, arg,
                               req->only_existing ? "looking up the account"
                                                  : "registering the account");
  if (c == NULL)
    return BYOCA_E_NOMEM;
  c->want_location = 1;
  json_t *p = json_object();
  if (register_precheck(a, req, &e) == 0 && p != NULL) {
    if (req->only_existing) {
      json_object_set_new(p, "onlyReturnExisting", json_true());
    } else {
      if (req->ncontacts > 0)
        json_object_set_new(p, "contact",
                            contacts_json(req->contacts, req->ncontacts));
      if (req->tos_agreed)
        json_object_set_new(p, "termsOfServiceAgreed", json_true());
    }
    if (!req->only_existing && req->eab_kid != NULL && req->eab_hmac != NULL) {
      char *eab = NULL;
      if (byoca_eab_jws(a->key, req->eab_kid, req->eab_hmac, url, &eab, &e) ==
          0)
        json_object_set_new(p, "externalAccountBinding",
                            json_loads(eab, 0, NULL));
      free(eab);
    }
  }
  if (e.code != 0 || p == NULL) {
    json_decref(p);
    byoca_err_activity(&e, "%s", c->activity);
    acme_defer(a, cb, arg, &e);
    byoca_err_clear(&e);
    free(c);
    return 0;
  }
  return start(a, c, url, p, a->key);
}

int byoca_acme_account_fetch(struct byoca_acme *a, byoca_acme_cb cb,
                             void *arg) {
  struct acct_ctx *c = ctx_new(a, cb, arg, "reading the account");
  if (c == NULL)
    return BYOCA_E_NOMEM;
  return start(a, c, a->kid, NULL, NULL);
}

int byoca_acme_account_update(struct byoca_acme *a, const char *const *contacts,
                              size_t ncontacts, byoca_acme_cb cb, void *arg) {
  struct acct_ctx *c = ctx_new(a, cb, arg, "updating the account");
  if (c == NULL)
    return BYOCA_E_NOMEM;
  json_t *p = json_pack("{s:o}", "contact", contacts_json(contacts, ncontacts));
  return start(a, c, a->kid, p, NULL);
}

int byoca_acme_account_deactivate(struct byoca_acme *a, byoca_acme_cb cb,
                                  void *arg) {
  struct acct_ctx *c = ctx_new(a, cb, arg, "deactivating the account");
  if (c == NULL)
    return BYOCA_E_NOMEM;
  return start(a, c, a->kid, json_pack("{s:s}", "status", "deactivated"), NULL);
}

/* §7.3.5: the inner JWS, signed by the new key with its jwk and the same
 * url, no nonce, carries {account, oldKey}. */
int byoca_acme_account_keychange(struct byoca_acme *a,
                                 struct byoca_key *new_key, byoca_acme_cb cb,
                                 void *arg) {
  struct byoca_err e = {0};
  const char *url = acme_dir_url(a, ACME_DIR_KEY_CHANGE);
  char *old_jwk = NULL, *inner_payload = NULL, *inner = NULL;
  json_t *p = NULL;
  struct acct_ctx *c = ctx_new(a, cb, arg, "rolling over the account key");
  if (c == NULL)
    return BYOCA_E_NOMEM;
  c->new_key = new_key;
  if (url == NULL || a->kid == NULL) {
    byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_CA,
                  "the server has no keyChange resource or no account");
  } else if (byoca_jwk_json(a->key, &old_jwk) != 0) {
    byoca_err_set(&e, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                  "cannot encode JWK");
  } else {
    json_t *ip = json_pack("{s:s,s:o}", "account", a->kid, "oldKey",
                           json_loads(old_jwk, 0, NULL));
    inner_payload = ip != NULL ? acme_json_dump(ip) : NULL;
    json_decref(ip);
    if (inner_payload != NULL && byoca_jws_acme(new_key, NULL, NULL, url,
                                                inner_payload, &inner, &e) == 0)
      p = json_loads(inner, 0, NULL);
    else if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  }
  free(old_jwk);
  free(inner_payload);
  free(inner);
  if (e.code != 0) {
    byoca_err_activity(&e, "%s", c->activity);
    acme_defer(a, cb, arg, &e);
    byoca_err_clear(&e);
    free(c);
    return 0;
  }
  return start(a, c, url, p, NULL);
}
