/* byocad: the multi-tenant certificate manager behind a REST API.
 * Subcommands init, run (the default), token, migrate-store and
 * version. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bd.h"

static const char usage[] =
    "usage: byocad [run] [-c FILE]\n"
    "       byocad init [-c FILE] [--token-file FILE]\n"
    "       byocad token [-c FILE] [--token-file FILE]\n"
    "       byocad migrate-store [-c FILE] FROM TO\n"
    "       byocad version\n"
    "\n"
    "  run      run the service in the foreground (the default)\n"
    "  init     create the state folder, master key (0600) and store; mint\n"
    "           an operator token if none exists\n"
    "  token    mint another operator token\n"
    "  migrate-store\n"
    "           copy the store FROM (a path, sqlite:PATH or postgresql://...)\n"
    "           into the new, empty store TO; stop byocad first\n"
    "  version  print the version\n"
    "\n"
    "  -c, --config FILE   settings (default $BYOCAD_CONFIG or\n"
    "                      " BD_CONFIG_DEFAULT "; see byocad.conf(5))\n"
    "  --token-file FILE   write the new token there (mode 0600) instead of\n"
    "                      printing it\n";

struct args {
  const char *cmd;
  const char *config;
  const char *token_file;
  const char *pos[2]; /* migrate-store FROM TO */
  int npos;
};

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt,
                                                           ...) {
  char msg[512], safe[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  byoca_str_sanitize(msg, safe, sizeof(safe));
  fprintf(stderr, "byocad: %s\nTry 'byocad --help'.\n", safe);
  return EXIT_USAGE;
}

/* The value of option name at argv[*i] ("--name V", "--name=V", "-c V");
 * NULL if argv[*i] is not that option. */
static const char *opt_value(int argc, char **argv, int *i, const char *lng,
                             const char *shrt, int *missing) {
  const char *a = argv[*i];
  size_t n = strlen(lng);
  if (strncmp(a, lng, n) == 0 && a[n] == '=')
    return a + n + 1;
  if (strcmp(a, lng) != 0 && (shrt == NULL || strcmp(a, shrt) != 0))
    return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

static int parse_opts(int argc, char **argv, int i, struct args *a) {
  for (; i < argc; i++) {
    int missing = 0;
    const char *v;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return -1;
    }
    if ((v = opt_value(argc, argv, &i, "--config", "-c", &missing)) != NULL)
      a->config = v;
    else if (!missing &&
             (strcmp(a->cmd, "init") == 0 || strcmp(a->cmd, "token") == 0) &&
             (v = opt_value(argc, argv, &i, "--token-file", NULL, &missing)) !=
                 NULL)
      a->token_file = v;
    else if (missing)
      return bad_usage("option %s needs a value", argv[i]);
    else if (strcmp(a->cmd, "migrate-store") == 0 && a->npos < 2 &&
             (argv[i][0] != '-' || argv[i][1] == '\0'))
      a->pos[a->npos++] = argv[i];
    else
      return bad_usage("unknown option '%s'", argv[i]);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct args a = {.cmd = "run"};
  int i = 1;
  signal(SIGPIPE, SIG_IGN);
  if (argc > 1 &&
      (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
    printf("byocad %s\n", BYOCA_VERSION);
    return EXIT_OK;
  }
  if (argc > 1 && argv[1][0] != '-')
    a.cmd = argv[i++];
  if (strcmp(a.cmd, "run") != 0 && strcmp(a.cmd, "init") != 0 &&
      strcmp(a.cmd, "token") != 0 && strcmp(a.cmd, "migrate-store") != 0)
    return bad_usage("unknown command '%s'", a.cmd);
  int rc = parse_opts(argc, argv, i, &a);
  if (rc != 0)
    return rc < 0 ? EXIT_OK : rc;
  if (strcmp(a.cmd, "migrate-store") == 0) {
    if (a.npos != 2)
      return bad_usage("migrate-store needs FROM and TO");
    return bd_cmd_migrate(a.config, a.pos[0], a.pos[1]);
  }
  if (strcmp(a.cmd, "init") == 0)
    return bd_cmd_init(a.config, a.token_file);
  if (strcmp(a.cmd, "token") == 0)
    return bd_cmd_token(a.config, a.token_file);
  return bd_cmd_run(a.config);
}
