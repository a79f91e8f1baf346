/* The row types of store.h that do not depend on a backend: names of
 * lineage states and freeing what list functions return. */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char *const state_names[] = {"pending", "issued", "failed",
                                          "deleting"};

const char *byoca_cert_state_str(enum byoca_cert_state st) {
  return (unsigned)st < 4 ? state_names[st] : "unknown";
}

void byoca_cert_row_clear(struct byoca_cert_row *r) {
  if (r == NULL)
    return;
  free(r->identifiers_json);
  free(r->fullchain_pem);
  memset(r, 0, sizeof(*r));
}

void byoca_cert_rows_free(struct byoca_cert_row *rows, size_t n) {
  for (size_t i = 0; rows != NULL && i < n; i++)
    byoca_cert_row_clear(&rows[i]);
  free(rows);
}

void byoca_events_free(struct byoca_event *ev, size_t n) {
  for (size_t i = 0; ev != NULL && i < n; i++)
    free(ev[i].detail_json);
  free(ev);
}

int db_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first) {
  if (n < *cap)
    return 0;
  size_t ncap = *cap ? *cap * 2 : first;
  void *p = realloc(*arr, ncap * size);
  if (p == NULL)
    return -1;
  *arr = p;
  *cap = ncap;
  return 0;
}

void byoca_outbox_rows_free(struct byoca_outbox_row *rows, size_t n) {
  for (size_t i = 0; rows != NULL && i < n; i++) {
    free(rows[i].url);
    free(rows[i].body);
  }
  free(rows);
}
