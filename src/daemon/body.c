/* bd_body: the checked request body of a call (body_parse.c does the
 * checking); a refusal is answered as a problem. */
#include "bd.h"

json_t *bd_body(struct bd_call *c, const struct bd_field *fields, size_t n,
                int allow_empty) {
  size_t len = 0;
  const char *body = byoca_httpd_body(c->req, &len);
  char why[512];
  int status = 400;
  json_t *o = bd_body_parse(c->ctype, body, len, fields, n, allow_empty,
                            &status, why, sizeof(why));
  if (o == NULL)
    bd_problem(c, status, "%s", why);
  return o;
}
