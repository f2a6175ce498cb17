// SPDX-License-Identifier: MIT
/* pvattest's create, perform and verify over the formats of arcb.c and exchange.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "pvkit/arcb.h"
#include "pvkit/attest.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"
#include "pvkit/yamlout.h"

int pvk_attest_add_data_parse(const char *arg, uint64_t *paf, struct pvk_err *e)
{
	static const struct {
		const char *name;
		uint64_t flag;
	} items[] = {
		{ "phkh-img", ARCB_PAF_PHKH_IMG },
		{ "phkh-att", ARCB_PAF_PHKH_ATT },
		{ "secret-store-hash", ARCB_PAF_SECRET_STORE_HASH },
		{ "firmware-state", ARCB_PAF_FIRMWARE_STATE },
	};
	char *dup = strdup(arg), *tok, *save = NULL;
	size_t i;

	if (!dup)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(items) / sizeof(items[0]) && strcmp(tok, items[i].name); i++)
			;
		if (i == sizeof(items) / sizeof(items[0])) {
			pvk_fail(e, PVK_E_USAGE,
				 "--add-data: unknown item '%s' (phkh-img, phkh-att, secret-store-hash, firmware-state)",
				 tok);
			free(dup);
			return -1;
		}
		*paf |= items[i].flag;
	}
	free(dup);
	return 0;
}

/* The request and its key, both or neither; a failure leaves an earlier pair as it was. */
static int write_request(const uint8_t *file, size_t file_len, const uint8_t arpk[32],
			 const char *out, const char *arpk_path, struct pvk_err *e)
{
	struct outfile req_of = { 0 }, key_of = { 0 };
	int rc = 0;

	if (pvk_outfile_open(&key_of, arpk_path, OUTFILE_OVERWRITE | OUTFILE_SECRET, e) ||
	    pvk_outfile_open(&req_of, out, OUTFILE_OVERWRITE, e) ||
	    pvk_outfile_write(&key_of, arpk, 32, e) || pvk_outfile_write(&req_of, file, file_len, e) ||
	    pvk_outfiles_commit((struct outfile *[]){ &req_of, &key_of }, 2, e))
		rc = -1;
	pvk_outfile_abort(&req_of);
	pvk_outfile_abort(&key_of);
	return rc;
}

int pvk_attest_request_make(EVP_PKEY *const *hosts, size_t n_hosts, uint64_t paf,
			    uint8_t **file, size_t *file_len, uint8_t arpk[32], struct pvk_err *e)
{
	struct arcb_params p;
	struct exch x;
	uint8_t *arcb = NULL;
	size_t arcb_len = 0;
	int rc = -1;

	*file = NULL;
	*file_len = 0;
	memset(&p, 0, sizeof(p));
	p.hosts = (EVP_PKEY **)hosts;
	p.n_hosts = n_hosts;
	p.paf = ARCB_PAF_NONCE | paf;
	if (pvk_ec_generate(&p.cust, e) || pvk_random(p.iv, 12, e) || pvk_random(p.arpk, 32, e) ||
	    pvk_random(p.meas_key, 64, e) || pvk_random(p.nonce, 16, e))
		goto out;
	if (pvk_arcb_build(&p, &arcb, &arcb_len, e))
		goto out;
	memset(&x, 0, sizeof(x));
	x.it[EXCH_ARCB] = (struct exch_item){ (uint32_t)arcb_len, arcb };
	x.it[EXCH_MEAS] = (struct exch_item){ ARCB_MEAS_LEN, NULL };
	x.it[EXCH_ADD] = (struct exch_item){ (uint32_t)pvk_attest_add_size(p.paf), NULL };
	if (pvk_exch_write(&x, file, file_len, e))
		goto out;
	memcpy(arpk, p.arpk, 32);
	rc = 0;
out:
	free(arcb);
	EVP_PKEY_free(p.cust);
	OPENSSL_cleanse(&p, sizeof(p));
	return rc;
}

int pvk_attest_request_create(struct pvk_cert_opts *certs, uint64_t paf, const char *out,
			      const char *arpk_path, const struct pvk_log *log,
			      struct pvk_err *e)
{
	EVP_PKEY **keys = NULL;
	uint8_t *file = NULL, arpk[32];
	size_t nkeys = 0, file_len = 0;
	int rc = -1;

	if (certs->no_verify) {
		char w[128];

		pvk_log(log, PVK_LOG_WARN, "%s",
			pvk_hostkey_noverify_warning("attestation request", w, sizeof(w)));
	}
	if (pvk_hostkeys_load_verified(certs, &keys, &nkeys, e) ||
	    pvk_attest_request_make(keys, nkeys, paf, &file, &file_len, arpk, e) ||
	    write_request(file, file_len, arpk, out, arpk_path, e))
		goto out;
	rc = 0;
out:
	free(file);
	OPENSSL_cleanse(arpk, sizeof(arpk));
	pvk_hostkeys_free(keys, nkeys);
	return rc;
}

/* The request's items checked for what the UV can answer; name is used in messages. */
static int perform_check(const char *name, const uint8_t *file, size_t len, struct exch *x,
			 struct pvk_err *e)
{
	if (pvk_exch_parse(file, len, x, e))
		return pvk_wrap(e, "%s", name);
	/* The only measurement the UV makes is an HMAC-SHA512: any other size gives a response
	 * that can never verify. */
	if (x->it[EXCH_MEAS].size && x->it[EXCH_MEAS].size != ARCB_MEAS_LEN)
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: measurement size %u, but the attestation request's HMAC-SHA512 needs %u bytes",
				name, x->it[EXCH_MEAS].size, ARCB_MEAS_LEN);
	return 0;
}

/* The response: the request's ARCB with what the UV gave. */
static int make_response(const struct exch *x, const struct pvk_uvdev_attest *a,
			 uint8_t **resp, size_t *resp_len, struct pvk_err *e)
{
	struct exch r;

	memset(&r, 0, sizeof(r));
	r.it[EXCH_ARCB] = x->it[EXCH_ARCB];
	r.it[EXCH_MEAS] = (struct exch_item){ a->meas_len, a->meas };
	if (a->add_data_len)
		r.it[EXCH_ADD] = (struct exch_item){ a->add_data_len, a->add_data };
	if (a->user_data_len)
		r.it[EXCH_USER] = (struct exch_item){ a->user_data_len, (uint8_t *)a->user_data };
	r.it[EXCH_CUID] = (struct exch_item){ 16, (uint8_t *)a->cuid };
	return pvk_exch_write(&r, resp, resp_len, e);
}

int pvk_attest_perform_buf(const char *name, const uint8_t *req, size_t req_len,
			   const uint8_t *user, size_t user_len, uint8_t **resp,
			   size_t *resp_len, struct pvk_err *e)
{
	uint8_t meas[EXCH_MAX_MEAS], *add = NULL;
	struct pvk_uvdev_attest a;
	struct uvdev *d = NULL;
	struct uvdev_rc rc;
	struct exch x;
	int ret = -1;

	*resp = NULL;
	if (req_len > PVK_ATTEST_FILE_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "%s: larger than %zu bytes", name,
				(size_t)PVK_ATTEST_FILE_MAX);
	if (user_len > EXCH_MAX_USER)
		return pvk_fail(e, PVK_E_FORMAT, "%s: user data larger than 256 bytes", name);
	if (perform_check(name, req, req_len, &x, e))
		return -1;
	memset(&a, 0, sizeof(a));
	a.arcb = x.it[EXCH_ARCB].data;
	a.arcb_len = x.it[EXCH_ARCB].size;
	a.user_data = user;
	a.user_data_len = (uint16_t)user_len;
	a.meas = meas;
	a.meas_len = x.it[EXCH_MEAS].size ? x.it[EXCH_MEAS].size : ARCB_MEAS_LEN;
	a.add_data_len = x.it[EXCH_ADD].size;
	if (a.add_data_len && !(a.add_data = add = calloc(1, a.add_data_len))) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	if (pvk_uvdev_open(NULL, &d, e) || pvk_uvdev_attest(d, &a, &rc, e))
		goto out;
	if (rc.rc != UVC_RC_SUCCESS) {
		pvk_fail(e, PVK_E_UV, "%s: the ultravisor refused the attestation request (rc 0x%04x, rrc 0x%04x)",
			 name, rc.rc, rc.rrc);
		goto out;
	}
	ret = make_response(&x, &a, resp, resp_len, e);
out:
	pvk_uvdev_close(d);
	free(add);
	return ret;
}

int pvk_attest_perform(const char *in, const char *user_path, const char *out,
		       struct pvk_err *e)
{
	uint8_t *file = NULL, *user = NULL, *resp = NULL;
	size_t len, user_len = 0, resp_len;
	int ret = -1;

	if (pvk_file_read_arg(in, PVK_ATTEST_FILE_MAX, &file, &len, e))
		goto out;
	if (user_path && pvk_file_read_arg(user_path, EXCH_MAX_USER, &user, &user_len, e)) {
		if (e->code == PVK_E_FORMAT)
			pvk_fail(e, PVK_E_FORMAT, "%s: user data larger than 256 bytes", user_path);
		goto out;
	}
	if (pvk_attest_perform_buf(in, file, len, user, user_len, &resp, &resp_len, e))
		goto out;
	ret = pvk_file_write_arg(out, resp, resp_len, OUTFILE_OVERWRITE, e);
out:
	free(file);
	free(user);
	free(resp);
	return ret;
}

/* The request inside the response, opened with its protection key (named key_name). */
static int open_request(const char *in, const struct exch *x, const uint8_t arpk[32],
			const char *key_name, struct arcb_content *c, struct pvk_err *e)
{
	if (pvk_arcb_open(x->it[EXCH_ARCB].data, x->it[EXCH_ARCB].size, arpk, c, e)) {
		/* Either one may be the wrong one: name both. */
		if (e->code == PVK_E_AUTH)
			return pvk_fail(e, PVK_E_AUTH,
					"%s: the attestation request does not decrypt with the "
					"protection key %s (not the request made with it, or a "
					"changed request)", in, key_name);
		return pvk_wrap(e, "%s", in);
	}
	if (c->mai != ARCB_MAI_HMAC_SHA512)
		return pvk_fail(e, PVK_E_FORMAT, "%s: unsupported measurement algorithm %u", in,
				c->mai);
	return 0;
}

/* 0 when the UV's measurement is the one the header, the request and the response give. */
static int measure_matches(const struct sehdr *h, const struct exch *x,
			   const struct arcb_content *c, struct pvk_err *e)
{
	uint8_t meas[ARCB_MEAS_LEN];
	struct attest_items it;

	memset(&it, 0, sizeof(it));
	it.pld = h->pld;
	it.ald = h->ald;
	it.tld = h->tld;
	it.tag = h->tag;
	it.cuid = x->it[EXCH_CUID].data;
	it.user = x->it[EXCH_USER].data;
	it.user_len = it.user ? x->it[EXCH_USER].size : 0;
	it.nonce = c->has_nonce ? c->nonce : NULL;
	it.add = x->it[EXCH_ADD].data;
	it.add_len = it.add ? x->it[EXCH_ADD].size : 0;
	if (pvk_attest_measure(c->meas_key, &it, meas, e))
		return -1;
	return pvk_ct_equal(meas, x->it[EXCH_MEAS].data, ARCB_MEAS_LEN) ? 0 : 1;
}

/* The response in r->file checked for what a verification needs. */
static int parse_response(const char *in, struct pvk_attest_result *r, struct pvk_err *e)
{
	if (pvk_exch_parse(r->file, r->file_len, &r->x, e) || pvk_exch_check_response(&r->x, e))
		return pvk_wrap(e, "%s", in);
	if (r->x.it[EXCH_MEAS].size != ARCB_MEAS_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "%s: measurement of %u bytes, HMAC-SHA512 has 64",
				in, r->x.it[EXCH_MEAS].size);
	return 0;
}

/* The verification of r's response (parsed) against a parsed header and a protection key. */
static int verify_parsed(const char *in, const struct sehdr *h, const uint8_t arpk[32],
			 const char *key_name, struct pvk_attest_result *r, struct pvk_err *e)
{
	struct arcb_content c;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	if (!open_request(in, &r->x, arpk, key_name, &c, e)) {
		ret = measure_matches(h, &r->x, &c, e);
		r->paf = c.paf;
	}
	OPENSSL_cleanse(&c, sizeof(c));
	return ret;
}

int pvk_attest_verify(const char *in, const char *hdr_path, const char *arpk_path,
		      struct pvk_attest_result *r, struct pvk_err *e)
{
	uint8_t *hdr = NULL, arpk[32];
	size_t hdr_len;
	struct sehdr h;
	uint64_t hdr_off;
	char key_name[4200];
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (pvk_file_read_arg(in, PVK_ATTEST_FILE_MAX, &r->file, &r->file_len, e) ||
	    parse_response(in, r, e) || pvk_sehdr_read_file(hdr_path, &hdr, &hdr_len, &hdr_off, e))
		goto out;
	if (pvk_sehdr_parse(hdr, hdr_len, &h, e)) {
		pvk_wrap(e, "%s", hdr_path);
		goto out;
	}
	if (pvk_file_read_exact(arpk_path, arpk, 32, "the attestation request protection key", e))
		goto out;
	snprintf(key_name, sizeof(key_name), "in '%s'", arpk_path);
	ret = verify_parsed(in, &h, arpk, key_name, r, e);
	OPENSSL_cleanse(arpk, sizeof(arpk));
out:
	free(hdr);
	if (ret)
		pvk_attest_result_free(r);
	return ret;
}

int pvk_attest_verify_buf(const char *name, const uint8_t *resp, size_t resp_len,
			  const uint8_t *hdr, size_t hdr_len, const uint8_t arpk[32],
			  struct pvk_attest_result *r, struct pvk_err *e)
{
	struct sehdr h;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (resp_len > PVK_ATTEST_FILE_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "%s: a response of %zu bytes is larger than any",
				name, resp_len);
	r->file = malloc(resp_len ? resp_len : 1);
	if (!r->file)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(r->file, resp, resp_len);
	r->file_len = resp_len;
	if (parse_response(name, r, e))
		goto out;
	if (pvk_sehdr_parse(hdr, hdr_len, &h, e)) {
		pvk_wrap(e, "%s: SE header", name);
		goto out;
	}
	ret = verify_parsed(name, &h, arpk, "given", r, e);
out:
	if (ret)
		pvk_attest_result_free(r);
	return ret;
}

void pvk_attest_result_free(struct pvk_attest_result *r)
{
	free(r->file);
	memset(r, 0, sizeof(*r));
}

/* ---- output ---- */

/* The additional data's fields, by name, as IBM's pvattest names them in YAML. */
struct add_field {
	const char *key, *label;
	const uint8_t *p;
	size_t n;
};

static size_t add_fields(const struct pvk_attest_result *r, struct add_field f[5])
{
	const struct exch_item *add = &r->x.it[EXCH_ADD];
	struct attest_add_fields s;
	size_t n = 0;

	pvk_attest_split_add(r->paf, add->data, add->size, &s);
	if (s.image_phkh)
		f[n++] = (struct add_field){ "image_phkh", "Image PHKH", s.image_phkh, ATTEST_PHKH_LEN };
	if (s.att_phkh)
		f[n++] = (struct add_field){ "attestation_phkh", "Attestation PHKH", s.att_phkh,
					     ATTEST_PHKH_LEN };
	if (s.secret_store_hash)
		f[n++] = (struct add_field){ "secret_store_hash", "Secret store hash",
					     s.secret_store_hash, ATTEST_SSH_LEN };
	if (s.firmware_state)
		f[n++] = (struct add_field){ "firmware_state", "Firmware state", s.firmware_state,
					     ATTEST_FW_STATE_LEN };
	if (s.unrecognized)
		f[n++] = (struct add_field){ "unrecognized", "Unrecognized", s.unrecognized,
					     s.unrecognized_len };
	return n;
}

static int render_yaml(const struct pvk_attest_result *r, char **out, size_t *len,
		       struct pvk_err *e)
{
	const struct exch *x = &r->x;
	struct add_field f[5];
	struct yout y;

	if (pvk_yout_begin(&y, e))
		return -1;
	pvk_yout_map_start(&y);
	pvk_yout_kv_hex(&y, "cuid", x->it[EXCH_CUID].data, 16);
	if (x->it[EXCH_ADD].data) {
		size_t n = add_fields(r, f);

		pvk_yout_kv_hex(&y, "add", x->it[EXCH_ADD].data, x->it[EXCH_ADD].size);
		pvk_yout_key(&y, "add_fields");
		pvk_yout_map_start(&y);
		for (size_t i = 0; i < n; i++)
			pvk_yout_kv_hex(&y, f[i].key, f[i].p, f[i].n);
		pvk_yout_map_end(&y);
	}
	if (x->it[EXCH_USER].data)
		pvk_yout_kv_hex(&y, "user_data", x->it[EXCH_USER].data, x->it[EXCH_USER].size);
	pvk_yout_map_end(&y);
	return pvk_yout_finish(&y, out, len, e);
}

static int render_json(const struct pvk_attest_result *r, char **out, size_t *len,
		       struct pvk_err *e)
{
	const struct exch *x = &r->x;
	json_object *o = json_object_new_object();
	struct add_field f[5];

	json_object_object_add(o, "cuid", pvk_json_hex(x->it[EXCH_CUID].data, 16, 1));
	if (x->it[EXCH_ADD].data) {
		json_object *fields = json_object_new_object();
		size_t n = add_fields(r, f);

		json_object_object_add(o, "add", pvk_json_hex(x->it[EXCH_ADD].data, x->it[EXCH_ADD].size, 1));
		for (size_t i = 0; i < n; i++)
			json_object_object_add(fields, f[i].key, pvk_json_hex(f[i].p, f[i].n, 1));
		json_object_object_add(o, "add_fields", fields);
	}
	if (x->it[EXCH_USER].data)
		json_object_object_add(o, "user_data",
				       pvk_json_hex(x->it[EXCH_USER].data, x->it[EXCH_USER].size, 1));
	*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	if (!*out)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	*len = strlen(*out);
	return 0;
}

int pvk_attest_result_render(const struct pvk_attest_result *r, int json, char **out,
			     size_t *len, struct pvk_err *e)
{
	return json ? render_json(r, out, len, e) : render_yaml(r, out, len, e);
}

/* "0x<hex>" on its own line, as IBM's HexSlice {:#} */
static void report_hex(FILE *f, const char *name, const uint8_t *p, size_t n)
{
	fprintf(f, "%s\n0x", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

char *pvk_attest_result_report(const struct pvk_attest_result *r)
{
	const struct exch *x = &r->x;
	struct add_field fl[5];
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "Attestation measurement verified\n");
	report_hex(f, "Config UID:", x->it[EXCH_CUID].data, 16);
	if (x->it[EXCH_ADD].data) {
		size_t n = add_fields(r, fl);

		report_hex(f, "Additional-data:", x->it[EXCH_ADD].data, x->it[EXCH_ADD].size);
		fprintf(f, "Additional-data content:\n");
		for (size_t i = 0; i < n; i++)
			report_hex(f, fl[i].label, fl[i].p, fl[i].n);
		fputc('\n', f);
	}
	if (x->it[EXCH_USER].data)
		report_hex(f, "user-data:", x->it[EXCH_USER].data, x->it[EXCH_USER].size);
	fputc('\n', f);
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}
