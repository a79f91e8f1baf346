/* Helpers shared by the files of lib/caa: the list of known property tags,
 * the judgement of one identifier's Relevant RRset (authorize.c) and the
 * sticky shuffle key of discovery (discover.c). Not part of the public API. */
#ifndef BYOCA_CAA_INT_H
#define BYOCA_CAA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/caa.h"

/* Most parameters one issue/issuewild value may carry; more is malformed
 * (a cap, not an RFC rule: a 64 KiB value could otherwise hold thousands). */
#define CAA_MAX_PARAMS 64

/* 1 if tag (any case) is one byoca recognises (D-KNOWN-TAGS): issue,
 * issuewild, iodef, issuemail, issuevmc, contactemail, contactphone. */
int caa_tag_known(const char *tag);

/* Judges the Relevant RRset s of name under policy (RFC 8659 §4, RFC 8657,
 * the draft's parameters): fills id with the lowercase name, one verdict per
 * record, the status and the authorized issuers. s NULL or a lookup error
 * makes the status LOOKUP_ERROR (D-DNS-ERR). On failure id is left empty
 * (BYOCA_E_NOMEM, BYOCA_E_INVAL). */
int caa_judge(struct byoca_caa_ident *id, const char *name,
              const struct byoca_caa_rrset *s,
              const struct byoca_caa_policy *policy, struct byoca_err *err);
/* Frees what caa_judge put in id and zeroes it. */
void caa_ident_clear(struct byoca_caa_ident *id);

/* The D-PRIO-BAD reading of a parsed value's priority: 1..2^31-1, or 0
 * (unspecified) when absent, repeated or not [1-9][0-9]*. why (may be NULL)
 * receives a note for the owner when a priority was given but ignored, else
 * an empty string. */
int64_t caa_priority(const struct byoca_caa_value *v, char *why, size_t n);

/* The position of issuer inside its group for a given seed (D-RANDOM):
 * a splitmix64 mix of the seed and an FNV-1a hash of the name. Same inputs,
 * same key, on every platform. */
uint64_t caa_order_key(uint64_t seed, const char *issuer);

#endif
