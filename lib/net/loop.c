/* The event loop: a libevent event_base, one-shot timers, read watches and
 * a small worker pool whose results come back to the loop through a pipe. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "byoca/net.h"
#include "net_int.h"

#define LOOP_WORKERS 2

struct job {
  byoca_work_cb work;
  byoca_done_cb done;
  void *arg;
  struct job *next;
};

struct jobq {
  struct job *head, *tail;
};

struct byoca_loop {
  struct event_base *base;
  /* offload pool; started on first use */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th[LOOP_WORKERS];
  int nth;
  int stop;
  struct jobq todo;                    /* waiting for a worker */
  struct jobq lane[BYOCA_LOOP_LANES];  /* waiting for each lane's thread */
  pthread_t lane_th[BYOCA_LOOP_LANES]; /* runs a lane's jobs, one at a time */
  int lane_on[BYOCA_LOOP_LANES];
  struct jobq done;   /* finished, waiting for the loop */
  size_t inflight;    /* submitted and not yet delivered */
  int pipefd[2];      /* workers write a byte when a job is done */
  struct event *wake; /* pending only while jobs are in flight, so an
                         idle pool does not keep the loop running */
};

struct byoca_timer {
  struct event *ev;
  byoca_timer_cb cb;
  void *arg;
};

struct byoca_watch {
  struct event *ev;
  byoca_fd_cb cb;
  void *arg;
};

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void evthread_init(void) {
  (void)evthread_use_pthreads();
}

static void jobq_push(struct jobq *q, struct job *j) {
  j->next = NULL;
  if (q->tail != NULL)
    q->tail->next = j;
  else
    q->head = j;
  q->tail = j;
}

static struct job *jobq_pop(struct jobq *q) {
  struct job *j = q->head;
  if (j != NULL) {
    q->head = j->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return j;
}

static void jobq_drop(struct jobq *q) {
  struct job *j;
  while ((j = jobq_pop(q)) != NULL)
    free(j);
}

struct byoca_loop *byoca_loop_new(void) {
  pthread_once(&evthread_once, evthread_init);
  struct byoca_loop *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->pipefd[0] = l->pipefd[1] = -1;
  if (pthread_mutex_init(&l->mu, NULL) != 0) {
    free(l);
    return NULL;
  }
  if (pthread_cond_init(&l->cv, NULL) != 0) {
    pthread_mutex_destroy(&l->mu);
    free(l);
    return NULL;
  }
  if ((l->base = event_base_new()) == NULL) {
    byoca_loop_free(l);
    return NULL;
  }
  return l;
}

int byoca_loop_run(struct byoca_loop *loop) {
  return event_base_dispatch(loop->base);
}

void byoca_loop_break(struct byoca_loop *loop) {
  event_base_loopbreak(loop->base);
}

void *byoca_loop_base(struct byoca_loop *loop) {
  return loop->base;
}

static void stop_workers(struct byoca_loop *l) {
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  for (int i = 0; i < l->nth; i++)
    pthread_join(l->th[i], NULL);
  l->nth = 0;
  for (int i = 0; i < BYOCA_LOOP_LANES; i++) {
    if (l->lane_on[i])
      pthread_join(l->lane_th[i], NULL);
    l->lane_on[i] = 0;
  }
}

void byoca_loop_free(struct byoca_loop *loop) {
  if (loop == NULL)
    return;
  /* Jobs still queued are dropped, running ones finish first; no done
     callback runs after this point. */
  stop_workers(loop);
  jobq_drop(&loop->todo);
  for (int i = 0; i < BYOCA_LOOP_LANES; i++)
    jobq_drop(&loop->lane[i]);
  jobq_drop(&loop->done);
  if (loop->wake != NULL)
    event_free(loop->wake);
  for (int i = 0; i < 2; i++)
    if (loop->pipefd[i] >= 0)
      close(loop->pipefd[i]);
  if (loop->base != NULL)
    event_base_free(loop->base);
  pthread_cond_destroy(&loop->cv);
  pthread_mutex_destroy(&loop->mu);
  free(loop);
}

/* ---- timers ---- */

static void timer_fire(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct byoca_timer *t = arg;
  byoca_timer_cb cb = t->cb;
  void *cbarg = t->arg;
  event_free(t->ev);
  free(t);
  cb(cbarg);
}

struct byoca_timer *byoca_timer_add(struct byoca_loop *loop, int64_t ms,
                                    byoca_timer_cb cb, void *arg) {
  struct byoca_timer *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->cb = cb;
  t->arg = arg;
  t->ev = evtimer_new(loop->base, timer_fire, t);
  if (t->ev == NULL) {
    free(t);
    return NULL;
  }
  if (ms < 0)
    ms = 0;
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
                       .tv_usec = (suseconds_t)((ms % 1000) * 1000)};
  if (evtimer_add(t->ev, &tv) != 0) {
    event_free(t->ev);
    free(t);
    return NULL;
  }
  return t;
}

void byoca_timer_cancel(struct byoca_timer *t) {
  if (t == NULL)
    return;
  event_free(t->ev);
  free(t);
}

/* ---- fd watches ---- */

static void watch_fire(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  struct byoca_watch *w = arg;
  w->cb((int)fd, w->arg);
}

struct byoca_watch *byoca_watch_read(struct byoca_loop *loop, int fd,
                                     byoca_fd_cb cb, void *arg) {
  struct byoca_watch *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return NULL;
  w->cb = cb;
  w->arg = arg;
  w->ev = event_new(loop->base, fd, EV_READ | EV_PERSIST, watch_fire, w);
  if (w->ev == NULL || event_add(w->ev, NULL) != 0) {
    if (w->ev != NULL)
      event_free(w->ev);
    free(w);
    return NULL;
  }
  return w;
}

void byoca_watch_free(struct byoca_watch *w) {
  if (w == NULL)
    return;
  event_free(w->ev);
  free(w);
}

/* ---- worker pool ---- */

/* Runs the jobs of q until the loop stops. One condition variable serves
 * the pool and the lane, so submissions broadcast. */
static void *worker_run(struct byoca_loop *l, struct jobq *q) {
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stop && q->head == NULL)
      pthread_cond_wait(&l->cv, &l->mu);
    if (l->stop)
      break;
    struct job *j = jobq_pop(q);
    pthread_mutex_unlock(&l->mu);
    j->work(j->arg);
    pthread_mutex_lock(&l->mu);
    jobq_push(&l->done, j);
    /* a full pipe already means "wake up"; nothing else can fail here */
    ssize_t n = write(l->pipefd[1], "x", 1);
    (void)n;
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

static void *worker_main(void *arg) {
  struct byoca_loop *l = arg;
  return worker_run(l, &l->todo);
}

/* A lane's thread; arg (malloc'd, freed here) names the loop and the lane. */
struct lane_arg {
  struct byoca_loop *l;
  int i;
};

static void *lane_main(void *arg) {
  struct lane_arg a = *(struct lane_arg *)arg;
  free(arg);
  return worker_run(a.l, &a.l->lane[a.i]);
}

static void drain_pipe(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0)
    ;
}

static void wake_fire(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  struct byoca_loop *l = arg;
  drain_pipe((int)fd);
  for (;;) {
    pthread_mutex_lock(&l->mu);
    struct job *j = jobq_pop(&l->done);
    pthread_mutex_unlock(&l->mu);
    if (j == NULL)
      break;
    if (--l->inflight == 0)
      event_del(l->wake);
    byoca_done_cb done = j->done;
    void *jarg = j->arg;
    free(j);
    if (done != NULL)
      done(jarg);
  }
}

static void pool_unwind(struct byoca_loop *l) {
  if (l->wake != NULL)
    event_free(l->wake);
  l->wake = NULL;
  for (int i = 0; i < 2; i++) {
    if (l->pipefd[i] >= 0)
      close(l->pipefd[i]);
    l->pipefd[i] = -1;
  }
}

static int pool_start(struct byoca_loop *l) {
  if (pipe(l->pipefd) != 0) {
    l->pipefd[0] = l->pipefd[1] = -1;
    return BYOCA_E_INTERNAL;
  }
  for (int i = 0; i < 2; i++) {
    int fl = fcntl(l->pipefd[i], F_GETFL);
    if (fl < 0 || fcntl(l->pipefd[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
        fcntl(l->pipefd[i], F_SETFD, FD_CLOEXEC) != 0) {
      pool_unwind(l);
      return BYOCA_E_INTERNAL;
    }
  }
  l->wake =
      event_new(l->base, l->pipefd[0], EV_READ | EV_PERSIST, wake_fire, l);
  if (l->wake == NULL) {
    pool_unwind(l);
    return BYOCA_E_NOMEM;
  }
  for (int i = 0; i < LOOP_WORKERS; i++) {
    if (pthread_create(&l->th[i], NULL, worker_main, l) != 0)
      break;
    l->nth++;
  }
  if (l->nth == 0) {
    pool_unwind(l);
    return BYOCA_E_INTERNAL;
  }
  return 0;
}

static int submit(struct byoca_loop *loop, struct jobq *q, byoca_work_cb work,
                  byoca_done_cb done, void *arg) {
  struct job *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return BYOCA_E_NOMEM;
  j->work = work;
  j->done = done;
  j->arg = arg;
  if (loop->inflight++ == 0 && event_add(loop->wake, NULL) != 0) {
    loop->inflight--;
    free(j);
    return BYOCA_E_INTERNAL;
  }
  pthread_mutex_lock(&loop->mu);
  jobq_push(q, j);
  pthread_cond_broadcast(&loop->cv);
  pthread_mutex_unlock(&loop->mu);
  return 0;
}

int byoca_loop_offload(struct byoca_loop *loop, byoca_work_cb work,
                       byoca_done_cb done, void *arg) {
  if (loop == NULL || work == NULL)
    return BYOCA_E_INVAL;
  if (loop->nth == 0) {
    int rc = pool_start(loop);
    if (rc != 0)
      return rc;
  }
  return submit(loop, &loop->todo, work, done, arg);
}

int byoca_loop_offload_lane(struct byoca_loop *loop, int lane,
                            byoca_work_cb work, byoca_done_cb done, void *arg) {
  if (loop == NULL || work == NULL || lane < 0 || lane >= BYOCA_LOOP_LANES)
    return BYOCA_E_INVAL;
  if (loop->nth == 0) {
    int rc = pool_start(loop);
    if (rc != 0)
      return rc;
  }
  if (!loop->lane_on[lane]) {
    struct lane_arg *a = malloc(sizeof(*a));
    if (a == NULL)
      return BYOCA_E_NOMEM;
    a->l = loop;
    a->i = lane;
    if (pthread_create(&loop->lane_th[lane], NULL, lane_main, a) != 0) {
      free(a);
      return BYOCA_E_INTERNAL;
    }
    loop->lane_on[lane] = 1;
  }
  return submit(loop, &loop->lane[lane], work, done, arg);
}
