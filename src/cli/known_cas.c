/* Directory URLs of public ACME CAs, by the issuer-domain-name their CAA
 * records use, for CAs that do not serve https://<issuer>/.well-known/acme
 * yet (D-WELLKNOWN). Only URLs the CAs publish themselves. */
#include <stddef.h>

#include "auto.h"

static const struct {
  const char *issuer;
  const char *directory;
} known[] = {
    {"letsencrypt.org", "https://acme-v02.api.letsencrypt.org/directory"},
    {"pki.goog", "https://dv.acme-v02.api.pki.goog/directory"},
    {"buypass.com", "https://api.buypass.com/acme/directory"},
    {"sectigo.com", "https://acme.sectigo.com/v2/DV"},
    {"zerossl.com", "https://acme.zerossl.com/v2/DV90"},
    {"ssl.com", "https://acme.ssl.com/sslcom-dv-ecc"},
};

const char *cli_known_directory(const char *issuer) {
  for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
    if (byoca_strcaseeq(issuer, known[i].issuer))
      return known[i].directory;
  return NULL;
}
