/* Child processes on the loop: spawn without a shell, collect the tail of
 * their output through a pipe, learn their exit through a pidfd (or by
 * polling waitpid where there is none), enforce a timeout, never block.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byoca/net.h"

#define OUT_KEEP 4096 /* bytes of output kept for the callback */
#define ENV_MAX 256   /* entries the child's environment may hold */

extern char **environ;

struct proc {
  struct byoca_loop *loop;
  pid_t pid;
  int pidfd;
  int outfd;
  struct byoca_watch *wpid;
  struct byoca_watch *wout;
  struct byoca_timer *timer;
  struct byoca_timer *poll; /* no pidfd (ENOSYS): waitpid on a timer */
  byoca_proc_cb cb;
  void *arg;
  char name[64];       /* argv[0], for messages */
  int gone;            /* reaped by someone else before we could watch it */
  char ring[OUT_KEEP]; /* last OUT_KEEP bytes written by the child */
  size_t pos;          /* next write position in ring */
  int full;            /* ring has wrapped */
};

/* Appends to the ring, keeping only the newest OUT_KEEP bytes. */
static void ring_add(struct proc *p, const char *data, size_t n) {
  if (n >= OUT_KEEP) {
    memcpy(p->ring, data + (n - OUT_KEEP), OUT_KEEP);
    p->pos = 0;
    p->full = 1;
    return;
  }
  size_t first = OUT_KEEP - p->pos;
  if (first > n)
    first = n;
  memcpy(p->ring + p->pos, data, first);
  memcpy(p->ring, data + first, n - first);
  if (p->pos + n >= OUT_KEEP)
    p->full = 1;
  p->pos = (p->pos + n) % OUT_KEEP;
}

/* Oldest-first copy of the ring into out (OUT_KEEP + 1 bytes). */
static void ring_get(const struct proc *p, char *out) {
  size_t n = 0;
  if (p->full) {
    n = OUT_KEEP - p->pos;
    memcpy(out, p->ring + p->pos, n);
  }
  memcpy(out + n, p->ring, p->pos);
  out[n + p->pos] = '\0';
}

/* Reads what the pipe holds now. Returns 1 at end of file or on a read
 * error, 0 when it would block. */
static int drain(struct proc *p) {
  char chunk[16384];
  for (int i = 0; i < 64; i++) {
    ssize_t n = read(p->outfd, chunk, sizeof(chunk));
    if (n > 0) {
      ring_add(p, chunk, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    return 1;
  }
  return 0; /* more to read: let the loop serve others first */
}

static void close_output(struct proc *p) {
  byoca_watch_free(p->wout);
  p->wout = NULL;
  if (p->outfd >= 0)
    close(p->outfd);
  p->outfd = -1;
}

static void on_output(int fd, void *arg) {
  struct proc *p = arg;
  (void)fd;
  if (drain(p))
    close_output(p);
}

static void on_timeout(void *arg) {
  struct proc *p = arg;
  p->timer = NULL;
  /* Not reaped yet (that cancels the timer), so the pid is still ours. */
  kill(p->pid, SIGKILL);
}

/* Releases everything but the struct; the child must be reaped. */
static void proc_release(struct proc *p) {
  if (p->timer)
    byoca_timer_cancel(p->timer);
  p->timer = NULL;
  if (p->poll)
    byoca_timer_cancel(p->poll);
  p->poll = NULL;
  byoca_watch_free(p->wpid);
  p->wpid = NULL;
  if (p->pidfd >= 0)
    close(p->pidfd);
  p->pidfd = -1;
  close_output(p);
}

/* Reports the exit (st as from waitpid) with what the child wrote, and
 * frees p. */
static void finish(struct proc *p, int st) {
  /* Output written before exit is in the pipe; a grandchild may keep the
   * pipe open, so take what is there and do not wait for end of file. */
  if (p->outfd >= 0)
    (void)drain(p);
  char out[OUT_KEEP + 1];
  ring_get(p, out);
  byoca_proc_cb cb = p->cb;
  void *cbarg = p->arg;
  proc_release(p);
  free(p);
  cb(cbarg, st, out);
}

/* The child was reaped by someone else (SIGCHLD ignored?): its status is
 * lost, report a failure. */
static void finish_lost(struct proc *p) {
  byoca_log(BYOCA_LOG_WARN,
            "exit status of %s (pid %ld) lost: reaped elsewhere (SIGCHLD "
            "ignored?)",
            p->name, (long)p->pid);
  finish(p, 255 << 8);
}

static void on_exit_ready(int fd, void *arg) {
  struct proc *p = arg;
  int st = 0;
  (void)fd;
  pid_t r;
  do
    r = waitpid(p->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return; /* spurious wakeup: not exited yet */
  if (r < 0)
    finish_lost(p);
  else
    finish(p, st);
}

/* Without pidfds (kernels before 5.3, valgrind, some sandboxes) the exit
 * is learnt by asking waitpid every POLL_MS. */
#define POLL_MS 20
static void on_poll(void *arg) {
  struct proc *p = arg;
  int st = 0;
  pid_t r;
  p->poll = NULL;
  do
    r = waitpid(p->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r > 0)
    finish(p, st);
  else if (r < 0)
    finish_lost(p);
  else if ((p->poll = byoca_timer_add(p->loop, POLL_MS, on_poll, p)) == NULL)
    byoca_log(BYOCA_LOG_ERROR, "cannot watch %s (pid %ld): out of memory",
              p->name, (long)p->pid);
}

static void on_gone(void *arg) {
  struct proc *p = arg;
  p->timer = NULL;
  finish_lost(p);
}

/* Index of an entry with the same "KEY=" as kv in env[0..n), or -1. */
static int env_find(char **env, size_t n, const char *kv) {
  const char *eq = strchr(kv, '=');
  size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; i < n; i++)
    if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=')
      return (int)i;
  return -1;
}

/* Builds the child's environment: PATH, HOME and LANG of ours, then envp
 * (overriding those). Strings are borrowed; env has ENV_MAX + 1 slots. */
static int env_build(char *const envp[], char **env, struct byoca_err *err) {
  static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
  static const char *const keep[] = {"HOME=", "LANG="};
  size_t n = 0;
  env[n++] = path;
  for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
    for (char **e = environ; e && *e; e++)
      if (strncmp(*e, keep[k], strlen(keep[k])) == 0) {
        env[n++] = *e;
        break;
      }
  for (size_t i = 0; envp && envp[i]; i++) {
    if (!strchr(envp[i], '='))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                           "environment entry without '='");
    int at = env_find(env, n, envp[i]);
    if (at >= 0) {
      env[at] = envp[i];
      continue;
    }
    if (n >= ENV_MAX)
      return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INTERNAL,
                           "too many environment entries for a child");
    env[n++] = envp[i];
  }
  env[n] = NULL;
  return 0;
}

/* Moves fd above stdio so dup2 onto 1 and 2 always copies (and clears
 * close-on-exec only on the copy). Returns the fd to use or -1. */
static int above_stdio(int fd) {
  if (fd > 2)
    return fd;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return nfd;
}

/* Spawns the child; wfd becomes its stdout and stderr, nothing else stays
 * open. Signal dispositions and mask are reset so it does not inherit our
 * SIG_IGN of SIGPIPE or blocked signals. Returns 0 or an errno. */
static int spawn(pid_t *pid, char *const argv[], char **env, int wfd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, none;
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc)
    return rc;
  rc = posix_spawnattr_init(&at);
  if (rc) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  sigfillset(&all);
  sigemptyset(&none);
  rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, wfd, 1);
  if (!rc)
    rc = posix_spawn_file_actions_adddup2(&fa, wfd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
  /* Also drop fds someone else leaked into our process without CLOEXEC. */
  if (!rc)
    rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  if (!rc)
    rc = posix_spawnattr_setsigdefault(&at, &all);
  if (!rc)
    rc = posix_spawnattr_setsigmask(&at, &none);
  if (!rc)
    rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
                                           POSIX_SPAWN_SETSIGMASK);
  if (!rc)
    rc = posix_spawn(pid, argv[0], &fa, &at, argv, env);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

/* Starts watching a spawned child: pidfd, output, timer. A child already
 * reaped by someone else is reported from the loop right away. */
static int watch_child(struct proc *p, int64_t timeout_ms,
                       struct byoca_err *err) {
  p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  int polling = p->pidfd < 0 && (errno == ENOSYS || errno == EPERM);
  if (p->pidfd < 0 && errno != ESRCH && !polling) {
    int e = errno;
    byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                  "pidfd_open: %s (Linux 5.3 or later needed)", strerror(e));
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    return BYOCA_E_INTERNAL;
  }
  p->gone = p->pidfd < 0 && !polling;
  p->wout = byoca_watch_read(p->loop, p->outfd, on_output, p);
  if (p->gone) {
    p->timer = byoca_timer_add(p->loop, 0, on_gone, p);
  } else {
    if (polling)
      p->poll = byoca_timer_add(p->loop, POLL_MS, on_poll, p);
    else
      p->wpid = byoca_watch_read(p->loop, p->pidfd, on_exit_ready, p);
    if (timeout_ms > 0)
      p->timer = byoca_timer_add(p->loop, timeout_ms, on_timeout, p);
  }
  int need_timer = p->gone || timeout_ms > 0;
  int watching = p->gone || (polling ? p->poll != NULL : p->wpid != NULL);
  if (!p->wout || !watching || (need_timer && !p->timer))
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot watch a child process");
  return 0;
}

/* Kills and reaps a child we cannot watch, then frees p. */
static void abandon(struct proc *p) {
  if (!p->gone) {
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  proc_release(p);
  free(p);
}

static int open_pipe(int fds[2], struct byoca_err *err) {
  int ok = pipe2(fds, O_CLOEXEC) == 0;
  if (ok) {
    fds[0] = above_stdio(fds[0]);
    fds[1] = above_stdio(fds[1]);
    ok = fds[0] >= 0 && fds[1] >= 0 && fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0;
    int e = errno;
    if (!ok && fds[0] >= 0)
      close(fds[0]);
    if (!ok && fds[1] >= 0)
      close(fds[1]);
    errno = e;
  }
  if (ok)
    return 0;
  int e = errno;
  byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                "cannot create a pipe: %s", strerror(e));
  byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
  return BYOCA_E_INTERNAL;
}

int byoca_proc_run(struct byoca_loop *loop, char *const argv[],
                   char *const envp[], int64_t timeout_ms, byoca_proc_cb cb,
                   void *arg, struct byoca_err *err) {
  char *env[ENV_MAX + 1];
  int fds[2];
  if (!loop || !argv || !argv[0] || !cb)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "byoca_proc_run: missing argument");
  int rc = env_build(envp, env, err);
  if (rc)
    return rc;
  struct proc *p = calloc(1, sizeof(*p));
  if (!p)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  p->loop = loop;
  p->cb = cb;
  p->arg = arg;
  p->pidfd = -1;
  p->outfd = -1;
  byoca_strlcpy(p->name, argv[0], sizeof(p->name));
  rc = open_pipe(fds, err);
  if (rc) {
    free(p);
    return rc;
  }
  p->outfd = fds[0];
  int e = spawn(&p->pid, argv, env, fds[1]);
  close(fds[1]);
  if (e) {
    close_output(p);
    free(p);
    /* ENOENT for a file that exists: its #! interpreter is missing. */
    int interp = e == ENOENT && access(argv[0], F_OK) == 0;
    byoca_err_set(err, BYOCA_E_HOOK, BYOCA_CLASS_INPUT, "cannot run %s: %s%s",
                  argv[0], strerror(e), interp ? " (its #! interpreter?)" : "");
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    return BYOCA_E_HOOK;
  }
  rc = watch_child(p, timeout_ms, err);
  if (rc) {
    abandon(p);
    return rc;
  }
  return 0;
}
