/* byoca discover output: a report a domain owner can read, and the JSON
 * document byoca(1) specifies. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "discover_out.h"

static json_t *record_json(const struct byoca_caa_verdict *v) {
  const struct byoca_caa_record *rec = v->record;
  json_t *params = json_array();
  for (size_t i = 0; i < v->parsed.nparams; i++)
    json_array_append_new(params, json_pack("[s,s]", v->parsed.params[i].tag,
                                            v->parsed.params[i].value));
  int is_issue = byoca_strcaseeq(rec->tag, "issue") ||
                 byoca_strcaseeq(rec->tag, "issuewild");
  /* a value is bytes: JSON needs valid UTF-8 without control characters */
  char value[1024];
  byoca_str_sanitize(rec->value, value, sizeof(value));
  return json_pack("{s:i,s:s,s:s,s:b,s:s?,s:o,s:b,s:s}", "flags", rec->flags,
                   "tag", rec->tag, "value", value, "valid",
                   is_issue ? v->parsed.valid : 1, "issuer", v->parsed.issuer,
                   "parameters", params, "usable", v->usable, "reason",
                   v->reason);
}

static json_t *ident_json(const struct byoca_caa_ident *id) {
  json_t *recs = json_array(), *auth = json_array();
  for (size_t i = 0; i < id->nverdicts; i++)
    json_array_append_new(recs, record_json(&id->verdicts[i]));
  for (size_t i = 0; i < id->nauthorized; i++)
    json_array_append_new(auth, json_string(id->authorized[i]));
  const struct byoca_caa_rrset *s = id->rrset;
  return json_pack(
      "{s:s,s:b,s:s,s:s?,s:s,s:o,s:o}", "name", id->name, "wildcard",
      id->wildcard, "status", byoca_caa_status_str(id->status),
      "relevant_domain", s != NULL ? s->relevant_domain : NULL, "dnssec",
      byoca_dnssec_str(s != NULL ? s->dnssec : BYOCA_DNSSEC_UNCHECKED),
      "records", recs, "authorized", auth);
}

/* meta.profiles of candidate i: {name: description}, or null when the
 * directory was not read. */
static json_t *profiles_json(const struct dsc_run *r, size_t i) {
  if (r->directory == NULL || r->directory[i] == NULL)
    return json_null();
  json_t *o = json_object();
  for (size_t k = 0; r->profiles != NULL && k < r->nprofiles[i]; k++) {
    char safe[BYOCA_PROFILE_DESC_MAX + 1];
    byoca_str_sanitize(r->profiles[i][k].description, safe, sizeof(safe));
    json_object_set_new(o, r->profiles[i][k].name, json_string(safe));
  }
  return o;
}

void dsc_print_json(const struct dsc_run *r) {
  const struct byoca_caa_discovery *d = &r->disc;
  json_t *ids = json_array(), *groups = json_array(), *cands = json_array();
  for (size_t i = 0; i < d->nidents; i++)
    json_array_append_new(ids, ident_json(&d->idents[i]));
  for (size_t i = 0; i < d->ncandidates; i++) {
    const struct byoca_caa_candidate *c = &d->candidates[i];
    if ((size_t)c->group > json_array_size(groups))
      json_array_append_new(groups, json_array());
    json_array_append_new(json_array_get(groups, json_array_size(groups) - 1),
                          json_string(c->issuer));
    json_array_append_new(
        cands, json_pack("{s:s,s:i,s:I,s:s?,s:s?,s:o}", "issuer", c->issuer,
                         "group", c->group, "score", (json_int_t)c->score,
                         "directory", r->directory ? r->directory[i] : NULL,
                         "error", r->dir_error ? r->dir_error[i] : NULL,
                         "profiles", profiles_json(r, i)));
  }
  json_t *doc = json_pack("{s:s,s:o,s:o,s:o}", "outcome",
                          byoca_caa_outcome_str(d->outcome), "identifiers", ids,
                          "groups", groups, "candidates", cands);
  char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s != NULL)
    puts(s);
  free(s);
  json_decref(doc);
}

static const char *const outcome_text[] = {
    [BYOCA_CAA_TRY_IN_ORDER] = "byoca would try these CAs in this order:",
    [BYOCA_CAA_USE_DEFAULT] = "No CAA record restricts these names: any CA "
                              "may issue, so byoca uses its default CAs.",
    [BYOCA_CAA_NO_COMMON_CA] = "No CA is authorized for every name and usable"
                               " by byoca: a certificate with all these names"
                               " cannot be issued.",
    [BYOCA_CAA_FORBIDDEN_ALL] = "The CAA records forbid issuance for at least"
                                " one name.",
    [BYOCA_CAA_LOOKUP_FAILED] = "The CAA records of at least one name could "
                                "not be read; byoca does not issue until they"
                                " can (it never guesses).",
};

static void print_ident(const struct byoca_caa_ident *id) {
  const struct byoca_caa_rrset *s = id->rrset;
  char safe[600];
  printf("%s%s\n", id->name, id->wildcard ? " (wildcard)" : "");
  if (s != NULL && s->lookup_error) {
    byoca_str_sanitize(s->error, safe, sizeof(safe));
    printf("  lookup failed: %s\n", safe);
  } else if (s == NULL || s->relevant_domain == NULL) {
    printf("  no CAA records here or at any parent: any CA may issue\n");
  } else {
    printf("  CAA records at %s (DNSSEC: %s):\n", s->relevant_domain,
           byoca_dnssec_str(s->dnssec));
  }
  for (size_t i = 0; i < id->nverdicts; i++) {
    const struct byoca_caa_verdict *v = &id->verdicts[i];
    char val[300];
    byoca_str_sanitize(v->record->value, val, sizeof(val));
    printf("    %u %s \"%s\"\n      -> %s\n", v->record->flags, v->record->tag,
           val, v->reason);
  }
  printf("  status: %s", byoca_caa_status_str(id->status));
  for (size_t i = 0; i < id->nauthorized; i++)
    printf("%s%s", i ? ", " : "; authorized: ", id->authorized[i]);
  printf("\n\n");
}

void dsc_print_text(const struct dsc_run *r) {
  const struct byoca_caa_discovery *d = &r->disc;
  for (size_t i = 0; i < d->nidents; i++)
    print_ident(&d->idents[i]);
  printf("%s\n", outcome_text[d->outcome]);
  for (size_t i = 0; i < d->ncandidates; i++) {
    const struct byoca_caa_candidate *c = &d->candidates[i];
    char safe[600];
    printf("  %zu. %s  (group %d, score %lld)\n", i + 1, c->issuer, c->group,
           (long long)c->score);
    if (r->directory != NULL && r->directory[i] != NULL) {
      printf("     directory: %s\n", r->directory[i]);
      for (size_t k = 0; r->profiles != NULL && k < r->nprofiles[i]; k++) {
        char desc[200];
        byoca_str_sanitize(r->profiles[i][k].description, desc, sizeof(desc));
        printf("     %s %s: %s\n", k == 0 ? "profiles:" : "         ",
               r->profiles[i][k].name, desc);
      }
    } else if (r->dir_error != NULL && r->dir_error[i] != NULL) {
      byoca_str_sanitize(r->dir_error[i], safe, sizeof(safe));
      printf("     directory: not usable: %s\n", safe);
    }
  }
}
