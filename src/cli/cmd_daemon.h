/* byoca daemon: the operator's and tenants' command line for byocad's REST
 * API (docs/man/byoca.1, DAEMON COMMANDS). cmd_daemon.c parses and sends;
 * cmd_daemon_out.c turns the API's JSON into compact human output. */
#ifndef BYOCA_CLI_CMD_DAEMON_H
#define BYOCA_CLI_CMD_DAEMON_H

#include <jansson.h>
#include <stddef.h>

#include "byoca/net.h"

/* byoca daemon [--socket SPEC] [--token-file FILE] [--json] VERB ... */
int cmd_daemon(int argc, char **argv);

/* A column of a table: its heading, the object member it shows (or alt
 * when that one is null), and the width it is padded to (0 = last
 * column, not padded). */
struct dcol {
  const char *head;
  const char *key;
  int width;
  const char *alt;
};

/* The columns of each object's table. */
extern const struct dcol dout_tenant_cols[];
extern const struct dcol dout_cert_cols[];
extern const struct dcol dout_event_cols[];
extern const struct dcol dout_ca_cols[];
extern const struct dcol dout_eab_cols[];
extern const struct dcol dout_rfc2136_cols[];
extern const struct dcol dout_token_cols[];

/* Prints one row per object of items under a heading line, or empty (a
 * line such as "no certificates") when there is none. Every value goes
 * through byoca_str_sanitize. */
void dout_table(json_t *items, const struct dcol *cols, const char *empty);
/* Prints every member of obj as "key: value", in the order received. */
void dout_object(json_t *obj);
/* Formats one JSON value for a human into buf (sanitised): strings as
 * they are, null as "-", numbers, arrays of strings joined by ",",
 * anything else as compact JSON. Returns buf. */
const char *dout_value(json_t *v, char *buf, size_t n);
/* Prints the error an API answer carries as "byoca: <title>: <detail>"
 * (problem documents) or "byoca: byocad answered HTTP <status>"; with
 * no_token, a 401 adds how to give one. */
void dout_problem(const struct byoca_local_resp *r, int no_token);
/* Prints a body as received (for --json and /metrics), ending it with a
 * newline. */
void dout_raw(const struct byoca_local_resp *r);

#endif
