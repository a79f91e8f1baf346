/* The crypto floor of one certificate (bench/, issue 5): CPU time of the
 * work no ACME client can avoid — a fresh P-256 certificate key, its CSR,
 * and the account-key JWS signatures of one order (newOrder, authorization,
 * challenge, authorization poll, finalize, order poll, certificate: 7) —
 * measured in-process over many rounds. Prints one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "byoca/crypto.h"

#define ROUNDS 2000
#define JWS_PER_ORDER 7

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_round(const struct byoca_key *account, double *t) {
  struct byoca_key *k = NULL;
  unsigned char *der = NULL;
  size_t derlen = 0;
  const char *names[] = {"bench.example.org"};
  double t0 = cpu_now();
  if (byoca_key_generate(BYOCA_KEY_EC256, &k, NULL) != 0)
    return -1;
  double t1 = cpu_now();
  int rc = byoca_csr_create(k, names, 1, &der, &derlen, NULL);
  double t2 = cpu_now();
  for (int i = 0; rc == 0 && i < JWS_PER_ORDER; i++) {
    char *jws = NULL;
    rc = byoca_jws_acme(account, "https://ca.example/acct/1",
                        "nonce-AAAAAAAAAAAAAAAAAAAAAA",
                        "https://ca.example/order/1", "", &jws, NULL);
    free(jws);
  }
  double t3 = cpu_now();
  t[0] += t1 - t0;
  t[1] += t2 - t1;
  t[2] += t3 - t2;
  free(der);
  byoca_key_free(k);
  return rc;
}

int main(void) {
  struct byoca_key *account = NULL;
  double t[3] = {0, 0, 0};
  if (byoca_key_generate(BYOCA_KEY_EC256, &account, NULL) != 0)
    return 1;
  for (int i = 0; i < ROUNDS; i++)
    if (one_round(account, t) != 0) {
      fprintf(stderr, "bench_floor: a crypto operation failed\n");
      return 1;
    }
  byoca_key_free(account);
  double keygen = t[0] * 1e3 / ROUNDS, csr = t[1] * 1e3 / ROUNDS,
         jws = t[2] * 1e3 / ROUNDS;
  printf("{\"rounds\": %d, \"keygen_ms\": %.4f, \"csr_ms\": %.4f,"
         " \"jws_ms\": %.4f, \"jws_count\": %d, \"total_ms\": %.4f}\n",
         ROUNDS, keygen, csr, jws, JWS_PER_ORDER, keygen + csr + jws);
  return 0;
}
