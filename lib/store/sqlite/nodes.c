/* The nodes sharing the store (with SQLite, the processes on this machine
 * that open one file): heartbeats, the list with each node's lease count,
 * clearing a node's own leases at start-up and moving them forward while
 * a long order runs. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_node_beat(struct byoca_store *s, int64_t started,
                     const char *version, int tls_alpn, int64_t now,
                     struct byoca_err *err) {
  return db_exec(s, err,
                 "INSERT INTO nodes (name, started, heartbeat, version,"
                 " tls_alpn) VALUES (?1, ?2, ?3, ?4, ?5)"
                 " ON CONFLICT (name) DO UPDATE SET started = ?2,"
                 " heartbeat = ?3, version = ?4, tls_alpn = ?5",
                 "tiiti", s->node, started, now, version != NULL ? version : "",
                 (int64_t)(tls_alpn != 0));
}

int sqlite_node_alpn(struct byoca_store *s, int64_t since, int *any,
                     struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT count(*) FROM nodes WHERE tls_alpn = 1"
                             " AND heartbeat >= ?",
                             "i", since);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *any = sqlite3_column_int64(st, 0) > 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(s, err, "reading the nodes");
}

int sqlite_node_list(struct byoca_store *s, int64_t now,
                     struct byoca_node_row **out, size_t *n,
                     struct byoca_err *err) {
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = db_prep(
      s, err,
      "SELECT n.name, n.started, n.heartbeat, n.version,"
      " (SELECT count(*) FROM certificates c WHERE c.claimed_by = n.name"
      "  AND c.lease_until >= ?), n.tls_alpn"
      " FROM nodes n ORDER BY n.name",
      "i", now);
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, &cap, *n, sizeof(**out), 4) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    struct byoca_node_row *o = &(*out)[(*n)++];
    memset(o, 0, sizeof(*o));
    db_col_str(st, 0, o->name, sizeof(o->name));
    o->started = sqlite3_column_int64(st, 1);
    o->heartbeat = sqlite3_column_int64(st, 2);
    db_col_str(st, 3, o->version, sizeof(o->version));
    o->leases = sqlite3_column_int64(st, 4);
    o->tls_alpn = sqlite3_column_int(st, 5) != 0;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return 0;
  free(*out);
  *out = NULL;
  *n = 0;
  return db_fail(s, err, "listing nodes");
}

int sqlite_cert_release_node(struct byoca_store *s, struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "UPDATE certificates SET lease_until = 0, claimed_by = ''"
                   " WHERE claimed_by = ? AND lease_until != 0",
                   "t", s->node);
  if (rc == 0)
    rc = db_exec(s, err,
                 "UPDATE outbox SET lease_until = 0, claimed_by = ''"
                 " WHERE claimed_by = ?",
                 "t", s->node);
  return rc;
}

int sqlite_cert_lease_extend(struct byoca_store *s, const int64_t *ids,
                             size_t n, int64_t lease_until, size_t *kept,
                             struct byoca_err *err) {
  *kept = 0;
  if (n == 0)
    return 0;
  int rc = db_begin(s, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = db_exec(s, err,
                 "UPDATE certificates SET lease_until = ?"
                 " WHERE id = ? AND claimed_by = ?",
                 "iit", lease_until, ids[i], s->node);
    if (rc == 0)
      *kept += (size_t)db_changes(s);
  }
  if (rc != 0) {
    db_rollback(s);
    *kept = 0;
    return rc;
  }
  return db_commit(s, err);
}
