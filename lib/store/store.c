/* Opening and closing a store: the URL chooses the backend (a path or
 * "sqlite:PATH" is SQLite, "postgresql://" or "postgres://" is
 * PostgreSQL), the master key is copied, and the backend migrates the
 * schema before the store is handed out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

/* "host-pid": distinct for every process sharing a PostgreSQL store. */
static void default_node(char *out, size_t n) {
  char host[STORE_NODE_LEN];
  if (gethostname(host, sizeof(host)) != 0)
    snprintf(host, sizeof(host), "node");
  host[sizeof(host) - 1] = '\0';
  snprintf(out, n, "%.40s-%ld", host, (long)getpid());
}

int byoca_store_open(const char *url, const struct byoca_secret *master,
                     struct byoca_store **out, struct byoca_err *err) {
  *out = NULL;
  if (master == NULL || master->data == NULL ||
      master->len != BYOCA_MASTER_KEY_LEN)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the master key must be %d bytes",
                         BYOCA_MASTER_KEY_LEN);
  if (url == NULL || *url == '\0' || strcmp(url, "sqlite:") == 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "store: no file given");
  struct byoca_store *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  s->ops = byoca_store_url_is_remote(url) ? &store_pg_ops : &store_sqlite_ops;
  memcpy(s->master, master->data, BYOCA_MASTER_KEY_LEN);
  default_node(s->node, sizeof(s->node));
  if ((s->url = strdup(url)) == NULL) {
    free(s);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  }
  int rc = s->ops->open(s, url, err);
  if (rc != 0) {
    byoca_store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void byoca_store_close(struct byoca_store *s) {
  if (s == NULL)
    return;
  s->ops->close(s);
  explicit_bzero(s->master, sizeof(s->master));
  if (s->url != NULL) {
    explicit_bzero(s->url, strlen(s->url));
    free(s->url);
  }
  free(s);
}

int byoca_store_open_twin(struct byoca_store *s, struct byoca_store **out,
                          struct byoca_err *err) {
  struct byoca_secret master = {s->master, sizeof(s->master)};
  int rc = byoca_store_open(s->url, &master, out, err);
  if (rc == 0)
    memcpy((*out)->node, s->node, sizeof(s->node));
  return rc;
}

int byoca_store_schema_version(struct byoca_store *s) {
  return s->version;
}

const char *byoca_store_backend(struct byoca_store *s) {
  return s->ops->name;
}

int byoca_store_set_node(struct byoca_store *s, const char *node,
                         struct byoca_err *err) {
  size_t n = node != NULL ? strlen(node) : 0;
  if (n == 0 || n >= sizeof(s->node))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "node name: 1 to %d bytes", STORE_NODE_LEN - 1);
  memcpy(s->node, node, n + 1);
  return 0;
}

const char *byoca_store_node(struct byoca_store *s) {
  return s->node;
}

int byoca_store_set_app_name(struct byoca_store *s, const char *name,
                             struct byoca_err *err) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n == 0 || n >= sizeof(s->app_name))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "connection name: 1 to %d bytes", STORE_NODE_LEN - 1);
  memcpy(s->app_name, name, n + 1);
  return s->ops->set_app_name != NULL ? s->ops->set_app_name(s, err) : 0;
}

int store_schema_latest(void) {
  return STORE_SCHEMA_VERSION;
}
