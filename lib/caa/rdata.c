/* CAA RDATA from the wire (RFC 8659 §4.1): flags, tag length, tag, value.
 * The value is kept as opaque bytes; parsing it is value.c's job. */
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "caa_int.h"

/* Largest RDATA DNS can carry (RDLENGTH is 16 bits). */
#define RDATA_MAX 65535u

static int is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* Checks the framing; returns 0 or the error code with err filled. */
static int check_rdata(const unsigned char *rdata, size_t len,
                       struct byoca_err *err) {
  if (len < 2)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                         "CAA record of %zu bytes is too short for its flags "
                         "and tag length",
                         len);
  if (len > RDATA_MAX)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                         "CAA record of %zu bytes is longer than DNS allows",
                         len);
  size_t taglen = rdata[1];
  if (taglen == 0)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                         "CAA record has a tag length of 0 (RFC 8659 §4.1 "
                         "requires at least 1)");
  if (taglen > len - 2)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                         "CAA record's tag length %zu runs past the end of "
                         "its %zu bytes",
                         taglen, len);
  for (size_t i = 0; i < taglen; i++)
    if (!is_alnum(rdata[2 + i]))
      return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_INPUT,
                           "CAA record's tag has byte 0x%02x at position %zu: "
                           "tags are ASCII letters and digits only",
                           rdata[2 + i], i);
  return 0;
}

int byoca_caa_rdata_parse(const unsigned char *rdata, size_t len,
                          struct byoca_caa_record *out, struct byoca_err *err) {
  if (out == NULL || (rdata == NULL && len > 0))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "byoca_caa_rdata_parse: no input or output");
  int rc = check_rdata(rdata, len, err);
  if (rc != 0)
    return rc;
  size_t taglen = rdata[1];
  size_t vlen = len - 2 - taglen; /* <= RDATA_MAX: no overflow below */
  char *tag = malloc(taglen + 1);
  char *value = malloc(vlen + 1);
  if (tag == NULL || value == NULL) {
    free(tag);
    free(value);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory parsing a CAA record");
  }
  memcpy(tag, rdata + 2, taglen);
  tag[taglen] = '\0';
  if (vlen > 0)
    memcpy(value, rdata + 2 + taglen, vlen);
  value[vlen] = '\0';
  out->flags = rdata[0];
  out->tag = tag;
  out->value = value;
  out->value_len = vlen;
  return 0;
}

void byoca_caa_record_clear(struct byoca_caa_record *r) {
  if (r == NULL)
    return;
  free(r->tag);
  free(r->value);
  memset(r, 0, sizeof(*r));
}
