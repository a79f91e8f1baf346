/* libFuzzer target: CAA zone file loader (byoca_caa_zone_load) and the
 * Relevant RRset climb over it (byoca_caa_zone_rrset). The input goes to
 * one memfd created per process, reached by its /proc/self/fd path. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "byoca/caa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
    "example.com",     "www.example.com", "*.example.com", "a.b.c.example.com",
    "sub.example.com", "top.test",        "example.org",   "x",
};

static int fd = -1;
static char path[64];

static int write_input(const uint8_t *data, size_t size) {
  if (fd < 0) {
    fd = memfd_create("fuzz_caa_zone", 0);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
    return -1;
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(fd, data + off, size - off);
    if (w <= 0)
      return -1;
    off += (size_t)w;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_caa_zone *z = NULL;
  struct byoca_err err = {0};
  if (write_input(data, size) != 0)
    abort();
  if (byoca_caa_zone_load(path, &z, &err) != 0) {
    byoca_err_clear(&err);
    return 0;
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    struct byoca_caa_rrset s = {0};
    if (byoca_caa_zone_rrset(z, names[i], &s) == 0) {
      for (size_t j = 0; j < s.n; j++) {
        struct byoca_caa_value v;
        if (byoca_caa_value_parse(s.records[j].value, s.records[j].value_len,
                                  &v) == 0)
          byoca_caa_value_clear(&v);
      }
    }
    byoca_caa_rrset_clear(&s);
  }
  byoca_caa_zone_free(z);
  byoca_err_clear(&err);
  return 0;
}
