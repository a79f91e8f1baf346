/* The tls-alpn-01 validation certificate (RFC 8737 §3): self-signed, one
 * subjectAltName for the identifier (dNSName, or iPAddress per RFC 8738
 * §6), and the critical id-pe-acmeIdentifier extension whose value is the
 * DER OCTET STRING of SHA-256(key authorization). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto_int.h"

#define IDENT_MAX 253
#define KEY_AUTHZ_MAX 1024
#define VALID_BEFORE_S (60L * 60)
#define VALID_AFTER_S (7L * 24 * 60 * 60)

static int ident_ok(const char *s) {
  size_t len = s != NULL ? strlen(s) : 0;
  if (len == 0 || len > IDENT_MAX)
    return 0;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return 0;
  return 1;
}

/* The subjectAltName: the one name the validation is about. */
static int add_san(X509 *x, const char *ident_type, const char *identifier,
                   struct byoca_err *err) {
  unsigned char ip[16];
  int iplen = 0, rc;
  if (strcmp(ident_type, "ip") == 0) {
    if (inet_pton(AF_INET, identifier, ip) == 1)
      iplen = 4;
    else if (inet_pton(AF_INET6, identifier, ip) == 1)
      iplen = 16;
    else
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "tls-alpn-01: '%.100s' is not an IP address",
                           identifier);
  } else if (strcmp(ident_type, "dns") != 0) {
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tls-alpn-01: unknown identifier type '%.20s'",
                         ident_type);
  }
  GENERAL_NAMES *gens = GENERAL_NAMES_new();
  GENERAL_NAME *gn = GENERAL_NAME_new();
  ASN1_STRING *v = iplen != 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  if (gens == NULL || gn == NULL || v == NULL ||
      (iplen != 0 ? ASN1_OCTET_STRING_set(v, ip, iplen)
                  : ASN1_STRING_set(v, identifier, -1)) != 1) {
    ASN1_STRING_free(v);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return crypto_nomem(err);
  }
  GENERAL_NAME_set0_value(gn, iplen != 0 ? GEN_IPADD : GEN_DNS, v);
  if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return crypto_nomem(err);
  }
  rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) ==
               1
           ? 0
           : crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "cannot add subjectAltName");
  GENERAL_NAMES_free(gens);
  return rc;
}

/* id-pe-acmeIdentifier, critical: extnValue is the DER of
 * Authorization ::= OCTET STRING (SIZE (32)). */
static int add_acme_identifier(X509 *x, const char *key_authz,
                               struct byoca_err *err) {
  unsigned char inner[2 + 32];
  ASN1_OBJECT *oid = OBJ_txt2obj(BYOCA_OID_ACME_IDENTIFIER, 1);
  ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
  X509_EXTENSION *ext = NULL;
  int rc = BYOCA_E_NOMEM;

  inner[0] = V_ASN1_OCTET_STRING;
  inner[1] = 32;
  if (oid == NULL || val == NULL)
    goto out;
  if (byoca_sha256(key_authz, strlen(key_authz), inner + 2) != 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot hash the key authorization");
    goto out;
  }
  if (ASN1_OCTET_STRING_set(val, inner, (int)sizeof(inner)) != 1 ||
      (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, val)) == NULL ||
      X509_add_ext(x, ext, -1) != 1)
    goto out;
  rc = 0;
out:
  if (rc == BYOCA_E_NOMEM)
    crypto_nomem(err);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(val);
  ASN1_OBJECT_free(oid);
  return rc;
}

/* A random positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets). */
static int set_serial(X509 *x) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1)
    return -1;
  raw[0] &= 0x7f;
  raw[0] |= 0x40; /* no leading zero octet to strip */
  BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
  ASN1_INTEGER *serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
  int ok = serial != NULL && X509_set_serialNumber(x, serial) == 1;
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  return ok ? 0 : -1;
}

static int build(X509 *x, EVP_PKEY *key, struct byoca_err *err) {
  X509_NAME *name = X509_get_subject_name(x);
  if (X509_set_version(x, 2) != 1 || set_serial(x) != 0 ||
      X509_gmtime_adj(X509_getm_notBefore(x), -VALID_BEFORE_S) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(x), VALID_AFTER_S) == NULL ||
      X509_NAME_add_entry_by_NID(
          name, NID_commonName, MBSTRING_ASC,
          (const unsigned char *)"byoca tls-alpn-01 challenge", -1, -1,
          0) != 1 ||
      X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "cannot build the tls-alpn-01 certificate");
  return 0;
}

int byoca_alpn_cert_new(const char *ident_type, const char *identifier,
                        const char *key_authz, struct byoca_alpn_cert **out,
                        struct byoca_err *err) {
  struct byoca_alpn_cert *c = NULL;
  int rc;
  if (ident_type == NULL || !ident_ok(identifier))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tls-alpn-01: invalid identifier");
  if (key_authz == NULL || key_authz[0] == '\0' ||
      strlen(key_authz) > KEY_AUTHZ_MAX)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "tls-alpn-01: key authorization missing or too long");
  if ((c = calloc(1, sizeof(*c))) == NULL || (c->x = X509_new()) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  if ((c->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot generate the tls-alpn-01 key");
    goto out;
  }
  if ((rc = build(c->x, c->key, err)) != 0 ||
      (rc = add_san(c->x, ident_type, identifier, err)) != 0 ||
      (rc = add_acme_identifier(c->x, key_authz, err)) != 0)
    goto out;
  if (X509_sign(c->x, c->key, EVP_sha256()) <= 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot sign the tls-alpn-01 certificate");
    goto out;
  }
  *out = c;
  c = NULL;
  rc = 0;
out:
  byoca_alpn_cert_free(c);
  return rc;
}

void byoca_alpn_cert_free(struct byoca_alpn_cert *c) {
  if (c == NULL)
    return;
  X509_free(c->x);
  EVP_PKEY_free(c->key);
  free(c);
}

int byoca_alpn_cert_der(const struct byoca_alpn_cert *c, unsigned char **der,
                        size_t *len) {
  unsigned char *buf, *p;
  int n = i2d_X509(c->x, NULL);
  if (n <= 0 || (buf = malloc((size_t)n)) == NULL)
    return BYOCA_E_NOMEM;
  p = buf;
  if (i2d_X509(c->x, &p) != n) {
    free(buf);
    return BYOCA_E_CRYPTO;
  }
  *der = buf;
  *len = (size_t)n;
  return 0;
}
