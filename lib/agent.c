// SPDX-License-Identifier: MIT
/* pvattest-agent's protocol (agent.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pvkit/agent.h"
#include "pvkit/attest.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/http.h"

#define AGENT_ANSWER_MAX (4 * 1024 * 1024)

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct call {
	struct pvk_http_client *c;
	const struct pvk_agent_opts *o;
	const struct pvk_log *log;
	long long deadline;
};

/* POST body to path until an answer other than 503 comes or the deadline passes. *ans is
 * the parsed JSON object; the return is the HTTP status, or -1. */
static int post(struct call *k, const char *path, const char *body, const char *idem,
		json_object **ans, struct pvk_err *e)
{
	char url[1024], why[512] = "", idh[128];
	const char *hdrs[3] = { "Content-Type: application/json", NULL, NULL };
	long wait = 250;

	*ans = NULL;
	snprintf(url, sizeof(url), "%s%s", k->o->url, path);
	if (idem) {
		snprintf(idh, sizeof(idh), "Idempotency-Key: %s", idem);
		hdrs[1] = idh;
	}
	for (;;) {
		struct pvk_http_request rq = {
			.url = url, .body = body, .body_len = strlen(body), .headers = hdrs,
			.user_agent = "pvattest-agent", .timeout_s = 30,
			.max_size = AGENT_ANSWER_MAX,
		};
		struct pvk_http_response rs;
		long left = (long)(k->deadline - now_ms());

		if (left < 30000)
			rq.timeout_s = left > 1000 ? left / 1000 : 1;
		if (!k->c && pvk_http_client_new(k->o->via, &k->c, why, sizeof(why)))
			return pvk_fail(e, PVK_E_IO, "%s", why);
		if (pvk_http_client_request(k->c, &rq, &rs, why, sizeof(why)) == 0) {
			if (rs.status != 503) {
				json_object *o = json_tokener_parse((const char *)rs.data);

				free(rs.data);
				if (!o || !json_object_is_type(o, json_type_object)) {
					json_object_put(o);
					return pvk_fail(e, PVK_E_FORMAT, "%s: the answer (HTTP %ld) is "
							"not a JSON object", url, rs.status);
				}
				*ans = o;
				return (int)rs.status;
			}
			snprintf(why, sizeof(why), "HTTP 503: %.300s", rs.data);
			free(rs.data);
		}
		if (now_ms() + wait >= k->deadline)
			return pvk_fail(e, PVK_E_IO, "%s: no answer: %s", url, why);
		pvk_log(k->log, PVK_LOG_INFO, "%s: %s; trying again", url, why);
		/* A channel that lost its host end is opened again. */
		pvk_http_client_free(k->c);
		k->c = NULL;
		struct timespec ts = { .tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000 };

		nanosleep(&ts, NULL);
		if (wait < 2000)
			wait *= 2;
	}
}

static const char *member(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

/* A 4xx: the service's reason as the refusal. */
static int refused(json_object *ans, int status, const char *what, struct pvk_agent_result *r,
		   struct pvk_err *e)
{
	const char *why = member(ans, "reason");

	r->refused_status = status;
	pvk_fail(e, PVK_E_MISMATCH, "%s refused (HTTP %d): %s", what, status,
		 why ? why : "no reason given");
	json_object_put(ans);
	return 1;
}

int pvk_agent_attest(const struct pvk_agent_opts *o, struct pvk_agent_result *r,
		     const struct pvk_log *log, struct pvk_err *e)
{
	struct call k = { .o = o, .log = log };
	EVP_PKEY *key = NULL;
	uint8_t pub[32], bind[PVK_RELEASE_BIND_LEN], *req = NULL, *resp = NULL, nonce[16];
	size_t req_len, resp_len;
	json_object *q = NULL, *ans = NULL, *env;
	char hx[65], idem[33], *b64 = NULL;
	const char *id, *s;
	int st, rc = -1;

	memset(r, 0, sizeof(*r));
	k.deadline = now_ms() + 1000LL * (o->timeout_s > 0 ? o->timeout_s : 60);
	if (pvk_release_keygen(&key, pub, e))
		return -1;
	pvk_release_binding(pub, bind);
	/* 1: the challenge */
	q = json_object_new_object();
	json_object_object_add(q, "image", json_object_new_string(o->image));
	if (o->host) {
		pvk_hex_encode(o->host, 32, hx);
		json_object_object_add(q, "host", json_object_new_string(hx));
	}
	st = post(&k, "/v1/challenges", json_object_to_json_string(q), NULL, &ans, e);
	json_object_put(q);
	q = NULL;
	if (st < 0)
		goto out;
	if (st != 201) {
		rc = refused(ans, st, "the challenge was", r, e);
		ans = NULL;
		goto out;
	}
	if (!(id = member(ans, "id")) || !(s = member(ans, "request")) ||
	    pvk_b64_decode(s, strlen(s), &req, &req_len)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: the challenge has no id or request", o->url);
		goto out;
	}
	if (!(r->attestation = strdup(id))) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	json_object_put(ans);
	ans = NULL;
	pvk_log(log, PVK_LOG_INFO, "challenge %s: %zu-byte attestation request", r->attestation,
		req_len);
	/* 2: the UV measures, binding our key in the user data */
	if (pvk_attest_perform_buf("the challenge's request", req, req_len, bind, sizeof(bind),
				   &resp, &resp_len, e))
		goto out;
	/* 3: the response, with one Idempotency-Key for all tries */
	if (pvk_random(nonce, sizeof(nonce), e))
		goto out;
	pvk_hex_encode(nonce, 16, idem);
	q = json_object_new_object();
	json_object_object_add(q, "challenge", json_object_new_string(r->attestation));
	b64 = pvk_b64_encode(resp, resp_len);
	json_object_object_add(q, "response", json_object_new_string(b64 ? b64 : ""));
	free(b64);
	b64 = pvk_b64_encode(pub, 32);
	json_object_object_add(q, "agent_key", json_object_new_string(b64 ? b64 : ""));
	st = post(&k, "/v1/attestations", json_object_to_json_string(q), idem, &ans, e);
	if (st < 0)
		goto out;
	if (st != 200) {
		rc = refused(ans, st, "the attestation was", r, e);
		ans = NULL;
		goto out;
	}
	if (!(s = member(ans, "token")) || !(r->token = strdup(s)) || !(s = member(ans, "cuid")) ||
	    !(r->cuid = strdup(s))) {
		pvk_fail(e, PVK_E_FORMAT, "%s: the answer has no token or CUID", o->url);
		goto out;
	}
	/* 4: the secrets, if any */
	if (json_object_object_get_ex(ans, "secrets", &env) &&
	    pvk_release_open(key, r->attestation, env, o->url, &r->secrets, &r->n_secrets, e))
		goto out;
	rc = 0;
out:
	if (rc) {
		st = r->refused_status;
		pvk_agent_result_free(r);
		r->refused_status = st;
	}
	pvk_http_client_free(k.c);
	json_object_put(q);
	json_object_put(ans);
	free(b64);
	free(req);
	free(resp);
	EVP_PKEY_free(key);
	return rc;
}

void pvk_agent_result_free(struct pvk_agent_result *r)
{
	free(r->attestation);
	free(r->cuid);
	free(r->token);
	pvk_release_secrets_free(r->secrets, r->n_secrets);
	memset(r, 0, sizeof(*r));
}
