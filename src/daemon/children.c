/* Hook processes still running when byocad stops (a dns-01 hook of an
 * order cut off at the drain deadline): they and their own children are
 * killed, and the loop runs until their ends were reported, so that
 * nothing waits on them in memory and no orphan goes on publishing
 * records for an order the next start resumes. Children are found in
 * /proc (Linux, as the pidfds of lib/net). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bd.h"

#define REAP_TICK_MS 50
#define REAP_TICKS 40 /* the ends of killed hooks come within 2 s */

struct pp {
  pid_t pid, ppid;
  int ours;
};

/* Every process with its parent, from /proc. */
static struct pp *proc_table(size_t *n) {
  DIR *dir = opendir("/proc");
  struct pp *t = NULL;
  size_t cap = 0;
  struct dirent *de;
  *n = 0;
  while (dir != NULL && (de = readdir(dir)) != NULL) {
    char path[64], comm[64];
    long pid = 0, ppid = 0;
    if (!isdigit((unsigned char)de->d_name[0]))
      continue;
    snprintf(path, sizeof(path), "/proc/%.20s/stat", de->d_name);
    FILE *f = fopen(path, "r");
    /* pid (comm) state ppid: comm may hold spaces, so skip to the ')' */
    int ok =
        f != NULL && fscanf(f, "%ld (%63[^)]) %*c %ld", &pid, comm, &ppid) == 3;
    if (f != NULL)
      fclose(f);
    if (!ok)
      continue;
    if (*n == cap) {
      struct pp *v = realloc(t, (cap = cap ? cap * 2 : 256) * sizeof(*v));
      if (v == NULL)
        break;
      t = v;
    }
    t[(*n)++] = (struct pp){(pid_t)pid, (pid_t)ppid, 0};
  }
  if (dir != NULL)
    closedir(dir);
  return t;
}

/* SIGKILL to every descendant of this process, found in one snapshot
 * (so that grandchildren are found before their parent dies). */
static size_t kill_descendants(void) {
  size_t n = 0, killed = 0;
  struct pp *t = proc_table(&n);
  pid_t self = getpid();
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < n; i++) {
      if (t[i].ours)
        continue;
      for (size_t k = 0; k < n && !t[i].ours; k++)
        t[i].ours = t[i].ppid == self || (t[k].ours && t[k].pid == t[i].ppid);
      changed |= t[i].ours;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (t[i].ours && kill(t[i].pid, SIGKILL) == 0)
      killed++;
  free(t);
  return killed;
}

/* 1 while a child of ours runs or waits to be reaped (by lib/net). */
static int have_children(void) {
  siginfo_t si = {0};
  return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

struct pump {
  struct byoca_loop *loop;
  struct byoca_timer *timer;
  int ticks;
};

static void on_tick(void *arg) {
  struct pump *p = arg;
  p->timer = NULL;
  if (!have_children() || ++p->ticks >= REAP_TICKS) {
    byoca_loop_break(p->loop);
    return;
  }
  (void)kill_descendants(); /* a cancelled order may run its cleanup */
  p->timer = byoca_timer_add(p->loop, REAP_TICK_MS, on_tick, p);
  if (p->timer == NULL)
    byoca_loop_break(p->loop);
}

void bd_children_stop(struct bd *d) {
  if (d->loop == NULL || !have_children())
    return;
  byoca_log(BYOCA_LOG_WARN, "killing %zu hook processes still running",
            kill_descendants());
  struct pump p = {d->loop, NULL, 0};
  p.timer = byoca_timer_add(d->loop, REAP_TICK_MS, on_tick, &p);
  if (p.timer == NULL)
    return;
  (void)byoca_loop_run(d->loop);
  if (p.timer != NULL)
    byoca_timer_cancel(p.timer);
}
