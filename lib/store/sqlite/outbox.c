/* The outbox of webhook notifications: an event that notifies is inserted
 * with its notification in one transaction; due rows are claimed under a
 * lease, posted, and deleted or retried later, so a notification
 * survives a restart and is sent by one process. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

static int outbox_add(struct byoca_store *s, const char *type, const char *url,
                      const char *body, int64_t now_ms, struct byoca_err *err) {
  return db_exec(s, err,
                 "INSERT INTO outbox (created, type, url, body, next_try_ms)"
                 " VALUES (?, ?, ?, ?, ?)",
                 "ittti", now_ms / 1000, type, url, body != NULL ? body : "{}",
                 now_ms);
}

int sqlite_event_put(struct byoca_store *s, const struct byoca_event *ev,
                     struct byoca_err *err) {
  int rc = sqlite_event_add(s, ev->tenant_id, ev->cert_id, ev->type,
                            ev->detail_json, ev->ts, err);
  if (rc == 0 && ev->notify_url != NULL)
    rc = outbox_add(s, ev->type, ev->notify_url, ev->notify_body,
                    byoca_now_ms(), err);
  return rc;
}

int sqlite_event_notify(struct byoca_store *s, int64_t tenant_id,
                        int64_t cert_id, const char *type,
                        const char *detail_json, int64_t now_ms,
                        const char *url, const char *body,
                        struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  rc = sqlite_event_add(s, tenant_id, cert_id, type, detail_json, now_ms / 1000,
                        err);
  if (rc == 0 && url != NULL)
    rc = outbox_add(s, type, url, body, now_ms, err);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  return db_commit(s, err);
}

static int claim(struct byoca_store *s, int64_t now_ms, int64_t lease_until,
                 size_t max, struct byoca_outbox_row **out, size_t *n,
                 struct byoca_err *err) {
  size_t cap = 0;
  int rc;
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT id, type, url, body, tries FROM outbox"
                             " WHERE next_try_ms <= ? AND lease_until < ?"
                             " ORDER BY next_try_ms, id LIMIT ?",
                             "iii", now_ms, now_ms / 1000, (int64_t)max);
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, &cap, *n, sizeof(**out), 8) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    struct byoca_outbox_row *o = &(*out)[(*n)++];
    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(st, 0);
    db_col_str(st, 1, o->type, sizeof(o->type));
    o->url = db_col_dup(st, 2);
    o->body = db_col_dup(st, 3);
    o->tries = sqlite3_column_int(st, 4);
    if (o->url == NULL || o->body == NULL) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return db_fail(s, err, "claiming notifications");
  if (*n == 0)
    return 0;
  return db_exec_ids(s, err,
                     "UPDATE outbox SET lease_until = ?, claimed_by = ?"
                     " WHERE id = ?",
                     &(*out)[0].id, sizeof(**out), *n, "it", lease_until,
                     s->node);
}

int sqlite_outbox_claim(struct byoca_store *s, int64_t now_ms,
                        int64_t lease_until, size_t max,
                        struct byoca_outbox_row **out, size_t *n,
                        struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  if (max == 0)
    return 0;
  /* an idle tick reads, and leaves the write lock to others */
  int rc = db_any(s, err,
                  "SELECT 1 FROM outbox WHERE next_try_ms <= ?"
                  " AND lease_until < ? LIMIT 1",
                  "ii", now_ms, now_ms / 1000);
  if (rc <= 0)
    return rc;
  rc = db_begin(s, err);
  if (rc == 0 && (rc = claim(s, now_ms, lease_until, max, out, n, err)) != 0)
    db_rollback(s);
  else if (rc == 0)
    rc = db_commit(s, err);
  if (rc != 0) {
    byoca_outbox_rows_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int sqlite_outbox_done(struct byoca_store *s, int64_t id,
                       struct byoca_err *err) {
  return db_exec(s, err, "DELETE FROM outbox WHERE id = ?", "i", id);
}

int sqlite_outbox_retry(struct byoca_store *s, int64_t id, int64_t next_try_ms,
                        const char *error, struct byoca_err *err) {
  return db_exec(s, err,
                 "UPDATE outbox SET tries = tries + 1, next_try_ms = ?,"
                 " last_error = ?, lease_until = 0, claimed_by = ''"
                 " WHERE id = ?",
                 "iti", next_try_ms, error != NULL ? error : "", id);
}

int sqlite_outbox_count(struct byoca_store *s, int64_t *n,
                        struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err, "SELECT count(*) FROM outbox", NULL);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(s, err, "counting notifications");
}
