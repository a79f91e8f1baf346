/* Helpers shared by the two sources of a Relevant RRset, DNS (lookup.c)
 * and a zone file (zone.c): the name whose levels are climbed. Not part of
 * the public API. */
#ifndef BYOCA_CAA_LOOKUP_INT_H
#define BYOCA_CAA_LOOKUP_INT_H

#include <stddef.h>

/* Longest name we look up, without the trailing dot (RFC 1035 §2.3.4 less
 * the root label and length bytes), and most labels such a name holds. */
#define CAA_NAME_MAX 253
#define CAA_LABELS_MAX 127

/* The name where the climb of RFC 8659 §3 starts: name lowercased (ASCII),
 * its trailing dot dropped, then a leading "*." dropped. Refuses
 * (BYOCA_E_INVAL) empty names and labels, labels over 63 bytes, names over
 * CAA_NAME_MAX bytes or CAA_LABELS_MAX labels, and bytes that are not
 * printable ASCII or are a backslash (resolvers read those as escapes).
 * out needs CAA_NAME_MAX + 1 bytes. */
int caa_base_name(const char *name, char *out, size_t outlen);

/* The parent of a level: the name without its leftmost label, or NULL when
 * name is a TLD (the root is never consulted). Points into name. */
const char *caa_parent(const char *name);

#endif
