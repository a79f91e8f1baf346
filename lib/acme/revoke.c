/* Revocation (RFC 8555 §7.6): by the account key or by the certificate's
 * own key, with an RFC 5280 reason code. */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

static const char *const reasons[] = {
    "unspecified",        "keyCompromise",     "cACompromise",
    "affiliationChanged", "superseded",        "cessationOfOperation",
    "certificateHold",    NULL /* 7 unused */, "removeFromCRL",
    "privilegeWithdrawn", "aACompromise",
};

int byoca_revocation_reason_parse(const char *s) {
  uint64_t v;
  if (s == NULL)
    return -1;
  if (byoca_parse_uint(s, 10, &v) == 0)
    return v == 7 ? -1 : (int)v;
  for (size_t i = 0; i < sizeof(reasons) / sizeof(*reasons); i++)
    if (reasons[i] != NULL && byoca_strcaseeq(s, reasons[i]))
      return (int)i;
  return -1;
}

struct revoke_ctx {
  byoca_acme_cb cb;
  void *arg;
};

static void on_revoked(void *arg, const struct acme_resp *resp,
                       const struct byoca_err *err) {
  struct revoke_ctx *c = arg;
  struct byoca_err e = {0};
  if (err != NULL)
    byoca_err_copy(&e, err);
  else if (resp->status != 200)
    acme_err_http(&e, resp, "revoking");
  if (e.code != 0)
    byoca_err_activity(&e, "revoking the certificate");
  c->cb(c->arg, e.code != 0 ? &e : NULL);
  byoca_err_clear(&e);
  free(c);
}

static char *revoke_payload(const void *cert, size_t certlen, int reason,
                            struct byoca_err *err) {
  struct byoca_cert *c = NULL;
  unsigned char *der = NULL;
  size_t derlen = 0;
  char *b64 = NULL, *payload = NULL;
  if (byoca_cert_parse(cert, certlen, &c, err) != 0)
    return NULL;
  if (byoca_cert_der(c, &der, &derlen) == 0 &&
      byoca_b64url_encode(der, derlen, &b64) == 0)
    payload = reason >= 0 ? byoca_asprintf("{\"certificate\":\"%s\","
                                           "\"reason\":%d}",
                                           b64, reason)
                          : byoca_asprintf("{\"certificate\":\"%s\"}", b64);
  if (payload == NULL)
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  byoca_cert_free(c);
  free(der);
  free(b64);
  return payload;
}

int byoca_acme_revoke(struct byoca_acme *a, const void *cert, size_t certlen,
                      int reason, struct byoca_key *cert_key, byoca_acme_cb cb,
                      void *arg) {
  struct byoca_err e = {0};
  const char *url = acme_dir_url(a, ACME_DIR_REVOKE);
  struct acme_sign how = {.jwk_key = cert_key, .drop = free};
  struct revoke_ctx *c = calloc(1, sizeof(*c));
  char *payload = NULL;
  if (c == NULL)
    return BYOCA_E_NOMEM;
  c->cb = cb;
  c->arg = arg;
  if (url == NULL)
    byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_CA,
                  "the server has no revokeCert resource");
  else if ((payload = revoke_payload(cert, certlen, reason, &e)) != NULL)
    acme_post(a, url, payload, &how, on_revoked, c, &e);
  free(payload);
  if (e.code != 0) {
    byoca_err_activity(&e, "revoking the certificate");
    acme_defer(a, cb, arg, &e);
    byoca_err_clear(&e);
    free(c);
  }
  return 0;
}
