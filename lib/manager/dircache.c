/* D-WELLKNOWN: the directory URL found at https://<issuer>/.well-known/acme,
 * kept in memory for the Cache-Control max-age it was served with,
 * clamped to 5 minutes - 24 hours (1 hour without one). An entry is
 * forgotten when its CA fails: it may have moved. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define TTL_MIN 300
#define TTL_DEFAULT 3600
#define TTL_MAX 86400
#define CACHE_MAX 1024

static struct mgr_dirent *find(struct byoca_manager *m, const char *issuer) {
  for (size_t i = 0; i < m->ndircache; i++)
    if (byoca_strcaseeq(m->dircache[i].issuer, issuer))
      return &m->dircache[i];
  return NULL;
}

char *mgr_dircache_get(struct byoca_manager *m, const char *issuer) {
  struct mgr_dirent *d = find(m, issuer);
  if (d == NULL || d->expires <= byoca_now())
    return NULL;
  return strdup(d->url);
}

void mgr_dircache_forget(struct byoca_manager *m, const char *issuer) {
  struct mgr_dirent *d = find(m, issuer);
  if (d == NULL)
    return;
  free(d->issuer);
  free(d->url);
  *d = m->dircache[--m->ndircache];
}

void mgr_dircache_put(struct byoca_manager *m, const char *issuer,
                      const char *url, int64_t max_age) {
  int64_t ttl = max_age < 0 ? TTL_DEFAULT : max_age;
  ttl = ttl < TTL_MIN ? TTL_MIN : ttl > TTL_MAX ? TTL_MAX : ttl;
  if (url == NULL)
    return;
  mgr_dircache_forget(m, issuer);
  if (m->ndircache >= CACHE_MAX)
    mgr_dircache_forget(m, m->dircache[0].issuer);
  struct mgr_dirent *v = realloc(m->dircache, (m->ndircache + 1) * sizeof(*v));
  if (v == NULL)
    return;
  m->dircache = v;
  struct mgr_dirent *d = &v[m->ndircache];
  d->issuer = strdup(issuer);
  d->url = strdup(url);
  d->expires = byoca_now() + ttl;
  if (d->issuer == NULL || d->url == NULL) {
    free(d->issuer);
    free(d->url);
    return;
  }
  m->ndircache++;
}

void mgr_dircache_free(struct byoca_manager *m) {
  for (size_t i = 0; i < m->ndircache; i++) {
    free(m->dircache[i].issuer);
    free(m->dircache[i].url);
  }
  free(m->dircache);
  m->dircache = NULL;
  m->ndircache = 0;
}
