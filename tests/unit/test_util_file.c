/* Unit tests of files and secrets: atomic writes (content, exact mode, no
 * temp file left on success or failure), capped reads, mkdir -p, and
 * secret files (stripping, caps, errors that name the path but never the
 * contents). Each test works in its own temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/util.h"

struct tmp {
  char dir[256];
};

static int tmp_setup(void **state) {
  struct tmp *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  const char *base = getenv("TMPDIR");
  snprintf(t->dir, sizeof(t->dir), "%s/byoca-util-XXXXXX",
           base != NULL && *base != '\0' ? base : "/tmp");
  assert_non_null(mkdtemp(t->dir));
  umask(022);
  *state = t;
  return 0;
}

static void rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[1024];
    while (d != NULL && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
      rm_rf(sub);
    }
    if (d != NULL)
      closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static int tmp_teardown(void **state) {
  struct tmp *t = *state;
  rm_rf(t->dir);
  free(t);
  return 0;
}

static char *path_in(const struct tmp *t, const char *name) {
  char *p = byoca_asprintf("%s/%s", t->dir, name);
  assert_non_null(p);
  return p;
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      n++;
  closedir(d);
  return n;
}

static void write_raw(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void test_atomic_write(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char *p = path_in(t, "privkey.pem");
  char *out = NULL;
  size_t len = 0;
  struct stat st;
  assert_int_equal(byoca_file_write_atomic(p, "secret\0key", 10, 0600, &err),
                   0);
  assert_int_equal(byoca_file_read(p, 100, &out, &len, &err), 0);
  assert_int_equal(len, 10);
  assert_memory_equal(out, "secret\0key", 11); /* and NUL-terminated */
  free(out);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(count_entries(t->dir), 1); /* no temp left behind */
  /* Replacing keeps the new mode exactly (umask not applied). */
  umask(077);
  assert_int_equal(byoca_file_write_atomic(p, "v2", 2, 0644, &err), 0);
  umask(022);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0644);
  assert_int_equal(byoca_file_read(p, 100, &out, NULL, &err), 0);
  assert_string_equal(out, "v2");
  free(out);
  /* Empty content. */
  assert_int_equal(byoca_file_write_atomic(p, "", 0, 0600, &err), 0);
  assert_int_equal(byoca_file_read(p, 100, &out, &len, &err), 0);
  assert_int_equal(len, 0);
  assert_string_equal(out, "");
  free(out);
  assert_int_equal(count_entries(t->dir), 1);
  free(p);
}

static void test_atomic_write_relative(void **state) {
  struct tmp *t = *state;
  char cwd[1024];
  assert_non_null(getcwd(cwd, sizeof(cwd)));
  assert_int_equal(chdir(t->dir), 0);
  assert_int_equal(byoca_file_write_atomic("rel.txt", "r", 1, 0600, NULL), 0);
  assert_int_equal(chdir(cwd), 0);
  char *p = path_in(t, "rel.txt");
  char *out = NULL;
  assert_int_equal(byoca_file_read(p, 10, &out, NULL, NULL), 0);
  assert_string_equal(out, "r");
  free(out);
  free(p);
}

static void test_atomic_write_failures(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char line[1024];
  /* A folder that does not exist: error names the path, nothing created. */
  char *p = path_in(t, "missing/cert.pem");
  assert_int_equal(byoca_file_write_atomic(p, "x", 1, 0600, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, "missing/cert.pem"));
  assert_int_equal(err.origin, BYOCA_ORIGIN_ERRNO);
  assert_int_equal(count_entries(t->dir), 0);
  byoca_err_clear(&err);
  free(p);
  /* The target is a folder: rename fails after the temp file was written;
   * the temp must be gone. */
  p = path_in(t, "adir");
  assert_int_equal(mkdir(p, 0700), 0);
  assert_int_equal(byoca_file_write_atomic(p, "x", 1, 0600, &err), BYOCA_E_IO);
  assert_int_equal(count_entries(t->dir), 1);
  assert_int_equal(count_entries(p), 0);
  byoca_err_clear(&err);
  free(p);
  /* Names that cannot be a file. */
  assert_int_equal(byoca_file_write_atomic("", "x", 1, 0600, &err),
                   BYOCA_E_INVAL);
  p = path_in(t, "dir/");
  assert_int_equal(byoca_file_write_atomic(p, "x", 1, 0600, &err),
                   BYOCA_E_INVAL);
  free(p);
  byoca_err_clear(&err);
}

static void test_read(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char line[1024];
  char *p = path_in(t, "data");
  char *out = NULL;
  size_t len = 0;
  char data[100000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)(i * 7);
  write_raw(p, data, sizeof(data));
  assert_int_equal(byoca_file_read(p, sizeof(data), &out, &len, &err), 0);
  assert_int_equal(len, sizeof(data));
  assert_memory_equal(out, data, sizeof(data));
  free(out);
  out = NULL;
  assert_int_equal(byoca_file_read(p, sizeof(data) - 1, &out, &len, &err),
                   BYOCA_E_TOOBIG);
  assert_null(out);
  byoca_err_clear(&err);
  free(p);
  /* Missing file: NOTFOUND naming the path. */
  p = path_in(t, "nope.json");
  assert_int_equal(byoca_file_read(p, 10, &out, &len, &err), BYOCA_E_NOTFOUND);
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, "nope.json"));
  assert_non_null(strstr(line, "No such file"));
  byoca_err_clear(&err);
  free(p);
  /* A folder. */
  assert_int_equal(byoca_file_read(t->dir, 10, &out, &len, &err), BYOCA_E_IO);
  byoca_err_clear(&err);
  /* A character device: read until EOF under the cap. */
  assert_int_equal(byoca_file_read("/dev/null", 10, &out, &len, &err), 0);
  assert_int_equal(len, 0);
  free(out);
  assert_int_equal(byoca_file_read("/dev/zero", 4096, &out, &len, &err),
                   BYOCA_E_TOOBIG);
  byoca_err_clear(&err);
}

static void test_mkdir_p(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct stat st;
  char *p = path_in(t, "a/b//c/");
  assert_int_equal(byoca_mkdir_p(p, 0700, &err), 0);
  assert_int_equal(byoca_mkdir_p(p, 0700, &err), 0); /* idempotent */
  free(p);
  p = path_in(t, "a/b/c");
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
  free(p);
  p = path_in(t, "file");
  write_raw(p, "x", 1);
  free(p);
  p = path_in(t, "file/sub");
  assert_int_equal(byoca_mkdir_p(p, 0700, &err), BYOCA_E_IO);
  char line[1024];
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, "/file"));
  byoca_err_clear(&err);
  free(p);
  assert_int_equal(byoca_mkdir_p("", 0700, &err), BYOCA_E_INVAL);
  assert_int_equal(byoca_mkdir_p("/", 0700, &err), 0);
  byoca_err_clear(&err);
}

static void test_secret(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct byoca_secret s = {0};
  char line[1024];
  char *p = path_in(t, "eab.key");
  write_raw(p, "c2Vj cmV0\n\r\n \t", 14);
  assert_int_equal(byoca_secret_read_file(p, 4096, &s, &err), 0);
  assert_int_equal(s.len, 9);
  assert_memory_equal(s.data, "c2Vj cmV0", 10); /* NUL-terminated */
  byoca_secret_free(&s);
  assert_null(s.data);
  assert_int_equal(s.len, 0);
  byoca_secret_free(&s);
  byoca_secret_free(NULL);
  /* No newline at all. */
  write_raw(p, "abc", 3);
  assert_int_equal(byoca_secret_read_file(p, 3, &s, &err), 0);
  assert_int_equal(s.len, 3);
  byoca_secret_free(&s);
  /* Too big: the cap counts the raw file, whitespace included. */
  write_raw(p, "TOPSECRETVALUE\n", 15);
  assert_int_equal(byoca_secret_read_file(p, 14, &s, &err), BYOCA_E_TOOBIG);
  assert_null(s.data);
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, "eab.key"));
  assert_null(strstr(line, "TOPSECRET"));
  byoca_err_clear(&err);
  /* Only whitespace. */
  write_raw(p, " \n\n", 3);
  assert_int_equal(byoca_secret_read_file(p, 14, &s, &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);
  free(p);
  /* Missing file: names the path and the reason. */
  p = path_in(t, "missing.key");
  assert_int_equal(byoca_secret_read_file(p, 4096, &s, &err), BYOCA_E_NOTFOUND);
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, p));
  assert_non_null(strstr(line, "No such file or directory"));
  assert_int_equal(err.native, 2);
  byoca_err_clear(&err);
  free(p);
  /* Not a regular file. */
  assert_int_equal(byoca_secret_read_file(t->dir, 4096, &s, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_int_equal(byoca_secret_read_file("/dev/zero", 4096, &s, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_atomic_write, tmp_setup,
                                      tmp_teardown),
      cmocka_unit_test_setup_teardown(test_atomic_write_relative, tmp_setup,
                                      tmp_teardown),
      cmocka_unit_test_setup_teardown(test_atomic_write_failures, tmp_setup,
                                      tmp_teardown),
      cmocka_unit_test_setup_teardown(test_read, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(test_mkdir_p, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(test_secret, tmp_setup, tmp_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
