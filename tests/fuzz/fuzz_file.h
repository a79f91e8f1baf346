/* For fuzz targets whose code under test reads a path: one scratch file per
 * process, rewritten with each input and removed at exit. */
#ifndef BYOCA_FUZZ_FILE_H
#define BYOCA_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_file_path[64];

static void fuzz_file_remove(void) {
  if (fuzz_file_path[0] != '\0')
    unlink(fuzz_file_path);
}

/* Writes data to the scratch file and returns its path; aborts if the
 * file cannot be written (a harness fault, not a finding). */
static const char *fuzz_file_write(const uint8_t *data, size_t size) {
  if (fuzz_file_path[0] == '\0') {
    snprintf(fuzz_file_path, sizeof(fuzz_file_path), "/tmp/byoca-fuzz-%ld.conf",
             (long)getpid());
    atexit(fuzz_file_remove);
  }
  FILE *f = fopen(fuzz_file_path, "wb");
  if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
      fclose(f) != 0)
    abort();
  return fuzz_file_path;
}

#endif
