/* Internal interfaces of lib/crypto: the key object, the default signer,
 * ECDSA signature format conversion and OpenSSL error reporting.
 *
 * Key custody: struct byoca_key never holds the private key itself. It holds
 * the signer (ops + ctx) and a public-only EVP_PKEY obtained from the signer
 * once, at construction, as DER SubjectPublicKeyInfo (or, from the default
 * signer, as a public-only EVP_PKEY directly). Everything public
 * (JWK, thumbprint, verify, certificate match, the CSR's public key) uses
 * that copy; everything private (JWS signature, CSR signature, private PEM
 * export) calls the signer. CSR signing uses the ordinary sign op (JWS form,
 * converted to X.509 form in csr.c), so a signer in another process needs
 * only sign, destroy and public_der; export_pem is optional.
 */
#ifndef BYOCA_CRYPTO_INT_H
#define BYOCA_CRYPTO_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "byoca/crypto.h"

/* What a signer provides beyond the public struct byoca_signer_ops. */
struct signer_ext_ops {
  /* DER SubjectPublicKeyInfo of the key; *der caller frees. */
  int (*public_der)(void *ctx, unsigned char **der, size_t *len,
                    struct byoca_err *err);
  /* Optional, preferred to public_der: a new public-only EVP_PKEY of the
   * key, without the DER round trip through OpenSSL's encoders and
   * decoders (which costs more than a signature in a one-shot process). */
  int (*public_key)(void *ctx, EVP_PKEY **out, struct byoca_err *err);
  /* Appends the PKCS#8 PEM of the private key to out. NULL: the key cannot
   * leave its signer. */
  int (*export_pem)(void *ctx, struct byoca_buf *out, struct byoca_err *err);
};

struct byoca_key {
  enum byoca_keytype type;
  const struct byoca_signer_ops *ops;
  const struct signer_ext_ops *ext;
  void *ctx;
  EVP_PKEY *pub; /* public half only, owned */
};

/* Writes the PKCS#8 PEM of a P-256 or P-384 key (type) to bio without
 * OpenSSL's encoders, byte for byte what PEM_write_bio_PrivateKey writes
 * (ec_pkcs8.c). Returns 1 if written, 0 if the key is not one it covers
 * (nothing written: use PEM_write_bio_PrivateKey), -1 on failure. */
int crypto_ec_pkcs8_pem(EVP_PKEY *pkey, enum byoca_keytype type, BIO *bio);

struct byoca_cert {
  X509 *x;       /* owned */
  EVP_PKEY *key; /* owned: x's key when x was parsed without it (a chain's
                    leaf, chain.c), decoded on first use; else NULL */
};

/* A tls-alpn-01 validation certificate (tls_alpn_cert.c): both owned. The
 * key is a throwaway made for this certificate; the TLS handshake signs
 * with it directly, so it does not go through the signer interface. */
struct byoca_alpn_cert {
  X509 *x;
  EVP_PKEY *key;
};

/* Wraps a signer into a key: asks it for its public key and checks that the
 * key is one of the supported types. On success the key owns ctx (destroyed
 * through ops->destroy by byoca_key_free); on failure ctx is destroyed
 * too. */
int key_from_signer(const struct byoca_signer_ops *ops,
                    const struct signer_ext_ops *ext, void *ctx,
                    struct byoca_key **out, struct byoca_err *err);

/* Classifies an EVP_PKEY (public or private): BYOCA_E_INVAL with
 * "unsupported key: RSA 1024" and the like for anything else. */
int key_classify(const EVP_PKEY *pkey, enum byoca_keytype *out,
                 struct byoca_err *err);

/* The public-only EVP_PKEY of a key; borrowed for the key's lifetime. */
EVP_PKEY *key_pub(const struct byoca_key *k);

/* Field size in bytes of an EC key type (32, 48), 0 for other types. */
size_t key_ec_size(enum byoca_keytype t);

/* Digest name used with a key type for JWS and CSR signatures ("SHA256",
 * "SHA384"), NULL for Ed25519 (no pre-hash). */
const char *key_md_name(enum byoca_keytype t);

/* The default, in-process signer. Takes ownership of pkey (a private key)
 * in all cases; the key material is wiped on destroy (EVP_PKEY_free
 * clears private components). Also usable with a public-only pkey (signing
 * then fails), which tests use to build keys from RFC vectors. */
int signer_default_new(EVP_PKEY *pkey, struct byoca_key **out,
                       struct byoca_err *err);

/* ECDSA signature conversion between DER Ecdsa-Sig-Value and the JWS raw
 * r||s form with each half left-padded to size bytes (RFC 7518 §3.4).
 * *out caller frees. */
int ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t size,
                     unsigned char **out, size_t *outlen,
                     struct byoca_err *err);
int ecdsa_raw_to_der(const unsigned char *raw, size_t rawlen,
                     unsigned char **out, size_t *outlen,
                     struct byoca_err *err);

/* First occurrence of needle in hay[0..len) (memmem is not POSIX), or
 * NULL. */
const char *pem_find(const char *hay, size_t len, const char *needle);

/* JWS pieces shared by jws.c and eab.c. jws_signing_input appends
 * "b64u(protected).b64u(payload)" to in and hands both parts (caller
 * frees). jws_flattened builds {"protected","payload","signature"}. */
int jws_signing_input(const char *protected_json, const char *payload,
                      char **p64, char **pl64, struct byoca_buf *in);
int jws_flattened(const char *p64, const char *pl64, const unsigned char *sig,
                  size_t siglen, char **out);

/* Moves the OpenSSL error queue into err as code/cls with the message
 * "<what>: <OpenSSL reason>", records the native code, and clears the
 * queue (also when err is NULL). Returns code. */
int crypto_fail(struct byoca_err *err, int code, enum byoca_errclass cls,
                const char *what);
/* BYOCA_E_NOMEM with "out of memory"; also clears the OpenSSL queue. */
int crypto_nomem(struct byoca_err *err);

#endif
