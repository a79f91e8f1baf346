/* Authorizations and challenges (RFC 8555 §7.5, §8): fetch each
 * authorization, check it belongs to the order, pick a challenge a
 * configured solver answers, provision, respond, poll (D-POLL), clean up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_int.h"
#include "parse.h"

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
  if (z->solver->ops->watch != NULL)
    z->solver->ops->watch(z->solver->ctx, &ch, NULL, z);
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

/* D-POLL spaces the polls when nothing better is known. A responder of
 * ours sees the CA fetch its answer (RFC 8555 §7.5.1: poll once the
 * validation request was seen), so the poll then comes SEEN_POLL_MS
 * later; at most SEEN_MAX times per authorization (a CA fetching in a
 * loop cannot make us poll in one), never against a Retry-After. */
#define SEEN_POLL_MS 20
#define SEEN_MAX 8

static void poll_fire(void *arg) {
  struct authz *z = arg;
  z->timer = NULL;
  if (op_end(z->o))
    return;
  z->seen_new = 0;
  authz_fetch(z);
}

/* Arms the poll timer for ms from now; the caller holds an operation. */
static void poll_arm(struct authz *z, int64_t ms) {
  struct byoca_order *o = z->o;
  z->poll_at = byoca_now_ms() + ms;
  z->timer = byoca_timer_add(byoca_acme_loop(o->a), ms, poll_fire, z);
  if (z->timer == NULL) {
    o->pending--;
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  }
}

static void seen_log(const struct authz *z) {
  byoca_log(BYOCA_LOG_DEBUG,
            "the CA fetched the %s answer for %s: polling its authorization"
            " in %d ms",
            z->chall_type, z->ident, SEEN_POLL_MS);
}

/* The solver saw the CA fetch our answer: poll soon, unless a poll is
 * due sooner anyway or the CA said when. */
static void authz_seen(void *arg) {
  struct authz *z = arg;
  z->seen_new = 1;
  if (z->timer == NULL || z->wait_told || z->seen_polls >= SEEN_MAX ||
      z->poll_at - byoca_now_ms() <= SEEN_POLL_MS)
    return; /* not waiting yet: authz_schedule looks at seen_new */
  z->seen_polls++;
  seen_log(z);
  byoca_timer_cancel(z->timer); /* the operation it held stays held */
  poll_arm(z, SEEN_POLL_MS);
}

static void authz_schedule(struct authz *z, const struct acme_resp *resp) {
  struct byoca_order *o = z->o;
  const char *ra = byoca_http_header(resp->http, ACME_H_RETRY_AFTER);
  int64_t ms = byoca_poll_delay_ms(ra, z->attempt++, byoca_now());
  z->wait_told = ra != NULL;
  if (z->seen_new && !z->wait_told && z->seen_polls < SEEN_MAX &&
      ms > SEEN_POLL_MS) {
    z->seen_polls++;
    seen_log(z);
    ms = SEEN_POLL_MS;
  }
  char what[300];
  snprintf(what, sizeof(what), "the authorization for %s", z->ident);
  if (order_wait_over(o, ms, what))
    return;
  op_begin(o);
  poll_arm(z, ms);
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
  /* a challenge already decided (valid, or invalid with its error) needs
   * no waiting: the authorization says the rest now */
  const char *st = acme_json_str(resp->json, "status");
  if (st != NULL &&
      (strcmp(st, ACME_ST_VALID) == 0 || strcmp(st, ACME_ST_INVALID) == 0))
    authz_fetch(z);
  else
    authz_schedule(z, resp);
}

static void on_setup(void *arg, const struct byoca_err *err) {
  struct authz *z = arg;
  struct byoca_order *o = z->o;
  if (err == NULL) {
    z->provisioned = 1;
    if (o->failed || o->cancelled || o->reported) {
      authz_cleanup(z); /* torn down meanwhile: undo at once */
    } else if (z->solver->ops->watch != NULL) {
      struct byoca_challenge ch = challenge_of(z);
      z->solver->ops->watch(z->solver->ctx, &ch, authz_seen, z);
    }
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
static int pick(struct authz *z, const struct acme_authz_obj *az, char *why,
                size_t whylen) {
  struct byoca_order *o = z->o;
  const char *types[ACME_MAX_CHALLENGES];
  size_t n = 0, ci, si;
  for (size_t i = 0; i < az->nchalls && n < ACME_MAX_CHALLENGES; i++) {
    const struct acme_chall_obj *c = &az->challs[i];
    types[n++] = c->type != NULL && c->url != NULL && strlen(c->type) <= 40
                     ? c->type
                     : NULL;
  }
  struct byoca_challenge_policy rule = o->chall;
  rule.identifier = z->ident; /* a dns-01 solver may hold some names only */
  if (byoca_challenge_choose(&rule, types, n, o->solvers, o->nsolvers, &ci, &si,
                             why, whylen) != 0)
    return -1;
  const struct acme_chall_obj *c = &az->challs[ci];
  const char *tok = c->token;
  if (tok == NULL || strlen(tok) > 256 || !byoca_b64url_valid(tok))
    return -2;
  const char *st = c->status;
  z->answered_before = st != NULL && strcmp(st, ACME_ST_PENDING) != 0;
  z->solver = o->solvers[si];
  z->chall_type = strdup(c->type);
  z->chall_url = strdup(c->url);
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

static void authz_provision(struct authz *z, const struct acme_authz_obj *az) {
  struct byoca_order *o = z->o;
  struct byoca_err e = {0};
  char why[512];
  int r = pick(z, az, why, sizeof(why));
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

static int authz_identify(struct authz *z, const struct acme_authz_obj *az) {
  struct byoca_order *o = z->o;
  const char *type = az->ident.type;
  const char *value = az->ident.value;
  const char *t;
  int wild = az->wildcard;
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

static void authz_error(struct authz *z, const struct acme_authz_obj *az) {
  struct byoca_err e = {0};
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_INPUT,
                "the authorization for %s is %.20s", z->ident, az->status);
  for (size_t i = 0; i < az->nchalls && e.problem == NULL; i++) {
    const char *txt = az->challs[i].error_json;
    struct byoca_problem *p = NULL;
    if (txt != NULL && byoca_problem_parse(txt, strlen(txt), &p) == 0) {
      e.cls = byoca_problem_class(p->type);
      byoca_err_set_problem(&e, p);
    }
  }
  byoca_err_activity(&e, "validating %s", z->ident);
  order_fail(z->o, &e);
  byoca_err_clear(&e);
}

/* 1 if the challenge z answers is still pending in challs. */
static int chall_pending(const struct authz *z,
                         const struct acme_authz_obj *az) {
  for (size_t i = 0; i < az->nchalls; i++) {
    const char *url = az->challs[i].url;
    const char *st = az->challs[i].status;
    if (url != NULL && z->chall_url != NULL && strcmp(url, z->chall_url) == 0)
      return st != NULL && strcmp(st, ACME_ST_PENDING) == 0;
  }
  return 0;
}

static void authz_take(struct authz *z, const struct acme_authz_obj *az,
                       const struct acme_resp *resp);

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
  struct acme_authz_obj az;
  struct byoca_err e = {0};
  if (acme_parse_authz(resp->json, &az, &e) != 0 ||
      authz_identify(z, &az) != 0) {
    byoca_err_clear(&e);
    acme_authz_obj_free(&az);
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server sent an authorization that does not"
                " belong to the order (%.200s)",
                z->url);
    return;
  }
  authz_take(z, &az, resp);
  acme_authz_obj_free(&az);
}

/* Acts on a parsed authorization (on_authz). */
static void authz_take(struct authz *z, const struct acme_authz_obj *az,
                       const struct acme_resp *resp) {
  struct byoca_order *o = z->o;
  const char *st = az->status;
  if (strcmp(st, ACME_ST_VALID) == 0) {
    if (!z->responded && z->solver == NULL)
      order_progress(o, "%s%s is already authorized (no challenge needed)",
                     z->wildcard ? "*." : "", z->ident);
    authz_valid(z);
  } else if (strcmp(st, ACME_ST_PENDING) == 0 && z->refused &&
             chall_pending(z, az))
    order_failf(o, BYOCA_E_ACME, BYOCA_CLASS_CA,
                "the server refused the answer to the %s challenge for %s"
                " although the challenge is pending: %s",
                z->chall_type, z->ident, z->refused_why);
  else if (strcmp(st, ACME_ST_PENDING) == 0 && !z->responded &&
           z->solver == NULL)
    authz_provision(z, az);
  else if (strcmp(st, ACME_ST_PENDING) == 0 ||
           strcmp(st, ACME_ST_PROCESSING) == 0)
    authz_schedule(z, resp);
  else
    authz_error(z, az);
}

static void authz_fetch(struct authz *z) {
  order_post(z->o, z->url, NULL, NULL, on_authz, z);
}

void authz_start(struct authz *z) {
  struct byoca_order *o = z->o;
  if (o->thumbprint == NULL) {
    /* the account key signs; its thumbprint is in every key authorization */
    const char *t = acme_account_thumbprint(o->a);
    if (t == NULL || (o->thumbprint = strdup(t)) == NULL) {
      order_failf(o, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                  "cannot compute the account key thumbprint");
      return;
    }
  }
  authz_fetch(z);
}
