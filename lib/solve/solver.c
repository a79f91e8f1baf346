/* The solver interface: dispatch through ops, and helpers the solvers
 * share. */
#include <stdlib.h>
#include <string.h>

#include "byoca/solve.h"
#include "solve_int.h"

void byoca_solver_free(struct byoca_solver *s) {
  if (!s)
    return;
  if (s->ops && s->ops->free)
    s->ops->free(s->ctx);
  free(s);
}

int byoca_solver_supports(const struct byoca_solver *s, const char *type) {
  if (!s || !s->ops || !s->ops->supports || !type)
    return 0;
  return s->ops->supports(s->ctx, type) ? 1 : 0;
}

struct byoca_solver *solve_new(const char *name,
                               const struct byoca_solver_ops *ops, void *ctx,
                               struct byoca_err *err) {
  struct byoca_solver *s = calloc(1, sizeof(*s));
  if (!s) {
    ops->free(ctx);
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  s->name = name;
  s->ops = ops;
  s->ctx = ctx;
  return s;
}

int solve_token_valid(const char *token) {
  size_t n = token ? strlen(token) : 0;
  if (n == 0 || n > SOLVE_TOKEN_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = token[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
             (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok)
      return 0;
  }
  return 1;
}
