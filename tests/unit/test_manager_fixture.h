/* Shared setup of the lib/manager tests that use a real store: a
 * temporary folder with a master key and a SQLite store, a loop, an HTTP
 * client whose address policy refuses everything not trusted (so no test
 * traffic leaves the machine), and helpers to read events. */
#ifndef BYOCA_TEST_MANAGER_FIXTURE_H
#define BYOCA_TEST_MANAGER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byoca/manager.h"
#include "byoca/store.h"

struct mfx {
  char dir[64];
  struct byoca_loop *loop;
  struct byoca_netpolicy *policy;
  struct byoca_http *http;
  struct byoca_store *store;
  int64_t tenant;
  int64_t tenant2;
};

static inline void mfx_setup(struct mfx *f) {
  struct byoca_secret master = {0};
  struct byoca_tenant t;
  char path[128];
  memset(f, 0, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/byoca-mgr-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    abort();
  snprintf(path, sizeof(path), "%s/master.key", f->dir);
  if (byoca_master_key_load(path, 1, &master, NULL) != 0)
    abort();
  snprintf(path, sizeof(path), "%s/byocad.db", f->dir);
  if (byoca_store_open(path, &master, &f->store, NULL) != 0)
    abort();
  byoca_secret_free(&master);
  if (byoca_store_tenant_create(f->store, "t1", &t, NULL) != 0)
    abort();
  f->tenant = t.id;
  if (byoca_store_tenant_create(f->store, "t2", &t, NULL) != 0)
    abort();
  f->tenant2 = t.id;
  f->loop = byoca_loop_new();
  f->policy = byoca_netpolicy_new();
  struct byoca_http_opts ho = {
      .policy = f->policy, .timeout_ms = 5000, .connect_timeout_ms = 2000};
  f->http = byoca_http_new(f->loop, &ho, NULL);
  if (f->loop == NULL || f->policy == NULL || f->http == NULL)
    abort();
}

/* rm -r of a folder this fixture made. */
static inline void mfx_rm(const char *path) {
  DIR *d = opendir(path);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char sub[1024];
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if ((size_t)snprintf(sub, sizeof(sub), "%.500s/%.255s", path, e->d_name) >=
        sizeof(sub))
      continue;
    if (e->d_type == DT_DIR)
      mfx_rm(sub);
    else
      unlink(sub);
  }
  if (d != NULL)
    closedir(d);
  rmdir(path);
}

static inline void mfx_teardown(struct mfx *f) {
  byoca_http_free(f->http);
  byoca_netpolicy_free(f->policy);
  byoca_store_close(f->store);
  byoca_loop_free(f->loop);
  if (strncmp(f->dir, "/tmp/byoca-mgr-", 15) == 0)
    mfx_rm(f->dir);
}

/* Number of events of type (for cert_id, or any when 0) of tenant (-1
 * all); *detail_out (may be NULL) gets the last one's detail (free it). */
static inline int mfx_events(struct mfx *f, int64_t tenant, const char *type,
                             int64_t cert_id, char **detail_out) {
  struct byoca_event *ev = NULL;
  size_t n = 0;
  int count = 0;
  if (byoca_store_event_list(f->store, tenant, 0, 10000, &ev, &n, NULL) != 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(ev[i].type, type) != 0 ||
        (cert_id != 0 && ev[i].cert_id != cert_id))
      continue;
    count++;
    if (detail_out != NULL) {
      free(*detail_out);
      *detail_out = strdup(ev[i].detail_json != NULL ? ev[i].detail_json : "");
    }
  }
  byoca_events_free(ev, n);
  return count;
}

#endif
