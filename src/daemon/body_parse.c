/* Request bodies: JSON objects only, checked before any handler looks at
 * them. The media type, the nesting depth (counted before jansson runs,
 * so a deep document costs nothing), duplicate keys, the field names and
 * their types; every refusal names what was wrong. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "body_parse.h"

/* 1 if the Content-Type is application/json (parameters allowed). */
static int is_json_type(const char *ct) {
  if (ct == NULL)
    return 0;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  static const char want[] = "application/json";
  if (n != sizeof(want) - 1)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)ct[i]) != want[i])
      return 0;
  return 1;
}

/* The deepest nesting of arrays and objects outside strings. */
static int depth_of(const char *s, size_t len) {
  int depth = 0, max = 0, in_str = 0;
  for (size_t i = 0; i < len; i++) {
    char ch = s[i];
    if (in_str) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_str = 0;
    } else if (ch == '"') {
      in_str = 1;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max)
        max = depth;
      if (max > BD_BODY_MAX_DEPTH)
        return max;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      depth--;
    }
  }
  return max;
}

/* jansson's message without its " near '...'" quote of the input. */
static void parse_error(const json_error_t *e, char *why, size_t whylen) {
  char text[JSON_ERROR_TEXT_LENGTH];
  snprintf(text, sizeof(text), "%s", e->text);
  char *near = strstr(text, " near ");
  if (near != NULL)
    *near = '\0';
  snprintf(why, whylen, "the body is not valid JSON: %s (line %d, column %d)",
           text, e->line, e->column);
}

static json_t *parse(const char *body, size_t len, char *why, size_t whylen) {
  if (depth_of(body, len) > BD_BODY_MAX_DEPTH) {
    snprintf(why, whylen, "the body is nested deeper than %d levels",
             BD_BODY_MAX_DEPTH);
    return NULL;
  }
  json_error_t e;
  json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
  if (o == NULL) {
    parse_error(&e, why, whylen);
    return NULL;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    snprintf(why, whylen, "the body must be a JSON object");
    return NULL;
  }
  return o;
}

static int type_ok(const json_t *v, enum bd_type t) {
  switch (t) {
  case BD_T_STRING:
    return json_is_string(v);
  case BD_T_STRING_OR_NULL:
    return json_is_string(v) || json_is_null(v);
  case BD_T_STRINGS:
    if (!json_is_array(v))
      return 0;
    for (size_t i = 0; i < json_array_size(v); i++)
      if (!json_is_string(json_array_get(v, i)))
        return 0;
    return 1;
  case BD_T_BOOL_OR_NULL:
    return json_is_boolean(v) || json_is_null(v);
  case BD_T_INT:
    return json_is_integer(v);
  }
  return 0;
}

static const char *type_name(enum bd_type t) {
  switch (t) {
  case BD_T_STRING:
    return "a string";
  case BD_T_STRING_OR_NULL:
    return "a string or null";
  case BD_T_STRINGS:
    return "an array of strings";
  case BD_T_BOOL_OR_NULL:
    return "true, false or null";
  case BD_T_INT:
    return "an integer";
  }
  return "?";
}

/* 0 if o has only known fields of the right types and every required
 * one; else says why and returns -1. */
static int check_fields(json_t *o, const struct bd_field *fields, size_t n,
                        char *why, size_t whylen) {
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    size_t i = 0;
    while (i < n && strcmp(fields[i].name, key) != 0)
      i++;
    if (i == n) {
      snprintf(why, whylen, "unknown field '%.100s'", key);
      return -1;
    }
    if (!type_ok(v, fields[i].type)) {
      snprintf(why, whylen, "field '%s' must be %s", fields[i].name,
               type_name(fields[i].type));
      return -1;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (fields[i].required && json_object_get(o, fields[i].name) == NULL) {
      snprintf(why, whylen, "field '%s' is required", fields[i].name);
      return -1;
    }
  return 0;
}

json_t *bd_body_parse(const char *content_type, const char *body, size_t len,
                      const struct bd_field *fields, size_t n, int allow_empty,
                      int *status, char *why, size_t whylen) {
  json_t *o;
  *status = 400;
  if (len == 0 && allow_empty) {
    if ((o = json_object()) == NULL) {
      *status = 500;
      snprintf(why, whylen, "out of memory");
      return NULL;
    }
  } else if (!is_json_type(content_type)) {
    *status = 415;
    snprintf(why, whylen, "the body must be application/json");
    return NULL;
  } else if ((o = parse(body != NULL ? body : "", len, why, whylen)) == NULL) {
    return NULL;
  }
  if (check_fields(o, fields, n, why, whylen) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}
