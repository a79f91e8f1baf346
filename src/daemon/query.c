/* Path and query parameters: ids, paging, flags. A malformed value is
 * answered here (404 for a path id, 400 naming the parameter otherwise). */
#include "bd.h"

int bd_param_id(struct bd_call *c, size_t i, int64_t *out) {
  uint64_t v;
  if (i >= BD_MAX_PARAMS || c->param[i] == NULL ||
      byoca_parse_uint(c->param[i], INT64_MAX, &v) != 0 || v == 0) {
    bd_problem(c, 404, "no such resource");
    return -1;
  }
  *out = (int64_t)v;
  return 0;
}

int bd_page(struct bd_call *c, int64_t *after, size_t *limit) {
  const char *a = byoca_httpd_query(c->req, "after");
  const char *l = byoca_httpd_query(c->req, "limit");
  uint64_t v;
  *after = 0;
  *limit = BD_LIST_DEFAULT;
  if (a != NULL) {
    if (byoca_parse_uint(a, INT64_MAX, &v) != 0) {
      bd_problem(c, 400, "after: expected an id, not '%.40s'", a);
      return -1;
    }
    *after = (int64_t)v;
  }
  if (l != NULL) {
    if (byoca_parse_uint(l, BD_LIST_MAX, &v) != 0 || v == 0) {
      bd_problem(c, 400, "limit: expected 1 to %d, not '%.40s'", BD_LIST_MAX,
                 l);
      return -1;
    }
    *limit = (size_t)v;
  }
  return 0;
}

int bd_query_flag(struct bd_call *c, const char *name, int *out) {
  const char *v = byoca_httpd_query(c->req, name);
  *out = 0;
  if (v == NULL || (v[0] == '0' && v[1] == '\0'))
    return 0;
  if (v[0] == '1' && v[1] == '\0') {
    *out = 1;
    return 0;
  }
  bd_problem(c, 400, "%s: expected 0 or 1, not '%.40s'", name, v);
  return -1;
}
