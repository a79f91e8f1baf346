/* libFuzzer target: ACME problem documents with subproblems
 * (byoca_problem_parse, RFC 7807 and RFC 8555 §6.7). */
#include <stddef.h>
#include <stdint.h>

#include "byoca/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct byoca_problem *p = NULL;
  if (byoca_problem_parse((const char *)data, size, &p) != 0)
    return 0;
  if (p != NULL)
    (void)byoca_problem_class(p->type);
  for (size_t i = 0; p != NULL && i < p->nsub; i++)
    (void)byoca_problem_class(p->sub[i].type);
  byoca_problem_free(p);
  return 0;
}
