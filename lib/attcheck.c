// SPDX-License-Identifier: MIT
/*
 * pvattest check: the policies a verified attestation response must meet (host-key hashes,
 * user data, the secret store, the firmware state), IBM's issue texts, and IBM's YAML result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "pvkit/arcb.h"
#include "pvkit/attcheck.h"
#include "pvkit/crypto.h"
#include "pvkit/exchange.h"
#include "pvkit/fileio.h"
#include "pvkit/http.h"
#include "pvkit/uvreq.h"
#include "pvkit/yamlout.h"

#define EXCH_FILE_MAX (EXCH_HDR_LEN + EXCH_MAX_ARCB + EXCH_MAX_MEAS + EXCH_MAX_ADD + 256 + 16)

struct check {
	struct yout y;
	int ok;
	/* what the result shows besides the issues */
	const char *img, *att;          /* the matching host-key documents */
	const struct exch_item *user;   /* the user data, when it matched */
	int store_ok, fw;               /* fw: -2 not checked */
	char issues[16][512];
	int n_issues;
	pvk_attcheck_log_fn log;
	void *log_ctx;
};

static void issue(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void issue(struct check *k, const char *fmt, ...)
{
	va_list ap;

	k->ok = 0;
	if (k->n_issues >= 16)
		return;
	va_start(ap, fmt);
	vsnprintf(k->issues[k->n_issues], sizeof(k->issues[0]), fmt, ap);
	va_end(ap);
	if (k->log)
		k->log(k->log_ctx, PVK_ATTCHECK_FAILED, k->issues[k->n_issues]);
	k->n_issues++;
}

/* A passed check, told to the log. */
static void passed(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void passed(struct check *k, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!k->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->log(k->log_ctx, PVK_ATTCHECK_PASSED, msg);
}

/* Which HKD (exactly one) has the hash; NULL and an issue otherwise. */
static const char *match_hkd(struct check *k, const char *what, const uint8_t *hash,
			     const struct pvk_cert_opts *certs, EVP_PKEY **keys, size_t n,
			     struct pvk_err *e)
{
	const char *found = NULL;
	int count = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t h[32];

		if (pvk_ec_phkh(keys[i], h, e))
			return NULL;
		if (!memcmp(h, hash, 32)) {
			found = certs->hkds[i];
			count++;
		}
	}
	if (count != 1) {
		issue(k, "%s given host-key document matches the given %s public host-key hash",
		      count ? "More than one" : "No", what);
		return NULL;
	}
	passed(k, "Check %s public host-key hash", what);
	return found;
}

/* IBM's sentence for the service's answer: valid or not, and v1's reason and reference id,
 * or v2's whole answer. */
static void firmware_said(json_object *ans, int valid, int version, char *said, size_t len)
{
	json_object *reason = NULL, *ref = NULL;
	int n = snprintf(said, len, "The firmware is %sin a valid state", valid ? "" : "not ");

	if (n < 0 || (size_t)n >= len)
		return;
	if (version == 2) {
		snprintf(said + n, len - (size_t)n, "\n%s", json_object_to_json_string_ext(ans,
			 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			 JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (json_object_object_get_ex(ans, "reason", &reason) &&
		   json_object_is_type(reason, json_type_string)) {
		json_object_object_get_ex(ans, "referenceId", &ref);
		snprintf(said + n, len - (size_t)n, "\n  Reason: %s\n  ReferenceId: %s",
			 json_object_get_string(reason), ref ? json_object_get_string(ref) : "");
	}
}

/* POST the firmware state to IBM's verification service; 1 valid, 0 invalid (said holds
 * IBM's sentence for either), -1 error. */
static int firmware_check(const uint8_t *state, const char *url_base, int version,
			  char *said, size_t said_len, struct pvk_err *e)
{
	static const char *const headers[] = { "Content-Type: application/json", "x-client-id: X",
					       NULL };
	char url[2048], b64[4 * ((ATTEST_FW_STATE_LEN + 2) / 3) + 1], why[512];
	struct pvk_http_request req = {
		.url = url, .headers = headers, .user_agent = "s390-tools-pvattest",
		.timeout_s = 120, .max_redirects = 50, .max_size = 65536,
	};
	struct pvk_http_response r;
	json_object *body, *ans, *valid;
	int ret = -1;

	snprintf(url, sizeof(url), "%s/hmrs/firmware/attestation/v%d/verify", url_base, version);
	EVP_EncodeBlock((unsigned char *)b64, state, ATTEST_FW_STATE_LEN);
	body = json_object_new_object();
	json_object_object_add(body, "version", json_object_new_string("1.0"));
	json_object_object_add(body, "payload", json_object_new_string(b64));
	req.body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	req.body_len = req.body ? strlen(req.body) : 0;
	if (!req.body) {
		json_object_put(body);
		return pvk_fail(e, PVK_E_NOMEM, "cannot set up the firmware check");
	}
	if (pvk_http_request(&req, &r, why, sizeof(why))) {
		pvk_fail(e, PVK_E_IO, "the firmware check needs IBM's verification service at %s, "
			 "which could not be reached: %s", url, why);
	} else if (r.status != 200 || !r.len) {
		pvk_fail(e, PVK_E_IO, "The firmware verification server responded with http response "
			 "status code '%ld' (%s)", r.status, url);
	} else {
		ans = json_tokener_parse((char *)r.data);
		if (!ans || !json_object_object_get_ex(ans, "valid", &valid) ||
		    !json_object_is_type(valid, json_type_boolean))
			pvk_fail(e, PVK_E_FORMAT, "the firmware verification service answered no 'valid'");
		else
			ret = json_object_get_boolean(valid) ? 1 : 0;
		if (ret >= 0)
			firmware_said(ans, ret, version, said, said_len);
		json_object_put(ans);
	}
	free(r.data);  /* NULL when nothing came */
	json_object_put(body);
	return ret;
}

/* Compare the store hash with the given requests and lock state. On a mismatch, IBM's
 * sentence, and (beyond IBM) what would have matched: the other lock state, or the given
 * requests without one of them (that one is not in the store). */
static int secret_store_check(const struct pvk_attcheck_args *a, uint8_t (*tags)[16],
			      const uint8_t *want, struct check *k)
{
	static const char ibm[] = "The calculated secret-store-hash does not match with the "
				  "provided hash";
	uint8_t h[64], (*without)[16];
	size_t n = (size_t)a->n_secrets;

	pvk_attest_secret_store_hash((const uint8_t(*)[16])tags, n, a->locked > 0, h);
	if (pvk_ct_equal(h, want, 64))
		return 1;
	pvk_attest_secret_store_hash((const uint8_t(*)[16])tags, n, a->locked <= 0, h);
	if (pvk_ct_equal(h, want, 64)) {
		issue(k, "%s: the secret store is %slocked", ibm, a->locked > 0 ? "not " : "");
		return 0;
	}
	/* each request left out in turn, the others in their order */
	for (size_t i = 0; i < n && (without = calloc(n, 16)); i++) {
		memcpy(without, tags, 16 * i);
		memcpy(without + i, tags + i + 1, 16 * (n - i - 1));
		pvk_attest_secret_store_hash((const uint8_t(*)[16])without, n - 1, a->locked > 0, h);
		free(without);
		if (pvk_ct_equal(h, want, 64)) {
			issue(k, "%s: '%s' is not in the secret store", ibm, a->secrets[i]);
			return 0;
		}
	}
	issue(k, "%s: the secret store holds other add-secret requests than the given ones, or "
	      "in another order", ibm);
	return 0;
}

/* A host-key check in the result: shown when enforced or matched, as IBM's. */
static void yaml_host_key(struct yout *y, const char *key, int enforced, const char *hkd)
{
	if (!hkd && !enforced)
		return;
	pvk_yout_key(y, key);
	pvk_yout_map_start(y);
	pvk_yout_kv_bool(y, "check_enforced", enforced);
	if (hkd)
		pvk_yout_kv_str(y, "hash", hkd);
	pvk_yout_map_end(y);
}

/* The result as IBM's pvattest check writes it. */
static int result_yaml(struct check *k, const struct pvk_attcheck_args *a, char **out,
		       size_t *len, struct pvk_err *e)
{
	if (pvk_yout_begin(&k->y, e))
		return -1;
	pvk_yout_map_start(&k->y);
	pvk_yout_kv_bool(&k->y, "successful", k->ok);
	if (k->n_issues) {
		pvk_yout_key(&k->y, "issues");
		pvk_yout_seq_start(&k->y);
		for (int i = 0; i < k->n_issues; i++)
			pvk_yout_str(&k->y, k->issues[i]);
		pvk_yout_seq_end(&k->y);
	}
	if (a->certs.n_hkds) {
		yaml_host_key(&k->y, "image_host_key", a->need_boot, k->img);
		yaml_host_key(&k->y, "attest_host_key", a->need_att, k->att);
	}
	if (k->user)
		pvk_yout_kv_hex(&k->y, "user_data", k->user->data, k->user->size);
	if (k->store_ok) {  /* as IBM: only a passed check shows the store */
		pvk_yout_key(&k->y, "secret_store");
		pvk_yout_map_start(&k->y);
		pvk_yout_key(&k->y, "add_secret_requests");
		pvk_yout_seq_start(&k->y);
		for (int i = 0; i < a->n_secrets; i++)
			pvk_yout_str(&k->y, a->secrets[i]);
		pvk_yout_seq_end(&k->y);
		pvk_yout_kv_bool(&k->y, "locked", a->locked > 0);
		pvk_yout_map_end(&k->y);
	}
	if (k->fw >= 0)
		pvk_yout_kv_bool(&k->y, "valid_firmware", k->fw);
	pvk_yout_map_end(&k->y);
	return pvk_yout_finish(&k->y, out, len, e);
}

static void json_host_key(json_object *o, const char *key, int enforced, const char *hkd)
{
	json_object *h;

	if (!hkd && !enforced)
		return;
	h = json_object_new_object();
	json_object_object_add(h, "check_enforced", json_object_new_boolean(enforced));
	if (hkd)
		json_object_object_add(h, "hash", json_object_new_string(hkd));
	json_object_object_add(o, key, h);
}

/* The same members as JSON (pvkit's addition). */
static int result_json(const struct check *k, const struct pvk_attcheck_args *a, char **out,
		       size_t *len, struct pvk_err *e)
{
	json_object *o = json_object_new_object(), *l;
	int rc;

	json_object_object_add(o, "successful", json_object_new_boolean(k->ok));
	if (k->n_issues) {
		l = json_object_new_array();
		for (int i = 0; i < k->n_issues; i++)
			json_object_array_add(l, json_object_new_string(k->issues[i]));
		json_object_object_add(o, "issues", l);
	}
	if (a->certs.n_hkds) {
		json_host_key(o, "image_host_key", a->need_boot, k->img);
		json_host_key(o, "attest_host_key", a->need_att, k->att);
	}
	if (k->user)
		json_object_object_add(o, "user_data", pvk_json_hex(k->user->data, k->user->size, 1));
	if (k->store_ok) {
		json_object *st = json_object_new_object();

		l = json_object_new_array();
		for (int i = 0; i < a->n_secrets; i++)
			json_object_array_add(l, json_object_new_string(a->secrets[i]));
		json_object_object_add(st, "add_secret_requests", l);
		json_object_object_add(st, "locked", json_object_new_boolean(a->locked > 0));
		json_object_object_add(o, "secret_store", st);
	}
	if (k->fw >= 0)
		json_object_object_add(o, "valid_firmware", json_object_new_boolean(k->fw));
	rc = pvk_json_text(o, 1, out, len, e);
	json_object_put(o);
	return rc;
}

/* The host-key documents against the image's and the attestation key's hashes. */
static int check_hosts(struct pvk_attcheck_args *a, const struct attest_add_fields *f,
		       struct check *k, struct pvk_err *e)
{
	EVP_PKEY **keys = NULL;
	size_t nkeys = 0;

	a->certs.no_verify = 1;  /* only hashes are compared */
	if (pvk_hostkeys_load_verified(&a->certs, &keys, &nkeys, e))
		return -1;
	if (f->image_phkh)
		k->img = match_hkd(k, "image", f->image_phkh, &a->certs, keys, nkeys, e);
	else if (a->need_boot)
		issue(k, "The Attestation result does not contain an image public host-key "
		      "hash, but checking was enabled.");
	if (f->att_phkh)
		k->att = match_hkd(k, "attestation", f->att_phkh, &a->certs, keys, nkeys, e);
	else if (a->need_att)
		issue(k, "The Attestation result does not contain an attestation public "
		      "host-key hash, but checking was enabled.");
	pvk_hostkeys_free(keys, nkeys);
	return 0;
}

static int check_user(const struct pvk_attcheck_args *a, const struct exch *x, struct check *k,
		      struct pvk_err *e)
{
	const struct exch_item *u = &x->it[EXCH_USER];
	uint8_t *ubuf;
	size_t ulen;

	if (pvk_file_read_arg(a->user, EXCH_MAX_USER, &ubuf, &ulen, e))
		return -1;
	if (!u->data || u->size != ulen || memcmp(u->data, ubuf, ulen)) {
		issue(k, "The Provided user data does not match the user data from the "
		      "attestation response.");
	} else {
		k->user = u;
		passed(k, "Checked user-data");
	}
	free(ubuf);
	return 0;
}

/* The tags of the given add-secret requests, in order (the last 16 bytes of each). */
static int read_tags(const struct pvk_attcheck_args *a, uint8_t (**tags)[16],
		     struct pvk_err *e)
{
	uint8_t *rbuf;
	size_t rlen;

	*tags = calloc((size_t)a->n_secrets + 1, 16);
	if (!*tags)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	for (int i = 0; i < a->n_secrets; i++) {
		if (pvk_file_read_arg(a->secrets[i], 0x100000, &rbuf, &rlen, e))
			return -1;
		if (rlen < 16 + 0x418 || memcmp(rbuf, "asrcbM", 6)) {
			free(rbuf);
			return pvk_fail(e, PVK_E_FORMAT, "%s: not an add-secret request",
					a->secrets[i]);
		}
		memcpy((*tags)[i], rbuf + rlen - 16, 16);
		free(rbuf);
	}
	return 0;
}

static int check_store(const struct pvk_attcheck_args *a, const struct attest_add_fields *f,
		       struct check *k, struct pvk_err *e)
{
	uint8_t (*tags)[16] = NULL;
	int rc = read_tags(a, &tags, e);

	if (rc) {
		free(tags);
		return -1;
	}
	if (!f->secret_store_hash) {
		issue(k, "The Attestation response contains no secret-store-hash, but checking "
		      "was enabled");
	} else if (secret_store_check(a, tags, f->secret_store_hash, k)) {
		k->store_ok = 1;
		passed(k, "Secret Store hash");
	}
	free(tags);
	return 0;
}

static int check_firmware(const struct pvk_attcheck_args *a, const struct attest_add_fields *f,
			  struct check *k, struct pvk_err *e)
{
	char said[2048];

	if (!f->firmware_state) {
		issue(k, "The Attestation response contains no firmware hash, but checking was "
		      "enabled");
		k->fw = 0;
		return 0;
	}
	k->fw = firmware_check(f->firmware_state, a->fw_url, a->fw_version, said, sizeof(said), e);
	if (k->fw < 0)
		return -1;
	if (!k->fw)
		issue(k, "%s", said);
	else
		passed(k, "%s", said);
	return 0;
}

/* The response's items and the additional data's fields by its request's flags. */
static int read_response(const char *in, uint8_t **file, struct exch *x,
			 struct attest_add_fields *f, struct pvk_err *e)
{
	size_t file_len;
	uint64_t paf;
	uint32_t mai;
	struct uvreq r;

	if (pvk_file_read_arg(in, EXCH_FILE_MAX, file, &file_len, e))
		return -1;
	if (pvk_exch_parse(*file, file_len, x, e) || pvk_exch_check_response(x, e) ||
	    pvk_arcb_parse(x->it[EXCH_ARCB].data, x->it[EXCH_ARCB].size, &r, &paf, &mai, e))
		return pvk_wrap(e, "%s", in);
	pvk_attest_split_add(paf, x->it[EXCH_ADD].data,
			     x->it[EXCH_ADD].data ? x->it[EXCH_ADD].size : 0, f);
	return 0;
}

static int attcheck_run(struct pvk_attcheck_args *a, pvk_attcheck_log_fn log, void *log_ctx,
			int json, char **text, size_t *text_len, struct pvk_err *e)
{
	struct check k = { .ok = 1, .log = log, .log_ctx = log_ctx, .fw = -2 };
	struct attest_add_fields f;
	uint8_t *file = NULL;
	struct exch x;
	int ret = -1;

	if (read_response(a->in, &file, &x, &f, e) ||
	    (a->certs.n_hkds && check_hosts(a, &f, &k, e)) ||
	    (a->user && check_user(a, &x, &k, e)) ||
	    ((a->n_secrets || a->locked >= 0) && check_store(a, &f, &k, e)) ||
	    (a->firmware && check_firmware(a, &f, &k, e)))
		goto out;
	if (json ? result_json(&k, a, text, text_len, e) : result_yaml(&k, a, text, text_len, e))
		goto out;
	ret = k.ok ? 0 : 2;
out:
	free(file);
	return ret;
}

int pvk_attcheck_hkc_parse(const char *arg, int *need_att, int *need_boot)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int rc = dup ? 0 : -1;

	for (tok = dup ? strtok_r(dup, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "att-key-hash"))
			*need_att = 1;
		else if (!strcmp(tok, "boot-key-hash"))
			*need_boot = 1;
		else
			rc = -1;
	}
	free(dup);
	return rc;
}

int pvk_attcheck(struct pvk_attcheck_args *a, pvk_attcheck_log_fn log, void *log_ctx,
		 char **yaml, size_t *yaml_len, struct pvk_err *e)
{
	return attcheck_run(a, log, log_ctx, 0, yaml, yaml_len, e);
}

int pvk_attcheck_json(struct pvk_attcheck_args *a, pvk_attcheck_log_fn log, void *log_ctx,
		      char **json, size_t *json_len, struct pvk_err *e)
{
	return attcheck_run(a, log, log_ctx, 1, json, json_len, e);
}
