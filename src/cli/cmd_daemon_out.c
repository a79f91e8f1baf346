/* What byoca daemon prints: compact tables and "key: value" views of the
 * API's objects, and one line per API error. Everything the daemon sends
 * (tenant names, CA error text) is sanitised before it reaches a
 * terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_daemon.h"

#define DOUT_MAX 1024

const struct dcol dout_tenant_cols[] = {
    {"ID", "id", 5, NULL},
    {"STATE", "state", 9, NULL},
    {"CREATED", "created", 20, NULL},
    {"NAME", "name", 0, NULL},
    {NULL, NULL, 0, NULL},
};
const struct dcol dout_cert_cols[] = {
    {"ID", "id", 6, NULL},
    {"STATE", "state", 9, NULL},
    {"NOT_AFTER", "not_after", 20, NULL},
    {"NEXT_CHECK", "next_check", 20, NULL},
    {"SOURCE", "next_check_source", 8, NULL},
    {"ISSUER", "issuer", 22, "directory"},
    {"IDENTIFIERS", "identifiers", 0, NULL},
    {NULL, NULL, 0, NULL},
};
const struct dcol dout_event_cols[] = {
    {"ID", "id", 7, NULL},         {"TIME", "time", 20, NULL},
    {"TENANT", "tenant", 6, NULL}, {"CERT", "certificate", 6, NULL},
    {"TYPE", "type", 24, NULL},    {"DETAIL", "detail", 0, NULL},
    {NULL, NULL, 0, NULL},
};
const struct dcol dout_ca_cols[] = {
    {"ISSUER", "issuer", 26, NULL},
    {"FAILURES", "failures", 8, NULL},
    {"BACKOFF_UNTIL", "backoff_until", 20, NULL},
    {"LAST_OK", "last_ok", 20, NULL},
    {"LAST_ERROR", "last_error", 0, NULL},
    {NULL, NULL, 0, NULL},
};
const struct dcol dout_rfc2136_cols[] = {
    {"ZONE", "zone", 24, NULL},        {"SERVER", "server", 24, NULL},
    {"PORT", "port", 5, NULL},         {"ALGORITHM", "algorithm", 11, NULL},
    {"KEY_NAME", "key_name", 0, NULL}, {NULL, NULL, 0, NULL},
};
const struct dcol dout_token_cols[] = {
    {"ID", "id", 6, NULL},
    {"CREATED", "created", 20, NULL},
    {"LABEL", "label", 0, NULL},
    {NULL, NULL, 0, NULL},
};
const struct dcol dout_eab_cols[] = {
    {"ISSUER", "issuer", 30, NULL},
    {"KID", "kid", 0, NULL},
    {NULL, NULL, 0, NULL},
};

/* Joins an array of strings with ","; other arrays are dumped. */
static const char *join_strings(json_t *v, char *buf, size_t n) {
  struct byoca_buf b;
  size_t i;
  json_t *s;
  int rc = 0;
  byoca_buf_init(&b, 64 * 1024);
  json_array_foreach(v, i, s) {
    if (!json_is_string(s)) {
      byoca_buf_free(&b);
      return NULL;
    }
    if (rc == 0 && i > 0)
      rc = byoca_buf_appends(&b, ",");
    if (rc == 0)
      rc = byoca_buf_appends(&b, json_string_value(s));
  }
  byoca_str_sanitize(b.data != NULL ? b.data : "", buf, n);
  byoca_buf_free(&b);
  return buf;
}

const char *dout_value(json_t *v, char *buf, size_t n) {
  char num[32];
  if (v == NULL || json_is_null(v)) {
    byoca_strlcpy(buf, "-", n);
  } else if (json_is_string(v)) {
    byoca_str_sanitize(json_string_value(v), buf, n);
  } else if (json_is_integer(v)) {
    snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    byoca_strlcpy(buf, num, n);
  } else if (json_is_array(v) && join_strings(v, buf, n) != NULL) {
    /* done */
  } else {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    byoca_str_sanitize(s != NULL ? s : "?", buf, n);
    free(s);
  }
  return buf;
}

static json_t *cell(json_t *obj, const struct dcol *c) {
  json_t *v = json_object_get(obj, c->key);
  if ((v == NULL || json_is_null(v)) && c->alt != NULL)
    v = json_object_get(obj, c->alt);
  return v;
}

static void print_row(const struct dcol *cols, json_t *obj) {
  char val[DOUT_MAX];
  for (const struct dcol *c = cols; c->head != NULL; c++) {
    const char *s =
        obj != NULL ? dout_value(cell(obj, c), val, sizeof(val)) : c->head;
    if (c[1].head == NULL)
      printf("%s\n", s);
    else
      printf("%-*s ", c->width, s);
  }
}

void dout_table(json_t *items, const struct dcol *cols, const char *empty) {
  size_t i;
  json_t *obj;
  if (json_array_size(items) == 0) {
    printf("%s\n", empty);
    return;
  }
  print_row(cols, NULL);
  json_array_foreach(items, i, obj) print_row(cols, obj);
}

/* One "key: value" line per member; a nested object's members as
 * "key.member: value" (the certificate's "ari"). */
static void object_lines(json_t *obj, const char *prefix) {
  const char *key;
  json_t *v;
  char k[128], label[260], val[DOUT_MAX];
  json_object_foreach(obj, key, v) {
    byoca_str_sanitize(key, k, sizeof(k));
    if (json_is_object(v) && prefix[0] == '\0' && json_object_size(v) > 0) {
      object_lines(v, k);
      continue;
    }
    snprintf(label, sizeof(label), "%s%s%s:", prefix, prefix[0] ? "." : "", k);
    printf("%-18s %s\n", label, dout_value(v, val, sizeof(val)));
  }
}

void dout_object(json_t *obj) {
  object_lines(obj, "");
}

void dout_problem(const struct byoca_local_resp *r, int no_token) {
  json_t *p = json_loadb(r->body.data != NULL ? r->body.data : "", r->body.len,
                         0, NULL);
  const char *title = json_string_value(json_object_get(p, "title"));
  const char *detail = json_string_value(json_object_get(p, "detail"));
  if (title != NULL && detail != NULL && detail[0] != '\0')
    cli_error("%s: %s", title, detail);
  else if (title != NULL)
    cli_error("%s", title);
  else
    cli_error("byocad answered HTTP %ld", r->status);
  if (r->status == 401 && no_token)
    fprintf(stderr, "byoca: no API token was given: use --token-file FILE,"
                    " $BYOCA_TOKEN_FILE or $BYOCA_TOKEN\n");
  json_decref(p);
}

void dout_raw(const struct byoca_local_resp *r) {
  if (r->body.len > 0)
    fwrite(r->body.data, 1, r->body.len, stdout);
  if (r->body.len == 0 || r->body.data[r->body.len - 1] != '\n')
    putchar('\n');
}
