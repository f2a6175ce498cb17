// SPDX-License-Identifier: MIT
/* This node's counters in Prometheus' text format. A node's own view (requests it answered);
 * the fleet's totals are in the database (the audit report). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvattestd.h"

static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5 };
#define NB (sizeof(buckets) / sizeof(buckets[0]))

enum { EV_CHALLENGE, EV_VERIFIED, EV_REFUSED, EV_REPLAYED, EV_REGISTERED, EV_N };
static const char *const ev_names[EV_N][2] = {
	{ "challenge", "created" }, { "attestation", "verified" }, { "attestation", "refused" },
	{ "attestation", "retry-answered" }, { "image", "registered" },
};

struct metrics {
	atomic_ullong status[6];       /* 1xx..5xx by class */
	atomic_ullong bucket[NB + 1];
	atomic_ullong count;
	atomic_ullong micros;
	atomic_ullong ev[EV_N];
};

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
	free(m);
}

void metrics_count_request(struct metrics *m, int status, double sec)
{
	size_t b = 0;

	if (status >= 100 && status < 600)
		atomic_fetch_add(&m->status[status / 100], 1);
	while (b < NB && sec > buckets[b])
		b++;
	atomic_fetch_add(&m->bucket[b], 1);
	atomic_fetch_add(&m->count, 1);
	atomic_fetch_add(&m->micros, (unsigned long long)(sec * 1e6));
}

void metrics_count_event(struct metrics *m, const char *event, const char *outcome)
{
	for (int i = 0; i < EV_N; i++)
		if (!strcmp(ev_names[i][0], event) && !strcmp(ev_names[i][1], outcome))
			atomic_fetch_add(&m->ev[i], 1);
}

char *metrics_render(struct metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned long long cum = 0;

	if (!f)
		return NULL;
	fprintf(f, "# HELP pvattestd_http_responses_total HTTP responses by status class.\n"
		   "# TYPE pvattestd_http_responses_total counter\n");
	for (int c = 1; c < 6; c++)
		fprintf(f, "pvattestd_http_responses_total{code=\"%dxx\"} %llu\n", c,
			(unsigned long long)atomic_load(&m->status[c]));
	fprintf(f, "# HELP pvattestd_request_duration_seconds Time to answer a request.\n"
		   "# TYPE pvattestd_request_duration_seconds histogram\n");
	for (size_t b = 0; b < NB; b++) {
		cum += atomic_load(&m->bucket[b]);
		fprintf(f, "pvattestd_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
			cum);
	}
	cum += atomic_load(&m->bucket[NB]);
	fprintf(f, "pvattestd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	fprintf(f, "pvattestd_request_duration_seconds_sum %.6f\n",
		(double)atomic_load(&m->micros) / 1e6);
	fprintf(f, "pvattestd_request_duration_seconds_count %llu\n",
		(unsigned long long)atomic_load(&m->count));
	fprintf(f, "# HELP pvattestd_events_total Challenges, attestations and registrations "
		   "this node handled.\n# TYPE pvattestd_events_total counter\n");
	for (int i = 0; i < EV_N; i++)
		fprintf(f, "pvattestd_events_total{event=\"%s\",outcome=\"%s\"} %llu\n",
			ev_names[i][0], ev_names[i][1], (unsigned long long)atomic_load(&m->ev[i]));
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
