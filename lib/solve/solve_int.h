/* byoca solve internals shared by the solvers. */
#ifndef BYOCA_SOLVE_INT_H
#define BYOCA_SOLVE_INT_H

#include "byoca/solve.h"

/* Longest token a solver accepts; RFC 8555 tokens are 43 characters. */
#define SOLVE_TOKEN_MAX 256

/* Wraps ctx in a solver; on NOMEM frees ctx with ops->free and fills err. */
struct byoca_solver *solve_new(const char *name,
                               const struct byoca_solver_ops *ops, void *ctx,
                               struct byoca_err *err);

/* 1 if token is 1..SOLVE_TOKEN_MAX characters of [A-Za-z0-9_-] (RFC 8555
 * §8.3: base64url), so it is safe in a path and a URL. */
int solve_token_valid(const char *token);

#endif
