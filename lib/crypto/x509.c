/* X.509 certificate inspection (RFC 5280): validity, SANs, key match,
 * serial, AKI, names, DER/PEM forms. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto_int.h"

/* Certificates are a few KB; anything huge is not one we want. */
#define CERT_MAX (1024 * 1024)

static char *dup_bytes(const void *data, size_t len) {
  char *s = malloc(len + 1);
  if (s != NULL) {
    if (len > 0)
      memcpy(s, data, len);
    s[len] = '\0';
  }
  return s;
}

int byoca_cert_parse(const void *data, size_t len, struct byoca_cert **out,
                     struct byoca_err *err) {
  const unsigned char *p = data, *end = p + len;
  struct byoca_cert *c;
  X509 *x = NULL;

  if (len > CERT_MAX)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "certificate larger than %d bytes", CERT_MAX);
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  if ((size_t)(end - p) >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
    BIO *bio = BIO_new_mem_buf(p, (int)(end - p));
    if (bio == NULL)
      return crypto_nomem(err);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
  } else {
    p = data;
    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != end) {
      X509_free(x);
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "trailing data after DER certificate");
    }
  }
  if (x == NULL)
    return crypto_fail(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "cannot parse certificate");
  if ((c = calloc(1, sizeof(*c))) == NULL) {
    X509_free(x);
    return crypto_nomem(err);
  }
  c->x = x;
  *out = c;
  return 0;
}

void byoca_cert_free(struct byoca_cert *c) {
  if (c == NULL)
    return;
  EVP_PKEY_free(c->key);
  X509_free(c->x);
  free(c);
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return BYOCA_E_PROTO;
  }
  *out = (int64_t)timegm(&tm);
  return 0;
}

int byoca_cert_validity(const struct byoca_cert *c, int64_t *not_before,
                        int64_t *not_after) {
  int64_t nb, na;
  int rc;
  if ((rc = asn1_time_unix(X509_get0_notBefore(c->x), &nb)) != 0 ||
      (rc = asn1_time_unix(X509_get0_notAfter(c->x), &na)) != 0)
    return rc;
  *not_before = nb;
  *not_after = na;
  return 0;
}

/* One SAN as text; *out NULL for name types we do not report. */
static int san_text(const GENERAL_NAME *gn, char **out) {
  char ip[INET6_ADDRSTRLEN];
  int type;
  const ASN1_STRING *v = GENERAL_NAME_get0_value(gn, &type);
  const unsigned char *d = ASN1_STRING_get0_data(v);
  int len = ASN1_STRING_length(v);

  *out = NULL;
  if (type == GEN_DNS) {
    if (len < 0 || memchr(d, '\0', (size_t)len) != NULL)
      return BYOCA_E_PROTO; /* an embedded NUL would fake another name */
    *out = dup_bytes(d, (size_t)len);
  } else if (type == GEN_IPADD) {
    if ((len != 4 && len != 16) ||
        inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip)) == NULL)
      return BYOCA_E_PROTO;
    *out = dup_bytes(ip, strlen(ip));
  } else {
    return 0;
  }
  return *out != NULL ? 0 : BYOCA_E_NOMEM;
}

int byoca_cert_sans(const struct byoca_cert *c, char ***out, size_t *n) {
  int crit = 0, rc = 0;
  GENERAL_NAMES *gens =
      X509_get_ext_d2i(c->x, NID_subject_alt_name, &crit, NULL);
  char **v = NULL;
  size_t count = 0;
  int total;

  ERR_clear_error();
  if (gens == NULL) {
    if (crit != -1)
      return BYOCA_E_PROTO; /* malformed or repeated extension */
    *out = NULL;
    *n = 0;
    return 0;
  }
  total = sk_GENERAL_NAME_num(gens);
  if (total > 0 && (v = calloc((size_t)total, sizeof(*v))) == NULL) {
    rc = BYOCA_E_NOMEM;
    goto out;
  }
  for (int i = 0; i < total; i++) {
    char *s = NULL;
    if ((rc = san_text(sk_GENERAL_NAME_value(gens, i), &s)) != 0)
      goto out;
    if (s != NULL)
      v[count++] = s;
  }
  *out = v;
  *n = count;
  v = NULL;
out:
  byoca_strv_free(v, count);
  GENERAL_NAMES_free(gens);
  return rc;
}

void byoca_strv_free(char **v, size_t n) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* c's public key: the one OpenSSL decoded with the certificate, or, for a
 * certificate parsed without it (chain.c), decoded now from its
 * SubjectPublicKeyInfo and kept in c. NULL if it cannot be decoded. */
static EVP_PKEY *cert_key(const struct byoca_cert *c) {
  EVP_PKEY *k = X509_get0_pubkey(c->x);
  if (k != NULL)
    return k;
  ERR_clear_error();
  if (c->key == NULL) {
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c->x), &der);
    const unsigned char *p = der;
    /* c is const for its readers; the decoded key is a cache of its DER */
    if (n > 0)
      ((struct byoca_cert *)c)->key = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
  }
  return c->key;
}

/* 1 if the certificate's SubjectPublicKeyInfo holds exactly k's public key
 * (P-256, P-384, Ed25519: same algorithm and curve, same encoded point),
 * compared without decoding the certificate's key; 0 if that does not
 * tell (RSA, another encoding of the point), and the keys are compared. */
static int spki_is_key(const struct byoca_cert *c, const struct byoca_key *k) {
  ASN1_OBJECT *alg = NULL;
  const unsigned char *pk = NULL;
  int pklen = 0, ptype = 0, nid, curve = NID_undef;
  const void *pval = NULL;
  X509_ALGOR *a = NULL;
  unsigned char want[160];
  size_t wantlen = 0;
  if (X509_PUBKEY_get0_param(&alg, &pk, &pklen, &a,
                             X509_get_X509_PUBKEY(c->x)) != 1 ||
      pk == NULL)
    return 0;
  nid = OBJ_obj2nid(alg);
  if (k->type == BYOCA_KEY_EC256 || k->type == BYOCA_KEY_EC384) {
    X509_ALGOR_get0(NULL, &ptype, &pval, a);
    if (nid != NID_X9_62_id_ecPublicKey || ptype != V_ASN1_OBJECT)
      return 0;
    curve = OBJ_obj2nid(pval);
    if (curve !=
        (k->type == BYOCA_KEY_EC256 ? NID_X9_62_prime256v1 : NID_secp384r1))
      return 0;
  } else if (k->type != BYOCA_KEY_ED25519 || nid != NID_ED25519) {
    return 0;
  }
  if (EVP_PKEY_get_octet_string_param(key_pub(k),
                                      OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, want,
                                      sizeof(want), &wantlen) != 1) {
    ERR_clear_error();
    return 0;
  }
  return wantlen == (size_t)pklen && memcmp(want, pk, wantlen) == 0;
}

int byoca_cert_matches_key(const struct byoca_cert *c,
                           const struct byoca_key *k) {
  if (spki_is_key(c, k))
    return 1;
  const EVP_PKEY *ck = cert_key(c);
  int eq = ck != NULL && EVP_PKEY_eq(ck, key_pub(k)) == 1;
  ERR_clear_error();
  return eq;
}

int byoca_cert_issued_by(const struct byoca_cert *c,
                         const struct byoca_cert *issuer) {
  /* names and key identifiers first, then the signature itself; an issuer
   * parsed without its key (a leaf, never an issuer in a chain) is parsed
   * again in full, as X509_check_issued reads the key from the X509 */
  X509 *ix = issuer->x, *full = NULL;
  if (X509_get0_pubkey(ix) == NULL) {
    unsigned char *der = NULL;
    int n = i2d_X509(ix, &der);
    const unsigned char *p = der;
    ix = full = n > 0 ? d2i_X509(NULL, &p, n) : NULL;
    OPENSSL_free(der);
  }
  EVP_PKEY *k = ix != NULL ? X509_get0_pubkey(ix) : NULL;
  int yes = k != NULL && X509_check_issued(ix, c->x) == X509_V_OK &&
            X509_verify(c->x, k) == 1;
  X509_free(full);
  ERR_clear_error();
  return yes;
}

int byoca_cert_serial_hex(const struct byoca_cert *c, char **out) {
  static const char hex[] = "0123456789abcdef";
  const ASN1_INTEGER *serial = X509_get0_serialNumber(c->x);
  const unsigned char *d = ASN1_STRING_get0_data(serial);
  int len = ASN1_STRING_length(serial);
  int neg = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
  char *s, *p;

  if (len < 0 || len > 1024)
    return BYOCA_E_PROTO;
  if ((s = malloc((size_t)len * 2 + 4)) == NULL)
    return BYOCA_E_NOMEM;
  p = s;
  if (neg)
    *p++ = '-';
  for (int i = 0; i < len; i++) {
    *p++ = hex[d[i] >> 4];
    *p++ = hex[d[i] & 0xf];
  }
  if (len == 0) {
    *p++ = '0';
    *p++ = '0';
  }
  *p = '\0';
  *out = s;
  return 0;
}

/* The content octets of the DER INTEGER, i.e. including the leading 0x00
 * that DER requires when the top bit is set: the RFC 9773 §4.1 CertID
 * serial, ready to base64url. */
int byoca_cert_serial_raw(const struct byoca_cert *c, unsigned char **out,
                          size_t *len) {
  unsigned char *der = NULL, *v;
  int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(c->x), &der);
  size_t hdr = 2, clen;
  int rc = BYOCA_E_PROTO;

  if (n < 3 || der[0] != V_ASN1_INTEGER)
    goto out;
  clen = der[1];
  if (der[1] & 0x80) { /* long form: 1..4 length octets follow */
    size_t nl = der[1] & 0x7f;
    if (nl == 0 || nl > 4 || (size_t)n < 2 + nl)
      goto out;
    clen = 0;
    for (size_t i = 0; i < nl; i++)
      clen = (clen << 8) | der[2 + i];
    hdr += nl;
  }
  if (clen == 0 || hdr + clen != (size_t)n)
    goto out;
  if ((v = malloc(clen)) == NULL) {
    rc = BYOCA_E_NOMEM;
    goto out;
  }
  memcpy(v, der + hdr, clen);
  *out = v;
  *len = clen;
  rc = 0;
out:
  ERR_clear_error();
  OPENSSL_free(der);
  return rc;
}

int byoca_cert_aki(const struct byoca_cert *c, unsigned char **out,
                   size_t *len) {
  const ASN1_OCTET_STRING *id = X509_get0_authority_key_id(c->x);
  int n;

  ERR_clear_error();
  if (id == NULL || (n = ASN1_STRING_length(id)) <= 0)
    return BYOCA_E_NOTFOUND;
  if ((*out = malloc((size_t)n)) == NULL)
    return BYOCA_E_NOMEM;
  memcpy(*out, ASN1_STRING_get0_data(id), (size_t)n);
  *len = (size_t)n;
  return 0;
}

/* The CN as UTF-8, or the RFC 2253 form of the whole name if it has no
 * CN. */
static char *name_cn(const X509_NAME *nm) {
  int idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
  unsigned char *utf8 = NULL;
  char *s = NULL, *data = NULL;
  BIO *bio;
  long n;

  if (idx >= 0) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, idx);
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len >= 0)
      s = dup_bytes(utf8, strnlen((const char *)utf8, (size_t)len));
    OPENSSL_free(utf8);
    ERR_clear_error();
    return s;
  }
  if ((bio = BIO_new(BIO_s_mem())) == NULL)
    return NULL;
  if (X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253) >= 0 &&
      (n = BIO_get_mem_data(bio, &data)) >= 0)
    s = dup_bytes(data, (size_t)n);
  BIO_free(bio);
  ERR_clear_error();
  return s;
}

char *byoca_cert_subject_cn(const struct byoca_cert *c) {
  return name_cn(X509_get_subject_name(c->x));
}

char *byoca_cert_issuer_cn(const struct byoca_cert *c) {
  return name_cn(X509_get_issuer_name(c->x));
}

int byoca_cert_der(const struct byoca_cert *c, unsigned char **der,
                   size_t *len) {
  int n = i2d_X509(c->x, NULL);
  unsigned char *buf, *p;

  if (n <= 0) {
    ERR_clear_error();
    return BYOCA_E_CRYPTO;
  }
  if ((buf = malloc((size_t)n)) == NULL)
    return BYOCA_E_NOMEM;
  p = buf;
  if (i2d_X509(c->x, &p) != n) {
    ERR_clear_error();
    free(buf);
    return BYOCA_E_CRYPTO;
  }
  *der = buf;
  *len = (size_t)n;
  return 0;
}

int byoca_cert_pem(const struct byoca_cert *c, char **out) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL;
  long n;
  int rc = BYOCA_E_CRYPTO;

  if (bio == NULL)
    return BYOCA_E_NOMEM;
  if (PEM_write_bio_X509(bio, c->x) == 1 &&
      (n = BIO_get_mem_data(bio, &data)) > 0)
    rc = (*out = dup_bytes(data, (size_t)n)) != NULL ? 0 : BYOCA_E_NOMEM;
  ERR_clear_error();
  BIO_free(bio);
  return rc;
}
