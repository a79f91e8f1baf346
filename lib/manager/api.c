/* What the REST API asks of the manager: adding, renewing and deleting
 * lineages and deleting tenants (importing: import.c). Each request has a
 * store part (*_store: input checked, err naming what was wrong, class
 * input; the store changed and the change audited, on the store it is
 * given and nothing else, so byocad runs it off the loop) and a manager
 * part on the loop (the scheduler kicked so work starts on the next loop
 * turn, running jobs stopped); nothing here waits for the network. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mgr_int.h"

#define PROFILE_MAX 63

/* ---- identifiers ---- */

void mgr_names_free(char **v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++)
    free(v[i]);
  free(v);
}

int mgr_names_parse(const char *json, char ***out, size_t *n) {
  json_t *a = json != NULL ? json_loads(json, 0, NULL) : NULL;
  size_t cnt = json_is_array(a) ? json_array_size(a) : 0;
  char **v = cnt > 0 ? calloc(cnt, sizeof(*v)) : NULL;
  int rc = v != NULL ? 0 : BYOCA_E_INVAL;
  for (size_t i = 0; rc == 0 && i < cnt; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s == NULL || (v[i] = strdup(s)) == NULL)
      rc = BYOCA_E_INVAL;
  }
  json_decref(a);
  if (rc != 0) {
    mgr_names_free(v, cnt);
    return rc;
  }
  *out = v;
  *n = cnt;
  return 0;
}

static char *lower_dup(const char *s) {
  char *d = strdup(s);
  for (char *p = d; p != NULL && *p != '\0'; p++)
    *p = (char)tolower((unsigned char)*p);
  return d;
}

/* The identifiers as a JSON array: checked, lowercase, no duplicates. */
char *mgr_names_json(const char *const *names, size_t n,
                     struct byoca_err *err) {
  if (names == NULL || n == 0 || n > BYOCA_STORE_MAX_IDENTS) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "identifiers: between 1 and %d names are needed",
                  BYOCA_STORE_MAX_IDENTS);
    return NULL;
  }
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++) {
    char safe[300];
    byoca_str_sanitize(names[i] != NULL ? names[i] : "", safe, sizeof(safe));
    if (names[i] == NULL || byoca_acme_check_name(names[i], err) != 0) {
      byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                    "identifiers: invalid name '%.260s'", safe);
      json_decref(a);
      return NULL;
    }
    for (size_t k = 0; k < i; k++)
      if (byoca_strcaseeq(names[k], names[i])) {
        byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                      "identifiers: duplicate name '%.260s'", safe);
        json_decref(a);
        return NULL;
      }
    char *l = lower_dup(names[i]);
    json_array_append_new(a, json_string(l != NULL ? l : ""));
    free(l);
  }
  char *s = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
  json_decref(a);
  if (s == NULL)
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  return s;
}

/* ---- other fields ---- */

/* The API's spelling of a key type (docs/api.md). */
const char *mgr_keytype_api_name(enum byoca_keytype t) {
  return byoca_keytype_name(t);
}

static int check_key_type(const char *kt, char *out, size_t outlen,
                          struct byoca_err *err) {
  enum byoca_keytype t = BYOCA_KEY_EC256;
  if (kt != NULL && byoca_keytype_parse(kt, &t) != 0) {
    char safe[64];
    byoca_str_sanitize(kt, safe, sizeof(safe));
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "key_type: unknown key type '%s' (ec256, ec384,"
                         " rsa2048, rsa3072, rsa4096, ed25519)",
                         safe);
  }
  byoca_strlcpy(out, mgr_keytype_api_name(t), outlen);
  return 0;
}

/* "auto", an issuer-domain-name (lowercased) or an https directory URL. */
int mgr_check_ca(const char *ca, char *out, size_t outlen,
                 struct byoca_err *err) {
  char safe[200];
  if (ca == NULL || *ca == '\0' || strcasecmp(ca, "auto") == 0) {
    byoca_strlcpy(out, "auto", outlen);
    return 0;
  }
  byoca_str_sanitize(ca, safe, sizeof(safe));
  if (strlen(ca) >= outlen)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "ca: too long");
  if (mgr_is_url(ca)) {
    char *scheme = NULL, *host = NULL;
    int port = 0, rc = byoca_url_split(ca, &scheme, &host, &port);
    int ok =
        rc == 0 && host != NULL && *host != '\0' && strchr(ca, ' ') == NULL;
    free(scheme);
    free(host);
    if (!ok)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "ca: '%s' is not a valid https URL", safe);
    byoca_strlcpy(out, ca, outlen);
    return 0;
  }
  struct byoca_err e = {0};
  int bad = strchr(ca, ':') != NULL || strncmp(ca, "*.", 2) == 0 ||
            strspn(ca, "0123456789.") == strlen(ca) ||
            byoca_acme_check_name(ca, &e) != 0;
  byoca_err_clear(&e);
  if (bad)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "ca: '%s' is neither auto, an issuer domain name nor"
                         " an https URL",
                         safe);
  char *l = lower_dup(ca);
  if (l == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  byoca_strlcpy(out, l, outlen);
  free(l);
  return 0;
}

static int check_profile(const char *p, char *out, size_t outlen,
                         struct byoca_err *err) {
  out[0] = '\0';
  if (p == NULL || *p == '\0')
    return 0;
  size_t n = strlen(p);
  if (n > PROFILE_MAX || n >= outlen ||
      strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789._-") != n) {
    char safe[80];
    byoca_str_sanitize(p, safe, sizeof(safe));
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "profile: '%s' is not a profile name (1-63 of"
                         " A-Z a-z 0-9 . _ -)",
                         safe);
  }
  byoca_strlcpy(out, p, outlen);
  return 0;
}

int mgr_tenant_active(struct byoca_store *s, int64_t tenant_id,
                      struct byoca_err *err) {
  struct byoca_tenant t;
  int rc = byoca_store_tenant_get(s, tenant_id, &t, err);
  if (rc != 0)
    return rc;
  if (t.deleting)
    return byoca_err_set(err, BYOCA_E_CONFLICT, BYOCA_CLASS_INPUT,
                         "tenant %lld is being deleted", (long long)tenant_id);
  return 0;
}

/* ---- add ---- */

json_t *mgr_added_detail(const struct byoca_cert_row *r) {
  json_t *d = json_pack("{s:s,s:s}", "key_type", r->key_type, "ca", r->ca);
  json_t *ids = json_loads(r->identifiers_json, 0, NULL);
  if (d != NULL && ids != NULL)
    json_object_set_new(d, "identifiers", ids);
  else
    json_decref(ids);
  if (d != NULL)
    json_object_set_new(d, "profile",
                        r->profile[0] != '\0' ? json_string(r->profile)
                                              : json_null());
  if (d != NULL && r->profile_required)
    json_object_set_new(d, "profile_required", json_true());
  return d;
}

int byoca_manager_add(struct byoca_manager *m, int64_t tenant_id,
                      const char *const *names, size_t nnames,
                      const char *key_type, const char *ca, const char *profile,
                      int64_t *id_out, struct byoca_err *err) {
  struct byoca_manager_cert_req req = {.names = names,
                                       .nnames = nnames,
                                       .key_type = key_type,
                                       .ca = ca,
                                       .profile = profile};
  return byoca_manager_add_req(m, tenant_id, &req, id_out, err);
}

int byoca_manager_add_req(struct byoca_manager *m, int64_t tenant_id,
                          const struct byoca_manager_cert_req *req,
                          int64_t *id_out, struct byoca_err *err) {
  int rc = byoca_manager_add_store(m->store, tenant_id, req, id_out, err);
  if (rc == 0)
    mgr_kick(m);
  return rc;
}

int byoca_manager_add_store(struct byoca_store *s, int64_t tenant_id,
                            const struct byoca_manager_cert_req *req,
                            int64_t *id_out, struct byoca_err *err) {
  struct byoca_cert_row row;
  int64_t id = 0;
  const char *const *names = req->names;
  size_t nnames = req->nnames;
  const char *key_type = req->key_type, *ca = req->ca, *profile = req->profile;
  memset(&row, 0, sizeof(row));
  int rc = mgr_tenant_active(s, tenant_id, err);
  if (rc == 0 && req->profile_required && (profile == NULL || *profile == '\0'))
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "profile_required: needs a profile");
  row.profile_required = req->profile_required != 0;
  if (rc == 0 &&
      (rc = check_key_type(key_type, row.key_type, sizeof(row.key_type),
                           err)) == 0 &&
      (rc = mgr_check_ca(ca, row.ca, sizeof(row.ca), err)) == 0 &&
      (rc = check_profile(profile, row.profile, sizeof(row.profile), err)) ==
          0 &&
      (row.identifiers_json = mgr_names_json(names, nnames, err)) == NULL)
    rc = err != NULL && err->code != 0 ? err->code : BYOCA_E_INVAL;
  if (rc == 0) {
    /* the audit event lands with the lineage, in one transaction */
    struct byoca_event ev;
    json_t *d = mgr_added_detail(&row);
    mgr_event_prepare(&ev, tenant_id, 0, "certificate.added", d);
    json_decref(d);
    rc = byoca_store_cert_add(s, tenant_id, &row, byoca_now(), &ev, &id, err);
    mgr_event_done(&ev);
  }
  if (rc == 0) {
    byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: added (%s)",
              (long long)id, (long long)tenant_id, row.ca);
    if (id_out != NULL)
      *id_out = id;
  }
  free(row.identifiers_json);
  return rc;
}

/* ---- renew ---- */

int byoca_manager_renew(struct byoca_manager *m, int64_t tenant_id,
                        int64_t cert_id, struct byoca_err *err) {
  int rc = byoca_manager_renew_store(m->store, tenant_id, cert_id, err);
  if (rc == 0)
    mgr_kick(m);
  return rc;
}

int byoca_manager_renew_store(struct byoca_store *s, int64_t tenant_id,
                              int64_t cert_id, struct byoca_err *err) {
  struct byoca_cert_row row;
  struct byoca_err e = {0};
  memset(&row, 0, sizeof(row));
  int rc = byoca_store_cert_get(s, tenant_id, cert_id, 0, &row, err);
  if (rc == 0 && row.state == BYOCA_CERT_DELETING)
    rc = byoca_err_set(err, BYOCA_E_CONFLICT, BYOCA_CLASS_INPUT,
                       "certificate %lld is being deleted", (long long)cert_id);
  byoca_cert_row_clear(&row);
  if (rc == 0)
    rc = byoca_store_cert_schedule(s, tenant_id, cert_id, byoca_now(), "forced",
                                   err);
  if (rc != 0)
    return rc;
  byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: renewal forced",
            (long long)cert_id, (long long)tenant_id);
  if (byoca_store_event_notify(s, tenant_id, cert_id,
                               "certificate.renew_forced", NULL, byoca_now_ms(),
                               NULL, NULL, &e) != 0) {
    byoca_log(BYOCA_LOG_WARN,
              "cannot record the event certificate.renew_forced: %s", e.msg);
    byoca_err_clear(&e);
  }
  return 0;
}

/* ---- delete ---- */

void byoca_manager_delete_start(struct byoca_manager *m, int64_t cert_id) {
  struct mgr_job *j = mgr_job_find(m, cert_id);
  if (j != NULL && j->kind == MGR_JOB_DELETE)
    return;
  if (j != NULL) {
    mgr_job_log(j, BYOCA_LOG_INFO, "stopping: deletion requested");
    mgr_job_abort(j);
    if (m->started && !m->draining)
      mgr_job_start(m, cert_id);
    return;
  }
  mgr_kick(m);
}

int byoca_manager_delete_store(struct byoca_store *s, int64_t tenant_id,
                               int64_t cert_id, int revoke,
                               struct byoca_err *err) {
  struct byoca_cert_row row;
  memset(&row, 0, sizeof(row));
  int rc = byoca_store_cert_get(s, tenant_id, cert_id, 0, &row, err);
  int was = rc == 0 && row.state == BYOCA_CERT_DELETING;
  byoca_cert_row_clear(&row);
  if (rc == 0 && !was)
    rc = byoca_store_cert_set_deleting(s, tenant_id, cert_id, revoke, err);
  if (rc != 0)
    return rc;
  byoca_log(BYOCA_LOG_INFO, "cert %lld tenant %lld: deletion requested%s",
            (long long)cert_id, (long long)tenant_id,
            revoke ? "" : " (without revocation)");
  return 0;
}

int byoca_manager_delete(struct byoca_manager *m, int64_t tenant_id,
                         int64_t cert_id, int revoke, struct byoca_err *err) {
  int rc =
      byoca_manager_delete_store(m->store, tenant_id, cert_id, revoke, err);
  if (rc == 0)
    byoca_manager_delete_start(m, cert_id);
  return rc;
}

int byoca_manager_delete_tenant_store(struct byoca_store *s, int64_t tenant_id,
                                      struct byoca_err *err) {
  struct byoca_tenant t;
  int rc = byoca_store_tenant_get(s, tenant_id, &t, err);
  if (rc == 0 && !t.deleting)
    rc = byoca_store_tenant_set_deleting(s, tenant_id, err);
  if (rc != 0)
    return rc;
  byoca_log(BYOCA_LOG_INFO, "tenant %lld: deletion requested",
            (long long)tenant_id);
  /* its lineages go to deletion (the sweep marks what is left) */
  if (mgr_tenant_mark(s, tenant_id) < 0)
    byoca_log(BYOCA_LOG_WARN, "tenant %lld: cannot mark its certificates yet",
              (long long)tenant_id);
  return 0;
}

void byoca_manager_delete_tenant_start(struct byoca_manager *m,
                                       int64_t tenant_id) {
  /* its running jobs stop; their lineages go to deletion at once */
  int64_t *stopped = calloc(m->njobs + 1, sizeof(*stopped));
  size_t nstopped = 0;
  for (struct mgr_job *j = m->jobs, *next; j != NULL; j = next) {
    next = j->next;
    if (j->tenant_id != tenant_id || j->kind == MGR_JOB_DELETE)
      continue;
    if (stopped != NULL)
      stopped[nstopped++] = j->cert_id;
    mgr_job_abort(j);
  }
  for (size_t i = 0; i < nstopped && m->started && !m->draining; i++)
    mgr_job_start(m, stopped[i]);
  free(stopped);
  m->tenant_sweep = 1;
  mgr_kick(m);
}

int byoca_manager_delete_tenant(struct byoca_manager *m, int64_t tenant_id,
                                struct byoca_err *err) {
  int rc = byoca_manager_delete_tenant_store(m->store, tenant_id, err);
  if (rc == 0)
    byoca_manager_delete_tenant_start(m, tenant_id);
  return rc;
}
