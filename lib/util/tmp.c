/* Temp names and what a crash leaves of them. Every temp file or folder
 * byoca makes on the way to an atomic rename is named
 * ".<final name>.tmp<pid>-<suffix>", so that a later process can tell the
 * leftovers of a writer that died (kill -9, power loss) from the temps of
 * one still writing: the pid is not running, or is running but started
 * after the temp was last touched (the pid was reused). Nothing else is
 * ever removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "byoca/util.h"
#include "util_int.h"

#define TMP_TAG ".tmp"
#define SUFFIX_MAX 16

char *byoca_tmp_template(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  return byoca_asprintf("%.*s.%s" TMP_TAG "%ld-XXXXXX", (int)dirlen, path,
                        path + dirlen, (long)getpid());
}

/* The writer's pid if name is one of our temp names, else 0. */
static pid_t tmp_owner(const char *name) {
  if (name[0] != '.')
    return 0;
  const char *t = NULL;
  for (const char *p = strstr(name + 1, TMP_TAG); p != NULL;
       p = strstr(p + 1, TMP_TAG))
    t = p;
  if (t == NULL || t == name + 1)
    return 0;
  const char *d = t + strlen(TMP_TAG), *dash = strchr(d, '-');
  if (dash == NULL || dash == d || dash - d > 10)
    return 0;
  char digits[11];
  memcpy(digits, d, (size_t)(dash - d));
  digits[dash - d] = '\0';
  uint64_t pid = 0;
  if (byoca_parse_uint(digits, 0x7fffffff, &pid) != 0 || pid == 0)
    return 0;
  size_t slen = strlen(dash + 1);
  if (slen == 0 || slen > SUFFIX_MAX)
    return 0;
  for (const char *s = dash + 1; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return 0;
  return (pid_t)pid;
}

/* Start of process pid in unix seconds (Linux /proc), or -1 if unknown. */
static int64_t proc_start(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (p == NULL)
    return -1;
  /* fields after the name: state is field 3, starttime field 22 */
  unsigned long long ticks = 0;
  int field = 2;
  for (char *s = p + 1; *s != '\0' && field < 22; s++)
    if (*s == ' ') {
      field++;
      if (field == 22)
        ticks = strtoull(s + 1, NULL, 10);
    }
  if (field != 22)
    return -1;
  f = fopen("/proc/stat", "re");
  if (f == NULL)
    return -1;
  long long btime = -1;
  char line[256];
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "btime %lld", &btime) == 1)
      break;
  fclose(f);
  long hz = sysconf(_SC_CLK_TCK);
  if (btime < 0 || hz <= 0)
    return -1;
  return (int64_t)btime + (int64_t)(ticks / (unsigned long long)hz);
}

/* 1 if the process that made a temp last touched at mtime is gone. */
static int writer_gone(pid_t pid, int64_t mtime) {
  if (pid == getpid())
    return 0;
  if (kill(pid, 0) != 0 && errno == ESRCH)
    return 1;
  int64_t start = proc_start(pid);
  /* btime is whole seconds: allow 2 s of slack before calling it reused */
  return start >= 0 && mtime < start - 2;
}

/* Removes a temp folder of ours: its files, then itself. */
static int remove_tmp_dir(int parent, const char *name) {
  int fd =
      openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      (void)unlinkat(dirfd(d), e->d_name, 0); /* files only: no recursion */
  closedir(d);
  return unlinkat(parent, name, AT_REMOVEDIR) == 0;
}

static int sweep_at(int dfd, int depth) {
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return 0;
  }
  int removed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    pid_t pid = tmp_owner(e->d_name);
    /* the entry type from readdir spares a stat of every file that is
       not a temp (a state folder holds four per version kept) */
    if (pid == 0 && e->d_type != DT_UNKNOWN &&
        (e->d_type != DT_DIR || depth == 0))
      continue;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (pid != 0) {
      if (!writer_gone(pid, (int64_t)st.st_mtime))
        continue;
      if (S_ISDIR(st.st_mode))
        removed += remove_tmp_dir(dirfd(d), e->d_name);
      else
        removed += unlinkat(dirfd(d), e->d_name, 0) == 0;
      continue;
    }
    if (depth > 0 && S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), e->d_name,
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        removed += sweep_at(sub, depth - 1);
    }
  }
  closedir(d);
  return removed;
}

int byoca_tmp_sweep(const char *dir, int depth) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? 0 : sweep_at(fd, depth);
}
