/* Store URLs: which backend a URL names, and how to show it without its
 * password (what byocad's config and logs need, without opening a store). */
#include <stdio.h>
#include <string.h>

#include "pg/pg_int.h"

int byoca_store_url_is_remote(const char *url) {
  return url != NULL && (strncmp(url, "postgresql://", 13) == 0 ||
                         strncmp(url, "postgres://", 11) == 0);
}

void byoca_store_url_display(const char *url, char *out, size_t n) {
  if (byoca_store_url_is_remote(url))
    pg_url_display(url, out, n);
  else
    snprintf(out, n, "%s", url != NULL ? url : "");
}

int byoca_store_url_has_password(const char *url) {
  return byoca_store_url_is_remote(url) && pg_url_has_password(url);
}
