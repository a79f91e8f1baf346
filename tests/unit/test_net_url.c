/* URL splitting, reference resolution (RFC 3986 §5.4 examples) and Link
 * header parsing (RFC 8288). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/net.h"

struct split_case {
  const char *url;
  const char *scheme, *host;
  int port;
};

static void test_split(void **state) {
  (void)state;
  static const struct split_case ok[] = {
      {"https://example.com/dir", "https", "example.com", 0},
      {"HTTPS://Example.COM:8443/x?y#z", "https", "Example.COM", 8443},
      {"http://127.0.0.1:14000", "http", "127.0.0.1", 14000},
      {"https://[2001:db8::1]:443/", "https", "2001:db8::1", 443},
      {"https://[::1]/", "https", "::1", 0},
      {"https://host:/", "https", "host", 0},
      {"https://a?b", "https", "a", 0},
      {"https://a#b", "https", "a", 0},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    char *scheme = NULL, *host = NULL;
    int port = -1;
    if (byoca_url_split(ok[i].url, &scheme, &host, &port) != 0)
      fail_msg("'%s' refused", ok[i].url);
    assert_string_equal(scheme, ok[i].scheme);
    assert_string_equal(host, ok[i].host);
    assert_int_equal(port, ok[i].port);
    free(scheme);
    free(host);
  }
  static const char *bad[] = {
      "",
      "example.com/x",
      "/relative",
      "https:/x",
      "https://",
      "https:///path",
      "https://user@host/",
      "https://user:pw@host/",
      "https://host:99999/",
      "https://host:12a/",
      "https://host:443:1/",
      "https://[::1/",
      "https://[::1]x/",
      "https://ho st/",
      "https://host/\x01",
      "https://host/\x7f",
      "https://:443/",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *scheme = (char *)"untouched", *host = (char *)"untouched";
    int port = -7;
    if (byoca_url_split(bad[i], &scheme, &host, &port) != BYOCA_E_INVAL)
      fail_msg("'%s' accepted", bad[i]);
    assert_string_equal(scheme, "untouched");
    assert_int_equal(port, -7);
  }
  char *s, *h;
  int p;
  assert_int_equal(byoca_url_split(NULL, &s, &h, &p), BYOCA_E_INVAL);
}

static void test_resolve_rfc3986(void **state) {
  (void)state;
  /* RFC 3986 §5.4.1 and §5.4.2 */
  static const char *base = "http://a/b/c/d;p?q";
  static const char *cases[][2] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *r = byoca_url_resolve(base, cases[i][0]);
    if (r == NULL || strcmp(r, cases[i][1]) != 0)
      fail_msg("resolve '%s': got '%s', want '%s'", cases[i][0],
               r != NULL ? r : "(null)", cases[i][1]);
    free(r);
  }
}

static void test_resolve_acme(void **state) {
  (void)state;
  static const char *cases[][3] = {
      {"https://ca.example/dir", "/acme/acct/1",
       "https://ca.example/acme/acct/1"},
      {"https://ca.example:14000/dir", "/order/2",
       "https://ca.example:14000/order/2"},
      {"https://ca.example/a/b", "https://other.example/x",
       "https://other.example/x"},
      {"https://ca.example/a/b", "//cdn.example/c", "https://cdn.example/c"},
      {"https://ca.example", "x", "https://ca.example/x"},
      {"https://[2001:db8::1]:8443/a/b", "c", "https://[2001:db8::1]:8443/a/c"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *r = byoca_url_resolve(cases[i][0], cases[i][1]);
    assert_non_null(r);
    assert_string_equal(r, cases[i][2]);
    free(r);
  }
  assert_null(byoca_url_resolve("https://a/", NULL));
  assert_null(byoca_url_resolve(NULL, "/relative"));
  assert_null(byoca_url_resolve("not-absolute", "x"));
  char *r = byoca_url_resolve(NULL, "https://abs/");
  assert_string_equal(r, "https://abs/");
  free(r);
}

static void expect_links(const char *value, const char *rel, const char *base,
                         const char *const *want, size_t nwant) {
  char **v = NULL;
  size_t n = 99;
  assert_int_equal(byoca_link_parse(value, rel, base, &v, &n), 0);
  if (n != nwant)
    fail_msg("'%s' rel=%s: %zu links, want %zu", value, rel, n, nwant);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(v[i], want[i]);
  byoca_http_links_free(v, n);
}

static void test_link_parse(void **state) {
  (void)state;
  const char *base = "https://ca.example/acme/cert/1";
  {
    const char *w[] = {"https://a/b"};
    expect_links("<https://a/b>;rel=\"alternate\", <https://c>; rel=up",
                 "alternate", base, w, 1);
  }
  {
    const char *w[] = {"https://c"};
    expect_links("<https://a/b>;rel=\"alternate\", <https://c>; rel=up", "up",
                 base, w, 1);
  }
  {
    const char *w[] = {"https://ca.example/acme/cert/1/alt/1",
                       "https://ca.example/acme/cert/chain2"};
    expect_links("</acme/cert/1/alt/1>;rel=alternate,"
                 "<chain2> ; rel = \"Alternate\" ; title=\"x, y\"",
                 "alternate", base, w, 2);
  }
  {
    /* several relation types in one rel; only the first rel counts */
    const char *w[] = {"https://x/1"};
    expect_links("<https://x/1>; rel=\"up alternate index\"; rel=next", "index",
                 base, w, 1);
    expect_links("<https://x/1>; rel=\"up alternate\"; rel=next", "next", base,
                 NULL, 0);
  }
  {
    /* commas inside <> and quoted strings do not split */
    const char *w[] = {"https://x/a,b", "https://y/"};
    expect_links("<https://x/a,b>; title=\"a, <b>; rel=up\"; rel=up, "
                 "<https://y/>;rel=up",
                 "up", base, w, 2);
  }
  {
    /* escaped quotes, unknown params, missing values, odd spacing */
    const char *w[] = {"https://z/"};
    expect_links("  <https://z/> ;anchor ; title=\"say \\\"hi\\\"\";"
                 "rel=\"index\"  ,, ",
                 "index", base, w, 1);
  }
  {
    /* malformed values are skipped, the rest still parse */
    const char *w[] = {"https://ok/"};
    expect_links("garbage; rel=up, <https://bad/>; rel=\"up, "
                 "<https://ok/>; rel=up",
                 "up", base, NULL, 0);
    expect_links("garbage; rel=up, <https://ok/>; rel=up", "up", base, w, 1);
    expect_links("<https://bad/> junk; rel=up, <https://ok/>; rel=up", "up",
                 base, w, 1);
  }
  expect_links("", "up", base, NULL, 0);
  expect_links("<https://a/>", "up", base, NULL, 0);
  char **v;
  size_t n;
  assert_int_equal(byoca_link_parse(NULL, "up", base, &v, &n), BYOCA_E_INVAL);
  byoca_http_links_free(NULL, 0);
}

static void test_http_links(void **state) {
  (void)state;
  struct byoca_http_header h[] = {
      {(char *)"Content-Type", (char *)"application/pem-certificate-chain"},
      {(char *)"Link", (char *)"<https://ca.example/dir>;rel=\"index\""},
      {(char *)"link", (char *)"</cert/1/1>;rel=\"alternate\""},
      {(char *)"LINK", (char *)"</cert/1/2>;rel=\"alternate\", </x>;rel=up"},
  };
  struct byoca_http_resp resp = {.status = 200,
                                 .headers = h,
                                 .nheaders = 4,
                                 .url = (char *)"https://ca.example/cert/1"};
  char **v = NULL;
  size_t n = 0;
  assert_int_equal(byoca_http_links(&resp, "alternate", &v, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0], "https://ca.example/cert/1/1");
  assert_string_equal(v[1], "https://ca.example/cert/1/2");
  byoca_http_links_free(v, n);
  assert_int_equal(byoca_http_links(&resp, "index", &v, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(v[0], "https://ca.example/dir");
  byoca_http_links_free(v, n);
  assert_int_equal(byoca_http_links(&resp, "nothing", &v, &n), 0);
  assert_int_equal(n, 0);
  byoca_http_links_free(v, n);
  assert_string_equal(byoca_http_header(&resp, "content-type"),
                      "application/pem-certificate-chain");
  assert_string_equal(byoca_http_header(&resp, "LINK"),
                      "<https://ca.example/dir>;rel=\"index\"");
  assert_null(byoca_http_header(&resp, "Location"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_resolve_rfc3986),
      cmocka_unit_test(test_resolve_acme),
      cmocka_unit_test(test_link_parse),
      cmocka_unit_test(test_http_links),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
