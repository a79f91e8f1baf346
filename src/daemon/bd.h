/* byocad internals: the daemon state, one API call's context, and the
 * helpers the handlers (api_*.c, wellknown.c, metrics.c) share. */
#ifndef BYOCAD_BD_H
#define BYOCAD_BD_H

#include <jansson.h>
#include <stdint.h>

#include "byoca/manager.h"
#include "byoca/net.h"
#include "body_parse.h"
#include "byoca/store.h"
#include "config.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define BD_MAX_PARAMS 3  /* {..} segments in a route */
#define BD_LIST_MAX 1000 /* ?limit= at most */
#define BD_LIST_DEFAULT 100

/* The loop lag meter (lag.c). */
struct bd_lag {
  struct byoca_timer *timer;
  int64_t due_us;        /* when the timer is due (monotonic) */
  int64_t window_end_us; /* end of the current window */
  int64_t cur_max_us;    /* worst lateness in the current window */
  int64_t prev_max_us;   /* and in the one before */
};

/* The running daemon. */
struct bd {
  struct bd_config cfg;
  const char *config_arg; /* -c FILE as given, for reloads */
  struct byoca_loop *loop;
  struct byoca_netpolicy *policy;
  struct byoca_resolver *resolver;
  struct byoca_http *http;
  struct byoca_store *store;
  struct byoca_manager *mgr;
  struct byoca_httpd *api;   /* api_listen: the REST API and public paths */
  struct byoca_httpd *web;   /* http_listen: public paths only */
  struct byoca_solver *alpn; /* [tls-alpn] listen: answers from the store */
  struct byoca_signal *sig[4];
  struct byoca_timer *drain_timer;
  int draining;
  int drained;
  int managed; /* the manager started: its leases are handed back at exit */
  struct bd_lag lag;
};

/* Who may call a route. */
enum bd_scope {
  BD_PUBLIC,   /* no token */
  BD_OPERATOR, /* the operator token only; tenant token -> 403 */
  BD_TENANT,   /* a tenant token, or the operator with ?tenant=ID */
  BD_ANY,      /* either token; the operator sees every tenant */
};

/* One request being answered. */
struct bd_call {
  struct bd *d;
  struct byoca_httpd_req *req;
  const char *method; /* HEAD is routed as GET */
  const char *verb;   /* as sent (HEAD stays HEAD), for the access log */
  const char *path;
  const char *param[BD_MAX_PARAMS]; /* the route's {..} segments */
  int is_operator;                  /* caller holds the operator token */
  int64_t tenant; /* tenant acted on; 0 none (operator-wide) */
  int status;     /* what was answered, for the access log */
  int api;        /* on the API listener (else http_listen) */
  int64_t start_ms;
  int deferred; /* answered later (byoca_httpd_defer): logged then */
  /* the store connection the handler uses: byocad's on the loop, a store
     lane's on a lane (server.c) */
  struct byoca_store *store;
  const char *auth;  /* the Authorization header, NULL if none */
  const char *ctype; /* the Content-Type header, NULL if none */
  /* set while the call runs on a store lane: the answer is kept here and
     sent from the loop afterwards (server.c) */
  struct bd_later *later;
  void *ctx; /* a handler's own state across its steps (prep, then) */
  void (*ctx_free)(void *ctx);
  /* set by a handler: runs on the loop once the handler's store work is
     done (what it asks of the manager), and answers when the handler did
     not (c->status still 0) */
  void (*then)(struct bd_call *c);
  int64_t then_id;      /* the lineage or tenant then acts on */
  int64_t node_alive_s; /* the manager's, for GET /v1/nodes (its prep) */
};

typedef void (*bd_handler)(struct bd_call *c);

/* ---- answers (server.c, problem.c) ---- */

/* The access-log line of an answered call. */
void bd_log_request(const struct bd_call *c);
/* Answers raw bytes; every answer goes through here (access log). */
void bd_reply(struct bd_call *c, int status, const char *content_type,
              const void *body, size_t len, const char *const *headers);
/* Answers obj (consumed) as application/json. */
void bd_reply_json(struct bd_call *c, int status, json_t *obj,
                   const char *const *headers);
/* The same for an answer holding a secret (a new token): the text is
 * wiped after sending. */
void bd_reply_json_secret(struct bd_call *c, int status, json_t *obj,
                          const char *const *headers);
/* Answers an RFC 7807 problem with the contract's name for status; detail
 * is sanitised. */
void bd_problem(struct bd_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers 405 with "Allow: allow". */
void bd_problem_405(struct bd_call *c, const char *allow);
/* Answers the problem for a failed library call: the status from the
 * error code, the detail from its message (500s are logged instead, with
 * a generic detail). */
void bd_problem_err(struct bd_call *c, const struct byoca_err *err);

/* ---- request input (body.c, server.c) ---- */

/* The request body as a JSON object with only the listed fields, of their
 * types: Content-Type application/json (415), nesting <= 32, valid JSON
 * without duplicate keys, an object (400 naming what was wrong). With
 * allow_empty an empty body gives an empty object. On failure the problem
 * has been answered and NULL is returned. */
json_t *bd_body(struct bd_call *c, const struct bd_field *fields, size_t n,
                int allow_empty);
/* Path parameter i as a positive id; answers 404 and returns -1 if it is
 * not one. */
int bd_param_id(struct bd_call *c, size_t i, int64_t *out);
/* ?after= and ?limit= (defaults 0 and 100); answers 400 and returns -1 if
 * malformed. */
int bd_page(struct bd_call *c, int64_t *after, size_t *limit);
/* A 0/1 query flag (absent = 0); answers 400 and returns -1 otherwise. */
int bd_query_flag(struct bd_call *c, const char *name, int *out);
/* Appends an audit event; logs (never answers) on failure. */
int bd_event(struct bd_call *c, int64_t tenant, int64_t cert, const char *type,
             json_t *detail);

/* ---- JSON objects (json_out.c) ---- */

json_t *bd_json_tenant(const struct byoca_tenant *t);
json_t *bd_json_cert(const struct byoca_cert_row *r);
json_t *bd_json_event(const struct byoca_event *e);
/* A node of GET /v1/nodes (alive: heartbeat recent; self: this one). */
json_t *bd_json_node(const struct byoca_node_row *r, int alive, int self);
json_t *bd_json_ca(const struct byoca_ca_health *h);
/* A token as listed (tenant 0 = an operator token): id, tenant, label,
 * created; never the secret or its hash. */
json_t *bd_json_token(const struct byoca_token_info *t, int64_t tenant);
/* {"items": items, "next_after": last id or null}; items consumed. */
json_t *bd_json_list(json_t *items, int64_t last);

/* ---- routes ---- */

void api_tenants_create(struct bd_call *c);
void api_tenants_list(struct bd_call *c);
void api_tenants_get(struct bd_call *c);
void api_tenants_delete(struct bd_call *c);
void api_tenants_profile(struct bd_call *c);
void api_tokens_create(struct bd_call *c);
void api_tokens_delete(struct bd_call *c);
void api_tokens_list(struct bd_call *c);
void api_optokens_create(struct bd_call *c);
void api_optokens_list(struct bd_call *c);
void api_optokens_delete(struct bd_call *c);
void api_certs_add(struct bd_call *c);
void api_certs_import(struct bd_call *c);
void api_certs_list(struct bd_call *c);
void api_certs_get(struct bd_call *c);
void api_certs_delete(struct bd_call *c);
void api_certs_renew(struct bd_call *c);
void api_certs_chain(struct bd_call *c);
void api_eab_put(struct bd_call *c);
void api_eab_list(struct bd_call *c);
void api_eab_delete(struct bd_call *c);
void api_rfc2136_put(struct bd_call *c);
void api_rfc2136_list(struct bd_call *c);
void api_rfc2136_delete(struct bd_call *c);
void api_events_list(struct bd_call *c);
void api_cas_list(struct bd_call *c);
void api_nodes_list(struct bd_call *c);
/* On the loop before api_nodes_list: what it needs of the manager. */
void api_nodes_prep(struct bd_call *c);
/* GET /metrics (metrics.c): prep on the loop, then the store read (on a
 * store lane on PostgreSQL), then the text on the loop. */
void metrics_prep(struct bd_call *c);
void wk_challenge(struct bd_call *c);
void wk_acme_keys(struct bd_call *c);
void wk_healthz(struct bd_call *c);
void metrics_get(struct bd_call *c);

/* ---- the server (server.c) and the process (run.c, init.c) ---- */

/* Creates the API and http-01 servers and listens on the configured
 * addresses. */
int bd_server_start(struct bd *d, struct byoca_err *err);
void bd_server_stop(struct bd *d);
/* The manager's options from cfg (strings borrowed from cfg; the arrays
 * live in *keep until bd_mopts_free). */
struct bd_mopts {
  struct byoca_manager_opts o;
  const char **default_cas;
  struct byoca_manager_ca *cas;
  struct byoca_manager_rfc2136 *zones;
};
int bd_mopts_build(struct bd *d, const struct bd_config *cfg,
                   struct bd_mopts *out);
void bd_mopts_free(struct bd_mopts *m);
/* Starts and stops measuring how late the loop runs (lag.c). */
void bd_lag_start(struct bd *d);
void bd_lag_stop(struct bd *d);
/* The worst lateness of the loop over the last 10 to 20 seconds, in
 * seconds (the lag timer's own lateness if it is overdue now counts). */
double bd_lag_seconds(const struct bd *d);
/* Applies log_json and log_level. */
void bd_log_apply(const struct bd_config *cfg);
/* At exit, after the manager is gone: kills the hook processes still
 * running (with their children) and runs the loop until lib/net reported
 * their ends, at most 2 s (children.c). */
void bd_children_stop(struct bd *d);

/* Opens the store of cfg with its master key (created, with the state
 * folders, when create is set: `byocad init`). */
int bd_store_open(const struct bd_config *cfg, int create,
                  struct byoca_store **out, struct byoca_err *err);
/* Prints a failure on stderr (a log line). */
void bd_report(const struct byoca_err *err);

int bd_cmd_run(const char *config);
int bd_cmd_init(const char *config, const char *token_file);
int bd_cmd_token(const char *config, const char *token_file);
/* byocad migrate-store FROM TO (migrate.c). */
int bd_cmd_migrate(const char *config, const char *from, const char *to);

#endif
