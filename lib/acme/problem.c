/* Problem documents (RFC 7807, RFC 8555 §6.7) with subproblems, the table
 * that classifies each ACME error type for fallback policy (D-FALLBACK),
 * and poll timing (D-POLL). */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

#define MAX_SUBPROBLEMS 100

static char *dup_str_member(const json_t *o, const char *k, size_t cap) {
  const char *s = acme_json_str(o, k);
  return s == NULL ? NULL : strndup(s, cap);
}

static int problem_fill(const json_t *o, struct byoca_problem *p) {
  p->type = dup_str_member(o, "type", 512);
  p->detail = dup_str_member(o, "detail", 4096);
  p->instance = dup_str_member(o, "instance", 1024);
  json_t *st = json_object_get(o, "status");
  if (json_is_integer(st) && json_integer_value(st) >= 0 &&
      json_integer_value(st) < 1000)
    p->status = (int)json_integer_value(st);
  json_t *id = json_object_get(o, "identifier");
  if (json_is_object(id)) {
    p->ident_type = dup_str_member(id, "type", 32);
    p->ident_value = dup_str_member(id, "value", 512);
  }
  return 0;
}

int byoca_problem_parse(const char *json, size_t len,
                        struct byoca_problem **out) {
  json_t *o = json_loadb(json, len, 0, NULL);
  if (!json_is_object(o)) {
    json_decref(o);
    return BYOCA_E_PROTO;
  }
  struct byoca_problem *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    json_decref(o);
    return BYOCA_E_NOMEM;
  }
  problem_fill(o, p);
  json_t *subs = json_object_get(o, "subproblems");
  if (json_is_array(subs) && json_array_size(subs) > 0) {
    size_t n = json_array_size(subs);
    p->nsub_sent = n; /* kept, not parsed beyond the cap */
    if (n > MAX_SUBPROBLEMS)
      n = MAX_SUBPROBLEMS;
    p->sub = calloc(n, sizeof(*p->sub));
    if (p->sub == NULL) {
      byoca_problem_free(p);
      json_decref(o);
      return BYOCA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
      json_t *s = json_array_get(subs, i);
      if (json_is_object(s))
        problem_fill(s, &p->sub[p->nsub++]);
    }
  }
  json_decref(o);
  *out = p;
  return 0;
}

struct class_row {
  const char *type;
  enum byoca_errclass cls;
};

/* D-FALLBACK: which errors mean "try another CA" (CA), "try later"
 * (RETRYABLE), or "our input is wrong, another CA will say the same"
 * (INPUT). Unknown types count as the CA's. */
static const struct class_row class_table[] = {
    {"accountDoesNotExist", BYOCA_CLASS_INPUT},
    {"alreadyRevoked", BYOCA_CLASS_INPUT},
    {"alreadyReplaced", BYOCA_CLASS_INPUT},
    {"badCSR", BYOCA_CLASS_INTERNAL},
    {"badNonce", BYOCA_CLASS_RETRYABLE},
    {"badPublicKey", BYOCA_CLASS_CA},
    {"badRevocationReason", BYOCA_CLASS_INPUT},
    {"badSignatureAlgorithm", BYOCA_CLASS_CA},
    {"caa", BYOCA_CLASS_CA},
    {"compound", BYOCA_CLASS_INPUT},
    {"connection", BYOCA_CLASS_INPUT},
    {"dns", BYOCA_CLASS_INPUT},
    {"externalAccountRequired", BYOCA_CLASS_CA},
    {"incorrectResponse", BYOCA_CLASS_INPUT},
    {"invalidContact", BYOCA_CLASS_INPUT},
    {"invalidProfile", BYOCA_CLASS_CA},
    {"malformed", BYOCA_CLASS_CA},
    {"orderNotReady", BYOCA_CLASS_INTERNAL},
    {"rateLimited", BYOCA_CLASS_RETRYABLE},
    {"rejectedIdentifier", BYOCA_CLASS_CA},
    {"serverInternal", BYOCA_CLASS_CA},
    {"tls", BYOCA_CLASS_INPUT},
    {"unauthorized", BYOCA_CLASS_CA},
    {"unsupportedContact", BYOCA_CLASS_INPUT},
    {"unsupportedIdentifier", BYOCA_CLASS_CA},
    {"userActionRequired", BYOCA_CLASS_INPUT},
};

enum byoca_errclass byoca_problem_class(const char *type) {
  if (type == NULL)
    return BYOCA_CLASS_CA;
  size_t plen = strlen(ACME_ERR_PREFIX);
  if (strncmp(type, ACME_ERR_PREFIX, plen) == 0)
    type += plen;
  for (size_t i = 0; i < sizeof(class_table) / sizeof(*class_table); i++)
    if (strcmp(type, class_table[i].type) == 0)
      return class_table[i].cls;
  return BYOCA_CLASS_CA;
}

int64_t byoca_poll_delay_ms(const char *retry_after, int attempt, int64_t now) {
  int64_t delay;
  if (retry_after != NULL &&
      byoca_retry_after_parse(retry_after, now, &delay) == 0) {
    if (delay < 1)
      delay = 1;
    if (delay > 600)
      delay = 600;
    return delay * 1000;
  }
  int64_t ms = 250;
  for (int i = 0; i < attempt && ms < 30000; i++)
    ms *= 2;
  return ms > 30000 ? 30000 : ms;
}
