/* SQLite: certificate lineages, their current certificate and sealed
 * key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

#define CERT_COLS                                                              \
  "id, tenant_id, identifiers, key_type, ca, profile, state, issuer,"          \
  " directory, serial, not_before, not_after, next_check, next_source,"        \
  " failures, last_attempt, last_outcome, created, updated, lease_until,"      \
  " fullchain, revoke_on_delete, claimed_by, profile_required,"                \
  " issued_profile, ari_cert_id, ari_start, ari_end, ari_explanation,"         \
  " ari_next, ari_failures"

static int read_cert(sqlite3_stmt *st, int with_pem, struct byoca_cert_row *r) {
  memset(r, 0, sizeof(*r));
  r->id = sqlite3_column_int64(st, 0);
  r->tenant_id = sqlite3_column_int64(st, 1);
  r->identifiers_json = db_col_dup(st, 2);
  db_col_str(st, 3, r->key_type, sizeof(r->key_type));
  db_col_str(st, 4, r->ca, sizeof(r->ca));
  db_col_str(st, 5, r->profile, sizeof(r->profile));
  r->state = (enum byoca_cert_state)sqlite3_column_int(st, 6);
  db_col_str(st, 7, r->issuer, sizeof(r->issuer));
  db_col_str(st, 8, r->directory, sizeof(r->directory));
  db_col_str(st, 9, r->serial, sizeof(r->serial));
  r->not_before = sqlite3_column_int64(st, 10);
  r->not_after = sqlite3_column_int64(st, 11);
  r->next_check = sqlite3_column_int64(st, 12);
  db_col_str(st, 13, r->next_source, sizeof(r->next_source));
  r->failures = sqlite3_column_int(st, 14);
  r->last_attempt = sqlite3_column_int64(st, 15);
  db_col_str(st, 16, r->last_outcome, sizeof(r->last_outcome));
  r->created = sqlite3_column_int64(st, 17);
  r->updated = sqlite3_column_int64(st, 18);
  r->lease_until = sqlite3_column_int64(st, 19);
  r->revoke_on_delete = sqlite3_column_int(st, 21);
  db_col_str(st, 22, r->claimed_by, sizeof(r->claimed_by));
  r->profile_required = sqlite3_column_int(st, 23);
  db_col_str(st, 24, r->issued_profile, sizeof(r->issued_profile));
  db_col_str(st, 25, r->ari_cert_id, sizeof(r->ari_cert_id));
  r->ari_start = sqlite3_column_int64(st, 26);
  r->ari_end = sqlite3_column_int64(st, 27);
  db_col_str(st, 28, r->ari_explanation, sizeof(r->ari_explanation));
  r->ari_next = sqlite3_column_int64(st, 29);
  r->ari_failures = sqlite3_column_int(st, 30);
  if (with_pem && sqlite3_column_type(st, 20) != SQLITE_NULL)
    r->fullchain_pem = db_col_dup(st, 20);
  if (r->identifiers_json == NULL ||
      (with_pem && sqlite3_column_type(st, 20) != SQLITE_NULL &&
       r->fullchain_pem == NULL))
    return BYOCA_E_NOMEM;
  return 0;
}

int sqlite_cert_add(struct byoca_store *s, int64_t tenant_id,
                    const struct byoca_cert_row *row, int64_t now,
                    const struct byoca_event *ev, int64_t *id_out,
                    struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  rc = db_exec(s, err,
               "INSERT INTO certificates (tenant_id, identifiers, key_type, ca,"
               " profile, profile_required, state, next_check, next_source,"
               " created, updated)"
               " VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'new', ?, ?)",
               "ittttiiii", tenant_id, row->identifiers_json, row->key_type,
               row->ca[0] ? row->ca : "auto", row->profile,
               (int64_t)(row->profile_required != 0), now, now, now);
  rc = db_no_tenant(s, rc, tenant_id, err);
  int64_t id = rc == 0 ? sqlite3_last_insert_rowid(s->db) : 0;
  if (rc == 0 && ev != NULL) {
    struct byoca_event e2 = *ev;
    e2.cert_id = id;
    rc = sqlite_event_put(s, &e2, err);
  }
  if (rc == 0)
    rc = db_commit(s, err);
  else
    db_rollback(s);
  if (rc == 0 && id_out != NULL)
    *id_out = id;
  return rc;
}

int sqlite_cert_get(struct byoca_store *s, int64_t tenant_id, int64_t id,
                    int with_pem, struct byoca_cert_row *out,
                    struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT " CERT_COLS " FROM certificates"
                             " WHERE id = ? AND (? = 0 OR tenant_id = ?)",
                             "iii", id, tenant_id, tenant_id);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no certificate %lld", (long long)id)
               : db_fail(s, err, "reading a certificate");
  }
  rc = read_cert(st, with_pem, out);
  sqlite3_finalize(st);
  if (rc != 0) {
    byoca_cert_row_clear(out);
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  }
  return 0;
}

int sqlite_cert_list(struct byoca_store *s, int64_t tenant_id, int64_t after,
                     size_t limit, struct byoca_cert_row **out, size_t *n,
                     struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT " CERT_COLS " FROM certificates"
                             " WHERE tenant_id = ? AND id > ?"
                             " ORDER BY id LIMIT ?",
                             "iii", tenant_id, after, (int64_t)limit);
  int rc = SQLITE_DONE;
  *out = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  if (limit > 0 && (*out = calloc(limit, sizeof(**out))) == NULL)
    rc = SQLITE_NOMEM;
  while (*out != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
    if (read_cert(st, 0, &(*out)[(*n)++]) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return 0;
  byoca_cert_rows_free(*out, *n);
  *out = NULL;
  *n = 0;
  return rc == SQLITE_NOMEM
             ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                             "out of memory listing certificates")
             : db_fail(s, err, "listing certificates");
}

int sqlite_cert_key(struct byoca_store *s, int64_t tenant_id, int64_t id,
                    struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[96];
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT tenant_id, key FROM certificates"
                             " WHERE id = ? AND (? = 0 OR tenant_id = ?)",
                             "iii", id, tenant_id, tenant_id);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW || sqlite3_column_type(st, 1) == SQLITE_NULL) {
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "certificate %lld has no key", (long long)id)
               : db_fail(s, err, "reading a certificate key");
  }
  int64_t tenant = sqlite3_column_int64(st, 0);
  store_aad_cert(tenant, id, aad, sizeof(aad));
  rc = sec_open_col(s, st, 1, tenant, aad, key_pem, err);
  sqlite3_finalize(st);
  return rc;
}

static int write_issued(struct byoca_store *s, int64_t id,
                        const struct byoca_cert_row *r, const char *pem,
                        const unsigned char *box, size_t boxlen,
                        struct byoca_err *err) {
  int64_t now = byoca_now();
  int rc = db_exec(
      s, err,
      "UPDATE certificates SET state = 1, issuer = ?, directory = ?,"
      " serial = ?, not_before = ?, not_after = ?, fullchain = ?, key = ?,"
      " next_check = ?, next_source = ?, failures = 0, last_attempt = ?,"
      " last_outcome = ?, updated = ?, lease_until = 0, claimed_by = '',"
      " issued_profile = ?, ari_cert_id = ?, ari_start = 0, ari_end = 0,"
      " ari_explanation = '', ari_next = ?, ari_failures = 0"
      " WHERE id = ? AND state != 3",
      "tttiitbititittii", r->issuer, r->directory, r->serial, r->not_before,
      r->not_after, pem, box, boxlen, r->next_check,
      r->next_source[0] ? r->next_source : "lifetime", now, r->last_outcome,
      now, r->issued_profile, r->ari_cert_id, r->ari_next, id);
  if (rc == 0 && db_changes(s) == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "certificate %lld is gone or being deleted",
                       (long long)id);
  if (rc == 0)
    rc = db_exec(s, err, "DELETE FROM orders WHERE cert_id = ?", "i", id);
  return rc;
}

int sqlite_cert_issued(struct byoca_store *s, int64_t id,
                       const struct byoca_cert_row *row,
                       const char *fullchain_pem,
                       const struct byoca_secret *key_pem,
                       const struct byoca_event *ev, struct byoca_err *err) {
  char aad[96];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  int64_t tenant = 0;
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = db_cert_tenant(s, id, &tenant, err)) == 0) {
    store_aad_cert(tenant, id, aad, sizeof(aad));
    rc = sec_seal(s, tenant, aad, key_pem->data, key_pem->len, &box, &boxlen,
                  err);
  }
  if (rc == 0)
    rc = write_issued(s, id, row, fullchain_pem, box, boxlen, err);
  free(box);
  if (rc == 0 && ev != NULL)
    rc = sqlite_event_put(s, ev, err);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  /* no checkpoint here: the previous key was sealed under a live data key
     and SQLite's automatic checkpoints move its pages on; a checkpoint per
     issuance would cost an fsync each */
  return db_commit(s, err);
}

int sqlite_cert_failed(struct byoca_store *s, int64_t id, const char *outcome,
                       int64_t next_check, int64_t now, struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  rc = db_exec(
      s, err,
      "UPDATE certificates SET failures = failures + 1,"
      " last_outcome = ?, last_attempt = ?, next_check = ?,"
      " next_source = 'retry', updated = ?, lease_until = 0, claimed_by = '',"
      " state = CASE WHEN state = 0 THEN 2 ELSE state END"
      " WHERE id = ?",
      "tiiii", outcome != NULL ? outcome : "", now, next_check, now, id);
  if (rc == 0)
    rc = db_exec(s, err, "DELETE FROM orders WHERE cert_id = ?", "i", id);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  return db_commit(s, err);
}

int sqlite_cert_schedule(struct byoca_store *s, int64_t tenant_id, int64_t id,
                         int64_t next_check, const char *source,
                         struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "UPDATE certificates SET next_check = ?, next_source = ?,"
                   " updated = ? WHERE id = ? AND (? = 0 OR tenant_id = ?)"
                   " AND state != 3",
                   "itiiii", next_check, source, byoca_now(), id, tenant_id,
                   tenant_id);
  if (rc == 0 && db_changes(s) == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)id);
  return rc;
}

int sqlite_cert_set_deleting(struct byoca_store *s, int64_t tenant_id,
                             int64_t id, int revoke, struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "UPDATE certificates SET state = 3, next_check = 0,"
                   " revoke_on_delete = ?, updated = ?"
                   " WHERE id = ? AND (? = 0 OR tenant_id = ?)",
                   "iiiii", (int64_t)(revoke != 0), byoca_now(), id, tenant_id,
                   tenant_id);
  if (rc == 0 && db_changes(s) == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)id);
  return rc;
}

int sqlite_cert_destroy(struct byoca_store *s, int64_t id,
                        const struct byoca_event *ev, struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  rc = db_exec(s, err, "DELETE FROM challenge_tokens WHERE cert_id = ?", "i",
               id);
  if (rc == 0)
    rc = db_exec(s, err, "DELETE FROM certificates WHERE id = ?", "i", id);
  if (rc == 0 && ev != NULL)
    rc = sqlite_event_put(s, ev, err);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  if ((rc = db_commit(s, err)) == 0)
    db_checkpoint(s, 1);
  return rc;
}
