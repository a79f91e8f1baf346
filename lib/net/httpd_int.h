/* The HTTP server's internals shared by httpd.c (requests and answers) and
 * httpd_listen.c (listeners and the connection cap). */
#ifndef BYOCA_HTTPD_INT_H
#define BYOCA_HTTPD_INT_H

#include <stddef.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "byoca/net.h"

/* One listening socket. The evconnlistener belongs to evhttp once bound
 * (evhttp_free frees it and closes the socket). */
struct httpd_lsn {
  struct httpd_lsn *next;
  struct evconnlistener *evl;
  struct event *reject; /* accepts and closes while at the connection cap */
  char *unix_path;      /* socket file we created, or NULL */
  dev_t dev;            /* identity of that file, so free unlinks only it */
  ino_t ino;
};

struct byoca_httpd {
  struct event_base *base;
  struct evhttp *http;
  byoca_httpd_cb cb;
  void *arg;
  size_t max_connections;
  size_t max_body; /* bodies over it get our 413 problem document */
  size_t live;     /* connections evhttp holds (counted at accept) */
  int rejecting;   /* listeners swapped for their reject events */
  int freeing;     /* byoca_httpd_free is running */
  int port;        /* of the last TCP listener */
  struct httpd_lsn *lsn;
  /* bufferevents handed to evhttp whose connection has no close callback
     yet; adopted from the loop right after the accept (httpd_listen.c) */
  struct bufferevent **pending;
  size_t npending, cap_pending;
  struct event *adopt;
};

/* Sets up the connection cap on h->http (bufferevent callback, adopt
 * event); 0 or BYOCA_E_NOMEM. */
int httpd_conncap_init(struct byoca_httpd *h);
/* Releases the cap's own state; after evhttp_free. */
void httpd_conncap_free(struct byoca_httpd *h);
/* Frees the listeners' reject events (before evhttp_free closes their
 * sockets) and unlinks the unix sockets we created (after). */
void httpd_listeners_free_events(struct byoca_httpd *h);
void httpd_listeners_free(struct byoca_httpd *h);

#endif
