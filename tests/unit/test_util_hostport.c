/* byoca_hostport_parse: the one [ADDR:]PORT parser (listen specs, the
 * API listener, the RFC 2136 server): IPv6 in brackets, ports 1-65535
 * (0 only when asked), and errors naming the setting, the value and the
 * bad part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/util.h"

#define ADDR_OPT BYOCA_HP_ADDR_OPTIONAL
#define PORT_OPT BYOCA_HP_PORT_OPTIONAL
#define PORT0 BYOCA_HP_PORT_ZERO

static void test_accepted(void **state) {
  (void)state;
  static const struct {
    const char *in;
    unsigned flags;
    const char *addr;
    int port;
  } ok[] = {
      {"127.0.0.1:80", 0, "127.0.0.1", 80},
      {"[::1]:443", 0, "::1", 443},
      {"[2001:db8::1]:65535", 0, "2001:db8::1", 65535},
      {"0.0.0.0:1", 0, "0.0.0.0", 1},
      {"8443", ADDR_OPT, "", 8443},
      {"[::]:8443", ADDR_OPT, "::", 8443},
      {"192.0.2.1", PORT_OPT, "192.0.2.1", 0},
      {"[::1]", PORT_OPT, "::1", 0},
      {"::1", PORT_OPT, "::1", 0},
      {"2001:db8::53", PORT_OPT, "2001:db8::53", 0},
      {"192.0.2.1:5353", PORT_OPT, "192.0.2.1", 5353},
      {"127.0.0.1:0", PORT0, "127.0.0.1", 0},
      {"[::1]:0", PORT0, "::1", 0},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    char addr[64] = "x";
    int port = -1;
    struct byoca_err e = {0};
    if (byoca_hostport_parse(ok[i].in, "test", ok[i].flags, addr, sizeof(addr),
                             &port, &e) != 0)
      fail_msg("%s: %s", ok[i].in, e.msg);
    assert_string_equal(addr, ok[i].addr);
    assert_int_equal(port, ok[i].port);
  }
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *in;
    unsigned flags;
    const char *why; /* a part of the message besides the value */
  } bad[] = {
      {"", 0, "is empty"},
      {"127.0.0.1", 0, "has no port"},
      {"127.0.0.1:0", 0, "'0' is not a port number from 1 to 65535"},
      {"127.0.0.1:65536", 0, "'65536' is not a port number from 1 to 65535"},
      {"127.0.0.1:99999", PORT0, "'99999' is not a port number from 0 to"},
      {"127.0.0.1:", 0, "'' is not a port number"},
      {"127.0.0.1:-1", 0, "'-1' is not a port number"},
      {"127.0.0.1:5x", PORT_OPT, "'5x' is not a port number"},
      {"::1:80", 0, "an IPv6 address needs brackets"},
      {"[::1]80", 0, "a ']' missing or misplaced"},
      {"[::1", 0, "a ']' missing or misplaced"},
      {"[::1]", 0, "has no port"},
      {"[::1]:", PORT_OPT, "is not a port number"},
      {"[127.0.0.1]:80", 0, "'127.0.0.1' is not an IPv6 address"},
      {"[ns.example]:53", PORT_OPT, "'ns.example' is not an IPv6 address"},
      {"example.com:80", 0, "'example.com' is not an IP address"},
      {"ns.example", PORT_OPT, "'ns.example' is not an IP address"},
      {"1.2.3:53", PORT_OPT, "'1.2.3' is not an IP address"},
      {":80", 0, "has no address before the port"},
      {":80", ADDR_OPT, "has no address before the port"},
      {"80", 0, "'80' is not an IP address"},
      {"80", PORT_OPT, "'80' is not an IP address"},
      {"[]:80", 0, "has no address before the port"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char addr[64] = "x";
    int port = -7;
    struct byoca_err e = {0};
    int rc = byoca_hostport_parse(bad[i].in, "test address", bad[i].flags, addr,
                                  sizeof(addr), &port, &e);
    if (rc != BYOCA_E_INVAL)
      fail_msg("%s: accepted (%s, %d)", bad[i].in, addr, port);
    assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
    char want[160];
    snprintf(want, sizeof(want), "invalid test address '%s': ", bad[i].in);
    if (strstr(e.msg, want) == NULL || strstr(e.msg, bad[i].why) == NULL)
      fail_msg("%s: message '%s' lacks '%s' or '%s'", bad[i].in, e.msg, want,
               bad[i].why);
    assert_int_equal(port, -7); /* untouched on failure */
    byoca_err_clear(&e);
  }
  /* control characters in the value are not echoed raw */
  struct byoca_err e = {0};
  char addr[64];
  int port;
  assert_int_equal(byoca_hostport_parse("1.2.3.4:8\x1b[2J", "x", 0, addr,
                                        sizeof(addr), &port, &e),
                   BYOCA_E_INVAL);
  assert_null(strchr(e.msg, '\x1b'));
  byoca_err_clear(&e);
  /* an address longer than the caller's buffer */
  assert_int_equal(
      byoca_hostport_parse("[2001:db8::1]:80", "x", 0, addr, 4, &port, &e),
      BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "too long"));
  byoca_err_clear(&e);
  assert_int_equal(
      byoca_hostport_parse(NULL, "x", 0, addr, sizeof(addr), &port, NULL),
      BYOCA_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepted),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
