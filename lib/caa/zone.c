/* CAA records from a master file (RFC 1035 §5.1) that a domain owner is
 * still editing (byoca discover --zone): the subset holding CAA and CNAME
 * records, $ORIGIN and $TTL, and the climb of RFC 8659 §3 over it, with
 * CNAMEs followed inside a level and the climb kept on the original name
 * (D-CNAME), as the DNS lookup does. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byoca/caa.h"
#include "lookup_int.h"

#define ZONE_FILE_MAX (16u << 20) /* a CAA zone is small; refuse huge files */
#define FIELDS_MAX 8              /* owner ttl class type flags tag value */
#define CNAME_HOPS_MAX 8
#define RDATA_MAX 65535
#define TTL_MAX 2147483647u

/* One record line, kept until every line is read. */
struct entry {
  char *owner; /* absolute, lowercase, no trailing dot */
  char *cname; /* target of a CNAME; NULL for a CAA record */
  struct byoca_caa_record rec;
  unsigned line;
};

/* Everything the file says about one owner name. */
struct node {
  char *owner;
  char *cname;
  unsigned cname_line, caa_line;
  struct byoca_caa_record *recs;
  size_t n, cap;
};

struct byoca_caa_zone {
  struct node *nodes; /* sorted by owner (strcmp) */
  size_t n;
};

/* One whitespace-separated field of a line; quoted ones without quotes. */
struct field {
  const char *p;
  size_t len;
  int quoted;
};

struct parser {
  const char *path;
  unsigned line;
  char origin[CAA_NAME_MAX + 1]; /* "" = the root */
  int have_origin;
  char owner[CAA_NAME_MAX + 1]; /* the last owner, for blank-led lines */
  int have_owner;
  struct entry *e;
  size_t n, cap;
  struct byoca_err *err;
};

static int perr(const struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* BYOCA_E_INVAL "FILE:LINE: what". */
static int perr(const struct parser *p, const char *fmt, ...) {
  char what[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  return byoca_err_set(p->err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "%.160s:%u: %s", p->path, p->line, what);
}

static int nomem(const struct parser *p) {
  return byoca_err_set(p->err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory reading %.200s", p->path);
}

static int field_is(const struct field *f, const char *word) {
  return !f->quoted && strlen(word) == f->len &&
         strncasecmp(f->p, word, f->len) == 0;
}

static int is_blank(char c) {
  return c == ' ' || c == '\t';
}

/* Length of the unquoted field starting at s[i]; a backslash escapes the
 * next byte. -1 for a quote inside it. */
static long plain_len(const char *s, size_t len, size_t i) {
  size_t j = i;
  while (j < len && !is_blank(s[j]) && s[j] != ';' && s[j] != '(' &&
         s[j] != ')') {
    if (s[j] == '"')
      return -1;
    j += s[j] == '\\' && j + 1 < len ? 2 : 1;
  }
  return (long)(j - i);
}

/* Splits a line into fields; ';' outside quotes starts a comment. */
static int split(const struct parser *p, const char *s, size_t len,
                 struct field *f, size_t *nf) {
  size_t i = 0, n = 0;
  while (i < len) {
    if (is_blank(s[i])) {
      i++;
      continue;
    }
    if (s[i] == ';')
      break;
    if (s[i] == '(' || s[i] == ')')
      return perr(p, "parentheses (records over several lines) are not "
                     "supported");
    if (n == FIELDS_MAX)
      return perr(p, "too many fields (quote a value that holds spaces)");
    struct field *fl = &f[n++];
    if (s[i] == '"') {
      size_t j = i + 1;
      while (j < len && s[j] != '"')
        j += s[j] == '\\' && j + 1 < len ? 2 : 1;
      if (j >= len)
        return perr(p, "unterminated quoted string");
      *fl = (struct field){s + i + 1, j - i - 1, 1};
      i = j + 1;
      if (i < len && !is_blank(s[i]) && s[i] != ';')
        return perr(p, "no blank after a quoted string");
    } else {
      long l = plain_len(s, len, i);
      if (l < 0)
        return perr(p, "a quote inside an unquoted field");
      *fl = (struct field){s + i, (size_t)l, 0};
      i += (size_t)l;
    }
  }
  *nf = n;
  return 0;
}

/* A name field as an absolute name (lowercase, no trailing dot), relative
 * names completed with $ORIGIN; root_ok allows "." (for $ORIGIN). */
static int parse_name(const struct parser *p, const struct field *f,
                      const char *what, int root_ok, char *out) {
  char tmp[CAA_NAME_MAX + 2];
  int root = f->len == 1 && f->p[0] == '.';
  if (f->quoted)
    return perr(p, "%s must not be quoted", what);
  if (f->len == 1 && f->p[0] == '@') {
    if (!p->have_origin)
      return perr(p, "'@' for %s, but no $ORIGIN was given", what);
    root = p->origin[0] == '\0';
    byoca_strlcpy(tmp, p->origin, sizeof(tmp));
  } else if (!root) {
    int absolute = f->p[f->len - 1] == '.';
    size_t len = f->len - (size_t)absolute;
    const char *origin = absolute ? "" : p->origin;
    if (len + (origin[0] != '\0' ? 1 + strlen(origin) : 0) > CAA_NAME_MAX)
      return perr(p, "%s '%.*s' is longer than %d bytes", what,
                  (int)(f->len > 80 ? 80 : f->len), f->p, CAA_NAME_MAX);
    snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)len, f->p,
             origin[0] != '\0' ? "." : "", origin);
  }
  if (root) {
    if (!root_ok)
      return perr(p, "%s is the root, which holds no CAA records", what);
    out[0] = '\0';
    return 0;
  }
  size_t len = strlen(tmp);
  if (len == 0 || tmp[len - 1] == '.' ||
      caa_base_name(tmp, out, CAA_NAME_MAX + 1) != 0)
    return perr(p, "%s '%.*s' is not a valid domain name", what,
                (int)(f->len > 80 ? 80 : f->len), f->p);
  if (tmp[0] == '*' && (tmp[1] == '\0' || tmp[1] == '.'))
    return perr(p, "%s '%.*s': wildcard names are not supported", what,
                (int)(f->len > 80 ? 80 : f->len), f->p);
  return 0;
}

/* A TTL: seconds, or units like 1h30m (s m h d w); at most 2^31-1. */
static int ttl_valid(const struct field *f) {
  uint64_t total = 0, cur = 0;
  int digits = 0, units = 0;
  if (f->quoted || f->len == 0 || f->len > 32)
    return 0;
  for (size_t i = 0; i < f->len; i++) {
    char c = f->p[i];
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (uint64_t)(c - '0');
      digits = 1;
      if (cur > TTL_MAX)
        return 0;
      continue;
    }
    const char *u = strchr("sSmMhHdDwW", c);
    static const uint64_t mult[] = {1, 60, 3600, 86400, 604800};
    if (c == '\0' || u == NULL || !digits)
      return 0;
    total += cur * mult[(u - "sSmMhHdDwW") / 2];
    cur = 0;
    digits = 0;
    units = 1;
    if (total > TTL_MAX)
      return 0;
  }
  if (digits && units)
    return 0; /* "1h30": a number after a unit needs its own unit */
  return total + cur <= TTL_MAX;
}

static int directive(struct parser *p, const struct field *f, size_t nf) {
  if (field_is(&f[0], "$ORIGIN")) {
    if (nf != 2)
      return perr(p, "$ORIGIN takes one name");
    char origin[CAA_NAME_MAX + 1];
    int rc = parse_name(p, &f[1], "$ORIGIN", 1, origin);
    if (rc != 0)
      return rc;
    byoca_strlcpy(p->origin, origin, sizeof(p->origin));
    p->have_origin = 1;
    return 0;
  }
  if (field_is(&f[0], "$TTL")) {
    if (nf != 2 || !ttl_valid(&f[1]))
      return perr(p, "$TTL takes one TTL (seconds, or units like 1h)");
    return 0;
  }
  return perr(p, "directive %.*s is not supported (only $ORIGIN and $TTL)",
              (int)(f[0].len > 40 ? 40 : f[0].len), f[0].p);
}

/* Takes cname and rec (either may be NULL) into a new entry. */
static int add_entry(struct parser *p, const char *owner, char *cname,
                     struct byoca_caa_record *rec) {
  if (p->n == p->cap) {
    size_t cap = p->cap == 0 ? 16 : p->cap * 2;
    struct entry *e = realloc(p->e, cap * sizeof(*e));
    if (e == NULL)
      goto fail;
    p->e = e;
    p->cap = cap;
  }
  struct entry *e = &p->e[p->n];
  memset(e, 0, sizeof(*e));
  if ((e->owner = byoca_strdup(owner)) == NULL)
    goto fail;
  e->cname = cname;
  if (rec != NULL)
    e->rec = *rec;
  e->line = p->line;
  p->n++;
  return 0;
fail:
  free(cname);
  byoca_caa_record_clear(rec);
  return nomem(p);
}

/* The bytes of a value field: \X is X, \DDD the byte DDD (RFC 1035 §5.1).
 * out has room for f->len bytes. */
static int unescape(const struct parser *p, const struct field *f,
                    unsigned char *out, size_t *outlen) {
  size_t n = 0;
  for (size_t i = 0; i < f->len; i++) {
    unsigned char c = (unsigned char)f->p[i];
    if (c == '\\') {
      if (i + 1 >= f->len)
        return perr(p, "a backslash ends the value");
      const char *d = f->p + i + 1;
      if (d[0] >= '0' && d[0] <= '9') {
        if (i + 3 >= f->len || d[1] < '0' || d[1] > '9' || d[2] < '0' ||
            d[2] > '9')
          return perr(p, "\\DDD needs three digits");
        int v = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
        if (v > 255)
          return perr(p, "\\%.3s is above 255", d);
        c = (unsigned char)v;
        i += 3;
      } else {
        c = (unsigned char)d[0];
        i++;
      }
    }
    out[n++] = c;
  }
  *outlen = n;
  return 0;
}

/* The RDATA of "flags tag value" (RFC 8659 §4.1.1), through the same
 * parser as records from the wire. */
static int caa_rdata(struct parser *p, const struct field *f,
                     struct byoca_caa_record *rec) {
  char num[8];
  uint64_t flags;
  if (f[0].quoted || f[0].len >= sizeof(num))
    return perr(p, "invalid CAA flags (want 0-255)");
  snprintf(num, sizeof(num), "%.*s", (int)f[0].len, f[0].p);
  if (byoca_parse_uint(num, 255, &flags) != 0)
    return perr(p, "invalid CAA flags '%s' (want 0-255)", num);
  if (f[1].quoted)
    return perr(p, "the CAA tag must not be quoted");
  if (f[1].len > 255)
    return perr(p, "the CAA tag is longer than 255 bytes");
  unsigned char *wire = malloc(2 + f[1].len + f[2].len);
  if (wire == NULL)
    return nomem(p);
  size_t vlen = 0;
  int rc = unescape(p, &f[2], wire + 2 + f[1].len, &vlen);
  if (rc == 0 && 2 + f[1].len + vlen > RDATA_MAX)
    rc = perr(p, "the CAA record is longer than %d bytes", RDATA_MAX);
  if (rc == 0) {
    struct byoca_err e = {0};
    wire[0] = (unsigned char)flags;
    wire[1] = (unsigned char)f[1].len;
    memcpy(wire + 2, f[1].p, f[1].len);
    if (byoca_caa_rdata_parse(wire, 2 + f[1].len + vlen, rec, &e) != 0)
      rc = e.code == BYOCA_E_NOMEM ? nomem(p)
                                   : perr(p, "invalid CAA record: %s", e.msg);
    byoca_err_clear(&e);
  }
  free(wire);
  return rc;
}

static int record(struct parser *p, const char *owner, const struct field *type,
                  const struct field *f, size_t nf) {
  int rc;
  if (field_is(type, "CAA")) {
    struct byoca_caa_record rec = {0};
    if (nf != 3)
      return perr(p, nf < 3 ? "a CAA record needs flags, tag and value"
                            : "text after the CAA value (quote a value that "
                              "holds spaces)");
    if ((rc = caa_rdata(p, f, &rec)) != 0)
      return rc;
    return add_entry(p, owner, NULL, &rec);
  }
  if (field_is(type, "CNAME")) {
    char target[CAA_NAME_MAX + 1];
    if (nf != 1)
      return perr(p, "a CNAME record takes one target name");
    if ((rc = parse_name(p, &f[0], "the CNAME target", 0, target)) != 0)
      return rc;
    char *t = byoca_strdup(target);
    return t == NULL ? nomem(p) : add_entry(p, owner, t, NULL);
  }
  return perr(p, "record type %.*s is not supported (only CAA and CNAME)",
              (int)(type->len > 40 ? 40 : type->len), type->p);
}

/* Skips the optional TTL and class (either order); *i at the type. */
static int ttl_class(const struct parser *p, const struct field *f, size_t nf,
                     size_t *i) {
  int ttl = 0, cls = 0;
  while (*i < nf && !f[*i].quoted) {
    const struct field *x = &f[*i];
    if (!cls && (field_is(x, "IN") || field_is(x, "CH") || field_is(x, "CS") ||
                 field_is(x, "HS"))) {
      if (!field_is(x, "IN"))
        return perr(p, "class %.*s is not supported (only IN)", (int)x->len,
                    x->p);
      cls = 1;
    } else if (!ttl && x->p[0] >= '0' && x->p[0] <= '9') {
      if (!ttl_valid(x))
        return perr(p, "invalid TTL '%.*s'", (int)(x->len > 40 ? 40 : x->len),
                    x->p);
      ttl = 1;
    } else {
      break;
    }
    (*i)++;
  }
  if (*i >= nf)
    return perr(p, "missing record type");
  return 0;
}

static int parse_line(struct parser *p, const char *s, size_t len) {
  struct field f[FIELDS_MAX];
  size_t nf = 0, i = 0;
  char owner[CAA_NAME_MAX + 1];
  if (len > 0 && s[len - 1] == '\r')
    len--;
  int rc = split(p, s, len, f, &nf);
  if (rc != 0 || nf == 0)
    return rc;
  if (s[0] == '$')
    return directive(p, f, nf);
  if (is_blank(s[0])) {
    if (!p->have_owner)
      return perr(p, "no owner name (the line starts with a blank and no "
                     "record comes before it)");
    byoca_strlcpy(owner, p->owner, sizeof(owner));
  } else {
    if ((rc = parse_name(p, &f[0], "the owner name", 0, owner)) != 0)
      return rc;
    byoca_strlcpy(p->owner, owner, sizeof(p->owner));
    p->have_owner = 1;
    i = 1;
  }
  if ((rc = ttl_class(p, f, nf, &i)) != 0)
    return rc;
  return record(p, owner, &f[i], f + i + 1, nf - i - 1);
}

static int parse_text(struct parser *p, const char *data, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    const char *nl = memchr(data + pos, '\n', len - pos);
    size_t end = nl != NULL ? (size_t)(nl - data) : len;
    p->line++;
    if (memchr(data + pos, '\0', end - pos) != NULL)
      return perr(p, "a NUL byte");
    int rc = parse_line(p, data + pos, end - pos);
    if (rc != 0)
      return rc;
    pos = end + 1;
  }
  return 0;
}

/* ---- from lines to names ---- */

static int entry_cmp(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  int c = strcmp(x->owner, y->owner);
  return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

static void node_clear(struct node *nd) {
  free(nd->owner);
  free(nd->cname);
  for (size_t i = 0; i < nd->n; i++)
    byoca_caa_record_clear(&nd->recs[i]);
  free(nd->recs);
}

static int same_record(const struct byoca_caa_record *a,
                       const struct byoca_caa_record *b) {
  return a->flags == b->flags && strcmp(a->tag, b->tag) == 0 &&
         a->value_len == b->value_len &&
         memcmp(a->value, b->value, a->value_len) == 0;
}

/* Adds e's CAA record to nd (an exact duplicate is dropped, as a DNS
 * server would), moving it out of e. */
static int node_add_caa(struct parser *p, struct node *nd, struct entry *e) {
  if (nd->cname != NULL)
    return perr(p,
                "%s has a CNAME (line %u), it cannot also hold CAA "
                "records",
                nd->owner, nd->cname_line);
  for (size_t i = 0; i < nd->n; i++)
    if (same_record(&nd->recs[i], &e->rec))
      return 0;
  if (nd->n == BYOCA_CAA_MAX_RECORDS)
    return perr(p, "more than %d CAA records at %s", BYOCA_CAA_MAX_RECORDS,
                nd->owner);
  if (nd->n == nd->cap) {
    size_t cap = nd->cap == 0 ? 4 : nd->cap * 2;
    struct byoca_caa_record *r = realloc(nd->recs, cap * sizeof(*r));
    if (r == NULL)
      return nomem(p);
    nd->recs = r;
    nd->cap = cap;
  }
  if (nd->n == 0)
    nd->caa_line = e->line;
  nd->recs[nd->n++] = e->rec;
  memset(&e->rec, 0, sizeof(e->rec));
  return 0;
}

static int node_add(struct parser *p, struct node *nd, struct entry *e) {
  p->line = e->line;
  if (e->cname == NULL)
    return node_add_caa(p, nd, e);
  if (nd->cname != NULL)
    return perr(p, "%s already has a CNAME (line %u)", nd->owner,
                nd->cname_line);
  if (nd->n > 0)
    return perr(p, "%s has CAA records (line %u), it cannot also be a CNAME",
                nd->owner, nd->caa_line);
  nd->cname = e->cname;
  nd->cname_line = e->line;
  e->cname = NULL;
  return 0;
}

/* Groups the entries by owner into z, checking what DNS forbids. */
static int build(struct parser *p, struct byoca_caa_zone *z) {
  if (p->n == 0)
    return 0;
  qsort(p->e, p->n, sizeof(*p->e), entry_cmp);
  if ((z->nodes = calloc(p->n, sizeof(*z->nodes))) == NULL)
    return nomem(p);
  for (size_t i = 0; i < p->n; i++) {
    struct entry *e = &p->e[i];
    if (z->n == 0 || strcmp(z->nodes[z->n - 1].owner, e->owner) != 0) {
      z->nodes[z->n++].owner = e->owner;
      e->owner = NULL;
    }
    int rc = node_add(p, &z->nodes[z->n - 1], e);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static void entries_free(struct parser *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->e[i].owner);
    free(p->e[i].cname);
    byoca_caa_record_clear(&p->e[i].rec);
  }
  free(p->e);
}

void byoca_caa_zone_free(struct byoca_caa_zone *z) {
  if (z == NULL)
    return;
  for (size_t i = 0; i < z->n; i++)
    node_clear(&z->nodes[i]);
  free(z->nodes);
  free(z);
}

int byoca_caa_zone_load(const char *path, struct byoca_caa_zone **out,
                        struct byoca_err *err) {
  char *data = NULL;
  size_t len = 0;
  struct parser p = {.path = path, .err = err};
  if (path == NULL || out == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "byoca_caa_zone_load: no path or output");
  struct byoca_caa_zone *z = calloc(1, sizeof(*z));
  if (z == NULL)
    return nomem(&p);
  int rc = byoca_file_read(path, ZONE_FILE_MAX, &data, &len, err);
  if (rc == 0)
    rc = parse_text(&p, data, len);
  if (rc == 0)
    rc = build(&p, z);
  entries_free(&p);
  free(data);
  if (rc != 0) {
    byoca_caa_zone_free(z);
    return rc;
  }
  *out = z;
  return 0;
}

/* ---- the Relevant RRset ---- */

static int node_cmp(const void *key, const void *n) {
  return strcmp(key, ((const struct node *)n)->owner);
}

static const struct node *find(const struct byoca_caa_zone *z,
                               const char *name) {
  if (z->n == 0)
    return NULL;
  return bsearch(name, z->nodes, z->n, sizeof(*z->nodes), node_cmp);
}

/* "a -> b -> a" from the names of a chain, truncated to fit. */
static void chain_str(const char *const *names, size_t n, const char *last,
                      char *out, size_t outlen) {
  size_t off = 0;
  out[0] = '\0';
  for (size_t i = 0; i <= n && off < outlen; i++) {
    int w = snprintf(out + off, outlen - off, "%s%s", i > 0 ? " -> " : "",
                     i < n ? names[i] : last);
    if (w < 0)
      break;
    off += (size_t)w;
  }
}

/* What a query for level would find: the node at the end of its CNAME
 * chain (NULL if the name is not in the zone). A loop or a chain longer
 * than CNAME_HOPS_MAX is a lookup error in s; returns 1 then. */
static int chase(const struct byoca_caa_zone *z, const char *level,
                 const struct node **out, struct byoca_caa_rrset *s) {
  const char *seen[CNAME_HOPS_MAX + 1];
  size_t ns = 0;
  char chain[200];
  const struct node *nd = find(z, level);
  seen[ns++] = level;
  while (nd != NULL && nd->cname != NULL) {
    for (size_t i = 0; i < ns; i++) {
      if (strcmp(seen[i], nd->cname) == 0) {
        chain_str(seen, ns, nd->cname, chain, sizeof(chain));
        snprintf(s->error, sizeof(s->error), "CNAME loop at %.40s: %s", level,
                 chain);
        return s->lookup_error = 1;
      }
    }
    if (ns - 1 == CNAME_HOPS_MAX) {
      snprintf(s->error, sizeof(s->error),
               "CNAME chain at %.200s is longer than %d aliases", level,
               CNAME_HOPS_MAX);
      return s->lookup_error = 1;
    }
    seen[ns++] = nd->cname;
    nd = find(z, nd->cname);
  }
  *out = nd;
  return 0;
}

static int copy_records(struct byoca_caa_rrset *s, const char *domain,
                        const struct node *nd) {
  if ((s->relevant_domain = byoca_strdup(domain)) == NULL ||
      (s->records = calloc(nd->n, sizeof(*s->records))) == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < nd->n; i++) {
    const struct byoca_caa_record *r = &nd->recs[i];
    struct byoca_caa_record *c = &s->records[i];
    c->tag = byoca_strdup(r->tag);
    c->value = malloc(r->value_len + 1);
    s->n = i + 1;
    if (c->tag == NULL || c->value == NULL)
      return BYOCA_E_NOMEM;
    memcpy(c->value, r->value, r->value_len + 1);
    c->value_len = r->value_len;
    c->flags = r->flags;
  }
  return 0;
}

int byoca_caa_zone_rrset(const struct byoca_caa_zone *z, const char *name,
                         struct byoca_caa_rrset *out) {
  char base[CAA_NAME_MAX + 1];
  struct byoca_caa_rrset s;
  int rc = 0;
  if (z == NULL || out == NULL || caa_base_name(name, base, sizeof(base)) != 0)
    return BYOCA_E_INVAL;
  memset(&s, 0, sizeof(s));
  s.dnssec = BYOCA_DNSSEC_UNCHECKED;
  for (const char *l = base; l != NULL; l = caa_parent(l)) {
    const struct node *nd = NULL;
    if (chase(z, l, &nd, &s))
      break;
    if (nd != NULL && nd->n > 0) {
      rc = copy_records(&s, l, nd);
      break;
    }
  }
  if (rc != 0) {
    byoca_caa_rrset_clear(&s);
    return rc;
  }
  *out = s;
  return 0;
}
