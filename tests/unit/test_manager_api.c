/* Unit tests of the manager's API half against a real store (no loop
 * running, no network): input checks of add (names, key type, CA,
 * profile) with errors naming the field, what add stores and audits,
 * forced renewal, tenant isolation, and import (matching key, SANs as
 * identifiers, expiry, lifetime schedule, deployed files and modes), and
 * the same requests in two steps: the store part on another connection,
 * the manager's part after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgr_int.h"
#include "test_manager_fixture.h"

static const char leaf_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBwDCCAWagAwIBAgIUTk/5wCOGLKMfdqBrHxudFwtFpF8wCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwOaW1wb3J0LmV4YW1wbGUwIBcNMjYxMTI4MTU0NTU5WhgPMjEy\n"
    "NjExMDQxNTQ1NTlaMBkxFzAVBgNVBAMMDmltcG9ydC5leGFtcGxlMFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAEVXbYUTS+P63p6qfTu0ojyYoGPJQNjzbljtCZIZ2q\n"
    "ROEwzjGxy5A4pnzl5d5FXTOl0NdY/KB+9jdCGvBdDnwiAKOBiTCBhjAdBgNVHQ4E\n"
    "FgQUfR79Yh8raVYBkTiwHZs8weqcZIwwHwYDVR0jBBgwFoAUfR79Yh8raVYBkTiw\n"
    "HZs8weqcZIwwDwYDVR0TAQH/BAUwAwEB/zAzBgNVHREELDAqgg5pbXBvcnQuZXhh\n"
    "bXBsZYISd3d3LmltcG9ydC5leGFtcGxlhwTAAAIHMAoGCCqGSM49BAMCA0gAMEUC\n"
    "IQDXE+DTxcuF37p++sVLzUrxJiP3IjTajfGln5NeHuJk+AIgdz8QfFin6v2cBhaC\n"
    "JaXqrn3z/txVqHc6RYl96iZI8Ac=\n"
    "-----END CERTIFICATE-----\n";
static const char leaf_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLVcUZaPm/K3Jk/Rr\n"
    "s/gXk/xuu4bAHWEjFMz0GnIKQxOhRANCAARVdthRNL4/renqp9O7SiPJigY8lA2P\n"
    "NuWO0JkhnapE4TDOMbHLkDimfOXl3kVdM6XQ11j8oH72N0Ia8F0OfCIA\n"
    "-----END PRIVATE KEY-----\n";
static const char other_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgWJ5n4dAT/wJ2EnuZ\n"
    "4bIl8nIFTQ9Gt+iw1kTXpOsgoeuhRANCAAS31r9kokxrXB724rEVvLXbzqw3xxbE\n"
    "NLktmTzHR7PFKRIVLw6sYnL68TQdCFOU6yVU+dsQT9XIW5ISML7aKOEb\n"
    "-----END PRIVATE KEY-----\n";

struct api_state {
  struct mfx f;
  struct byoca_manager *m;
  char deploy[96];
};

static int setup(void **state) {
  struct api_state *s = calloc(1, sizeof(*s));
  mfx_setup(&s->f);
  snprintf(s->deploy, sizeof(s->deploy), "%s/deploy", s->f.dir);
  struct byoca_manager_opts o = {.loop = s->f.loop,
                                 .store = s->f.store,
                                 .http = s->f.http,
                                 .deploy_dir = s->deploy};
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  struct api_state *s = *state;
  byoca_manager_free(s->m);
  mfx_teardown(&s->f);
  free(s);
  byoca_time_set_fake(0);
  return 0;
}

static void add_bad(struct api_state *s, const char *const *names, size_t n,
                    const char *kt, const char *ca, const char *profile,
                    const char *needle) {
  struct byoca_err e = {0};
  int64_t id = -7;
  int rc =
      byoca_manager_add(s->m, s->f.tenant, names, n, kt, ca, profile, &id, &e);
  assert_int_equal(rc, BYOCA_E_INVAL);
  assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  if (strstr(e.msg, needle) == NULL)
    fail_msg("'%s' not in '%s'", needle, e.msg);
  assert_int_equal(id, -7); /* out written only on success */
  byoca_err_clear(&e);
}

static void test_add_checks(void **state) {
  struct api_state *s = *state;
  const char *ok[] = {"ok.example"};
  const char *bad[] = {"ok.example", "bad_name!"};
  const char *dup[] = {"a.example", "A.EXAMPLE"};
  const char *empty[] = {""};
  const char *many[101];
  for (int i = 0; i < 101; i++)
    many[i] = "x.example";
  add_bad(s, ok, 0, NULL, NULL, NULL, "identifiers");
  add_bad(s, many, 101, NULL, NULL, NULL, "identifiers");
  add_bad(s, bad, 2, NULL, NULL, NULL, "bad_name!");
  add_bad(s, dup, 2, NULL, NULL, NULL, "duplicate");
  add_bad(s, empty, 1, NULL, NULL, NULL, "identifiers");
  add_bad(s, ok, 1, "rsa1024", NULL, NULL, "rsa1024");
  add_bad(s, ok, 1, NULL, "ftp://ca.example/dir", NULL, "ca:");
  add_bad(s, ok, 1, NULL, "http://ca.example/dir", NULL, "ca:");
  add_bad(s, ok, 1, NULL, "*.ca.example", NULL, "ca:");
  add_bad(s, ok, 1, NULL, "192.0.2.1", NULL, "ca:");
  add_bad(s, ok, 1, NULL, "ca example", NULL, "ca:");
  add_bad(s, ok, 1, NULL, NULL, "bad profile", "profile");
  /* a required profile needs a profile */
  struct byoca_manager_cert_req req = {
      .names = ok, .nnames = 1, .profile_required = 1};
  struct byoca_err e = {0};
  assert_int_equal(byoca_manager_add_req(s->m, s->f.tenant, &req, NULL, &e),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "profile_required"));
  byoca_err_clear(&e);
  /* nothing was stored */
  int64_t counts[4] = {0}, due = 0;
  assert_int_equal(byoca_store_cert_counts(s->f.store, 0, counts, &due, NULL),
                   0);
  assert_int_equal(counts[0] + counts[1] + counts[2] + counts[3], 0);
  assert_int_equal(mfx_events(&s->f, -1, "certificate.added", 0, NULL), 0);
}

static void test_add_stores(void **state) {
  struct api_state *s = *state;
  const char *names[] = {"WWW.Example.ORG", "example.org", "192.0.2.9"};
  struct byoca_cert_row r;
  struct byoca_err e = {0};
  int64_t id = 0, id2 = 0, id3 = 0;
  char *detail = NULL;
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 3, NULL, NULL,
                                     "shortlived", &id, &e),
                   0);
  assert_true(id > 0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(
      byoca_store_cert_get(s->f.store, s->f.tenant, id, 0, &r, NULL), 0);
  assert_string_equal(r.identifiers_json,
                      "[\"www.example.org\",\"example.org\",\"192.0.2.9\"]");
  assert_string_equal(r.key_type, "ec256");
  assert_string_equal(r.ca, "auto");
  assert_string_equal(r.profile, "shortlived");
  assert_int_equal(r.profile_required, 0);
  assert_int_equal(r.state, BYOCA_CERT_PENDING);
  assert_true(r.next_check <= byoca_now());
  byoca_cert_row_clear(&r);
  /* required: stored and audited */
  const char *req_names[] = {"req.example.org"};
  struct byoca_manager_cert_req req = {.names = req_names,
                                       .nnames = 1,
                                       .profile = "tlsserver",
                                       .profile_required = 1};
  int64_t rid = 0;
  char *rdetail = NULL;
  assert_int_equal(byoca_manager_add_req(s->m, s->f.tenant, &req, &rid, NULL),
                   0);
  assert_int_equal(
      byoca_store_cert_get(s->f.store, s->f.tenant, rid, 0, &r, NULL), 0);
  assert_string_equal(r.profile, "tlsserver");
  assert_int_equal(r.profile_required, 1);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.added", rid, &rdetail), 1);
  assert_non_null(strstr(rdetail, "\"profile_required\":true"));
  free(rdetail);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.added", id, &detail), 1);
  assert_non_null(strstr(detail, "\"ca\":\"auto\""));
  assert_non_null(strstr(detail, "www.example.org"));
  free(detail);
  /* issuer names are lowercased, URLs kept; key types in API spelling */
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names + 1, 1, "ec-p384",
                                     "CA1.Example", NULL, &id2, &e),
                   0);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names + 1, 1, "rsa2048",
                                     "https://acme.example/Dir", NULL, &id3,
                                     &e),
                   0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id2, 0, &r, NULL), 0);
  assert_string_equal(r.ca, "ca1.example");
  assert_string_equal(r.key_type, "ec384");
  byoca_cert_row_clear(&r);
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id3, 0, &r, NULL), 0);
  assert_string_equal(r.ca, "https://acme.example/Dir");
  assert_string_equal(r.key_type, "rsa2048");
  byoca_cert_row_clear(&r);
  /* an unknown tenant */
  assert_int_not_equal(
      byoca_manager_add(s->m, 999, names, 1, NULL, NULL, NULL, &id, &e), 0);
  byoca_err_clear(&e);
}

static void test_renew_and_isolation(void **state) {
  struct api_state *s = *state;
  const char *names[] = {"renew.example"};
  struct byoca_err e = {0};
  struct byoca_cert_row r;
  int64_t id = 0;
  assert_int_equal(
      byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, NULL, NULL, &id, &e),
      0);
  /* another tenant's: not found, exactly like a missing one */
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant2, id, &e),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&e);
  assert_int_equal(byoca_manager_delete(s->m, s->f.tenant2, id, 1, &e),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&e);
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant, id + 1000, &e),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&e);
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant, id, &e), 0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id, 0, &r, NULL), 0);
  assert_string_equal(r.next_source, "forced");
  assert_int_equal(r.state, BYOCA_CERT_PENDING);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.renew_forced", id, NULL), 1);
  /* deletion marks it; renewing it then is refused */
  assert_int_equal(byoca_manager_delete(s->m, s->f.tenant, id, 0, &e), 0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_DELETING);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant, id, &e),
                   BYOCA_E_CONFLICT);
  byoca_err_clear(&e);
}

static void check_file(const char *dir, const char *name, unsigned mode,
                       const char *content) {
  char path[256];
  struct stat st;
  char *data = NULL;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, mode);
  assert_int_equal(byoca_file_read(path, 1 << 20, &data, NULL, NULL), 0);
  if (content != NULL)
    assert_string_equal(data, content);
  free(data);
}

static void test_import(void **state) {
  struct api_state *s = *state;
  struct byoca_secret key = {(unsigned char *)leaf_key, strlen(leaf_key)};
  struct byoca_secret other = {(unsigned char *)other_key, strlen(other_key)};
  struct byoca_err e = {0};
  struct byoca_cert_row r;
  int64_t id = 0;
  char dir[160], *detail = NULL;
  /* a key that does not match; garbage; expired (by the clock) */
  assert_int_equal(
      byoca_manager_import(s->m, s->f.tenant, leaf_pem, &other, NULL, &id, &e),
      BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "does not match"));
  byoca_err_clear(&e);
  assert_int_equal(
      byoca_manager_import(s->m, s->f.tenant, "not a pem", &key, NULL, &id, &e),
      BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "certificate"));
  byoca_err_clear(&e);
  byoca_time_set_fake(4102444800LL * 2); /* long after notAfter */
  assert_int_equal(
      byoca_manager_import(s->m, s->f.tenant, leaf_pem, &key, NULL, &id, &e),
      BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "expired"));
  byoca_err_clear(&e);
  byoca_time_set_fake(0);
  assert_int_equal(id, 0);
  /* good */
  assert_int_equal(byoca_manager_import(s->m, s->f.tenant, leaf_pem, &key,
                                        "letsencrypt.org", &id, &e),
                   0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(
      byoca_store_cert_get(s->f.store, s->f.tenant, id, 1, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_string_equal(r.identifiers_json,
                      "[\"import.example\",\"www.import.example\","
                      "\"192.0.2.7\"]");
  assert_string_equal(r.ca, "letsencrypt.org");
  assert_string_equal(r.key_type, "ec256");
  assert_true(r.serial[0] != '\0');
  int64_t life = r.not_after - r.not_before;
  assert_true(life > 36000LL * 86400);
  assert_true(r.next_check >= r.not_before + life * 2 / 3 - life / 50);
  assert_true(r.next_check <= r.not_before + life * 2 / 3 + life / 50);
  assert_string_equal(r.next_source, "lifetime");
  assert_string_equal(r.fullchain_pem, leaf_pem);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.imported", id, &detail), 1);
  assert_non_null(strstr(detail, "import.example"));
  free(detail);
  /* deployed: folders 0700, key 0600 */
  snprintf(dir, sizeof(dir), "%s/%lld/live/%lld", s->deploy,
           (long long)s->f.tenant, (long long)id);
  check_file(dir, "cert.pem", 0644, leaf_pem);
  check_file(dir, "fullchain.pem", 0644, leaf_pem);
  check_file(dir, "chain.pem", 0644, "");
  check_file(dir, "privkey.pem", 0600, NULL);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0077, 0);
  /* metrics see it */
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_manager_metrics(s->m, &b), 0);
  assert_non_null(strstr(b.data, "byoca_certificates{state=\"issued\"} 1\n"));
  assert_non_null(strstr(b.data, "byoca_orders_in_flight 0\n"));
  byoca_buf_free(&b);
}

/* A second connection to the fixture's store, as a store lane has. */
static struct byoca_store *second_store(struct api_state *s) {
  struct byoca_secret master = {0};
  struct byoca_store *st = NULL;
  char path[128];
  snprintf(path, sizeof(path), "%s/master.key", s->f.dir);
  assert_int_equal(byoca_master_key_load(path, 0, &master, NULL), 0);
  snprintf(path, sizeof(path), "%s/byocad.db", s->f.dir);
  assert_int_equal(byoca_store_open(path, &master, &st, NULL), 0);
  byoca_secret_free(&master);
  return st;
}

static int cert_state(struct api_state *s, int64_t id) {
  struct byoca_cert_row r;
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id, 0, &r, NULL), 0);
  int st = (int)r.state;
  byoca_cert_row_clear(&r);
  return st;
}

/* The requests in two steps (byocad runs the store part on a store lane):
 * each *_store does its whole store part on the connection it is given
 * (here a second one), the manager's part follows. */
static void test_two_steps(void **state) {
  struct api_state *s = *state;
  struct byoca_store *st = second_store(s);
  const char *names[] = {"two.example"};
  struct byoca_manager_cert_req req = {.names = names, .nnames = 1};
  struct byoca_err e = {0};
  struct byoca_cert_row r;
  int64_t id = 0, id2 = 0;
  assert_int_equal(byoca_manager_add_store(st, s->f.tenant, &req, &id, &e), 0);
  assert_int_equal(cert_state(s, id), BYOCA_CERT_PENDING);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.added", id, NULL), 1);
  byoca_manager_kick(s->m);
  assert_int_equal(byoca_manager_renew_store(st, s->f.tenant, id, &e), 0);
  memset(&r, 0, sizeof(r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id, 0, &r, NULL), 0);
  assert_string_equal(r.next_source, "forced");
  byoca_cert_row_clear(&r);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.renew_forced", id, NULL), 1);
  /* another tenant's lineage: not found */
  assert_int_equal(byoca_manager_delete_store(st, s->f.tenant2, id, 1, &e),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&e);
  assert_int_equal(byoca_manager_delete_store(st, s->f.tenant, id, 0, &e), 0);
  assert_int_equal(cert_state(s, id), BYOCA_CERT_DELETING);
  assert_int_equal(byoca_manager_renew_store(st, s->f.tenant, id, &e),
                   BYOCA_E_CONFLICT);
  byoca_err_clear(&e);
  byoca_manager_delete_start(s->m, id); /* no job: the next claim starts it */
  /* a tenant: it and every lineage of it marked at once */
  assert_int_equal(byoca_manager_add_store(st, s->f.tenant2, &req, &id2, &e),
                   0);
  assert_int_equal(byoca_manager_delete_tenant_store(st, s->f.tenant2, &e), 0);
  struct byoca_tenant t;
  assert_int_equal(byoca_store_tenant_get(s->f.store, s->f.tenant2, &t, NULL),
                   0);
  assert_int_equal(t.deleting, 1);
  assert_int_equal(cert_state(s, id2), BYOCA_CERT_DELETING);
  assert_int_equal(byoca_manager_add_store(st, s->f.tenant2, &req, NULL, &e),
                   BYOCA_E_CONFLICT);
  byoca_err_clear(&e);
  byoca_manager_delete_tenant_start(s->m, s->f.tenant2);
  assert_int_equal(s->m->tenant_sweep, 1);
  assert_int_equal(byoca_manager_delete_tenant_store(st, 999, &e),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&e);
  byoca_store_close(st);
}

/* An import in two steps: stored and audited by the store part, the
 * files written only by the manager's part; freed without it, nothing is
 * deployed. */
static void test_import_two_steps(void **state) {
  struct api_state *s = *state;
  struct byoca_store *st = second_store(s);
  struct byoca_secret key = {(unsigned char *)leaf_key, strlen(leaf_key)};
  struct byoca_secret other = {(unsigned char *)other_key, strlen(other_key)};
  struct byoca_imported *im = NULL;
  struct byoca_err e = {0};
  char dir[160];
  struct stat sb;
  assert_int_equal(byoca_manager_import_store(st, s->f.tenant, leaf_pem, &other,
                                              NULL, &im, &e),
                   BYOCA_E_INVAL);
  assert_null(im);
  byoca_err_clear(&e);
  assert_int_equal(byoca_manager_import_store(st, s->f.tenant, leaf_pem, &key,
                                              NULL, &im, &e),
                   0);
  int64_t id = byoca_manager_imported_id(im);
  assert_true(id > 0);
  assert_int_equal(cert_state(s, id), BYOCA_CERT_ISSUED);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.imported", id, NULL), 1);
  snprintf(dir, sizeof(dir), "%s/%lld/live/%lld", s->deploy,
           (long long)s->f.tenant, (long long)id);
  assert_int_not_equal(stat(dir, &sb), 0); /* not deployed yet */
  byoca_manager_imported_deploy(s->m, im);
  check_file(dir, "privkey.pem", 0600, NULL);
  check_file(dir, "cert.pem", 0644, leaf_pem);
  /* freed without deploying */
  im = NULL;
  assert_int_equal(byoca_manager_import_store(st, s->f.tenant, leaf_pem, &key,
                                              NULL, &im, &e),
                   0);
  id = byoca_manager_imported_id(im);
  byoca_manager_imported_free(im);
  byoca_manager_imported_free(NULL);
  snprintf(dir, sizeof(dir), "%s/%lld/live/%lld", s->deploy,
           (long long)s->f.tenant, (long long)id);
  assert_int_not_equal(stat(dir, &sb), 0);
  assert_int_equal(cert_state(s, id), BYOCA_CERT_ISSUED);
  byoca_store_close(st);
}

/* A tenant's RFC 2136 entry is checked without a loop or a solver, with
 * what was wrong named and the secret never shown. */
static void test_rfc2136_row_check(void **state) {
  (void)state;
  struct byoca_rfc2136_row row = {.port = 53};
  struct byoca_secret sec = {(unsigned char *)"c2VjcmV0LXNlY3JldA==", 20};
  struct byoca_secret bad = {(unsigned char *)"sec ret!", 8};
  struct byoca_err e = {0};
  byoca_strlcpy(row.server, "127.0.0.1", sizeof(row.server));
  byoca_strlcpy(row.key_name, "acme-key.", sizeof(row.key_name));
  byoca_strlcpy(row.zone, "example.org", sizeof(row.zone));
  assert_int_equal(byoca_rfc2136_row_check(&row, &sec, &e), 0);
  byoca_strlcpy(row.server, "::1", sizeof(row.server));
  assert_int_equal(byoca_rfc2136_row_check(&row, &sec, &e), 0);
  assert_int_equal(byoca_rfc2136_row_check(&row, &bad, &e), BYOCA_E_INVAL);
  assert_int_equal(e.cls, BYOCA_CLASS_INPUT);
  assert_null(strstr(e.msg, "sec ret!"));
  byoca_err_clear(&e);
  byoca_strlcpy(row.algorithm, "hmac-md5", sizeof(row.algorithm));
  assert_int_equal(byoca_rfc2136_row_check(&row, &sec, &e), BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "hmac-md5"));
  byoca_err_clear(&e);
  row.algorithm[0] = '\0';
  row.port = 0;
  assert_int_equal(byoca_rfc2136_row_check(&row, &sec, &e), BYOCA_E_INVAL);
  assert_non_null(strstr(e.msg, "port 0"));
  byoca_err_clear(&e);
}

/* byoca_manager_store_run on SQLite (or before the start): the work runs
 * at once on the manager's store, then done with 0, before it returns;
 * the metrics in three steps give what byoca_manager_metrics gives. */
struct run_probe {
  struct byoca_store *want;
  int worked, done, rc;
};

static void probe_work(struct byoca_store *st, void *arg) {
  struct run_probe *p = arg;
  assert_ptr_equal(st, p->want);
  assert_int_equal(p->done, 0);
  p->worked++;
}

static void probe_done(void *arg, int rc) {
  struct run_probe *p = arg;
  assert_int_equal(p->worked, 1);
  p->done++;
  p->rc = rc;
}

static void test_store_run_inline(void **state) {
  struct api_state *s = *state;
  struct run_probe p = {.want = s->f.store, .rc = -1};
  assert_int_equal(byoca_manager_store_run(s->m, probe_work, probe_done, &p),
                   0);
  assert_int_equal(p.worked, 1);
  assert_int_equal(p.done, 1);
  assert_int_equal(p.rc, 0);
  assert_int_equal(byoca_manager_store_run(NULL, probe_work, probe_done, &p),
                   BYOCA_E_INVAL);
  assert_int_equal(p.done, 1);
  struct byoca_metrics_read *r = byoca_manager_metrics_begin(s->m);
  assert_non_null(r);
  byoca_manager_metrics_fetch(r, s->f.store);
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_manager_metrics_end(s->m, r, &b), 0);
  assert_non_null(strstr(b.data, "byoca_certificates{state=\"issued\"} 0\n"));
  assert_non_null(strstr(b.data, "byoca_nodes_alive "));
  byoca_buf_free(&b);
  byoca_manager_metrics_free(byoca_manager_metrics_begin(s->m)); /* unread */
}

/* The target of the live link of cert id (empty if it is no link). */
static void live_target(struct api_state *s, int64_t id, char *out, size_t n) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%lld/live/%lld", s->deploy,
           (long long)s->f.tenant, (long long)id);
  ssize_t l = readlink(path, out, n - 1);
  out[l > 0 ? l : 0] = '\0';
}

static int count_in(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int k = 0;
  while (d != NULL && (e = readdir(d)) != NULL)
    k += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return d != NULL ? k : -1;
}

/* deploy_dir as a set: live/<id> links to a complete version; a folder of
 * an older byocad there is replaced; the live version survives pruning
 * even when the clock went back; deletion removes link and versions. */
static void test_deploy_layout(void **state) {
  struct api_state *s = *state;
  struct byoca_secret key = {(unsigned char *)leaf_key, strlen(leaf_key)};
  char live[200], adir[200], tgt[200], v1[200];
  int64_t id = 4242, t = s->f.tenant;
  snprintf(live, sizeof(live), "%s/%lld/live/%lld", s->deploy, (long long)t,
           (long long)id);
  snprintf(adir, sizeof(adir), "%s/%lld/archive/%lld", s->deploy, (long long)t,
           (long long)id);
  /* the layout of an older byocad: a plain folder */
  assert_int_equal(byoca_mkdir_p(live, 0700, NULL), 0);
  char *old = byoca_asprintf("%s/cert.pem", live);
  assert_int_equal(byoca_file_write_atomic(old, "old", 3, 0644, NULL), 0);
  free(old);
  byoca_time_set_fake(2000000000);
  assert_int_equal(
      mgr_deploy_files(s->m, t, id, "FULL1", &key, "CERT1", "CHAIN1", NULL), 0);
  live_target(s, id, tgt, sizeof(tgt));
  assert_true(strncmp(tgt, "../archive/4242/", 16) == 0);
  snprintf(v1, sizeof(v1), "%s", tgt);
  check_file(live, "cert.pem", 0644, "CERT1");
  check_file(live, "chain.pem", 0644, "CHAIN1");
  check_file(live, "fullchain.pem", 0644, "FULL1");
  check_file(live, "privkey.pem", 0600, leaf_key);
  assert_int_equal(count_in(adir), 1);
  byoca_time_set_fake(2000000000 + 100);
  assert_int_equal(
      mgr_deploy_files(s->m, t, id, "FULL2", &key, "CERT2", "CHAIN2", NULL), 0);
  check_file(live, "cert.pem", 0644, "CERT2");
  assert_int_equal(count_in(adir), 2);
  /* the clock goes back: the new version's name sorts lowest, yet it is
   * live and stays; the oldest other goes */
  byoca_time_set_fake(2000000000 - 100);
  assert_int_equal(
      mgr_deploy_files(s->m, t, id, "FULL3", &key, "CERT3", "CHAIN3", NULL), 0);
  check_file(live, "cert.pem", 0644, "CERT3");
  check_file(live, "fullchain.pem", 0644, "FULL3");
  assert_int_equal(count_in(adir), 2); /* the live one and the newest other */
  char *gone = byoca_asprintf("%s/%s", adir, v1 + strlen("../archive/4242/"));
  struct stat st;
  assert_int_equal(stat(gone, &st), -1);
  free(gone);
  /* deletion: nothing of it left, the key included */
  mgr_deploy_remove(s->m, t, id);
  assert_int_equal(lstat(live, &st), -1);
  assert_int_equal(lstat(adir, &st), -1);
  byoca_time_set_fake(0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_add_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_add_stores, setup, teardown),
      cmocka_unit_test_setup_teardown(test_renew_and_isolation, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_import, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deploy_layout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_store_run_inline, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_steps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_two_steps, setup, teardown),
      cmocka_unit_test(test_rfc2136_row_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
