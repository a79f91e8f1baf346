/* ACME protocol strings, spelled as RFC 8555 (and its extensions) spell
 * them. The only place they are written. */
#ifndef BYOCA_ACME_PROTO_H
#define BYOCA_ACME_PROTO_H

#define ACME_ERR_PREFIX "urn:ietf:params:acme:error:"

#define ACME_CT_JOSE "application/jose+json"
#define ACME_CT_PROBLEM "application/problem+json"
#define ACME_CT_PEM_CHAIN "application/pem-certificate-chain"

/* directory resources (§7.1.1) */
#define ACME_DIR_NEW_NONCE "newNonce"
#define ACME_DIR_NEW_ACCOUNT "newAccount"
#define ACME_DIR_NEW_ORDER "newOrder"
#define ACME_DIR_REVOKE "revokeCert"
#define ACME_DIR_KEY_CHANGE "keyChange"
#define ACME_DIR_RENEWAL_INFO "renewalInfo"
#define ACME_DIR_META "meta"
#define ACME_META_TOS "termsOfService"
#define ACME_META_EAB "externalAccountRequired"
#define ACME_META_PROFILES "profiles"
#define ACME_META_CAA "caaIdentities"

/* headers */
#define ACME_H_NONCE "Replay-Nonce"
#define ACME_H_LOCATION "Location"
#define ACME_H_RETRY_AFTER "Retry-After"
#define ACME_REL_ALTERNATE "alternate"

/* error types (§6.7 and extensions), without the prefix */
#define ACME_E_BAD_NONCE "badNonce"
#define ACME_E_RATE_LIMITED "rateLimited"
#define ACME_E_ALREADY_REPLACED "alreadyReplaced" /* RFC 9773 §7.4 */
#define ACME_E_INVALID_PROFILE "invalidProfile"   /* acme-profiles */

/* statuses (§7.1.6) */
#define ACME_ST_PENDING "pending"
#define ACME_ST_READY "ready"
#define ACME_ST_PROCESSING "processing"
#define ACME_ST_VALID "valid"
#define ACME_ST_INVALID "invalid"

/* caps on what a server may hand us */
#define ACME_MAX_AUTHZ 200
#define ACME_MAX_CHALLENGES 16
#define ACME_MAX_CAA_IDS 64 /* meta.caaIdentities entries looked at */
#define ACME_MAX_CHAIN_CERTS 10
#define ACME_MAX_ALTERNATES 8
#define ACME_MAX_NONCE_RETRIES 5 /* D-NONCE: immediate retries */
#define ACME_MAX_NONCE_ROUNDS 3  /* then rounds after 250/500/1000 ms */
#define ACME_NONCE_POOL 32
#define ACME_MAX_NONCE_LEN 256
#define ACME_CERT_MAX_SKEW 300 /* s a notBefore may be ahead of our clock */
#define ACME_ORDER_MAX_WAIT_MS (3600LL * 1000) /* polling, all told */

#endif
