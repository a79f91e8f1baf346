/* Unit tests of the tls-alpn-01 certificate (RFC 8737 §3) and of the
 * server handshake driven through memory buffers. Certificates are parsed
 * back with OpenSSL, the digest is computed here with OpenSSL, and the
 * handshakes run against a real OpenSSL client. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "byoca/crypto.h"

#define KA                                                                     \
  "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"                                \
  ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

static X509 *build(const char *type, const char *ident, const char *ka) {
  struct byoca_alpn_cert *c = NULL;
  struct byoca_err err = {0};
  unsigned char *der = NULL;
  size_t len = 0;
  assert_int_equal(byoca_alpn_cert_new(type, ident, ka, &c, &err), 0);
  assert_int_equal(byoca_alpn_cert_der(c, &der, &len), 0);
  const unsigned char *p = der;
  X509 *x = d2i_X509(NULL, &p, (long)len);
  assert_non_null(x);
  assert_ptr_equal(p, der + len);
  free(der);
  byoca_alpn_cert_free(c);
  return x;
}

/* Checks the acmeIdentifier extension of x: present once, critical, and
 * its value the DER OCTET STRING of SHA-256(ka). */
static void check_acme_identifier(X509 *x, const char *ka) {
  unsigned char want[32];
  unsigned int wlen = 0;
  ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  assert_non_null(oid);
  int at = X509_get_ext_by_OBJ(x, oid, -1);
  assert_true(at >= 0);
  assert_int_equal(X509_get_ext_by_OBJ(x, oid, at), -1); /* only one */
  X509_EXTENSION *ext = X509_get_ext(x, at);
  assert_int_equal(X509_EXTENSION_get_critical(ext), 1);
  ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
  assert_int_equal(ASN1_STRING_length(v), 34);
  const unsigned char *d = ASN1_STRING_get0_data(v);
  /* decode it as the DER OCTET STRING it must be */
  const unsigned char *p = d;
  ASN1_OCTET_STRING *inner = d2i_ASN1_OCTET_STRING(NULL, &p, 34);
  assert_non_null(inner);
  assert_ptr_equal(p, d + 34);
  assert_int_equal(EVP_Digest(ka, strlen(ka), want, &wlen, EVP_sha256(), NULL),
                   1);
  assert_int_equal(wlen, 32);
  assert_int_equal(ASN1_STRING_length(inner), 32);
  assert_memory_equal(ASN1_STRING_get0_data(inner), want, 32);
  ASN1_OCTET_STRING_free(inner);
  ASN1_OBJECT_free(oid);
}

/* The one subjectAltName of x as "DNS:name" or "IP:<n bytes>". */
static void check_san(X509 *x, int type, const void *val, size_t len) {
  int crit = -1;
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
  assert_non_null(gens);
  assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
  const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, 0);
  assert_int_equal(gn->type, type);
  const ASN1_STRING *s = type == GEN_DNS ? gn->d.dNSName : gn->d.iPAddress;
  assert_int_equal(ASN1_STRING_length(s), (int)len);
  assert_memory_equal(ASN1_STRING_get0_data(s), val, len);
  GENERAL_NAMES_free(gens);
}

static void test_cert_dns(void **state) {
  (void)state;
  X509 *x = build("dns", "alpn.example.org", KA);
  check_acme_identifier(x, KA);
  check_san(x, GEN_DNS, "alpn.example.org", strlen("alpn.example.org"));
  /* self-signed, version 3, valid now */
  assert_int_equal(X509_get_version(x), 2);
  assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
  assert_int_equal(
      X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
  assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
  assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
  /* a different key authorization gives a different digest */
  X509 *y = build("dns", "alpn.example.org", KA "x");
  check_acme_identifier(y, KA "x");
  X509_free(y);
  X509_free(x);
}

static void test_cert_ip(void **state) {
  (void)state;
  unsigned char v4[4], v6[16];
  assert_int_equal(inet_pton(AF_INET, "192.0.2.7", v4), 1);
  assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", v6), 1);
  X509 *x = build("ip", "192.0.2.7", KA);
  check_acme_identifier(x, KA);
  check_san(x, GEN_IPADD, v4, 4);
  X509_free(x);
  x = build("ip", "2001:db8::1", KA);
  check_acme_identifier(x, KA);
  check_san(x, GEN_IPADD, v6, 16);
  X509_free(x);
}

static void test_cert_refused(void **state) {
  (void)state;
  static const struct {
    const char *type, *ident, *ka;
  } bad[] = {
      {"dns", "", KA},          {"dns", "a b.example", KA},
      {"dns", "x.example", ""}, {"dns", "x.example", NULL},
      {"ip", "x.example", KA},  {"email", "a@example.org", KA},
      {NULL, "x.example", KA},  {"dns", NULL, KA},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    struct byoca_alpn_cert *c = NULL;
    struct byoca_err err = {0};
    assert_int_equal(
        byoca_alpn_cert_new(bad[i].type, bad[i].ident, bad[i].ka, &c, &err),
        BYOCA_E_INVAL);
    assert_null(c);
    assert_true(err.msg[0] != '\0');
    byoca_err_clear(&err);
  }
  byoca_alpn_cert_free(NULL);
}

/* ---- handshakes against an OpenSSL client ---- */

struct table {
  const char *sni;
  struct byoca_alpn_cert *cert;
  int asked;
  int later; /* answer "later" this many times first */
  void *conn_arg;
};

static const struct byoca_alpn_cert *lookup(void *arg, void *conn_arg,
                                            const char *sni, int *later) {
  struct table *t = arg;
  t->asked++;
  t->conn_arg = conn_arg;
  if (t->later > 0) {
    t->later--;
    *later = 1;
    return NULL;
  }
  return strcmp(sni, t->sni) == 0 ? t->cert : NULL;
}

struct run {
  int server_rc; /* last byoca_alpn_conn_feed result */
  struct byoca_err err;
  char sni[256];
  int paused;       /* BYOCA_ALPN_PAUSED seen (then resumed) */
  int client_done;  /* SSL_do_handshake returned 1 */
  X509 *peer;       /* the certificate the client saw, or NULL */
  char alpn[32];    /* what the client negotiated */
  int client_alert; /* the client saw a fatal alert */
};

/* Shuttles bytes between an OpenSSL client (alpn: wire list or NULL; sni
 * or NULL) and a byoca_alpn_conn until one side stops. */
static void handshake(struct byoca_alpn_server *srv, const unsigned char *alpn,
                      size_t alpnlen, const char *sni, int max_version,
                      struct run *r) {
  memset(r, 0, sizeof(*r));
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(cctx);
  if (max_version)
    SSL_CTX_set_max_proto_version(cctx, max_version);
  SSL *cl = SSL_new(cctx);
  BIO *crd = BIO_new(BIO_s_mem()), *cwr = BIO_new(BIO_s_mem());
  SSL_set_bio(cl, crd, cwr);
  SSL_set_connect_state(cl);
  if (sni)
    SSL_set_tlsext_host_name(cl, sni);
  if (alpn)
    assert_int_equal(SSL_set_alpn_protos(cl, alpn, (unsigned)alpnlen), 0);
  struct byoca_alpn_conn *sc = byoca_alpn_conn_new(srv, r);
  assert_non_null(sc);
  r->server_rc = BYOCA_ALPN_MORE;
  for (int round = 0; round < 20; round++) {
    int cr = SSL_do_handshake(cl);
    if (cr == 1)
      r->client_done = 1;
    else if (SSL_get_error(cl, cr) != SSL_ERROR_WANT_READ)
      r->client_alert = 1;
    char *p;
    long n = BIO_get_mem_data(cwr, &p);
    if (r->server_rc != BYOCA_ALPN_MORE || (n <= 0 && round > 0))
      break;
    struct byoca_buf out;
    byoca_buf_init(&out, 0);
    r->server_rc = byoca_alpn_conn_feed(sc, p, n > 0 ? (size_t)n : 0, &out,
                                        r->sni, sizeof(r->sni), &r->err);
    (void)BIO_reset(cwr);
    while (r->server_rc == BYOCA_ALPN_PAUSED) {
      /* nothing goes out yet, and what arrives meanwhile is only kept */
      assert_int_equal(out.len, 0);
      r->paused++;
      assert_int_equal(byoca_alpn_conn_feed(sc, "", 0, &out, NULL, 0, &r->err),
                       BYOCA_ALPN_PAUSED);
      r->server_rc =
          byoca_alpn_conn_resume(sc, &out, r->sni, sizeof(r->sni), &r->err);
    }
    if (out.len > 0)
      assert_int_equal(BIO_write(crd, out.data, (int)out.len), (int)out.len);
    byoca_buf_free(&out);
  }
  /* let the client read what the server sent last */
  int cr = SSL_do_handshake(cl);
  if (cr == 1)
    r->client_done = 1;
  else if (SSL_get_error(cl, cr) == SSL_ERROR_SSL)
    r->client_alert = 1;
  r->peer = SSL_get1_peer_certificate(cl);
  const unsigned char *sel = NULL;
  unsigned int sellen = 0;
  SSL_get0_alpn_selected(cl, &sel, &sellen);
  if (sellen > 0 && sellen < sizeof(r->alpn))
    memcpy(r->alpn, sel, sellen);
  byoca_alpn_conn_free(sc);
  SSL_free(cl);
  SSL_CTX_free(cctx);
}

static const unsigned char acme_tls[] = "\x0a"
                                        "acme-tls/1";
static const unsigned char h2[] = "\x02"
                                  "h2";
static const unsigned char h2_and_acme[] = "\x02"
                                           "h2"
                                           "\x0a"
                                           "acme-tls/1";

static void test_handshake_answers(void **state) {
  (void)state;
  struct table t = {.sni = "alpn.example.org"};
  struct byoca_alpn_server *srv = NULL;
  struct byoca_err err = {0};
  struct run r;
  assert_int_equal(byoca_alpn_cert_new("dns", t.sni, KA, &t.cert, &err), 0);
  assert_int_equal(byoca_alpn_server_new(lookup, &t, &srv, &err), 0);
  static const int versions[] = {0, TLS1_2_VERSION};
  for (size_t v = 0; v < 2; v++) {
    handshake(srv, acme_tls, sizeof(acme_tls) - 1, "ALPN.example.org",
              versions[v], &r);
    assert_int_equal(r.server_rc, BYOCA_ALPN_DONE);
    assert_string_equal(r.sni, "alpn.example.org"); /* lowercased */
    assert_true(r.client_done);
    assert_string_equal(r.alpn, "acme-tls/1");
    assert_non_null(r.peer);
    check_acme_identifier(r.peer, KA);
    check_san(r.peer, GEN_DNS, t.sni, strlen(t.sni));
    X509_free(r.peer);
  }
  /* acme-tls/1 among other protocols is still a validation request */
  handshake(srv, h2_and_acme, sizeof(h2_and_acme) - 1, t.sni, 0, &r);
  assert_int_equal(r.server_rc, BYOCA_ALPN_DONE);
  assert_string_equal(r.alpn, "acme-tls/1");
  X509_free(r.peer);
  byoca_alpn_server_free(srv);
  byoca_alpn_cert_free(t.cert);
}

static void test_handshake_refused(void **state) {
  (void)state;
  struct table t = {.sni = "alpn.example.org"};
  struct byoca_alpn_server *srv = NULL;
  struct byoca_err err = {0};
  struct run r;
  assert_int_equal(byoca_alpn_cert_new("dns", t.sni, KA, &t.cert, &err), 0);
  assert_int_equal(byoca_alpn_server_new(lookup, &t, &srv, &err), 0);
  static const struct {
    const unsigned char *alpn;
    size_t len;
    const char *sni;
    const char *why;
    int asks; /* the lookup is consulted */
  } cases[] = {
      {h2, sizeof(h2) - 1, "alpn.example.org", "did not offer ALPN", 0},
      {NULL, 0, "alpn.example.org", "did not offer ALPN", 0},
      {acme_tls, sizeof(acme_tls) - 1, "other.example.org", "no tls-alpn-01",
       1},
      {acme_tls, sizeof(acme_tls) - 1, NULL, "no server name", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    t.asked = 0;
    handshake(srv, cases[i].alpn, cases[i].len, cases[i].sni, 0, &r);
    assert_int_equal(r.server_rc, BYOCA_E_POLICY);
    assert_non_null(strstr(r.err.msg, cases[i].why));
    assert_int_equal(t.asked, cases[i].asks);
    assert_false(r.client_done);
    assert_true(r.client_alert);
    assert_null(r.peer); /* no certificate leaves */
    assert_string_equal(r.alpn, "");
    byoca_err_clear(&r.err);
  }
  byoca_alpn_server_free(srv);
  byoca_alpn_cert_free(t.cert);
}

/* A lookup that answers later pauses the handshake before anything is
 * sent; resumed, the ClientHello is looked up again and answered (or
 * refused) as at once. */
static void test_handshake_paused(void **state) {
  (void)state;
  struct table t = {.sni = "alpn.example.org"};
  struct byoca_alpn_server *srv = NULL;
  struct byoca_err err = {0};
  struct run r;
  assert_int_equal(byoca_alpn_cert_new("dns", t.sni, KA, &t.cert, &err), 0);
  assert_int_equal(byoca_alpn_server_new(lookup, &t, &srv, &err), 0);
  t.later = 2;
  handshake(srv, acme_tls, sizeof(acme_tls) - 1, t.sni, 0, &r);
  assert_int_equal(r.paused, 2);
  assert_int_equal(t.asked, 3); /* feeding while paused asks nothing */
  assert_ptr_equal(t.conn_arg, &r);
  assert_int_equal(r.server_rc, BYOCA_ALPN_DONE);
  assert_true(r.client_done);
  assert_string_equal(r.alpn, "acme-tls/1");
  assert_non_null(r.peer);
  check_acme_identifier(r.peer, KA);
  X509_free(r.peer);
  /* answered "none" after the pause: refused, no certificate */
  t.later = 1;
  t.asked = 0;
  handshake(srv, acme_tls, sizeof(acme_tls) - 1, "other.example.org", 0, &r);
  assert_int_equal(r.paused, 1);
  assert_int_equal(t.asked, 2);
  assert_int_equal(r.server_rc, BYOCA_E_POLICY);
  assert_true(r.client_alert);
  assert_null(r.peer);
  byoca_err_clear(&r.err);
  byoca_alpn_server_free(srv);
  byoca_alpn_cert_free(t.cert);
}

static void test_feed_garbage(void **state) {
  (void)state;
  struct table t = {.sni = "x.example"};
  struct byoca_alpn_server *srv = NULL;
  struct byoca_err err = {0};
  struct byoca_buf out;
  assert_int_equal(byoca_alpn_server_new(lookup, &t, &srv, &err), 0);
  byoca_buf_init(&out, 0);
  /* not TLS at all */
  struct byoca_alpn_conn *c = byoca_alpn_conn_new(srv, NULL);
  const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(
      byoca_alpn_conn_feed(c, http, strlen(http), &out, NULL, 0, &err),
      BYOCA_E_NET);
  byoca_err_clear(&err);
  byoca_alpn_conn_free(c);
  /* more than 64 KiB from one peer, in one piece or in several */
  c = byoca_alpn_conn_new(srv, NULL);
  static unsigned char big[70000];
  assert_int_equal(
      byoca_alpn_conn_feed(c, big, sizeof(big), &out, NULL, 0, &err),
      BYOCA_E_TOOBIG);
  byoca_err_clear(&err);
  byoca_alpn_conn_free(c);
  c = byoca_alpn_conn_new(srv, NULL);
  memset(big, 0, sizeof(big));
  big[0] = 0x16;
  big[1] = 3;
  big[2] = 1;
  big[3] = 0xff; /* a record too long for TLS: refused at once */
  big[4] = 0xff;
  assert_int_equal(byoca_alpn_conn_feed(c, big, 5, &out, NULL, 0, &err),
                   BYOCA_E_NET);
  byoca_err_clear(&err);
  byoca_alpn_conn_free(c);
  byoca_buf_free(&out);
  byoca_alpn_conn_free(NULL);
  byoca_alpn_server_free(srv);
  byoca_alpn_server_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cert_dns),
      cmocka_unit_test(test_cert_ip),
      cmocka_unit_test(test_cert_refused),
      cmocka_unit_test(test_handshake_answers),
      cmocka_unit_test(test_handshake_refused),
      cmocka_unit_test(test_handshake_paused),
      cmocka_unit_test(test_feed_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
