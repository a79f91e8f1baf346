/* Error answers: RFC 7807 problem documents with the contract's names
 * (urn:byoca:error:<name>), from a status or from a library error. The
 * detail is always sanitised; 5xx details never carry internal text. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"

struct status_name {
  int status;
  const char *name;
  const char *title;
};

static const struct status_name names[] = {
    {400, "badRequest", "Bad Request"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "notFound", "Not Found"},
    {405, "methodNotAllowed", "Method Not Allowed"},
    {409, "conflict", "Conflict"},
    {413, "tooLarge", "Payload Too Large"},
    {415, "unsupportedMediaType", "Unsupported Media Type"},
    {500, "internal", "Internal Server Error"},
    {503, "unavailable", "Service Unavailable"},
    {507, "insufficientStorage", "Insufficient Storage"},
};

static const struct status_name *lookup(int status) {
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (names[i].status == status)
      return &names[i];
  return &names[8]; /* internal */
}

static void answer(struct bd_call *c, int status, const char *detail,
                   const char *allow) {
  const struct status_name *n = lookup(status);
  char safe[600], type[64];
  byoca_str_sanitize(detail, safe, sizeof(safe));
  snprintf(type, sizeof(type), "urn:byoca:error:%s", n->name);
  json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "type", type, "title", n->title,
                        "status", n->status, "detail", safe);
  char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  char allow_hdr[96];
  snprintf(allow_hdr, sizeof(allow_hdr), "Allow: %s", allow ? allow : "");
  const char *const auth[] = {"WWW-Authenticate: Bearer", NULL};
  const char *const methods[] = {allow_hdr, NULL};
  const char *const *hdrs = n->status == 401 ? auth
                            : allow != NULL  ? methods
                                             : NULL;
  if (text == NULL)
    bd_reply(c, 500, NULL, NULL, 0, NULL);
  else
    bd_reply(c, n->status, "application/problem+json", text, strlen(text),
             hdrs);
  free(text);
}

void bd_problem(struct bd_call *c, int status, const char *fmt, ...) {
  char detail[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  answer(c, status, detail, NULL);
}

static int status_of(int code) {
  switch (code) {
  case BYOCA_E_INVAL:
  case BYOCA_E_POLICY:
    return 400;
  case BYOCA_E_NOTFOUND:
    return 404;
  case BYOCA_E_CONFLICT:
    return 409;
  case BYOCA_E_NOSPACE:
    return 507;
  case BYOCA_E_TOOBIG:
    return 413;
  default:
    return 500;
  }
}

void bd_problem_err(struct bd_call *c, const struct byoca_err *err) {
  int code = err != NULL && err->code != 0 ? err->code : BYOCA_E_INTERNAL;
  int status = status_of(code);
  if (status < 500 && err != NULL && err->msg[0] != '\0') {
    answer(c, status, err->msg, NULL);
    return;
  }
  if (status < 500) {
    answer(c, status, byoca_errcode_str(code), NULL);
    return;
  }
  char line[1024];
  if (err != NULL)
    byoca_err_format(err, line, sizeof(line));
  else
    byoca_strlcpy(line, "unknown error", sizeof(line));
  byoca_log(BYOCA_LOG_ERROR, "api: %s %.200s: %s", c->method, c->path, line);
  if (status == 507) {
    answer(c, 507,
           "the daemon cannot write its store: no space left on the disk;"
           " nothing was changed, retry once space is freed",
           NULL);
    return;
  }
  answer(c, 500, "internal error; the daemon's log has the details", NULL);
}

void bd_problem_405(struct bd_call *c, const char *allow) {
  answer(c, 405, "method not allowed here", allow);
}
