/* Unit tests of CSRs, X.509 inspection and PEM chains. Certificates are
 * built here with OpenSSL so every expected value (serial, SANs, validity,
 * AKI, names) is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "byoca/crypto.h"
#include "crypto_int.h"

#define NOT_BEFORE 1700000000
#define NOT_AFTER (NOT_BEFORE + 90 * 86400)

static const unsigned char test_aki[20] = {
    0x14, 0x2e, 0xb3, 0x17, 0xb7, 0x58, 0x56, 0xcb, 0xae, 0x50,
    0x09, 0x40, 0xe6, 0x1f, 0xaf, 0x9d, 0x8b, 0x14, 0xc2, 0xc6};

/* ---- CSR ---- */

static X509_REQ *parse_csr(const unsigned char *der, size_t len) {
  const unsigned char *p = der;
  X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
  assert_non_null(req);
  assert_ptr_equal(p, der + len);
  return req;
}

/* SANs of a CSR as "DNS:x" / "IP:n bytes" strings joined by ','. */
static char *csr_sans(X509_REQ *req) {
  STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
  GENERAL_NAMES *gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_non_null(gens);
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
    int type;
    ASN1_STRING *v =
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
    const unsigned char *d = ASN1_STRING_get0_data(v);
    int len = ASN1_STRING_length(v);
    if (type == GEN_DNS) {
      assert_int_equal(byoca_buf_appendf(&b, "%sDNS:%.*s", i ? "," : "", len,
                                         (const char *)d),
                       0);
    } else {
      assert_int_equal(type, GEN_IPADD);
      assert_int_equal(byoca_buf_appendf(&b, "%sIP:%d:%02x%02x", i ? "," : "",
                                         len, d[0], d[len - 1]),
                       0);
    }
  }
  GENERAL_NAMES_free(gens);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return byoca_buf_steal(&b);
}

static char *csr_cn(X509_REQ *req) {
  char cn[128] = "";
  int n = X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req),
                                    NID_commonName, cn, sizeof(cn));
  return n < 0 ? NULL : strdup(cn);
}

static void test_csr_contents(void **state) {
  (void)state;
  const enum byoca_keytype types[] = {BYOCA_KEY_EC256, BYOCA_KEY_EC384,
                                      BYOCA_KEY_RSA2048, BYOCA_KEY_ED25519};
  const int sig_nid[] = {NID_ecdsa_with_SHA256, NID_ecdsa_with_SHA384,
                         NID_sha256WithRSAEncryption, NID_ED25519};
  const char *names[] = {"192.0.2.1", "example.org", "www.example.org",
                         "2001:db8::1"};
  for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
    struct byoca_key *k = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    struct byoca_err err = {0};
    assert_int_equal(byoca_key_generate(types[i], &k, &err), 0);
    assert_int_equal(byoca_csr_create(k, names, 4, &der, &len, &err), 0);
    X509_REQ *req = parse_csr(der, len);

    /* signed by k, with the algorithm of the key */
    assert_int_equal(X509_REQ_verify(req, key_pub(k)), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), sig_nid[i]);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    assert_int_equal(EVP_PKEY_eq(pub, key_pub(k)), 1);
    /* the SubjectPublicKeyInfo is byte for byte what OpenSSL encodes */
    unsigned char *want = NULL, *got = NULL;
    int wn = i2d_PUBKEY(key_pub(k), &want);
    int gn = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &got);
    assert_true(wn > 0);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, (size_t)wn);
    OPENSSL_free(want);
    OPENSSL_free(got);
    assert_int_equal(X509_REQ_get_version(req), 0);

    char *cn = csr_cn(req), *sans = csr_sans(req);
    assert_string_equal(cn, "example.org"); /* first DNS name, not the IP */
    assert_string_equal(sans, "IP:4:c001,DNS:example.org,"
                              "DNS:www.example.org,IP:16:2001");
    free(cn);
    free(sans);
    X509_REQ_free(req);
    free(der);
    byoca_key_free(k);
  }
}

static void test_csr_subject(void **state) {
  (void)state;
  struct byoca_key *k = NULL;
  unsigned char *der = NULL;
  size_t len = 0;
  struct byoca_err err = {0};
  /* 65 bytes: too long for a CN (RFC 5280 ub-common-name 64) */
  const char *longname =
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example";
  const char *names[] = {longname, "short.example"};
  assert_int_equal(strlen(longname), 65);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &k, NULL), 0);

  assert_int_equal(byoca_csr_create(k, names, 2, &der, &len, &err), 0);
  X509_REQ *req = parse_csr(der, len);
  assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
  char *sans = csr_sans(req);
  assert_non_null(strstr(sans, longname));
  free(sans);
  X509_REQ_free(req);
  free(der);

  /* only IPs: no CN */
  const char *ips[] = {"::1"};
  assert_int_equal(byoca_csr_create(k, ips, 1, &der, &len, &err), 0);
  req = parse_csr(der, len);
  assert_null(csr_cn(req));
  X509_REQ_free(req);
  free(der);

  /* wildcard name as CN, exactly 64 bytes */
  const char *n64[] = {
      "*.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"};
  assert_int_equal(strlen(n64[0]), 64);
  assert_int_equal(byoca_csr_create(k, n64, 1, &der, &len, &err), 0);
  req = parse_csr(der, len);
  char *cn = csr_cn(req);
  assert_string_equal(cn, n64[0]);
  free(cn);
  X509_REQ_free(req);
  free(der);

  /* refused input */
  const char *bad[] = {"", "a b.example", "tab\t.example"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    der = NULL;
    assert_int_equal(byoca_csr_create(k, &bad[i], 1, &der, &len, &err),
                     BYOCA_E_INVAL);
    assert_null(der);
    byoca_err_clear(&err);
  }
  assert_int_equal(byoca_csr_create(k, names, 0, &der, &len, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  byoca_key_free(k);
}

/* ---- certificates ---- */

struct certspec {
  const char *subject_cn; /* NULL: O=Example only */
  const char *issuer_cn;
  EVP_PKEY *subject_key;
  EVP_PKEY *issuer_key;
  const char *serial_hex;
  int sans;
  int aki;
};

static X509_NAME *make_name(const char *cn) {
  X509_NAME *nm = X509_NAME_new();
  assert_int_equal(X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
                                              (const unsigned char *)"Example",
                                              -1, -1, 0),
                   1);
  if (cn != NULL)
    assert_int_equal(
        X509_NAME_add_entry_by_NID(nm, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1, 0),
        1);
  return nm;
}

static void add_sans(X509 *x) {
  GENERAL_NAMES *gens = GENERAL_NAMES_new();
  const unsigned char v4[4] = {192, 0, 2, 1};
  const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                0,    0,    0,    0,    0, 0, 0, 1};
  const char *dns[] = {"example.org", "www.example.org"};
  for (size_t i = 0; i < 4; i++) {
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = i < 2 ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
    if (i < 2)
      ASN1_STRING_set(s, dns[i], -1);
    else
      ASN1_OCTET_STRING_set(s, i == 2 ? v4 : v6, i == 2 ? 4 : 16);
    GENERAL_NAME_set0_value(gn, i < 2 ? GEN_DNS : GEN_IPADD, s);
    sk_GENERAL_NAME_push(gens, gn);
  }
  assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
  GENERAL_NAMES_free(gens);
}

static X509 *make_cert(const struct certspec *s) {
  X509 *x = X509_new();
  BIGNUM *bn = NULL;
  X509_NAME *subj = make_name(s->subject_cn), *iss = make_name(s->issuer_cn);
  assert_int_equal(X509_set_version(x, 2), 1);
  assert_true(BN_hex2bn(&bn, s->serial_hex) > 0);
  ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
  assert_int_equal(X509_set_serialNumber(x, serial), 1);
  ASN1_TIME_set(X509_getm_notBefore(x), NOT_BEFORE);
  ASN1_TIME_set(X509_getm_notAfter(x), NOT_AFTER);
  X509_set_subject_name(x, subj);
  X509_set_issuer_name(x, iss);
  X509_set_pubkey(x, s->subject_key);
  if (s->sans)
    add_sans(x);
  if (s->aki) {
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(akid->keyid, test_aki, sizeof(test_aki));
    assert_int_equal(
        X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
    AUTHORITY_KEYID_free(akid);
  }
  assert_true(X509_sign(x, s->issuer_key, EVP_sha256()) > 0);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  X509_NAME_free(subj);
  X509_NAME_free(iss);
  return x;
}

static char *to_pem(X509 *x) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *data;
  assert_int_equal(PEM_write_bio_X509(bio, x), 1);
  long n = BIO_get_mem_data(bio, &data);
  char *s = strndup(data, (size_t)n);
  BIO_free(bio);
  return s;
}

/* Test fixtures: a root and a leaf it issued, as PEM. */
static struct byoca_key *leaf_key;
static EVP_PKEY *root_key;
static char *root_pem, *leaf_pem, *leaf_noaki_pem;
static unsigned char *leaf_der;
static size_t leaf_der_len;

static int setup_certs(void **state) {
  (void)state;
  if (byoca_key_generate(BYOCA_KEY_EC256, &leaf_key, NULL) != 0)
    return -1;
  root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  struct certspec root = {"Test Root", "Test Root", root_key, root_key,
                          "01",        0,           0};
  struct certspec leaf = {"example.org",
                          "Test Root",
                          key_pub(leaf_key),
                          root_key,
                          "8ABC0102030405060708090A0B0C0D0E0F1011",
                          1,
                          1};
  X509 *r = make_cert(&root), *l = make_cert(&leaf);
  root_pem = to_pem(r);
  leaf_pem = to_pem(l);
  leaf_der_len = (size_t)i2d_X509(l, &leaf_der);
  leaf.aki = 0;
  leaf.subject_cn = NULL;
  leaf.serial_hex = "0F";
  X509_free(l);
  l = make_cert(&leaf);
  leaf_noaki_pem = to_pem(l);
  X509_free(l);
  X509_free(r);
  return 0;
}

static int teardown_certs(void **state) {
  (void)state;
  byoca_key_free(leaf_key);
  EVP_PKEY_free(root_key);
  free(root_pem);
  free(leaf_pem);
  free(leaf_noaki_pem);
  OPENSSL_free(leaf_der);
  return 0;
}

static void test_cert_inspect(void **state) {
  (void)state;
  struct byoca_cert *c = NULL;
  struct byoca_err err = {0};
  int64_t nb = 0, na = 0;
  char **sans = NULL, *s = NULL;
  size_t n = 0, len = 0;
  unsigned char *raw = NULL;

  assert_int_equal(byoca_cert_parse(leaf_pem, strlen(leaf_pem), &c, &err), 0);
  assert_int_equal(byoca_cert_validity(c, &nb, &na), 0);
  assert_int_equal(nb, NOT_BEFORE);
  assert_int_equal(na, NOT_AFTER);

  assert_int_equal(byoca_cert_sans(c, &sans, &n), 0);
  assert_int_equal(n, 4);
  assert_string_equal(sans[0], "example.org");
  assert_string_equal(sans[1], "www.example.org");
  assert_string_equal(sans[2], "192.0.2.1");
  assert_string_equal(sans[3], "2001:db8::1");
  byoca_strv_free(sans, n);

  assert_int_equal(byoca_cert_matches_key(c, leaf_key), 1);
  struct byoca_key *other = NULL;
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &other, NULL), 0);
  assert_int_equal(byoca_cert_matches_key(c, other), 0);
  byoca_key_free(other);

  assert_int_equal(byoca_cert_serial_hex(c, &s), 0);
  assert_string_equal(s, "8abc0102030405060708090a0b0c0d0e0f1011");
  free(s);
  /* DER INTEGER contents keep the 0x00 sign octet (RFC 9773 CertID) */
  assert_int_equal(byoca_cert_serial_raw(c, &raw, &len), 0);
  assert_int_equal(len, 20);
  assert_int_equal(raw[0], 0x00);
  assert_int_equal(raw[1], 0x8a);
  assert_int_equal(raw[19], 0x11);
  free(raw);

  assert_int_equal(byoca_cert_aki(c, &raw, &len), 0);
  assert_int_equal(len, sizeof(test_aki));
  assert_memory_equal(raw, test_aki, len);
  free(raw);

  s = byoca_cert_subject_cn(c);
  assert_string_equal(s, "example.org");
  free(s);
  s = byoca_cert_issuer_cn(c);
  assert_string_equal(s, "Test Root");
  free(s);

  unsigned char *der = NULL;
  assert_int_equal(byoca_cert_der(c, &der, &len), 0);
  assert_int_equal(len, leaf_der_len);
  assert_memory_equal(der, leaf_der, len);
  free(der);
  assert_int_equal(byoca_cert_pem(c, &s), 0);
  assert_string_equal(s, leaf_pem);
  free(s);
  byoca_cert_free(c);
  byoca_cert_free(NULL);
}

static void test_cert_forms(void **state) {
  (void)state;
  struct byoca_cert *c = NULL;
  struct byoca_err err = {0};
  char *s;
  unsigned char *raw = NULL;
  size_t len = 0;

  /* DER input, and DER with trailing bytes refused */
  assert_int_equal(byoca_cert_parse(leaf_der, leaf_der_len, &c, &err), 0);
  s = byoca_cert_subject_cn(c);
  assert_string_equal(s, "example.org");
  free(s);
  byoca_cert_free(c);
  unsigned char *longer = malloc(leaf_der_len + 1);
  memcpy(longer, leaf_der, leaf_der_len);
  longer[leaf_der_len] = 0;
  c = NULL;
  assert_int_equal(byoca_cert_parse(longer, leaf_der_len + 1, &c, &err),
                   BYOCA_E_INVAL);
  assert_null(c);
  byoca_err_clear(&err);
  free(longer);
  assert_int_equal(byoca_cert_parse("junk", 4, &c, &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);

  /* no AKI, no CN, single-byte serial */
  assert_int_equal(
      byoca_cert_parse(leaf_noaki_pem, strlen(leaf_noaki_pem), &c, &err), 0);
  assert_int_equal(byoca_cert_aki(c, &raw, &len), BYOCA_E_NOTFOUND);
  s = byoca_cert_subject_cn(c);
  assert_string_equal(s, "O=Example");
  free(s);
  assert_int_equal(byoca_cert_serial_hex(c, &s), 0);
  assert_string_equal(s, "0f");
  free(s);
  assert_int_equal(byoca_cert_serial_raw(c, &raw, &len), 0);
  assert_int_equal(len, 1);
  assert_int_equal(raw[0], 0x0f);
  free(raw);
  byoca_cert_free(c);

  /* a certificate without SANs */
  assert_int_equal(byoca_cert_parse(root_pem, strlen(root_pem), &c, &err), 0);
  char **sans = (char **)1;
  size_t n = 9;
  assert_int_equal(byoca_cert_sans(c, &sans, &n), 0);
  assert_int_equal(n, 0);
  byoca_strv_free(sans, n);
  byoca_cert_free(c);
}

/* ---- chains ---- */

/* byoca_cert_issued_by: the name and the signature must both fit. */
static void test_cert_issued_by(void **state) {
  (void)state;
  struct byoca_cert *leaf = NULL, *root = NULL, *impostor = NULL;
  EVP_PKEY *other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  struct certspec spec = {"Test Root", "Test Root", other_key, other_key,
                          "02",        0,           0};
  X509 *x = make_cert(&spec); /* same name as the root, another key */
  char *pem = to_pem(x);
  assert_int_equal(byoca_cert_parse(leaf_pem, strlen(leaf_pem), &leaf, NULL),
                   0);
  assert_int_equal(byoca_cert_parse(root_pem, strlen(root_pem), &root, NULL),
                   0);
  assert_int_equal(byoca_cert_parse(pem, strlen(pem), &impostor, NULL), 0);
  assert_int_equal(byoca_cert_issued_by(leaf, root), 1);
  assert_int_equal(byoca_cert_issued_by(root, root), 1); /* self-signed */
  assert_int_equal(byoca_cert_issued_by(root, leaf), 0);
  assert_int_equal(byoca_cert_issued_by(leaf, leaf), 0);
  assert_int_equal(byoca_cert_issued_by(leaf, impostor), 0);
  byoca_cert_free(leaf);
  byoca_cert_free(root);
  byoca_cert_free(impostor);
  free(pem);
  X509_free(x);
  EVP_PKEY_free(other_key);
}

static void test_chain_parse(void **state) {
  (void)state;
  struct byoca_chain ch = {0};
  struct byoca_err err = {0};
  char *pem = byoca_asprintf("%s\n%s", leaf_pem, root_pem);

  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 4, &ch, &err), 0);
  assert_int_equal(ch.n, 2);
  char *cn = byoca_cert_subject_cn(ch.certs[0]);
  assert_string_equal(cn, "example.org");
  free(cn);
  cn = byoca_chain_top_issuer_cn(&ch);
  assert_string_equal(cn, "Test Root");
  free(cn);
  byoca_chain_free(&ch);
  byoca_chain_free(&ch); /* idempotent */
  free(pem);

  /* exactly at the cap, and without a final newline */
  pem = byoca_asprintf("%s%s", leaf_pem, root_pem);
  pem[strlen(pem) - 1] = '\0';
  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 2, &ch, &err), 0);
  assert_int_equal(ch.n, 2);
  byoca_chain_free(&ch);
  /* over the cap */
  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 1, &ch, &err),
                   BYOCA_E_TOOBIG);
  assert_null(ch.certs);
  byoca_err_clear(&err);
  free(pem);
}

/* Issuers repeat from chain to chain and are shared, not parsed again; the
 * leaf is always parsed; a chain whose issuer differs gets its own. */
static void test_chain_issuer_shared(void **state) {
  (void)state;
  struct byoca_chain a = {0}, b = {0}, c = {0};
  char *pem = byoca_asprintf("%s%s", leaf_pem, root_pem);
  char *other = byoca_asprintf("%s%s", leaf_pem, leaf_noaki_pem);
  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 4, &a, NULL), 0);
  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 4, &b, NULL), 0);
  assert_int_equal(byoca_chain_parse(other, strlen(other), 4, &c, NULL), 0);
  assert_ptr_equal(a.certs[1]->x, b.certs[1]->x);
  assert_ptr_not_equal(a.certs[0]->x, b.certs[0]->x);
  assert_ptr_not_equal(c.certs[1]->x, a.certs[1]->x);
  assert_int_equal(X509_cmp(c.certs[1]->x, a.certs[1]->x) != 0, 1);
  byoca_chain_free(&a); /* the shared one outlives a */
  char *cn = byoca_chain_top_issuer_cn(&b);
  assert_string_equal(cn, "Test Root");
  free(cn);
  assert_true(byoca_cert_issued_by(b.certs[0], b.certs[1]));
  byoca_chain_free(&b);
  byoca_chain_free(&c);
  free(pem);
  free(other);
}

/* A chain's leaf is parsed without decoding its public key (chain.c); it
 * still matches our key (compared by its SubjectPublicKeyInfo, or decoded
 * when that does not tell: RSA, a compressed point), verifies against its
 * issuer, serves as an issuer itself, and encodes as it came. */
static void test_chain_leaf_keyless(void **state) {
  (void)state;
  struct byoca_chain ch = {0};
  struct byoca_key *other = NULL, *other384 = NULL, *rsa = NULL;
  char *pem = byoca_asprintf("%s%s", leaf_pem, root_pem), *out = NULL;
  assert_int_equal(byoca_chain_parse(pem, strlen(pem), 4, &ch, NULL), 0);
  assert_null(X509_get0_pubkey(ch.certs[0]->x)); /* not decoded */
  ERR_clear_error();
  assert_non_null(X509_get0_pubkey(ch.certs[1]->x));
  assert_int_equal(byoca_cert_matches_key(ch.certs[0], leaf_key), 1);
  assert_null(ch.certs[0]->key); /* the SPKI told: nothing decoded */
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &other, NULL), 0);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC384, &other384, NULL), 0);
  assert_int_equal(byoca_cert_matches_key(ch.certs[0], other), 0);
  assert_int_equal(byoca_cert_matches_key(ch.certs[0], other384), 0);
  assert_int_equal(byoca_cert_issued_by(ch.certs[0], ch.certs[1]), 1);
  assert_int_equal(byoca_cert_issued_by(ch.certs[1], ch.certs[0]), 0);
  assert_int_equal(byoca_cert_issued_by(ch.certs[0], ch.certs[0]), 0);
  assert_int_equal(byoca_cert_pem(ch.certs[0], &out), 0);
  assert_string_equal(out, leaf_pem);
  assert_int_equal(ERR_peek_error(), 0);
  free(out);
  byoca_chain_free(&ch);
  free(pem);

  /* a self-signed certificate alone: the leaf is its own issuer */
  assert_int_equal(byoca_chain_parse(root_pem, strlen(root_pem), 4, &ch, NULL),
                   0);
  assert_int_equal(byoca_cert_issued_by(ch.certs[0], ch.certs[0]), 1);
  byoca_chain_free(&ch);

  /* keys the SPKI comparison does not settle are decoded and compared */
  EVP_PKEY *compressed = EVP_PKEY_dup(key_pub(leaf_key));
  assert_int_equal(EVP_PKEY_set_utf8_string_param(
                       compressed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                       OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
                   1);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_RSA2048, &rsa, NULL), 0);
  EVP_PKEY *subject[] = {compressed, key_pub(rsa)};
  struct byoca_key *owner[] = {leaf_key, rsa};
  for (size_t i = 0; i < 2; i++) {
    struct certspec spec = {"example.org", "Test Root", subject[i], root_key,
                            "03",          1,           1};
    X509 *x = make_cert(&spec);
    char *leaf = to_pem(x);
    pem = byoca_asprintf("%s%s", leaf, root_pem);
    assert_int_equal(byoca_chain_parse(pem, strlen(pem), 4, &ch, NULL), 0);
    assert_int_equal(byoca_cert_matches_key(ch.certs[0], owner[i]), 1);
    assert_non_null(ch.certs[0]->key);
    assert_int_equal(byoca_cert_matches_key(ch.certs[0], other), 0);
    assert_int_equal(byoca_cert_issued_by(ch.certs[0], ch.certs[1]), 1);
    byoca_chain_free(&ch);
    free(pem);
    free(leaf);
    X509_free(x);
  }
  EVP_PKEY_free(compressed);
  byoca_key_free(rsa);
  byoca_key_free(other);
  byoca_key_free(other384);
}

static void test_chain_refused(void **state) {
  (void)state;
  struct byoca_chain ch = {0};
  struct byoca_err err = {0};
  char *bad[5];
  bad[0] = byoca_asprintf("%sgarbage\n%s", leaf_pem, root_pem);
  bad[1] = byoca_asprintf("hello\n%s", leaf_pem);
  bad[2] = byoca_asprintf("%s%s.", leaf_pem, root_pem);
  bad[3] = byoca_asprintf("%s-----BEGIN PRIVATE KEY-----\nAAAA\n"
                          "-----END PRIVATE KEY-----\n",
                          leaf_pem);
  bad[4] = byoca_asprintf("%s", leaf_pem);
  bad[4][strlen(bad[4]) - 10] = '\0'; /* END marker cut */
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(byoca_chain_parse(bad[i], strlen(bad[i]), 8, &ch, &err),
                     BYOCA_E_PROTO);
    assert_string_equal(err.msg, "certificate chain contains non-PEM data");
    assert_null(ch.certs);
    byoca_err_clear(&err);
    free(bad[i]);
  }

  const char *empty[] = {"", " \r\n\t\n"};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(
        byoca_chain_parse(empty[i], strlen(empty[i]), 8, &ch, &err),
        BYOCA_E_PROTO);
    assert_string_equal(err.msg, "certificate chain is empty");
    byoca_err_clear(&err);
  }

  /* a block whose body is not a certificate */
  const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n"
                     "-----END CERTIFICATE-----\n";
  assert_int_equal(byoca_chain_parse(junk, strlen(junk), 8, &ch, &err),
                   BYOCA_E_PROTO);
  assert_non_null(strstr(err.msg, "certificate 1 of the chain is invalid"));
  byoca_err_clear(&err);
  assert_null(byoca_chain_top_issuer_cn(&ch));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csr_contents),
      cmocka_unit_test(test_csr_subject),
      cmocka_unit_test(test_cert_inspect),
      cmocka_unit_test(test_cert_forms),
      cmocka_unit_test(test_chain_parse),
      cmocka_unit_test(test_chain_issuer_shared),
      cmocka_unit_test(test_chain_leaf_keyless),
      cmocka_unit_test(test_chain_refused),
      cmocka_unit_test(test_cert_issued_by),
  };
  return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
