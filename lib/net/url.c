/* URLs: splitting an absolute URL into scheme, host and port, and
 * resolving a reference against a base (RFC 3986 §5.2). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/net.h"
#include "net_int.h"

static size_t span_until(const char *s, const char *stops) {
  return strcspn(s, stops);
}

void net_url_parts(const char *ref, struct net_url *u) {
  memset(u, 0, sizeof(*u));
  const char *p = ref;
  /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
  if (isalpha((unsigned char)*p)) {
    size_t n = 1;
    while (isalnum((unsigned char)p[n]) || p[n] == '+' || p[n] == '-' ||
           p[n] == '.')
      n++;
    if (p[n] == ':') {
      u->scheme = p;
      u->scheme_len = n;
      p += n + 1;
    }
  }
  if (p[0] == '/' && p[1] == '/') {
    p += 2;
    u->auth = p;
    u->auth_len = span_until(p, "/?#");
    p += u->auth_len;
  }
  u->path = p;
  u->path_len = span_until(p, "?#");
  p += u->path_len;
  if (*p == '?') {
    u->query = ++p;
    u->query_len = span_until(p, "#");
    p += u->query_len;
  }
  if (*p == '#') {
    u->frag = ++p;
    u->frag_len = strlen(p);
  }
}

int net_url_default_port(const char *scheme) {
  if (scheme == NULL)
    return 0;
  if (strcmp(scheme, "https") == 0)
    return 443;
  if (strcmp(scheme, "http") == 0)
    return 80;
  return 0;
}

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static int clean_url(const char *url) {
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)url; *c; c++, n++)
    if (*c <= 0x20 || *c >= 0x7f || n >= NET_URL_MAX)
      return 0;
  return 1;
}

/* Host and port of an authority; host without brackets. */
static int split_auth(const char *a, size_t len, const char **host,
                      size_t *hlen, int *port) {
  const char *end = a + len, *p;
  if (memchr(a, '@', len) != NULL)
    return -1; /* userinfo: never in our URLs, a classic confusion trick */
  if (len > 0 && a[0] == '[') {
    const char *rb = memchr(a, ']', len);
    if (rb == NULL)
      return -1;
    *host = a + 1;
    *hlen = (size_t)(rb - a - 1);
    p = rb + 1;
    if (p < end && *p != ':')
      return -1;
  } else {
    p = memchr(a, ':', len);
    if (p == NULL)
      p = end;
    *host = a;
    *hlen = (size_t)(p - a);
  }
  *port = 0;
  if (p < end) { /* ":" port */
    p++;
    if (end - p > 5)
      return -1;
    int v = 0;
    for (; p < end; p++) {
      if (!isdigit((unsigned char)*p))
        return -1;
      v = v * 10 + (*p - '0');
    }
    if (v > 65535)
      return -1;
    *port = v;
  }
  return *hlen > 0 ? 0 : -1;
}

int byoca_url_split(const char *url, char **scheme, char **host, int *port) {
  struct net_url u;
  const char *h;
  size_t hlen;
  int pt;
  if (url == NULL || !clean_url(url))
    return BYOCA_E_INVAL;
  net_url_parts(url, &u);
  if (u.scheme == NULL || u.auth == NULL ||
      split_auth(u.auth, u.auth_len, &h, &hlen, &pt) != 0)
    return BYOCA_E_INVAL;
  char *s = dup_n(u.scheme, u.scheme_len);
  char *hh = dup_n(h, hlen);
  if (s == NULL || hh == NULL) {
    free(s);
    free(hh);
    return BYOCA_E_NOMEM;
  }
  for (char *c = s; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  *scheme = s;
  *host = hh;
  *port = pt;
  return 0;
}

/* RFC 3986 §5.2.4, in place on a NUL-terminated copy; the result is never
 * longer than the input. */
static void remove_dot_segments(char *in) {
  char *out = in; /* output is written behind the input cursor */
  size_t olen = 0;
  char *p = in;
  while (*p != '\0') {
    if (strncmp(p, "../", 3) == 0) {
      p += 3;
    } else if (strncmp(p, "./", 2) == 0) {
      p += 2;
    } else if (strncmp(p, "/./", 3) == 0) {
      p += 2;
    } else if (strcmp(p, "/.") == 0) {
      p += 1;
      *p = '/';
    } else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
      if (p[3] == '/') {
        p += 3;
      } else {
        p += 2;
        *p = '/';
      }
      while (olen > 0 && out[olen - 1] != '/')
        olen--;
      if (olen > 0)
        olen--;
    } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
      p += strlen(p);
    } else {
      size_t n = (*p == '/') ? 1 : 0;
      n += strcspn(p + n, "/");
      memmove(out + olen, p, n);
      olen += n;
      p += n;
    }
  }
  out[olen] = '\0';
}

/* The target's parts before assembly; each string may be NULL. */
struct target {
  const char *scheme, *auth, *query, *frag;
  size_t scheme_len, auth_len, query_len, frag_len;
  char *path; /* owned, dots removed */
};

static char *path_join(const struct net_url *b, const struct net_url *r) {
  size_t keep = 0;
  int slash = 0;
  if (b->auth != NULL && b->path_len == 0) {
    slash = 1;
  } else {
    for (size_t i = 0; i < b->path_len; i++)
      if (b->path[i] == '/')
        keep = i + 1;
  }
  char *m = malloc(keep + (size_t)slash + r->path_len + 1);
  if (m == NULL)
    return NULL;
  memcpy(m, b->path, keep);
  if (slash)
    m[keep] = '/';
  memcpy(m + keep + (size_t)slash, r->path, r->path_len);
  m[keep + (size_t)slash + r->path_len] = '\0';
  return m;
}

static char *assemble(const struct target *t) {
  size_t n = t->scheme_len + 1 + strlen(t->path) + 1;
  n += t->auth != NULL ? t->auth_len + 2 : 0;
  n += t->query != NULL ? t->query_len + 1 : 0;
  n += t->frag != NULL ? t->frag_len + 1 : 0;
  char *s = malloc(n), *w = s;
  if (s == NULL)
    return NULL;
  memcpy(w, t->scheme, t->scheme_len);
  w += t->scheme_len;
  *w++ = ':';
  if (t->auth != NULL) {
    *w++ = '/';
    *w++ = '/';
    memcpy(w, t->auth, t->auth_len);
    w += t->auth_len;
  }
  size_t pl = strlen(t->path);
  memcpy(w, t->path, pl);
  w += pl;
  if (t->query != NULL) {
    *w++ = '?';
    memcpy(w, t->query, t->query_len);
    w += t->query_len;
  }
  if (t->frag != NULL) {
    *w++ = '#';
    memcpy(w, t->frag, t->frag_len);
    w += t->frag_len;
  }
  *w = '\0';
  return s;
}

static void take_query(struct target *t, const struct net_url *u) {
  t->query = u->query;
  t->query_len = u->query_len;
}

char *byoca_url_resolve(const char *base, const char *ref) {
  struct net_url b, r;
  struct target t;
  if (ref == NULL)
    return NULL;
  net_url_parts(ref, &r);
  net_url_parts(base != NULL ? base : "", &b);
  const struct net_url *src = &r; /* where authority and path come from */
  memset(&t, 0, sizeof(t));
  if (r.scheme == NULL && b.scheme == NULL)
    return NULL; /* nothing absolute to resolve against */
  if (r.scheme != NULL) {
    t.path = dup_n(r.path, r.path_len);
    take_query(&t, &r);
  } else if (r.auth != NULL) {
    t.path = dup_n(r.path, r.path_len);
    take_query(&t, &r);
  } else {
    src = &b;
    if (r.path_len == 0) {
      t.path = dup_n(b.path, b.path_len);
      take_query(&t, r.query != NULL ? &r : &b);
    } else {
      t.path = r.path[0] == '/' ? dup_n(r.path, r.path_len) : path_join(&b, &r);
      take_query(&t, &r);
    }
  }
  if (t.path == NULL)
    return NULL;
  remove_dot_segments(t.path);
  const struct net_url *sch = r.scheme != NULL ? &r : &b;
  t.scheme = sch->scheme;
  t.scheme_len = sch->scheme_len;
  t.auth = src->auth;
  t.auth_len = src->auth_len;
  t.frag = r.frag;
  t.frag_len = r.frag_len;
  char *out = assemble(&t);
  free(t.path);
  return out;
}
