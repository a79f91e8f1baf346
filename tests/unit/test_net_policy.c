/* The address policy: every refused range, the IPv6 forms that embed an
 * IPv4 address, allow-CIDR overrides and the URL host pre-check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/net.h"

struct addr_case {
  const char *addr;
  int ok;           /* 1 = allowed */
  const char *text; /* substring of the refusal reason */
};

static const struct addr_case addr_cases[] = {
    /* IPv4 special-purpose ranges */
    {"0.0.0.0", 0, "unspecified"},
    {"0.1.2.3", 0, "0.0.0.0/8"},
    {"10.0.0.1", 0, "10.0.0.1 is private"},
    {"10.255.255.255", 0, "private"},
    {"100.64.0.1", 0, "CGNAT"},
    {"100.127.255.255", 0, "CGNAT"},
    {"127.0.0.1", 0, "127.0.0.1 is loopback"},
    {"127.255.0.9", 0, "loopback"},
    {"169.254.169.254", 0, "169.254.169.254 is link-local"},
    {"172.16.0.1", 0, "private"},
    {"172.31.255.255", 0, "172.16.0.0/12"},
    {"192.0.0.8", 0, "IETF protocol assignment"},
    {"192.0.2.1", 0, "documentation"},
    {"192.88.99.1", 0, "6to4 relay anycast"},
    {"192.168.1.1", 0, "192.168.0.0/16"},
    {"198.18.0.1", 0, "benchmarking"},
    {"198.19.255.255", 0, "benchmarking"},
    {"198.51.100.7", 0, "documentation"},
    {"203.0.113.9", 0, "documentation"},
    {"224.0.0.1", 0, "multicast"},
    {"239.255.255.250", 0, "multicast"},
    {"240.0.0.1", 0, "reserved"},
    {"255.255.255.254", 0, "reserved"},
    {"255.255.255.255", 0, "broadcast"},
    /* public IPv4, including the neighbours of refused ranges */
    {"8.8.8.8", 1, NULL},
    {"1.1.1.1", 1, NULL},
    {"11.0.0.1", 1, NULL},
    {"100.63.255.255", 1, NULL},
    {"100.128.0.0", 1, NULL},
    {"172.15.255.255", 1, NULL},
    {"172.32.0.0", 1, NULL},
    {"192.0.1.1", 1, NULL},
    {"198.17.255.255", 1, NULL},
    {"198.20.0.0", 1, NULL},
    {"223.255.255.255", 1, NULL},
    /* IPv6 special-purpose ranges */
    {"::", 0, ":: is unspecified"},
    {"::1", 0, "::1 is loopback"},
    {"100::1", 0, "discard-only"},
    {"2001:db8::1", 0, "documentation"},
    {"2001::1", 0, "IETF protocol assignment"},
    {"2001:1ff:ffff::1", 0, "2001::/23"},
    {"3fff::1", 0, "documentation"},
    {"fc00::1", 0, "unique-local"},
    {"fd00::1", 0, "fd00::1 is unique-local"},
    {"fe80::1", 0, "link-local"},
    {"febf::1", 0, "link-local"},
    {"fec0::1", 0, "site-local"},
    {"ff02::1", 0, "multicast"},
    {"64:ff9b:1::1", 0, "local-use NAT64"},
    {"4000::1", 0, "reserved"},
    {"::2:0:0:1", 0, "reserved"},
    /* IPv6 forms judged by the IPv4 address inside */
    {"::ffff:127.0.0.1", 0,
     "::ffff:127.0.0.1 is an IPv4-mapped loopback address"},
    {"::ffff:10.1.2.3", 0, "IPv4-mapped private"},
    {"::ffff:169.254.169.254", 0, "IPv4-mapped link-local"},
    {"::ffff:8.8.8.8", 1, NULL},
    {"::127.0.0.1", 0, "IPv4-compatible loopback"},
    {"::0.0.0.2", 0, "IPv4-compatible unspecified"},
    {"64:ff9b::7f00:1", 0, "NAT64 loopback"},
    {"64:ff9b::a9fe:a9fe", 0, "NAT64 link-local"},
    {"64:ff9b::808:808", 1, NULL},
    {"2002:7f00:1::1", 0, "6to4 loopback"},
    {"2002:c0a8:101::", 0, "6to4 private"},
    {"2002:808:808::1", 1, NULL},
    /* public IPv6 */
    {"2606:4700::1", 1, NULL},
    {"2a00:1450:4001::200e", 1, NULL},
    {"2001:200::1", 1, NULL},
};

static void test_address_table(void **state) {
  (void)state;
  struct byoca_netpolicy *p = byoca_netpolicy_new();
  assert_non_null(p);
  for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
    const struct addr_case *c = &addr_cases[i];
    struct byoca_err err = {0};
    int rc = byoca_netpolicy_check_str(p, c->addr, &err);
    if (c->ok) {
      if (rc != 0)
        fail_msg("%s refused: %s", c->addr, err.msg);
    } else {
      if (rc != BYOCA_E_POLICY)
        fail_msg("%s allowed (rc %d)", c->addr, rc);
      if (strstr(err.msg, c->text) == NULL)
        fail_msg("%s: reason '%s' lacks '%s'", c->addr, err.msg, c->text);
      assert_int_equal(err.code, BYOCA_E_POLICY);
      assert_int_equal(err.cls, BYOCA_CLASS_CA);
    }
    byoca_err_clear(&err);
  }
  byoca_netpolicy_free(p);
}

static void test_sockaddr(void **state) {
  (void)state;
  struct byoca_netpolicy *p = byoca_netpolicy_new();
  struct sockaddr_in in = {.sin_family = AF_INET};
  struct byoca_err err = {0};
  in.sin_addr.s_addr = htonl(0x7f000001);
  assert_int_equal(byoca_netpolicy_check(p, (struct sockaddr *)&in, &err),
                   BYOCA_E_POLICY);
  assert_non_null(strstr(err.msg, "127.0.0.1 is loopback"));
  byoca_err_clear(&err);
  in.sin_addr.s_addr = htonl(0x08080808);
  assert_int_equal(byoca_netpolicy_check(p, (struct sockaddr *)&in, NULL), 0);
  struct sockaddr_un_like {
    sa_family_t family;
    char path[20];
  } other = {.family = AF_UNIX};
  assert_int_equal(
      byoca_netpolicy_check(p, (struct sockaddr *)(void *)&other, NULL),
      BYOCA_E_POLICY);
  /* a NULL policy refuses the same as an empty one */
  assert_int_equal(byoca_netpolicy_check_str(NULL, "10.0.0.1", NULL),
                   BYOCA_E_POLICY);
  assert_int_equal(byoca_netpolicy_check_str(NULL, "8.8.8.8", NULL), 0);
  assert_int_equal(byoca_netpolicy_check_str(p, "not-an-ip", NULL),
                   BYOCA_E_INVAL);
  assert_int_equal(byoca_netpolicy_check_str(p, "[::1]", NULL), BYOCA_E_POLICY);
  byoca_netpolicy_free(p);
  byoca_netpolicy_free(NULL);
}

static void test_allow(void **state) {
  (void)state;
  struct byoca_netpolicy *p = byoca_netpolicy_new();
  struct byoca_err err = {0};
  assert_int_equal(byoca_netpolicy_allow(p, "127.0.0.0/8", &err), 0);
  assert_int_equal(byoca_netpolicy_allow(p, "::1/128", &err), 0);
  assert_int_equal(byoca_netpolicy_allow(p, "10.1.2.3", &err), 0);
  assert_int_equal(byoca_netpolicy_allow(p, "fd00::/8", &err), 0);
  assert_int_equal(byoca_netpolicy_allow(p, "192.168.7.9/24", &err), 0);
  static const char *ok[] = {
      "127.0.0.1",        "127.9.9.9",       "::1",
      "10.1.2.3",         "fd12:3456::1",    "192.168.7.1",
      "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"};
  static const char *still[] = {"10.1.2.4",        "fc00::1",
                                "192.168.8.1",     "169.254.169.254",
                                "::ffff:10.0.0.1", "::2"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (byoca_netpolicy_check_str(p, ok[i], &err) != 0)
      fail_msg("%s refused despite allow: %s", ok[i], err.msg);
  for (size_t i = 0; i < sizeof(still) / sizeof(still[0]); i++)
    if (byoca_netpolicy_check_str(p, still[i], NULL) != BYOCA_E_POLICY)
      fail_msg("%s allowed", still[i]);
  byoca_err_clear(&err);
  byoca_netpolicy_free(p);
}

static void test_bad_cidr(void **state) {
  (void)state;
  static const char *bad[] = {
      "",           "10.0.0.0/33",  "::/129",   "10.0.0.0/", "10.0.0.0/8x",
      "abc",        "10.0.0/8",     "127.1",    "/8",        "1.2.3.4/-1",
      "1.2.3.4/ 8", "1.2.3.4/0008", "[::1]/128"};
  struct byoca_netpolicy *p = byoca_netpolicy_new();
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct byoca_err err = {0};
    if (byoca_netpolicy_allow(p, bad[i], &err) != BYOCA_E_INVAL)
      fail_msg("'%s' accepted as CIDR", bad[i]);
    assert_int_equal(err.code, BYOCA_E_INVAL);
    assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
    byoca_err_clear(&err);
  }
  assert_int_equal(byoca_netpolicy_allow(p, NULL, NULL), BYOCA_E_INVAL);
  /* nothing half-added: 10/8 stays refused */
  assert_int_equal(byoca_netpolicy_check_str(p, "10.0.0.1", NULL),
                   BYOCA_E_POLICY);
  assert_int_equal(byoca_netpolicy_allow(p, "0.0.0.0/0", NULL), 0);
  assert_int_equal(byoca_netpolicy_check_str(p, "10.0.0.1", NULL), 0);
  byoca_netpolicy_free(p);
}

struct host_case {
  const char *host;
  int rc;
  const char *text;
};

static const struct host_case host_cases[] = {
    {"127.1", BYOCA_E_POLICY, "numeric-host trick"},
    {"0x7f000001", BYOCA_E_POLICY, "numeric-host trick"},
    {"2130706433", BYOCA_E_POLICY, "numeric-host trick"},
    {"017700000001", BYOCA_E_POLICY, "numeric-host trick"},
    {"0177.0.0.1", BYOCA_E_POLICY, "numeric-host trick"},
    {"127.000.000.001", BYOCA_E_POLICY, "numeric-host trick"},
    {"0x7f.1", BYOCA_E_POLICY, "numeric-host trick"},
    {"8.8.8.8.", BYOCA_E_POLICY, "numeric-host trick"},
    {"1.2.3.4.5", BYOCA_E_POLICY, "numeric-host trick"},
    {"999.1.1.1", BYOCA_E_POLICY, "numeric-host trick"},
    {"example.0x10", BYOCA_E_POLICY, "numeric-host trick"},
    {"127.0.0.1", BYOCA_E_POLICY, "127.0.0.1 is loopback"},
    {"[::1]", BYOCA_E_POLICY, "::1 is loopback"},
    {"::1", BYOCA_E_POLICY, "loopback"},
    {"[::ffff:127.0.0.1]", BYOCA_E_POLICY, "IPv4-mapped loopback"},
    {"[fd00::1]", BYOCA_E_POLICY, "unique-local"},
    {"[fe80::1%25eth0]", BYOCA_E_POLICY, "zone id"},
    {"fe80::1%eth0", BYOCA_E_POLICY, "zone id"},
    {"[::1", BYOCA_E_POLICY, "not a valid IPv6"},
    {"[1.2.3.4]", BYOCA_E_POLICY, "not a valid IPv6"},
    {"localhost", BYOCA_E_POLICY, "loopback"},
    {"LocalHost.", BYOCA_E_POLICY, "loopback"},
    {"a.localhost", BYOCA_E_POLICY, "loopback"},
    {"", BYOCA_E_POLICY, "empty"},
    {"exa mple.com", BYOCA_E_POLICY, "not a valid DNS name"},
    {"a..b", BYOCA_E_POLICY, "not a valid DNS name"},
    {"8.8.8.8", 0, NULL},
    {"[2606:4700::1]", 0, NULL},
    {"example.com", 1, NULL},
    {"example.com.", 1, NULL},
    {"acme-v02.api.letsencrypt.org", 1, NULL},
    {"xn--bcher-kva.example", 1, NULL},
    {"localhost.example.com", 1, NULL},
    {"mylocalhost", 1, NULL},
    {"1.2.3.example", 1, NULL},
    {"0x7f.example", 1, NULL},
};

static void test_check_host(void **state) {
  (void)state;
  struct byoca_netpolicy *p = byoca_netpolicy_new();
  for (size_t i = 0; i < sizeof(host_cases) / sizeof(host_cases[0]); i++) {
    const struct host_case *c = &host_cases[i];
    struct byoca_err err = {0};
    int rc = byoca_netpolicy_check_host(p, c->host, &err);
    if (rc != c->rc)
      fail_msg("host '%s': rc %d, want %d (%s)", c->host, rc, c->rc, err.msg);
    if (c->text != NULL && strstr(err.msg, c->text) == NULL)
      fail_msg("host '%s': reason '%s' lacks '%s'", c->host, err.msg, c->text);
    byoca_err_clear(&err);
  }
  assert_int_equal(byoca_netpolicy_check_host(p, NULL, NULL), BYOCA_E_POLICY);
  /* an allowed literal in canonical form passes; tricks never do */
  assert_int_equal(byoca_netpolicy_allow(p, "127.0.0.0/8", NULL), 0);
  assert_int_equal(byoca_netpolicy_check_host(p, "127.0.0.1", NULL), 0);
  assert_int_equal(byoca_netpolicy_check_host(p, "127.1", NULL),
                   BYOCA_E_POLICY);
  assert_int_equal(byoca_netpolicy_check_host(p, "localhost", NULL),
                   BYOCA_E_POLICY);
  byoca_netpolicy_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_address_table), cmocka_unit_test(test_sockaddr),
      cmocka_unit_test(test_allow),         cmocka_unit_test(test_bad_cidr),
      cmocka_unit_test(test_check_host),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
