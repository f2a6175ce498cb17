// SPDX-License-Identifier: MIT
/* pvattestd's API (openapi.yaml): request bodies parsed strictly, requests answered. No HTTP
 * here: server.c hands in a method, a path and a body and sends back what this gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pvkit/arcb.h"
#include "pvkit/attest.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/exchange.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/release.h"
#include "pvkit/sehdr.h"

#include "pvattestd.h"

#define JSON_MAX_DEPTH 8
#define PEM_MAX 16384

/* ---- parsing ---- */

/* Wipe every string in o (json-c frees without wiping): for documents that held secrets. */
static void wipe_strings(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		OPENSSL_cleanse((char *)json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			wipe_strings(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			wipe_strings(v);
		}
		break;
	}
	default:
		break;
	}
}

static json_object *parse_json(const char *body, size_t len, char *why, size_t wl)
{
	json_tokener *t = json_tokener_new_ex(JSON_MAX_DEPTH);
	json_object *o;

	if (!t) {
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(t, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(t, body, (int)len);
	if (!o || json_tokener_get_error(t) != json_tokener_success ||
	    json_tokener_get_parse_end(t) != len) {
		enum json_tokener_error err = json_tokener_get_error(t);

		snprintf(why, wl, "the body is not one JSON document: %s",
			 err == json_tokener_continue ? "unexpected end" :
			 err == json_tokener_success ? "data after the document" :
			 json_tokener_error_desc(err));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, wl, "the body is not a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(t);
	return o;
}

/* Refuse members not in known (a typo is an error, not a silent default). */
static int only(json_object *o, const char *where, const char *const *known, char *why,
		size_t wl)
{
	json_object_object_foreach(o, k, v) {
		size_t i;

		(void)v;
		for (i = 0; known[i] && strcmp(known[i], k); i++)
			;
		if (!known[i]) {
			snprintf(why, wl, "%s: unknown member '%.64s'", where, k);
			return -1;
		}
	}
	return 0;
}

static const char *get_str(json_object *o, const char *k, int required, size_t max,
			   const char *where, char *why, size_t wl, int *bad)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v)) {
		if (required) {
			snprintf(why, wl, "%s: '%s' is missing", where, k);
			*bad = 1;
		}
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) > max ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		snprintf(why, wl, "%s: '%s' must be a string of at most %zu characters", where, k, max);
		*bad = 1;
		return NULL;
	}
	return json_object_get_string(v);
}

static int get_b64(json_object *o, const char *k, size_t max, uint8_t **out, size_t *len,
		   const char *where, char *why, size_t wl)
{
	int bad = 0;
	const char *s = get_str(o, k, 1, 4 * (max / 3 + 1), where, why, wl, &bad);

	if (!s)
		return -1;
	if (pvk_b64_decode(s, strlen(s), out, len) || *len > max) {
		free(*out);
		*out = NULL;
		snprintf(why, wl, "%s: '%s' is not base64 of at most %zu bytes", where, k, max);
		return -1;
	}
	return 0;
}

static int get_hex(json_object *o, const char *k, uint8_t *out, size_t n, const char *where,
		   char *why, size_t wl, int *present)
{
	int bad = 0;
	const char *s = get_str(o, k, 0, 2 * n + 2, where, why, wl, &bad);

	*present = 0;
	if (bad)
		return -1;
	if (!s)
		return 0;
	if (pvk_hex_decode(s, out, n)) {
		snprintf(why, wl, "%s: '%s' must be %zu hex digits", where, k, 2 * n);
		return -1;
	}
	*present = 1;
	return 0;
}

static const struct {
	const char *name;
	uint64_t flag;
} add_items[] = {
	{ "phkh-img", ARCB_PAF_PHKH_IMG },
	{ "phkh-att", ARCB_PAF_PHKH_ATT },
	{ "secret-store-hash", ARCB_PAF_SECRET_STORE_HASH },
	{ "firmware-state", ARCB_PAF_FIRMWARE_STATE },
};

/* The policy object (as registered and as stored). */
static int parse_policy(json_object *p, struct api_register *r, char *why, size_t wl)
{
	static const char *const known[] = { "hosts", "additional_data", "secret_store",
					     "user_data", "challenge_ttl", NULL };
	json_object *v;
	int bad = 0;
	const char *ud;

	if (!json_object_is_type(p, json_type_object)) {
		snprintf(why, wl, "policy: must be an object");
		return -1;
	}
	if (only(p, "policy", known, why, wl))
		return -1;
	if (!json_object_object_get_ex(p, "hosts", &v) || !json_object_is_type(v, json_type_array) ||
	    !json_object_array_length(v) || json_object_array_length(v) > PVATTESTD_MAX_LIST) {
		snprintf(why, wl, "policy: 'hosts' must list 1 to %d host-key documents (PEM)",
			 PVATTESTD_MAX_LIST);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *h = json_object_array_get_idx(v, i);

		if (!json_object_is_type(h, json_type_string) ||
		    json_object_get_string_len(h) > PEM_MAX ||
		    !strstr(json_object_get_string(h), "-----BEGIN CERTIFICATE-----")) {
			snprintf(why, wl, "policy: hosts[%zu] is not a PEM certificate", i);
			return -1;
		}
		r->hosts[r->n_hosts++] = json_object_get_string(h);
	}
	r->paf = ARCB_PAF_PHKH_ATT;  /* the host that attested is always checked */
	if (json_object_object_get_ex(p, "additional_data", &v)) {
		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 4) {
			snprintf(why, wl, "policy: 'additional_data' must be a list");
			return -1;
		}
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(v, i));
			size_t k;

			for (k = 0; k < 4 && (!s || strcmp(s, add_items[k].name)); k++)
				;
			if (k == 4) {
				snprintf(why, wl, "policy: additional_data[%zu]: expected phkh-img, "
					 "phkh-att, secret-store-hash or firmware-state", i);
				return -1;
			}
			r->paf |= add_items[k].flag;
		}
	}
	if (json_object_object_get_ex(p, "secret_store", &v)) {
		static const char *const sk[] = { "tags", "locked", NULL };
		json_object *t, *l;

		if (!json_object_is_type(v, json_type_object) || only(v, "policy.secret_store", sk, why, wl) ||
		    !json_object_object_get_ex(v, "tags", &t) || !json_object_is_type(t, json_type_array) ||
		    json_object_array_length(t) > PVATTESTD_MAX_LIST ||
		    !json_object_object_get_ex(v, "locked", &l) || !json_object_is_type(l, json_type_boolean)) {
			if (!why[0])
				snprintf(why, wl, "policy: 'secret_store' must be {\"tags\": [hex, ...], "
					 "\"locked\": true|false}");
			return -1;
		}
		for (size_t i = 0; i < json_object_array_length(t); i++) {
			json_object *x = json_object_array_get_idx(t, i);

			if (!json_object_is_type(x, json_type_string) ||
			    pvk_hex_decode(json_object_get_string(x), r->store_tags[i], 16)) {
				snprintf(why, wl, "policy: secret_store.tags[%zu] must be the 32 hex "
					 "digits of an add-secret request's tag", i);
				return -1;
			}
		}
		r->n_store_tags = json_object_array_length(t);
		r->store_locked = json_object_get_boolean(l);
		r->store_check = 1;
		r->paf |= ARCB_PAF_SECRET_STORE_HASH;
	}
	r->bind_user_data = 1;
	ud = get_str(p, "user_data", 0, 16, "policy", why, wl, &bad);
	if (bad)
		return -1;
	if (ud && strcmp(ud, "agent-key") && strcmp(ud, "none")) {
		snprintf(why, wl, "policy: 'user_data' must be \"agent-key\" or \"none\"");
		return -1;
	}
	r->bind_user_data = !ud || !strcmp(ud, "agent-key");
	if (json_object_object_get_ex(p, "challenge_ttl", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 86400) {
			snprintf(why, wl, "policy: 'challenge_ttl' must be 1 to 86400 seconds");
			return -1;
		}
		r->challenge_ttl = (long)json_object_get_int64(v);
	}
	return 0;
}

int api_parse_register(const char *body, size_t len, struct api_register *r, char *why,
		       size_t wl)
{
	static const char *const known[] = { "header", "policy", "secrets", NULL };
	json_object *p, *s;

	memset(r, 0, sizeof(*r));
	why[0] = 0;
	if (!(r->root = parse_json(body, len, why, wl)) || only(r->root, "body", known, why, wl))
		goto bad;
	if (get_b64(r->root, "header", SEHDR_MAX_LEN, &r->header, &r->header_len, "body", why, wl))
		goto bad;
	if (!json_object_object_get_ex(r->root, "policy", &p)) {
		snprintf(why, wl, "body: 'policy' is missing");
		goto bad;
	}
	if (parse_policy(p, r, why, wl))
		goto bad;
	if (json_object_object_get_ex(r->root, "secrets", &s)) {
		if (!json_object_is_type(s, json_type_array) ||
		    json_object_array_length(s) > PVATTESTD_MAX_LIST) {
			snprintf(why, wl, "secrets: must be a list of at most %d {\"name\", \"value\"}",
				 PVATTESTD_MAX_LIST);
			goto bad;
		}
		for (size_t i = 0; i < json_object_array_length(s); i++) {
			static const char *const sk[] = { "name", "value", NULL };
			json_object *x = json_object_array_get_idx(s, i);
			char where[32];
			int b = 0;
			const char *name;

			snprintf(where, sizeof(where), "secrets[%zu]", i);
			if (!json_object_is_type(x, json_type_object)) {
				snprintf(why, wl, "%s: must be an object", where);
				goto bad;
			}
			if (only(x, where, sk, why, wl) ||
			    !(name = get_str(x, "name", 1, PVK_RELEASE_NAME_MAX, where, why, wl, &b)))
				goto bad;
			if (!pvk_release_name_ok(name)) {
				snprintf(why, wl, "%s: name must be 1 to 64 of [A-Za-z0-9._-], not "
					 "starting with '.'", where);
				goto bad;
			}
			for (size_t k = 0; k < r->n_secrets; k++)
				if (!strcmp(r->secret_names[k], name)) {
					snprintf(why, wl, "%s: '%s' is given twice", where, name);
					goto bad;
				}
			r->secret_names[r->n_secrets] = name;
			if (get_b64(x, "value", PVK_RELEASE_VALUE_MAX, &r->secret_values[r->n_secrets],
				    &r->secret_lens[r->n_secrets], where, why, wl))
				goto bad;
			r->n_secrets++;
		}
	}
	return 0;
bad:
	api_register_free(r);
	return -1;
}

void api_register_free(struct api_register *r)
{
	json_object *s;

	free(r->header);
	for (size_t i = 0; i < r->n_secrets; i++)
		pvk_buf_free_secret(r->secret_values[i], r->secret_lens[i]);
	if (r->root && json_object_object_get_ex(r->root, "secrets", &s))
		wipe_strings(s);
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}

int api_parse_challenge(const char *body, size_t len, struct api_challenge *r, char *why,
			size_t wl)
{
	static const char *const known[] = { "image", "host", NULL };
	int bad = 0;

	memset(r, 0, sizeof(*r));
	why[0] = 0;
	if (!(r->root = parse_json(body, len, why, wl)) || only(r->root, "body", known, why, wl) ||
	    !(r->image = get_str(r->root, "image", 1, 128, "body", why, wl, &bad)) ||
	    get_hex(r->root, "host", r->host, 32, "body", why, wl, &r->has_host)) {
		api_challenge_free(r);
		return -1;
	}
	return 0;
}

void api_challenge_free(struct api_challenge *r)
{
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}

int api_parse_attestation(const char *body, size_t len, struct api_attestation *r, char *why,
			  size_t wl)
{
	static const char *const known[] = { "challenge", "response", "agent_key", NULL };
	uint8_t *key = NULL;
	size_t klen = 0;
	int bad = 0;

	memset(r, 0, sizeof(*r));
	why[0] = 0;
	if (!(r->root = parse_json(body, len, why, wl)) || only(r->root, "body", known, why, wl) ||
	    !(r->challenge = get_str(r->root, "challenge", 1, 64, "body", why, wl, &bad)) ||
	    get_b64(r->root, "response", PVK_ATTEST_FILE_MAX, &r->response, &r->response_len,
		    "body", why, wl))
		goto bad;
	if (json_object_object_get_ex(r->root, "agent_key", NULL)) {
		if (get_b64(r->root, "agent_key", 32, &key, &klen, "body", why, wl))
			goto bad;
		if (klen != 32) {
			free(key);
			snprintf(why, wl, "body: 'agent_key' must be a 32-byte X25519 public key");
			goto bad;
		}
		memcpy(r->agent_key, key, 32);
		free(key);
		r->has_key = 1;
	}
	return 0;
bad:
	api_attestation_free(r);
	return -1;
}

void api_attestation_free(struct api_attestation *r)
{
	free(r->response);
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}

/* ---- answering ---- */

static void answer_json(struct api_answer *a, int status, json_object *o)
{
	a->status = status;
	a->body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void answer_error(struct api_answer *a, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void answer_error(struct api_answer *a, int status, const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->reason, sizeof(a->reason), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(
		status == 400 ? "bad request" : status == 401 ? "unauthorized" :
		status == 403 ? "refused" : status == 404 ? "not found" :
		status == 405 ? "method not allowed" : status == 409 ? "conflict" :
		status == 410 ? "gone" : status == 503 ? "unavailable" : "error"));
	json_object_object_add(o, "reason", json_object_new_string(a->reason));
	answer_json(a, status, o);
}

/* A database or internal failure: the message is logged, the client told little. */
static void answer_internal(struct api_answer *a, const struct pvk_err *e)
{
	answer_error(a, 503, "the service cannot answer now (database or internal error)");
	snprintf(a->reason, sizeof(a->reason), "%s", e->msg);
}

static char *hex(const uint8_t *p, size_t n, char *buf)
{
	pvk_hex_encode(p, n, buf);
	return buf;
}

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* The policy's hosts: loaded, their keys checked and (unless the trust section says not to)
 * verified against the chain of trust and the CRLs as they are now, so a host revoked since
 * registration is refused. keys[i] is NULL for a host that failed (why[i] says why). */
struct hosts {
	size_t n;
	EVP_PKEY *keys[PVATTESTD_MAX_LIST];
	uint8_t phkh[PVATTESTD_MAX_LIST][32];
	char why[PVATTESTD_MAX_LIST][200];
};

static void hosts_free(struct hosts *h)
{
	for (size_t i = 0; i < h->n; i++)
		EVP_PKEY_free(h->keys[i]);
}

static int hosts_load(struct service *s, const struct api_register *p, struct hosts *h,
		      struct pvk_err *e)
{
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_cert_opts o;

	memset(h, 0, sizeof(*h));
	pvattestd_config_certs(s->cfg, &o);
	if (!o.no_verify && pvk_hkd_verifier_new(&o, &v, e))
		return -1;
	for (size_t i = 0; i < p->n_hosts; i++) {
		X509 *x = pem_cert(p->hosts[i]);
		char name[48];
		struct pvk_err he;

		h->n++;
		snprintf(name, sizeof(name), "policy host %zu", i);
		pvk_err_clear(&he);
		if (!x) {
			snprintf(h->why[i], sizeof(h->why[i]), "%s: not a PEM certificate", name);
			continue;
		}
		if (pvk_hkd_check_key(x, name, &he) || (v && pvk_hkd_verify(v, x, name, &he))) {
			snprintf(h->why[i], sizeof(h->why[i]), "%.190s", he.msg);
			/* the hash still names the host in the refusal */
			EVP_PKEY *k = X509_get_pubkey(x);

			if (k && pvk_ec_is_p521(k))
				pvk_ec_phkh(k, h->phkh[i], &he);
			EVP_PKEY_free(k);
			X509_free(x);
			continue;
		}
		h->keys[i] = X509_get_pubkey(x);
		X509_free(x);
		if (!h->keys[i] || pvk_ec_phkh(h->keys[i], h->phkh[i], &he)) {
			EVP_PKEY_free(h->keys[i]);
			h->keys[i] = NULL;
			snprintf(h->why[i], sizeof(h->why[i]), "%s: unusable key", name);
		}
	}
	pvk_hkd_verifier_free(v);
	return 0;
}

static void log_event(struct api_answer *a, const char *event)
{
	a->event = event;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void handle_register(struct service *s, struct db *d, const char *name,
			    const char *body, size_t len, struct api_answer *a)
{
	struct api_register r;
	struct store_image im;
	struct hosts h;
	struct sehdr hdr;
	struct pvk_err e;
	json_object *sec = NULL, *pol, *out;
	char why[300], aad[200], hx[65];
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;

	log_event(a, "image");
	pvk_err_clear(&e);
	if (!pvk_release_name_ok(name)) {
		answer_error(a, 400, "image name '%.64s': 1 to 64 of [A-Za-z0-9._-]", name);
		return;
	}
	if (api_parse_register(body, len, &r, why, sizeof(why))) {
		answer_error(a, 400, "%s", why);
		return;
	}
	if (pvk_sehdr_parse(r.header, r.header_len, &hdr, &e)) {
		answer_error(a, 400, "header: %s", e.msg);
		goto out;
	}
	if (hosts_load(s, &r, &h, &e)) {
		answer_internal(a, &e);
		goto out;
	}
	for (size_t i = 0; i < h.n; i++) {
		int slot = 0;

		if (!h.keys[i]) {
			answer_error(a, 400, "%s", h.why[i]);
			goto hosts;
		}
		for (uint64_t k = 0; k < hdr.nks; k++)
			slot |= !memcmp(hdr.keyslots + 80 * k, h.phkh[i], 32);
		if (!slot) {
			answer_error(a, 400, "policy host %zu (phkh %s) has no key slot in the image: "
				     "the image cannot run there", i, hex(h.phkh[i], 32, hx));
			goto hosts;
		}
	}
	/* The secrets, sealed under the KEK for this image's row. */
	sec = json_object_new_object();
	for (size_t i = 0; i < r.n_secrets; i++) {
		char *b = pvk_b64_encode(r.secret_values[i], r.secret_lens[i]);

		json_object_object_add(sec, r.secret_names[i], json_object_new_string(b ? b : ""));
		if (b)
			pvk_buf_free_secret(b, strlen(b));
	}
	snprintf(aad, sizeof(aad), "image:%s", name);
	{
		const char *txt = json_object_to_json_string_ext(sec, JSON_C_TO_STRING_PLAIN);

		if (kek_seal(&s->kek, aad, (const uint8_t *)txt, strlen(txt), &sealed, &sealed_len,
			     &e)) {
			answer_internal(a, &e);
			goto hosts;
		}
		OPENSSL_cleanse((char *)txt, strlen(txt));
		wipe_strings(sec);
	}
	json_object_object_get_ex(r.root, "policy", &pol);
	memset(&im, 0, sizeof(im));
	im.name = (char *)name;
	memcpy(im.tag, hdr.tag, 16);
	im.header = r.header;
	im.header_len = r.header_len;
	im.policy = (char *)json_object_to_json_string_ext(pol, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	im.secrets = sealed;
	im.secrets_len = sealed_len;
	im.created_at = now_s();
	if (store_put_image(d, &im, &e)) {
		answer_internal(a, &e);
		goto hosts;
	}
	out = json_object_new_object();
	json_object_object_add(out, "image", json_object_new_string(name));
	json_object_object_add(out, "tag", json_object_new_string(hex(hdr.tag, 16, hx)));
	json_object_object_add(out, "hosts", json_object_new_int((int)h.n));
	json_object_object_add(out, "secrets", json_object_new_int((int)r.n_secrets));
	answer_json(a, 201, out);
	snprintf(a->reason, sizeof(a->reason), "registered %s (tag %s)", name, hx);
hosts:
	hosts_free(&h);
out:
	free(sealed);
	json_object_put(sec);
	api_register_free(&r);
}

/* The stored policy of an image, parsed as at registration. */
static int load_policy(const struct store_image *im, struct api_register *p, char *why,
		       size_t wl)
{
	memset(p, 0, sizeof(*p));
	why[0] = 0;
	if (!(p->root = parse_json(im->policy, strlen(im->policy), why, wl)) ||
	    parse_policy(p->root, p, why, wl)) {
		api_register_free(p);
		return -1;
	}
	return 0;
}

static void handle_challenge(struct service *s, struct db *d, const char *body, size_t len,
			     struct api_answer *a)
{
	struct api_challenge c;
	struct api_register p;
	struct store_image im;
	struct store_challenge ch;
	struct hosts h;
	struct pvk_err e;
	EVP_PKEY *use[PVATTESTD_MAX_LIST];
	uint8_t id[16], arpk[32], *req = NULL, *sealed = NULL;
	size_t n = 0, req_len, sealed_len;
	char why[300], idhex[33], aad[64], hx[65];
	json_object *hl, *out;
	int rc;

	log_event(a, "challenge");
	pvk_err_clear(&e);
	if (api_parse_challenge(body, len, &c, why, sizeof(why))) {
		answer_error(a, 400, "%s", why);
		return;
	}
	rc = store_get_image(d, c.image, &im, &e);
	if (rc) {
		if (rc < 0)
			answer_internal(a, &e);
		else
			answer_error(a, 404, "image '%.128s' is not registered", c.image);
		api_challenge_free(&c);
		return;
	}
	if (load_policy(&im, &p, why, sizeof(why))) {
		answer_error(a, 503, "the stored policy of '%s' does not parse: %s", im.name, why);
		goto image;
	}
	if (hosts_load(s, &p, &h, &e)) {
		answer_internal(a, &e);
		goto policy;
	}
	hl = json_object_new_array();
	for (size_t i = 0; i < h.n; i++) {
		if (c.has_host && memcmp(c.host, h.phkh[i], 32))
			continue;
		if (!h.keys[i]) {
			if (c.has_host) {
				answer_error(a, 403, "host %s may not attest image '%s': %s",
					     hex(c.host, 32, hx), im.name, h.why[i]);
				json_object_put(hl);
				goto hosts;
			}
			continue;
		}
		use[n++] = h.keys[i];
		json_object_array_add(hl, json_object_new_string(hex(h.phkh[i], 32, hx)));
	}
	if (!n) {
		if (c.has_host)
			answer_error(a, 403, "host %s is not allowed by the policy of image '%s'",
				     hex(c.host, 32, hx), im.name);
		else
			answer_error(a, 403, "no host of the policy of image '%s' passes host-key "
				     "verification now (revoked or expired)", im.name);
		json_object_put(hl);
		goto hosts;
	}
	if (pvk_random(id, sizeof(id), &e) ||
	    pvk_attest_request_make(use, n, p.paf, &req, &req_len, arpk, &e)) {
		json_object_put(hl);
		answer_internal(a, &e);
		goto hosts;
	}
	hex(id, 16, idhex);
	snprintf(aad, sizeof(aad), "challenge:%s", idhex);
	if (kek_seal(&s->kek, aad, arpk, 32, &sealed, &sealed_len, &e)) {
		json_object_put(hl);
		answer_internal(a, &e);
		goto hosts;
	}
	memset(&ch, 0, sizeof(ch));
	ch.id = idhex;
	ch.image = im.name;
	ch.hosts = (char *)json_object_to_json_string_ext(hl, JSON_C_TO_STRING_PLAIN);
	ch.arpk = sealed;
	ch.arpk_len = sealed_len;
	ch.created_at = now_s();
	ch.expires_at = ch.created_at + (p.challenge_ttl ? p.challenge_ttl : s->cfg->challenge_ttl);
	if (store_put_challenge(d, &ch, &e)) {
		json_object_put(hl);
		answer_internal(a, &e);
		goto hosts;
	}
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(idhex));
	json_object_object_add(out, "image", json_object_new_string(im.name));
	{
		char *b = pvk_b64_encode(req, req_len);

		json_object_object_add(out, "request", json_object_new_string(b ? b : ""));
		free(b);
	}
	json_object_object_add(out, "hosts", hl);
	json_object_object_add(out, "expires_at", json_object_new_int64(ch.expires_at));
	answer_json(a, 201, out);
	snprintf(a->reason, sizeof(a->reason), "challenge %s for %s, %zu host(s)", idhex, im.name, n);
hosts:
	hosts_free(&h);
policy:
	api_register_free(&p);
image:
	OPENSSL_cleanse(arpk, sizeof(arpk));
	free(req);
	free(sealed);
	store_image_free(&im);
	api_challenge_free(&c);
}

/* The secrets of an image, opened from their seal. */
static int open_secrets(struct service *s, const struct store_image *im,
			struct pvk_release_secret *out, size_t *n, struct pvk_err *e)
{
	uint8_t *plain = NULL;
	size_t plen;
	char aad[200], why[200];
	json_object *o;
	int rc = -1;

	*n = 0;
	snprintf(aad, sizeof(aad), "image:%s", im->name);
	if (kek_open(&s->kek, aad, im->secrets, im->secrets_len, &plain, &plen, e))
		return -1;
	if (!(o = parse_json((const char *)plain, plen, why, sizeof(why)))) {
		pvk_fail(e, PVK_E_FORMAT, "%s: the sealed secrets are not JSON", aad);
		goto out;
	}
	json_object_object_foreach(o, k, v) {
		if (*n == PVK_RELEASE_MAX_SECRETS ||
		    pvk_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				   &out[*n].value, &out[*n].len) ||
		    !(out[*n].name = strdup(k))) {
			pvk_fail(e, PVK_E_FORMAT, "%s: the sealed secrets are malformed", aad);
			wipe_strings(o);
			json_object_put(o);
			goto out;
		}
		(*n)++;
	}
	wipe_strings(o);
	json_object_put(o);
	rc = 0;
out:
	pvk_buf_free_secret(plain, plen);
	return rc;
}

/* Everything one attestation needs, and what it found. */
struct att {
	struct service *s;
	struct db *d;
	struct api_attestation *r;
	struct store_challenge ch;
	struct store_image im;
	const char *idem;
	uint8_t idem_hash[32];
	char cuid[33], host[65];
};

/* Record the answer a (refusal or success) with the challenge consumed. A challenge found
 * consumed meanwhile (another node, the same response twice at once) is answered as
 * consumed. */
static int finish(struct att *t, struct api_answer *a, const char *outcome)
{
	struct store_record rec = {
		.challenge = t->ch.id, .image = t->ch.image, .cuid = t->cuid[0] ? t->cuid : NULL,
		.host = t->host[0] ? t->host : NULL, .outcome = outcome, .reason = a->reason,
		.node = t->s->cfg->node, .at = now_s(),
	};
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	char aad[64];
	struct pvk_err e;
	int rc;

	pvk_err_clear(&e);
	snprintf(aad, sizeof(aad), "result:%s", t->ch.id);
	if (kek_seal(&t->s->kek, aad, (const uint8_t *)a->body, strlen(a->body), &sealed,
		     &sealed_len, &e))
		goto fail;
	rc = store_finish_challenge(t->d, t->ch.id, t->idem ? t->idem_hash : NULL, 32, a->status,
				    sealed, sealed_len, &rec, &e);
	free(sealed);
	if (rc < 0)
		goto fail;
	return rc;
fail:
	free(a->body);
	a->body = NULL;
	answer_internal(a, &e);
	return -1;
}

static void refuse(struct att *t, struct api_answer *a, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void refuse(struct att *t, struct api_answer *a, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer_error(a, status, "%s", msg);
	if (finish(t, a, "refused") == 1) {
		free(a->body);
		a->body = NULL;
		answer_error(a, 409, "challenge %s was used meanwhile", t->ch.id);
	}
}

/* A challenge already used: the same client retrying (its Idempotency-Key) gets the answer
 * it was given; anyone else is refused, and the replay is on the record. */
static void answer_used(struct att *t, struct api_answer *a)
{
	uint8_t *plain = NULL;
	size_t plen;
	char aad[64];
	struct pvk_err e;

	pvk_err_clear(&e);
	if (t->idem && t->ch.idem && t->ch.idem_len == 32 &&
	    pvk_ct_equal(t->ch.idem, t->idem_hash, 32) && t->ch.result) {
		snprintf(aad, sizeof(aad), "result:%s", t->ch.id);
		if (kek_open(&t->s->kek, aad, t->ch.result, t->ch.result_len, &plain, &plen, &e)) {
			answer_internal(a, &e);
			return;
		}
		a->status = t->ch.result_status;
		a->body = strndup((const char *)plain, plen);
		pvk_buf_free_secret(plain, plen);
		log_event(a, "retry");
		snprintf(a->reason, sizeof(a->reason), "challenge %s: a retry answered as before",
			 t->ch.id);
		return;
	}
	answer_error(a, 409, "challenge %s was used already: a replayed response is refused",
		     t->ch.id);
	{
		struct store_record rec = {
			.challenge = t->ch.id, .image = t->ch.image, .outcome = "refused",
			.reason = a->reason, .node = t->s->cfg->node, .at = now_s(),
		};

		/* on the record of the guest whose response it replays */
		if (!store_challenge_cuid(t->d, t->ch.id, t->cuid, &e) && t->cuid[0])
			rec.cuid = t->cuid;
		if (store_record(t->d, &rec, &e)) {
			free(a->body);
			answer_internal(a, &e);
		}
	}
}

static int host_listed(const char *hosts_json, const char *hx)
{
	json_object *l = json_tokener_parse(hosts_json);
	int found = 0;

	for (size_t i = 0; l && i < json_object_array_length(l); i++)
		found |= !strcmp(json_object_get_string(json_object_array_get_idx(l, i)), hx);
	json_object_put(l);
	return found;
}

static void verified(struct att *t, struct api_answer *a, const struct pvk_attest_result *res, const struct sehdr *hdr)
{
	struct pvk_release_secret sec[PVK_RELEASE_MAX_SECRETS];
	size_t nsec = 0;
	json_object *claims = json_object_new_object(), *slots = json_object_new_array(), *out,
		    *env = NULL;
	char *jwt = NULL, hx[2 * 256 + 1], pol[65];
	uint8_t ph[32];
	struct pvk_err e;

	pvk_err_clear(&e);
	memset(sec, 0, sizeof(sec));
	for (uint64_t k = 0; k < hdr->nks; k++)
		json_object_array_add(slots, json_object_new_string(hex(hdr->keyslots + 80 * k, 32, hx)));
	pvk_sha256(t->im.policy, strlen(t->im.policy), ph);
	hex(ph, 32, pol);
	json_object_object_add(claims, "sub", json_object_new_string(t->cuid));
	json_object_object_add(claims, "jti", json_object_new_string(t->ch.id));
	json_object_object_add(claims, "image", json_object_new_string(t->im.name));
	json_object_object_add(claims, "image_tag", json_object_new_string(hex(t->im.tag, 16, hx)));
	json_object_object_add(claims, "key_slot_hashes", slots);
	json_object_object_add(claims, "host", json_object_new_string(t->host));
	json_object_object_add(claims, "policy", json_object_new_string(pol));
	if (res->x.it[EXCH_USER].size)
		json_object_object_add(claims, "user_data", json_object_new_string(
			hex(res->x.it[EXCH_USER].data, res->x.it[EXCH_USER].size, hx)));
	if (token_sign(t->s->signer, claims, t->s->cfg->issuer, t->s->cfg->token_ttl, &jwt, &e) ||
	    open_secrets(t->s, &t->im, sec, &nsec, &e))
		goto fail;
	if (nsec && !t->r->has_key) {
		refuse(t, a, 403, "the policy of image '%s' releases secrets, but the attestation "
		       "named no agent key to encrypt them to", t->im.name);
		goto out;
	}
	if (t->r->has_key && pvk_release_seal(t->r->agent_key, t->ch.id, sec, nsec, &env, &e))
		goto fail;
	out = json_object_new_object();
	json_object_object_add(out, "result", json_object_new_string("verified"));
	json_object_object_add(out, "attestation", json_object_new_string(t->ch.id));
	json_object_object_add(out, "image", json_object_new_string(t->im.name));
	json_object_object_add(out, "cuid", json_object_new_string(t->cuid));
	json_object_object_add(out, "host", json_object_new_string(t->host));
	json_object_object_add(out, "token", json_object_new_string(jwt));
	if (env)
		json_object_object_add(out, "secrets", env);
	answer_json(a, 200, out);
	snprintf(a->reason, sizeof(a->reason), "verified: image %s, guest %s, host %s, %zu "
		 "secret(s) released", t->im.name, t->cuid, t->host, nsec);
	if (finish(t, a, "verified") == 1) {
		/* consumed meanwhile by the same response elsewhere: answer as consumed */
		free(a->body);
		a->body = NULL;
		store_challenge_free(&t->ch);
		if (store_get_challenge(t->d, t->r->challenge, &t->ch, &e) == 0)
			answer_used(t, a);
		else
			answer_internal(a, &e);
	}
	goto out;
fail:
	answer_internal(a, &e);
out:
	for (size_t i = 0; i < nsec; i++) {
		free(sec[i].name);
		pvk_buf_free_secret(sec[i].value, sec[i].len);
	}
	json_object_put(claims);
	free(jwt);
}

static void handle_attestation(struct service *s, struct db *d, const char *body, size_t len,
			       const char *idem, struct api_answer *a)
{
	struct api_attestation r;
	struct att t;
	struct api_register p;
	struct pvk_attest_result res;
	struct attest_add_fields f;
	struct sehdr hdr;
	struct pvk_err e;
	uint8_t *arpk = NULL;
	size_t arpk_len = 0;
	char why[300], aad[64];
	int rc, have_policy = 0;

	log_event(a, "attestation");
	pvk_err_clear(&e);
	if (api_parse_attestation(body, len, &r, why, sizeof(why))) {
		answer_error(a, 400, "%s", why);
		return;
	}
	memset(&t, 0, sizeof(t));
	memset(&res, 0, sizeof(res));
	t.s = s;
	t.d = d;
	t.r = &r;
	t.idem = idem && *idem ? idem : NULL;
	if (t.idem)
		pvk_sha256(t.idem, strlen(t.idem), t.idem_hash);
	rc = store_get_challenge(d, r.challenge, &t.ch, &e);
	if (rc) {
		if (rc < 0)
			answer_internal(a, &e);
		else
			answer_error(a, 404, "challenge '%.64s' is unknown", r.challenge);
		goto out;
	}
	if (t.ch.used) {
		answer_used(&t, a);
		goto out;
	}
	if (now_s() >= t.ch.expires_at) {
		refuse(&t, a, 410, "challenge %s expired %lld s ago", t.ch.id,
		       (long long)(now_s() - t.ch.expires_at));
		goto out;
	}
	rc = store_get_image(d, t.ch.image, &t.im, &e);
	if (rc) {
		if (rc < 0)
			answer_internal(a, &e);
		else
			refuse(&t, a, 410, "image '%s' is no longer registered", t.ch.image);
		goto out;
	}
	if (load_policy(&t.im, &p, why, sizeof(why))) {
		answer_error(a, 503, "the stored policy of '%s' does not parse: %s", t.im.name, why);
		goto out;
	}
	have_policy = 1;
	snprintf(aad, sizeof(aad), "challenge:%s", t.ch.id);
	if (kek_open(&s->kek, aad, t.ch.arpk, t.ch.arpk_len, &arpk, &arpk_len, &e) ||
	    arpk_len != 32 || pvk_sehdr_parse(t.im.header, t.im.header_len, &hdr, &e)) {
		answer_internal(a, &e);
		goto out;
	}
	rc = pvk_attest_verify_buf("response", r.response, r.response_len, t.im.header,
				   t.im.header_len, arpk, &res, &e);
	if (rc < 0) {
		refuse(&t, a, e.code == PVK_E_AUTH ? 403 : 400, "the response does not verify: %s",
		       e.msg);
		goto out;
	}
	if (rc > 0) {
		refuse(&t, a, 403, "the measurement does not match image '%s' (a guest of another "
		       "image, or a changed response)", t.im.name);
		goto out;
	}
	pvk_hex_encode(res.x.it[EXCH_CUID].data, 16, t.cuid);
	pvk_attest_split_add(res.paf, res.x.it[EXCH_ADD].data, res.x.it[EXCH_ADD].size, &f);
	if (!f.att_phkh) {
		refuse(&t, a, 403, "the response names no attesting host");
		goto out;
	}
	pvk_hex_encode(f.att_phkh, 32, t.host);
	if (!host_listed(t.ch.hosts, t.host)) {
		refuse(&t, a, 403, "host %s is not one the challenge was made for", t.host);
		goto out;
	}
	if (p.bind_user_data &&
	    (!r.has_key || !pvk_release_is_bound(res.x.it[EXCH_USER].data,
						 res.x.it[EXCH_USER].size, r.agent_key))) {
		refuse(&t, a, 403, "the user data does not bind the agent's key (%s)",
		       r.has_key ? "another key, or other user data" : "no agent_key given");
		goto out;
	}
	if (p.store_check) {
		uint8_t want[64];

		pvk_attest_secret_store_hash((const uint8_t(*)[16])p.store_tags, p.n_store_tags,
					     p.store_locked, want);
		if (!f.secret_store_hash || !pvk_ct_equal(want, f.secret_store_hash, 64)) {
			refuse(&t, a, 403, "the guest's secret store is not what the policy expects "
			       "(%zu add-secret request(s), %slocked)", p.n_store_tags,
			       p.store_locked ? "" : "not ");
			goto out;
		}
	}
	verified(&t, a, &res, &hdr);
out:
	if (have_policy)
		api_register_free(&p);
	if (arpk)
		pvk_buf_free_secret(arpk, arpk_len);
	pvk_attest_result_free(&res);
	store_challenge_free(&t.ch);
	store_image_free(&t.im);
	api_attestation_free(&r);
}

static void handle_audit(struct db *d, const char *image, struct api_answer *a)
{
	struct db_rows r, why;
	struct pvk_err e;
	json_object *out, *list;

	log_event(a, "audit");
	pvk_err_clear(&e);
	if (store_audit(d, image, &r, &e)) {
		answer_internal(a, &e);
		return;
	}
	if (store_audit_reasons(d, image, &why, &e)) {
		db_rows_free(&r);
		answer_internal(a, &e);
		return;
	}
	out = json_object_new_object();
	list = json_object_new_array();
	for (int i = 0; i < r.nrows; i++) {
		json_object *g = json_object_new_object(), *rs = json_object_new_object();
		const char *img = (const char *)db_cell(&r, i, 0)->p;
		const char *cu = (const char *)db_cell(&r, i, 1)->p;

		json_object_object_add(g, "image", json_object_new_string(img));
		json_object_object_add(g, "cuid", json_object_new_string(cu ? cu : ""));
		json_object_object_add(g, "attestations", json_object_new_int64(db_int(&r, i, 2)));
		json_object_object_add(g, "verified", json_object_new_int64(db_int(&r, i, 3)));
		json_object_object_add(g, "refused", json_object_new_int64(db_int(&r, i, 4)));
		json_object_object_add(g, "last_at", json_object_new_int64(db_int(&r, i, 5)));
		json_object_object_add(g, "last_result", json_object_new_string(
			db_cell(&r, i, 6)->p ? (const char *)db_cell(&r, i, 6)->p : ""));
		json_object_object_add(g, "last_reason", json_object_new_string(
			db_cell(&r, i, 7)->p ? (const char *)db_cell(&r, i, 7)->p : ""));
		for (int k = 0; k < why.nrows; k++) {
			const char *wi = (const char *)db_cell(&why, k, 0)->p;
			const char *wc = (const char *)db_cell(&why, k, 1)->p;

			if (wi && wc && img && cu && !strcmp(wi, img) && !strcmp(wc, cu) &&
			    db_cell(&why, k, 2)->p)
				json_object_object_add(rs, (const char *)db_cell(&why, k, 2)->p,
						       json_object_new_int64(db_int(&why, k, 3)));
		}
		json_object_object_add(g, "refusals", rs);
		json_object_array_add(list, g);
	}
	json_object_object_add(out, "guests", list);
	json_object_object_add(out, "generated_at", json_object_new_int64(now_s()));
	db_rows_free(&r);
	db_rows_free(&why);
	answer_json(a, 200, out);
}

static void handle_images(struct db *d, struct api_answer *a)
{
	struct db_rows r;
	struct pvk_err e;
	json_object *list = json_object_new_array(), *out;
	char hx[33];

	log_event(a, "images");
	pvk_err_clear(&e);
	if (store_list_images(d, &r, &e)) {
		json_object_put(list);
		answer_internal(a, &e);
		return;
	}
	for (int i = 0; i < r.nrows; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "image", json_object_new_string((char *)db_cell(&r, i, 0)->p));
		json_object_object_add(o, "tag", json_object_new_string(
			db_cell(&r, i, 1)->n == 16 ? hex(db_cell(&r, i, 1)->p, 16, hx) : ""));
		json_object_object_add(o, "policy", json_tokener_parse((char *)db_cell(&r, i, 2)->p));
		json_object_object_add(o, "registered_at", json_object_new_int64(db_int(&r, i, 3)));
		json_object_array_add(list, o);
	}
	db_rows_free(&r);
	out = json_object_new_object();
	json_object_object_add(out, "images", list);
	answer_json(a, 200, out);
}

static void handle_health(struct service *s, struct db *d, struct api_answer *a)
{
	struct pvk_err e;
	json_object *o;
	int v;

	log_event(a, "health");
	if (!d || store_schema_version(d, &v, &e)) {
		answer_error(a, 503, "the database does not answer");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "node", json_object_new_string(s->cfg->node));
	json_object_object_add(o, "schema", json_object_new_int(v));
	answer_json(a, v == STORE_SCHEMA_VERSION ? 200 : 503, o);
}

void api_handle(struct service *s, struct db *d, const char *method, const char *path,
		const char *body, size_t len, const char *idem, int admin, const char *q_image,
		struct api_answer *a)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST"),
	    put = !strcmp(method, "PUT");

	memset(a, 0, sizeof(*a));
	if (!strcmp(path, "/healthz")) {
		if (get)
			handle_health(s, d, a);
		else
			answer_error(a, 405, "use GET");
		return;
	}
	if (!d) {
		answer_error(a, 503, "the database is not reachable");
		return;
	}
	if (!strcmp(path, "/v1/challenges")) {
		if (post)
			handle_challenge(s, d, body, len, a);
		else
			answer_error(a, 405, "use POST");
	} else if (!strcmp(path, "/v1/attestations")) {
		if (post)
			handle_attestation(s, d, body, len, idem, a);
		else
			answer_error(a, 405, "use POST");
	} else if (!strcmp(path, "/v1/token-key")) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "alg", json_object_new_string("ES256"));
		json_object_object_add(o, "issuer", json_object_new_string(s->cfg->issuer));
		json_object_object_add(o, "pem", json_object_new_string(token_signer_public_pem(s->signer)));
		if (get)
			answer_json(a, 200, o);
		else {
			json_object_put(o);
			answer_error(a, 405, "use GET");
		}
	} else if (!strcmp(path, "/v1/images") || !strncmp(path, "/v1/images/", 11) ||
		   !strcmp(path, "/v1/audit")) {
		if (!admin) {
			answer_error(a, 401, "the admin API needs the admin token (Authorization: "
				     "Bearer ...)");
			return;
		}
		if (!strcmp(path, "/v1/audit"))
			get ? handle_audit(d, q_image, a) : answer_error(a, 405, "use GET");
		else if (!strcmp(path, "/v1/images"))
			get ? handle_images(d, a) : answer_error(a, 405, "use GET");
		else if (put || post)
			handle_register(s, d, path + 11, body, len, a);
		else
			answer_error(a, 405, "use PUT (or POST) to register an image");
	} else {
		answer_error(a, 404, "no such resource: %.100s", path);
	}
}
