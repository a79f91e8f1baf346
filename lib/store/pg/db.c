/* The PostgreSQL backend: connecting, parameterised statements,
 * transactions, error mapping (SQLSTATE), and its ops table. */
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define MAX_PARAMS 16

/* PostgreSQL's own packing of a SQLSTATE into an int (6 bits a char). */
static int pack_sqlstate(const char *st) {
  int code = 0;
  for (int i = 0; st != NULL && i < 5 && st[i] != '\0'; i++)
    code |= ((st[i] - '0') & 0x3F) << (6 * i);
  return code;
}

/* The first line of a libpq message, without its newline. */
static void first_line(const char *m, char *out, size_t n) {
  byoca_strlcpy(out, m != NULL && *m != '\0' ? m : "unknown error", n);
  out[strcspn(out, "\r\n")] = '\0';
}

/* err from res (or the connection when res has no message): the primary
 * message only, never DETAIL, which may quote values. */
int pq_fail(struct byoca_store *s, struct byoca_err *err, const char *what,
            const PGresult *res) {
  char msg[400];
  const char *st =
      res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *m =
      res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *c =
      res != NULL ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  byoca_strlcpy(s->constraint, c != NULL ? c : "", sizeof(s->constraint));
  first_line(m != NULL ? m : PQerrorMessage(s->pg), msg, sizeof(msg));
  byoca_strlcpy(s->sqlstate, st != NULL ? st : "08006", sizeof(s->sqlstate));
  /* 53100 disk_full (class 53: insufficient resources) is told apart */
  int rc = byoca_err_set(
      err, strcmp(s->sqlstate, "53100") == 0 ? BYOCA_E_NOSPACE : BYOCA_E_IO,
      BYOCA_CLASS_RETRYABLE, "store (postgresql): %s: %s", what, msg);
  byoca_err_native(err, BYOCA_ORIGIN_POSTGRES, pack_sqlstate(s->sqlstate));
  return rc;
}

int pq_oom(struct byoca_err *err, const char *what) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory while %s", what);
}

/* 1 when the server closed an idle connection (a restart, a fail-over,
 * pg_terminate_backend): it said so, or hung up, while we sent nothing.
 * Looked at before a statement, so that a connection idle since then
 * (byocad's periodic work has its own) does not fail the next call. */
static int closed_while_idle(struct byoca_store *s) {
  struct pollfd p = {.fd = PQsocket(s->pg), .events = POLLIN};
  if (p.fd < 0)
    return 1;
  if (poll(&p, 1, 0) <= 0)
    return 0;
  if ((p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0 ||
      !PQconsumeInput(s->pg))
    return 1;
  return PQstatus(s->pg) == CONNECTION_BAD;
}

static int pg_set_app_name(struct byoca_store *s, struct byoca_err *err);

/* A lost connection is re-established between transactions (a server
 * restart, a fail-over); inside one the transaction is lost anyway. */
static void reconnect_if_lost(struct byoca_store *s) {
  if (s->pg_in_txn)
    return;
  if (PQstatus(s->pg) != CONNECTION_BAD && !closed_while_idle(s))
    return;
  PQreset(s->pg);
  if (s->app_name[0] != '\0' && PQstatus(s->pg) == CONNECTION_OK)
    (void)pg_set_app_name(s, NULL); /* a new session has libpq's name */
}

static int pg_set_app_name(struct byoca_store *s, struct byoca_err *err) {
  const char *v[1] = {s->app_name};
  PGresult *r =
      PQexecParams(s->pg, "SELECT set_config('application_name', $1, false)", 1,
                   NULL, v, NULL, NULL, 0);
  int rc = 0;
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    rc = pq_fail(s, err, "naming the connection", r);
  PQclear(r);
  return rc;
}

static PGresult *query_v(struct byoca_store *s, struct byoca_err *err,
                         const char *sql, const char *fmt, va_list ap) {
  const char *vals[MAX_PARAMS];
  int lens[MAX_PARAMS], fmts[MAX_PARAMS], n = 0;
  char ints[MAX_PARAMS][24];
  for (; fmt != NULL && fmt[n] != '\0'; n++) {
    if (n == MAX_PARAMS) {
      byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                    "store: too many parameters");
      return NULL;
    }
    lens[n] = 0;
    fmts[n] = 0;
    if (fmt[n] == 'i') {
      snprintf(ints[n], sizeof(ints[n]), "%lld",
               (long long)va_arg(ap, int64_t));
      vals[n] = ints[n];
    } else if (fmt[n] == 't') {
      vals[n] = va_arg(ap, const char *);
    } else {
      vals[n] = va_arg(ap, const char *);
      lens[n] = (int)va_arg(ap, size_t);
      fmts[n] = 1;
    }
  }
  return pq_query_arr(s, err, sql, n, vals, lens, fmts);
}

PGresult *pq_query_arr(struct byoca_store *s, struct byoca_err *err,
                       const char *sql, int n, const char *const *vals,
                       const int *lens, const int *fmts) {
  reconnect_if_lost(s);
  s->pg_changes = 0;
  PGresult *res = PQexecParams(s->pg, sql, n, NULL, vals, lens, fmts, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    pq_fail(s, err, "running a query", res);
    PQclear(res);
    return NULL;
  }
  s->sqlstate[0] = '\0';
  s->constraint[0] = '\0';
  s->pg_changes = strtoll(PQcmdTuples(res), NULL, 10);
  return res;
}

PGresult *pq_query(struct byoca_store *s, struct byoca_err *err,
                   const char *sql, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *res = query_v(s, err, sql, fmt, ap);
  va_end(ap);
  return res;
}

int pq_exec(struct byoca_store *s, struct byoca_err *err, const char *sql,
            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *res = query_v(s, err, sql, fmt, ap);
  va_end(ap);
  PQclear(res);
  return res != NULL ? 0 : BYOCA_E_IO;
}

int pq_begin(struct byoca_store *s, struct byoca_err *err) {
  int rc = pq_exec(s, err, "BEGIN", NULL);
  s->pg_in_txn = rc == 0;
  return rc;
}

int pq_commit(struct byoca_store *s, struct byoca_err *err) {
  int rc = pq_exec(s, err, "COMMIT", NULL);
  if (rc != 0)
    pq_rollback(s);
  s->pg_in_txn = 0;
  return rc;
}

void pq_rollback(struct byoca_store *s) {
  if (PQtransactionStatus(s->pg) != PQTRANS_IDLE)
    PQclear(PQexec(s->pg, "ROLLBACK"));
  s->pg_in_txn = 0;
}

int pq_state_is(const struct byoca_store *s, const char *state) {
  return strcmp(s->sqlstate, state) == 0;
}

int pq_no_tenant(struct byoca_store *s, int rc, int64_t tenant,
                 struct byoca_err *err) {
  if (rc == 0 || !pq_state_is(s, PQ_FOREIGN_KEY))
    return rc;
  return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)tenant);
}

int pq_cert_tenant(struct byoca_store *s, int64_t cert_id, int64_t *tenant,
                   struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT tenant_id FROM certificates"
                         " WHERE id = $1",
                         "i", cert_id);
  if (r == NULL)
    return BYOCA_E_IO;
  int found = PQntuples(r) > 0;
  if (found)
    *tenant = pq_int(r, 0, 0);
  PQclear(r);
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no certificate %lld", (long long)cert_id);
}

int64_t pq_int(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0
                                  : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pq_str(const PGresult *r, int row, int col, char *out, size_t outlen) {
  byoca_strlcpy(out, PQgetvalue(r, row, col), outlen);
}

char *pq_dup(const PGresult *r, int row, int col) {
  return strdup(PQgetvalue(r, row, col));
}

int pq_blob(const PGresult *r, int row, int col, unsigned char **out,
            size_t *len) {
  *out = NULL;
  *len = 0;
  if (PQgetisnull(r, row, col))
    return 1;
  size_t n = 0;
  unsigned char *u =
      PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
  if (u == NULL)
    return -1;
  *out = malloc(n + 1);
  if (*out != NULL && n > 0)
    memcpy(*out, u, n);
  PQfreemem(u);
  if (*out == NULL)
    return -1;
  *len = n;
  return 0;
}

int pq_open_col(struct byoca_store *s, const PGresult *r, int row, int col,
                int64_t tenant, const char *aad, struct byoca_secret *out,
                struct byoca_err *err) {
  unsigned char *box = NULL;
  size_t n = 0;
  out->data = NULL;
  out->len = 0;
  int got = pq_blob(r, row, col, &box, &n);
  if (got == 1)
    return 0;
  if (got < 0)
    return pq_oom(err, "reading a sealed value");
  int rc = sec_open(s, tenant, aad, box, n, out, err);
  free(box);
  return rc;
}

/* ---- opening ---- */

static void no_notices(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static int pg_open(struct byoca_store *s, const char *url,
                   struct byoca_err *err) {
  char msg[400];
  s->pg = PQconnectdb(url);
  if (s->pg == NULL)
    return pq_oom(err, "connecting to PostgreSQL");
  if (PQstatus(s->pg) != CONNECTION_OK) {
    first_line(PQerrorMessage(s->pg), msg, sizeof(msg));
    byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_RETRYABLE,
                  "cannot connect to the PostgreSQL store: %s", msg);
    byoca_err_native(err, BYOCA_ORIGIN_POSTGRES, pack_sqlstate("08006"));
    return BYOCA_E_IO;
  }
  /* CREATE ... IF NOT EXISTS and the like talk on stderr otherwise */
  PQsetNoticeProcessor(s->pg, no_notices, NULL);
  return pq_migrate(s, err);
}

static void pg_close(struct byoca_store *s) {
  PQfinish(s->pg);
  s->pg = NULL;
}

static int pg_data_key(struct byoca_store *s, int64_t tenant,
                       unsigned char **wrapped, size_t *len,
                       struct byoca_err *err) {
  PGresult *r = pq_query(s, err, "SELECT data_key FROM tenants WHERE id = $1",
                         "i", tenant);
  if (r == NULL)
    return BYOCA_E_IO;
  int got = PQntuples(r) > 0 ? pq_blob(r, 0, 0, wrapped, len) : 1;
  PQclear(r);
  if (got < 0)
    return pq_oom(err, "reading a data key");
  return got == 0 ? 0 : BYOCA_E_NOTFOUND;
}

#define PG_OP_ENTRY(name, params, args) .name = pg_##name,
const struct store_ops store_pg_ops = {.name = "postgresql",
                                       .open = pg_open,
                                       .close = pg_close,
                                       .set_app_name = pg_set_app_name,
                                       .data_key = pg_data_key,
                                       .begin = pq_raw_begin,
                                       .commit = pq_commit,
                                       .rollback = pq_rollback,
                                       .rows = pq_raw_rows,
                                       .insert = pq_raw_insert,
                                       .ids_done = pq_raw_ids_done,
                                       STORE_OPS(PG_OP_ENTRY)};
#undef PG_OP_ENTRY
