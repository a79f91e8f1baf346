/* Tenant endpoints for External Account Binding credentials per CA
 * (issuer-domain-name, or the directory URL, percent-encoded, for a CA
 * pinned by URL). The MAC key is write-only: stored sealed, never
 * answered, never logged. */
#include <ctype.h>
#include <string.h>

#include "bd.h"

#define KID_MAX 255
#define MAC_MIN 16
#define MAC_MAX 256

/* The issuer of path parameter 0, checked, domain names lowercased, into
 * out; answers 400 and returns -1 if malformed. */
static int issuer_param(struct bd_call *c, char *out, size_t len) {
  const char *v = c->param[0];
  size_t n = strlen(v);
  int url = strncmp(v, "https://", 8) == 0 && n > 8;
  int ok = n > 0 && n < len && n <= 253;
  for (size_t i = 0; ok && i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    ok = url ? ch > 0x20 && ch < 0x7f : isalnum(ch) || ch == '.' || ch == '-';
    out[i] = url ? (char)ch : (char)tolower(ch);
  }
  if (!ok || (!url && (v[0] == '.' || v[n - 1] == '.'))) {
    bd_problem(c, 400,
               "issuer: expected an issuer-domain-name or an https"
               " directory URL");
    return -1;
  }
  out[n] = '\0';
  return 0;
}

/* The MAC key decoded into *mac; answers 400 (never quoting it). */
static int mac_key(struct bd_call *c, json_t *v, struct byoca_secret *mac) {
  unsigned char *raw = NULL;
  size_t len = 0;
  const char *s = json_string_value(v);
  if (byoca_b64url_decode(s, json_string_length(v), &raw, &len) != 0) {
    bd_problem(c, 400,
               "hmac_key: not base64url (RFC 4648 section 5, no"
               " padding)");
    return -1;
  }
  mac->data = raw;
  mac->len = len;
  if (len < MAC_MIN || len > MAC_MAX) {
    byoca_secret_free(mac);
    bd_problem(c, 400, "hmac_key: must decode to %d to %d bytes", MAC_MIN,
               MAC_MAX);
    return -1;
  }
  return 0;
}

static int kid_ok(struct bd_call *c, const char *kid) {
  char safe[KID_MAX * 4 + 8];
  byoca_str_sanitize(kid, safe, sizeof(safe));
  if (kid[0] == '\0' || strlen(kid) > KID_MAX || strcmp(safe, kid) != 0) {
    bd_problem(c, 400, "kid: 1 to %d printable characters", KID_MAX);
    return 0;
  }
  return 1;
}

void api_eab_put(struct bd_call *c) {
  static const struct bd_field f[] = {{"kid", BD_T_STRING, 1},
                                      {"hmac_key", BD_T_STRING, 1}};
  char issuer[256];
  if (issuer_param(c, issuer, sizeof(issuer)) != 0)
    return;
  json_t *b = bd_body(c, f, 2, 0);
  if (b == NULL)
    return;
  json_t *hk = json_object_get(b, "hmac_key");
  const char *kid = json_string_value(json_object_get(b, "kid"));
  struct byoca_secret mac = {0};
  struct byoca_err e = {0};
  if (kid_ok(c, kid) && mac_key(c, hk, &mac) == 0) {
    if (byoca_store_eab_put(c->store, c->tenant, issuer, kid, &mac, &e) != 0)
      bd_problem_err(c, &e);
    else {
      bd_event(c, c->tenant, 0, "eab.set",
               json_pack("{s:s,s:s}", "issuer", issuer, "kid", kid));
      bd_reply(c, 204, NULL, NULL, 0, NULL);
    }
  }
  byoca_secret_free(&mac);
  explicit_bzero((char *)json_string_value(hk), json_string_length(hk));
  json_decref(b);
  byoca_err_clear(&e);
}

void api_eab_list(struct bd_call *c) {
  char **issuers = NULL, **kids = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_eab_list(c->store, c->tenant, &issuers, &kids, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  json_t *items = json_array();
  for (size_t i = 0; i < n; i++) {
    if (items != NULL)
      json_array_append_new(
          items, json_pack("{s:s,s:s}", "issuer", issuers[i], "kid", kids[i]));
    free(issuers[i]);
    free(kids[i]);
  }
  free(issuers);
  free(kids);
  bd_reply_json(c, 200, items ? json_pack("{s:o}", "items", items) : NULL,
                NULL);
}

void api_eab_delete(struct bd_call *c) {
  char issuer[256];
  if (issuer_param(c, issuer, sizeof(issuer)) != 0)
    return;
  struct byoca_err e = {0};
  int rc = byoca_store_eab_delete(c->store, c->tenant, issuer, &e);
  if (rc == BYOCA_E_NOTFOUND)
    bd_problem(c, 404, "no EAB credentials for %s", issuer);
  else if (rc != 0)
    bd_problem_err(c, &e);
  else {
    bd_event(c, c->tenant, 0, "eab.deleted",
             json_pack("{s:s}", "issuer", issuer));
    bd_reply(c, 204, NULL, NULL, 0, NULL);
  }
  byoca_err_clear(&e);
}
