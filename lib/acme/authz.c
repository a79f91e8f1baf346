/* Authorizations and challenges (RFC 8555 §7.5, §8): fetch each
 * authorization, check it belongs to the order, pick a challenge a
 * configured solver answers, provision, respond, poll (D-POLL), clean up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_int.h"

static void authz_fetch(struct authz *z);

void authz_cancel_timer(struct authz *z) {
  if (z->timer != NULL) {
    byoca_timer_cancel(z->timer);
    z->timer = NULL;
    z->o->pending--;
  }
}

/* ---- cleanup ---- */

static void on_cleanup(void *arg, const struct byoca_err *err) {
  struct authz *z = arg;
  struct byoca_order *o = z->o;
  if (err != NULL) {
    char line[768];
    byoca_err_format(err, line, sizeof(line));
    byoca_log(BYOCA_LOG_WARN, "cleaning up the %s challenge for %s: %s",
              z->chall_type, z->ident, line);
  }
  if (op_end(o))
    return;
  z->done = 1;
  if (--o->authz_left == 0)
    order_finalize(o);
}

static struct byoca_challenge challenge_of(const struct authz *z) {
  struct byoca_challenge ch = {
      .type = z->chall_type,
      .ident_type = z->ident_type,
      .identifier = z->ident,
      .wildcard = z->wildcard,
      .token = z->token,
      .key_authz = z->key_authz,
      .dns_value = z->dns_value,
      .record_name = z->record_name,
      .account_label = z->account_label[0] != '\0' ? z->account_label : NULL,
  };
  return ch;
}

/* Removes what the solver provisioned; on success the authorization then
 * counts as done, on teardown only the bookkeeping runs. */
void authz_cleanup(struct authz *z) {
  struct byoca_err e = {0};
  struct byoca_challenge ch = challenge_of(z);
  if (!z->provisioned)
    return;
  z->provisioned = 0;
  op_begin(z->o);
  if (z->solver->ops->cleanup(z->solver->ctx, &ch, on_cleanup, z, &e) != 0) {
    on_cleanup(z, &e);
    byoca_err_clear(&e);
  }
}

static void authz_valid(struct authz *z) {
  if (z->provisioned) {
    authz_cleanup(z);
    return;
  }
  z->done = 1;
  if (--z->o->authz_left == 0)
    order_finalize(z->o);
}

/* ---- polling ---- */

static void poll_fire(void *arg) {
  struct authz *z = arg;
  z->timer = NULL;
  if (op_end(z->o))
    return;
  authz_fetch(z);
}

static void authz_schedule(struct authz *z, const struct acme_resp *resp) {
  struct byoca_order *o = z->o;
  const char *ra = byoca_http_header(resp->http, ACME_H_RETRY_AFTER);
  int64_t ms = byoca_poll_delay_ms(ra, z->attempt++, byoca_now());
  char what[300];
  snprintf(what, sizeof(what), "the authorization for %s", z->ident);
  if (order_wait_over(o, ms, what))
    return;
  op_begin(o);
  z->timer = byoca_timer_add(byoca_acme_loop(o->a), ms, poll_fire, z);
  if (z->timer == NULL) {
    o->pending--;
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  }
}

/* ---- responding ---- */

/* 1 if err is the server refusing an answer as malformed (HTTP 400), as
 * servers do for a challenge that is no longer pending (RFC 8555 §7.5.1
 * allows answering only a pending one). */
static int refused_answer(const struct byoca_err *err) {
  const char *t = err->problem != NULL ? err->problem->type : NULL;
  return err->http_status == 400 && t != NULL &&
         strcmp(t, ACME_ERR_PREFIX "malformed") == 0;
}

static void on_respond(void *arg, const struct acme_resp *resp,
                       const struct byoca_err *err) {
  struct authz *z = arg;
  if (op_end(z->o))
    return;
  if (err != NULL && refused_answer(err) && !z->refused) {
    /* answered before (by a process that died, or a retried request):
     * what the authorization says now decides */
    z->refused = 1;
    z->responded = 1;
    byoca_err_format(err, z->refused_why, sizeof(z->refused_why));
    authz_fetch(z);
    return;
  }
  if (err != NULL) {
    order_fail_during(z->o, err, "answering the %s challenge for %s",
                      z->chall_type, z->ident);
    return;
  }
  z->responded = 1;
  authz_schedule(z, resp);
}

static void on_setup(void *arg, const struct byoca_err *err) {
  struct authz *z = arg;
  struct byoca_order *o = z->o;
  if (err == NULL) {
    z->provisioned = 1;
    if (o->failed || o->cancelled || o->reported)
      authz_cleanup(z); /* torn down meanwhile: undo at once */
  }
  if (op_end(o))
    return;
  if (err != NULL) {
    order_fail_during(o, err, "setting up %s for %s", z->chall_type, z->ident);
    return;
  }
  order_progress(o, "validating %s%s (%s)", z->wildcard ? "*." : "", z->ident,
                 z->chall_type);
  if (z->answered_before) {
    /* a resumed order whose challenge was answered already: answering
     * again is refused; the authorization is polled instead */
    z->responded = 1;
    authz_fetch(z);
    return;
  }
  order_post(o, z->chall_url, "{}", NULL, on_respond, z);
}

/* ---- choosing ---- */

/* Picks the challenge by the rule (byoca_challenge_choose): 0, -2 for
 * an invalid token, -1 with why filled when nothing fits. */
static int pick(struct authz *z, const json_t *challs, char *why,
                size_t whylen) {
  struct byoca_order *o = z->o;
  const char *types[ACME_MAX_CHALLENGES];
  size_t n = 0, ci, si;
  json_t *c;
  json_array_foreach(challs, ci, c) {
    if (ci >= ACME_MAX_CHALLENGES)
      break;
    const char *t = acme_json_str(c, "type");
    types[n++] = t != NULL && acme_json_str(c, "url") != NULL && strlen(t) <= 40
                     ? t
                     : NULL;
  }
  if (byoca_challenge_choose(&o->chall, types, n, o->solvers, o->nsolvers, &ci,
                             &si, why, whylen) != 0)
    return -1;
  c = json_array_get(challs, ci);
  const char *tok = acme_json_str(c, "token");
  if (tok == NULL || strlen(tok) > 256 || !byoca_b64url_valid(tok))
    return -2;
  const char *st = acme_json_str(c, "status");
  z->answered_before = st != NULL && strcmp(st, ACME_ST_PENDING) != 0;
  z->solver = o->solvers[si];
  z->chall_type = strdup(types[ci]);
  z->chall_url = strdup(acme_json_str(c, "url"));
  z->token = strdup(tok);
  return 0;
}

static int derive(struct authz *z) {
  struct byoca_order *o = z->o;
  z->key_authz = byoca_asprintf("%s.%s", z->token, o->thumbprint);
  if (z->chall_type != NULL && strcmp(z->chall_type, "dns-account-01") == 0) {
    /* D-DNSACCOUNT: the account-scoped label in front of _acme-challenge */
    if (byoca_dns_account_label(o->a->kid, z->account_label) != 0)
      return -1;
    z->record_name =
        byoca_asprintf("%s._acme-challenge.%s", z->account_label, z->ident);
  } else {
    z->record_name = byoca_asprintf("_acme-challenge.%s", z->ident);
  }
  if (z->key_authz == NULL || z->record_name == NULL)
    return -1;
  return byoca_sha256_b64url(z->key_authz, strlen(z->key_authz), &z->dns_value);
}

static void authz_provision(struct authz *z, const json_t *challs) {
  struct byoca_order *o = z->o;
  struct byoca_err e = {0};
  char why[512];
  int r = pick(z, challs, why, sizeof(why));
  if (r == -2) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server sent an invalid challenge token for %s", z->ident);
    return;
  }
  if (r != 0) {
    order_failf(o, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                "no challenge the server offers for %s fits (%s)", z->ident,
                why);
    return;
  }
  if (acme_check_url(o->a, z->chall_url, "challenge", &e) != 0 ||
      derive(z) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    order_fail(o, &e);
    byoca_err_clear(&e);
    return;
  }
  struct byoca_challenge ch = challenge_of(z);
  op_begin(o);
  if (z->solver->ops->setup(z->solver->ctx, &ch, on_setup, z, &e) != 0) {
    o->pending--;
    byoca_err_activity(&e, "setting up %s for %s", z->chall_type, z->ident);
    order_fail(o, &e);
    byoca_err_clear(&e);
  }
}

/* ---- the authorization object ---- */

static int authz_identify(struct authz *z, const json_t *j) {
  struct byoca_order *o = z->o;
  json_t *id = json_object_get(j, "identifier");
  const char *type = acme_json_str(id, "type");
  const char *value = acme_json_str(id, "value");
  const char *t;
  if (type == NULL || value == NULL)
    return -1;
  int wild = json_is_true(json_object_get(j, "wildcard"));
  char *n = acme_ident_norm(value, &t);
  char *full = n != NULL ? byoca_asprintf("%s%s", wild ? "*." : "", n) : NULL;
  int found = 0;
  for (size_t i = 0; full != NULL && i < o->nnames; i++)
    found |= strcmp(o->names[i], full) == 0;
  free(full);
  if (!found || strcmp(type, t) != 0) {
    free(n);
    return -1;
  }
  if (z->ident == NULL) {
    z->ident = n;
    z->ident_type = strdup(type);
    z->wildcard = wild;
  } else {
    free(n);
  }
  return 0;
}

static void authz_error(struct authz *z, const json_t *j, const char *st) {
  struct byoca_err e = {0};
  size_t i;
  json_t *c;
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_INPUT,
                "the authorization for %s is %.20s", z->ident, st);
  json_array_foreach(json_object_get(j, "challenges"), i, c) {
    json_t *pe = json_object_get(c, "error");
    char *txt = pe != NULL ? acme_json_dump(pe) : NULL;
    struct byoca_problem *p = NULL;
    if (txt != NULL && byoca_problem_parse(txt, strlen(txt), &p) == 0) {
      e.cls = byoca_problem_class(p->type);
      byoca_err_set_problem(&e, p);
    }
    free(txt);
    if (e.problem != NULL || i >= ACME_MAX_CHALLENGES)
      break;
  }
  byoca_err_activity(&e, "validating %s", z->ident);
  order_fail(z->o, &e);
  byoca_err_clear(&e);
}

/* 1 if the challenge z answers is still pending in challs. */
static int chall_pending(const struct authz *z, const json_t *challs) {
  size_t i;
  json_t *c;
  json_array_foreach(challs, i, c) {
    const char *url = acme_json_str(c, "url");
    const char *st = acme_json_str(c, "status");
    if (i >= ACME_MAX_CHALLENGES)
      break;
    if (url != NULL && z->chall_url != NULL && strcmp(url, z->chall_url) == 0)
      return st != NULL && strcmp(st, ACME_ST_PENDING) == 0;
  }
  return 0;
}

static void on_authz(void *arg, const struct acme_resp *resp,
                     const struct byoca_err *err) {
  struct authz *z = arg;
  struct byoca_order *o = z->o;
  if (op_end(o))
    return;
  if (err != NULL) {
    order_fail(o, err);
    return;
  }
  const char *st = acme_json_str(resp->json, "status");
  json_t *challs = json_object_get(resp->json, "challenges");
  if (st == NULL || !json_is_array(challs) ||
      authz_identify(z, resp->json) != 0) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server sent an authorization that does not"
                " belong to the order (%.200s)",
                z->url);
    return;
  }
  if (strcmp(st, ACME_ST_VALID) == 0)
    authz_valid(z);
  else if (strcmp(st, ACME_ST_PENDING) == 0 && z->refused &&
           chall_pending(z, challs))
    order_failf(o, BYOCA_E_ACME, BYOCA_CLASS_CA,
                "the server refused the answer to the %s challenge for %s"
                " although the challenge is pending: %s",
                z->chall_type, z->ident, z->refused_why);
  else if (strcmp(st, ACME_ST_PENDING) == 0 && !z->responded &&
           z->solver == NULL)
    authz_provision(z, challs);
  else if (strcmp(st, ACME_ST_PENDING) == 0 ||
           strcmp(st, ACME_ST_PROCESSING) == 0)
    authz_schedule(z, resp);
  else
    authz_error(z, resp->json, st);
}

static void authz_fetch(struct authz *z) {
  order_post(z->o, z->url, NULL, NULL, on_authz, z);
}

void authz_start(struct authz *z) {
  struct byoca_order *o = z->o;
  if (o->thumbprint == NULL) {
    /* the account key signs; its thumbprint is in every key authorization */
    struct byoca_key *k = acme_account_key(o->a);
    if (k == NULL || byoca_jwk_thumbprint(k, &o->thumbprint) != 0) {
      order_failf(o, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                  "cannot compute the account key thumbprint");
      return;
    }
  }
  authz_fetch(z);
}
