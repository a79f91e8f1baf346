/* byoca crypto: keys, JWK/JWS, thumbprints, CSR, X.509 inspection.
 *
 * All private-key use (sign, CSR, export, destroy) goes through struct
 * byoca_key, whose operations are a signer interface (struct
 * byoca_signer_ops) so that key custody can move into a separate process
 * without touching callers. OpenSSL is used from lib/crypto only; nothing
 * outside sees an EVP_PKEY or X509. Returned buffers and strings are
 * allocated with malloc: release them with free().
 */
#ifndef BYOCA_CRYPTO_H
#define BYOCA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/err.h"
#include "byoca/util.h"

enum byoca_keytype {
  BYOCA_KEY_EC256 = 0,
  BYOCA_KEY_EC384,
  BYOCA_KEY_RSA2048,
  BYOCA_KEY_RSA3072,
  BYOCA_KEY_RSA4096,
  BYOCA_KEY_ED25519,
};

/* "ec256" ... "ed25519" <-> enum (parse also takes ec-p256, p256, ec-p384,
 * p384). Parse returns BYOCA_E_INVAL if unknown. */
int byoca_keytype_parse(const char *s, enum byoca_keytype *out) BYOCA_WUR;
const char *byoca_keytype_name(enum byoca_keytype t);

struct byoca_key;

/* The signer interface: how a key is used. The default implementation keeps
 * the key in this process. */
struct byoca_signer_ops {
  /* Signs data with the key in JWS form (ES*: raw r||s; RS256: PKCS#1 v1.5
   * SHA-256; EdDSA: Ed25519). *sig caller frees. */
  int (*sign)(void *ctx, const void *data, size_t len, unsigned char **sig,
              size_t *siglen, struct byoca_err *err);
  /* Destroys the key material (wipe). Called by byoca_key_free. */
  void (*destroy)(void *ctx);
};

/* Generates a fresh key. RSA may take a while; call from a worker thread
 * when latency matters. */
int byoca_key_generate(enum byoca_keytype type, struct byoca_key **out,
                       struct byoca_err *err) BYOCA_WUR;
/* Loads a private key from PEM (PKCS#8, traditional EC/RSA). */
int byoca_key_load_pem(const char *pem, size_t len, struct byoca_key **out,
                       struct byoca_err *err) BYOCA_WUR;
/* Loads a private key from a file; err names the path only. */
int byoca_key_load_file(const char *path, struct byoca_key **out,
                        struct byoca_err *err) BYOCA_WUR;
/* PKCS#8 PEM of the private key, for writing a 0600 file, appended to out
 * (initialised by the caller with byoca_buf_init). The buffer is a secret:
 * free with byoca_buf_free_secret. BYOCA_E_INVAL if the signer does not let
 * the key out. */
int byoca_key_private_pem(const struct byoca_key *k, struct byoca_buf *out,
                          struct byoca_err *err) BYOCA_WUR;
/* SubjectPublicKeyInfo PEM of the public key. */
int byoca_key_public_pem(const struct byoca_key *k, char **out) BYOCA_WUR;
/* SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex (64 chars + NUL). */
int byoca_key_public_sha256(const struct byoca_key *k, char out[65]) BYOCA_WUR;
enum byoca_keytype byoca_key_type(const struct byoca_key *k);
/* JWS "alg" for this key: ES256, ES384, RS256, EdDSA. */
const char *byoca_key_alg(const struct byoca_key *k);
/* Wipes and frees; NULL is a no-op. */
void byoca_key_free(struct byoca_key *k);

/* ---- JWK / JWS (RFC 7517, 7515, 7638, 8555 §6.2) ---- */

/* Public JWK as compact JSON with members in lexicographic order and only
 * the required members (so it is also the RFC 7638 thumbprint input). */
int byoca_jwk_json(const struct byoca_key *k, char **out) BYOCA_WUR;
/* RFC 7638 SHA-256 thumbprint, base64url. */
int byoca_jwk_thumbprint(const struct byoca_key *k, char **out) BYOCA_WUR;

/* Flattened JWS JSON serialization: {"protected":..,"payload":..,
 * "signature":..}. protected_json is the full protected header JSON (the
 * caller builds it with alg, nonce, url, jwk or kid). payload may be "" for
 * POST-as-GET. */
int byoca_jws_sign(const struct byoca_key *k, const char *protected_json,
                   const char *payload, char **out,
                   struct byoca_err *err) BYOCA_WUR;
/* Builds and signs an ACME request: protected header {alg, jwk|kid, nonce,
 * url}; kid NULL means embed the jwk; nonce NULL means omit (inner JWS of
 * keyChange). */
int byoca_jws_acme(const struct byoca_key *k, const char *kid,
                   const char *nonce, const char *url, const char *payload,
                   char **out, struct byoca_err *err) BYOCA_WUR;
/* Verifies a flattened JWS produced with k's public key (tests and
 * fixtures); the protected "alg" must be k's. Returns 0 if valid,
 * BYOCA_E_CRYPTO if not. *payload_out (decoded, NUL-terminated, caller
 * frees) may be NULL. */
int byoca_jws_verify(const struct byoca_key *k, const char *jws,
                     char **payload_out) BYOCA_WUR;

/* External Account Binding JWS (RFC 8555 §7.3.4): HS256 over the account's
 * public JWK, protected {"alg":"HS256","kid":eab_kid,"url":url}. hmac is the
 * decoded MAC key. Result is the JSON object to put in
 * "externalAccountBinding". */
int byoca_eab_jws(const struct byoca_key *account_key, const char *eab_kid,
                  const struct byoca_secret *hmac, const char *url, char **out,
                  struct byoca_err *err) BYOCA_WUR;

/* SHA-256 of data, base64url (dns-01 TXT value of a key authorization). */
int byoca_sha256_b64url(const void *data, size_t len, char **out) BYOCA_WUR;
/* SHA-256 raw. */
int byoca_sha256(const void *data, size_t len, unsigned char out[32]) BYOCA_WUR;
/* Random bytes from OpenSSL's CSPRNG. */
int byoca_random(void *out, size_t len) BYOCA_WUR;

/* ---- secrets at rest: AES-256-GCM ---- */

#define BYOCA_AEAD_KEY_LEN 32
/* Seals len bytes of plain under key (32 bytes) bound to aad: *out
 * (caller frees) = 12-byte random nonce || ciphertext || 16-byte tag. */
int byoca_aead_seal(const unsigned char *key, const void *aad, size_t aadlen,
                    const void *plain, size_t len, unsigned char **out,
                    size_t *outlen, struct byoca_err *err) BYOCA_WUR;
/* Opens a box from byoca_aead_seal; a wrong key or aad, or any modified
 * byte, is BYOCA_E_CRYPTO "authentication failed" and out stays empty. */
int byoca_aead_open(const unsigned char *key, const void *aad, size_t aadlen,
                    const void *box, size_t boxlen, struct byoca_secret *out,
                    struct byoca_err *err) BYOCA_WUR;
/* 1 if the n bytes at a and b are equal, in time independent of where
 * they differ. */
int byoca_ct_equal(const void *a, const void *b, size_t n);

/* ---- CSR ---- */

/* PKCS#10 CSR (DER) for names: each is a DNS name or an IPv4/IPv6 literal
 * (which becomes an iPAddress SAN, RFC 8738). Subject CN = first DNS name if
 * it is at most 64 bytes, otherwise empty subject. Signed through the
 * signer with the key's JWS algorithm: ecdsa-with-SHA256 (P-256),
 * ecdsa-with-SHA384 (P-384), sha256WithRSAEncryption, Ed25519. *der caller
 * frees. BYOCA_E_INVAL for no names or a name that is empty, longer than
 * 253 bytes or has spaces/control characters. */
int byoca_csr_create(const struct byoca_key *k, const char *const *names,
                     size_t nnames, unsigned char **der, size_t *derlen,
                     struct byoca_err *err) BYOCA_WUR;

/* ---- X.509 ---- */

struct byoca_cert;

/* Parses one certificate from DER or from the first PEM block. */
int byoca_cert_parse(const void *data, size_t len, struct byoca_cert **out,
                     struct byoca_err *err) BYOCA_WUR;
void byoca_cert_free(struct byoca_cert *c);
/* notBefore / notAfter as unix seconds. */
int byoca_cert_validity(const struct byoca_cert *c, int64_t *not_before,
                        int64_t *not_after) BYOCA_WUR;
/* SANs as strings: DNS names as-is, IPs in canonical text form (inet_ntop),
 * in certificate order; other name types are skipped. *out is an array of n
 * strings, free with byoca_strv_free (NULL and 0 without SANs). */
int byoca_cert_sans(const struct byoca_cert *c, char ***out,
                    size_t *n) BYOCA_WUR;
void byoca_strv_free(char **v, size_t n);
/* 1 if the certificate's public key equals k's public key. */
int byoca_cert_matches_key(const struct byoca_cert *c,
                           const struct byoca_key *k);
/* 1 if issuer issued c: c's issuer name (and AKI, when both have key
 * identifiers) matches issuer, and c's signature verifies with issuer's
 * public key. */
int byoca_cert_issued_by(const struct byoca_cert *c,
                         const struct byoca_cert *issuer);
/* Serial as lowercase hex of its magnitude bytes ("0f", "8abc01"): the DER
 * sign octet 0x00 is not shown, other leading zero nibbles are kept. */
int byoca_cert_serial_hex(const struct byoca_cert *c, char **out) BYOCA_WUR;
/* Raw serial bytes and AKI keyIdentifier bytes, for ARI CertIDs (RFC 9773
 * §4.1). The serial is the DER INTEGER's content octets, *including* the
 * leading 0x00 DER adds when the top bit is set: base64url it as is.
 * BYOCA_E_NOTFOUND if the AKI is absent. *out caller frees. */
int byoca_cert_serial_raw(const struct byoca_cert *c, unsigned char **out,
                          size_t *len) BYOCA_WUR;
int byoca_cert_aki(const struct byoca_cert *c, unsigned char **out,
                   size_t *len) BYOCA_WUR;
/* Subject and issuer CN (or the full one-line DN if no CN). Caller frees. */
char *byoca_cert_subject_cn(const struct byoca_cert *c);
char *byoca_cert_issuer_cn(const struct byoca_cert *c);
/* DER encoding; *der caller frees. */
int byoca_cert_der(const struct byoca_cert *c, unsigned char **der,
                   size_t *len) BYOCA_WUR;
/* PEM encoding; caller frees. */
int byoca_cert_pem(const struct byoca_cert *c, char **out) BYOCA_WUR;

/* A PEM chain as returned by ACME (application/pem-certificate-chain):
 * leaf first. */
struct byoca_chain {
  struct byoca_cert **certs;
  size_t n;
};
/* Parses every PEM CERTIFICATE block; anything but whitespace outside the
 * blocks is BYOCA_E_PROTO "certificate chain contains non-PEM data", no
 * certificate is BYOCA_E_PROTO; more than max_certs certificates (0: no
 * cap) is BYOCA_E_TOOBIG. out is written only on success. */
int byoca_chain_parse(const char *pem, size_t len, size_t max_certs,
                      struct byoca_chain *out, struct byoca_err *err) BYOCA_WUR;
void byoca_chain_free(struct byoca_chain *ch);
/* Issuer CN of the last certificate of the chain, i.e. the name a user
 * gives to --preferred-chain (certbot semantics: the topmost issuer). */
char *byoca_chain_top_issuer_cn(const struct byoca_chain *ch);

/* ---- tls-alpn-01 (RFC 8737) ----
 *
 * The TLS half of the tls-alpn-01 responder: the validation certificate,
 * and a TLS server handshake driven through memory buffers, so the socket
 * side (lib/solve, on the event loop) never sees OpenSSL. */

/* The ALPN protocol of RFC 8737 §6.2. */
#define BYOCA_ACME_TLS_ALPN "acme-tls/1"
/* The dotted OID of id-pe-acmeIdentifier (RFC 8737 §6.1). */
#define BYOCA_OID_ACME_IDENTIFIER "1.3.6.1.5.5.7.1.31"

/* A validation certificate and its private key (a fresh P-256 key that
 * exists only in memory and only to answer the validation). */
struct byoca_alpn_cert;

/* Builds the self-signed certificate of RFC 8737 §3 for one identifier:
 * exactly one subjectAltName, the dNSName identifier (ident_type "dns") or
 * the iPAddress (ident_type "ip", RFC 8738 §6), and the critical
 * id-pe-acmeIdentifier extension holding the DER OCTET STRING of
 * SHA-256(key_authz). Valid from an hour ago for seven days. BYOCA_E_INVAL
 * for an empty, over-long or non-printable identifier, an "ip" identifier
 * that is no IP literal, or a missing key_authz. */
int byoca_alpn_cert_new(const char *ident_type, const char *identifier,
                        const char *key_authz, struct byoca_alpn_cert **out,
                        struct byoca_err *err) BYOCA_WUR;
void byoca_alpn_cert_free(struct byoca_alpn_cert *c);
/* DER of the certificate (for tests and logs); *der caller frees. */
int byoca_alpn_cert_der(const struct byoca_alpn_cert *c, unsigned char **der,
                        size_t *len) BYOCA_WUR;

/* Returns the certificate to present for the TLS server name sni (ASCII,
 * lowercased, no trailing dot), or NULL to refuse. The certificate is
 * borrowed only for the duration of the call. conn_arg is the handshake's
 * (byoca_alpn_conn_new). When the answer is not known yet, the lookup sets
 * *later and returns NULL: the handshake pauses (BYOCA_ALPN_PAUSED) and
 * the lookup is asked again by byoca_alpn_conn_resume. */
typedef const struct byoca_alpn_cert *(*byoca_alpn_lookup_cb)(void *arg,
                                                              void *conn_arg,
                                                              const char *sni,
                                                              int *later);

/* The TLS context shared by all handshakes of one responder: TLS 1.2 or
 * newer, no session tickets or resumption, no certificate of its own. */
struct byoca_alpn_server;
int byoca_alpn_server_new(byoca_alpn_lookup_cb lookup, void *arg,
                          struct byoca_alpn_server **out,
                          struct byoca_err *err) BYOCA_WUR;
void byoca_alpn_server_free(struct byoca_alpn_server *s);

/* One server-side handshake; the lookup is given conn_arg for it. */
struct byoca_alpn_conn;
struct byoca_alpn_conn *byoca_alpn_conn_new(struct byoca_alpn_server *s,
                                            void *conn_arg);
void byoca_alpn_conn_free(struct byoca_alpn_conn *c);

enum {
  BYOCA_ALPN_MORE = 0,   /* send out (if any), then feed what arrives */
  BYOCA_ALPN_DONE = 1,   /* handshake complete: send out, then close */
  BYOCA_ALPN_PAUSED = 2, /* the lookup answers later: send out (if any),
                            then byoca_alpn_conn_resume once it can */
};
/* Feeds len bytes received from the peer (len 0 to just step) and appends
 * the bytes to send to out. A ClientHello that does not offer "acme-tls/1",
 * or names no server the lookup answers, is refused before any
 * certificate is chosen: the return is BYOCA_E_POLICY with err saying why,
 * and out holds the fatal alert (no_application_protocol or
 * unrecognized_name) to send before closing. Any other failure is
 * BYOCA_E_NET (alert in out where TLS produced one). More than 64 KiB
 * from the peer is BYOCA_E_TOOBIG. On DONE the negotiated protocol was
 * "acme-tls/1" and out ends with close_notify. sni_out, when not NULL,
 * receives the server name asked for (once known, else ""). */
int byoca_alpn_conn_feed(struct byoca_alpn_conn *c, const void *in, size_t len,
                         struct byoca_buf *out, char *sni_out, size_t sni_len,
                         struct byoca_err *err) BYOCA_WUR;
/* Runs the paused handshake again (the ClientHello's lookup is asked
 * again, which should now answer); returns as byoca_alpn_conn_feed. While
 * paused, byoca_alpn_conn_feed only keeps what arrives (within the cap)
 * and returns BYOCA_ALPN_PAUSED. */
int byoca_alpn_conn_resume(struct byoca_alpn_conn *c, struct byoca_buf *out,
                           char *sni_out, size_t sni_len,
                           struct byoca_err *err) BYOCA_WUR;

#endif
