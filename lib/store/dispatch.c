/* The public byoca_store_* functions that touch the database: each hands
 * the call to the backend the store was opened with (store_ops.h). */
#include "store_int.h"

#define STORE_DISPATCH(name, params, args)                                     \
  int byoca_store_##name params {                                              \
    return s->ops->name args;                                                  \
  }
STORE_OPS(STORE_DISPATCH)
#undef STORE_DISPATCH
