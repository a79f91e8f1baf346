/* Keys: types, generation, PEM import/export, public key forms. Private-key
 * use goes through the signer (signer.c or another implementation). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto_int.h"

/* Key files are small; anything bigger is not a key. */
#define KEY_FILE_MAX (1024 * 1024)

static const struct {
  enum byoca_keytype type;
  const char *name;
  const char *alg;
} key_types[] = {
    {BYOCA_KEY_EC256, "ec256", "ES256"},
    {BYOCA_KEY_EC384, "ec384", "ES384"},
    {BYOCA_KEY_RSA2048, "rsa2048", "RS256"},
    {BYOCA_KEY_RSA3072, "rsa3072", "RS256"},
    {BYOCA_KEY_RSA4096, "rsa4096", "RS256"},
    {BYOCA_KEY_ED25519, "ed25519", "EdDSA"},
};
#define NKEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

/* Other spellings users bring from other tools and from the API. */
static const struct {
  const char *alias;
  enum byoca_keytype type;
} key_aliases[] = {
    {"ec-p256", BYOCA_KEY_EC256},
    {"p256", BYOCA_KEY_EC256},
    {"ec-p384", BYOCA_KEY_EC384},
    {"p384", BYOCA_KEY_EC384},
};

int byoca_keytype_parse(const char *s, enum byoca_keytype *out) {
  for (size_t i = 0;
       s != NULL && i < sizeof(key_aliases) / sizeof(key_aliases[0]); i++) {
    if (byoca_strcaseeq(s, key_aliases[i].alias)) {
      *out = key_aliases[i].type;
      return 0;
    }
  }
  for (size_t i = 0; s != NULL && i < NKEY_TYPES; i++) {
    if (byoca_strcaseeq(s, key_types[i].name)) {
      *out = key_types[i].type;
      return 0;
    }
  }
  return BYOCA_E_INVAL;
}

const char *byoca_keytype_name(enum byoca_keytype t) {
  for (size_t i = 0; i < NKEY_TYPES; i++)
    if (key_types[i].type == t)
      return key_types[i].name;
  return "unknown";
}

size_t key_ec_size(enum byoca_keytype t) {
  return t == BYOCA_KEY_EC256 ? 32 : t == BYOCA_KEY_EC384 ? 48 : 0;
}

const char *key_md_name(enum byoca_keytype t) {
  if (t == BYOCA_KEY_ED25519)
    return NULL;
  return t == BYOCA_KEY_EC384 ? "SHA384" : "SHA256";
}

static int classify_ec(const EVP_PKEY *pkey, enum byoca_keytype *out,
                       struct byoca_err *err) {
  char group[80];
  size_t glen = 0;
  int nid;

  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                     sizeof(group), &glen) != 1) {
    ERR_clear_error();
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unsupported key: EC with explicit curve "
                         "parameters");
  }
  if ((nid = OBJ_txt2nid(group)) == NID_undef)
    nid = EC_curve_nist2nid(group);
  ERR_clear_error();
  if (nid == NID_X9_62_prime256v1)
    *out = BYOCA_KEY_EC256;
  else if (nid == NID_secp384r1)
    *out = BYOCA_KEY_EC384;
  else
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unsupported key: EC %s (use P-256 or P-384)", group);
  return 0;
}

int key_classify(const EVP_PKEY *pkey, enum byoca_keytype *out,
                 struct byoca_err *err) {
  int bits;

  switch (EVP_PKEY_get_base_id(pkey)) {
  case EVP_PKEY_EC:
    return classify_ec(pkey, out, err);
  case EVP_PKEY_ED25519:
    *out = BYOCA_KEY_ED25519;
    return 0;
  case EVP_PKEY_RSA:
    bits = EVP_PKEY_get_bits(pkey);
    if (bits == 2048 || bits == 3072 || bits == 4096) {
      *out = bits == 2048   ? BYOCA_KEY_RSA2048
             : bits == 3072 ? BYOCA_KEY_RSA3072
                            : BYOCA_KEY_RSA4096;
      return 0;
    }
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unsupported key: RSA %d (use 2048, 3072 or 4096 "
                         "bits)",
                         bits);
  default: {
    const char *name = EVP_PKEY_get0_type_name(pkey);
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unsupported key: %s",
                         name != NULL ? name : "unknown type");
  }
  }
}

int key_from_signer(const struct byoca_signer_ops *ops,
                    const struct signer_ext_ops *ext, void *ctx,
                    struct byoca_key **out, struct byoca_err *err) {
  unsigned char *der = NULL;
  const unsigned char *p;
  size_t len = 0;
  struct byoca_key *k = NULL;
  int rc;

  if ((k = calloc(1, sizeof(*k))) == NULL) {
    rc = crypto_nomem(err);
    goto out;
  }
  if (ext->public_pkey != NULL && (k->pub = ext->public_pkey(ctx)) != NULL)
    goto classify;
  if ((rc = ext->public_der(ctx, &der, &len, err)) != 0)
    goto out;
  p = der;
  if (len > (size_t)KEY_FILE_MAX ||
      (k->pub = d2i_PUBKEY(NULL, &p, (long)len)) == NULL || p != der + len) {
    rc = crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                     "signer returned an invalid public key");
    goto out;
  }
classify:
  if ((rc = key_classify(k->pub, &k->type, err)) != 0)
    goto out;
  k->ops = ops;
  k->ext = ext;
  k->ctx = ctx;
  *out = k;
  k = NULL;
  ctx = NULL;
out:
  free(der);
  if (k != NULL) {
    EVP_PKEY_free(k->pub);
    free(k);
  }
  if (ctx != NULL)
    ops->destroy(ctx);
  return rc;
}

EVP_PKEY *key_pub(const struct byoca_key *k) {
  return k->pub;
}

int byoca_key_generate(enum byoca_keytype type, struct byoca_key **out,
                       struct byoca_err *err) {
  EVP_PKEY *pkey = NULL;

  switch (type) {
  case BYOCA_KEY_EC256:
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    break;
  case BYOCA_KEY_EC384:
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    break;
  case BYOCA_KEY_RSA2048:
  case BYOCA_KEY_RSA3072:
  case BYOCA_KEY_RSA4096: {
    /* The default public exponent is 65537. */
    size_t bits = type == BYOCA_KEY_RSA2048   ? 2048
                  : type == BYOCA_KEY_RSA3072 ? 3072
                                              : 4096;
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    break;
  }
  case BYOCA_KEY_ED25519:
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    break;
  default:
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unknown key type %d", (int)type);
  }
  if (pkey == NULL)
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "key generation failed");
  return signer_default_new(pkey, out, err);
}

/* Never prompt on a terminal for a passphrase: encrypted keys fail. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return -1;
}

int byoca_key_load_pem(const char *pem, size_t len, struct byoca_key **out,
                       struct byoca_err *err) {
  BIO *bio;
  EVP_PKEY *pkey;

  if (len > KEY_FILE_MAX)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "private key PEM larger than %d bytes", KEY_FILE_MAX);
  if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
    return crypto_nomem(err);
  pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
  BIO_free(bio);
  if (pkey == NULL && (pem_find(pem, len, "BEGIN ENCRYPTED") != NULL ||
                       pem_find(pem, len, "Proc-Type: 4,ENCRYPTED") != NULL)) {
    ERR_clear_error();
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "encrypted private keys are not supported");
  }
  if (pkey == NULL)
    return crypto_fail(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "cannot read private key");
  ERR_clear_error(); /* decoders may leave notes from formats they tried */
  return signer_default_new(pkey, out, err);
}

int byoca_key_load_file(const char *path, struct byoca_key **out,
                        struct byoca_err *err) {
  char *data = NULL;
  size_t len = 0;
  int rc;

  if ((rc = byoca_file_read(path, KEY_FILE_MAX, &data, &len, err)) != 0)
    return rc;
  rc = byoca_key_load_pem(data, len, out, err);
  OPENSSL_cleanse(data, len);
  free(data);
  if (rc != 0 && err != NULL) {
    char why[sizeof(err->msg)];
    byoca_strlcpy(why, err->msg, sizeof(why));
    byoca_err_set(err, rc, err->cls, "%s: %s", path, why);
  }
  return rc;
}

int byoca_key_private_pem(const struct byoca_key *k, struct byoca_buf *out,
                          struct byoca_err *err) {
  if (k->ext == NULL || k->ext->export_pem == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "this key cannot leave its signer");
  return k->ext->export_pem(k->ctx, out, err);
}

int byoca_key_public_pem(const struct byoca_key *k, char **out) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL, *s;
  long n;
  int rc = BYOCA_E_CRYPTO;

  if (bio == NULL)
    return crypto_nomem(NULL);
  if (PEM_write_bio_PUBKEY(bio, k->pub) != 1 ||
      (n = BIO_get_mem_data(bio, &data)) <= 0) {
    ERR_clear_error();
    goto out;
  }
  if ((s = malloc((size_t)n + 1)) == NULL) {
    rc = BYOCA_E_NOMEM;
    goto out;
  }
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  *out = s;
  rc = 0;
out:
  BIO_free(bio);
  return rc;
}

int byoca_key_public_sha256(const struct byoca_key *k, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char *der = NULL, md[32];
  int n = i2d_PUBKEY(k->pub, &der);
  int rc;

  if (n <= 0) {
    ERR_clear_error();
    return BYOCA_E_CRYPTO;
  }
  rc = byoca_sha256(der, (size_t)n, md);
  OPENSSL_free(der);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < sizeof(md); i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xf];
  }
  out[64] = '\0';
  return 0;
}

enum byoca_keytype byoca_key_type(const struct byoca_key *k) {
  return k->type;
}

const char *byoca_key_alg(const struct byoca_key *k) {
  for (size_t i = 0; i < NKEY_TYPES; i++)
    if (key_types[i].type == k->type)
      return key_types[i].alg;
  return "none";
}

void byoca_key_free(struct byoca_key *k) {
  if (k == NULL)
    return;
  k->ops->destroy(k->ctx);
  EVP_PKEY_free(k->pub);
  free(k);
}
