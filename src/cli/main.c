/* byoca command line: dispatches to one cmd_<verb>.c per subcommand. */
#include <stdio.h>

int main(void) {
  puts("byoca " BYOCA_VERSION);
  return 0;
}
