/* PKCS#10 certificate signing requests (RFC 2986) for ACME finalize
 * (RFC 8555 §7.4): subjectAltName with dNSName and iPAddress entries
 * (RFC 8738), optional CN.
 *
 * The CSR is signed through the key's signer with the ordinary sign op: its
 * JWS-form signature is converted to X.509 form here (ECDSA raw r||s ->
 * DER). So a signer in another process needs no CSR-specific operation.
 * The algorithms are those of the JWS: ecdsa-with-SHA256 for P-256,
 * ecdsa-with-SHA384 for P-384, sha256WithRSAEncryption, Ed25519. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto_int.h"

/* RFC 5280 upper bound for a CN (ub-common-name). */
#define CN_MAX 64
#define NAME_MAX_LEN 253

static int name_ok(const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len > NAME_MAX_LEN)
    return 0;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)name[i] <= 0x20 || (unsigned char)name[i] >= 0x7f)
      return 0;
  return 1;
}

/* Appends one name as iPAddress (IPv4: 4 bytes, IPv6: 16 bytes) or
 * dNSName. */
static int add_name(GENERAL_NAMES *gens, const char *name, int *is_ip) {
  unsigned char ip[16];
  int iplen = 0;
  GENERAL_NAME *gn = GENERAL_NAME_new();
  ASN1_STRING *v = NULL;

  if (inet_pton(AF_INET, name, ip) == 1)
    iplen = 4;
  else if (inet_pton(AF_INET6, name, ip) == 1)
    iplen = 16;
  *is_ip = iplen != 0;
  if (gn == NULL)
    return BYOCA_E_NOMEM;
  v = iplen != 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  if (v == NULL || (iplen != 0 ? ASN1_OCTET_STRING_set(v, ip, iplen)
                               : ASN1_STRING_set(v, name, -1)) != 1) {
    ASN1_STRING_free(v);
    GENERAL_NAME_free(gn);
    return BYOCA_E_NOMEM;
  }
  GENERAL_NAME_set0_value(gn, iplen != 0 ? GEN_IPADD : GEN_DNS, v);
  if (sk_GENERAL_NAME_push(gens, gn) <= 0) {
    GENERAL_NAME_free(gn);
    return BYOCA_E_NOMEM;
  }
  return 0;
}

/* Subject CN and the subjectAltName extension request. */
static int add_names(X509_REQ *req, const char *const *names, size_t n,
                     struct byoca_err *err) {
  GENERAL_NAMES *gens = GENERAL_NAMES_new();
  STACK_OF(X509_EXTENSION) *exts = NULL;
  const char *cn = NULL;
  int rc = BYOCA_E_NOMEM, is_ip;

  if (gens == NULL)
    return crypto_nomem(err);
  for (size_t i = 0; i < n; i++) {
    if (names[i] == NULL || !name_ok(names[i])) {
      rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid name '%.200s' for a CSR",
                         names[i] != NULL ? names[i] : "(null)");
      goto out;
    }
    if (add_name(gens, names[i], &is_ip) != 0) {
      rc = crypto_nomem(err);
      goto out;
    }
    if (!is_ip && cn == NULL)
      cn = names[i];
  }
  if (cn != NULL && strlen(cn) <= CN_MAX &&
      X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req), NID_commonName,
                                 MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                 -1, 0) != 1) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot set CSR subject");
    goto out;
  }
  if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0,
                      X509V3_ADD_APPEND) != 1 ||
      X509_REQ_add_extensions(req, exts) != 1) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot add subjectAltName to CSR");
    goto out;
  }
  rc = 0;
out:
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  GENERAL_NAMES_free(gens);
  return rc;
}

static int set_sig_alg(X509_REQ *req, enum byoca_keytype t,
                       struct byoca_err *err) {
  X509_ALGOR *alg = X509_ALGOR_new();
  int nid = NID_sha256WithRSAEncryption, ptype = V_ASN1_NULL, rc;

  if (t == BYOCA_KEY_EC256 || t == BYOCA_KEY_EC384) {
    nid = t == BYOCA_KEY_EC256 ? NID_ecdsa_with_SHA256 : NID_ecdsa_with_SHA384;
    ptype = V_ASN1_UNDEF; /* RFC 5758 §3.2: parameters absent */
  } else if (t == BYOCA_KEY_ED25519) {
    nid = NID_ED25519;
    ptype = V_ASN1_UNDEF; /* RFC 8410 §3 */
  }
  if (alg == NULL)
    return crypto_nomem(err);
  rc = X509_ALGOR_set0(alg, OBJ_nid2obj(nid), ptype, NULL) == 1 &&
               X509_REQ_set1_signature_algo(req, alg) == 1
           ? 0
           : crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "cannot set CSR signature algorithm");
  X509_ALGOR_free(alg);
  return rc;
}

/* Signs the CertificationRequestInfo through the signer. */
static int sign_req(const struct byoca_key *k, X509_REQ *req,
                    struct byoca_err *err) {
  unsigned char *tbs = NULL, *sig = NULL, *der = NULL;
  size_t siglen = 0, derlen = 0;
  ASN1_BIT_STRING *bits = NULL;
  int n, rc;

  if ((rc = set_sig_alg(req, k->type, err)) != 0)
    return rc;
  if ((n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode CSR");
    goto out;
  }
  if ((rc = k->ops->sign(k->ctx, tbs, (size_t)n, &sig, &siglen, err)) != 0)
    goto out;
  if (key_ec_size(k->type) != 0 &&
      (rc = ecdsa_raw_to_der(sig, siglen, &der, &derlen, err)) != 0)
    goto out;
  if ((bits = ASN1_BIT_STRING_new()) == NULL ||
      ASN1_BIT_STRING_set(bits, der != NULL ? der : sig,
                          (int)(der != NULL ? derlen : siglen)) != 1) {
    rc = crypto_nomem(err);
    goto out;
  }
  /* A signature is a whole number of bytes: no unused bits. */
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req, bits);
  bits = NULL;
  rc = 0;
out:
  ASN1_BIT_STRING_free(bits);
  OPENSSL_free(tbs);
  free(sig);
  free(der);
  return rc;
}

/* The request's SubjectPublicKeyInfo. X509_REQ_set_pubkey costs OpenSSL
 * 3.0 an encoder and a decoder set-up (most of a CSR's CPU): for EC
 * (RFC 5480: id-ecPublicKey, the named curve, the point as the key encodes
 * it) and Ed25519 (RFC 8410: no parameters, the raw key) the fields are set
 * directly, to the same bytes; RSA takes the generic path. */
static int set_pubkey(X509_REQ *req, const struct byoca_key *k) {
  EVP_PKEY *pub = key_pub(k);
  unsigned char pt[1 + 2 * 48], *penc;
  size_t len = sizeof(pt);
  int ok, alg, ptype = V_ASN1_UNDEF;
  ASN1_OBJECT *param = NULL;
  X509_PUBKEY *spki = X509_REQ_get_X509_PUBKEY(req);
  if (k->type == BYOCA_KEY_EC256 || k->type == BYOCA_KEY_EC384) {
    alg = NID_X9_62_id_ecPublicKey;
    ptype = V_ASN1_OBJECT;
    param = OBJ_nid2obj(k->type == BYOCA_KEY_EC256 ? NID_X9_62_prime256v1
                                                   : NID_secp384r1);
    ok = EVP_PKEY_get_octet_string_param(
        pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len);
  } else if (k->type == BYOCA_KEY_ED25519) {
    alg = NID_ED25519;
    ok = EVP_PKEY_get_raw_public_key(pub, pt, &len);
  } else {
    return X509_REQ_set_pubkey(req, pub) == 1 ? 0 : -1;
  }
  if (ok != 1 || spki == NULL || (penc = OPENSSL_memdup(pt, len)) == NULL)
    return -1;
  if (X509_PUBKEY_set0_param(spki, OBJ_nid2obj(alg), ptype, param, penc,
                             (int)len) != 1) {
    OPENSSL_free(penc);
    return -1;
  }
  return 0;
}

int byoca_csr_create(const struct byoca_key *k, const char *const *names,
                     size_t nnames, unsigned char **der, size_t *derlen,
                     struct byoca_err *err) {
  X509_REQ *req = NULL;
  unsigned char *buf = NULL, *p;
  int n, rc;

  if (nnames == 0 || names == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "a CSR needs at least one name");
  if ((req = X509_REQ_new()) == NULL)
    return crypto_nomem(err);
  if (X509_REQ_set_version(req, 0) != 1 || set_pubkey(req, k) != 0) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot build CSR");
    goto out;
  }
  if ((rc = add_names(req, names, nnames, err)) != 0 ||
      (rc = sign_req(k, req, err)) != 0)
    goto out;
  if ((n = i2d_X509_REQ(req, NULL)) <= 0 || (buf = malloc((size_t)n)) == NULL ||
      (p = buf, i2d_X509_REQ(req, &p)) != n) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "cannot encode CSR");
    goto out;
  }
  *der = buf;
  *derlen = (size_t)n;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  X509_REQ_free(req);
  return rc;
}
