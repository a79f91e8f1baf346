/* The API's objects as JSON (the contract's shapes): RFC 3339 times, null
 * for what is unset, never a secret. */
#include <string.h>

#include "bd.h"
#include "byoca/crypto.h"

static json_t *time_or_null(int64_t t) {
  if (t <= 0)
    return json_null();
  char buf[32];
  byoca_time_format_rfc3339(t, buf, sizeof(buf));
  return json_string(buf);
}

static json_t *str_or_null(const char *s) {
  if (s == NULL || s[0] == '\0')
    return json_null();
  json_t *v = json_string(s);
  return v != NULL ? v : json_null(); /* invalid UTF-8 from a CA */
}

static json_t *id_or_null(int64_t id) {
  return id > 0 ? json_integer((json_int_t)id) : json_null();
}

/* Sets key to v (consumed); returns 0, or -1 when v is NULL (NOMEM). */
static int put(json_t *o, const char *key, json_t *v) {
  if (v == NULL)
    return -1;
  return json_object_set_new(o, key, v);
}

json_t *bd_json_tenant(const struct byoca_tenant *t) {
  json_t *o = json_object();
  if (o == NULL || put(o, "id", json_integer((json_int_t)t->id)) != 0 ||
      put(o, "name", json_string(t->name)) != 0 ||
      put(o, "created", time_or_null(t->created)) != 0 ||
      put(o, "state", json_string(t->deleting ? "deleting" : "active")) != 0 ||
      put(o, "profile", str_or_null(t->profile)) != 0 ||
      put(o, "profile_required", json_boolean(t->profile_required)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *identifiers(const char *text) {
  json_t *a = text != NULL ? json_loads(text, 0, NULL) : NULL;
  if (json_is_array(a))
    return a;
  json_decref(a);
  return json_array();
}

/* The contract's short key type name ("ec256"), whatever spelling the
 * store holds. */
static json_t *key_type(const char *stored) {
  enum byoca_keytype t;
  if (stored == NULL || byoca_keytype_parse(stored, &t) != 0)
    return str_or_null(stored);
  return json_string(byoca_keytype_name(t));
}

/* RFC 9773 state of the current certificate, or null when it has no
 * CertID (not issued, imported, or no AKI). */
static json_t *cert_ari(const struct byoca_cert_row *r) {
  if (r->ari_cert_id[0] == '\0')
    return json_null();
  json_t *o = json_object();
  if (o == NULL || put(o, "cert_id", json_string(r->ari_cert_id)) != 0 ||
      put(o, "window_start", time_or_null(r->ari_start)) != 0 ||
      put(o, "window_end", time_or_null(r->ari_end)) != 0 ||
      put(o, "explanation_url", str_or_null(r->ari_explanation)) != 0 ||
      put(o, "next_poll", time_or_null(r->ari_next)) != 0 ||
      put(o, "failures", json_integer(r->ari_failures)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *lifetime(const struct byoca_cert_row *r) {
  if (r->not_after <= r->not_before || r->not_before <= 0)
    return json_null();
  return json_integer((json_int_t)(r->not_after - r->not_before));
}

static int cert_issue_part(json_t *o, const struct byoca_cert_row *r) {
  return put(o, "issuer", str_or_null(r->issuer)) != 0 ||
         put(o, "directory", str_or_null(r->directory)) != 0 ||
         put(o, "serial", str_or_null(r->serial)) != 0 ||
         put(o, "not_before", time_or_null(r->not_before)) != 0 ||
         put(o, "not_after", time_or_null(r->not_after)) != 0 ||
         put(o, "lifetime", lifetime(r)) != 0 ||
         put(o, "ari", cert_ari(r)) != 0;
}

static int cert_sched_part(json_t *o, const struct byoca_cert_row *r) {
  return put(o, "next_check", time_or_null(r->next_check)) != 0 ||
         put(o, "next_check_source", str_or_null(r->next_source)) != 0 ||
         put(o, "failures", json_integer(r->failures)) != 0 ||
         put(o, "last_attempt", time_or_null(r->last_attempt)) != 0 ||
         put(o, "last_outcome", str_or_null(r->last_outcome)) != 0 ||
         put(o, "created", time_or_null(r->created)) != 0 ||
         put(o, "updated", time_or_null(r->updated)) != 0;
}

json_t *bd_json_cert(const struct byoca_cert_row *r) {
  json_t *o = json_object();
  if (o == NULL || put(o, "id", json_integer((json_int_t)r->id)) != 0 ||
      put(o, "tenant", json_integer((json_int_t)r->tenant_id)) != 0 ||
      put(o, "identifiers", identifiers(r->identifiers_json)) != 0 ||
      put(o, "key_type", key_type(r->key_type)) != 0 ||
      put(o, "ca", json_string(r->ca[0] != '\0' ? r->ca : "auto")) != 0 ||
      put(o, "profile", str_or_null(r->profile)) != 0 ||
      put(o, "profile_required", json_boolean(r->profile_required)) != 0 ||
      put(o, "issued_profile", str_or_null(r->issued_profile)) != 0 ||
      put(o, "state", json_string(byoca_cert_state_str(r->state))) != 0 ||
      cert_issue_part(o, r) != 0 || cert_sched_part(o, r) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *bd_json_event(const struct byoca_event *e) {
  json_t *detail =
      e->detail_json != NULL ? json_loads(e->detail_json, 0, NULL) : NULL;
  if (!json_is_object(detail)) {
    json_decref(detail);
    detail = json_object();
  }
  json_t *o = json_object();
  if (o == NULL) {
    json_decref(detail);
    return NULL;
  }
  if (put(o, "detail", detail) != 0 ||
      put(o, "id", json_integer((json_int_t)e->id)) != 0 ||
      put(o, "time", time_or_null(e->ts)) != 0 ||
      put(o, "tenant", id_or_null(e->tenant_id)) != 0 ||
      put(o, "certificate", id_or_null(e->cert_id)) != 0 ||
      put(o, "type", json_string(e->type)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *bd_json_ca(const struct byoca_ca_health *h) {
  json_t *o = json_object();
  if (o == NULL || put(o, "issuer", json_string(h->issuer)) != 0 ||
      put(o, "failures", json_integer(h->failures)) != 0 ||
      put(o, "backoff_until", time_or_null(h->backoff_until)) != 0 ||
      put(o, "last_ok", time_or_null(h->last_ok)) != 0 ||
      put(o, "last_failure", time_or_null(h->last_failure)) != 0 ||
      put(o, "last_error", str_or_null(h->last_error)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *bd_json_token(const struct byoca_token_info *t, int64_t tenant) {
  json_t *o = json_object();
  if (o == NULL || put(o, "id", json_integer((json_int_t)t->id)) != 0 ||
      put(o, "tenant", id_or_null(tenant)) != 0 ||
      put(o, "label", json_string(t->label)) != 0 ||
      put(o, "created", time_or_null(t->created)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *bd_json_node(const struct byoca_node_row *r, int alive, int self) {
  json_t *o = json_object();
  if (o == NULL || put(o, "name", json_string(r->name)) != 0 ||
      put(o, "status", json_string(alive ? "alive" : "down")) != 0 ||
      put(o, "self", json_boolean(self)) != 0 ||
      put(o, "started", time_or_null(r->started)) != 0 ||
      put(o, "heartbeat", time_or_null(r->heartbeat)) != 0 ||
      put(o, "version", str_or_null(r->version)) != 0 ||
      put(o, "leases", json_integer(r->leases)) != 0 ||
      put(o, "tls_alpn", json_boolean(r->tls_alpn)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *bd_json_list(json_t *items, int64_t last) {
  if (items == NULL)
    return NULL;
  json_t *o = json_object();
  if (o == NULL) {
    json_decref(items);
    return NULL;
  }
  if (json_object_set_new(o, "items", items) != 0) {
    json_decref(o);
    return NULL;
  }
  if (put(o, "next_after", id_or_null(last)) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}
