/* byoca daemon: byocad's REST API (tenants, tokens, certificates, EAB,
 * events, CA health, metrics) from the command line, so operators and
 * tenants need no curl. One table maps each verb to the options it takes;
 * options may come before or after the verb.
 *
 * Tokens come from a file or the environment, never from argv; secrets
 * that go into request bodies (private keys, EAB MAC keys) and answers
 * that carry a private key live in buffers that are wiped when freed. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_daemon.h"

#define DEFAULT_SOCKET "unix:/run/byocad/api.sock"
#define TOKEN_MAX 4096
#define PEM_MAX (512 * 1024)
#define KEY_MAX (64 * 1024)
#define WAIT_DEFAULT 300
#define PAGE_LIMIT "1000"
#define PAGE_N 1000
#define DHELP 100 /* parse result: --help was asked for */

static const char help[] =
    "usage: byoca daemon [--socket SPEC] [--token-file FILE] [--json] VERB\n"
    "\n"
    "Talks to byocad's REST API.\n"
    "  tenant create NAME | tenant list | tenant show ID | tenant delete ID\n"
    "  token create [TENANT_ID] [--label L] | token list [TENANT_ID]\n"
    "  token revoke [TENANT_ID] TOKEN_ID  (no TENANT_ID: operator tokens)\n"
    "  cert add NAME... [--key-type T] [--ca auto|ISSUER|URL] [--profile P]\n"
    "           [--require-profile] [--wait [SECONDS]]\n"
    "  cert list | cert show ID | cert delete ID [--no-revoke] [--wait]\n"
    "  cert renew ID [--wait] | cert chain ID [--include-key] [-o FILE]\n"
    "  cert import --cert FILE --key FILE [--ca ...]\n"
    "  eab set ISSUER --kid KID --hmac-file FILE | eab list | eab delete "
    "ISSUER\n"
    "  rfc2136 set ZONE|'*' --server IP [--port N] --tsig-key NAME\n"
    "           [--tsig-alg hmac-sha256|hmac-sha512] --secret-file FILE\n"
    "  rfc2136 list | rfc2136 delete ZONE|'*'\n"
    "  events [--after N] [--limit N] | cas | metrics\n"
    "\n"
    "  --socket SPEC      unix:/PATH, tcp:HOST:PORT or http://HOST:PORT\n"
    "                     (default $BYOCAD_SOCKET or " DEFAULT_SOCKET ")\n"
    "  --token-file FILE  API token (else $BYOCA_TOKEN_FILE, else the\n"
    "                     token itself in $BYOCA_TOKEN)\n"
    "  --tenant ID        act on tenant ID's objects (operator token; for\n"
    "                     cert, eab, rfc2136 and events)\n"
    "  --json             print the API's JSON as received\n"
    "A created token is printed alone on stdout, once. --wait polls until\n"
    "the certificate is issued (or gone, for delete): exit 0, or 1 when it\n"
    "failed or SECONDS (default 300) passed.\n";

struct dctx {
  const char *spec; /* as given, for messages */
  char *endpoint;   /* for byoca_http_local */
  const char *token_file;
  struct byoca_secret token; /* empty: none */
  int token_loaded;
  int json;
};

/* Verb options; each verb says which it takes. */
enum {
  O_TENANT,
  O_LABEL,
  O_KEYTYPE,
  O_CA,
  O_PROFILE,
  O_WAIT,
  O_NOREVOKE,
  O_INCLKEY,
  O_OUT,
  O_CERT,
  O_KEY,
  O_KID,
  O_HMAC,
  O_AFTER,
  O_LIMIT,
  O_REQPROFILE,
  O_SERVER,
  O_PORT,
  O_TSIGKEY,
  O_TSIGALG,
  O_SECRET,
  O_N
};
#define OPT(x) (1u << (x))
#define OPTVAL 3000
enum { C_SOCKET = OPTVAL + 64, C_TOKEN_FILE, C_JSON };

struct vopts {
  const char *val[O_N]; /* as given; "1" for flags, "" for a bare --wait */
  unsigned given;
  uint64_t id[2];  /* the ID positionals, parsed */
  int64_t wait_s;  /* 0 = no --wait */
  char *wait_word; /* the word --wait took as SECONDS, if any */
  char *one_pos[1];
  char **pos;
  int npos;
};

static const struct option longopts[] = {
    {"tenant", required_argument, NULL, OPTVAL + O_TENANT},
    {"label", required_argument, NULL, OPTVAL + O_LABEL},
    {"key-type", required_argument, NULL, OPTVAL + O_KEYTYPE},
    {"ca", required_argument, NULL, OPTVAL + O_CA},
    {"profile", required_argument, NULL, OPTVAL + O_PROFILE},
    {"wait", optional_argument, NULL, OPTVAL + O_WAIT},
    {"no-revoke", no_argument, NULL, OPTVAL + O_NOREVOKE},
    {"require-profile", no_argument, NULL, OPTVAL + O_REQPROFILE},
    {"include-key", no_argument, NULL, OPTVAL + O_INCLKEY},
    {"output", required_argument, NULL, OPTVAL + O_OUT},
    {"cert", required_argument, NULL, OPTVAL + O_CERT},
    {"key", required_argument, NULL, OPTVAL + O_KEY},
    {"kid", required_argument, NULL, OPTVAL + O_KID},
    {"hmac-file", required_argument, NULL, OPTVAL + O_HMAC},
    {"after", required_argument, NULL, OPTVAL + O_AFTER},
    {"limit", required_argument, NULL, OPTVAL + O_LIMIT},
    {"server", required_argument, NULL, OPTVAL + O_SERVER},
    {"port", required_argument, NULL, OPTVAL + O_PORT},
    {"tsig-key", required_argument, NULL, OPTVAL + O_TSIGKEY},
    {"tsig-alg", required_argument, NULL, OPTVAL + O_TSIGALG},
    {"secret-file", required_argument, NULL, OPTVAL + O_SECRET},
    {"socket", required_argument, NULL, C_SOCKET},
    {"token-file", required_argument, NULL, C_TOKEN_FILE},
    {"json", no_argument, NULL, C_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int bit) {
  for (const struct option *o = longopts; o->name != NULL; o++)
    if (o->val == OPTVAL + bit)
      return o->name;
  return "?";
}

/* ---- options ---- */

static int all_digits(const char *s) {
  if (s == NULL || *s == '\0')
    return 0;
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

/* --wait takes an optional SECONDS, also as the next word ("--wait 30";
 * prepare gives the word back when it was the verb's ID). */
static const char *wait_arg(struct vopts *v, int argc, char **argv) {
  if (optarg != NULL)
    return optarg;
  if (optind < argc && all_digits(argv[optind]))
    return v->wait_word = argv[optind++];
  return "";
}

static int take_opt(struct dctx *d, struct vopts *v, int c, int argc,
                    char **argv) {
  switch (c) {
  case 'h':
    return DHELP;
  case C_SOCKET:
    d->spec = optarg;
    return 0;
  case C_TOKEN_FILE:
    d->token_file = optarg;
    return 0;
  case C_JSON:
    d->json = 1;
    return 0;
  case 'o':
    c = OPTVAL + O_OUT;
    break;
  case ':':
    return cli_usage("daemon", "option '%s' needs a value", argv[optind - 1]);
  default:
    if (c < OPTVAL || c >= OPTVAL + O_N)
      return cli_usage("daemon", "unknown option '%s'", argv[optind - 1]);
  }
  int bit = c - OPTVAL;
  v->given |= OPT(bit);
  if (bit == O_WAIT)
    v->val[bit] = wait_arg(v, argc, argv);
  else
    v->val[bit] = optarg != NULL ? optarg : "1";
  return 0;
}

/* getopt_long over argv from its start (argv[0] is skipped). */
static int parse(struct dctx *d, struct vopts *v, int argc, char **argv,
                 const char *optstring) {
  int c, rc;
  optind = 0; /* glibc: full reinitialisation */
  opterr = 0;
  while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1)
    if ((rc = take_opt(d, v, c, argc, argv)) != 0)
      return rc;
  return 0;
}

/* ---- the verb table ---- */

typedef int (*verb_fn)(struct dctx *d, const struct vopts *v);

struct verb {
  const char *group, *name; /* name NULL: a one-word verb */
  unsigned opts, required;
  int min, max, nids; /* positionals: count (max -1 = any), leading IDs */
  const char *args;
  verb_fn fn;
};

static int check_ids(const struct verb *vb, struct vopts *v) {
  for (int i = 0; i < vb->nids && i < v->npos; i++)
    if (byoca_parse_uint(v->pos[i], INT64_MAX, &v->id[i]) != 0 || v->id[i] == 0)
      return cli_usage("daemon", "'%s' is not an id (a positive number)",
                       v->pos[i]);
  return 0;
}

static int check_numbers(struct vopts *v) {
  uint64_t n;
  const char *t = v->val[O_TENANT], *w = v->val[O_WAIT];
  if (t != NULL && (byoca_parse_uint(t, INT64_MAX, &n) != 0 || n == 0))
    return cli_usage("daemon", "--tenant '%s' is not a tenant id", t);
  if (v->val[O_AFTER] != NULL &&
      byoca_parse_uint(v->val[O_AFTER], INT64_MAX, &n) != 0)
    return cli_usage("daemon", "--after '%s' is not an id", v->val[O_AFTER]);
  if (v->val[O_LIMIT] != NULL &&
      (byoca_parse_uint(v->val[O_LIMIT], 1000, &n) != 0 || n == 0))
    return cli_usage("daemon", "--limit '%s': expected 1-1000",
                     v->val[O_LIMIT]);
  if (w == NULL)
    return 0;
  if (w[0] == '\0')
    n = WAIT_DEFAULT;
  else if (byoca_parse_uint(w, 86400 * 7, &n) != 0 || n == 0)
    return cli_usage("daemon", "--wait '%s': expected seconds", w);
  v->wait_s = (int64_t)n;
  return 0;
}

static int check(const struct verb *vb, struct vopts *v) {
  char name[64];
  snprintf(name, sizeof(name), "%s%s%s", vb->group, vb->name ? " " : "",
           vb->name ? vb->name : "");
  for (int b = 0; b < O_N; b++) {
    if ((v->given & ~vb->opts & OPT(b)) != 0)
      return cli_usage("daemon", "option --%s does not apply to '%s'",
                       opt_name(b), name);
    if ((vb->required & ~v->given & OPT(b)) != 0)
      return cli_usage("daemon", "'%s' needs --%s", name, opt_name(b));
  }
  if (v->npos < vb->min || (vb->max >= 0 && v->npos > vb->max))
    return cli_usage("daemon", "usage: byoca daemon %s%s%s", name,
                     vb->args[0] ? " " : "", vb->args);
  int rc = check_ids(vb, v);
  return rc != 0 ? rc : check_numbers(v);
}

/* ---- transport ---- */

/* The endpoint byoca_http_local takes, from what an operator may write
 * (api_listen's forms included); NULL if it is none of them. */
static char *endpoint_of(const char *spec) {
  if (strncmp(spec, "unix:/", 6) == 0 || strncmp(spec, "http://", 7) == 0)
    return byoca_strdup(spec);
  if (spec[0] == '/')
    return byoca_asprintf("unix:%s", spec);
  if (strncmp(spec, "tcp:", 4) == 0 && spec[4] != '\0')
    return byoca_asprintf("http://%s", spec + 4);
  return NULL;
}

/* A bearer token is visible ASCII (RFC 6750 b64token and then some); this
 * also keeps a stray newline from splitting the header. */
static int token_ok(const struct byoca_secret *t) {
  if (t->len == 0 || strlen((const char *)t->data) != t->len)
    return 0;
  for (size_t i = 0; i < t->len; i++)
    if (t->data[i] < 0x21 || t->data[i] > 0x7e)
      return 0;
  return 1;
}

static int load_token(struct dctx *d) {
  struct byoca_err e = {0};
  const char *file = d->token_file ? d->token_file : getenv("BYOCA_TOKEN_FILE");
  const char *env = getenv("BYOCA_TOKEN"), *from = file;
  if (d->token_loaded)
    return 0;
  d->token_loaded = 1;
  if (file != NULL && file[0] != '\0') {
    if (byoca_secret_read_file(file, TOKEN_MAX, &d->token, &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
      return EXIT_FAILED;
    }
  } else if (env != NULL && env[0] != '\0') {
    from = "$BYOCA_TOKEN";
    d->token.len = strlen(env);
    if ((d->token.data = (unsigned char *)byoca_strdup(env)) == NULL)
      return EXIT_FAILED;
  } else {
    return 0;
  }
  if (token_ok(&d->token))
    return 0;
  cli_error("the token in %s has characters a bearer token cannot have", from);
  byoca_secret_free(&d->token);
  return EXIT_FAILED;
}

/* Sends one request: 0 with *out for any HTTP answer, or EXIT_FAILED
 * after saying why byocad could not be reached. */
static int send_raw(struct dctx *d, const char *method, const char *path,
                    const char *body, struct byoca_local_resp *out) {
  struct byoca_err e = {0};
  char line[1024];
  memset(out, 0, sizeof(*out));
  if (path == NULL) {
    cli_error("out of memory");
    return EXIT_FAILED;
  }
  if (load_token(d) != 0)
    return EXIT_FAILED;
  if (byoca_http_local(d->endpoint, method, path, (const char *)d->token.data,
                       body, out, &e) == 0)
    return 0;
  byoca_err_format(&e, line, sizeof(line));
  if (strstr(line, d->endpoint) != NULL)
    cli_error("%s", line);
  else
    cli_error("cannot reach byocad at %s: %s", d->spec, line);
  if (e.code == BYOCA_E_NET || e.code == BYOCA_E_TIMEOUT)
    fprintf(stderr, "byoca: is byocad running and listening there? "
                    "(--socket or $BYOCAD_SOCKET say where)\n");
  byoca_err_clear(&e);
  return EXIT_FAILED;
}

/* send_raw, where only a 2xx answer is 0; the error of any other is
 * printed (and the answer freed). */
static int send_ok(struct dctx *d, const char *method, const char *path,
                   const char *body, struct byoca_local_resp *out) {
  int rc = send_raw(d, method, path, body, out);
  if (rc != 0 || (out->status >= 200 && out->status < 300))
    return rc;
  dout_problem(out, d->token.data == NULL);
  byoca_local_resp_free(out);
  return EXIT_FAILED;
}

/* send_ok with a JSON body (taken). */
static int send_json(struct dctx *d, const char *method, const char *path,
                     json_t *body, struct byoca_local_resp *out) {
  char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (s == NULL) {
    memset(out, 0, sizeof(*out));
    cli_error("out of memory");
    return EXIT_FAILED;
  }
  int rc = send_ok(d, method, path, s, out);
  free(s);
  return rc;
}

/* The answer as a JSON object, or NULL (said). */
static json_t *resp_json(const struct byoca_local_resp *r) {
  json_t *j =
      json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
  if (json_is_object(j))
    return j;
  json_decref(j);
  cli_error("byocad's answer (HTTP %ld) is not a JSON object", r->status);
  return NULL;
}

/* ---- paths ---- */

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes s (RFC 3986 §2.1) onto b. */
static int escape(struct byoca_buf *b, const char *s) {
  int rc = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++)
    rc = is_unreserved(*p) ? byoca_buf_append(b, p, 1)
                           : byoca_buf_appendf(b, "%%%02X", *p);
  return rc;
}

struct qp {
  const char *name, *value; /* value NULL: left out */
};

/* base (its last segment seg escaped, when given) plus the query
 * parameters that have a value; caller frees; NULL on NOMEM. */
static char *mkpath(const char *base, const char *seg, const struct qp *q,
                    size_t nq) {
  struct byoca_buf b;
  char sep = '?';
  byoca_buf_init(&b, 0);
  int rc = byoca_buf_appends(&b, base);
  if (rc == 0 && seg != NULL)
    rc = escape(&b, seg);
  for (size_t i = 0; i < nq && rc == 0; i++) {
    if (q[i].value == NULL)
      continue;
    rc = byoca_buf_appendf(&b, "%c%s=", sep, q[i].name);
    if (rc == 0)
      rc = escape(&b, q[i].value);
    sep = '&';
  }
  if (rc != 0) {
    byoca_buf_free(&b);
    return NULL;
  }
  return byoca_buf_steal(&b);
}

/* base with ?tenant= when --tenant was given. */
static char *tpath(const struct vopts *v, const char *base) {
  struct qp q = {"tenant", v->val[O_TENANT]};
  return mkpath(base, NULL, &q, 1);
}

static char *cert_path(const struct vopts *v, const char *suffix) {
  char base[96];
  snprintf(base, sizeof(base), "/v1/certificates/%" PRIu64 "%s", v->id[0],
           suffix);
  return tpath(v, base);
}

/* ---- output ---- */

typedef void (*human_fn)(json_t *j);

static void human_object(json_t *j) {
  dout_object(j);
}
static void human_tenant_row(json_t *j) {
  json_t *a = json_pack("[O]", j);
  dout_table(a, dout_tenant_cols, "");
  json_decref(a);
}
static void human_cert_row(json_t *j) {
  json_t *a = json_pack("[O]", j);
  dout_table(a, dout_cert_cols, "");
  json_decref(a);
}
static void human_cas(json_t *j) {
  dout_table(json_object_get(j, "items"), dout_ca_cols, "no CAs known yet");
}
static void human_eab(json_t *j) {
  dout_table(json_object_get(j, "items"), dout_eab_cols, "no EAB credentials");
}

/* Prints an answer: as received with --json, else through human. */
static int print_resp(struct dctx *d, const struct byoca_local_resp *r,
                      human_fn human) {
  if (d->json) {
    dout_raw(r);
    return EXIT_OK;
  }
  json_t *j = resp_json(r);
  if (j == NULL)
    return EXIT_FAILED;
  human(j);
  json_decref(j);
  return EXIT_OK;
}

/* One request whose answer is printed. */
static int show(struct dctx *d, const char *method, char *path,
                human_fn human) {
  struct byoca_local_resp r;
  int rc = send_ok(d, method, path, NULL, &r);
  free(path);
  if (rc != 0)
    return rc;
  rc = print_resp(d, &r, human);
  byoca_local_resp_free(&r);
  return rc;
}

/* One request answered 204; done is what a human is told. */
static int no_content(struct dctx *d, const char *method, char *path,
                      const char *body, const char *done) {
  struct byoca_local_resp r;
  int rc = send_ok(d, method, path, body, &r);
  free(path);
  if (rc != 0)
    return rc;
  if (!d->json)
    printf("%s\n", done);
  byoca_local_resp_free(&r);
  return EXIT_OK;
}

static void print_list(struct dctx *d, json_t *all, const struct dcol *cols,
                       const char *empty) {
  if (!d->json) {
    dout_table(all, cols, empty);
    return;
  }
  json_t *doc = json_pack("{s:O,s:n}", "items", all, "next_after");
  char *s = json_dumps(doc, JSON_COMPACT);
  if (s != NULL)
    puts(s);
  free(s);
  json_decref(doc);
}

/* Every page of a list (following next_after), printed as one table, or
 * with --json as one {"items": [...], "next_after": null}. */
static int list_all(struct dctx *d, const char *base, const char *tenant,
                    const struct dcol *cols, const char *empty) {
  json_t *all = json_array(), *j = NULL;
  json_int_t prev = -1;
  char after[32] = "";
  int rc = EXIT_OK;
  for (;;) {
    struct qp q[] = {{"tenant", tenant},
                     {"after", after[0] ? after : NULL},
                     {"limit", PAGE_LIMIT}};
    struct byoca_local_resp r;
    char *path = mkpath(base, NULL, q, 3);
    rc = send_ok(d, "GET", path, NULL, &r);
    free(path);
    if (rc != 0)
      break;
    j = resp_json(&r);
    byoca_local_resp_free(&r);
    if (j == NULL) {
      rc = EXIT_FAILED;
      break;
    }
    json_t *items = json_object_get(j, "items"), *next;
    json_array_extend(all, items);
    next = json_object_get(j, "next_after");
    if (!json_is_integer(next) || json_integer_value(next) <= prev ||
        json_array_size(items) < PAGE_N)
      break;
    prev = json_integer_value(next);
    snprintf(after, sizeof(after), "%" JSON_INTEGER_FORMAT, prev);
    json_decref(j);
    j = NULL;
  }
  json_decref(j);
  if (rc == EXIT_OK)
    print_list(d, all, cols, empty);
  json_decref(all);
  return rc;
}

/* Prints a freshly minted token alone on stdout (and what it is for on
 * stderr), or the whole answer with --json. */
static int print_token(struct dctx *d, const struct byoca_local_resp *r,
                       const char *what) {
  if (d->json) {
    dout_raw(r);
    return EXIT_OK;
  }
  json_t *j = resp_json(r);
  const char *tok = json_string_value(json_object_get(j, "token"));
  struct byoca_secret t = {(unsigned char *)tok, tok ? strlen(tok) : 0};
  int rc = tok != NULL && token_ok(&t) ? EXIT_OK : EXIT_FAILED;
  if (rc == EXIT_OK) {
    char id[32];
    dout_value(json_object_get(j, "id"), id, sizeof(id));
    fprintf(stderr, "%s %s; its token follows on stdout (shown once)\n", what,
            id);
    printf("%s\n", tok);
  } else if (j != NULL) {
    cli_error("byocad's answer has no usable token");
  }
  json_decref(j);
  return rc;
}

/* ---- secrets in request bodies ---- */

/* Appends s as a JSON string body (RFC 8259 §7), quotes excluded. */
static int json_escape(struct byoca_buf *b, const unsigned char *s, size_t n) {
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (s[i] == '"' || s[i] == '\\')
      rc = byoca_buf_appendf(b, "\\%c", s[i]);
    else if (s[i] < 0x20)
      rc = byoca_buf_appendf(b, "\\u%04x", s[i]);
    else
      rc = byoca_buf_append(b, &s[i], 1);
  }
  return rc;
}

/* obj's JSON plus a member name: secret, built in out (wipe it with
 * byoca_buf_free_secret) so the secret never sits in jansson's memory. */
static int body_with_secret(json_t *obj, const char *name,
                            const struct byoca_secret *secret,
                            struct byoca_buf *out) {
  char *head = json_dumps(obj, JSON_COMPACT);
  int rc = head == NULL ? BYOCA_E_NOMEM : 0;
  byoca_buf_init(out, 0);
  if (rc == 0)
    rc = byoca_buf_append(out, head, strlen(head) - 1); /* without '}' */
  if (rc == 0 && json_object_size(obj) > 0)
    rc = byoca_buf_appends(out, ",");
  if (rc == 0)
    rc = byoca_buf_appendf(out, "\"%s\":\"", name);
  if (rc == 0)
    rc = json_escape(out, secret->data, secret->len);
  if (rc == 0)
    rc = byoca_buf_appends(out, "\"}");
  free(head);
  if (rc != 0) {
    byoca_buf_free_secret(out);
    cli_error("out of memory");
  }
  return rc;
}

/* ---- tenants and tokens ---- */

static int tenant_create(struct dctx *d, const struct vopts *v) {
  struct byoca_local_resp r;
  int rc = send_json(d, "POST", "/v1/tenants",
                     json_pack("{s:s}", "name", v->pos[0]), &r);
  if (rc != 0)
    return rc;
  rc = print_token(d, &r, "created tenant");
  byoca_buf_free_secret(&r.body);
  byoca_local_resp_free(&r);
  return rc;
}

static int tenant_list(struct dctx *d, const struct vopts *v) {
  (void)v;
  return list_all(d, "/v1/tenants", NULL, dout_tenant_cols, "no tenants");
}

static char *tenant_path(const struct vopts *v) {
  return byoca_asprintf("/v1/tenants/%" PRIu64, v->id[0]);
}

static int tenant_show(struct dctx *d, const struct vopts *v) {
  return show(d, "GET", tenant_path(v), human_object);
}

static int tenant_delete(struct dctx *d, const struct vopts *v) {
  return show(d, "DELETE", tenant_path(v), human_tenant_row);
}

/* /v1/tenants/ID/tokens, or /v1/tokens (the operator's) without an ID. */
static char *tokens_path(const struct vopts *v) {
  return v->npos > 0
             ? byoca_asprintf("/v1/tenants/%" PRIu64 "/tokens", v->id[0])
             : byoca_strdup("/v1/tokens");
}

static int token_create(struct dctx *d, const struct vopts *v) {
  struct byoca_local_resp r;
  char *path = tokens_path(v);
  json_t *body = v->val[O_LABEL] != NULL
                     ? json_pack("{s:s}", "label", v->val[O_LABEL])
                     : json_object();
  int rc = send_json(d, "POST", path, body, &r);
  free(path);
  if (rc != 0)
    return rc;
  rc = print_token(d, &r, "created token");
  byoca_buf_free_secret(&r.body);
  byoca_local_resp_free(&r);
  return rc;
}

static void human_tokens(json_t *j) {
  dout_table(json_object_get(j, "items"), dout_token_cols, "no tokens");
}

static int token_list(struct dctx *d, const struct vopts *v) {
  return show(d, "GET", tokens_path(v), human_tokens);
}

static int token_revoke(struct dctx *d, const struct vopts *v) {
  char done[96];
  if (v->npos == 1) {
    snprintf(done, sizeof(done), "revoked operator token %" PRIu64, v->id[0]);
    return no_content(d, "DELETE",
                      byoca_asprintf("/v1/tokens/%" PRIu64, v->id[0]), NULL,
                      done);
  }
  snprintf(done, sizeof(done), "revoked token %" PRIu64 " of tenant %" PRIu64,
           v->id[1], v->id[0]);
  return no_content(d, "DELETE",
                    byoca_asprintf("/v1/tenants/%" PRIu64 "/tokens/%" PRIu64,
                                   v->id[0], v->id[1]),
                    NULL, done);
}

/* ---- waiting for a certificate ---- */

enum wait_kind { W_ISSUED, W_RENEWED, W_GONE };

struct waiter {
  enum wait_kind kind;
  char *serial;        /* W_RENEWED: the serial before */
  json_int_t failures; /* W_RENEWED: the failure count before */
};

/* 1 done, -1 failed, 0 not yet. A renewal is done when a new serial is
 * issued, and failed when an attempt failed since it was asked for. */
static int judge(const struct waiter *w, json_t *cert) {
  const char *state = json_string_value(json_object_get(cert, "state"));
  const char *serial = json_string_value(json_object_get(cert, "serial"));
  int issued = state != NULL && strcmp(state, "issued") == 0;
  if (state != NULL && strcmp(state, "failed") == 0)
    return -1;
  if (w->kind == W_ISSUED)
    return issued;
  if (w->kind == W_GONE)
    return 0;
  if (issued && serial != NULL &&
      (w->serial == NULL || strcmp(serial, w->serial) != 0))
    return 1;
  return json_integer_value(json_object_get(cert, "failures")) > w->failures
             ? -1
             : 0;
}

static void say_outcome(struct dctx *d, const struct vopts *v, json_t *cert,
                        const struct byoca_local_resp *r, int verdict) {
  char st[32], why[600];
  if (d->json)
    dout_raw(r);
  else
    human_cert_row(cert);
  dout_value(json_object_get(cert, "state"), st, sizeof(st));
  dout_value(json_object_get(cert, "last_outcome"), why, sizeof(why));
  if (verdict < 0)
    cli_error("certificate %" PRIu64 " failed: %s", v->id[0], why);
  else if (verdict == 0)
    cli_error("gave up waiting for certificate %" PRIu64 " after %" PRId64
              " s (state %s, last outcome: %s)",
              v->id[0], v->wait_s, st, why);
}

/* One look at the certificate: 1/-1/0 as judge, or EXIT_FAILED + 10 when
 * it could not be read. */
static int poll_once(struct dctx *d, const struct vopts *v,
                     const struct waiter *w, int final) {
  struct byoca_local_resp r;
  char *path = cert_path(v, "");
  int rc = send_raw(d, "GET", path, NULL, &r), verdict = 0;
  free(path);
  if (rc != 0)
    return 10 + EXIT_FAILED;
  if (w->kind == W_GONE && r.status == 404) {
    if (!d->json)
      printf("certificate %" PRIu64 " is gone\n", v->id[0]);
    byoca_local_resp_free(&r);
    return 1;
  }
  json_t *cert = r.status == 200 ? resp_json(&r) : NULL;
  if (r.status != 200)
    dout_problem(&r, d->token.data == NULL);
  if (cert == NULL) {
    byoca_local_resp_free(&r);
    return 10 + EXIT_FAILED;
  }
  if ((verdict = judge(w, cert)) != 0 || final)
    say_outcome(d, v, cert, &r, verdict);
  json_decref(cert);
  byoca_local_resp_free(&r);
  return verdict;
}

/* Polls every second until judged or --wait's seconds have passed. */
static int wait_cert(struct dctx *d, const struct vopts *v,
                     const struct waiter *w) {
  int64_t deadline = byoca_now_ms() + v->wait_s * 1000;
  for (;;) {
    int final = byoca_now_ms() >= deadline;
    int rc = poll_once(d, v, w, final);
    if (rc > 1)
      return rc - 10;
    if (rc != 0 || final)
      return rc == 1 ? EXIT_OK : EXIT_FAILED;
    struct timespec ts = {1, 0};
    nanosleep(&ts, NULL);
  }
}

/* ---- certificates ---- */

/* Sends a request answered with a certificate; with --wait, polls it as
 * kind says instead of printing the answer (W_GONE prints it first). */
static int cert_op(struct dctx *d, struct vopts *v, const char *method,
                   char *path, json_t *body, enum wait_kind kind) {
  struct byoca_local_resp r;
  struct waiter w = {kind, NULL, 0};
  int rc = body != NULL ? send_json(d, method, path, body, &r)
                        : send_ok(d, method, path, NULL, &r);
  free(path);
  if (rc != 0)
    return rc;
  json_t *cert = resp_json(&r);
  json_int_t id = json_integer_value(json_object_get(cert, "id"));
  if (cert == NULL || id <= 0) {
    if (cert != NULL)
      cli_error("byocad's answer has no certificate id");
    rc = EXIT_FAILED;
  } else if (v->wait_s == 0 || kind == W_GONE) {
    rc = print_resp(d, &r, human_cert_row);
  }
  if (rc == 0 && v->wait_s > 0) {
    v->id[0] = (uint64_t)id;
    w.serial = byoca_strdup(json_string_value(json_object_get(cert, "serial")));
    w.failures = json_integer_value(json_object_get(cert, "failures"));
    rc = wait_cert(d, v, &w);
  }
  free(w.serial);
  json_decref(cert);
  byoca_local_resp_free(&r);
  return rc;
}

static int cert_add(struct dctx *d, const struct vopts *v) {
  json_t *ids = json_array();
  for (int i = 0; i < v->npos; i++)
    json_array_append_new(ids, json_string(v->pos[i]));
  json_t *body = json_pack("{s:o,s:s*,s:s*,s:s*}", "identifiers", ids,
                           "key_type", v->val[O_KEYTYPE], "ca", v->val[O_CA],
                           "profile", v->val[O_PROFILE]);
  if (body != NULL && v->val[O_REQPROFILE] != NULL)
    json_object_set_new(body, "profile_required", json_true());
  struct vopts w = *v;
  return cert_op(d, &w, "POST", tpath(v, "/v1/certificates"), body, W_ISSUED);
}

static int cert_list(struct dctx *d, const struct vopts *v) {
  return list_all(d, "/v1/certificates", v->val[O_TENANT], dout_cert_cols,
                  "no certificates");
}

static int cert_show(struct dctx *d, const struct vopts *v) {
  return show(d, "GET", cert_path(v, ""), human_object);
}

static int cert_delete(struct dctx *d, const struct vopts *v) {
  char base[64];
  struct qp q[] = {{"tenant", v->val[O_TENANT]},
                   {"revoke", v->val[O_NOREVOKE] ? "0" : NULL}};
  struct vopts w = *v;
  snprintf(base, sizeof(base), "/v1/certificates/%" PRIu64, v->id[0]);
  return cert_op(d, &w, "DELETE", mkpath(base, NULL, q, 2), NULL, W_GONE);
}

static int cert_renew(struct dctx *d, const struct vopts *v) {
  struct vopts w = *v;
  return cert_op(d, &w, "POST", cert_path(v, "/renew"), NULL, W_RENEWED);
}

/* Writes the chain (and key) to -o FILE atomically, 0600 with a key. */
static int chain_out(const struct vopts *v, const struct byoca_local_resp *r) {
  struct byoca_err e = {0};
  const char *file = v->val[O_OUT];
  if (file == NULL) {
    fwrite(r->body.data, 1, r->body.len, stdout);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
  }
  unsigned mode = v->val[O_INCLKEY] != NULL ? 0600 : 0644;
  if (byoca_file_write_atomic(file, r->body.data, r->body.len, mode, &e) == 0)
    return EXIT_OK;
  cli_error_err(&e);
  byoca_err_clear(&e);
  return EXIT_FAILED;
}

static int cert_chain(struct dctx *d, const struct vopts *v) {
  struct byoca_local_resp r;
  char base[64];
  struct qp q[] = {{"tenant", v->val[O_TENANT]},
                   {"include_key", v->val[O_INCLKEY] ? "1" : NULL}};
  char *path;
  snprintf(base, sizeof(base), "/v1/certificates/%" PRIu64 "/chain", v->id[0]);
  path = mkpath(base, NULL, q, 2);
  int rc = send_ok(d, "GET", path, NULL, &r);
  free(path);
  if (rc != 0)
    return rc;
  rc = chain_out(v, &r);
  byoca_buf_free_secret(&r.body);
  byoca_local_resp_free(&r);
  return rc;
}

/* Reads --cert (public) and --key (a secret). */
static int read_pair(const struct vopts *v, char **pem,
                     struct byoca_secret *key) {
  struct byoca_err e = {0};
  int rc = byoca_file_read(v->val[O_CERT], PEM_MAX, pem, NULL, &e);
  if (rc == 0 &&
      (rc = byoca_secret_read_file(v->val[O_KEY], KEY_MAX, key, &e)) != 0) {
    free(*pem);
    *pem = NULL;
  }
  if (rc != 0)
    cli_error_err(&e);
  byoca_err_clear(&e);
  return rc;
}

static int cert_import(struct dctx *d, const struct vopts *v) {
  struct byoca_secret key = {0};
  struct byoca_buf body;
  char *pem = NULL;
  if (read_pair(v, &pem, &key) != 0)
    return EXIT_FAILED;
  json_t *obj = json_pack("{s:s,s:s*}", "certificate", pem, "ca", v->val[O_CA]);
  free(pem);
  int rc = obj == NULL ? EXIT_FAILED
                       : body_with_secret(obj, "private_key", &key, &body);
  byoca_secret_free(&key);
  json_decref(obj);
  if (obj == NULL) {
    cli_error("%s is not text a JSON string can carry", v->val[O_CERT]);
    return EXIT_FAILED;
  }
  if (rc != 0)
    return EXIT_FAILED;
  struct byoca_local_resp r;
  char *path = tpath(v, "/v1/certificates/import");
  rc = send_ok(d, "POST", path, body.data, &r);
  free(path);
  byoca_buf_free_secret(&body);
  if (rc == 0) {
    rc = print_resp(d, &r, human_cert_row);
    byoca_local_resp_free(&r);
  }
  return rc;
}

/* ---- EAB ---- */

/* The MAC key of --hmac-file as base64url, whichever base64 the CA's
 * dashboard used. */
static int hmac_load(const char *file, struct byoca_secret *out) {
  struct byoca_err e = {0};
  struct byoca_secret raw = {0}, text = {0};
  char *enc = NULL;
  if (byoca_secret_read_file(file, TOKEN_MAX, &text, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    return EXIT_FAILED;
  }
  int rc = byoca_b64any_decode((const char *)text.data, text.len, &raw.data,
                               &raw.len);
  if (rc == 0)
    rc = byoca_b64url_encode(raw.data, raw.len, &enc);
  byoca_secret_free(&text);
  byoca_secret_free(&raw);
  if (rc != 0) {
    cli_error("the MAC key in %s is not base64 or base64url", file);
    return EXIT_FAILED;
  }
  out->data = (unsigned char *)enc;
  out->len = strlen(enc);
  return 0;
}

static int eab_set(struct dctx *d, const struct vopts *v) {
  struct byoca_secret mac = {0};
  struct byoca_buf body;
  char done[300];
  if (hmac_load(v->val[O_HMAC], &mac) != 0)
    return EXIT_FAILED;
  json_t *obj = json_pack("{s:s}", "kid", v->val[O_KID]);
  int rc = body_with_secret(obj, "hmac_key", &mac, &body);
  byoca_secret_free(&mac);
  json_decref(obj);
  if (rc != 0)
    return EXIT_FAILED;
  struct qp q = {"tenant", v->val[O_TENANT]};
  snprintf(done, sizeof(done), "EAB credentials for %s set", v->pos[0]);
  rc = no_content(d, "PUT", mkpath("/v1/eab/", v->pos[0], &q, 1), body.data,
                  done);
  byoca_buf_free_secret(&body);
  return rc;
}

static int eab_list(struct dctx *d, const struct vopts *v) {
  return show(d, "GET", tpath(v, "/v1/eab"), human_eab);
}

static int eab_delete(struct dctx *d, const struct vopts *v) {
  struct qp q = {"tenant", v->val[O_TENANT]};
  char done[300];
  snprintf(done, sizeof(done), "EAB credentials for %s deleted", v->pos[0]);
  return no_content(d, "DELETE", mkpath("/v1/eab/", v->pos[0], &q, 1), NULL,
                    done);
}

/* ---- a tenant's RFC 2136 servers ---- */

static void human_rfc2136(json_t *j) {
  dout_table(json_object_get(j, "items"), dout_rfc2136_cols,
             "no RFC 2136 servers");
}

/* The base64 TSIG secret of --secret-file, without trailing white space
 * (the daemon checks it). */
static int tsig_load(const char *file, struct byoca_secret *out) {
  struct byoca_err e = {0};
  if (byoca_secret_read_file(file, TOKEN_MAX, out, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    return EXIT_FAILED;
  }
  while (out->len > 0 &&
         (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r' ||
          out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\t'))
    out->data[--out->len] = '\0';
  if (out->len == 0) {
    byoca_secret_free(out);
    cli_error("%s holds no TSIG secret", file);
    return EXIT_FAILED;
  }
  return 0;
}

static int rfc2136_set(struct dctx *d, const struct vopts *v) {
  struct byoca_secret secret = {0};
  struct byoca_buf body;
  uint64_t port = 53;
  char done[320];
  if (v->val[O_PORT] != NULL &&
      (byoca_parse_uint(v->val[O_PORT], 65535, &port) != 0 || port == 0))
    return cli_usage("daemon", "--port '%s': expected 1-65535", v->val[O_PORT]);
  if (tsig_load(v->val[O_SECRET], &secret) != 0)
    return EXIT_FAILED;
  json_t *obj =
      json_pack("{s:s,s:I,s:s,s:s}", "server", v->val[O_SERVER], "port",
                (json_int_t)port, "key_name", v->val[O_TSIGKEY], "algorithm",
                v->val[O_TSIGALG] ? v->val[O_TSIGALG] : "hmac-sha256");
  int rc = obj != NULL ? body_with_secret(obj, "secret", &secret, &body)
                       : BYOCA_E_NOMEM;
  byoca_secret_free(&secret);
  json_decref(obj);
  if (rc != 0)
    return EXIT_FAILED;
  struct qp q = {"tenant", v->val[O_TENANT]};
  snprintf(done, sizeof(done), "RFC 2136 server for %.280s set", v->pos[0]);
  rc = no_content(d, "PUT", mkpath("/v1/rfc2136/", v->pos[0], &q, 1), body.data,
                  done);
  byoca_buf_free_secret(&body);
  return rc;
}

static int rfc2136_list(struct dctx *d, const struct vopts *v) {
  return show(d, "GET", tpath(v, "/v1/rfc2136"), human_rfc2136);
}

static int rfc2136_delete(struct dctx *d, const struct vopts *v) {
  struct qp q = {"tenant", v->val[O_TENANT]};
  char done[320];
  snprintf(done, sizeof(done), "RFC 2136 server for %.280s deleted", v->pos[0]);
  return no_content(d, "DELETE", mkpath("/v1/rfc2136/", v->pos[0], &q, 1), NULL,
                    done);
}

/* ---- events, CAs, metrics ---- */

static void human_events(json_t *j) {
  dout_table(json_object_get(j, "items"), dout_event_cols, "no events");
}

static int events(struct dctx *d, const struct vopts *v) {
  struct qp q[] = {{"tenant", v->val[O_TENANT]},
                   {"after", v->val[O_AFTER]},
                   {"limit", v->val[O_LIMIT]}};
  return show(d, "GET", mkpath("/v1/events", NULL, q, 3), human_events);
}

static int cas(struct dctx *d, const struct vopts *v) {
  (void)v;
  return show(d, "GET", byoca_strdup("/v1/cas"), human_cas);
}

static int metrics(struct dctx *d, const struct vopts *v) {
  struct byoca_local_resp r;
  (void)v;
  int rc = send_ok(d, "GET", "/metrics", NULL, &r);
  if (rc == 0) {
    dout_raw(&r);
    byoca_local_resp_free(&r);
  }
  return rc;
}

#define T OPT(O_TENANT)
static const struct verb verbs[] = {
    {"tenant", "create", 0, 0, 1, 1, 0, "NAME", tenant_create},
    {"tenant", "list", 0, 0, 0, 0, 0, "", tenant_list},
    {"tenant", "show", 0, 0, 1, 1, 1, "ID", tenant_show},
    {"tenant", "delete", 0, 0, 1, 1, 1, "ID", tenant_delete},
    {"token", "create", OPT(O_LABEL), 0, 0, 1, 1, "[TENANT_ID] [--label L]",
     token_create},
    {"token", "list", 0, 0, 0, 1, 1, "[TENANT_ID]", token_list},
    {"token", "revoke", 0, 0, 1, 2, 2, "[TENANT_ID] TOKEN_ID", token_revoke},
    {"cert", "add",
     T | OPT(O_KEYTYPE) | OPT(O_CA) | OPT(O_PROFILE) | OPT(O_REQPROFILE) |
         OPT(O_WAIT),
     0, 1, -1, 0, "NAME... [--key-type T] [--ca CA] [--wait]", cert_add},
    {"cert", "list", T, 0, 0, 0, 0, "", cert_list},
    {"cert", "show", T, 0, 1, 1, 1, "ID", cert_show},
    {"cert", "delete", T | OPT(O_NOREVOKE) | OPT(O_WAIT), 0, 1, 1, 1,
     "ID [--no-revoke] [--wait]", cert_delete},
    {"cert", "renew", T | OPT(O_WAIT), 0, 1, 1, 1, "ID [--wait]", cert_renew},
    {"cert", "chain", T | OPT(O_INCLKEY) | OPT(O_OUT), 0, 1, 1, 1,
     "ID [--include-key] [-o FILE]", cert_chain},
    {"cert", "import", T | OPT(O_CERT) | OPT(O_KEY) | OPT(O_CA),
     OPT(O_CERT) | OPT(O_KEY), 0, 0, 0, "--cert FILE --key FILE", cert_import},
    {"eab", "set", T | OPT(O_KID) | OPT(O_HMAC), OPT(O_KID) | OPT(O_HMAC), 1, 1,
     0, "ISSUER --kid KID --hmac-file FILE", eab_set},
    {"eab", "list", T, 0, 0, 0, 0, "", eab_list},
    {"eab", "delete", T, 0, 1, 1, 0, "ISSUER", eab_delete},
    {"rfc2136", "set",
     T | OPT(O_SERVER) | OPT(O_PORT) | OPT(O_TSIGKEY) | OPT(O_TSIGALG) |
         OPT(O_SECRET),
     OPT(O_SERVER) | OPT(O_TSIGKEY) | OPT(O_SECRET), 1, 1, 0,
     "ZONE --server IP [--port N] --tsig-key NAME [--tsig-alg ALG]"
     " --secret-file FILE",
     rfc2136_set},
    {"rfc2136", "list", T, 0, 0, 0, 0, "", rfc2136_list},
    {"rfc2136", "delete", T, 0, 1, 1, 0, "ZONE", rfc2136_delete},
    {"events", NULL, T | OPT(O_AFTER) | OPT(O_LIMIT), 0, 0, 0, 0,
     "[--after N] [--limit N]", events},
    {"cas", NULL, 0, 0, 0, 0, 0, "", cas},
    {"metrics", NULL, 0, 0, 0, 0, 0, "", metrics},
};
#undef T

/* Says what is unknown; for a known group, which verbs it has. */
static void unknown_verb(const char *group, const char *sub) {
  char known[128] = "";
  for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++) {
    if (strcmp(group, verbs[i].group) != 0 || verbs[i].name == NULL)
      continue;
    size_t n = strlen(known);
    snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "",
             verbs[i].name);
  }
  if (known[0] != '\0' && sub[0] == '\0')
    cli_usage("daemon", "'daemon %s' needs one of: %s", group, known);
  else if (known[0] != '\0')
    cli_usage("daemon", "unknown command 'daemon %s %s' (known: %s)", group,
              sub, known);
  else
    cli_usage("daemon", "unknown command 'daemon %s'", group);
}

/* The verb at argv[at] (and argv[at + 1]); *word is the index of its last
 * word. */
static const struct verb *find_verb(int argc, char **argv, int at, int *word) {
  const char *sub = at + 1 < argc ? argv[at + 1] : "";
  for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++) {
    const struct verb *vb = &verbs[i];
    if (strcmp(argv[at], vb->group) != 0)
      continue;
    if (vb->name == NULL || strcmp(sub, vb->name) == 0) {
      *word = vb->name == NULL ? at : at + 1;
      return vb;
    }
  }
  unknown_verb(argv[at], sub);
  return NULL;
}

/* Options before the verb, the verb, then its own options. */
static int prepare(struct dctx *d, struct vopts *v, int argc, char **argv,
                   const struct verb **out) {
  int word, rc = parse(d, v, argc, argv, "+:ho:");
  if (rc != 0)
    return rc;
  if (optind >= argc) {
    fputs(help, stderr);
    return EXIT_USAGE;
  }
  const struct verb *vb = find_verb(argc, argv, optind, &word);
  if (vb == NULL)
    return EXIT_USAGE;
  if ((rc = parse(d, v, argc - word, argv + word, ":ho:")) != 0)
    return rc;
  v->pos = argv + word + optind;
  v->npos = argc - word - optind;
  if (v->npos == 0 && vb->min == 1 && v->wait_word != NULL) {
    /* "cert renew --wait 12": 12 is the ID, not the seconds */
    v->one_pos[0] = v->wait_word;
    v->pos = v->one_pos;
    v->npos = 1;
    v->val[O_WAIT] = "";
  }
  if ((rc = check(vb, v)) != 0)
    return rc;
  if ((d->endpoint = endpoint_of(d->spec)) == NULL)
    return cli_usage("daemon",
                     "--socket '%s': expected unix:/PATH, tcp:HOST:PORT or"
                     " http://HOST:PORT",
                     d->spec);
  *out = vb;
  return 0;
}

int cmd_daemon(int argc, char **argv) {
  struct dctx d = {0};
  struct vopts v = {0};
  const struct verb *vb = NULL;
  const char *env = getenv("BYOCAD_SOCKET");
  d.spec = env != NULL && env[0] != '\0' ? env : DEFAULT_SOCKET;
  int rc = prepare(&d, &v, argc, argv, &vb);
  if (rc == DHELP) {
    fputs(help, stdout);
    rc = EXIT_OK;
  } else if (rc == 0) {
    rc = vb->fn(&d, &v);
  }
  free(d.endpoint);
  byoca_secret_free(&d.token);
  return rc;
}
