/* PEM certificate chains (RFC 8555 §9.1, application/pem-certificate-chain):
 * strict parsing with a cap, leaf first. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>

#include "crypto_int.h"

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

const char *pem_find(const char *hay, size_t len, const char *needle) {
  size_t nlen = strlen(needle);
  const char *p = hay, *end = hay + len;

  while (nlen > 0 && (size_t)(end - p) >= nlen &&
         (p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1)) != NULL) {
    if (memcmp(p, needle, nlen) == 0)
      return p;
    p++;
  }
  return NULL;
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

/* Issuer certificates repeat from one order to the next (a batch gets the
 * same intermediate hundreds of times), and OpenSSL 3.0 spends a decoder
 * set-up on the key of every certificate it parses: the last few issuer
 * blocks are kept, keyed by their exact PEM text, and shared by reference
 * (the X509 is only read once parsed). Kept until exit, never freed. */
#define ISSUER_CACHE 4

static struct {
  char *pem;
  size_t len;
  X509 *x;
} issuer_cache[ISSUER_CACHE];
static size_t issuer_next;
static pthread_mutex_t issuer_mu = PTHREAD_MUTEX_INITIALIZER;

static X509 *issuer_cached(const char *p, size_t len) {
  X509 *x = NULL;
  pthread_mutex_lock(&issuer_mu);
  for (size_t i = 0; x == NULL && i < ISSUER_CACHE; i++)
    if (issuer_cache[i].x != NULL && issuer_cache[i].len == len &&
        memcmp(issuer_cache[i].pem, p, len) == 0 &&
        X509_up_ref(issuer_cache[i].x) == 1)
      x = issuer_cache[i].x;
  pthread_mutex_unlock(&issuer_mu);
  return x;
}

static void issuer_keep(const char *p, size_t len, X509 *x) {
  char *pem = malloc(len);
  if (pem == NULL || X509_up_ref(x) != 1) {
    free(pem);
    return;
  }
  memcpy(pem, p, len);
  pthread_mutex_lock(&issuer_mu);
  size_t i = issuer_next++ % ISSUER_CACHE;
  X509 *old = issuer_cache[i].x;
  char *oldpem = issuer_cache[i].pem;
  issuer_cache[i].pem = pem;
  issuer_cache[i].len = len;
  issuer_cache[i].x = x;
  pthread_mutex_unlock(&issuer_mu);
  X509_free(old);
  free(oldpem);
}

/* The leaf is parsed in a library context without algorithms (only the
 * "null" provider): OpenSSL 3.0 decodes the public key of every
 * certificate it parses, setting up a decoder chain over every provider's
 * decoders and key managers for it (15% of a certificate's client
 * instructions in a batch), and finds none here. The certificate is
 * otherwise the same X509 (its own library context stays the default one:
 * verification, extensions and encoding work as usual); what needs its key
 * decodes it then (x509.c, cert_key), and a certificate that matches our
 * key needs none. Kept until exit, never freed. */
static OSSL_LIB_CTX *bare_ctx;
static pthread_once_t bare_once = PTHREAD_ONCE_INIT;

static void bare_init(void) {
  OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();
  if (c != NULL && OSSL_PROVIDER_load(c, "null") == NULL) {
    OSSL_LIB_CTX_free(c);
    c = NULL;
  }
  bare_ctx = c;
}

/* The certificate of the PEM block [p, p + len), parsed without its key,
 * or NULL (then the ordinary parse runs and says why). */
static X509 *parse_keyless(const char *p, size_t len) {
  char *name = NULL, *header = NULL;
  unsigned char *der = NULL;
  long n = 0;
  X509 *x = NULL;
  pthread_once(&bare_once, bare_init);
  ERR_set_mark(); /* a failure here leaves nothing: the ordinary parse says */
  BIO *bio = bare_ctx != NULL ? BIO_new_mem_buf(p, (int)len) : NULL;
  if (bio != NULL && PEM_read_bio(bio, &name, &header, &der, &n) == 1 &&
      strcmp(name, PEM_STRING_X509) == 0 && header[0] == '\0') {
    const unsigned char *q = der;
    x = (X509 *)ASN1_item_d2i_ex(NULL, &q, n, ASN1_ITEM_rptr(X509), bare_ctx,
                                 NULL);
  }
  BIO_free(bio);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(der);
  ERR_pop_to_mark();
  return x;
}

/* Parses the block [p, end) which starts with BEGIN and ends with END;
 * idx > 0 (an issuer) may come from the cache, idx 0 (the leaf) is parsed
 * without its key. */
static int parse_block(const char *p, const char *end, size_t idx,
                       struct byoca_cert **out, struct byoca_err *err) {
  struct byoca_cert *c;
  X509 *x = idx > 0 ? issuer_cached(p, (size_t)(end - p))
                    : parse_keyless(p, (size_t)(end - p));
  char what[80];

  if (x == NULL) {
    BIO *bio = BIO_new_mem_buf(p, (int)(end - p));
    if (bio == NULL)
      return crypto_nomem(err);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (x != NULL && idx > 0)
      issuer_keep(p, (size_t)(end - p), x);
  }
  if (x == NULL) {
    snprintf(what, sizeof(what), "certificate %zu of the chain is invalid",
             idx + 1);
    return crypto_fail(err, BYOCA_E_PROTO, BYOCA_CLASS_CA, what);
  }
  if ((c = calloc(1, sizeof(*c))) == NULL) {
    X509_free(x);
    return crypto_nomem(err);
  }
  c->x = x;
  *out = c;
  return 0;
}

static int chain_push(struct byoca_chain *ch, struct byoca_cert *c) {
  struct byoca_cert **v = realloc(ch->certs, (ch->n + 1) * sizeof(*v));
  if (v == NULL)
    return BYOCA_E_NOMEM;
  v[ch->n++] = c;
  ch->certs = v;
  return 0;
}

int byoca_chain_parse(const char *pem, size_t len, size_t max_certs,
                      struct byoca_chain *out, struct byoca_err *err) {
  struct byoca_chain ch = {NULL, 0};
  const char *p = pem, *end = pem + len, *e;
  struct byoca_cert *c = NULL;
  int rc = 0;

  while ((p = skip_ws(p, end)) < end) {
    if ((size_t)(end - p) < sizeof(pem_begin) - 1 ||
        memcmp(p, pem_begin, sizeof(pem_begin) - 1) != 0 ||
        (e = pem_find(p, (size_t)(end - p), pem_end)) == NULL) {
      rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "certificate chain contains non-PEM data");
      goto out;
    }
    if (max_certs != 0 && ch.n >= max_certs) {
      rc = byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_CA,
                         "certificate chain has more than %zu certificates",
                         max_certs);
      goto out;
    }
    e += sizeof(pem_end) - 1;
    if ((rc = parse_block(p, e, ch.n, &c, err)) != 0)
      goto out;
    if (chain_push(&ch, c) != 0) {
      byoca_cert_free(c);
      rc = crypto_nomem(err);
      goto out;
    }
    p = e;
  }
  if (ch.n == 0) {
    rc = byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                       "certificate chain is empty");
    goto out;
  }
  *out = ch;
  ch.certs = NULL;
  ch.n = 0;
out:
  byoca_chain_free(&ch);
  return rc;
}

void byoca_chain_free(struct byoca_chain *ch) {
  if (ch == NULL)
    return;
  for (size_t i = 0; i < ch->n; i++)
    byoca_cert_free(ch->certs[i]);
  free(ch->certs);
  ch->certs = NULL;
  ch->n = 0;
}

char *byoca_chain_top_issuer_cn(const struct byoca_chain *ch) {
  if (ch == NULL || ch->n == 0)
    return NULL;
  return byoca_cert_issuer_cn(ch->certs[ch->n - 1]);
}
