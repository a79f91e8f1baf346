/* byocad.conf: one [byocad] section, [ca "ISSUER"] and [rfc2136 "ZONE"]
 * sections, read with inih. Every key is in one table below; anything else
 * is an error naming the file, the line and the key, so a typo never
 * silently changes what the daemon does. */
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byoca/acme.h"
#include "byoca/solve.h"
#include "byoca/store.h"
#include "config.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define LINE_MAX_CHARS                                                         \
  196 /* inih's fixed line buffer is 200 with CR LF NUL                        \
       */

enum kind { K_STR, K_PATH, K_STORE, K_LIST, K_LISTEN, K_BOOL, K_INT, K_LEVEL };

struct key {
  const char *name;
  enum kind kind;
  size_t off;
  int64_t min, max;
  int restart; /* read at start only: a reload cannot change it */
};

#define F(f) offsetof(struct bd_config, f)
static const struct key keys[] = {
    {"state_dir", K_PATH, F(state_dir), 0, 0, 1},
    {"store", K_STORE, F(store), 0, 0, 1},
    {"master_key_file", K_PATH, F(master_key_file), 0, 0, 1},
    {"api_listen", K_LISTEN, F(api_listen), 0, 0, 1},
    {"http_listen", K_LISTEN, F(http_listen), 0, 0, 1},
    {"node_id", K_STR, F(node_id), 0, 0, 1},
    {"log_json", K_BOOL, F(log_json), 0, 0, 0},
    {"log_level", K_LEVEL, F(log_level), 0, 0, 0},
    {"resolver", K_STR, F(resolver), 0, 0, 1},
    {"trust_anchor", K_PATH, F(trust_anchor), 0, 0, 1},
    {"require_dnssec", K_BOOL, F(require_dnssec), 0, 0, 0},
    {"allow_net", K_LIST, F(allow_net), 0, 0, 1},
    {"ca_bundle", K_PATH, F(ca_bundle), 0, 0, 1},
    {"default_ca", K_LIST, F(default_ca), 0, 0, 0},
    {"contact_email", K_STR, F(contact_email), 0, 0, 0},
    {"max_parallel", K_INT, F(max_parallel), 1, 100000, 0},
    {"max_parallel_per_ca", K_INT, F(max_parallel_per_ca), 1, 100000, 0},
    {"retry_base", K_INT, F(retry_base), 1, 86400, 0},
    {"tick_ms", K_INT, F(tick_ms), 10, 3600000, 0},
    {"lease", K_INT, F(lease), 3, 86400, 1},
    {"dns_hook", K_PATH, F(dns_hook), 0, 0, 0},
    {"challenge_order", K_STR, F(challenge_order), 0, 0, 0},
    {"hook_timeout", K_INT, F(hook_timeout), 1, 86400, 0},
    {"deploy_dir", K_PATH, F(deploy_dir), 0, 0, 0},
    {"deploy_hook", K_PATH, F(deploy_hook), 0, 0, 0},
    {"webhook_url", K_STR, F(webhook_url), 0, 0, 0},
    {"notify_after_failures", K_INT, F(notify_after_failures), 1, 1000, 0},
    {"max_body", K_INT, F(max_body), 1024, 64 * 1024 * 1024, 1},
    {"drain_timeout", K_INT, F(drain_timeout), 0, 3600, 0},
    {"http_timeout", K_INT, F(http_timeout), 1, 86400, 1},
    {"order_timeout", K_INT, F(order_timeout), 1, 86400, 0},
    {"metrics_refresh", K_INT, F(metrics_refresh), 0, 86400, 0},
};
#undef F

struct parse {
  struct bd_config *c;
  char dir[PATH_MAX]; /* folder of the file, for relative paths */
  char msg[300];      /* the first error, without "FILE:LINE: " */
};

/* Records the first error; returns 0 (inih's "stop here" value). */
__attribute__((format(printf, 2, 3))) static int fail(struct parse *p,
                                                      const char *fmt, ...) {
  if (p->msg[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
    va_end(ap);
  }
  return 0;
}

/* value made absolute against the file's folder; NULL on NOMEM. */
static char *abs_path(const struct parse *p, const char *v) {
  if (v[0] == '/' || p->dir[0] == '\0')
    return byoca_strdup(v);
  return byoca_asprintf("%s/%s", p->dir, v);
}

static int set_str(char **dst, char *v) {
  if (v == NULL)
    return 0;
  free(*dst);
  *dst = v;
  return 1;
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  size_t i = strspn(s, " \t");
  memmove(s, s + i, n - i + 1);
}

/* One list entry; listen specs "unix:REL" get their path made absolute. */
static char *list_value(const struct parse *p, const char *v, int listen) {
  if (listen && strncmp(v, "unix:", 5) == 0 && v[5] != '/' && p->dir[0] != '\0')
    return byoca_asprintf("unix:%s/%s", p->dir, v + 5);
  return byoca_strdup(v);
}

static int add_list(struct parse *p, const struct key *k, struct bd_list *l,
                    const char *v) {
  char *copy = byoca_strdup(v);
  if (copy == NULL)
    return fail(p, "out of memory");
  int ok = 1;
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); ok && t != NULL;
       t = strtok_r(NULL, ",", &save)) {
    trim(t);
    if (*t == '\0')
      continue;
    if (l->n == BD_MAX_LIST)
      ok = fail(p, "%s: more than %d entries", k->name, BD_MAX_LIST);
    else if ((l->v[l->n] = list_value(p, t, k->kind == K_LISTEN)) == NULL)
      ok = fail(p, "out of memory");
    else
      l->n++;
  }
  free(copy);
  return ok;
}

static int parse_bool(const char *v, int *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (byoca_strcaseeq(v, yes[i]))
      return (*out = 1);
    if (byoca_strcaseeq(v, no[i]))
      return (*out = 0) == 0;
  }
  return 0;
}

static int parse_level(const char *v, enum byoca_loglevel *out) {
  static const struct {
    const char *name;
    enum byoca_loglevel lvl;
  } t[] = {{"error", BYOCA_LOG_ERROR},
           {"warn", BYOCA_LOG_WARN},
           {"warning", BYOCA_LOG_WARN},
           {"info", BYOCA_LOG_INFO},
           {"debug", BYOCA_LOG_DEBUG}};
  for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
    if (byoca_strcaseeq(v, t[i].name)) {
      *out = t[i].lvl;
      return 1;
    }
  return 0;
}

static char *store_value(const struct parse *p, const char *v) {
  if (byoca_store_url_is_remote(v))
    return byoca_strdup(v);
  if (strncmp(v, "sqlite:", 7) != 0)
    return abs_path(p, v);
  if (v[7] == '/' || p->dir[0] == '\0')
    return byoca_strdup(v);
  return byoca_asprintf("sqlite:%s/%s", p->dir, v + 7);
}

static int set_scalar(struct parse *p, const struct key *k, void *field,
                      const char *v) {
  uint64_t n;
  switch (k->kind) {
  case K_BOOL:
    return parse_bool(v, field) ||
           fail(p, "%s: expected yes or no, not '%.60s'", k->name, v);
  case K_LEVEL:
    return parse_level(v, field) ||
           fail(p, "%s: expected error, warn, info or debug", k->name);
  case K_INT:
    if (byoca_parse_uint(v, (uint64_t)k->max, &n) != 0 || (int64_t)n < k->min)
      return fail(p, "%s: expected a number from %lld to %lld", k->name,
                  (long long)k->min, (long long)k->max);
    *(int64_t *)field = (int64_t)n;
    return 1;
  default:
    return fail(p, "%s: internal error", k->name);
  }
}

static int set_key(struct parse *p, const struct key *k, const char *v) {
  void *field = (char *)p->c + k->off;
  char **s = field;
  switch (k->kind) {
  case K_LIST:
  case K_LISTEN:
    return add_list(p, k, field, v);
  case K_STR:
  case K_PATH:
  case K_STORE:
    if (strcmp(k->name, "challenge_order") == 0 && *v != '\0') {
      const char *t[BYOCA_CHALLENGE_TYPES_MAX];
      size_t n;
      struct byoca_err e = {0};
      if (byoca_challenge_order_parse(v, t, &n, &e) != 0) {
        fail(p, "challenge_order: %s", e.msg);
        byoca_err_clear(&e);
        return 0;
      }
    }
    if (*v == '\0') {
      free(*s);
      *s = NULL;
      return 1;
    }
    return set_str(s, k->kind == K_STR    ? byoca_strdup(v)
                      : k->kind == K_PATH ? abs_path(p, v)
                                          : store_value(p, v)) ||
           fail(p, "out of memory");
  default:
    return set_scalar(p, k, field, v);
  }
}

static struct bd_config_ca *ca_entry(struct parse *p, const char *issuer) {
  struct bd_config *c = p->c;
  for (size_t i = 0; i < c->nca; i++)
    if (byoca_strcaseeq(c->ca[i].issuer, issuer))
      return &c->ca[i];
  if (c->nca == BD_MAX_CA) {
    fail(p, "more than %d [ca] sections", BD_MAX_CA);
    return NULL;
  }
  if ((c->ca[c->nca].issuer = byoca_strdup(issuer)) == NULL) {
    fail(p, "out of memory");
    return NULL;
  }
  return &c->ca[c->nca++];
}

static int ca_key(struct parse *p, const char *section, const char *k,
                  const char *v) {
  size_t n = strlen(section);
  const char *q = section + 2;
  q += strspn(q, " \t");
  if (*q != '"' || n < 2 || section[n - 1] != '"' ||
      (size_t)(q - section) + 2 >= n)
    return fail(p, "unknown section [%.100s]", section);
  char issuer[256];
  snprintf(issuer, sizeof(issuer), "%.*s", (int)(n - (size_t)(q - section) - 2),
           q + 1);
  if (strchr(issuer, '"') != NULL)
    return fail(p, "unknown section [%.100s]", section);
  struct bd_config_ca *e = ca_entry(p, issuer);
  if (e == NULL)
    return 0;
  if (strcmp(k, "profile_required") == 0)
    return parse_bool(v, &e->profile_required) ||
           fail(p, "%s: expected yes or no, not '%.60s'", k, v);
  if (strcmp(k, "profile") == 0 && *v != '\0' && !byoca_profile_name_valid(v))
    return fail(p, "profile: '%.60s' is not a profile name", v);
  char **dst = strcmp(k, "profile") == 0 ? &e->profile : NULL;
  if (dst != NULL) {
    free(*dst);
    *dst = *v == '\0' ? NULL : byoca_strdup(v);
    return *v == '\0' || *dst != NULL || fail(p, "out of memory");
  }
  dst = strcmp(k, "directory") == 0       ? &e->directory
        : strcmp(k, "eab_kid") == 0       ? &e->eab_kid
        : strcmp(k, "eab_hmac_file") == 0 ? &e->eab_hmac_file
                                          : NULL;
  if (dst == NULL)
    return fail(p, "unknown key %.100s", k);
  char *val = *v == '\0'             ? NULL
              : dst == &e->directory ? byoca_strdup(v)
              : dst == &e->eab_kid   ? byoca_strdup(v)
                                     : abs_path(p, v);
  free(*dst);
  *dst = val;
  return *v == '\0' || val != NULL || fail(p, "out of memory");
}

/* The quoted argument of a section "NAME \"ARG\"" into out; 0 if the
 * section is not of that form. */
static int section_arg(const char *section, size_t namelen, char *out,
                       size_t outlen) {
  const char *q = section + namelen;
  q += strspn(q, " \t");
  size_t n = strlen(q);
  if (q == section + namelen || n < 3 || q[0] != '"' || q[n - 1] != '"' ||
      n - 2 >= outlen || memchr(q + 1, '"', n - 2) != NULL)
    return 0;
  snprintf(out, outlen, "%.*s", (int)(n - 2), q + 1);
  return 1;
}

static struct bd_config_rfc2136 *zone_entry(struct parse *p, const char *zone) {
  struct bd_config *c = p->c;
  for (size_t i = 0; i < c->nzones; i++)
    if ((zone == NULL && c->zones[i].zone == NULL) ||
        (zone != NULL && c->zones[i].zone != NULL &&
         byoca_strcaseeq(c->zones[i].zone, zone)))
      return &c->zones[i];
  if (c->nzones == BD_MAX_ZONES) {
    fail(p, "more than %d [rfc2136] sections", BD_MAX_ZONES);
    return NULL;
  }
  if (zone != NULL && (c->zones[c->nzones].zone = byoca_strdup(zone)) == NULL) {
    fail(p, "out of memory");
    return NULL;
  }
  return &c->zones[c->nzones++];
}

/* [rfc2136] and [rfc2136 "ZONE"]: the keys of byoca.conf's [rfc2136]. */
static int rfc2136_key(struct parse *p, const char *section, const char *k,
                       const char *v) {
  char zone[256];
  int named = section[7] != '\0';
  if (named && !section_arg(section, 7, zone, sizeof(zone)))
    return fail(p, "unknown section [%.100s]", section);
  struct bd_config_rfc2136 *e = zone_entry(p, named ? zone : NULL);
  if (e == NULL)
    return 0;
  int64_t *num =
      strcmp(k, "port") == 0                   ? &e->port
      : strcmp(k, "propagation_timeout") == 0  ? &e->propagation_timeout
      : strcmp(k, "propagation_interval") == 0 ? &e->propagation_interval
                                               : NULL;
  if (num != NULL) {
    uint64_t n;
    int64_t max = num == &e->port ? 65535 : 86400;
    if (byoca_parse_uint(v, (uint64_t)max, &n) != 0 || n == 0)
      return fail(p, "%s: expected a number from 1 to %lld", k, (long long)max);
    *num = (int64_t)n;
    return 1;
  }
  char **dst = strcmp(k, "server") == 0             ? &e->server
               : strcmp(k, "tsig_key") == 0         ? &e->tsig_key
               : strcmp(k, "tsig_alg") == 0         ? &e->tsig_alg
               : strcmp(k, "tsig_secret_file") == 0 ? &e->tsig_secret_file
                                                    : NULL;
  if (dst == NULL)
    return fail(p, "unknown key %.100s", k);
  if (dst == &e->tsig_alg && *v != '\0' && !byoca_strcaseeq(v, "hmac-sha256") &&
      !byoca_strcaseeq(v, "hmac-sha512"))
    return fail(p, "tsig_alg: expected hmac-sha256 or hmac-sha512");
  char *val = *v == '\0'                    ? NULL
              : dst == &e->tsig_secret_file ? abs_path(p, v)
                                            : byoca_strdup(v);
  free(*dst);
  *dst = val;
  return *v == '\0' || val != NULL || fail(p, "out of memory");
}

/* inih's callback, per key; 0 makes ini_parse report this line. */
static int on_key(void *user, const char *section, const char *k,
                  const char *v) {
  struct parse *p = user;
  if (strcmp(section, "byocad") == 0) {
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
      if (strcmp(keys[i].name, k) == 0)
        return set_key(p, &keys[i], v);
    return fail(p, "unknown key %.100s", k);
  }
  if (strncmp(section, "ca", 2) == 0 &&
      (section[2] == ' ' || section[2] == '\t'))
    return ca_key(p, section, k, v);
  if (strncmp(section, "rfc2136", 7) == 0 &&
      (section[7] == '\0' || section[7] == ' ' || section[7] == '\t'))
    return rfc2136_key(p, section, k, v);
  if (strcmp(section, "tls-alpn") == 0) {
    char addr[64];
    int port;
    if (strcmp(k, "listen") != 0)
      return fail(p, "unknown key %.100s", k);
    if (*v == '\0') {
      free(p->c->tls_alpn_listen);
      p->c->tls_alpn_listen = NULL;
      return 1;
    }
    if (byoca_listen_spec_parse(v, addr, sizeof(addr), &port) != 0)
      return fail(p, "listen: expected [ADDR:]PORT, not '%.60s'", v);
    return set_str(&p->c->tls_alpn_listen, byoca_strdup(v)) ||
           fail(p, "out of memory");
  }
  if (section[0] == '\0')
    return fail(p, "key %.100s outside a section", k);
  return fail(p, "unknown section [%.100s]", section);
}

static int defaults(struct bd_config *c) {
  if (c->state_dir == NULL &&
      (c->state_dir = strdup("/var/lib/byocad")) == NULL)
    return -1;
  if (c->store == NULL &&
      (c->store = byoca_asprintf("%s/byocad.db", c->state_dir)) == NULL)
    return -1;
  if (c->master_key_file == NULL &&
      (c->master_key_file = byoca_asprintf("%s/master.key", c->state_dir)) ==
          NULL)
    return -1;
  if (c->api_listen.n == 0 && (c->api_listen.v[c->api_listen.n++] =
                                   strdup("unix:/run/byocad/api.sock")) == NULL)
    return -1;
  return 0;
}

static void init_numbers(struct bd_config *c) {
  c->log_level = BYOCA_LOG_INFO;
  c->max_parallel = 64;
  c->max_parallel_per_ca = 16;
  c->retry_base = 300;
  c->tick_ms = 1000;
  c->lease = 600;
  c->hook_timeout = 300;
  c->notify_after_failures = 3;
  c->max_body = 1024 * 1024;
  c->drain_timeout = 30;
  c->http_timeout = 30;
  c->order_timeout = 3600;
  c->metrics_refresh = 30;
}

/* Line number of the first line too long for inih, or 0. */
static int long_line(const char *text) {
  int line = 1;
  for (const char *s = text; *s != '\0'; line++) {
    size_t n = strcspn(s, "\n");
    if (n > LINE_MAX_CHARS)
      return line;
    s += n;
    if (*s == '\n')
      s++;
  }
  return 0;
}

/* The folder of path, absolute, into dir. */
static int folder_of(const char *path, char *dir, size_t len) {
  char tmp[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    byoca_strlcpy(tmp, ".", sizeof(tmp));
  else
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(slash - path + (slash == path)),
             path);
  char *r = realpath(tmp, NULL);
  if (r == NULL)
    return -1;
  byoca_strlcpy(dir, r, len);
  free(r);
  return 0;
}

/* [rfc2136] sections are complete; a port key goes into server. */
static int zones_finish(struct bd_config *c, const char *path,
                        struct byoca_err *err) {
  for (size_t i = 0; i < c->nzones; i++) {
    struct bd_config_rfc2136 *z = &c->zones[i];
    const char *miss = z->server == NULL             ? "server"
                       : z->tsig_key == NULL         ? "tsig_key"
                       : z->tsig_secret_file == NULL ? "tsig_secret_file"
                                                     : NULL;
    if (miss != NULL)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "%.300s: [rfc2136%s%.200s%s] has no %s", path,
                           z->zone ? " \"" : "", z->zone ? z->zone : "",
                           z->zone ? "\"" : "", miss);
    if (z->port == 0)
      continue;
    size_t n = strlen(z->server);
    int bracketed = z->server[0] == '[' && z->server[n - 1] == ']';
    int v6 = strchr(z->server, ':') != strrchr(z->server, ':');
    if ((z->server[0] == '[' && !bracketed) ||
        (!bracketed && !v6 && strchr(z->server, ':') != NULL))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "%.300s: [rfc2136%s%.200s%s]: port given twice"
                           " (in server and as port)",
                           path, z->zone ? " \"" : "", z->zone ? z->zone : "",
                           z->zone ? "\"" : "");
    char *srv = v6 && !bracketed
                    ? byoca_asprintf("[%s]:%lld", z->server, (long long)z->port)
                    : byoca_asprintf("%s:%lld", z->server, (long long)z->port);
    if (srv == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    free(z->server);
    z->server = srv;
  }
  return 0;
}

static int parse_file(const char *path, struct parse *p,
                      struct byoca_err *err) {
  char *text = NULL;
  int rc = byoca_file_read(path, CONFIG_MAX_BYTES, &text, NULL, err);
  if (rc != 0)
    return byoca_err_set(err,
                         rc == BYOCA_E_NOTFOUND ? BYOCA_E_NOTFOUND : BYOCA_E_IO,
                         BYOCA_CLASS_INPUT, "cannot read %.300s", path);
  int line = long_line(text);
  if (line > 0) {
    free(text);
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "%.300s:%d: line longer than %d characters", path,
                         line, LINE_MAX_CHARS);
  }
  if (folder_of(path, p->dir, sizeof(p->dir)) != 0)
    p->dir[0] = '\0';
  line = ini_parse_string(text, on_key, p);
  free(text);
  if (line == 0)
    return zones_finish(p->c, path, err);
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "%.300s:%d: %s",
                       path, line, p->msg[0] ? p->msg : "syntax error");
}

int bd_config_load(const char *path, struct bd_config *out,
                   struct byoca_err *err) {
  struct bd_config c;
  memset(&c, 0, sizeof(c));
  init_numbers(&c);
  if (path == NULL) {
    const char *env = getenv("BYOCAD_CONFIG");
    if (env != NULL && env[0] != '\0')
      path = env;
    else if (access(BD_CONFIG_DEFAULT, F_OK) == 0)
      path = BD_CONFIG_DEFAULT; /* else no file: the defaults */
  }
  int rc = 0;
  struct parse *p = calloc(1, sizeof(*p));
  if (p == NULL)
    rc = BYOCA_E_NOMEM;
  else if (path != NULL) {
    p->c = &c;
    rc = parse_file(path, p, err);
    if (rc == 0 && (c.path = realpath(path, NULL)) == NULL &&
        (c.path = strdup(path)) == NULL)
      rc = BYOCA_E_NOMEM;
  }
  free(p);
  if (rc == 0 && defaults(&c) != 0)
    rc = BYOCA_E_NOMEM;
  if (rc == BYOCA_E_NOMEM)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  if (rc != 0) {
    bd_config_free(&c);
    return rc;
  }
  *out = c;
  return 0;
}

static void list_free(struct bd_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
}

void bd_config_free(struct bd_config *c) {
  free(c->tls_alpn_listen);
  for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
    void *field = (char *)c + keys[i].off;
    if (keys[i].kind == K_LIST || keys[i].kind == K_LISTEN)
      list_free(field);
    else if (keys[i].kind <= K_STORE)
      free(*(char **)field);
  }
  for (size_t i = 0; i < c->nca; i++) {
    free(c->ca[i].issuer);
    free(c->ca[i].directory);
    free(c->ca[i].eab_kid);
    free(c->ca[i].eab_hmac_file);
    free(c->ca[i].profile);
  }
  for (size_t i = 0; i < c->nzones; i++) {
    free(c->zones[i].zone);
    free(c->zones[i].server);
    free(c->zones[i].tsig_key);
    free(c->zones[i].tsig_alg);
    free(c->zones[i].tsig_secret_file);
  }
  free(c->path);
  memset(c, 0, sizeof(*c));
}

static int str_differs(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a != b;
  return strcmp(a, b) != 0;
}

static int list_differs(const struct bd_list *a, const struct bd_list *b) {
  if (a->n != b->n)
    return 1;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i], b->v[i]) != 0)
      return 1;
  return 0;
}

static size_t field_size(enum kind k) {
  switch (k) {
  case K_LIST:
  case K_LISTEN:
    return sizeof(struct bd_list);
  case K_INT:
    return sizeof(int64_t);
  case K_BOOL:
    return sizeof(int);
  case K_LEVEL:
    return sizeof(enum byoca_loglevel);
  default:
    return sizeof(char *);
  }
}

static int field_differs(const struct key *k, const void *fa, const void *fb) {
  if (k->kind == K_LIST || k->kind == K_LISTEN)
    return list_differs(fa, fb);
  if (k->kind == K_INT)
    return *(const int64_t *)fa != *(const int64_t *)fb;
  return str_differs(*(char *const *)fa, *(char *const *)fb);
}

void bd_config_keep_running(struct bd_config *next, struct bd_config *running,
                            char *out, size_t outlen) {
  byoca_strlcpy(out, "", outlen);
  char *alpn = next->tls_alpn_listen;
  if ((alpn == NULL) != (running->tls_alpn_listen == NULL) ||
      (alpn != NULL && strcmp(alpn, running->tls_alpn_listen) != 0))
    byoca_strlcpy(out, "[tls-alpn] listen", outlen);
  next->tls_alpn_listen = running->tls_alpn_listen;
  running->tls_alpn_listen = alpn;
  for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
    if (!keys[i].restart)
      continue;
    char *fa = (char *)next + keys[i].off;
    char *fb = (char *)running + keys[i].off;
    if (field_differs(&keys[i], fa, fb) &&
        strlen(out) + strlen(keys[i].name) + 3 < outlen) {
      if (out[0] != '\0')
        strncat(out, ", ", outlen - strlen(out) - 1);
      strncat(out, keys[i].name, outlen - strlen(out) - 1);
    }
    unsigned char tmp[sizeof(struct bd_list)];
    size_t n = field_size(keys[i].kind);
    memcpy(tmp, fa, n);
    memcpy(fa, fb, n);
    memcpy(fb, tmp, n);
  }
}
