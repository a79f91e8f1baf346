/* Unit tests of writing a folder of files as a set and of sweeping what a
 * killed writer left: byoca_dir_write_atomic (all files with exact modes,
 * or nothing and no temp), byoca_dir_remove (never through a symlink),
 * byoca_tmp_sweep (removes the temps of writers
 * that are gone, dead or pid reused; keeps those of running writers, every
 * other name, and what lies behind symlinks or below the depth). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
  snprintf(t->dir, sizeof(t->dir), "%s/byoca-tmp-XXXXXX",
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

static int exists(const char *dir, const char *name) {
  char p[1024];
  struct stat st;
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return lstat(p, &st) == 0;
}

static void make_file(const char *dir, const char *name, int64_t mtime) {
  char p[1024];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fputs("partial", f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
  if (mtime > 0) {
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
  }
}

static char *sub(const char *dir, const char *name) {
  char *p = byoca_asprintf("%s/%s", dir, name);
  assert_non_null(p);
  return p;
}

static void test_dir_write(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct stat st;
  char *v = sub(t->dir, "v1");
  const struct byoca_file_ent files[] = {
      {"privkey.pem", "KEY", 3, 0600},
      {"cert.pem", "CERT", 4, 0644},
      {"empty", "", 0, 0640},
  };
  umask(077);
  assert_int_equal(byoca_dir_write_atomic(v, 0750, files, 3, &err), 0);
  umask(022);
  assert_int_equal(count_entries(t->dir), 1); /* no temp folder left */
  assert_int_equal(count_entries(v), 3);
  assert_int_equal(stat(v, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  for (size_t i = 0; i < 3; i++) {
    char *p = sub(v, files[i].name), *out = NULL;
    size_t len = 0;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, files[i].mode);
    assert_int_equal(byoca_file_read(p, 100, &out, &len, &err), 0);
    assert_int_equal(len, files[i].len);
    assert_memory_equal(out, files[i].data, len);
    free(out);
    free(p);
  }
  /* the folder exists with files: refused, left as it was, no temp */
  const struct byoca_file_ent other[] = {{"cert.pem", "NEW", 3, 0644}};
  assert_int_not_equal(byoca_dir_write_atomic(v, 0700, other, 1, &err), 0);
  byoca_err_clear(&err);
  assert_int_equal(count_entries(t->dir), 1);
  assert_int_equal(count_entries(v), 3);
  /* a member name that is not a plain name: nothing made */
  char *w = sub(t->dir, "v2");
  const struct byoca_file_ent bad[] = {{"ok.pem", "x", 1, 0644},
                                       {"../escape", "x", 1, 0644}};
  assert_int_equal(byoca_dir_write_atomic(w, 0700, bad, 2, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_int_equal(count_entries(t->dir), 1);
  assert_false(exists(t->dir, "escape"));
  /* the parent is missing: an error naming it */
  char *m = sub(t->dir, "no/such");
  assert_int_equal(byoca_dir_write_atomic(m, 0700, files, 1, &err),
                   BYOCA_E_NOTFOUND);
  char line[1024];
  byoca_err_format(&err, line, sizeof(line));
  assert_non_null(strstr(line, "no/such"));
  byoca_err_clear(&err);
  free(m);
  free(w);
  free(v);
}

static void test_dir_remove(void **state) {
  struct tmp *t = *state;
  char *v = sub(t->dir, "v"), *o = sub(t->dir, "other"), *l = sub(v, "link");
  assert_int_equal(mkdir(v, 0700), 0);
  assert_int_equal(mkdir(o, 0700), 0);
  make_file(v, "privkey.pem", 0);
  make_file(o, "keep.pem", 0);
  assert_int_equal(symlink(o, l), 0);
  /* a symlink to a folder is not followed */
  assert_int_equal(byoca_dir_remove(l), -1);
  assert_true(exists(o, "keep.pem"));
  assert_int_equal(byoca_dir_remove(v), 0);
  assert_false(exists(t->dir, "v"));
  assert_true(exists(o, "keep.pem"));
  assert_int_equal(byoca_dir_remove(v), 0); /* gone already */
  /* a subfolder is left, and so is its parent */
  char *s2 = sub(o, "sub");
  assert_int_equal(mkdir(s2, 0700), 0);
  assert_int_equal(byoca_dir_remove(o), -1);
  assert_true(exists(o, "sub"));
  assert_false(exists(o, "keep.pem"));
  free(s2);
  free(v);
  free(o);
  free(l);
}

/* A pid that ran and is gone (a reaped child). */
static pid_t dead_pid(void) {
  pid_t p = fork();
  assert_true(p >= 0);
  if (p == 0)
    _exit(0);
  assert_int_equal(waitpid(p, NULL, 0), p);
  return p;
}

static void test_sweep(void **state) {
  struct tmp *t = *state;
  char name[128];
  pid_t dead = dead_pid();
  pid_t live = fork();
  assert_true(live >= 0);
  if (live == 0) { /* runs until killed, 60 s at most */
    int fd = open("/dev/null", O_RDWR);
    dup2(fd, 1);
    dup2(fd, 2);
    alarm(60);
    pause();
    _exit(0);
  }
  char *a = sub(t->dir, "archive"), *l = sub(t->dir, "archive/lin");
  char *deep = sub(t->dir, "archive/lin/d1"), *deeper = sub(deep, "d2");
  char *other = sub(t->dir, "elsewhere"), *link = sub(l, "link");
  assert_int_equal(byoca_mkdir_p(deeper, 0700, NULL), 0);
  assert_int_equal(byoca_mkdir_p(other, 0700, NULL), 0);
  assert_int_equal(symlink(other, link), 0);
  /* a dead writer's temp file and temp version folder: removed */
  snprintf(name, sizeof(name), ".cert.pem.tmp%ld-aB3xYz", (long)dead);
  make_file(l, name, 0);
  char *vt = byoca_asprintf("%s/.2026-v.tmp%ld-Qw12Er", l, (long)dead);
  assert_int_equal(mkdir(vt, 0700), 0);
  make_file(vt, "privkey.pem", 0);
  make_file(vt, "cert.pem", 0);
  /* a running writer's temp: kept; the same pid on a temp older than the
   * process (pid reused): removed */
  snprintf(name, sizeof(name), ".key.pem.tmp%ld-abcdef", (long)live);
  make_file(l, name, 0);
  snprintf(name, sizeof(name), ".old.pem.tmp%ld-abcdef", (long)live);
  make_file(l, name, 1000000000);
  /* our own temp: kept */
  snprintf(name, sizeof(name), ".mine.tmp%ld-abcdef", (long)getpid());
  make_file(l, name, 1000000000);
  /* names that are not ours: kept */
  const char *foreign[] = {".x.tmp",          "x.tmp1-abcdef",
                           ".x.tmp1-ab_cd",   ".x.tmp-abcdef",
                           ".x.tmpx1-abcdef", ".hidden",
                           "cert.pem",        ".x.tmp1-abcdefghijklmnopq"};
  for (size_t i = 0; i < sizeof(foreign) / sizeof(*foreign); i++)
    make_file(l, foreign[i], 1000000000);
  /* behind a symlink and below the depth: kept */
  snprintf(name, sizeof(name), ".far.tmp%ld-abcdef", (long)dead);
  make_file(other, name, 0);
  make_file(deeper, name, 0);
  /* within the depth: removed */
  snprintf(name, sizeof(name), ".near.tmp%ld-abcdef", (long)dead);
  make_file(deep, name, 0);

  int before = count_entries(l);
  /* lin/d1 is 2 levels down from archive/ (swept), lin/d1/d2 is 3 (not);
   * elsewhere/ is outside, reached only through the symlink */
  assert_int_equal(byoca_tmp_sweep(a, 2), 4);
  assert_int_equal(count_entries(l), before - 3);
  assert_false(exists(l, ".2026-v.tmp"));
  snprintf(name, sizeof(name), ".cert.pem.tmp%ld-aB3xYz", (long)dead);
  assert_false(exists(l, name));
  snprintf(name, sizeof(name), ".key.pem.tmp%ld-abcdef", (long)live);
  assert_true(exists(l, name));
  snprintf(name, sizeof(name), ".old.pem.tmp%ld-abcdef", (long)live);
  assert_false(exists(l, name));
  snprintf(name, sizeof(name), ".mine.tmp%ld-abcdef", (long)getpid());
  assert_true(exists(l, name));
  for (size_t i = 0; i < sizeof(foreign) / sizeof(*foreign); i++)
    assert_true(exists(l, foreign[i]));
  assert_int_equal(count_entries(other), 1);
  assert_int_equal(count_entries(deeper), 1);
  assert_int_equal(count_entries(deep), 1); /* only d2 */
  /* nothing more to do; a missing folder is no error */
  assert_int_equal(byoca_tmp_sweep(a, 2), 0);
  assert_int_equal(byoca_tmp_sweep("/nonexistent/byoca", 3), 0);
  kill(live, SIGKILL);
  waitpid(live, NULL, 0);
  /* its writer now gone, the kept temp goes too */
  assert_int_equal(byoca_tmp_sweep(a, 2), 1);
  free(vt);
  free(a);
  free(l);
  free(deep);
  free(deeper);
  free(other);
  free(link);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_dir_write, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(test_dir_remove, tmp_setup, tmp_teardown),
      cmocka_unit_test_setup_teardown(test_sweep, tmp_setup, tmp_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
