/* External Account Binding (RFC 8555 §7.3.4): an HS256 JWS over the
 * account key's JWK, made with the CA-issued MAC key. The MAC key is a
 * secret: it never reaches an error message or a log. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto_int.h"

static int eab_header(const char *kid, const char *url, char **out) {
  json_t *h = json_object();
  int rc = BYOCA_E_NOMEM;

  if (h != NULL && json_object_set_new(h, "alg", json_string("HS256")) == 0 &&
      json_object_set_new(h, "kid", json_string(kid)) == 0 &&
      json_object_set_new(h, "url", json_string(url)) == 0 &&
      (*out = json_dumps(h, JSON_COMPACT)) != NULL)
    rc = 0;
  json_decref(h);
  return rc;
}

int byoca_eab_jws(const struct byoca_key *account_key, const char *eab_kid,
                  const struct byoca_secret *hmac, const char *url, char **out,
                  struct byoca_err *err) {
  char *hdr = NULL, *jwk = NULL, *p64 = NULL, *pl64 = NULL;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t maclen = 0;
  struct byoca_buf in;
  int rc;

  byoca_buf_init(&in, 0);
  if (eab_kid == NULL || *eab_kid == '\0' || url == NULL || hmac == NULL ||
      hmac->data == NULL || hmac->len == 0) {
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "external account binding needs a key id and a "
                       "non-empty HMAC key");
    goto out;
  }
  if ((rc = eab_header(eab_kid, url, &hdr)) != 0 ||
      (rc = byoca_jwk_json(account_key, &jwk)) != 0 ||
      (rc = jws_signing_input(hdr, jwk, &p64, &pl64, &in)) != 0) {
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                  "cannot build the external account binding");
    goto out;
  }
  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hmac->data, hmac->len,
                (const unsigned char *)in.data, in.len, mac, sizeof(mac),
                &maclen) == NULL) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "external account binding HMAC failed");
    goto out;
  }
  if ((rc = jws_flattened(p64, pl64, mac, maclen, out)) != 0)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
out:
  OPENSSL_cleanse(mac, sizeof(mac));
  byoca_buf_free(&in);
  free(hdr);
  free(jwk);
  free(p64);
  free(pl64);
  return rc;
}
