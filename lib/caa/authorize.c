/* The judgement of one identifier: which records of its Relevant RRset
 * apply to it (RFC 8659 §4.2-§4.5), which of them grant an issuer to us
 * (RFC 8657 accounturi / validationmethods against our accounts and
 * methods), what the draft's priority and discovery parameters say, and a
 * reason for every record's fate that a domain owner can act on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "caa_int.h"

static const char *const known_tags[] = {
    "issue",    "issuewild",    "iodef",       "issuemail",
    "issuevmc", "contactemail", "contactphone"};

static const char *const default_methods[] = {"http-01", "dns-01",
                                              "tls-alpn-01"};

/* What the records of one RRset say as a whole, for one identifier. */
struct judge {
  struct byoca_caa_ident *id;
  const struct byoca_caa_policy *policy;
  const char *critical; /* the first critical unknown tag, or NULL */
  int any_wild;         /* some issuewild record exists */
  int any_relevant;     /* some issue/issuewild record applies */
  int granted;          /* some applicable record names an issuer */
};

int caa_tag_known(const char *tag) {
  for (size_t i = 0; i < sizeof(known_tags) / sizeof(*known_tags); i++)
    if (byoca_strcaseeq(tag, known_tags[i]))
      return 1;
  return 0;
}

static int is_alnum(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* Writes the verdict's reason, sanitised: it quotes DNS data and is printed
 * raw by front ends. */
static void say(struct byoca_caa_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct byoca_caa_verdict *v, const char *fmt, ...) {
  char tmp[sizeof(v->reason)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  byoca_str_sanitize(tmp, v->reason, sizeof(v->reason));
}

int64_t caa_priority(const struct byoca_caa_value *v, char *why, size_t n) {
  char none[1];
  if (why == NULL || n == 0) {
    why = none;
    n = sizeof(none);
  }
  why[0] = '\0';
  size_t count = 0;
  const char *p = byoca_caa_value_param(v, "priority", &count);
  uint64_t u = 0;
  if (count == 0)
    return 0;
  if (count > 1) {
    snprintf(why, n, "priority given %zu times, so none counts", count);
    return 0;
  }
  if (p[0] < '1' || p[0] > '9' || byoca_parse_uint(p, INT32_MAX, &u) != 0) {
    snprintf(why, n,
             "priority '%s' ignored (must be 1 to 2147483647, no leading "
             "zeros)",
             p);
    return 0;
  }
  return (int64_t)u;
}

static int have_account(const struct byoca_caa_policy *p, const char *issuer,
                        const char *url) {
  for (size_t i = 0; p->accounts != NULL && i < p->naccounts; i++) {
    const struct byoca_caa_account *a = &p->accounts[i];
    if (a->issuer != NULL && a->url != NULL &&
        byoca_strcaseeq(a->issuer, issuer) && strcmp(a->url, url) == 0)
      return 1;
  }
  return 0;
}

static int can_perform(const struct byoca_caa_policy *p, const char *m,
                       size_t len) {
  const char *const *ms = p->methods != NULL ? p->methods : default_methods;
  size_t n = p->methods != NULL ? p->nmethods
                                : sizeof(default_methods) / sizeof(char *);
  for (size_t i = 0; i < n; i++)
    if (ms[i] != NULL && strlen(ms[i]) == len && memcmp(ms[i], m, len) == 0)
      return 1;
  return 0;
}

/* RFC 8657 §4: value = [*(label ",") label], label = 1*(ALPHA / DIGIT /
 * "-"). An invalid label makes the record unsatisfiable (D-VM-BAD); so
 * does an empty list (it allows no method). */
static int methods_ok(const struct byoca_caa_policy *p, const char *vm,
                      char *why, size_t n) {
  if (*vm == '\0') {
    snprintf(why, n, "validationmethods is empty, so it allows no method");
    return 0;
  }
  int shared = 0;
  for (const char *s = vm;;) {
    size_t len = 0;
    while (is_alnum((unsigned char)s[len]) || s[len] == '-')
      len++;
    if (len == 0 || (s[len] != ',' && s[len] != '\0')) {
      snprintf(why, n,
               "validationmethods %s has an invalid method name, so it "
               "cannot be satisfied",
               vm);
      return 0;
    }
    shared |= can_perform(p, s, len);
    if (s[len] == '\0')
      break;
    s += len + 1;
  }
  if (!shared)
    snprintf(why, n, "validationmethods %s is not a method we can perform", vm);
  return shared;
}

/* RFC 8657 §3-§4 with D-ACCT-UNKNOWN and D-VM-DUP. */
static int satisfiable(const struct byoca_caa_policy *p,
                       const struct byoca_caa_value *v, char *why, size_t n) {
  size_t na = 0, nv = 0;
  const char *acct = byoca_caa_value_param(v, "accounturi", &na);
  const char *vm = byoca_caa_value_param(v, "validationmethods", &nv);
  if (na > 1) {
    snprintf(why, n,
             "accounturi appears %zu times, which makes the record "
             "unsatisfiable (RFC 8657)",
             na);
    return 0;
  }
  if (na == 1 && !have_account(p, v->issuer, acct)) {
    snprintf(why, n, "accounturi %s is not an account we have at %s", acct,
             v->issuer);
    return 0;
  }
  if (nv > 1) {
    snprintf(why, n,
             "validationmethods appears %zu times, so the record "
             "cannot be satisfied",
             nv);
    return 0;
  }
  return nv == 0 || methods_ok(p, vm, why, n);
}

/* D-DISC-FALSE: only the exact value "false" turns nomination off. */
static int discovery_off(const struct byoca_caa_value *v) {
  for (size_t i = 0; i < v->nparams; i++)
    if (byoca_strcaseeq(v->params[i].tag, "discovery") &&
        strcmp(v->params[i].value, "false") == 0)
      return 1;
  return 0;
}

static void say_usable(struct byoca_caa_verdict *v, const char *note) {
  const char *is = v->parsed.issuer;
  const char *d = byoca_caa_value_param(&v->parsed, "discovery", NULL);
  char prio[140];
  if (v->priority > 0)
    snprintf(prio, sizeof(prio), "priority %lld", (long long)v->priority);
  else
    snprintf(prio, sizeof(prio), "%s", note[0] ? note : "no priority");
  if (!v->nominates)
    say(v,
        "usable: authorizes %s, %s; discovery=false: this record does "
        "not nominate it",
        is, prio);
  else if (d != NULL && strcmp(d, "true") != 0)
    say(v,
        "usable: authorizes %s, %s; discovery=%s is not \"false\", so "
        "it nominates",
        is, prio, d);
  else
    say(v, "usable: authorizes %s, %s", is, prio);
}

static int add_authorized(struct byoca_caa_ident *id, const char *issuer) {
  for (size_t i = 0; i < id->nauthorized; i++)
    if (strcmp(id->authorized[i], issuer) == 0)
      return 0;
  char **na = realloc(id->authorized, (id->nauthorized + 1) * sizeof(*na));
  if (na == NULL)
    return BYOCA_E_NOMEM;
  id->authorized = na;
  if ((na[id->nauthorized] = byoca_strdup(issuer)) == NULL)
    return BYOCA_E_NOMEM;
  id->nauthorized++;
  return 0;
}

/* An issue or issuewild record (wild: the latter). */
static int judge_issue(struct judge *j, const struct byoca_caa_record *r,
                       struct byoca_caa_verdict *v, int wild) {
  int rc = byoca_caa_value_parse(r->value, r->value_len, &v->parsed);
  if (rc != 0)
    return rc;
  if (wild && !j->id->wildcard) {
    say(v, "ignored: issuewild does not apply to a non-wildcard name");
    return 0;
  }
  if (!wild && j->id->wildcard && j->any_wild) {
    say(v, "ignored: issue records do not apply because issuewild records "
           "exist");
    return 0;
  }
  v->relevant = 1;
  j->any_relevant = 1;
  if (!v->parsed.valid) {
    say(v, "malformed: %s; grants nothing but still restricts",
        v->parsed.error);
    return 0;
  }
  if (v->parsed.issuer == NULL) {
    say(v, "no issuer: grants nothing");
    return 0;
  }
  j->granted = 1;
  char note[140], why[200];
  v->priority = caa_priority(&v->parsed, note, sizeof(note));
  if (j->critical != NULL) {
    say(v, "not usable: the critical unknown tag '%s' forbids all issuance",
        j->critical);
    return 0;
  }
  if (!satisfiable(j->policy, &v->parsed, why, sizeof(why))) {
    say(v, "not usable: %s", why);
    return 0;
  }
  v->usable = 1;
  v->nominates = !discovery_off(&v->parsed);
  say_usable(v, note);
  return add_authorized(j->id, v->parsed.issuer);
}

/* Any other tag: only a critical unknown one matters (RFC 8659 §4.5). */
static void judge_other(const struct byoca_caa_record *r,
                        struct byoca_caa_verdict *v) {
  const char *tag = r->tag != NULL ? r->tag : "";
  if (caa_tag_known(tag)) {
    if (byoca_strcaseeq(tag, "iodef"))
      say(v, "ignored: iodef only says where to report problems");
    else
      say(v, "ignored: %s does not govern TLS certificates", tag);
  } else if (r->flags & BYOCA_CAA_FLAG_CRITICAL) {
    v->relevant = 1;
    say(v, "forbids issuance: critical unknown tag '%s'", tag);
  } else if (r->flags != 0) {
    say(v,
        "ignored: unknown tag '%s' (flags %u: only flag 128 makes a tag "
        "critical)",
        tag, (unsigned)r->flags);
  } else {
    say(v, "ignored: unknown tag '%s' is not marked critical", tag);
  }
}

/* The facts that change how single records are read. */
static void prescan(struct judge *j, const struct byoca_caa_rrset *s) {
  for (size_t i = 0; i < s->n; i++) {
    const struct byoca_caa_record *r = &s->records[i];
    const char *tag = r->tag != NULL ? r->tag : "";
    if (byoca_strcaseeq(tag, "issuewild"))
      j->any_wild = 1;
    if (j->critical == NULL && (r->flags & BYOCA_CAA_FLAG_CRITICAL) &&
        !caa_tag_known(tag))
      j->critical = tag;
  }
}

static int judge_records(struct byoca_caa_ident *id,
                         const struct byoca_caa_rrset *s,
                         const struct byoca_caa_policy *policy) {
  struct judge j = {.id = id, .policy = policy};
  if ((id->verdicts = calloc(s->n, sizeof(*id->verdicts))) == NULL)
    return BYOCA_E_NOMEM;
  id->nverdicts = s->n;
  prescan(&j, s);
  for (size_t i = 0; i < s->n; i++) {
    const struct byoca_caa_record *r = &s->records[i];
    struct byoca_caa_verdict *v = &id->verdicts[i];
    int rc = 0;
    v->record = r;
    if (byoca_strcaseeq(r->tag, "issue"))
      rc = judge_issue(&j, r, v, 0);
    else if (byoca_strcaseeq(r->tag, "issuewild"))
      rc = judge_issue(&j, r, v, 1);
    else
      judge_other(r, v);
    if (rc != 0)
      return rc;
  }
  if (j.critical != NULL || (j.any_relevant && !j.granted))
    id->status = BYOCA_CAA_FORBIDDEN;
  else
    id->status = j.any_relevant ? BYOCA_CAA_RESTRICTED : BYOCA_CAA_UNRESTRICTED;
  return 0;
}

static char *lowercase_dup(const char *s) {
  char *d = byoca_strdup(s);
  for (char *p = d; p != NULL && *p != '\0'; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  return d;
}

int caa_judge(struct byoca_caa_ident *id, const char *name,
              const struct byoca_caa_rrset *s,
              const struct byoca_caa_policy *policy, struct byoca_err *err) {
  memset(id, 0, sizeof(*id));
  if (name == NULL || *name == '\0' || policy == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "CAA judgement without a name or a policy");
  int usable_set = s != NULL && !s->lookup_error;
  if (usable_set &&
      (s->n > BYOCA_CAA_MAX_RECORDS || (s->n > 0 && s->records == NULL)))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the CAA RRset of %s has %zu records (at most %d)",
                         name, s->n, BYOCA_CAA_MAX_RECORDS);
  if ((id->name = lowercase_dup(name)) == NULL)
    goto nomem;
  id->wildcard = strncmp(id->name, "*.", 2) == 0;
  id->rrset = s;
  if (!usable_set) {
    id->status = BYOCA_CAA_LOOKUP_ERROR; /* D-DNS-ERR: fail closed */
    return 0;
  }
  if (s->n == 0) {
    id->status = BYOCA_CAA_UNRESTRICTED;
    return 0;
  }
  if (judge_records(id, s, policy) == 0)
    return 0;
nomem:
  caa_ident_clear(id);
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory judging the CAA records of %s", name);
}

void caa_ident_clear(struct byoca_caa_ident *id) {
  if (id == NULL)
    return;
  free(id->name);
  for (size_t i = 0; id->verdicts != NULL && i < id->nverdicts; i++)
    byoca_caa_value_clear(&id->verdicts[i].parsed);
  free(id->verdicts);
  for (size_t i = 0; i < id->nauthorized; i++)
    free(id->authorized[i]);
  free(id->authorized);
  memset(id, 0, sizeof(*id));
}
