/* Link header parsing (RFC 8288 §3): the URLs with a given relation type,
 * across several headers and comma-joined values, resolved against the
 * URL of the response. Used for rel="up", "alternate" and "index". */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byoca/net.h"
#include "net_int.h"

#define LINKS_MAX 100

struct strv {
  char **v;
  size_t n;
};

static int strv_push(struct strv *s, char *str) {
  if (s->n >= LINKS_MAX) {
    free(str);
    return BYOCA_E_TOOBIG;
  }
  char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
  if (nv == NULL) {
    free(str);
    return BYOCA_E_NOMEM;
  }
  nv[s->n++] = str;
  s->v = nv;
  return 0;
}

void byoca_http_links_free(char **v, size_t n) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static const char *skip_ows(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* Skips to the next comma that separates link-values (not one inside <>
 * or a quoted string); returns a pointer at it or at the end. */
static const char *skip_value(const char *p) {
  int quoted = 0, angle = 0;
  for (; *p != '\0'; p++) {
    if (quoted) {
      if (*p == '\\' && p[1] != '\0')
        p++;
      else if (*p == '"')
        quoted = 0;
    } else if (*p == '"') {
      quoted = 1;
    } else if (*p == '<') {
      angle = 1;
    } else if (*p == '>') {
      angle = 0;
    } else if (*p == ',' && !angle) {
      break;
    }
  }
  return p;
}

static int is_tchar_end(char c) {
  return c == '\0' || c == '=' || c == ';' || c == ',' || c == ' ' ||
         c == '\t' || c == '"';
}

/* Parses a param value (token or quoted-string) into buf; returns the
 * position after it, or NULL if malformed. */
static const char *param_value(const char *p, char *buf) {
  size_t n = 0;
  if (*p == '"') {
    for (p++; *p != '"'; p++) {
      if (*p == '\0')
        return NULL;
      if (*p == '\\' && p[1] != '\0')
        p++;
      buf[n++] = *p;
    }
    p++;
  } else {
    while (!is_tchar_end(*p))
      buf[n++] = *p++;
  }
  buf[n] = '\0';
  return p;
}

/* 1 if the space-separated relation types in val include rel. */
static int rel_has(const char *val, const char *rel) {
  size_t rl = strlen(rel);
  const char *p = val;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t')
      p++;
    size_t n = strcspn(p, " \t");
    if (n == rl && n > 0 && strncasecmp(p, rel, n) == 0)
      return 1;
    p += n;
  }
  return 0;
}

/* Reads the params after a URI reference; sets *match when the first rel
 * param names rel. Returns the position of the separating comma or end,
 * or NULL on a malformed param list. */
static const char *link_params(const char *p, const char *rel, char *buf,
                               int *match) {
  int seen_rel = 0;
  *match = 0;
  for (;;) {
    p = skip_ows(p);
    if (*p == ',' || *p == '\0')
      return p;
    if (*p != ';')
      return NULL;
    p = skip_ows(p + 1);
    const char *name = p;
    while (!is_tchar_end(*p))
      p++;
    size_t nlen = (size_t)(p - name);
    p = skip_ows(p);
    buf[0] = '\0';
    if (*p == '=') {
      p = param_value(skip_ows(p + 1), buf);
      if (p == NULL)
        return NULL;
    }
    /* RFC 8288 §3.3: only the first rel parameter counts */
    if (nlen == 3 && strncasecmp(name, "rel", 3) == 0 && !seen_rel) {
      seen_rel = 1;
      *match = rel_has(buf, rel);
    }
  }
}

static int parse_into(const char *value, const char *rel, const char *base,
                      struct strv *acc) {
  int rc = 0;
  char *buf = malloc(strlen(value) + 1);
  if (buf == NULL)
    return BYOCA_E_NOMEM;
  const char *p = value;
  while (*p != '\0' && rc == 0) {
    p = skip_ows(p);
    if (*p == ',') {
      p++;
      continue;
    }
    const char *gt = *p == '<' ? strchr(p, '>') : NULL;
    int match = 0;
    const char *next =
        gt != NULL ? link_params(gt + 1, rel, buf, &match) : NULL;
    if (next == NULL) { /* malformed link-value: skip it */
      p = skip_value(p);
      continue;
    }
    if (match) {
      size_t ulen = (size_t)(gt - p - 1);
      char *ref = malloc(ulen + 1);
      if (ref == NULL) {
        rc = BYOCA_E_NOMEM;
        break;
      }
      memcpy(ref, p + 1, ulen);
      ref[ulen] = '\0';
      char *abs = byoca_url_resolve(base, ref);
      free(ref);
      if (abs != NULL)
        rc = strv_push(acc, abs);
    }
    p = next;
  }
  free(buf);
  return rc;
}

static int hand_out(struct strv *acc, int rc, char ***out, size_t *n) {
  if (rc != 0) {
    byoca_http_links_free(acc->v, acc->n);
    return rc;
  }
  *out = acc->v;
  *n = acc->n;
  return 0;
}

int byoca_link_parse(const char *value, const char *rel, const char *base,
                     char ***out, size_t *n) {
  struct strv acc = {0};
  if (value == NULL || rel == NULL || out == NULL || n == NULL)
    return BYOCA_E_INVAL;
  return hand_out(&acc, parse_into(value, rel, base, &acc), out, n);
}

int byoca_http_links(const struct byoca_http_resp *resp, const char *rel,
                     char ***out, size_t *n) {
  struct strv acc = {0};
  int rc = 0;
  if (resp == NULL || rel == NULL || out == NULL || n == NULL)
    return BYOCA_E_INVAL;
  for (size_t i = 0; i < resp->nheaders && rc == 0; i++)
    if (strcasecmp(resp->headers[i].name, "Link") == 0)
      rc = parse_into(resp->headers[i].value, rel, resp->url, &acc);
  return hand_out(&acc, rc, out, n);
}
