/* The manager's own metrics, kept in memory: issuance counters by CA,
 * kind (new/renewal) and outcome, and the order latency histogram; and
 * the Prometheus text format (0.0.4) of them, label values escaped as the
 * format requires (backslash, double quote, line feed). */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

static const double bucket_le[MGR_NBUCKETS - 1] = {0.5, 1,  2,  5,
                                                   10,  30, 60, 300};
static const char *const bucket_txt[MGR_NBUCKETS] = {
    "0.5", "1", "2", "5", "10", "30", "60", "300", "+Inf"};

int mgr_prom_escape(struct byoca_buf *out, const char *v) {
  int rc = 0;
  for (const char *p = v != NULL ? v : ""; rc == 0 && *p != '\0'; p++) {
    if (*p == '\\')
      rc = byoca_buf_appends(out, "\\\\");
    else if (*p == '"')
      rc = byoca_buf_appends(out, "\\\"");
    else if (*p == '\n')
      rc = byoca_buf_appends(out, "\\n");
    else
      rc = byoca_buf_append(out, p, 1);
  }
  return rc;
}

void mgr_metrics_issuance(struct mgr_metrics *mt, const char *ca, int renewal,
                          int ok) {
  renewal = renewal != 0;
  ok = ok != 0;
  if (ca == NULL)
    return;
  for (size_t i = 0; i < mt->nissuance; i++) {
    struct mgr_counter *c = &mt->issuance[i];
    if (c->renewal == renewal && c->ok == ok && strcmp(c->ca, ca) == 0) {
      c->n++;
      return;
    }
  }
  struct mgr_counter *v =
      realloc(mt->issuance, (mt->nissuance + 1) * sizeof(*v));
  if (v == NULL)
    return;
  mt->issuance = v;
  if ((v[mt->nissuance].ca = strdup(ca)) == NULL)
    return;
  v[mt->nissuance].renewal = renewal;
  v[mt->nissuance].ok = ok;
  v[mt->nissuance].n = 1;
  mt->nissuance++;
}

void mgr_metrics_duration(struct mgr_metrics *mt, double seconds) {
  if (seconds < 0)
    seconds = 0;
  for (size_t i = 0; i < MGR_NBUCKETS; i++)
    if (i == MGR_NBUCKETS - 1 || seconds <= bucket_le[i])
      mt->buckets[i]++; /* cumulative: every bound it is under */
  mt->sum += seconds;
  mt->count++;
}

void mgr_metrics_free(struct mgr_metrics *mt) {
  for (size_t i = 0; i < mt->nissuance; i++)
    free(mt->issuance[i].ca);
  free(mt->issuance);
  memset(mt, 0, sizeof(*mt));
}

static int counters_text(const struct mgr_metrics *mt, struct byoca_buf *o) {
  int rc = byoca_buf_appends(
      o, "# HELP byoca_issuance_total Orders finished, by CA, kind and"
         " outcome.\n# TYPE byoca_issuance_total counter\n");
  for (size_t i = 0; rc == 0 && i < mt->nissuance; i++) {
    const struct mgr_counter *c = &mt->issuance[i];
    rc = byoca_buf_appends(o, "byoca_issuance_total{ca=\"");
    if (rc == 0)
      rc = mgr_prom_escape(o, c->ca);
    if (rc == 0)
      rc = byoca_buf_appendf(o, "\",kind=\"%s\",outcome=\"%s\"} %llu\n",
                             c->renewal ? "renewal" : "new",
                             c->ok ? "ok" : "error", (unsigned long long)c->n);
  }
  return rc;
}

int mgr_metrics_text(const struct mgr_metrics *mt, struct byoca_buf *o) {
  int rc = counters_text(mt, o);
  if (rc == 0)
    rc = byoca_buf_appends(
        o, "# HELP byoca_order_duration_seconds Time from contacting a CA to"
           " a stored certificate.\n"
           "# TYPE byoca_order_duration_seconds histogram\n");
  for (size_t i = 0; rc == 0 && i < MGR_NBUCKETS; i++)
    rc = byoca_buf_appendf(o,
                           "byoca_order_duration_seconds_bucket{le=\"%s\"}"
                           " %llu\n",
                           bucket_txt[i], (unsigned long long)mt->buckets[i]);
  if (rc == 0)
    rc = byoca_buf_appendf(o,
                           "byoca_order_duration_seconds_sum %.3f\n"
                           "byoca_order_duration_seconds_count %llu\n",
                           mt->sum, (unsigned long long)mt->count);
  return rc;
}
