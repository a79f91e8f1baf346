/* Certificate profiles (draft-ietf-acme-profiles): the directory's
 * meta.profiles read defensively (a CA found through CAA may be hostile:
 * bounded count and lengths, names we could send back), and the name
 * rule byoca applies to every profile it requests or stores. */
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"

static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789._-";

int byoca_profile_name_valid(const char *name) {
  size_t n = name != NULL ? strlen(name) : 0;
  return n > 0 && n <= BYOCA_PROFILE_NAME_MAX && strspn(name, name_chars) == n;
}

void byoca_profiles_free(struct byoca_profile *p, size_t n) {
  for (size_t i = 0; p != NULL && i < n; i++) {
    free(p[i].name);
    free(p[i].description);
  }
  free(p);
}

/* A copy of s cut to at most cap bytes without splitting a UTF-8
 * sequence (jansson strings are valid UTF-8, and stay so). */
static char *dup_utf8_cut(const char *s, size_t cap) {
  size_t n = strlen(s);
  if (n > cap) {
    n = cap;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
  }
  return strndup(s, n);
}

int acme_profiles_from_json(const json_t *obj, struct byoca_profile **out,
                            size_t *nout) {
  struct byoca_profile *p = NULL;
  size_t n = 0;
  const char *k;
  json_t *v;
  *out = NULL;
  *nout = 0;
  if (!json_is_object(obj))
    return BYOCA_E_PROTO;
  json_object_foreach((json_t *)obj, k, v) {
    if (n == BYOCA_PROFILES_MAX)
      break;
    if (!byoca_profile_name_valid(k) || !json_is_string(v))
      continue;
    if (p == NULL && (p = calloc(BYOCA_PROFILES_MAX, sizeof(*p))) == NULL)
      return BYOCA_E_NOMEM;
    p[n].name = strdup(k);
    p[n].description =
        dup_utf8_cut(json_string_value(v), BYOCA_PROFILE_DESC_MAX);
    if (p[n].name == NULL || p[n].description == NULL) {
      byoca_profiles_free(p, n + 1);
      return BYOCA_E_NOMEM;
    }
    n++;
  }
  *out = p;
  *nout = n;
  return 0;
}

int byoca_profiles_parse(const char *json, size_t len,
                         struct byoca_profile **out, size_t *n,
                         struct byoca_err *err) {
  json_t *o = json_loadb(json, len, 0, NULL);
  int rc = acme_profiles_from_json(o, out, n);
  json_decref(o);
  if (rc == BYOCA_E_PROTO)
    return byoca_err_set(err, rc, BYOCA_CLASS_CA,
                         "meta.profiles is not a JSON object");
  if (rc != 0)
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  return 0;
}
