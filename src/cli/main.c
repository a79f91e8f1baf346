/* byoca command line: global switches, then one cmd_<verb>.c per
 * subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_daemon.h"

int cli_verbose;
int cli_log_json;

static const char usage[] =
    "usage: byoca [--verbose|--quiet] [--log-json] COMMAND [OPTIONS]\n"
    "\n"
    "Certificates from the ACME CA of your choice (RFC 8555).\n"
    "\n"
    "commands:\n"
    "  issue     obtain a certificate (-d NAME ... --server URL)\n"
    "  renew     renew certificates that are due\n"
    "  revoke    revoke a certificate\n"
    "  list      show the certificates byoca manages\n"
    "  account   show, register, deactivate or roll over an ACME account\n"
    "  discover  show which CA the names' CAA records choose, and why\n"
    "  daemon    manage byocad: tenants, tokens, certificates (REST API)\n"
    "\n"
    "--log-json writes progress and errors on stderr as JSON lines.\n"
    "Run 'byoca COMMAND --help' for a command's options, 'man byoca' for\n"
    "everything. Exit status: 0 ok, 1 failed, 2 usage, 3 partial (batch).\n";

struct command {
  const char *name;
  int (*fn)(int, char **);
};

static const struct command commands[] = {
    {"issue", cmd_issue},     {"renew", cmd_renew},
    {"revoke", cmd_revoke},   {"list", cmd_list},
    {"account", cmd_account}, {"discover", cmd_discover},
    {"daemon", cmd_daemon},
};

int main(int argc, char **argv) {
  int i = 1;
  /* A peer of the built-in responders (http-01, tls-alpn-01) that goes
   * away while being answered must not kill byoca; hooks get the default
   * disposition back (lib/net/proc.c). */
  signal(SIGPIPE, SIG_IGN);
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--version") == 0) {
      printf("byoca %s\n", BYOCA_VERSION);
      return EXIT_OK;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return EXIT_OK;
    } else if (strcmp(argv[i], "--verbose") == 0 ||
               strcmp(argv[i], "-v") == 0) {
      cli_verbose = 1;
      byoca_log_set_level(BYOCA_LOG_DEBUG);
    } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
      byoca_log_set_level(BYOCA_LOG_WARN);
    } else if (strcmp(argv[i], "--log-json") == 0) {
      byoca_log_set_json(1);
      cli_log_json = 1;
    } else {
      return cli_usage(NULL, "unknown option '%s'", argv[i]);
    }
  }
  if (i == argc) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  for (size_t c = 0; c < sizeof(commands) / sizeof(*commands); c++)
    if (strcmp(argv[i], commands[c].name) == 0)
      return commands[c].fn(argc - i, argv + i);
  return cli_usage(NULL, "unknown command '%s'", argv[i]);
}
