/* Store scale (bench/, issue 5): opens a byocad store holding many
 * lineages and times what the scheduler does with it — counting by state
 * and claiming the due set by the next_check index — through lib/store
 * itself. Usage: bench_store STORE MASTER_KEY_FILE. Prints one JSON
 * object. The claims set leases: run it on a copy. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "byoca/store.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  struct byoca_secret master = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  int64_t counts[4], due = 0, ids[1000];
  size_t n = 0, claimed = 0;
  if (argc != 3) {
    fprintf(stderr, "usage: bench_store STORE MASTER_KEY_FILE\n");
    return 2;
  }
  double t0 = now_ms();
  if (byoca_master_key_load(argv[2], 0, &master, &err) != 0 ||
      byoca_store_open(argv[1], &master, &s, &err) != 0) {
    fprintf(stderr, "bench_store: %s\n", err.msg);
    return 1;
  }
  double t1 = now_ms();
  if (byoca_store_cert_counts(s, byoca_now(), counts, &due, &err) != 0)
    return 1;
  double t2 = now_ms(), first = 0;
  do {
    double c0 = now_ms();
    if (byoca_store_cert_claim_due(s, byoca_now(), byoca_now() + 600, 1000, ids,
                                   &n, &err) != 0)
      return 1;
    if (claimed == 0)
      first = now_ms() - c0;
    claimed += n;
  } while (n > 0);
  double t3 = now_ms();
  printf("{\"lineages\": %lld, \"due\": %lld, \"open_ms\": %.1f,"
         " \"count_ms\": %.1f, \"claim_first_1000_ms\": %.2f,"
         " \"claim_all_due_ms\": %.1f, \"claimed\": %zu}\n",
         (long long)(counts[0] + counts[1] + counts[2] + counts[3]),
         (long long)due, t1 - t0, t2 - t1, first, t3 - t2, claimed);
  byoca_store_close(s);
  byoca_secret_free(&master);
  return 0;
}
