/* GET /v1/nodes (operator): the byocad nodes sharing the store, each
 * with its status (alive while its heartbeat is recent), start, last
 * heartbeat, version and the certificate leases it holds. */
#include <stdlib.h>
#include <string.h>

#include "bd.h"

void api_nodes_prep(struct bd_call *c) {
  c->node_alive_s = byoca_manager_node_alive_s(c->d->mgr);
}

/* On c->store (a store lane's thread on PostgreSQL): the manager is not
 * touched here. */
void api_nodes_list(struct bd_call *c) {
  struct byoca_node_row *v = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  int64_t now = byoca_now();
  if (byoca_store_node_list(c->store, now, &v, &n, &e) != 0) {
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
    return;
  }
  int64_t alive_s = c->node_alive_s;
  const char *self = byoca_store_node(c->store);
  json_t *items = json_array();
  for (size_t i = 0; i < n && items != NULL; i++)
    json_array_append_new(items,
                          bd_json_node(&v[i], v[i].heartbeat > now - alive_s,
                                       strcmp(v[i].name, self) == 0));
  free(v);
  json_t *o = items != NULL ? json_pack("{s:o}", "items", items) : NULL;
  bd_reply_json(c, 200, o, NULL);
}
