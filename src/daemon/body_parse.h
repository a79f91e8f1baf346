/* body_parse.c: a request body checked against the fields a handler
 * accepts, with no HTTP attached (bd_body wraps it; the fuzzer calls it). */
#ifndef BYOCAD_BODY_PARSE_H
#define BYOCAD_BODY_PARSE_H

#include <jansson.h>
#include <stddef.h>

#define BD_BODY_MAX_DEPTH 32

enum bd_type {
  BD_T_STRING,         /* a string */
  BD_T_STRING_OR_NULL, /* a string or null */
  BD_T_STRINGS,        /* an array of strings */
  BD_T_BOOL_OR_NULL,   /* true, false or null */
  BD_T_INT,            /* an integer */
};

struct bd_field {
  const char *name;
  enum bd_type type;
  int required;
};

/* The body as a JSON object with only the listed fields, of their types:
 * content_type application/json (else *status 415), nesting <= 32, valid
 * JSON without duplicate keys, an object (else *status 400). With
 * allow_empty an empty body gives an empty object whatever the type. On
 * failure returns NULL with *status set and why naming what was wrong. */
json_t *bd_body_parse(const char *content_type, const char *body, size_t len,
                      const struct bd_field *fields, size_t n, int allow_empty,
                      int *status, char *why, size_t whylen);

#endif
