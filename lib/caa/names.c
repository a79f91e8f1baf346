/* Names of the caa enums for output (byoca discover, JSON, logs), and the
 * release of a Relevant RRset. */
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "caa_int.h"

const char *byoca_caa_status_str(enum byoca_caa_status s) {
  switch (s) {
  case BYOCA_CAA_UNRESTRICTED:
    return "unrestricted";
  case BYOCA_CAA_RESTRICTED:
    return "restricted";
  case BYOCA_CAA_FORBIDDEN:
    return "forbidden";
  case BYOCA_CAA_LOOKUP_ERROR:
    return "lookup_error";
  }
  return "unknown";
}

const char *byoca_caa_outcome_str(enum byoca_caa_outcome o) {
  switch (o) {
  case BYOCA_CAA_TRY_IN_ORDER:
    return "try_in_order";
  case BYOCA_CAA_USE_DEFAULT:
    return "use_default";
  case BYOCA_CAA_NO_COMMON_CA:
    return "no_common_ca";
  case BYOCA_CAA_FORBIDDEN_ALL:
    return "forbidden";
  case BYOCA_CAA_LOOKUP_FAILED:
    return "lookup_error";
  }
  return "unknown";
}

const char *byoca_dnssec_str(enum byoca_dnssec d) {
  switch (d) {
  case BYOCA_DNSSEC_UNCHECKED:
    return "unchecked";
  case BYOCA_DNSSEC_SECURE:
    return "secure";
  case BYOCA_DNSSEC_INSECURE:
    return "insecure";
  case BYOCA_DNSSEC_BOGUS:
    return "bogus";
  }
  return "unknown";
}

void byoca_caa_rrset_clear(struct byoca_caa_rrset *s) {
  if (s == NULL)
    return;
  free(s->relevant_domain);
  for (size_t i = 0; s->records != NULL && i < s->n; i++)
    byoca_caa_record_clear(&s->records[i]);
  free(s->records);
  memset(s, 0, sizeof(*s));
}
