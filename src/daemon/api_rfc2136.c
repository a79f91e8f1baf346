/* Tenant endpoints for the tenant's own RFC 2136 servers, per zone
 * ("*" = any name, its zone found by SOA at the server): dns-01 and
 * dns-account-01 records of the tenant's lineages go there before the
 * provider's [rfc2136] zones are considered. The TSIG secret is
 * write-only: checked, stored sealed, never answered, never logged. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"
#include "byoca/manager.h"

#define ZONE_MAX 253
#define SECRET_MAX 1024

/* The zone of path parameter 0 into out: "" for "*", else lower case
 * without the trailing dot; answers 400 and returns -1 if malformed. */
static int zone_param(struct bd_call *c, char *out, size_t len) {
  const char *v = c->param[0];
  size_t n = strlen(v), label = 0;
  if (strcmp(v, "*") == 0) {
    out[0] = '\0';
    return 0;
  }
  if (n > 1 && v[n - 1] == '.')
    n--;
  int ok = n > 0 && n <= ZONE_MAX && n < len;
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch == '.') {
      ok = label > 0;
      label = 0;
    } else {
      ok = (isalnum(ch) || ch == '-' || ch == '_') && ++label <= 63;
    }
    out[i] = (char)tolower(ch);
  }
  if (!ok || label == 0) {
    bd_problem(c, 400,
               "zone: expected a DNS zone name (or * for any name, its"
               " zone found by SOA)");
    return -1;
  }
  out[n] = '\0';
  return 0;
}

/* The server address, port, key name and algorithm of the body into row;
 * answers 400 and returns -1 when one is missing or malformed. */
static int row_fields(struct bd_call *c, json_t *b,
                      struct byoca_rfc2136_row *row) {
  const char *server = json_string_value(json_object_get(b, "server"));
  const char *key = json_string_value(json_object_get(b, "key_name"));
  const char *alg = json_string_value(json_object_get(b, "algorithm"));
  json_t *port = json_object_get(b, "port");
  unsigned char addr[sizeof(struct in6_addr)];
  char safe[80];
  if (strlen(server) >= sizeof(row->server) ||
      (inet_pton(AF_INET, server, addr) != 1 &&
       inet_pton(AF_INET6, server, addr) != 1)) {
    byoca_str_sanitize(server, safe, sizeof(safe));
    bd_problem(c, 400, "server: '%s' is not an IPv4 or IPv6 address", safe);
    return -1;
  }
  json_int_t p = port != NULL ? json_integer_value(port) : 53;
  if (p < 1 || p > 65535) {
    bd_problem(c, 400, "port: %lld is not 1-65535", (long long)p);
    return -1;
  }
  if (alg == NULL)
    alg = "hmac-sha256";
  if (strcmp(alg, "hmac-sha256") != 0 && strcmp(alg, "hmac-sha512") != 0) {
    byoca_str_sanitize(alg, safe, sizeof(safe));
    bd_problem(c, 400, "algorithm: '%s' is not hmac-sha256 or hmac-sha512",
               safe);
    return -1;
  }
  if (key[0] == '\0' || strlen(key) >= sizeof(row->key_name)) {
    bd_problem(c, 400, "key_name: 1 to %zu characters",
               sizeof(row->key_name) - 1);
    return -1;
  }
  byoca_strlcpy(row->server, server, sizeof(row->server));
  row->port = (int)p;
  byoca_strlcpy(row->key_name, key, sizeof(row->key_name));
  byoca_strlcpy(row->algorithm, alg, sizeof(row->algorithm));
  return 0;
}

/* Checks the whole entry as a job's solver will (no loop needed: on a
 * store lane too), then stores it; answers. */
static void put_entry(struct bd_call *c, const struct byoca_rfc2136_row *row,
                      const struct byoca_secret *secret) {
  struct byoca_err e = {0};
  if (byoca_rfc2136_row_check(row, secret, &e) != 0) {
    bd_problem(c, 400, "%s", e.msg);
  } else if (byoca_store_rfc2136_put(c->store, c->tenant, row, secret, &e) !=
             0) {
    bd_problem_err(c, &e);
  } else {
    bd_event(c, c->tenant, 0, "rfc2136.set",
             json_pack("{s:s,s:s,s:i,s:s,s:s}", "zone",
                       row->zone[0] ? row->zone : "*", "server", row->server,
                       "port", row->port, "key_name", row->key_name,
                       "algorithm", row->algorithm));
    bd_reply(c, 204, NULL, NULL, 0, NULL);
  }
  byoca_err_clear(&e);
}

void api_rfc2136_put(struct bd_call *c) {
  static const struct bd_field f[] = {{"server", BD_T_STRING, 1},
                                      {"port", BD_T_INT, 0},
                                      {"key_name", BD_T_STRING, 1},
                                      {"algorithm", BD_T_STRING, 0},
                                      {"secret", BD_T_STRING, 1}};
  struct byoca_rfc2136_row row = {0};
  if (zone_param(c, row.zone, sizeof(row.zone)) != 0)
    return;
  json_t *b = bd_body(c, f, sizeof(f) / sizeof(f[0]), 0);
  if (b == NULL)
    return;
  json_t *sj = json_object_get(b, "secret");
  size_t slen = json_string_length(sj);
  struct byoca_secret secret = {0};
  if (slen == 0 || slen > SECRET_MAX)
    bd_problem(c, 400, "secret: the base64 TSIG secret, 1 to %d characters",
               SECRET_MAX);
  else if ((secret.data = malloc(slen + 1)) == NULL)
    bd_problem(c, 500, "out of memory");
  else {
    memcpy(secret.data, json_string_value(sj), slen + 1);
    secret.len = slen;
    if (row_fields(c, b, &row) == 0)
      put_entry(c, &row, &secret);
  }
  byoca_secret_free(&secret);
  explicit_bzero((char *)json_string_value(sj), slen);
  json_decref(b);
}

void api_rfc2136_list(struct bd_call *c) {
  struct byoca_rfc2136_row *rows = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_rfc2136_list(c->store, c->tenant, &rows, NULL, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; items != NULL && i < n; i++) {
    const struct byoca_rfc2136_row *r = &rows[i];
    char created[32];
    byoca_time_format_rfc3339(r->created, created, sizeof(created));
    json_array_append_new(items, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "zone",
                                           r->zone[0] ? r->zone : "*", "server",
                                           r->server, "port", r->port,
                                           "key_name", r->key_name, "algorithm",
                                           r->algorithm, "created", created));
  }
  free(rows);
  bd_reply_json(c, 200, items ? json_pack("{s:o}", "items", items) : NULL,
                NULL);
}

void api_rfc2136_delete(struct bd_call *c) {
  char zone[ZONE_MAX + 2];
  if (zone_param(c, zone, sizeof(zone)) != 0)
    return;
  struct byoca_err e = {0};
  int rc = byoca_store_rfc2136_delete(c->store, c->tenant, zone, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "no RFC 2136 server for zone %s", zone[0] ? zone : "*");
  else if (rc != 0)
    bd_problem_err(c, &e);
  else {
    bd_event(c, c->tenant, 0, "rfc2136.deleted",
             json_pack("{s:s}", "zone", zone[0] ? zone : "*"));
    bd_reply(c, 204, NULL, NULL, 0, NULL);
  }
  byoca_err_clear(&e);
}
