/* PostgreSQL connection URLs as byoca shows them: without the password
 * (logs, errors), and whether one is there at all (refused on a command
 * line, where every user of the machine can read it). libpq parses. */
#include <stdio.h>
#include <string.h>

#include "pg_int.h"

static const char *opt(const PQconninfoOption *o, const char *key) {
  for (; o != NULL && o->keyword != NULL; o++)
    if (strcmp(o->keyword, key) == 0)
      return o->val != NULL ? o->val : "";
  return "";
}

void pg_url_display(const char *url, char *out, size_t n) {
  PQconninfoOption *o = PQconninfoParse(url, NULL);
  if (o == NULL) {
    snprintf(out, n, "postgresql://(unparsable URL)");
    return;
  }
  const char *port = opt(o, "port");
  snprintf(out, n, "postgresql://%.64s@%.200s%s%.16s/%.64s", opt(o, "user"),
           opt(o, "host"), *port ? ":" : "", port, opt(o, "dbname"));
  PQconninfoFree(o);
}

int pg_url_has_password(const char *url) {
  PQconninfoOption *o = PQconninfoParse(url, NULL);
  int has = o == NULL || *opt(o, "password") != '\0';
  PQconninfoFree(o);
  return has;
}
