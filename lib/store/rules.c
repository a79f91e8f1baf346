/* What the store decides the same way on every backend: valid tenant
 * names, the form of API tokens, the CA backoff rule (D-BACKOFF), the
 * public JWK kept next to a sealed account key, and the AAD strings that
 * bind each sealed value to its row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define TOKEN_PREFIX "byoca_"
#define BACKOFF_AFTER 3
#define BACKOFF_FIRST 300
#define BACKOFF_MAX 86400

int store_tenant_name_ok(const char *name) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

int store_token_new(char *token_out, size_t outlen, unsigned char hash[32],
                    struct byoca_err *err) {
  unsigned char raw[32];
  char *b64 = NULL;
  if (outlen < 64)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "token buffer too small");
  if (byoca_random(raw, sizeof(raw)) != 0 ||
      byoca_b64url_encode(raw, sizeof(raw), &b64) != 0) {
    explicit_bzero(raw, sizeof(raw));
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "cannot make a token");
  }
  explicit_bzero(raw, sizeof(raw));
  snprintf(token_out, outlen, TOKEN_PREFIX "%s", b64);
  explicit_bzero(b64, strlen(b64));
  free(b64);
  if (byoca_sha256(token_out, strlen(token_out), hash) != 0) {
    explicit_bzero(token_out, outlen);
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL, "sha256");
  }
  return 0;
}

int store_token_hash(const char *token, unsigned char hash[32]) {
  if (token == NULL || strncmp(token, TOKEN_PREFIX, 6) != 0 ||
      strlen(token) > 128 || byoca_sha256(token, strlen(token), hash) != 0)
    return -1;
  return 0;
}

int store_public_jwk(const struct byoca_secret *pem, char **jwk,
                     struct byoca_err *err) {
  struct byoca_key *k = NULL;
  int rc = byoca_key_load_pem((const char *)pem->data, pem->len, &k, err);
  if (rc == 0 && byoca_jwk_json(k, jwk) != 0)
    rc = byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "cannot make the account's JWK");
  byoca_key_free(k);
  return rc;
}

void store_ca_next(struct byoca_ca_health *h, int ok, const char *error,
                   int64_t now, int *started) {
  *started = 0;
  if (ok) {
    h->failures = 0;
    h->backoff_until = 0;
    h->backoff_secs = 0;
    h->last_ok = now;
    return;
  }
  h->failures++;
  h->last_failure = now;
  byoca_strlcpy(h->last_error, error != NULL ? error : "",
                sizeof(h->last_error));
  if (h->failures >= BACKOFF_AFTER && h->backoff_until <= now) {
    h->backoff_secs =
        h->backoff_secs == 0 ? BACKOFF_FIRST : h->backoff_secs * 2;
    if (h->backoff_secs > BACKOFF_MAX)
      h->backoff_secs = BACKOFF_MAX;
    h->backoff_until = now + h->backoff_secs;
    *started = 1;
  }
}

void store_aad_cert(int64_t tenant, int64_t id, char *aad, size_t n) {
  snprintf(aad, n, "byoca:cert-key:%lld:%lld", (long long)tenant,
           (long long)id);
}

void store_aad_order(int64_t tenant, int64_t cert, char *aad, size_t n) {
  snprintf(aad, n, "byoca:order-key:%lld:%lld", (long long)tenant,
           (long long)cert);
}

void store_aad_account(int64_t tenant, const char *dir, char *aad, size_t n) {
  snprintf(aad, n, "byoca:account-key:%lld:%s", (long long)tenant, dir);
}

void store_aad_eab(int64_t tenant, const char *issuer, char *aad, size_t n) {
  snprintf(aad, n, "byoca:eab:%lld:%s", (long long)tenant, issuer);
}

void store_aad_rfc2136(int64_t tenant, const char *zone, char *aad, size_t n) {
  snprintf(aad, n, "byoca:rfc2136:%lld:%s", (long long)tenant, zone);
}

int store_challenge_taken(struct byoca_store *s, const char *token,
                          struct byoca_err *err) {
  int64_t owner = 0;
  char safe[128];
  byoca_str_sanitize(token, safe, sizeof(safe));
  if (s->ops->challenge_owner(s, token, byoca_now(), &owner, NULL) != 0)
    owner = 0; /* gone meanwhile: still not ours to answer now */
  return byoca_err_set(err, BYOCA_E_CONFLICT, BYOCA_CLASS_RETRYABLE,
                       "challenge %s is held by certificate %lld until its"
                       " validation ends",
                       safe, (long long)owner);
}
