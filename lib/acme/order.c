/* Orders (RFC 8555 §7.4): newOrder, the order object checks, and the
 * lifecycle bookkeeping (pending operations, failure, cancellation). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "order_int.h"
#include "parse.h"

static void order_free(struct byoca_order *o) {
  for (size_t i = 0; i < o->nauthz; i++) {
    struct authz *z = &o->authz[i];
    free(z->url);
    free(z->ident);
    free(z->ident_type);
    free(z->chall_type);
    free(z->chall_url);
    free(z->token);
    free(z->key_authz);
    free(z->dns_value);
    free(z->record_name);
  }
  free(o->authz);
  for (size_t i = 0; i < o->nnames; i++)
    free(o->names[i]);
  free(o->names);
  byoca_http_links_free(o->alts, o->nalts);
  free(o->profile);
  free(o->want_profile);
  free(o->preferred_chain);
  free(o->replaces);
  free(o->solvers);
  free(o->label);
  free(o->thumbprint);
  free(o->url);
  free(o->finalize_url);
  free(o->cert_url);
  free(o->echoed_profile);
  free(o->default_pem);
  json_decref(o->persist_json);
  free(o->persist_ra);
  free(o->persist_payload);
  byoca_key_free(o->key);
  byoca_err_clear(&o->err);
  byoca_err_clear(&o->key_err);
  free(o);
}

void op_begin(struct byoca_order *o) {
  o->pending++;
}

static void maybe_finish(struct byoca_order *o) {
  if (o->pending > 0)
    return;
  if (o->failed && !o->reported && !o->cancelled) {
    o->reported = 1;
    o->cb(o->arg, NULL, &o->err);
  }
  if (o->reported || o->cancelled)
    order_free(o);
}

int op_end(struct byoca_order *o) {
  o->pending--;
  if (o->cancelled || o->failed || o->reported) {
    maybe_finish(o);
    return 1;
  }
  return 0;
}

/* Cancels timers and cleans up provisioned challenges. A solver may
 * complete its cleanup synchronously, so one operation is held open while
 * looping: the order cannot be freed under our feet. */
static void stop_everything(struct byoca_order *o) {
  o->pending++;
  if (o->timer != NULL) {
    byoca_timer_cancel(o->timer);
    o->timer = NULL;
    o->pending--;
  }
  for (size_t i = 0; i < o->nauthz; i++) {
    authz_cancel_timer(&o->authz[i]);
    if (o->authz[i].provisioned)
      authz_cleanup(&o->authz[i]);
  }
  o->pending--;
}

/* The CA as a user names it: its issuer-domain-name when found through
 * CAA, else its directory URL. */
static const char *ca_name(const struct byoca_acme *a) {
  const char *iss = byoca_acme_issuer(a);
  return iss != NULL ? iss : byoca_acme_directory_url(a);
}

/* 1 if err is the CA's invalidProfile problem. */
static int is_invalid_profile(const struct byoca_err *err) {
  const char *t = err->problem != NULL ? err->problem->type : NULL;
  return t != NULL && strcmp(t, ACME_ERR_PREFIX ACME_E_INVALID_PROFILE) == 0;
}

void order_fail(struct byoca_order *o, const struct byoca_err *err) {
  if (o->failed || o->reported || o->cancelled)
    return;
  o->failed = 1;
  if (byoca_err_copy(&o->err, err) != 0)
    byoca_err_set(&o->err, err->code, err->cls, "%s", err->msg);
  if (is_invalid_profile(&o->err)) { /* its own kind; D-FALLBACK: next CA */
    struct byoca_problem *p = o->err.problem;
    const char *want = o->profile != NULL ? o->profile : o->want_profile;
    o->err.problem = NULL;
    byoca_err_set(&o->err, BYOCA_E_PROFILE, BYOCA_CLASS_CA,
                  "the CA %.200s refused the profile \"%s\"", ca_name(o->a),
                  want != NULL ? want : "(none)");
    byoca_err_set_problem(&o->err, p);
  }
  stop_everything(o);
  maybe_finish(o);
}

void order_failf(struct byoca_order *o, int code, enum byoca_errclass cls,
                 const char *fmt, ...) {
  struct byoca_err e = {0};
  char msg[sizeof(e.msg)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  byoca_err_set(&e, code, cls, "%s", msg);
  order_fail(o, &e);
  byoca_err_clear(&e);
}

void order_fail_during(struct byoca_order *o, const struct byoca_err *err,
                       const char *fmt, ...) {
  struct byoca_err e = {0};
  char what[sizeof(e.activity)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  if (byoca_err_copy(&e, err) != 0)
    byoca_err_set(&e, err->code, err->cls, "%s", err->msg);
  byoca_err_activity(&e, "%s", what);
  order_fail(o, &e);
  byoca_err_clear(&e);
}

void order_succeed(struct byoca_order *o, struct byoca_order_result *res) {
  o->reported = 1;
  o->cb(o->arg, res, NULL);
  maybe_finish(o);
}

void byoca_order_cancel(struct byoca_order *o) {
  if (o == NULL || o->cancelled)
    return;
  o->cancelled = 1;
  if (!o->failed && !o->reported)
    stop_everything(o);
  maybe_finish(o);
}

void order_progress(const struct byoca_order *o, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (o->label != NULL)
    byoca_log(BYOCA_LOG_INFO, "%s: %s", o->label, line);
  else
    byoca_log(BYOCA_LOG_INFO, "%s", line);
}

/* A request of o that will never be answered (its client or the HTTP
 * layer was freed): the order stops waiting for it. */
static void order_dropped(void *arg) {
  op_end(arg);
}

int order_post(struct byoca_order *o, const char *url, const char *payload,
               const char *accept, acme_resp_cb cb, void *arg) {
  struct byoca_err e = {0};
  struct acme_sign how = {
      .accept = accept, .drop = order_dropped, .drop_arg = o};
  op_begin(o);
  if (acme_post(o->a, url, payload, &how, cb, arg, &e) != 0) {
    o->pending--;
    order_fail(o, &e);
    byoca_err_clear(&e);
    return -1;
  }
  return 0;
}

static void persist_failed(struct byoca_order *o) {
  order_failf(o, BYOCA_E_IO, BYOCA_CLASS_RETRYABLE,
              "could not record the order of %s durably; not finalizing it",
              o->names[0]);
}

/* Goes on with what order_persist kept. */
static void persist_go_on(struct byoca_order *o) {
  json_t *json = o->persist_json;
  char *ra = o->persist_ra, *payload = o->persist_payload;
  o->persist_json = NULL;
  o->persist_ra = o->persist_payload = NULL;
  if (json != NULL)
    order_handle_json(o, json, ra);
  else
    order_finalize_send(o, payload);
  json_decref(json);
  free(ra);
  free(payload);
}

/* The wait for persist_start is over (the operation it held ends). */
static void persist_finish(struct byoca_order *o, int rc) {
  if (op_end(o))
    return; /* cancelled or failed meanwhile: what was kept goes with o */
  if (rc != 0)
    persist_failed(o);
  else
    persist_go_on(o);
}

void byoca_order_persist_done(struct byoca_order *o, int rc) {
  if (o == NULL || !o->persist_wait)
    return;
  o->persist_wait = 0;
  if (o->persist_in_hook) { /* goes on once the hook returned */
    o->persist_inline = 1;
    o->persist_rc = rc;
    return;
  }
  persist_finish(o, rc);
}

void order_persist(struct byoca_order *o, const struct byoca_key *key,
                   json_t *json, const char *ra, char *payload) {
  /* kept in o until it goes on (freed with o if it never does) */
  o->persist_json = json_incref(json);
  o->persist_payload = payload;
  if (ra != NULL && (o->persist_ra = strdup(ra)) == NULL) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return;
  }
  if (o->persist_start == NULL) {
    if (o->persist != NULL && o->persist(o->persist_arg, o->url, key) != 0)
      persist_failed(o);
    else
      persist_go_on(o);
    return;
  }
  op_begin(o); /* the wait: o outlives a cancel until the completion */
  o->persist_wait = 1;
  o->persist_in_hook = 1;
  int rc = o->persist_start(o->persist_arg, o, o->url, key);
  o->persist_in_hook = 0;
  if (rc != 0 && o->persist_wait) { /* refused: no completion comes */
    o->persist_wait = 0;
    o->persist_inline = 1;
    o->persist_rc = rc;
  }
  if (o->persist_inline) {
    o->persist_inline = 0;
    persist_finish(o, o->persist_rc);
  }
}

int order_wait_over(struct byoca_order *o, int64_t delay_ms, const char *what) {
  int64_t at = byoca_now_ms() + delay_ms;
  if (o->expires > 0 && at / 1000 > o->expires) {
    order_failf(o, BYOCA_E_TIMEOUT, BYOCA_CLASS_CA,
                "%s was still not done when the order expired", what);
    return 1;
  }
  if (at > o->wait_until_ms) {
    order_failf(
        o, BYOCA_E_TIMEOUT, BYOCA_CLASS_CA,
        "%s was still not done after %lld s (the server asked"
        " to poll again in %lld s; byoca waits %lld s at most)",
        what,
        (long long)((o->max_wait_ms - (o->wait_until_ms - byoca_now_ms())) /
                    1000),
        (long long)(delay_ms / 1000), (long long)(o->max_wait_ms / 1000));
    return 1;
  }
  return 0;
}

/* ---- checking the order object ---- */

static int find_name(const struct byoca_order *o, const char *norm) {
  for (size_t i = 0; i < o->nnames; i++)
    if (strcmp(o->names[i], norm) == 0)
      return (int)i;
  return -1;
}

static int check_identifiers(struct byoca_order *o,
                             const struct acme_order_obj *ob) {
  if (!ob->ids_ok || ob->nids != o->nnames)
    return -1;
  for (size_t i = 0; i < ob->nids; i++) {
    const char *t = NULL;
    char *n = acme_ident_norm(ob->ids[i].value, &t);
    int ok =
        n != NULL && strcmp(ob->ids[i].type, t) == 0 && find_name(o, n) >= 0;
    free(n);
    if (!ok)
      return -1;
  }
  return 0;
}

static int take_authz_urls(struct byoca_order *o,
                           const struct acme_order_obj *ob) {
  size_t n = ob->nauthz;
  if (n == 0 || n > o->nnames || n > ACME_MAX_AUTHZ)
    return -1;
  o->authz = calloc(n, sizeof(*o->authz));
  if (o->authz == NULL)
    return -1;
  o->nauthz = o->authz_left = n;
  for (size_t i = 0; i < n; i++) {
    const char *u = ob->authz[i];
    struct byoca_err e = {0};
    if (acme_check_url(o->a, u, "authorization", &e) != 0 ||
        (o->authz[i].url = strdup(u)) == NULL) {
      byoca_err_clear(&e);
      return -1;
    }
    o->authz[i].o = o;
  }
  return 0;
}

static void order_error_detail(struct byoca_order *o,
                               const struct acme_order_obj *ob) {
  struct byoca_problem *p = NULL;
  struct byoca_err e = {0};
  const char *txt = ob->error_json;
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_CA, "the order became invalid");
  if (txt != NULL && byoca_problem_parse(txt, strlen(txt), &p) == 0) {
    e.cls = byoca_problem_class(p->type);
    byoca_err_set_problem(&e, p);
  }
  order_fail(o, &e);
  byoca_err_clear(&e);
}

/* The profile the order carries (draft-ietf-acme-profiles: echoed on
 * acceptance, or the CA's choice when none was asked): kept when it is a
 * name we could have sent; a required profile must be the one echoed. */
static int check_echoed_profile(struct byoca_order *o, const char *prof) {
  if (prof == NULL || o->echoed_profile != NULL)
    return 0;
  if (o->profile_required && o->profile != NULL &&
      strcmp(prof, o->profile) != 0) {
    order_failf(o, BYOCA_E_PROFILE, BYOCA_CLASS_CA,
                "the CA %.200s answered the order with profile \"%.64s\","
                " not the required \"%s\"",
                ca_name(o->a), prof, o->profile);
    return -1;
  }
  if (!byoca_profile_name_valid(prof))
    return 0; /* not a name we could have sent: not kept */
  if ((o->echoed_profile = strdup(prof)) == NULL) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return -1;
  }
  return 0;
}

/* Acts on a parsed order object (order_handle). */
static void order_take(struct byoca_order *o, const struct acme_order_obj *ob,
                       const char *ra) {
  const char *st = ob->status, *fin = ob->finalize, *exp = ob->expires;
  struct byoca_err e = {0};
  if (check_identifiers(o, ob) != 0) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server's order does not match the request"
                " (identifiers, status or finalize missing or wrong)");
    return;
  }
  if (acme_check_url(o->a, fin, "finalize", &e) != 0) {
    order_fail(o, &e);
    byoca_err_clear(&e);
    return;
  }
  if (o->finalize_url == NULL)
    o->finalize_url = strdup(fin);
  if (exp != NULL && o->expires == 0 &&
      byoca_time_parse_rfc3339(exp, &o->expires) != 0)
    o->expires = 0;
  if (check_echoed_profile(o, ob->profile) != 0)
    return;
  const char *cert = ob->certificate;
  if (strcmp(st, ACME_ST_VALID) == 0 && cert != NULL) {
    if (acme_check_url(o->a, cert, "certificate", &e) != 0) {
      order_fail(o, &e);
      byoca_err_clear(&e);
      return;
    }
    free(o->cert_url);
    o->cert_url = strdup(cert);
    order_download(o);
  } else if (strcmp(st, ACME_ST_INVALID) == 0) {
    order_error_detail(o, ob);
  } else if (strcmp(st, ACME_ST_PENDING) == 0 && o->authz == NULL) {
    if (take_authz_urls(o, ob) != 0) {
      order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                  "the server's order has invalid authorizations");
      return;
    }
    for (size_t i = 0; i < o->nauthz && !o->failed; i++)
      authz_start(&o->authz[i]);
  } else if (!o->finalized && strcmp(st, ACME_ST_READY) == 0) {
    if (o->authz == NULL)
      order_progress(o, "every name is already authorized (no challenge"
                        " needed)");
    order_finalize(o);
  } else if (strcmp(st, ACME_ST_READY) == 0 ||
             strcmp(st, ACME_ST_PROCESSING) == 0 ||
             strcmp(st, ACME_ST_VALID) == 0 ||
             strcmp(st, ACME_ST_PENDING) == 0) {
    order_poll(o, ra);
  } else {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the order has an unknown status \"%.40s\"", st);
  }
}

void order_handle(struct byoca_order *o, const struct acme_resp *resp) {
  order_handle_json(o, resp->json,
                    byoca_http_header(resp->http, ACME_H_RETRY_AFTER));
}

void order_handle_json(struct byoca_order *o, const json_t *json,
                       const char *ra) {
  struct acme_order_obj ob;
  struct byoca_err e = {0};
  if (acme_parse_order(json, &ob, &e) != 0) {
    byoca_err_clear(&e);
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "the server's order does not match the request"
                " (identifiers, status or finalize missing or wrong)");
    return;
  }
  order_take(o, &ob, ra);
  acme_order_obj_free(&ob);
}

/* ---- start ---- */

static char *new_order_payload(struct byoca_order *o);
static void on_new_order(void *arg, const struct acme_resp *resp,
                         const struct byoca_err *err);

/* D-ARI: a predecessor the CA says is already replaced (RFC 9773 §5, 409
 * alreadyReplaced) is ordered again once, without "replaces". */
static int retry_without_replaces(struct byoca_order *o,
                                  const struct byoca_err *err) {
  const char *t = err->problem != NULL ? err->problem->type : NULL;
  if (o->replaces == NULL || t == NULL ||
      strcmp(t, ACME_ERR_PREFIX ACME_E_ALREADY_REPLACED) != 0)
    return 0;
  order_progress(o,
                 "the CA says the certificate %s was already replaced;"
                 " ordering again without \"replaces\"",
                 o->replaces);
  free(o->replaces);
  o->replaces = NULL;
  char *payload = new_order_payload(o);
  if (payload == NULL) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return 1;
  }
  order_post(o, acme_dir_url(o->a, ACME_DIR_NEW_ORDER), payload, NULL,
             on_new_order, o);
  free(payload);
  return 1;
}

/* D-PROFILE: a preferred profile the CA refuses (invalidProfile: it
 * advertised it but will not issue it to us, or no longer does) is
 * dropped and the order sent once more without it. A required one fails
 * the order (order_fail makes it BYOCA_E_PROFILE, class CA). */
static int retry_without_profile(struct byoca_order *o,
                                 const struct byoca_err *err) {
  if (o->profile == NULL || o->profile_required || !is_invalid_profile(err))
    return 0;
  order_progress(o,
                 "the CA refused the profile \"%s\" (invalidProfile);"
                 " ordering again without a profile",
                 o->profile);
  free(o->profile);
  o->profile = NULL;
  char *payload = new_order_payload(o);
  if (payload == NULL) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return 1;
  }
  order_post(o, acme_dir_url(o->a, ACME_DIR_NEW_ORDER), payload, NULL,
             on_new_order, o);
  free(payload);
  return 1;
}

static void on_new_order(void *arg, const struct acme_resp *resp,
                         const struct byoca_err *err) {
  struct byoca_order *o = arg;
  if (op_end(o))
    return;
  if (err != NULL &&
      (retry_without_replaces(o, err) || retry_without_profile(o, err)))
    return;
  if (err != NULL) {
    order_fail_during(o, err, "ordering a certificate for %s", o->names[0]);
    return;
  }
  if (resp->status != 201 || resp->location == NULL || resp->json == NULL) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "newOrder answered HTTP %ld without an order and its"
                " Location",
                resp->status);
    return;
  }
  o->url = byoca_url_resolve(byoca_acme_directory_url(o->a), resp->location);
  struct byoca_err e = {0};
  if (o->url == NULL || acme_check_url(o->a, o->url, "order", &e) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_PROTO, BYOCA_CLASS_CA, "bad order URL");
    order_fail(o, &e);
    byoca_err_clear(&e);
    return;
  }
  order_persist(o, NULL, resp->json,
                byoca_http_header(resp->http, ACME_H_RETRY_AFTER), NULL);
}

static void start_done(void *arg) {
  struct byoca_order *o = arg;
  op_end(o);
}

static char *new_order_payload(struct byoca_order *o) {
  json_t *ids = json_array();
  for (size_t i = 0; i < o->nnames; i++) {
    const char *t = "dns";
    char *n = acme_ident_norm(o->names[i], &t);
    json_array_append_new(
        ids, json_pack("{s:s,s:s}", "type", t, "value", n != NULL ? n : ""));
    free(n);
  }
  json_t *p = json_pack("{s:o}", "identifiers", ids);
  if (o->profile != NULL)
    json_object_set_new(p, "profile", json_string(o->profile));
  if (o->replaces != NULL)
    json_object_set_new(p, "replaces", json_string(o->replaces));
  char *s = acme_json_dump(p);
  json_decref(p);
  return s;
}

/* Keeps the challenge policy as static type names: known types only (an
 * unknown one no solver answers anyway). */
static void copy_policy(struct byoca_order *o,
                        const struct byoca_challenge_policy *p) {
  o->chall.order = NULL;
  o->chall.norder = 0;
  if (p->order != NULL) {
    o->chall.order = o->chall_order;
    for (size_t i = 0;
         i < p->norder && o->chall.norder < BYOCA_CHALLENGE_TYPES_MAX; i++) {
      const char *t =
          p->order[i] != NULL
              ? byoca_challenge_known(p->order[i], strlen(p->order[i]))
              : NULL;
      if (t != NULL)
        o->chall_order[o->chall.norder++] = t;
    }
  }
  o->chall.caa_restricts = p->caa_restricts;
  o->chall.caa_allowed = o->chall_caa;
  o->chall.ncaa_allowed = 0;
  for (size_t i = 0; p->caa_restricts && i < p->ncaa_allowed &&
                     o->chall.ncaa_allowed < BYOCA_CHALLENGE_TYPES_MAX;
       i++) {
    const char *t = p->caa_allowed[i] != NULL
                        ? byoca_challenge_known(p->caa_allowed[i],
                                                strlen(p->caa_allowed[i]))
                        : NULL;
    if (t != NULL)
      o->chall_caa[o->chall.ncaa_allowed++] = t;
  }
}

static int copy_request(struct byoca_order *o, const struct byoca_order_req *r,
                        struct byoca_err *err) {
  o->names = calloc(r->nnames, sizeof(char *));
  if (o->names == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < r->nnames; i++) {
    const char *t;
    if (acme_ident_check(r->names[i], err) != 0)
      return BYOCA_E_INVAL;
    char *n = acme_ident_norm(r->names[i], &t);
    if (n == NULL)
      return BYOCA_E_NOMEM;
    if (find_name(o, n) >= 0) {
      free(n);
      continue;
    }
    o->names[o->nnames++] = n;
  }
  o->key_type = r->key_type;
  o->profile_required = r->profile != NULL && r->profile_required;
  if (r->profile != NULL && (o->want_profile = strdup(r->profile)) == NULL)
    return BYOCA_E_NOMEM;
  o->preferred_chain = byoca_strdup(r->preferred_chain);
  o->replaces = byoca_strdup(r->replaces);
  o->label = byoca_strdup(r->label);
  o->max_wait_ms = r->max_wait_ms > 0 ? r->max_wait_ms : ACME_ORDER_MAX_WAIT_MS;
  o->wait_until_ms = byoca_now_ms() + o->max_wait_ms;
  o->persist = r->persist;
  o->persist_start = r->persist_start;
  o->persist_arg = r->persist_arg;
  o->solvers = calloc(r->nsolvers + 1, sizeof(*o->solvers));
  if (o->solvers == NULL)
    return BYOCA_E_NOMEM;
  if (r->nsolvers > 0) /* none: an order whose names are all authorized */
    memcpy(o->solvers, r->solvers, r->nsolvers * sizeof(*o->solvers));
  o->nsolvers = r->nsolvers;
  copy_policy(o, &r->challenges);
  return 0;
}

/* D-PROFILE: the profile is requested only when the directory advertises
 * it; otherwise a preferred one is dropped (said on the progress line)
 * and a required one fails before anything is sent. */
static int choose_profile(struct byoca_order *o, struct byoca_err *err) {
  const char *want = o->want_profile;
  size_t n = 0;
  const struct byoca_profile *p = byoca_acme_profile_list(o->a, &n);
  if (want == NULL)
    return 0;
  if (!byoca_profile_name_valid(want))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "\"%.80s\" is not a profile name (1-%d of A-Z a-z"
                         " 0-9 . _ -)",
                         want, BYOCA_PROFILE_NAME_MAX);
  for (size_t i = 0; i < n; i++)
    if (strcmp(p[i].name, want) == 0)
      return (o->profile = strdup(want)) == NULL
                 ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                                 "out of memory")
                 : 0;
  if (!o->profile_required) {
    order_progress(o,
                   "profile \"%s\" is not offered by %s; ordering without"
                   " a profile",
                   want, ca_name(o->a));
    return 0;
  }
  char offered[256] = "";
  size_t off = 0;
  for (size_t i = 0; i < n && off < sizeof(offered); i++) {
    int w = snprintf(offered + off, sizeof(offered) - off, "%s%s",
                     i ? ", " : "", p[i].name);
    off += w > 0 ? (size_t)w : 0;
  }
  return byoca_err_set(err, BYOCA_E_PROFILE, BYOCA_CLASS_CA,
                       "the CA %.200s does not offer the required profile"
                       " \"%s\" (it offers: %s)",
                       ca_name(o->a), want, n > 0 ? offered : "no profiles");
}

/* The order object for req, before anything is sent; NULL with err set. */
static struct byoca_order *order_new(struct byoca_acme *a,
                                     const struct byoca_order_req *req,
                                     byoca_order_cb cb, void *arg,
                                     struct byoca_err *err) {
  struct byoca_order *o = calloc(1, sizeof(*o));
  int rc = BYOCA_E_NOMEM;
  if (o == NULL)
    goto fail;
  o->a = a;
  o->cb = cb;
  o->arg = arg;
  if (req->nnames == 0) {
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "no names to order a certificate for");
    goto fail;
  }
  if ((rc = copy_request(o, req, err)) != 0)
    goto fail;
  if (byoca_acme_account_url(a) == NULL) {
    rc = byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                       "no ACME account; register one first");
    goto fail;
  }
  return o;
fail:
  if (rc == BYOCA_E_NOMEM && err != NULL && err->code == 0)
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  if (o != NULL)
    order_free(o);
  return NULL;
}

/* Holds the order until the next loop turn, so that no callback runs
 * inside the starting call. */
static int hold_until_next_turn(struct byoca_order *o) {
  op_begin(o);
  if (byoca_timer_add(byoca_acme_loop(o->a), 0, start_done, o) != NULL)
    return 0;
  o->pending--;
  return -1;
}

struct byoca_order *byoca_order_start(struct byoca_acme *a,
                                      const struct byoca_order_req *req,
                                      byoca_order_cb cb, void *arg,
                                      struct byoca_err *err) {
  struct byoca_order *o = order_new(a, req, cb, arg, err);
  char *payload = NULL;
  if (o == NULL)
    return NULL;
  if (o->replaces != NULL && !byoca_acme_has(a, ACME_DIR_RENEWAL_INFO)) {
    free(o->replaces); /* RFC 9773 §5: not without ARI in the directory */
    o->replaces = NULL;
  }
  if (choose_profile(o, err) != 0) {
    order_free(o);
    return NULL;
  }
  if ((payload = new_order_payload(o)) == NULL ||
      hold_until_next_turn(o) != 0) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    free(payload);
    order_free(o);
    return NULL;
  }
  order_progress(o, "ordering a certificate for %s%s", o->names[0],
                 o->nnames > 1 ? " and more" : "");
  order_keygen_start(o);
  order_post(o, acme_dir_url(a, ACME_DIR_NEW_ORDER), payload, NULL,
             on_new_order, o);
  free(payload);
  return o;
}

struct byoca_order *byoca_order_resume(struct byoca_acme *a,
                                       const struct byoca_order_req *req,
                                       const char *order_url,
                                       struct byoca_key *key, byoca_order_cb cb,
                                       void *arg, struct byoca_err *err) {
  struct byoca_order *o = order_new(a, req, cb, arg, err);
  if (o == NULL) {
    byoca_key_free(key);
    return NULL;
  }
  o->key = key;
  o->key_ready = key != NULL;
  if (acme_check_url(a, order_url, "order", err) != 0) {
    order_free(o);
    return NULL;
  }
  if ((o->url = strdup(order_url)) == NULL || hold_until_next_turn(o) != 0) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    order_free(o);
    return NULL;
  }
  order_progress(o, "resuming the order for %s", o->names[0]);
  if (key == NULL)
    order_keygen_start(o);
  order_refresh(o);
  return o;
}

void byoca_order_result_free(struct byoca_order_result *r) {
  if (r == NULL)
    return;
  byoca_key_free(r->key);
  free(r->cert_pem);
  free(r->chain_pem);
  free(r->fullchain_pem);
  free(r->serial);
  free(r->cert_id);
  free(r->order_url);
  free(r->profile);
  free(r);
}
