/* lib/store on either backend (test_store_fixture.h), lineages: add/get/list
 * and tenant isolation, issued/failed transitions, claiming due work (order,
 * limit, leases, deletions, the next_check index in the query plan), counts,
 * expiring certificates, in-flight orders and http-01 challenge tokens. */
#include "test_store_fixture.h"

static void issue(struct byoca_store *s, int64_t id, int64_t next_check,
                  const char *key) {
  struct byoca_cert_row is = {0};
  struct byoca_secret k = fx_secret(key);
  struct byoca_err err = {0};
  snprintf(is.issuer, sizeof(is.issuer), "ca.example");
  snprintf(is.directory, sizeof(is.directory), "https://ca.example/dir");
  snprintf(is.serial, sizeof(is.serial), "01ab");
  snprintf(is.last_outcome, sizeof(is.last_outcome), "issued by ca.example");
  snprintf(is.issued_profile, sizeof(is.issued_profile), "tlsserver");
  is.not_before = 1000;
  is.not_after = 9000;
  is.next_check = next_check;
  if (byoca_store_cert_issued(s, id, &is, "-----BEGIN CERTIFICATE-----", &k,
                              NULL, &err) != 0)
    fail_msg("cert_issued: %s", err.msg);
  byoca_secret_free(&k);
}

static void test_cert_add_get_list(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_cert_row row = {0}, r;
  struct byoca_err err = {0};
  int64_t id = 0;
  row.identifiers_json = "[\"x.example\",\"*.x.example\"]";
  snprintf(row.key_type, sizeof(row.key_type), "rsa2048");
  snprintf(row.ca, sizeof(row.ca), "https://ca.test/dir");
  snprintf(row.profile, sizeof(row.profile), "shortlived");
  row.profile_required = 1;
  assert_int_equal(byoca_store_cert_add(f->s, a.id, &row, 500, NULL, &id, NULL),
                   0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, id, 1, &r, NULL), 0);
  assert_int_equal(r.id, id);
  assert_int_equal(r.tenant_id, a.id);
  assert_string_equal(r.identifiers_json, row.identifiers_json);
  assert_string_equal(r.key_type, "rsa2048");
  assert_string_equal(r.ca, "https://ca.test/dir");
  assert_string_equal(r.profile, "shortlived");
  assert_int_equal(r.profile_required, 1);
  assert_string_equal(r.issued_profile, "");
  assert_int_equal(r.state, BYOCA_CERT_PENDING);
  assert_int_equal(r.next_check, 500); /* due now */
  assert_string_equal(r.next_source, "new");
  assert_int_equal(r.created, 500);
  assert_int_equal(r.revoke_on_delete, 1);
  assert_null(r.fullchain_pem);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_cert_get(f->s, 0, id, 0, &r, NULL), 0);
  byoca_cert_row_clear(&r); /* tenant 0: the manager, any tenant */
  row.ca[0] = '\0';
  int64_t ids[5] = {id};
  for (int i = 1; i < 5; i++)
    assert_int_equal(
        byoca_store_cert_add(f->s, a.id, &row, 500, NULL, &ids[i], NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, ids[1], 0, &r, NULL), 0);
  assert_string_equal(r.ca, "auto");
  byoca_cert_row_clear(&r);
  (void)fx_cert(f->s, b.id, 500);
  struct byoca_cert_row *list = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_cert_list(f->s, a.id, 0, 3, &list, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_int_equal(list[0].id, ids[0]);
  assert_int_equal(list[2].id, ids[2]);
  assert_null(list[0].fullchain_pem);
  int64_t after = list[2].id;
  byoca_cert_rows_free(list, n);
  assert_int_equal(byoca_store_cert_list(f->s, a.id, after, 3, &list, &n, NULL),
                   0);
  assert_int_equal(n, 2); /* only a's: b's lineage is not listed */
  assert_int_equal(list[1].id, ids[4]);
  byoca_cert_rows_free(list, n);
  assert_int_equal(byoca_store_cert_list(f->s, 4242, 0, 3, &list, &n, NULL), 0);
  assert_int_equal(n, 0);
  byoca_cert_rows_free(list, n);
  /* isolation: b sees none of a's, as if they did not exist */
  assert_int_equal(byoca_store_cert_get(f->s, b.id, id, 0, &r, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_schedule(f->s, b.id, id, 1, "forced", &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_set_deleting(f->s, b.id, id, 1, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, 4242, 0, &r, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_add(f->s, 4242, &row, 1, NULL, &id, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
}

static void test_cert_issued(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_cert_row r;
  struct byoca_err err = {0};
  struct byoca_secret key = {0};
  int64_t c1 = fx_cert(f->s, a.id, 100), c2 = fx_cert(f->s, a.id, 100);
  int64_t ids[4];
  size_t n = 0;
  assert_int_equal(byoca_store_cert_claim_due(f->s, 200, 800, 4, ids, &n, NULL),
                   0);
  assert_int_equal(n, 2);
  struct byoca_order_row o = {.cert_id = c1, .started = 150};
  snprintf(o.directory, sizeof(o.directory), "https://ca.example/dir");
  assert_int_equal(byoca_store_order_put(f->s, &o, NULL, NULL), 0);
  issue(f->s, c1, 7000, "-----BEGIN PRIVATE KEY-----\nONE");
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c1, 1, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_string_equal(r.fullchain_pem, "-----BEGIN CERTIFICATE-----");
  assert_string_equal(r.issuer, "ca.example");
  assert_string_equal(r.directory, "https://ca.example/dir");
  assert_string_equal(r.serial, "01ab");
  assert_int_equal(r.not_before, 1000);
  assert_int_equal(r.not_after, 9000);
  assert_int_equal(r.next_check, 7000);
  assert_string_equal(r.next_source, "lifetime");
  assert_string_equal(r.last_outcome, "issued by ca.example");
  assert_string_equal(r.issued_profile, "tlsserver");
  assert_int_equal(r.lease_until, 0);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_order_get(f->s, c1, &o, NULL, &err),
                   BYOCA_E_NOTFOUND); /* the order row went with it */
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c1, &key, NULL), 0);
  assert_string_equal((char *)key.data, "-----BEGIN PRIVATE KEY-----\nONE");
  byoca_secret_free(&key);
  assert_int_equal(byoca_store_cert_key(f->s, 0, c1, &key, NULL), 0);
  byoca_secret_free(&key);
  assert_int_equal(byoca_store_cert_key(f->s, b.id, c1, &key, &err),
                   BYOCA_E_NOTFOUND);
  assert_null(key.data);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c2, &key, &err),
                   BYOCA_E_NOTFOUND); /* nothing issued yet */
  byoca_err_clear(&err);
  /* renewal replaces the key */
  issue(f->s, c1, 8000, "-----BEGIN PRIVATE KEY-----\nTWO");
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c1, &key, NULL), 0);
  assert_string_equal((char *)key.data, "-----BEGIN PRIVATE KEY-----\nTWO");
  byoca_secret_free(&key);
}

static void test_cert_failed(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_cert_row r;
  int64_t c1 = fx_cert(f->s, a.id, 100), c2 = fx_cert(f->s, a.id, 100);
  issue(f->s, c1, 8000, "k1");
  /* failures: pending -> failed; issued stays issued; both count */
  assert_int_equal(byoca_store_cert_failed(f->s, c2, "boom", 5000, 2000, NULL),
                   0);
  assert_int_equal(
      byoca_store_cert_failed(f->s, c2, "boom again", 6000, 2100, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c2, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_FAILED);
  assert_int_equal(r.failures, 2);
  assert_int_equal(r.next_check, 6000);
  assert_string_equal(r.next_source, "retry");
  assert_string_equal(r.last_outcome, "boom again");
  assert_int_equal(r.last_attempt, 2100);
  assert_int_equal(r.lease_until, 0);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      byoca_store_cert_failed(f->s, c1, "renewal failed", 5000, 2000, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c1, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_int_equal(r.failures, 1);
  byoca_cert_row_clear(&r);
  issue(f->s, c2, 8000, "k");
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c2, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_int_equal(r.failures, 0);
  byoca_cert_row_clear(&r);
}

static void test_cert_deleting(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_cert_row r;
  struct byoca_err err = {0};
  int64_t c1 = fx_cert(f->s, a.id, 100), c2 = fx_cert(f->s, a.id, 100);
  issue(f->s, c1, 8000, "k1");
  /* schedule, then deletion: no more issuance or rescheduling */
  assert_int_equal(
      byoca_store_cert_schedule(f->s, a.id, c1, 42, "forced", NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c1, 0, &r, NULL), 0);
  assert_int_equal(r.next_check, 42);
  assert_string_equal(r.next_source, "forced");
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_cert_set_deleting(f->s, a.id, c1, 0, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c1, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_DELETING);
  assert_int_equal(r.revoke_on_delete, 0);
  assert_string_equal(byoca_cert_state_str(r.state), "deleting");
  byoca_cert_row_clear(&r);
  struct byoca_cert_row is = {0};
  struct byoca_secret k = fx_secret("k");
  /* the audit event lands with the change or not at all */
  struct byoca_event ev_is = {.ts = 7,
                              .tenant_id = a.id,
                              .cert_id = c1,
                              .type = "x.issued",
                              .detail_json = "{\"n\":1}"};
  struct byoca_event ev_del = {
      .ts = 8, .tenant_id = a.id, .cert_id = c1, .type = "x.deleted"};
  assert_int_equal(
      byoca_store_cert_issued(f->s, c1, &is, "x", &k, &ev_is, &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_cert_issued(f->s, 4242, &is, "x", &k, NULL, &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  byoca_secret_free(&k);
  assert_int_equal(byoca_store_cert_schedule(f->s, a.id, c1, 1, "forced", &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_string_equal(byoca_cert_state_str(BYOCA_CERT_PENDING), "pending");
  assert_string_equal(byoca_cert_state_str(BYOCA_CERT_ISSUED), "issued");
  assert_string_equal(byoca_cert_state_str(BYOCA_CERT_FAILED), "failed");
  /* destroy: gone for everyone; destroying again changes nothing */
  assert_int_equal(byoca_store_cert_destroy(f->s, c1, &ev_del, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, 0, c1, 0, &r, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  struct byoca_event *evs = NULL;
  size_t nev = 0;
  assert_int_equal(byoca_store_event_list(f->s, -1, 0, 100, &evs, &nev, NULL),
                   0);
  int n_is = 0, n_del = 0;
  for (size_t i = 0; i < nev; i++) {
    n_is += strcmp(evs[i].type, "x.issued") == 0;
    if (strcmp(evs[i].type, "x.deleted") == 0) {
      n_del++;
      assert_int_equal(evs[i].cert_id, c1);
      assert_int_equal(evs[i].ts, 8);
    }
  }
  byoca_events_free(evs, nev);
  assert_int_equal(n_is, 0);
  assert_int_equal(n_del, 1);
  assert_int_equal(byoca_store_cert_destroy(f->s, c1, NULL, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, a.id, c2, 0, &r, NULL), 0);
  byoca_cert_row_clear(&r);
  int64_t c3 = fx_cert(f->s, a.id, 1);
  assert_true(c3 > c2); /* ids are never reused */
}

static void test_claim_due(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  int64_t ids[8];
  size_t n = 99;
  /* next_check: c1 300, c2 100, c3 200 (b's), c4 900 (not due at 500) */
  int64_t c1 = fx_cert(f->s, a.id, 300), c2 = fx_cert(f->s, a.id, 100);
  int64_t c3 = fx_cert(f->s, b.id, 200), c4 = fx_cert(f->s, a.id, 900);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 600, 0, ids, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 600, 2, ids, &n, NULL),
                   0);
  assert_int_equal(n, 2); /* the limit, most overdue first */
  assert_int_equal(ids[0], c2);
  assert_int_equal(ids[1], c3);
  struct byoca_cert_row r;
  assert_int_equal(byoca_store_cert_get(f->s, 0, c2, 0, &r, NULL), 0);
  assert_int_equal(r.lease_until, 600);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 600, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 1); /* leased ones are skipped; c4 is not due */
  assert_int_equal(ids[0], c1);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 550, 650, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  /* a deletion is claimed first, whatever its next_check */
  assert_int_equal(byoca_store_cert_set_deleting(f->s, a.id, c4, 1, NULL), 0);
  assert_int_equal(
      byoca_store_cert_failed(f->s, c4, "revocation failed", 99999, 500, NULL),
      0);
  /* leases run out (lease_until < now) */
  assert_int_equal(byoca_store_cert_claim_due(f->s, 600, 700, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], c4);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 601, 700, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 3);
  assert_int_equal(ids[0], c2);
  assert_int_equal(ids[1], c3);
  assert_int_equal(ids[2], c1);
  /* a release frees every claim at once */
  assert_int_equal(byoca_store_cert_release_all(f->s, NULL), 0);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 602, 700, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 4);
  assert_int_equal(ids[0], c4);
  assert_int_equal(ids[1], c2);
  /* rescheduled into the future: not due any more */
  assert_int_equal(byoca_store_cert_release_all(f->s, NULL), 0);
  assert_int_equal(byoca_store_cert_schedule(f->s, a.id, c2, 5000, "ari", NULL),
                   0);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 603, 700, 8, ids, &n, NULL),
                   0);
  assert_int_equal(n, 3);
  for (size_t i = 0; i < n; i++)
    assert_true(ids[i] != c2);
}

static void assert_claimed_by(struct byoca_store *s, int64_t id,
                              const char *node, int64_t lease) {
  struct byoca_cert_row r;
  assert_int_equal(byoca_store_cert_get(s, 0, id, 0, &r, NULL), 0);
  assert_string_equal(r.claimed_by, node);
  assert_int_equal(r.lease_until, lease);
  byoca_cert_row_clear(&r);
}

/* Two nodes (two handles on one store) claim disjoint sets, each lease
 * naming its node; finishing or releasing clears the name. */
static void test_claim_nodes(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_store *s2 = fx_open(f);
  struct byoca_err err = {0};
  int64_t c[6], ids1[8], ids2[8];
  size_t n1 = 0, n2 = 0;
  char big[80];
  assert_true(strlen(byoca_store_node(f->s)) > 0); /* host-pid */
  assert_int_equal(byoca_store_set_node(f->s, "", &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(byoca_store_set_node(f->s, big, &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_set_node(f->s, "node-1", NULL), 0);
  assert_int_equal(byoca_store_set_node(s2, "node-2", NULL), 0);
  assert_string_equal(byoca_store_node(s2), "node-2");
  for (int i = 0; i < 6; i++)
    c[i] = fx_cert(f->s, a.id, 100 + i);
  assert_int_equal(
      byoca_store_cert_claim_due(f->s, 500, 900, 4, ids1, &n1, NULL), 0);
  assert_int_equal(byoca_store_cert_claim_due(s2, 500, 950, 4, ids2, &n2, NULL),
                   0);
  assert_int_equal(n1, 4);
  assert_int_equal(n2, 2);
  for (size_t i = 0; i < n1; i++) {
    assert_int_equal(ids1[i], c[i]);
    assert_claimed_by(s2, ids1[i], "node-1", 900);
  }
  for (size_t i = 0; i < n2; i++) {
    assert_int_equal(ids2[i], c[4 + i]);
    assert_claimed_by(f->s, ids2[i], "node-2", 950);
  }
  /* node-1 dies: its leases run out and node-2 takes them over */
  assert_int_equal(
      byoca_store_cert_claim_due(s2, 901, 1900, 8, ids2, &n2, NULL), 0);
  assert_int_equal(n2, 4);
  assert_claimed_by(f->s, c[0], "node-2", 1900);
  assert_int_equal(byoca_store_cert_failed(s2, c[0], "x", 5000, 1000, NULL), 0);
  assert_claimed_by(f->s, c[0], "", 0);
  assert_int_equal(byoca_store_cert_release_all(f->s, NULL), 0);
  assert_claimed_by(f->s, c[5], "", 0);
  byoca_store_close(s2);
}

/* Heartbeats list the nodes with their leases; a node's start-up clears
 * only its own leases; renewal moves forward only the leases a node still
 * holds. */
static void test_nodes_leases(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_store *s2 = fx_open(f);
  struct byoca_node_row *v = NULL;
  int64_t c[4], ids[4], all[4];
  size_t n = 0, kept = 9;
  assert_int_equal(byoca_store_set_node(f->s, "node-1", NULL), 0);
  assert_int_equal(byoca_store_set_node(s2, "node-2", NULL), 0);
  int any = -1;
  assert_int_equal(byoca_store_node_alpn(f->s, 0, &any, NULL), 0);
  assert_int_equal(any, 0);
  assert_int_equal(byoca_store_node_beat(f->s, 100, "0.1.0", 0, 110, NULL), 0);
  assert_int_equal(byoca_store_node_beat(s2, 105, "0.1.0", 1, 105, NULL), 0);
  assert_int_equal(byoca_store_node_alpn(f->s, 100, &any, NULL), 0);
  assert_int_equal(any, 1); /* s2 has a responder and beat at 105 */
  assert_int_equal(byoca_store_node_alpn(f->s, 106, &any, NULL), 0);
  assert_int_equal(any, 0); /* ... but not since 106 */
  assert_int_equal(byoca_store_node_beat(s2, 105, "0.2.0", 1, 120, NULL), 0);
  for (int i = 0; i < 4; i++)
    c[i] = all[i] = fx_cert(f->s, a.id, 100 + i);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 900, 3, ids, &n, NULL),
                   0);
  assert_int_equal(n, 3);
  assert_int_equal(byoca_store_cert_claim_due(s2, 500, 900, 3, ids, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(byoca_store_node_list(f->s, 600, &v, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_string_equal(v[0].name, "node-1");
  assert_int_equal(v[0].leases, 3);
  assert_int_equal(v[0].started, 100);
  assert_int_equal(v[0].heartbeat, 110);
  assert_int_equal(v[0].tls_alpn, 0);
  assert_int_equal(v[1].tls_alpn, 1);
  assert_string_equal(v[1].name, "node-2");
  assert_int_equal(v[1].leases, 1);
  assert_int_equal(v[1].heartbeat, 120);
  assert_string_equal(v[1].version, "0.2.0");
  free(v);
  /* renewal: node-2 holds only c[3] of all four */
  assert_int_equal(byoca_store_cert_lease_extend(s2, all, 4, 2000, &kept, NULL),
                   0);
  assert_int_equal(kept, 1);
  assert_claimed_by(f->s, c[3], "node-2", 2000);
  assert_claimed_by(f->s, c[0], "node-1", 900);
  /* node-1 restarts: its own leases go, node-2's stay */
  assert_int_equal(byoca_store_cert_release_node(f->s, NULL), 0);
  assert_claimed_by(f->s, c[0], "", 0);
  assert_claimed_by(f->s, c[3], "node-2", 2000);
  /* after its lease ran out and node-1 took it, node-2 cannot renew it */
  assert_int_equal(
      byoca_store_cert_claim_due(f->s, 2001, 3000, 4, ids, &n, NULL), 0);
  assert_int_equal(n, 4);
  assert_int_equal(byoca_store_cert_lease_extend(s2, all, 4, 4000, &kept, NULL),
                   0);
  assert_int_equal(kept, 0);
  assert_claimed_by(f->s, c[3], "node-1", 3000);
  byoca_store_close(s2);
}

/* An event that notifies carries its outbox row; a claimed row is not
 * claimed again (by any node) until its lease runs out; a failed try is
 * counted and delayed; a delivered one goes. */
static void test_outbox(void **state) {
  struct fx *f = *state;
  struct byoca_store *s2 = fx_open(f);
  struct byoca_outbox_row *r = NULL;
  size_t n = 0;
  int64_t waiting = 0;
  assert_int_equal(byoca_store_set_node(s2, "node-2", NULL), 0);
  assert_int_equal(byoca_store_event_notify(
                       f->s, 0, 7, "certificate.failed", "{\"x\":1}", 1000000,
                       "http://127.0.0.1:1/h", "{\"event\":1}", NULL),
                   0);
  assert_int_equal(byoca_store_event_notify(f->s, 0, 8, "order.resumed", NULL,
                                            1000000, NULL, NULL, NULL),
                   0);
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM events"), 2);
  assert_int_equal(byoca_store_outbox_count(f->s, &waiting, NULL), 0);
  assert_int_equal(waiting, 1);
  assert_int_equal(
      byoca_store_outbox_claim(f->s, 999999, 2000, 8, &r, &n, NULL), 0);
  assert_int_equal(n, 0); /* not due yet */
  free(r);
  assert_int_equal(
      byoca_store_outbox_claim(f->s, 1000000, 2000, 8, &r, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(r[0].type, "certificate.failed");
  assert_string_equal(r[0].url, "http://127.0.0.1:1/h");
  assert_string_equal(r[0].body, "{\"event\":1}");
  assert_int_equal(r[0].tries, 0);
  int64_t id = r[0].id;
  byoca_outbox_rows_free(r, n);
  /* leased: another node passes it over */
  assert_int_equal(byoca_store_outbox_claim(s2, 1001000, 2000, 8, &r, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  free(r);
  assert_int_equal(
      byoca_store_outbox_retry(f->s, id, 1005000, "HTTP 500", NULL), 0);
  assert_int_equal(byoca_store_outbox_claim(s2, 1004999, 2000, 8, &r, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  free(r);
  assert_int_equal(byoca_store_outbox_claim(s2, 1005000, 2000, 8, &r, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(r[0].tries, 1);
  byoca_outbox_rows_free(r, n);
  /* s2 restarts: its lease on the row goes at once */
  assert_int_equal(byoca_store_outbox_claim(s2, 1006000, 2000, 8, &r, &n, NULL),
                   0);
  assert_int_equal(n, 0); /* still leased to node-2 */
  free(r);
  assert_int_equal(byoca_store_cert_release_node(s2, NULL), 0);
  assert_int_equal(
      byoca_store_outbox_claim(f->s, 1006000, 2000, 8, &r, &n, NULL), 0);
  assert_int_equal(n, 1);
  byoca_outbox_rows_free(r, n);
  assert_int_equal(byoca_store_outbox_done(s2, id, NULL), 0);
  assert_int_equal(byoca_store_outbox_count(f->s, &waiting, NULL), 0);
  assert_int_equal(waiting, 0);
  byoca_store_close(s2);
}

/* A row another node has locked in its claim right now is passed over,
 * not waited for (FOR UPDATE SKIP LOCKED), and claimed once it is free. */
static void test_claim_skips_locked(void **state) {
  struct fx *f = *state;
  FX_PG_ONLY(f);
  struct byoca_tenant a = fx_tenant(f->s, "a");
  int64_t c1 = fx_cert(f->s, a.id, 100), c2 = fx_cert(f->s, a.id, 200), ids[4];
  size_t n = 0;
  char sql[128];
  PGconn *other = fx_pg_conn(f);
  fx_sql(f->s, "SET lock_timeout = '10s'"); /* a wait fails the test */
  snprintf(sql, sizeof(sql),
           "SELECT id FROM certificates WHERE id = %lld FOR UPDATE",
           (long long)c1);
  PQclear(PQexec(other, "BEGIN"));
  PGresult *r = PQexec(other, sql);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 600, 4, ids, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], c2);
  PQclear(PQexec(other, "COMMIT"));
  PQfinish(other);
  assert_int_equal(byoca_store_cert_claim_due(f->s, 500, 600, 4, ids, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], c1);
}

/* The rows EXPLAIN QUERY PLAN gives for sql, "|"-joined into out. */
static void query_plan(struct byoca_store *s, const char *sql, char *out,
                       size_t outlen) {
  char q[512];
  sqlite3_stmt *st = NULL;
  snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
  assert_int_equal(sqlite3_prepare_v2(s->db, q, -1, &st, NULL), SQLITE_OK);
  for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++)
    sqlite3_bind_int64(st, i, 1000);
  out[0] = '\0';
  while (sqlite3_step(st) == SQLITE_ROW) {
    size_t len = strlen(out);
    snprintf(out + len, outlen - len, "%s|", sqlite3_column_text(st, 3));
  }
  sqlite3_finalize(st);
}

static void test_claim_uses_indexes(void **state) {
  struct fx *f = *state;
  FX_SQLITE_ONLY(f);
  struct byoca_tenant a = fx_tenant(f->s, "a");
  for (int i = 0; i < 200; i++)
    (void)fx_cert(f->s, a.id, 1000 + i);
  char plan[1024];
  for (int pass = 0; pass < 2; pass++) { /* as created, then analyzed */
    query_plan(f->s, store_sql_claim_due, plan, sizeof(plan));
    print_message("due: %s\n", plan);
    assert_non_null(strstr(plan, "USING INDEX certificates_next_check"));
    assert_null(strstr(plan, "TEMP B-TREE")); /* ordered by the index */
    query_plan(f->s, store_sql_claim_deleting, plan, sizeof(plan));
    print_message("deleting: %s\n", plan);
    assert_non_null(strstr(plan, "USING INDEX certificates_deleting"));
    fx_sql(f->s, "ANALYZE");
  }
}

static void test_counts_expiring(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  int64_t c1 = fx_cert(f->s, a.id, 100), c2 = fx_cert(f->s, a.id, 100);
  int64_t c3 = fx_cert(f->s, a.id, 100), c4 = fx_cert(f->s, a.id, 5000);
  (void)c4;
  issue(f->s, c1, 4000, "k1"); /* not_after 9000 */
  issue(f->s, c2, 4000, "k2");
  assert_int_equal(byoca_store_cert_failed(f->s, c2, "x", 300, 200, NULL), 0);
  assert_int_equal(byoca_store_cert_set_deleting(f->s, a.id, c3, 1, NULL), 0);
  int64_t counts[4], due = -1;
  assert_int_equal(byoca_store_cert_counts(f->s, 1000, counts, &due, NULL), 0);
  assert_int_equal(counts[BYOCA_CERT_PENDING], 1);
  assert_int_equal(counts[BYOCA_CERT_ISSUED], 2);
  assert_int_equal(counts[BYOCA_CERT_FAILED], 0);
  assert_int_equal(counts[BYOCA_CERT_DELETING], 1);
  assert_int_equal(due, 1); /* c2 at 300 */
  int64_t ids[4];
  size_t n = 9;
  /* issued, not_after before the horizon, last attempt failed: c2 only */
  assert_int_equal(byoca_store_cert_expiring(f->s, 9001, ids, 4, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], c2);
  assert_int_equal(byoca_store_cert_expiring(f->s, 9000, ids, 4, &n, NULL), 0);
  assert_int_equal(n, 0);
  assert_int_equal(byoca_store_cert_expiring(f->s, 9001, ids, 0, &n, NULL), 0);
  assert_int_equal(n, 0);
}

static void test_orders(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_err err = {0};
  int64_t c = fx_cert(f->s, a.id, 1), cnt = -1;
  struct byoca_order_row o = {.cert_id = c, .started = 77}, back;
  struct byoca_secret key = fx_secret("-----BEGIN PRIVATE KEY-----\nFRESH"),
                      out = {0};
  snprintf(o.directory, sizeof(o.directory), "https://ca.test/dir");
  snprintf(o.issuer, sizeof(o.issuer), "ca.test");
  assert_int_equal(byoca_store_order_put(f->s, &o, NULL, NULL), 0);
  assert_int_equal(byoca_store_order_get(f->s, c, &back, &out, NULL), 0);
  assert_null(out.data); /* no key yet */
  assert_string_equal(back.directory, "https://ca.test/dir");
  assert_string_equal(back.order_url, "");
  assert_int_equal(back.started, 77);
  snprintf(o.order_url, sizeof(o.order_url), "https://ca.test/order/1");
  assert_int_equal(byoca_store_order_put(f->s, &o, &key, NULL), 0);
  assert_int_equal(byoca_store_order_count(f->s, &cnt, NULL), 0);
  assert_int_equal(cnt, 1);
  assert_int_equal(byoca_store_order_get(f->s, c, &back, &out, NULL), 0);
  assert_int_equal(back.cert_id, c);
  assert_string_equal(back.issuer, "ca.test");
  assert_string_equal(back.order_url, "https://ca.test/order/1");
  assert_int_equal(out.len, key.len);
  assert_memory_equal(out.data, key.data, key.len);
  byoca_secret_free(&out);
  assert_int_equal(byoca_store_order_get(f->s, c, &back, NULL, NULL), 0);
  assert_int_equal(byoca_store_order_delete(f->s, c, NULL), 0);
  assert_int_equal(byoca_store_order_get(f->s, c, &back, &out, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  o.cert_id = 4242;
  assert_int_equal(byoca_store_order_put(f->s, &o, &key, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* destroying the lineage takes its order along */
  o.cert_id = c;
  assert_int_equal(byoca_store_order_put(f->s, &o, &key, NULL), 0);
  assert_int_equal(byoca_store_cert_destroy(f->s, c, NULL, NULL), 0);
  assert_int_equal(byoca_store_order_count(f->s, &cnt, NULL), 0);
  assert_int_equal(cnt, 0);
  byoca_secret_free(&key);
}

static void test_challenges(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a");
  struct byoca_err err = {0};
  char out[512];
  int64_t c = fx_cert(f->s, a.id, 1);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "tok1", "tok1.thumb", c, 100, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "tok2", "tok2.thumb", 0, 100, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok1", 99, out, sizeof(out), NULL), 0);
  assert_string_equal(out, "tok1.thumb");
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok1", 100, out, sizeof(out), &err),
      BYOCA_E_NOTFOUND); /* expired */
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "nope", 1, out, sizeof(out), &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "tok2", "tok2.new", 0, 200, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok2", 150, out, sizeof(out), NULL), 0);
  assert_string_equal(out, "tok2.new");
  /* another certificate's row is not deleted, nor replaced while it
   * lives (tls-alpn-01 rows are keyed by the name, not by a token) */
  int64_t c2 = fx_cert(f->s, a.id, 1), owner = -1;
  int64_t later = byoca_now() + 3600;
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:x.test", "ka.one", c, later, NULL),
      0);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:x.test", "ka.two", c2, later, &err),
      BYOCA_E_CONFLICT);
  assert_int_equal(err.cls, BYOCA_CLASS_RETRYABLE);
  char held[64];
  snprintf(held, sizeof(held), "held by certificate %lld", (long long)c);
  assert_non_null(strstr(err.msg, held));
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "alpn:x.test", 1, out, sizeof(out), NULL),
      0);
  assert_string_equal(out, "ka.one");
  assert_int_equal(
      byoca_store_challenge_owner(f->s, "alpn:x.test", 1, &owner, NULL), 0);
  assert_int_equal(owner, c);
  assert_int_equal(
      byoca_store_challenge_owner(f->s, "alpn:x.test", later, &owner, &err),
      BYOCA_E_NOTFOUND); /* expired */
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_challenge_delete(f->s, "alpn:x.test", c2, NULL),
                   0);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "alpn:x.test", 1, out, sizeof(out), NULL),
      0); /* c2's cleanup left c's answer */
  assert_string_equal(out, "ka.one");
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:x.test", "ka.one2", c, later, NULL),
      0); /* its own row is replaced */
  assert_int_equal(byoca_store_challenge_delete(f->s, "alpn:x.test", c, NULL),
                   0);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:x.test", "ka.two", c2, later, NULL),
      0); /* free again: the next lineage takes it */
  assert_int_equal(
      byoca_store_challenge_owner(f->s, "alpn:x.test", 1, &owner, NULL), 0);
  assert_int_equal(owner, c2);
  assert_int_equal(byoca_store_challenge_delete(f->s, "alpn:x.test", c2, NULL),
                   0);
  /* an expired row of another certificate is taken over */
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:y.test", "ka.old", c, 5, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_put(f->s, "alpn:y.test", "ka.new", c2, later, NULL),
      0);
  assert_int_equal(byoca_store_challenge_delete(f->s, "alpn:y.test", c2, NULL),
                   0);
  assert_int_equal(byoca_store_challenge_delete(f->s, "tok2", 0, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok2", 150, out, sizeof(out), &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* purge: the expired ones go, the live ones stay */
  assert_int_equal(
      byoca_store_challenge_put(f->s, "tok3", "tok3.thumb", c, 300, NULL), 0);
  int64_t purged = -1;
  assert_int_equal(byoca_store_challenge_purge(f->s, 100, &purged, NULL), 0);
  assert_int_equal(purged, 1); /* tok1, expired at 100 */
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM challenge_tokens"), 1);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok3", 299, out, sizeof(out), NULL), 0);
  assert_int_equal(byoca_store_challenge_purge(f->s, 299, &purged, NULL), 0);
  assert_int_equal(purged, 0);
  assert_int_equal(byoca_store_challenge_purge(f->s, 300, NULL, NULL), 0);
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM challenge_tokens"), 0);
  /* the lineage's tokens go with it */
  assert_int_equal(
      byoca_store_challenge_put(f->s, "tok1", "tok1.thumb", c, 100, NULL), 0);
  assert_int_equal(byoca_store_cert_destroy(f->s, c, NULL, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_get(f->s, "tok1", 1, out, sizeof(out), &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
}

/* ARI (RFC 9773): issuance stores the CertID and the first poll; a
 * claim takes due polls of issued, unleased lineages and pushes them on;
 * ari_set stores the window and moves next_check only while the schedule
 * is the lifetime rule's or ARI's, and only for the same serial. */
static void test_ari(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "a");
  struct byoca_cert_row row = {0}, r;
  struct byoca_secret k = fx_secret("key");
  int64_t id[3], ids[8];
  size_t n = 0;
  row.identifiers_json = "[\"x.example\"]";
  snprintf(row.key_type, sizeof(row.key_type), "ec256");
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        byoca_store_cert_add(f->s, t.id, &row, 500, NULL, &id[i], NULL), 0);
  for (int i = 0; i < 2; i++) {
    struct byoca_cert_row is = {0};
    snprintf(is.directory, sizeof(is.directory), "https://ca.example/dir");
    snprintf(is.serial, sizeof(is.serial), "0%d", i + 1);
    snprintf(is.ari_cert_id, sizeof(is.ari_cert_id), "aaa.0%d", i + 1);
    is.not_before = 1000;
    is.not_after = 9000;
    is.next_check = 6000;
    snprintf(is.next_source, sizeof(is.next_source), "lifetime");
    is.ari_next = 1500 + i;
    assert_int_equal(
        byoca_store_cert_issued(f->s, id[i], &is, "PEM", &k, NULL, NULL), 0);
  }
  byoca_secret_free(&k);
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id[0], 0, &r, NULL), 0);
  assert_string_equal(r.ari_cert_id, "aaa.01");
  assert_int_equal(r.ari_next, 1500);
  byoca_cert_row_clear(&r);
  /* not due yet; then both, most overdue first; claimed ones move on */
  assert_int_equal(
      byoca_store_cert_ari_claim(f->s, 1499, 2100, 8, ids, &n, NULL), 0);
  assert_int_equal(n, 0);
  assert_int_equal(
      byoca_store_cert_ari_claim(f->s, 1600, 2100, 8, ids, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_int_equal(ids[0], id[0]);
  assert_int_equal(ids[1], id[1]);
  assert_int_equal(
      byoca_store_cert_ari_claim(f->s, 1600, 2100, 8, ids, &n, NULL), 0);
  assert_int_equal(n, 0);
  /* a leased lineage (a renewal under way) is not polled */
  assert_int_equal(
      byoca_store_cert_claim_due(f->s, 7000, 9999, 8, ids, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_int_equal(
      byoca_store_cert_ari_claim(f->s, 2200, 2300, 8, ids, &n, NULL), 0);
  assert_int_equal(n, 0);
  /* the window and the instant chosen in it */
  memset(&r, 0, sizeof(r));
  snprintf(r.serial, sizeof(r.serial), "02");
  r.ari_start = 3000;
  r.ari_end = 4000;
  snprintf(r.ari_explanation, sizeof(r.ari_explanation), "https://ca/why");
  r.ari_next = 5000;
  r.ari_failures = 0;
  r.next_check = 3500;
  snprintf(r.next_source, sizeof(r.next_source), "ari");
  assert_int_equal(byoca_store_cert_ari_set(f->s, id[1], &r, NULL), 0);
  struct byoca_cert_row g;
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id[1], 0, &g, NULL), 0);
  assert_int_equal(g.ari_start, 3000);
  assert_int_equal(g.ari_end, 4000);
  assert_string_equal(g.ari_explanation, "https://ca/why");
  assert_int_equal(g.ari_next, 5000);
  assert_int_equal(g.next_check, 3500);
  assert_string_equal(g.next_source, "ari");
  byoca_cert_row_clear(&g);
  /* a forced renewal stays forced; the window is still recorded */
  assert_int_equal(
      byoca_store_cert_schedule(f->s, t.id, id[1], 100, "forced", NULL), 0);
  r.ari_failures = 2;
  r.next_check = 3900;
  assert_int_equal(byoca_store_cert_ari_set(f->s, id[1], &r, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id[1], 0, &g, NULL), 0);
  assert_int_equal(g.next_check, 100);
  assert_string_equal(g.next_source, "forced");
  assert_int_equal(g.ari_failures, 2);
  byoca_cert_row_clear(&g);
  /* an answer for another serial (renewed meanwhile) changes nothing */
  snprintf(r.serial, sizeof(r.serial), "77");
  r.ari_failures = 4;
  assert_int_equal(byoca_store_cert_ari_set(f->s, id[0], &r, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id[0], 0, &g, NULL), 0);
  assert_int_equal(g.ari_failures, 0);
  assert_int_equal(g.ari_start, 0);
  byoca_cert_row_clear(&g);
  /* never issued: nothing to poll, nothing set */
  assert_int_equal(byoca_store_cert_ari_set(f->s, id[2], &r, NULL), 0);
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id[2], 0, &g, NULL), 0);
  assert_int_equal(g.ari_failures, 0);
  byoca_cert_row_clear(&g);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_cert_add_get_list), T(test_cert_issued),
      T(test_cert_failed),       T(test_cert_deleting),
      T(test_claim_due),         T(test_claim_uses_indexes),
      T(test_claim_nodes),       T(test_claim_skips_locked),
      T(test_nodes_leases),      T(test_outbox),
      T(test_counts_expiring),   T(test_orders),
      T(test_challenges),        T(test_ari),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
