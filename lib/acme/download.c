/* Certificate download (RFC 8555 §7.4.2): the default chain, alternate
 * chains from Link rel="alternate" with the preferred one chosen by the
 * issuer name of its top certificate, and verification of what the server
 * returned: the certificate key is our key, the SANs are exactly the
 * identifiers, the certificate is not already expired. */
#include <stdlib.h>
#include <string.h>

#include "order_int.h"

static int sans_match(struct byoca_order *o, const struct byoca_cert *leaf) {
  char **sans = NULL;
  size_t n = 0, matched = 0;
  if (byoca_cert_sans(leaf, &sans, &n) != 0)
    return 0;
  for (size_t i = 0; i < n; i++) {
    const char *t;
    char *norm = acme_ident_norm(sans[i], &t);
    for (size_t j = 0; norm != NULL && j < o->nnames; j++)
      if (strcmp(norm, o->names[j]) == 0) {
        matched++;
        break;
      }
    free(norm);
  }
  byoca_strv_free(sans, n);
  return n == o->nnames && matched == n;
}

static int chain_pems(const struct byoca_chain *ch,
                      struct byoca_order_result *r) {
  struct byoca_buf chain;
  byoca_buf_init(&chain, 0);
  if (byoca_cert_pem(ch->certs[0], &r->cert_pem) != 0)
    return -1;
  for (size_t i = 1; i < ch->n; i++) {
    char *pem = NULL;
    if (byoca_cert_pem(ch->certs[i], &pem) != 0 ||
        byoca_buf_appends(&chain, pem) != 0) {
      free(pem);
      byoca_buf_free(&chain);
      return -1;
    }
    free(pem);
  }
  r->chain_pem = byoca_buf_steal(&chain);
  if (r->chain_pem == NULL)
    return -1;
  struct byoca_buf full;
  byoca_buf_init(&full, 0);
  if (byoca_buf_appends(&full, r->cert_pem) != 0 ||
      byoca_buf_appends(&full, r->chain_pem) != 0) {
    byoca_buf_free(&full);
    return -1;
  }
  r->fullchain_pem = byoca_buf_steal(&full);
  return r->fullchain_pem != NULL ? 0 : -1;
}

static int verify(struct byoca_order *o, const struct byoca_chain *ch,
                  struct byoca_err *err) {
  const struct byoca_cert *leaf = ch->certs[0];
  int64_t nb = 0, na = 0;
  if (!byoca_cert_matches_key(leaf, o->key))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the server's certificate is not for our key");
  if (!sans_match(o, leaf))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the server's certificate names differ from the"
                         " order's identifiers");
  if (byoca_cert_validity(leaf, &nb, &na) != 0 || na <= byoca_now())
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the server's certificate is already expired");
  if (nb > byoca_now() + ACME_CERT_MAX_SKEW) {
    char when[32];
    byoca_time_format_rfc3339(nb, when, sizeof(when));
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "the server's certificate is not valid before %s"
                         " (in the future)",
                         when);
  }
  /* each certificate is followed by its issuer (RFC 8555 §9.1) */
  for (size_t i = 0; i + 1 < ch->n; i++)
    if (!byoca_cert_issued_by(ch->certs[i], ch->certs[i + 1]))
      return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                           "the server's chain is broken: certificate %zu"
                           " is not the issuer of certificate %zu%s",
                           i + 2, i + 1,
                           i == 0 ? " (the leaf's issuer is missing)" : "");
  return 0;
}

static void finish(struct byoca_order *o, const char *pem) {
  struct byoca_chain ch = {0};
  struct byoca_err e = {0};
  struct byoca_order_result *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    goto fail;
  }
  if (byoca_chain_parse(pem, strlen(pem), ACME_MAX_CHAIN_CERTS, &ch, &e) != 0 ||
      verify(o, &ch, &e) != 0)
    goto fail;
  if (chain_pems(&ch, r) != 0 ||
      byoca_cert_serial_hex(ch.certs[0], &r->serial) != 0 ||
      byoca_cert_validity(ch.certs[0], &r->not_before, &r->not_after) != 0) {
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                  "cannot encode the certificate");
    goto fail;
  }
  /* from the parsed leaf, so no receiver has to parse it again */
  if (byoca_ari_cert_id(ch.certs[0], &r->cert_id, NULL) != 0)
    r->cert_id = NULL;
  r->order_url = byoca_strdup(o->url);
  r->profile = byoca_strdup(o->echoed_profile);
  r->key = o->key;
  o->key = NULL;
  byoca_chain_free(&ch);
  order_succeed(o, r);
  return;
fail:
  byoca_chain_free(&ch);
  byoca_order_result_free(r);
  byoca_err_activity(&e, "checking the certificate for %s", o->names[0]);
  order_fail(o, &e);
  byoca_err_clear(&e);
}

/* 1 if pem's top issuer is the preferred one. */
static int is_preferred(const struct byoca_order *o, const char *pem) {
  struct byoca_chain ch = {0};
  int yes = 0;
  if (byoca_chain_parse(pem, strlen(pem), ACME_MAX_CHAIN_CERTS, &ch, NULL) ==
      0) {
    char *top = byoca_chain_top_issuer_cn(&ch);
    yes = top != NULL && strcmp(top, o->preferred_chain) == 0;
    free(top);
  }
  byoca_chain_free(&ch);
  return yes;
}

static void fetch_next_alt(struct byoca_order *o);

static void on_alt(void *arg, const struct acme_resp *resp,
                   const struct byoca_err *err) {
  struct byoca_order *o = arg;
  if (op_end(o))
    return;
  if (err == NULL && resp->status == 200 && resp->http->body.data != NULL &&
      is_preferred(o, resp->http->body.data)) {
    order_progress(o, "using the alternate chain to \"%s\"",
                   o->preferred_chain);
    finish(o, resp->http->body.data);
    return;
  }
  fetch_next_alt(o);
}

static void fetch_next_alt(struct byoca_order *o) {
  while (o->alt_next < o->nalts && o->alt_next < ACME_MAX_ALTERNATES) {
    const char *u = o->alts[o->alt_next++];
    if (acme_check_url(o->a, u, "alternate chain", NULL) == 0) {
      order_post(o, u, NULL, ACME_CT_PEM_CHAIN, on_alt, o);
      return;
    }
  }
  order_progress(o, "no chain to \"%s\" is offered; using the default chain",
                 o->preferred_chain);
  finish(o, o->default_pem);
}

static void on_cert(void *arg, const struct acme_resp *resp,
                    const struct byoca_err *err) {
  struct byoca_order *o = arg;
  if (op_end(o))
    return;
  if (err != NULL) {
    order_fail_during(o, err, "downloading the certificate for %s",
                      o->names[0]);
    return;
  }
  if (resp->status != 200 || resp->http->body.data == NULL) {
    order_failf(o, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                "certificate download answered HTTP %ld", resp->status);
    return;
  }
  if (o->preferred_chain == NULL || is_preferred(o, resp->http->body.data)) {
    finish(o, resp->http->body.data);
    return;
  }
  o->default_pem = strdup(resp->http->body.data);
  if (o->default_pem == NULL || byoca_http_links(resp->http, ACME_REL_ALTERNATE,
                                                 &o->alts, &o->nalts) != 0) {
    order_failf(o, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return;
  }
  fetch_next_alt(o);
}

void order_download(struct byoca_order *o) {
  order_progress(o, "downloading the certificate");
  order_post(o, o->cert_url, NULL, ACME_CT_PEM_CHAIN, on_cert, o);
}
