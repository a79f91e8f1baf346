/* JWS (RFC 7515) in the flattened JSON serialization, as ACME uses it
 * (RFC 8555 §6.2): signing through the key's signer, the ACME protected
 * header, and verification for tests and fixtures. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>

#include "crypto_int.h"

/* JWS inputs and outputs we handle are small; cap what verify parses. */
#define JWS_MAX (1024 * 1024)

static int b64(const void *data, size_t len, char **out) {
  if (len == 0)
    return (*out = strdup("")) != NULL ? 0 : BYOCA_E_NOMEM;
  return byoca_b64url_encode(data, len, out);
}

static int unb64(const char *s, unsigned char **out, size_t *outlen) {
  size_t len = strlen(s);
  if (len == 0) {
    *outlen = 0;
    return (*out = calloc(1, 1)) != NULL ? 0 : BYOCA_E_NOMEM;
  }
  return byoca_b64url_decode(s, len, out, outlen);
}

static int oom(struct byoca_err *err, int rc) {
  return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                       rc == BYOCA_E_NOMEM ? "out of memory"
                                           : "cannot encode JWS");
}

int jws_signing_input(const char *protected_json, const char *payload,
                      char **p64, char **pl64, struct byoca_buf *in) {
  int rc;

  *p64 = *pl64 = NULL;
  if ((rc = b64(protected_json, strlen(protected_json), p64)) != 0 ||
      (rc = b64(payload, strlen(payload), pl64)) != 0 ||
      (rc = byoca_buf_appends(in, *p64)) != 0 ||
      (rc = byoca_buf_append(in, ".", 1)) != 0 ||
      (rc = byoca_buf_appends(in, *pl64)) != 0) {
    free(*p64);
    free(*pl64);
    *p64 = *pl64 = NULL;
  }
  return rc;
}

int jws_flattened(const char *p64, const char *pl64, const unsigned char *sig,
                  size_t siglen, char **out) {
  struct byoca_buf b;
  char *s64 = NULL;
  int rc;

  byoca_buf_init(&b, 0);
  /* pieces, not a format: printf's sizing pass is slow on long strings */
  const char *part[] = {"{\"protected\":\"",
                        p64,
                        "\",\"payload\":\"",
                        pl64,
                        "\",\"signature\":\"",
                        NULL,
                        "\"}"};
  if ((rc = b64(sig, siglen, &s64)) == 0) {
    part[5] = s64;
    for (size_t i = 0; rc == 0 && i < sizeof(part) / sizeof(*part); i++)
      rc = byoca_buf_appends(&b, part[i]);
  }
  if (rc == 0 && (*out = byoca_buf_steal(&b)) == NULL)
    rc = BYOCA_E_NOMEM;
  byoca_buf_free(&b);
  free(s64);
  return rc;
}

int byoca_jws_sign(const struct byoca_key *k, const char *protected_json,
                   const char *payload, char **out, struct byoca_err *err) {
  char *p64 = NULL, *pl64 = NULL;
  unsigned char *sig = NULL;
  size_t siglen = 0;
  struct byoca_buf in;
  int rc;

  byoca_buf_init(&in, 0);
  if ((rc = jws_signing_input(protected_json, payload != NULL ? payload : "",
                              &p64, &pl64, &in)) != 0) {
    oom(err, rc);
    goto out;
  }
  if ((rc = k->ops->sign(k->ctx, in.data, in.len, &sig, &siglen, err)) != 0)
    goto out;
  if ((rc = jws_flattened(p64, pl64, sig, siglen, out)) != 0)
    oom(err, rc);
out:
  byoca_buf_free(&in);
  free(p64);
  free(pl64);
  free(sig);
  return rc;
}

/* {"alg":..,"jwk":{..}|"kid":..,"nonce":..,"url":..} (RFC 8555 §6.2). */
static int acme_header(const struct byoca_key *k, const char *kid,
                       const char *nonce, const char *url, char **out) {
  json_t *h = json_object();
  char *jwk_s = NULL;
  json_t *jwk = NULL;
  int rc = BYOCA_E_NOMEM;

  if (h == NULL || json_object_set_new(h, "alg", json_string(byoca_key_alg(k))))
    goto out;
  if (kid != NULL) {
    if (json_object_set_new(h, "kid", json_string(kid)) != 0)
      goto out;
  } else {
    if ((rc = byoca_jwk_json(k, &jwk_s)) != 0)
      goto out;
    rc = BYOCA_E_NOMEM;
    if ((jwk = json_loads(jwk_s, 0, NULL)) == NULL ||
        json_object_set_new(h, "jwk", jwk) != 0)
      goto out;
  }
  if (nonce != NULL && json_object_set_new(h, "nonce", json_string(nonce)))
    goto out;
  if (json_object_set_new(h, "url", json_string(url)) != 0 ||
      (*out = json_dumps(h, JSON_COMPACT)) == NULL)
    goto out;
  rc = 0;
out:
  free(jwk_s);
  json_decref(h);
  return rc;
}

int byoca_jws_acme(const struct byoca_key *k, const char *kid,
                   const char *nonce, const char *url, const char *payload,
                   char **out, struct byoca_err *err) {
  char *hdr = NULL;
  int rc;

  if (url == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "JWS without a url");
  if ((rc = acme_header(k, kid, nonce, url, &hdr)) != 0)
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                         "cannot build JWS header");
  rc = byoca_jws_sign(k, hdr, payload, out, err);
  free(hdr);
  return rc;
}

/* The protected header must name the algorithm of k: no alg confusion. */
static int check_alg(const struct byoca_key *k, const char *p64) {
  unsigned char *hdr = NULL;
  size_t len = 0;
  json_t *j = NULL;
  const char *alg;
  int rc = BYOCA_E_CRYPTO;

  if (unb64(p64, &hdr, &len) != 0)
    return BYOCA_E_CRYPTO;
  if ((j = json_loadb((const char *)hdr, len, JSON_REJECT_DUPLICATES, NULL)) !=
          NULL &&
      (alg = json_string_value(json_object_get(j, "alg"))) != NULL &&
      strcmp(alg, byoca_key_alg(k)) == 0)
    rc = 0;
  json_decref(j);
  free(hdr);
  return rc;
}

static int verify_sig(const struct byoca_key *k, const char *p64,
                      const char *pl64, const char *s64) {
  unsigned char *sig = NULL, *der = NULL;
  size_t siglen = 0, derlen = 0, ec = key_ec_size(k->type);
  EVP_MD_CTX *md = NULL;
  struct byoca_buf in;
  int rc = BYOCA_E_CRYPTO;

  byoca_buf_init(&in, 0);
  if (unb64(s64, &sig, &siglen) != 0 || siglen == 0 ||
      (ec != 0 && siglen != 2 * ec) ||
      (ec != 0 && ecdsa_raw_to_der(sig, siglen, &der, &derlen, NULL) != 0) ||
      byoca_buf_appendf(&in, "%s.%s", p64, pl64) != 0 ||
      (md = EVP_MD_CTX_new()) == NULL)
    goto out;
  if (EVP_DigestVerifyInit_ex(md, NULL, key_md_name(k->type), NULL, NULL,
                              k->pub, NULL) == 1 &&
      EVP_DigestVerify(md, der != NULL ? der : sig,
                       der != NULL ? derlen : siglen,
                       (const unsigned char *)in.data, in.len) == 1)
    rc = 0;
out:
  ERR_clear_error();
  EVP_MD_CTX_free(md);
  byoca_buf_free(&in);
  free(sig);
  free(der);
  return rc;
}

int byoca_jws_verify(const struct byoca_key *k, const char *jws,
                     char **payload_out) {
  json_t *j = NULL;
  const char *p64, *pl64, *s64;
  unsigned char *payload = NULL;
  size_t plen = 0, len = strlen(jws);
  int rc = BYOCA_E_CRYPTO;

  if (len > JWS_MAX ||
      (j = json_loadb(jws, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
      (p64 = json_string_value(json_object_get(j, "protected"))) == NULL ||
      (pl64 = json_string_value(json_object_get(j, "payload"))) == NULL ||
      (s64 = json_string_value(json_object_get(j, "signature"))) == NULL)
    goto out;
  if (check_alg(k, p64) != 0 || verify_sig(k, p64, pl64, s64) != 0)
    goto out;
  if (payload_out != NULL) {
    if ((rc = unb64(pl64, &payload, &plen)) != 0) {
      rc = BYOCA_E_CRYPTO;
      goto out;
    }
    *payload_out = (char *)payload;
  }
  rc = 0;
out:
  json_decref(j);
  return rc;
}
