/* The server side of a tls-alpn-01 handshake (RFC 8737 §3), driven through
 * memory BIOs so the caller owns the socket. The ClientHello is inspected
 * before anything is chosen: without "acme-tls/1" in its ALPN list, or
 * without a server name the lookup answers, the handshake ends with a
 * fatal alert and no certificate is ever sent. A lookup that answers
 * later pauses the handshake in the ClientHello callback
 * (SSL_CLIENT_HELLO_RETRY); resuming runs the callback again. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/tls1.h>

#include "crypto_int.h"

/* Cap on what one peer may send: a ClientHello plus the client's second
 * flight fit many times over. */
#define PEER_MAX (64 * 1024)
#define SNI_MAX 253

/* The ALPN wire list the server selects from: one protocol. */
static const unsigned char alpn_wire[] = "\x0a" BYOCA_ACME_TLS_ALPN;

struct byoca_alpn_server {
  SSL_CTX *ctx;
  byoca_alpn_lookup_cb lookup;
  void *arg;
};

struct byoca_alpn_conn {
  struct byoca_alpn_server *s;
  void *arg; /* the lookup's conn_arg */
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  size_t received;
  int paused;          /* the lookup answers later */
  const char *refused; /* why the ClientHello was refused, or NULL */
  char sni[SNI_MAX + 1];
};

/* 1 if the ALPN extension body (RFC 7301 §3.1) lists acme-tls/1. */
static int offers_acme_tls(const unsigned char *p, size_t len) {
  size_t want = sizeof(alpn_wire) - 2; /* without length byte and NUL */
  if (len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2)
    return 0;
  for (size_t i = 2; i < len;) {
    size_t n = p[i];
    if (n == 0 || i + 1 + n > len)
      return 0;
    if (n == want && memcmp(p + i + 1, alpn_wire + 1, n) == 0)
      return 1;
    i += 1 + n;
  }
  return 0;
}

/* The host_name of the server_name extension body (RFC 6066 §3),
 * lowercased, into out; 0 if absent or not a plain printable name. */
static int host_name(const unsigned char *p, size_t len, char *out,
                     size_t outlen) {
  if (len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2)
    return 0;
  for (size_t i = 2; i + 3 <= len;) {
    size_t n = (size_t)((p[i + 1] << 8) | p[i + 2]);
    if (i + 3 + n > len)
      return 0;
    if (p[i] == TLSEXT_NAMETYPE_host_name) {
      if (n == 0 || n >= outlen)
        return 0;
      for (size_t k = 0; k < n; k++) {
        unsigned char ch = p[i + 3 + k];
        if (ch <= 0x20 || ch >= 0x7f)
          return 0;
        out[k] = (char)tolower(ch);
      }
      out[n] = '\0';
      return 1;
    }
    i += 3 + n;
  }
  return 0;
}

static int on_client_hello(SSL *ssl, int *al, void *arg) {
  struct byoca_alpn_server *s = arg;
  struct byoca_alpn_conn *c = SSL_get_app_data(ssl);
  const unsigned char *p;
  size_t len;
  if (c == NULL)
    return SSL_CLIENT_HELLO_ERROR;
  /* the name first, so a refusal can say which name was asked for */
  int named =
      SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) == 1 &&
      host_name(p, len, c->sni, sizeof(c->sni));
  if (!named)
    c->sni[0] = '\0';
  if (SSL_client_hello_get0_ext(
          ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) !=
          1 ||
      !offers_acme_tls(p, len)) {
    c->refused = "the client did not offer ALPN " BYOCA_ACME_TLS_ALPN;
    *al = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (!named) {
    c->refused = "the client sent no server name";
    *al = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  int later = 0;
  const struct byoca_alpn_cert *cert =
      s->lookup(s->arg, c->arg, c->sni, &later);
  if (cert == NULL && later) {
    c->paused = 1;
    return SSL_CLIENT_HELLO_RETRY;
  }
  if (cert == NULL) {
    c->refused = "no tls-alpn-01 challenge is set up for that name";
    *al = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (SSL_use_certificate(ssl, cert->x) != 1 ||
      SSL_use_PrivateKey(ssl, cert->key) != 1) {
    *al = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  unsigned char *sel = NULL;
  if (SSL_select_next_proto(&sel, outlen, alpn_wire, sizeof(alpn_wire) - 1, in,
                            inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

int byoca_alpn_server_new(byoca_alpn_lookup_cb lookup, void *arg,
                          struct byoca_alpn_server **out,
                          struct byoca_err *err) {
  struct byoca_alpn_server *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return crypto_nomem(err);
  s->lookup = lookup;
  s->arg = arg;
  s->ctx = SSL_CTX_new(TLS_server_method());
  if (s->ctx == NULL ||
      SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_num_tickets(s->ctx, 0) != 1) {
    byoca_alpn_server_free(s);
    return crypto_fail(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "cannot set up the tls-alpn-01 TLS context");
  }
  SSL_CTX_set_options(s->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_client_hello_cb(s->ctx, on_client_hello, s);
  SSL_CTX_set_alpn_select_cb(s->ctx, on_alpn, s);
  *out = s;
  return 0;
}

void byoca_alpn_server_free(struct byoca_alpn_server *s) {
  if (s == NULL)
    return;
  SSL_CTX_free(s->ctx);
  free(s);
}

struct byoca_alpn_conn *byoca_alpn_conn_new(struct byoca_alpn_server *s,
                                            void *conn_arg) {
  struct byoca_alpn_conn *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->s = s;
  c->arg = conn_arg;
  c->ssl = SSL_new(s->ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL ||
      SSL_set_app_data(c->ssl, c) != 1) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    SSL_free(c->ssl);
    free(c);
    ERR_clear_error();
    return NULL;
  }
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_accept_state(c->ssl);
  return c;
}

void byoca_alpn_conn_free(struct byoca_alpn_conn *c) {
  if (c == NULL)
    return;
  SSL_free(c->ssl); /* frees both BIOs */
  free(c);
}

/* Moves what TLS wrote into out. */
static int drain(struct byoca_alpn_conn *c, struct byoca_buf *out) {
  char *p;
  long n = BIO_get_mem_data(c->wbio, &p);
  if (n > 0 && byoca_buf_append(out, p, (size_t)n) != 0)
    return BYOCA_E_NOMEM;
  (void)BIO_reset(c->wbio);
  return 0;
}

static int handshake_done(struct byoca_alpn_conn *c, struct byoca_buf *out,
                          struct byoca_err *err) {
  const unsigned char *proto = NULL;
  unsigned int plen = 0;
  SSL_get0_alpn_selected(c->ssl, &proto, &plen);
  if (plen != sizeof(alpn_wire) - 2 || memcmp(proto, alpn_wire + 1, plen) != 0)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "tls-alpn-01 handshake ended without acme-tls/1");
  (void)SSL_shutdown(c->ssl); /* queues close_notify */
  ERR_clear_error();
  if (drain(c, out) != 0)
    return crypto_nomem(err);
  return BYOCA_ALPN_DONE;
}

/* Runs the handshake as far as it goes with what was received. */
static int step(struct byoca_alpn_conn *c, struct byoca_buf *out, char *sni_out,
                size_t sni_len, struct byoca_err *err) {
  int rc;
  c->paused = 0;
  int r = SSL_do_handshake(c->ssl);
  if (sni_out != NULL && sni_len > 0)
    byoca_strlcpy(sni_out, c->sni, sni_len);
  if (r == 1)
    return handshake_done(c, out, err);
  int why = SSL_get_error(c->ssl, r);
  if (drain(c, out) != 0)
    return crypto_nomem(err);
  if (why == SSL_ERROR_WANT_READ) {
    ERR_clear_error();
    return BYOCA_ALPN_MORE;
  }
  if (why == SSL_ERROR_WANT_CLIENT_HELLO_CB && c->paused) {
    ERR_clear_error();
    return BYOCA_ALPN_PAUSED;
  }
  if (c->refused != NULL) {
    ERR_clear_error();
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_INPUT, "%s",
                         c->refused);
  }
  rc = crypto_fail(err, BYOCA_E_NET, BYOCA_CLASS_INPUT,
                   "tls-alpn-01 handshake failed");
  return rc;
}

int byoca_alpn_conn_feed(struct byoca_alpn_conn *c, const void *in, size_t len,
                         struct byoca_buf *out, char *sni_out, size_t sni_len,
                         struct byoca_err *err) {
  if (len > PEER_MAX - c->received)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "tls-alpn-01 peer sent more than %d bytes", PEER_MAX);
  c->received += len;
  if (len > 0 && BIO_write(c->rbio, in, (int)len) != (int)len)
    return crypto_nomem(err);
  if (c->paused) { /* kept for when the lookup has answered */
    if (sni_out != NULL && sni_len > 0)
      byoca_strlcpy(sni_out, c->sni, sni_len);
    return BYOCA_ALPN_PAUSED;
  }
  return step(c, out, sni_out, sni_len, err);
}

int byoca_alpn_conn_resume(struct byoca_alpn_conn *c, struct byoca_buf *out,
                           char *sni_out, size_t sni_len,
                           struct byoca_err *err) {
  return step(c, out, sni_out, sni_len, err);
}
