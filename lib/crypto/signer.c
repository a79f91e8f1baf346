/* The default signer: the private key lives in this process as an EVP_PKEY
 * and is used only here. */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/core.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto_int.h"

struct default_signer {
  EVP_PKEY *pkey;
  enum byoca_keytype type;
  pthread_mutex_t mu; /* guards the three below */
  EVP_MD_CTX *tmpl;   /* initialised for signing, copied for each one */
  unsigned nsigned;
  int no_tmpl; /* the template could not be made or copied */
};

/* A context ready to sign with s, or NULL. EVP_DigestSignInit_ex fetches
 * the digest and the signature method anew each time (about 40% of the
 * CPU of an ECDSA signature): a key that signs again (an account key signs
 * every JWS) keeps an initialised template and copies it. Ed25519 signs
 * in one shot and always initialises. */
static EVP_MD_CTX *sign_ctx(struct default_signer *s) {
  const char *mdname = key_md_name(s->type);
  EVP_MD_CTX *md = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->tmpl == NULL && !s->no_tmpl && mdname != NULL && s->nsigned++ > 0) {
    s->tmpl = EVP_MD_CTX_new();
    if (s->tmpl == NULL || EVP_DigestSignInit_ex(s->tmpl, NULL, mdname, NULL,
                                                 NULL, s->pkey, NULL) != 1) {
      EVP_MD_CTX_free(s->tmpl);
      s->tmpl = NULL;
      s->no_tmpl = 1;
    }
  }
  if (s->tmpl != NULL && (md = EVP_MD_CTX_new()) != NULL &&
      EVP_MD_CTX_copy_ex(md, s->tmpl) != 1) {
    EVP_MD_CTX_free(md);
    md = NULL;
    s->no_tmpl = 1; /* from now on the ordinary way */
    EVP_MD_CTX_free(s->tmpl);
    s->tmpl = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (md != NULL)
    return md;
  ERR_clear_error();
  if ((md = EVP_MD_CTX_new()) != NULL &&
      EVP_DigestSignInit_ex(md, NULL, mdname, NULL, NULL, s->pkey, NULL) != 1) {
    EVP_MD_CTX_free(md);
    md = NULL;
  }
  return md;
}

static int sign_der(struct default_signer *s, const void *data, size_t len,
                    unsigned char **sig, size_t *siglen,
                    struct byoca_err *err) {
  EVP_MD_CTX *md = sign_ctx(s);
  unsigned char *buf = NULL;
  size_t n = 0;
  int rc;

  if (md == NULL)
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "signing failed");
  if (EVP_DigestSign(md, NULL, &n, data, len) != 1) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "signing failed");
    goto out;
  }
  if ((buf = malloc(n)) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  if (EVP_DigestSign(md, buf, &n, data, len) != 1) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "signing failed");
    goto out;
  }
  *sig = buf;
  *siglen = n;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  EVP_MD_CTX_free(md);
  return rc;
}

/* JWS form: ECDSA signatures become raw r||s (RFC 7518 §3.4). */
static int default_sign(void *ctx, const void *data, size_t len,
                        unsigned char **sig, size_t *siglen,
                        struct byoca_err *err) {
  struct default_signer *s = ctx;
  unsigned char *der = NULL;
  size_t derlen = 0;
  size_t size = key_ec_size(s->type);
  int rc;

  if ((rc = sign_der(s, data, len, &der, &derlen, err)) != 0)
    return rc;
  if (size == 0) {
    *sig = der;
    *siglen = derlen;
    return 0;
  }
  rc = ecdsa_der_to_raw(der, derlen, size, sig, siglen, err);
  free(der);
  return rc;
}

static void default_destroy(void *ctx) {
  struct default_signer *s = ctx;
  if (s == NULL)
    return;
  /* EVP_PKEY_free clears the private components before freeing them. */
  EVP_MD_CTX_free(s->tmpl);
  pthread_mutex_destroy(&s->mu);
  EVP_PKEY_free(s->pkey);
  free(s);
}

static int default_public_der(void *ctx, unsigned char **der, size_t *len,
                              struct byoca_err *err) {
  struct default_signer *s = ctx;
  int n = i2d_PUBKEY(s->pkey, NULL);
  unsigned char *buf, *p;

  if (n <= 0)
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "cannot encode public key");
  if ((buf = malloc((size_t)n)) == NULL)
    return crypto_nomem(err);
  p = buf;
  if (i2d_PUBKEY(s->pkey, &p) != n) {
    free(buf);
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "cannot encode public key");
  }
  *der = buf;
  *len = (size_t)n;
  return 0;
}

/* The public half as parameters, into a key of the same type. */
static int default_public_key(void *ctx, EVP_PKEY **out,
                              struct byoca_err *err) {
  struct default_signer *s = ctx;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_PKEY *pub = NULL;
  int rc = 0;

  if (EVP_PKEY_todata(s->pkey, EVP_PKEY_PUBLIC_KEY, &params) != 1 ||
      (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey, NULL)) == NULL ||
      EVP_PKEY_fromdata_init(pctx) != 1 ||
      EVP_PKEY_fromdata(pctx, &pub, EVP_PKEY_PUBLIC_KEY, params) != 1)
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot copy the public key");
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  *out = pub;
  return rc;
}

static int default_export_pem(void *ctx, struct byoca_buf *out,
                              struct byoca_err *err) {
  struct default_signer *s = ctx;
  /* A secure-memory BIO wipes its buffer when freed. */
  BIO *bio = BIO_new(BIO_s_secmem());
  char *data = NULL;
  long n;
  int rc;

  if (bio == NULL)
    return crypto_nomem(err);
  int fast = crypto_ec_pkcs8_pem(s->pkey, s->type, bio);
  if (fast < 0 ||
      (fast == 0 && PEM_write_bio_PrivateKey(bio, s->pkey, NULL, NULL, 0, NULL,
                                             NULL) != 1) ||
      (n = BIO_get_mem_data(bio, &data)) <= 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode private key");
    goto out;
  }
  if ((rc = byoca_buf_append(out, data, (size_t)n)) != 0)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL,
                  rc == BYOCA_E_TOOBIG ? "private key PEM too large"
                                       : "out of memory");
out:
  BIO_free(bio);
  return rc;
}

static const struct byoca_signer_ops default_ops = {
    .sign = default_sign,
    .destroy = default_destroy,
};

static const struct signer_ext_ops default_ext = {
    .public_der = default_public_der,
    .public_key = default_public_key,
    .export_pem = default_export_pem,
};

int signer_default_new(EVP_PKEY *pkey, struct byoca_key **out,
                       struct byoca_err *err) {
  struct default_signer *s;
  enum byoca_keytype type;
  int rc;

  if ((rc = key_classify(pkey, &type, err)) != 0) {
    EVP_PKEY_free(pkey);
    return rc;
  }
  if ((s = calloc(1, sizeof(*s))) == NULL) {
    EVP_PKEY_free(pkey);
    return crypto_nomem(err);
  }
  s->pkey = pkey;
  s->type = type;
  pthread_mutex_init(&s->mu, NULL);
  return key_from_signer(&default_ops, &default_ext, s, out, err);
}
