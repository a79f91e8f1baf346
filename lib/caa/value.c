/* The issue / issuewild value grammar of RFC 8659 §4.2 (names from erratum
 * 7139), parsed strictly:
 *
 *   issue-value        = *WSP [issuer-domain-name *WSP]
 *                        [";" *WSP [parameters *WSP]]
 *   issuer-domain-name = label *("." label)
 *   label              = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
 *   parameters         = (parameter *WSP ";" *WSP parameters) / parameter
 *   parameter          = parameter-tag *WSP "=" *WSP parameter-value
 *   parameter-tag      = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
 *   parameter-value    = *(%x21-3A / %x3C-7E)
 *
 * A value that does not match is malformed: it names no issuer, and the
 * error says where and why in words a domain owner can act on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "caa_int.h"

enum { OK = 0, BAD = 1 }; /* parse results besides BYOCA_E_NOMEM */

struct cursor {
  const unsigned char *s;
  size_t len;
  size_t pos;
  struct byoca_caa_value *out;
};

static int is_alnum(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

static int is_wsp(int c) {
  return c == ' ' || c == '\t';
}

static int is_pvalue(int c) {
  return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

/* The byte at the cursor, or -1 at the end. */
static int peek(const struct cursor *c) {
  return c->pos < c->len ? c->s[c->pos] : -1;
}

static void skip_wsp(struct cursor *c) {
  while (is_wsp(peek(c)))
    c->pos++;
}

/* Describes the byte at the cursor for an error message. */
static void show(const struct cursor *c, char *buf, size_t n) {
  int ch = peek(c);
  if (ch < 0)
    snprintf(buf, n, "the end");
  else if (ch == ' ')
    snprintf(buf, n, "a space");
  else if (ch == '\t')
    snprintf(buf, n, "a tab");
  else if (ch > 0x20 && ch < 0x7f)
    snprintf(buf, n, "'%c'", ch);
  else
    snprintf(buf, n, "byte 0x%02x", (unsigned)ch);
}

/* Marks the value malformed: "<what at the cursor> at position N: why". */
static int bad(struct cursor *c, const char *why) {
  char what[16];
  show(c, what, sizeof(what));
  snprintf(c->out->error, sizeof(c->out->error), "%s at position %zu: %s", what,
           c->pos + 1, why);
  return BAD;
}

/* label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)); what names the
 * thing the label belongs to, for the error. */
static int label(struct cursor *c, const char *what) {
  char why[96];
  if (!is_alnum(peek(c))) {
    snprintf(why, sizeof(why),
             "a label of the %s must start with a letter "
             "or digit",
             what);
    return bad(c, why);
  }
  while (is_alnum(peek(c)) || peek(c) == '-')
    c->pos++;
  if (c->s[c->pos - 1] == '-') {
    c->pos--;
    snprintf(why, sizeof(why), "a label of the %s must not end with '-'", what);
    return bad(c, why);
  }
  return OK;
}

/* issuer-domain-name, lowercased into out->issuer (D-IDN-CASE). */
static int issuer(struct cursor *c) {
  size_t start = c->pos;
  for (;;) {
    int rc = label(c, "issuer domain name");
    if (rc != OK)
      return rc;
    if (peek(c) != '.')
      break;
    c->pos++;
    int n = peek(c);
    if (n < 0 || n == ';' || is_wsp(n)) {
      c->pos--;
      return bad(c, "the issuer domain name must not end with a dot; write "
                    "it without the trailing '.'");
    }
  }
  size_t n = c->pos - start;
  char *s = malloc(n + 1);
  if (s == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    char ch = (char)c->s[start + i];
    s[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
  }
  s[n] = '\0';
  c->out->issuer = s;
  return OK;
}

static int add_param(struct cursor *c, size_t tag, size_t taglen, size_t val,
                     size_t vallen) {
  struct byoca_caa_value *v = c->out;
  if (v->nparams == CAA_MAX_PARAMS)
    return bad(c, "more parameters than byoca accepts (64)");
  if ((v->nparams & (v->nparams - 1)) == 0) { /* 0, 1, 2, 4...: grow */
    size_t cap = v->nparams == 0 ? 2 : v->nparams * 2;
    void *np = realloc(v->params, cap * sizeof(*v->params));
    if (np == NULL)
      return BYOCA_E_NOMEM;
    v->params = np;
  }
  struct byoca_caa_param *p = &v->params[v->nparams];
  p->tag = strndup((const char *)c->s + tag, taglen);
  p->value = strndup((const char *)c->s + val, vallen);
  v->nparams++; /* counted even when half-made, so clear frees it */
  return p->tag == NULL || p->value == NULL ? BYOCA_E_NOMEM : OK;
}

/* parameter = parameter-tag *WSP "=" *WSP parameter-value */
static int parameter(struct cursor *c) {
  size_t tag = c->pos;
  if (!is_alnum(peek(c)))
    return bad(c, peek(c) == ';' ? "empty parameter between two ';'"
                                 : "expected a parameter tag (letters, "
                                   "digits and inner '-')");
  int rc = label(c, "parameter tag");
  if (rc != OK)
    return rc;
  size_t taglen = c->pos - tag;
  skip_wsp(c);
  if (peek(c) != '=')
    return bad(c, "expected '=' after the parameter tag");
  c->pos++;
  skip_wsp(c);
  size_t val = c->pos;
  while (is_pvalue(peek(c)))
    c->pos++;
  return add_param(c, tag, taglen, val, c->pos - val);
}

/* parameters *WSP, up to the end of the value. */
static int parameters(struct cursor *c) {
  for (;;) {
    int rc = parameter(c);
    if (rc != OK)
      return rc;
    skip_wsp(c);
    if (peek(c) < 0)
      return OK;
    if (peek(c) != ';')
      return bad(c, "parameters must be separated by ';' and values may not "
                    "contain spaces");
    c->pos++;
    skip_wsp(c);
    if (peek(c) < 0)
      return bad(c, "a ';' after the last parameter is not allowed");
  }
}

static int parse(struct cursor *c) {
  skip_wsp(c);
  if (is_alnum(peek(c))) {
    int rc = issuer(c);
    if (rc != OK)
      return rc;
    skip_wsp(c);
  }
  if (peek(c) < 0)
    return OK;
  if (peek(c) != ';')
    return bad(c, c->out->issuer != NULL
                      ? "expected ';' after the issuer domain name"
                      : "expected an issuer domain name or ';'");
  c->pos++;
  skip_wsp(c);
  return peek(c) < 0 ? OK : parameters(c);
}

int byoca_caa_value_parse(const char *value, size_t len,
                          struct byoca_caa_value *out) {
  if (out == NULL)
    return BYOCA_E_INVAL;
  memset(out, 0, sizeof(*out));
  if (value == NULL)
    len = 0;
  struct cursor c = {(const unsigned char *)value, len, 0, out};
  int rc = parse(&c);
  if (rc == OK) {
    out->valid = 1;
    return 0;
  }
  char error[sizeof(out->error)];
  memcpy(error, out->error, sizeof(error));
  byoca_caa_value_clear(out);
  if (rc == BAD)
    memcpy(out->error, error, sizeof(error));
  return rc == BAD ? 0 : rc;
}

void byoca_caa_value_clear(struct byoca_caa_value *v) {
  if (v == NULL)
    return;
  free(v->issuer);
  for (size_t i = 0; i < v->nparams; i++) {
    free(v->params[i].tag);
    free(v->params[i].value);
  }
  free(v->params);
  memset(v, 0, sizeof(*v));
}

const char *byoca_caa_value_param(const struct byoca_caa_value *v,
                                  const char *tag, size_t *count) {
  const char *found = NULL;
  size_t n = 0;
  for (size_t i = 0; v != NULL && tag != NULL && i < v->nparams; i++) {
    if (!byoca_strcaseeq(v->params[i].tag, tag))
      continue;
    if (found == NULL)
      found = v->params[i].value;
    n++;
  }
  if (count != NULL)
    *count = n;
  return found;
}
