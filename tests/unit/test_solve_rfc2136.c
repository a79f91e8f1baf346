/* The rfc2136 solver's pure parts: names, zone helpers, the server
 * address, TSIG algorithm and secret parsing, the UPDATE messages it
 * builds (read back with ldns, TSIG verified), what it makes of answers,
 * and the constructor's option checks. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/net.h"
#include "byoca/solve.h"
#include "rfc2136_int.h"

#define KEY_B64 "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="

static void test_fqdn(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } ok[] = {
      {"_acme-challenge.A.Upd.Test", "_acme-challenge.a.upd.test."},
      {"upd.test.", "upd.test."},
      {"*.upd.test", "*.upd.test."},
      {"x", "x."},
      {"acme-key_1.", "acme-key_1."},
  };
  static const char *const bad[] = {
      "",      ".",     "a..b",  ".a",     "a b",           "a.*.b", "**.a",
      "a\"b.", "a\\.b", "a.b/c", "\x01.a", "tr\xc3\xa9s.a", "a.b..",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    char *out = NULL;
    assert_int_equal(r2136_fqdn(ok[i].in, "name", &out, NULL), 0);
    assert_string_equal(out, ok[i].out);
    free(out);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct byoca_err e = {0};
    char *out = NULL;
    assert_int_equal(r2136_fqdn(bad[i], "DNS zone", &out, &e), BYOCA_E_INVAL);
    assert_null(out);
    assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
    assert_non_null(strstr(e.msg, "invalid DNS zone"));
  }
  char label[70], name[300];
  memset(label, 'a', 64);
  label[64] = '\0';
  assert_int_equal(r2136_fqdn(label, "n", &(char *){NULL}, NULL),
                   BYOCA_E_INVAL);
  label[63] = '\0';
  char *out = NULL;
  assert_int_equal(r2136_fqdn(label, "n", &out, NULL), 0);
  free(out);
  snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);
  assert_int_equal(strlen(name), 255);
  assert_int_equal(r2136_fqdn(name, "n", &(char *){NULL}, NULL), BYOCA_E_INVAL);
  name[252] = '\0'; /* 253 characters, last label 61 long */
  assert_int_equal(r2136_fqdn(name, "n", &out, NULL), 0);
  free(out);
}

static void test_parent_and_zone(void **state) {
  (void)state;
  const char *n = "_acme-challenge.a.upd.test.";
  assert_string_equal(r2136_parent(n), "a.upd.test.");
  assert_string_equal(r2136_parent(r2136_parent(n)), "upd.test.");
  assert_string_equal(r2136_parent("upd.test."), "test.");
  assert_null(r2136_parent("test."));
  assert_true(r2136_in_zone(n, "upd.test."));
  assert_true(r2136_in_zone(n, "UPD.test."));
  assert_true(r2136_in_zone("upd.test.", "upd.test."));
  assert_true(r2136_in_zone(n, "a.upd.test."));
  assert_false(r2136_in_zone(n, "pd.test."));
  assert_false(r2136_in_zone("upd.test.", "a.upd.test."));
  assert_false(r2136_in_zone("xupd.test.", "upd.test."));
}

static void test_alg(void **state) {
  (void)state;
  assert_string_equal(r2136_alg(NULL), "hmac-sha256.");
  assert_string_equal(r2136_alg("hmac-sha256"), "hmac-sha256.");
  assert_string_equal(r2136_alg("HMAC-SHA512."), "hmac-sha512.");
  assert_null(r2136_alg("hmac-md5"));
  assert_null(r2136_alg("hmac-sha1"));
  assert_null(r2136_alg("hmac-sha2566"));
  assert_null(r2136_alg(""));
}

static void test_server(void **state) {
  (void)state;
  static const struct {
    const char *in, *text;
  } ok[] = {
      {"127.0.0.1", "127.0.0.1:53"},
      {"192.0.2.1:5353", "192.0.2.1:5353"},
      {"::1", "[::1]:53"},
      {"[::1]", "[::1]:53"},
      {"[2001:db8::1]:54", "[2001:db8::1]:54"},
  };
  static const char *const bad[] = {
      "",
      "ns.example",
      "ns.example:53",
      "127.0.0.1:0",
      "127.0.0.1:65536",
      "127.0.0.1:",
      "[::1",
      "[::1]x",
      "[::1]:",
      "1.2.3:53",
      "127.0.0.1:5x",
      "[ns.example]:53",
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    struct r2136_srv s;
    assert_int_equal(r2136_srv_parse(ok[i].in, &s, NULL), 0);
    assert_string_equal(s.text, ok[i].text);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct r2136_srv s;
    struct byoca_err e = {0};
    assert_int_equal(r2136_srv_parse(bad[i], &s, &e), BYOCA_E_INVAL);
    assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  }
  assert_int_equal(r2136_srv_parse(NULL, &(struct r2136_srv){0}, NULL),
                   BYOCA_E_INVAL);
  /* the reason names the bad part (byoca_hostport_parse) */
  struct byoca_err pe = {0};
  assert_int_equal(
      r2136_srv_parse("127.0.0.1:65536", &(struct r2136_srv){0}, &pe),
      BYOCA_E_INVAL);
  assert_non_null(strstr(pe.msg, "DNS update server '127.0.0.1:65536'"));
  assert_non_null(strstr(pe.msg, "'65536' is not a port number"));
  byoca_err_clear(&pe);
  assert_int_equal(
      r2136_srv_parse("[ns.example]:53", &(struct r2136_srv){0}, &pe),
      BYOCA_E_INVAL);
  assert_non_null(strstr(pe.msg, "'ns.example' is not an IPv6 address"));
  byoca_err_clear(&pe);
  /* a name server at the update server's address gets its port */
  struct r2136_srv upd, ns, other;
  assert_int_equal(r2136_srv_parse("127.0.0.1:5300", &upd, NULL), 0);
  assert_int_equal(r2136_srv_parse("127.0.0.1", &ns, NULL), 0);
  assert_int_equal(r2136_srv_parse("127.0.0.2", &other, NULL), 0);
  r2136_srv_port_of(&ns, &upd);
  r2136_srv_port_of(&other, &upd);
  assert_string_equal(ns.text, "127.0.0.1:5300");
  assert_string_equal(other.text, "127.0.0.2:53");
}

static void test_secret(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } ok[] = {
      {"YWJj", "YWJj"},   {"YWI=", "YWI="}, {"YWI", "YWI="}, /* padding added */
      {"-_-_", "+/+/"}, /* base64url translated */
      {KEY_B64, KEY_B64},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    struct byoca_secret s = {0};
    assert_int_equal(
        r2136_secret_parse(ok[i].in, strlen(ok[i].in), "k", &s, NULL), 0);
    assert_string_equal((const char *)s.data, ok[i].out);
    assert_int_equal(s.len, strlen(ok[i].out));
    byoca_secret_free(&s);
  }
  static const char *const bad[] = {"", "!!!!", "YW Jj", "YWJ=j", "Y"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct byoca_secret s = {0};
    struct byoca_err e = {0};
    assert_int_equal(
        r2136_secret_parse(bad[i], strlen(bad[i]), "TSIG file x", &s, &e),
        BYOCA_E_INVAL);
    assert_null(s.data);
    assert_string_equal(e.msg, "TSIG file x: not a base64 TSIG secret");
  }
}

static void test_secret_file(void **state) {
  (void)state;
  char path[] = "/tmp/byoca-tsig-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "YWJj\n", 5), 5);
  close(fd);
  struct byoca_secret s = {0};
  struct byoca_err e = {0};
  assert_int_equal(r2136_secret_load(path, &s, &e), 0);
  assert_string_equal((const char *)s.data, "YWJj");
  byoca_secret_free(&s);
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "secret!\n", 8), 8);
  close(fd);
  assert_int_not_equal(r2136_secret_load(path, &s, &e), 0);
  assert_non_null(strstr(e.msg, path));
  assert_null(strstr(e.msg, "secret!"));
  unlink(path);
  byoca_err_clear(&e);
  assert_int_not_equal(r2136_secret_load(path, &s, &e), 0);
  assert_non_null(strstr(e.msg, path));
  assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  byoca_err_clear(&e);
  assert_int_equal(r2136_secret_load(NULL, &s, &e), BYOCA_E_INVAL);
}

static void test_value_and_rcodes(void **state) {
  (void)state;
  char buf[16], long_value[300];
  assert_true(r2136_value_valid("LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo"));
  assert_false(r2136_value_valid(""));
  assert_false(r2136_value_valid(NULL));
  assert_false(r2136_value_valid("a\"b"));
  assert_false(r2136_value_valid("a b"));
  memset(long_value, 'a', 256);
  long_value[256] = '\0';
  assert_false(r2136_value_valid(long_value));
  assert_string_equal(r2136_rcode_str(0, buf, sizeof(buf)), "NOERROR");
  assert_string_equal(r2136_rcode_str(5, buf, sizeof(buf)), "REFUSED");
  assert_string_equal(r2136_rcode_str(9, buf, sizeof(buf)), "NOTAUTH");
  assert_string_equal(r2136_rcode_str(10, buf, sizeof(buf)), "NOTZONE");
  assert_string_equal(r2136_rcode_str(16, buf, sizeof(buf)), "BADSIG");
  assert_string_equal(r2136_rcode_str(17, buf, sizeof(buf)), "BADKEY");
  assert_string_equal(r2136_rcode_str(18, buf, sizeof(buf)), "BADTIME");
  assert_string_equal(r2136_rcode_str(42, buf, sizeof(buf)), "RCODE 42");
}

/* ---- messages ---- */

static void key_init(struct r2136_key *k, const char *alg) {
  memset(k, 0, sizeof(*k));
  k->name = strdup("acme-key.");
  k->alg = alg;
  assert_int_equal(
      r2136_secret_parse(KEY_B64, strlen(KEY_B64), "k", &k->b64, NULL), 0);
}

static void key_free(struct r2136_key *k) {
  free(k->name);
  byoca_secret_free(&k->b64);
}

/* Builds an update, reads it back and checks its one update RR. */
static void check_update(int add, const char *alg) {
  struct r2136_key k;
  uint8_t *wire = NULL;
  size_t len = 0;
  ldns_rdf *mac = NULL;
  ldns_pkt *p = NULL;
  key_init(&k, alg);
  assert_int_equal(r2136_update_wire(&k, "upd.test.",
                                     "_acme-challenge.a.upd.test.", "v-al_ue",
                                     add, 0x1234, &wire, &len, &mac, NULL),
                   0);
  assert_non_null(mac);
  assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
  assert_int_equal(ldns_pkt_id(p), 0x1234);
  assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
  assert_false(ldns_pkt_rd(p));
  const ldns_rr *zone = ldns_rr_list_rr(ldns_pkt_question(p), 0);
  char *s = ldns_rdf2str(ldns_rr_owner(zone));
  assert_string_equal(s, "upd.test.");
  free(s);
  assert_int_equal(ldns_rr_get_type(zone), LDNS_RR_TYPE_SOA);
  assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_authority(p)), 1);
  const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
  s = ldns_rr2str(rr);
  assert_string_equal(s, add ? "_acme-challenge.a.upd.test.\t60\tIN\tTXT\t"
                               "\"v-al_ue\"\n"
                             : "_acme-challenge.a.upd.test.\t0\tNONE\tTXT\t"
                               "\"v-al_ue\"\n");
  free(s);
  /* signed with the key: verifies, and not with another secret */
  const ldns_rr *tsig = ldns_pkt_tsig(p);
  assert_non_null(tsig);
  s = ldns_rdf2str(ldns_rr_rdf(tsig, 0));
  assert_string_equal(s, alg);
  free(s);
  assert_true(ldns_pkt_tsig_verify(p, wire, len, "acme-key.", KEY_B64, NULL));
  assert_false(ldns_pkt_tsig_verify(p, wire, len, "acme-key.", "YWJj", NULL));
  /* the secret is not in the message */
  for (size_t i = 0; i + 6 <= len; i++)
    assert_int_not_equal(memcmp(wire + i, "secret", 6), 0);
  ldns_pkt_free(p);
  ldns_rdf_deep_free(mac);
  free(wire);
  key_free(&k);
}

static void test_update_wire(void **state) {
  (void)state;
  check_update(1, "hmac-sha256.");
  check_update(0, "hmac-sha256.");
  check_update(1, "hmac-sha512.");
  struct r2136_key k;
  uint8_t *wire = NULL;
  size_t len = 0;
  ldns_rdf *mac = NULL;
  key_init(&k, "hmac-sha256.");
  assert_int_not_equal(r2136_update_wire(&k, "upd.test.", "a.upd.test.",
                                         "bad\" value", 1, 1, &wire, &len, &mac,
                                         NULL),
                       0);
  assert_null(wire);
  key_free(&k);
}

/* An answer to request (wire) with rcode, signed with the key over the
 * request's MAC unless unsigned; tsig_error forced into the TSIG RR. */
static void answer(const uint8_t *req, size_t reqlen, const ldns_rdf *mac,
                   int rcode, int sign, int tsig_error, uint8_t **out,
                   size_t *outlen) {
  ldns_pkt *p = NULL;
  assert_int_equal(ldns_wire2pkt(&p, req, reqlen), LDNS_STATUS_OK);
  ldns_rr_free(ldns_pkt_tsig(p));
  ldns_pkt_set_tsig(p, NULL);
  ldns_rr_list_deep_free(ldns_pkt_authority(p));
  ldns_pkt_set_authority(p, ldns_rr_list_new());
  ldns_pkt_set_nscount(p, 0);
  ldns_pkt_set_qr(p, true);
  ldns_pkt_set_rcode(p, (uint8_t)rcode);
  if (sign) {
    assert_int_equal(
        ldns_pkt_tsig_sign(p, "acme-key.", KEY_B64, 300, "hmac-sha256.", mac),
        LDNS_STATUS_OK);
    if (tsig_error != 0)
      ldns_rdf_deep_free(ldns_rr_set_rdf(
          ldns_pkt_tsig(p),
          ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)tsig_error), 5));
  }
  assert_int_equal(ldns_pkt2wire(out, p, outlen), LDNS_STATUS_OK);
  ldns_pkt_free(p);
}

static void test_update_result(void **state) {
  (void)state;
  struct r2136_key k;
  struct r2136_srv srv;
  uint8_t *req = NULL, *ans = NULL;
  size_t reqlen = 0, anslen = 0;
  ldns_rdf *mac = NULL;
  struct byoca_err e = {0};
  key_init(&k, "hmac-sha256.");
  assert_int_equal(r2136_srv_parse("192.0.2.1:5300", &srv, NULL), 0);
  assert_int_equal(r2136_update_wire(&k, "upd.test.", "a.upd.test.", "v", 1, 77,
                                     &req, &reqlen, &mac, NULL),
                   0);
  /* NOERROR, signed over our MAC: accepted */
  answer(req, reqlen, mac, 0, 1, 0, &ans, &anslen);
  assert_int_equal(
      r2136_update_result(&k, ans, anslen, 77, mac, &srv, "upd.test.", &e), 0);
  /* ... but not as the answer to another message */
  assert_int_equal(
      r2136_update_result(&k, ans, anslen, 78, mac, &srv, "upd.test.", &e),
      BYOCA_E_PROTO);
  free(ans);
  /* NOERROR unsigned: refused */
  answer(req, reqlen, mac, 0, 0, 0, &ans, &anslen);
  assert_int_equal(
      r2136_update_result(&k, ans, anslen, 77, mac, &srv, "upd.test.", &e),
      BYOCA_E_PROTO);
  assert_non_null(strstr(e.msg, "not signed with key acme-key."));
  free(ans);
  /* NOTAUTH with TSIG error BADSIG: input error naming everything */
  answer(req, reqlen, mac, 9, 1, 16, &ans, &anslen);
  assert_int_equal(
      r2136_update_result(&k, ans, anslen, 77, mac, &srv, "upd.test.", &e),
      BYOCA_E_DNS);
  assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(e.msg, "DNS server 192.0.2.1:5300 refused the"
                                " update of zone upd.test. with key"
                                " acme-key.: NOTAUTH, TSIG error BADSIG"));
  assert_null(strstr(e.msg, KEY_B64));
  free(ans);
  /* REFUSED unsigned (an ACL) */
  answer(req, reqlen, mac, 5, 0, 0, &ans, &anslen);
  assert_int_equal(
      r2136_update_result(&k, ans, anslen, 77, mac, &srv, "upd.test.", &e),
      BYOCA_E_DNS);
  assert_non_null(strstr(e.msg, ": REFUSED: the key may not update"));
  free(ans);
  /* garbage */
  assert_int_equal(r2136_update_result(&k, (const uint8_t *)"\0\x4d", 2, 77,
                                       mac, &srv, "upd.test.", &e),
                   BYOCA_E_PROTO);
  ldns_rdf_deep_free(mac);
  free(req);
  key_free(&k);
}

/* A response packet with records given as zone-file lines, each prefixed
 * "an ", "ns " or "ar " for its section. */
static ldns_pkt *pkt_of(int aa, int rcode, const char *const *lines) {
  ldns_pkt *p = ldns_pkt_new();
  ldns_pkt_set_qr(p, true);
  ldns_pkt_set_aa(p, aa != 0);
  ldns_pkt_set_rcode(p, (uint8_t)rcode);
  for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
    ldns_rr *rr = NULL;
    assert_int_equal(ldns_rr_new_frm_str(&rr, lines[i] + 3, 0, NULL, NULL),
                     LDNS_STATUS_OK);
    ldns_pkt_section s = strncmp(lines[i], "an ", 3) == 0 ? LDNS_SECTION_ANSWER
                         : strncmp(lines[i], "ns ", 3) == 0
                             ? LDNS_SECTION_AUTHORITY
                             : LDNS_SECTION_ADDITIONAL;
    assert_true(ldns_pkt_push_rr(p, s, rr));
  }
  return p;
}

static void test_soa_owner(void **state) {
  (void)state;
  static const char *const in_answer[] = {
      "an Upd.Test. 60 IN SOA ns.upd.test. a.upd.test. 1 2 3 4 5", NULL};
  static const char *const in_auth[] = {
      "ns upd.test. 60 IN SOA ns.upd.test. a.upd.test. 1 2 3 4 5", NULL};
  static const char *const none[] = {"ns upd.test. 60 IN NS ns.upd.test.",
                                     NULL};
  char *owner = NULL;
  ldns_pkt *p = pkt_of(1, 0, in_answer);
  assert_int_equal(r2136_soa_owner(p, &owner), 1);
  assert_string_equal(owner, "upd.test.");
  free(owner);
  ldns_pkt_free(p);
  p = pkt_of(1, 3, in_auth);
  assert_int_equal(r2136_soa_owner(p, &owner), 1);
  assert_string_equal(owner, "upd.test.");
  free(owner);
  ldns_pkt_free(p);
  p = pkt_of(1, 0, none);
  assert_int_equal(r2136_soa_owner(p, &owner), 0);
  ldns_pkt_free(p);
}

static void test_ns(void **state) {
  (void)state;
  static const char *const lines[] = {"an upd.test. 60 IN NS ns1.upd.test.",
                                      "an upd.test. 60 IN NS NS2.example.",
                                      "an other.test. 60 IN NS ns3.other.test.",
                                      "ar ns1.upd.test. 60 IN A 192.0.2.1",
                                      "ar ns1.upd.test. 60 IN AAAA 2001:db8::1",
                                      "ar ns1.upd.test. 60 IN A 192.0.2.1",
                                      "ar ns9.upd.test. 60 IN A 192.0.2.9",
                                      NULL};
  char *names[4] = {0};
  ldns_pkt *p = pkt_of(1, 0, lines);
  assert_int_equal(r2136_ns_names(p, "upd.test.", names, 4), 2);
  assert_string_equal(names[0], "ns1.upd.test.");
  assert_string_equal(names[1], "ns2.example.");
  assert_int_equal(r2136_ns_names(p, "upd.test.", names + 2, 1), 1);
  free(names[2]);
  struct r2136_ns ns = {.name = names[0]};
  r2136_ns_addrs(ldns_pkt_additional(p), &ns, 53);
  assert_int_equal(ns.naddr, 2);
  assert_string_equal(ns.addr[0].text, "192.0.2.1:53");
  assert_string_equal(ns.addr[1].text, "[2001:db8::1]:53");
  struct r2136_ns ns2 = {.name = names[1]};
  r2136_ns_addrs(ldns_pkt_additional(p), &ns2, 53);
  assert_int_equal(ns2.naddr, 0);
  free(names[0]);
  free(names[1]);
  ldns_pkt_free(p);
}

static void test_txt_match(void **state) {
  (void)state;
  static const char *const ours[] = {
      "an _acme-challenge.a.upd.test. 60 IN TXT \"other\"",
      "an _ACME-challenge.a.upd.test. 60 IN TXT \"abcdef\"", NULL};
  static const char *const split[] = {
      "an _acme-challenge.a.upd.test. 60 IN TXT \"abc\" \"def\"", NULL};
  static const char *const others[] = {
      "an _acme-challenge.a.upd.test. 60 IN TXT \"abcde\"",
      "an _acme-challenge.a.upd.test. 60 IN TXT \"abcdefg\"",
      "an _acme-challenge.b.upd.test. 60 IN TXT \"abcdef\"", NULL};
  const char *n = "_acme-challenge.a.upd.test.";
  char why[128];
  ldns_pkt *p = pkt_of(1, 0, ours);
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), 1);
  ldns_pkt_free(p);
  p = pkt_of(1, 0, split);
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), 1);
  ldns_pkt_free(p);
  p = pkt_of(1, 0, others);
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), 0);
  assert_string_equal(why, "answered 2 other TXT records");
  ldns_pkt_free(p);
  p = pkt_of(1, 3, NULL);
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), 0);
  assert_string_equal(why, "answered NXDOMAIN");
  ldns_pkt_free(p);
  p = pkt_of(0, 0, ours); /* a cache's answer does not count */
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), -1);
  assert_string_equal(why, "answered without authority");
  ldns_pkt_free(p);
  p = pkt_of(1, 2, NULL);
  assert_int_equal(r2136_txt_match(p, n, "abcdef", why, sizeof(why)), -1);
  assert_string_equal(why, "answered SERVFAIL");
  ldns_pkt_free(p);
}

static void test_query_wire(void **state) {
  (void)state;
  uint8_t *wire = NULL;
  size_t len = 0;
  ldns_pkt *p = NULL;
  struct r2136_srv srv;
  assert_int_equal(r2136_srv_parse("127.0.0.1", &srv, NULL), 0);
  assert_int_equal(
      r2136_query_wire("upd.test.", LDNS_RR_TYPE_SOA, 0, 99, &wire, &len, NULL),
      0);
  assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
  assert_false(ldns_pkt_rd(p));
  assert_int_equal(ldns_pkt_id(p), 99);
  ldns_pkt_free(p);
  /* a query is no answer */
  assert_int_equal(r2136_parse(wire, len, 99, &srv, &p, NULL), BYOCA_E_PROTO);
  free(wire);
}

/* ---- the constructor ---- */

static void test_constructor(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_secret sec = {.data = (unsigned char *)KEY_B64,
                             .len = strlen(KEY_B64)};
  struct byoca_rfc2136_opts o = {
      .server = "127.0.0.1:5300", .tsig_name = "acme-key", .secret = &sec};
  struct byoca_err e = {0};
  struct byoca_solver *s = byoca_solver_rfc2136(loop, &o, &e);
  assert_non_null(s);
  assert_string_equal(s->name, "rfc2136");
  assert_true(byoca_solver_supports(s, "dns-01"));
  assert_false(byoca_solver_supports(s, "http-01"));
  assert_true(byoca_solver_supports(s, "dns-account-01"));
  byoca_solver_free(s);
  static const struct {
    struct byoca_rfc2136_opts o;
    const char *msg;
  } bad[] = {
      {{.tsig_name = "k"}, "no DNS update server given"},
      {{.server = "ns.example", .tsig_name = "k"}, "not an IP address"},
      {{.server = "127.0.0.1"}, "no TSIG key name given"},
      {{.server = "127.0.0.1", .tsig_name = "a..b"}, "invalid TSIG key name"},
      {{.server = "127.0.0.1", .tsig_name = "k", .tsig_alg = "hmac-md5"},
       "unsupported TSIG algorithm 'hmac-md5'"},
      {{.server = "127.0.0.1", .tsig_name = "k", .zone = "a b"},
       "invalid DNS zone"},
      {{.server = "127.0.0.1", .tsig_name = "k"}, "no TSIG secret file given"},
      {{.server = "127.0.0.1", .tsig_name = "k", .query_tries = -1},
       "invalid DNS update timeouts"},
      {{.server = "127.0.0.1", .tsig_name = "k", .propagation_timeout_ms = -5},
       "invalid DNS update timeouts"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    byoca_err_clear(&e);
    assert_null(byoca_solver_rfc2136(loop, &bad[i].o, &e));
    assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
    if (strstr(e.msg, bad[i].msg) == NULL)
      fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
    /* the check without a solver (nor a loop) says the same */
    byoca_err_clear(&e);
    assert_int_not_equal(byoca_rfc2136_check(&bad[i].o, &e), 0);
    assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
    if (strstr(e.msg, bad[i].msg) == NULL)
      fail_msg("check %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
  }
  byoca_err_clear(&e);
  assert_int_equal(byoca_rfc2136_check(&o, &e), 0);
  assert_int_equal(byoca_rfc2136_check(NULL, &e), BYOCA_E_INVAL);
  assert_null(byoca_solver_rfc2136(NULL, &o, NULL));
  assert_null(byoca_solver_rfc2136(loop, NULL, NULL));
  /* a bad secret is refused without being shown */
  struct byoca_secret badsec = {.data = (unsigned char *)"sec ret!", .len = 8};
  o.secret = &badsec;
  byoca_err_clear(&e);
  assert_null(byoca_solver_rfc2136(loop, &o, &e));
  assert_null(strstr(e.msg, "sec ret!"));
  byoca_err_clear(&e);
  assert_int_not_equal(byoca_rfc2136_check(&o, &e), 0);
  assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  assert_null(strstr(e.msg, "sec ret!"));
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fqdn),
      cmocka_unit_test(test_parent_and_zone),
      cmocka_unit_test(test_alg),
      cmocka_unit_test(test_server),
      cmocka_unit_test(test_secret),
      cmocka_unit_test(test_secret_file),
      cmocka_unit_test(test_value_and_rcodes),
      cmocka_unit_test(test_update_wire),
      cmocka_unit_test(test_update_result),
      cmocka_unit_test(test_soa_owner),
      cmocka_unit_test(test_ns),
      cmocka_unit_test(test_txt_match),
      cmocka_unit_test(test_query_wire),
      cmocka_unit_test(test_constructor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
