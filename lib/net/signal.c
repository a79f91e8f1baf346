/* Signals delivered on the loop (libevent's signal events): the handler
 * runs as an ordinary callback, not in signal context. */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "byoca/net.h"

struct byoca_signal {
  struct event *ev;
  byoca_timer_cb cb;
  void *arg;
};

static void signal_fire(evutil_socket_t signo, short what, void *arg) {
  (void)signo;
  (void)what;
  struct byoca_signal *s = arg;
  s->cb(s->arg);
}

/* Calls cb on the loop each time signo arrives, until byoca_signal_free;
 * NULL for a signal that cannot be caught or on NOMEM. While registered,
 * the signal keeps byoca_loop_run from returning for lack of work. */
struct byoca_signal *byoca_signal_add(struct byoca_loop *loop, int signo,
                                      byoca_timer_cb cb, void *arg) {
  if (loop == NULL || cb == NULL || signo <= 0 || signo >= NSIG ||
      signo == SIGKILL || signo == SIGSTOP)
    return NULL;
  struct byoca_signal *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cb = cb;
  s->arg = arg;
  /* evsignal_new is persistent: EV_SIGNAL | EV_PERSIST */
  s->ev = evsignal_new((struct event_base *)byoca_loop_base(loop), signo,
                       signal_fire, s);
  if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
    if (s->ev != NULL)
      event_free(s->ev);
    free(s);
    return NULL;
  }
  return s;
}

/* Stops watching (libevent restores the previous disposition once no
 * event watches the signal). NULL no-op. */
void byoca_signal_free(struct byoca_signal *s) {
  if (s == NULL)
    return;
  event_free(s->ev);
  free(s);
}
