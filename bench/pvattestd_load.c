// SPDX-License-Identifier: MIT
/* The load client of pvattestd's benchmarks (not installed): an image of its own is
 * registered, challenges are fetched and performed in-process by uvsim's UV handler (so the
 * guest side costs the server nothing), then the responses are posted by C clients on
 * kept-open connections and the verifications per second measured. Each post is checked:
 * 200 and a token, or the run fails.
 *
 *   pvattestd_load --url URL --admin-token FILE [--count N] [--clients C] [--image NAME]
 *                  [--retries]
 *
 * Prints one JSON line: {"verified", "seconds", "per_second", "clients", "challenge_seconds"}.
 * --retries: a post whose connection fails is posted again (same Idempotency-Key) until
 * answered, and the run reports how many were retried (the failover test).
 * --repost: afterwards every tenth post is sent again with its Idempotency-Key, as a client
 * whose answer was lost does: each must get its answer again ("reposted_answered"). */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/pem.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/exchange.h"
#include "pvkit/fileio.h"
#include "pvkit/http.h"
#include "pvkit/release.h"
#include "pvkit/sehdr.h"
#include "pvkit/testpki.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "uvsim.h"

static const char *url, *token_file, *image = "bench";
static long count = 2000, clients = 4;
static int retries, repost;
static atomic_long repost_ok;
static char auth[256];
static char **bodies, **idems;
static atomic_long next_i, ok_n, retried_n, bad_n;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pvattestd_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* POST (or PUT-as-POST) body to path; the answer's status and JSON. */
static long post(struct pvk_http_client *c, const char *path, const char *body, const char *idem,
		 json_object **ans, int *transport_failed)
{
	char full[1024], why[256], ih[160];
	const char *hdrs[4] = { "Content-Type: application/json", auth, NULL, NULL };
	struct pvk_http_request rq = { .url = full, .body = body, .body_len = strlen(body),
				       .headers = hdrs, .user_agent = "pvattestd_load",
				       .timeout_s = 60, .max_size = 1 << 20 };
	struct pvk_http_response rs;

	if (idem) {
		snprintf(ih, sizeof(ih), "Idempotency-Key: %s", idem);
		hdrs[2] = ih;
	}
	snprintf(full, sizeof(full), "%s%s", url, path);
	*transport_failed = 0;
	if (pvk_http_client_request(c, &rq, &rs, why, sizeof(why))) {
		*transport_failed = 1;
		*ans = NULL;
		return -1;
	}
	*ans = json_tokener_parse((const char *)rs.data);
	free(rs.data);
	return rs.status;
}

static const char *member(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* One guest's response to a request, made by uvsim's UV, binding key in the user data. */
static char *perform(struct uvsim_guest *g, const uint8_t *req, size_t req_len,
		     const uint8_t key[32], const char *id)
{
	uint8_t bind[PVK_RELEASE_BIND_LEN], *in, *resp;
	size_t resp_len;
	struct uvsim_answer a;
	struct pvk_err e;
	struct exch x, rx;
	uint32_t in_len, add_len;
	json_object *o;
	char *b, *out;

	if (pvk_exch_parse(req, req_len, &x, &e))
		die("challenge %s: %s", id, e.msg);
	add_len = x.it[EXCH_ADD].size;
	pvk_release_binding(key, bind);
	in_len = UVPROTO_ATT_FIXED + x.it[EXCH_ARCB].size;
	if (!(in = calloc(1, in_len)))
		die("out of memory");
	put_be32(in, x.it[EXCH_ARCB].size);
	put_be32(in + 4, 64);
	put_be32(in + 8, add_len);
	put_be16(in + 12, sizeof(bind));
	memcpy(in + 16, bind, sizeof(bind));
	memcpy(in + UVPROTO_ATT_FIXED, x.it[EXCH_ARCB].data, x.it[EXCH_ARCB].size);
	uvsim_handle(g, UVIO_NR_ATT, 0, in, in_len, 64 + 4 + add_len + 16, &a);
	free(in);
	if (a.err || a.rc != 1)
		die("challenge %s: the UV refused (rc 0x%x)", id, a.rc);
	memset(&rx, 0, sizeof(rx));
	rx.it[EXCH_ARCB] = x.it[EXCH_ARCB];
	rx.it[EXCH_MEAS] = (struct exch_item){ 64, a.out };
	rx.it[EXCH_ADD] = (struct exch_item){ add_len, a.out + 68 };
	rx.it[EXCH_USER] = (struct exch_item){ sizeof(bind), bind };
	rx.it[EXCH_CUID] = (struct exch_item){ 16, a.out + 68 + add_len };
	if (pvk_exch_write(&rx, &resp, &resp_len, &e))
		die("%s", e.msg);
	free(a.out);
	o = json_object_new_object();
	json_object_object_add(o, "challenge", json_object_new_string(id));
	b = pvk_b64_encode(resp, resp_len);
	json_object_object_add(o, "response", json_object_new_string(b));
	free(b);
	b = pvk_b64_encode(key, 32);
	json_object_object_add(o, "agent_key", json_object_new_string(b));
	free(b);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	free(resp);
	return out;
}

static struct uvsim_guest *guest;
static pthread_mutex_t uv_lock = PTHREAD_MUTEX_INITIALIZER;

static void *challenger(void *arg)
{
	struct pvk_http_client *c = NULL;
	struct pvk_err e;
	char why[256], q[200];
	long i;

	(void)arg;
	snprintf(q, sizeof(q), "{\"image\": \"%s\"}", image);
	while ((i = atomic_fetch_add(&next_i, 1)) < count) {
		const char *id, *r;
		uint8_t *req, key[32], ik[16];
		size_t req_len;
		json_object *ans;
		int tf;

		for (int tries = 0;; tries++) {
			long st;

			if (!c && pvk_http_client_new(NULL, &c, why, sizeof(why)))
				die("%s", why);
			st = post(c, "/v1/challenges", q, NULL, &ans, &tf);
			if (st == 201)
				break;
			json_object_put(ans);
			if (!retries || tries > 200)
				die("challenge %ld: HTTP %ld", i, st);
			pvk_http_client_free(c);
			c = NULL;
			usleep(50000);
		}
		id = member(ans, "id");
		r = member(ans, "request");
		if (!id || !r || pvk_b64_decode(r, strlen(r), &req, &req_len))
			die("challenge %ld: malformed answer", i);
		if (pvk_random(key, 32, &e) || pvk_random(ik, 16, &e))
			die("%s", e.msg);
		pthread_mutex_lock(&uv_lock);
		bodies[i] = perform(guest, req, req_len, key, id);
		pthread_mutex_unlock(&uv_lock);
		idems[i] = malloc(33);
		pvk_hex_encode(ik, 16, idems[i]);
		free(req);
		json_object_put(ans);
	}
	pvk_http_client_free(c);
	return NULL;
}

static void *poster(void *arg)
{
	struct pvk_http_client *c = NULL;
	char why[256];
	long i;

	(void)arg;
	while ((i = atomic_fetch_add(&next_i, 1)) < count) {
		for (int tries = 0;; tries++) {
			json_object *ans;
			int tf;
			long st;

			if (!c && pvk_http_client_new(NULL, &c, why, sizeof(why)))
				die("%s", why);
			st = post(c, "/v1/attestations", bodies[i], idems[i], &ans, &tf);
			if (st == 200 && member(ans, "token")) {
				atomic_fetch_add(&ok_n, 1);
				if (tries)
					atomic_fetch_add(&retried_n, 1);
				json_object_put(ans);
				break;
			}
			json_object_put(ans);
			if (retries && (tf || st == 503 || st == 502) && tries < 200) {
				/* the node went away: a new connection, the same key */
				pvk_http_client_free(c);
				c = NULL;
				usleep(50000);
				continue;
			}
			atomic_fetch_add(&bad_n, 1);
			fprintf(stderr, "pvattestd_load: attestation %ld: HTTP %ld%s\n", i, st,
				tf ? " (no answer)" : "");
			break;
		}
	}
	pvk_http_client_free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 'u' }, { "admin-token", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'n' }, { "clients", required_argument, NULL, 'c' },
		{ "image", required_argument, NULL, 'i' }, { "retries", no_argument, NULL, 'r' },
		{ "repost", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct sehdr_params hp;
	struct uvsim_guest g;
	struct pvk_http_client *c;
	struct pvk_err e;
	struct sehdr h;
	EVP_PKEY *host, *cust;
	X509 *hkd;
	uint8_t *hdr, *tok;
	size_t hdr_len, tok_len;
	char why[256], *pem, *b;
	json_object *reg, *pol, *hosts, *sec, *ans;
	pthread_t *t;
	double t0, t1, tc;
	int o, tf;
	BIO *bio;
	long n;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'a': token_file = optarg; break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'c': clients = strtol(optarg, NULL, 10); break;
		case 'i': image = optarg; break;
		case 'r': retries = 1; break;
		case 'p': repost = 1; break;
		default: die("usage: pvattestd_load --url URL --admin-token FILE [--count N] [--clients C]");
		}
	}
	if (!url || !token_file || count < 1 || clients < 1 || clients > 256)
		die("usage: pvattestd_load --url URL --admin-token FILE [--count N] [--clients C]");
	if (pvk_file_read_all(token_file, 200, &tok, &tok_len, &e))
		die("%s", e.msg);
	while (tok_len && (tok[tok_len - 1] == '\n'))
		tok_len--;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %.*s", (int)tok_len, tok);
	free(tok);
	/* the host, its HKD (self-issued: the service runs with trust.no_verify), the image */
	if (pvk_ec_generate(&host, &e) || pvk_ec_generate(&cust, &e))
		die("%s", e.msg);
	{
		struct pvk_testpki_cert cp = { .role = TESTPKI_HOST, .key = host, .issuer_key = host,
					       .not_before_days = -1, .not_after_days = 30 };

		if (pvk_testpki_cert(&cp, &hkd, &e))
			die("%s", e.msg);
	}
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, hkd);
	n = BIO_get_mem_data(bio, &pem);
	pem = strndup(pem, (size_t)n);
	BIO_free(bio);
	memset(&hp, 0, sizeof(hp));
	hp.cust = cust;
	hp.hosts = &host;
	hp.n_hosts = 1;
	hp.nep = 1;
	memset(&g, 0, sizeof(g));
	if (pvk_random(hp.pld, 64, &e) || pvk_random(hp.ald, 64, &e) || pvk_random(hp.tld, 64, &e) ||
	    pvk_random(hp.iv, 12, &e) || pvk_random(hp.hdr_key, 32, &e) ||
	    pvk_random(g.cuid, 16, &e) || pvk_sehdr_build(&hp, &hdr, &hdr_len, &e) ||
	    pvk_sehdr_parse(hdr, hdr_len, &h, &e) || uvsim_guest_set_host_key(&g, host, &e))
		die("%s", e.msg);
	memcpy(g.pld, hp.pld, 64);
	memcpy(g.ald, hp.ald, 64);
	memcpy(g.tld, hp.tld, 64);
	memcpy(g.tag, h.tag, 16);
	uvsim_guest_lock_init(&g);
	/* register */
	reg = json_object_new_object();
	b = pvk_b64_encode(hdr, hdr_len);
	json_object_object_add(reg, "header", json_object_new_string(b));
	free(b);
	pol = json_object_new_object();
	hosts = json_object_new_array();
	json_object_array_add(hosts, json_object_new_string(pem));
	json_object_object_add(pol, "hosts", hosts);
	json_object_object_add(reg, "policy", pol);
	sec = json_object_new_array();
	{
		json_object *s = json_object_new_object();

		json_object_object_add(s, "name", json_object_new_string("disk"));
		json_object_object_add(s, "value", json_object_new_string("YmVuY2ggc2VjcmV0"));
		json_object_array_add(sec, s);
	}
	json_object_object_add(reg, "secrets", sec);
	if (pvk_http_client_new(NULL, &c, why, sizeof(why)))
		die("%s", why);
	{
		char path[200];

		snprintf(path, sizeof(path), "/v1/images/%s", image);
		if (post(c, path, json_object_to_json_string(reg), NULL, &ans, &tf) != 201)
			die("registering the image failed: %s", ans ? json_object_to_json_string(ans) : "no answer");
		json_object_put(ans);
	}
	json_object_put(reg);
	/* the challenges, fetched by the clients, performed in-process (one UV) */
	pvk_http_client_free(c);
	bodies = calloc((size_t)count, sizeof(*bodies));
	idems = calloc((size_t)count, sizeof(*idems));
	guest = &g;
	t = calloc((size_t)clients, sizeof(*t));
	tc = now();
	for (long k = 0; k < clients; k++)
		pthread_create(&t[k], NULL, challenger, NULL);
	for (long k = 0; k < clients; k++)
		pthread_join(t[k], NULL);
	tc = now() - tc;
	/* the timed part: verifications */
	atomic_store(&next_i, 0);
	t0 = now();
	for (long k = 0; k < clients; k++)
		pthread_create(&t[k], NULL, poster, NULL);
	for (long k = 0; k < clients; k++)
		pthread_join(t[k], NULL);
	t1 = now();
	if (repost) {
		struct pvk_http_client *rc = NULL;

		if (pvk_http_client_new(NULL, &rc, why, sizeof(why)))
			die("%s", why);
		for (long i = 0; i < count; i += 10) {
			long st = post(rc, "/v1/attestations", bodies[i], idems[i], &ans, &tf);

			if (st == 200 && member(ans, "token"))
				atomic_fetch_add(&repost_ok, 1);
			else
				fprintf(stderr, "pvattestd_load: repost %ld: HTTP %ld\n", i, st);
			json_object_put(ans);
		}
		pvk_http_client_free(rc);
	}
	printf("{\"verified\": %ld, \"failed\": %ld, \"retried\": %ld, \"seconds\": %.3f, "
	       "\"per_second\": %.1f, \"clients\": %ld, \"challenge_seconds\": %.3f, "
	       "\"reposted\": %ld, \"reposted_answered\": %ld}\n",
	       (long)atomic_load(&ok_n), (long)atomic_load(&bad_n), (long)atomic_load(&retried_n),
	       t1 - t0, (double)atomic_load(&ok_n) / (t1 - t0), clients, tc,
	       repost ? (count + 9) / 10 : 0, (long)atomic_load(&repost_ok));
	for (long i = 0; i < count; i++) {
		free(bodies[i]);
		free(idems[i]);
	}
	free(bodies);
	free(idems);
	free(t);
	free(hdr);
	free(pem);
	X509_free(hkd);
	EVP_PKEY_free(cust);
	uvsim_guest_clear(&g);
	EVP_PKEY_free(host);
	return atomic_load(&bad_n) ? 1 : 0;
}
