// SPDX-License-Identifier: MIT
/* pvattest create|perform|verify|check (spec §4, §10.2). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "pvkit/arcb.h"
#include "pvkit/attcheck.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/exchange.h"
#include "pvkit/fileio.h"
#include "pvkit/http.h"
#include "pvkit/hostkey.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"
#include "pvkit/yamlout.h"

#define EXCH_FILE_MAX (EXCH_HDR_LEN + EXCH_MAX_ARCB + EXCH_MAX_MEAS + EXCH_MAX_ADD + 256 + 16)
#define FW_DEFAULT_URL "https://esupport.ibm.com/eccedge/ent/z"

static const char main_help[] =
	"Usage: pvattest [OPTIONS] COMMAND ...\n"
	"\n"
	"Create, perform and verify attestation requests for IBM Secure Execution guests.\n"
	"\n"
	"Commands:\n"
	"  create   Create an attestation request (trusted system)\n"
	"  perform  Send the request to the ultravisor (inside the secure guest)\n"
	"  verify   Verify an attestation response (trusted system)\n"
	"  check    Check policies on a verified attestation response\n"
	"  version  Print the version\n"
	"\n"
	"Options: -v/--verbose, -q/--quiet, --version, -h/--help. 'pvattest COMMAND --help' for more.\n";

static const char create_help[] =
	"Usage: pvattest create -k HKD... (--cert FILE... | --no-verify) -o OUTPUT -a ARPK\n"
	"                       [--add-data ITEM,...]\n"
	"\n"
	"Create an attestation request for the hosts of the host-key documents.\n"
	"\n"
	"Options:\n"
	PVK_CERT_HELP
	"  -o, --output, --output-file FILE  Write the attestation request to FILE\n"
	"                                (--output-file: the guide's spelling)\n"
	"  -a, --arpk FILE               Write the request protection key to FILE (mode 0600);\n"
	"                                keep it secret, verify needs it\n"
	"      --add-data ITEM,...       Request additional data: phkh-img, phkh-att,\n"
	"                                secret-store-hash, firmware-state\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char perform_help[] =
	"Usage: pvattest perform [-i] INPUT [-o] OUTPUT [-u USER-DATA]\n"
	"\n"
	"Perform the attestation request INPUT with the ultravisor and write the response.\n"
	"The UV device is /dev/uv, or what PVKIT_UV_DEVICE names (uvsim:SOCKET).\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE              The attestation request\n"
	"  -o, --output FILE             Write the attestation response to FILE\n"
	"  -u, --user-data FILE          Include up to 256 bytes of user data in the measurement\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char verify_help[] =
	"Usage: pvattest verify -i INPUT --hdr HDR -a ARPK [-o OUTPUT] [--format yaml|json]\n"
	"                       [-u USER-DATA]\n"
	"\n"
	"Verify an attestation response against the SE header of the image.\n"
	"Exit 0 verified, 2 not verified, 1 error.\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE              The attestation response\n"
	"      --hdr FILE                The SE image or its extracted header\n"
	"  -a, --arpk FILE               The request protection key of the request\n"
	"  -o, --output FILE             Write the verified data (CUID, additional data, user\n"
	"                                data) to FILE\n"
	"      --format FORMAT           yaml (default) or json\n"
	"  -u, --user-data FILE          Write the verified user data to FILE\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char check_help[] =
	"Usage: pvattest check [-i] INPUT [-o] OUTPUT [--format yaml] [-k HKD...]\n"
	"                      [--host-key-check att-key-hash,boot-key-hash] [-u USER-DATA]\n"
	"                      [--secret ASRCB... --secret-store-locked true|false]\n"
	"                      [--firmware [--firmware-check-version 1|2]\n"
	"                       [--firmware-verify-url URL]]\n"
	"\n"
	"Check policies on a verified attestation response. Exit 0 all met, 2 some not met,\n"
	"1 error.\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE              The verified attestation response\n"
	"  -o, --output FILE             Write the result (YAML) to FILE\n"
	"      --format yaml             The output format (yaml only)\n"
	"  -k, --host-key-document FILE  One of these must match each host-key hash present\n"
	"      --host-key-check LIST     Require the hashes: att-key-hash, boot-key-hash\n"
	"  -u, --user-data FILE          The user data must equal the content of FILE\n"
	"      --secret FILE             An add-secret request expected in the secret store\n"
	"      --secret-store-locked BOOL  Whether the secret store must be locked\n"
	"      --firmware                Check the firmware state with IBM's web service\n"
	"                                (needs the network)\n"
	"      --firmware-check-version, --fw-ver N   1 (default) or 2\n"
	"      --firmware-verify-url URL  The service's base URL\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

enum {
	OPT_ADD_DATA = 0x6000, OPT_HDR, OPT_FORMAT, OPT_HKC, OPT_SECRET, OPT_LOCKED, OPT_FW,
	OPT_FW_VER, OPT_FW_URL, OPT_VERSION,
};

static int write_output(const char *path, const void *buf, size_t len, int secret,
			struct pvk_err *e)
{
	if (!strcmp(path, "-"))
		return fwrite(buf, 1, len, stdout) == len && !fflush(stdout)
			       ? 0 : pvk_fail(e, PVK_E_IO, "cannot write to standard output");
	return pvk_file_write_all(path, buf, len, OUTFILE_OVERWRITE | (secret ? OUTFILE_SECRET : 0), e);
}

/* ---- create ---- */

static int parse_add_data(const char *arg, uint64_t *paf, struct pvk_err *e)
{
	char *dup = strdup(arg), *tok, *save = NULL;

	if (!dup)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "phkh-img"))
			*paf |= ARCB_PAF_PHKH_IMG;
		else if (!strcmp(tok, "phkh-att"))
			*paf |= ARCB_PAF_PHKH_ATT;
		else if (!strcmp(tok, "secret-store-hash"))
			*paf |= ARCB_PAF_SECRET_STORE_HASH;
		else if (!strcmp(tok, "firmware-state"))
			*paf |= ARCB_PAF_FIRMWARE_STATE;
		else {
			pvk_fail(e, PVK_E_USAGE,
				 "--add-data: unknown item '%s' (phkh-img, phkh-att, secret-store-hash, firmware-state)",
				 tok);
			free(dup);
			return -1;
		}
	}
	free(dup);
	return 0;
}

static int create_run(struct pvk_cert_opts *certs, const char *out, const char *arpk_path,
		      uint64_t paf, struct pvk_err *e)
{
	struct arcb_params p;
	struct outfile req_of = { 0 }, key_of = { 0 };
	struct exch x;
	EVP_PKEY **keys = NULL;
	uint8_t *arcb = NULL, *file = NULL;
	size_t nkeys = 0, arcb_len = 0, file_len = 0;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	if (certs->no_verify) {
		char w[128];

		cli_warn("%s", pvk_hostkey_noverify_warning("attestation request", w, sizeof(w)));
	}
	if (pvk_hostkeys_load_verified(certs, &keys, &nkeys, e))
		goto out;
	p.hosts = keys;
	p.n_hosts = nkeys;
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
	if (pvk_exch_write(&x, &file, &file_len, e))
		goto out;
	/* Both files or neither; a failure leaves an earlier pair as it was. */
	if (pvk_outfile_open(&key_of, arpk_path, OUTFILE_OVERWRITE | OUTFILE_SECRET, e) ||
	    pvk_outfile_open(&req_of, out, OUTFILE_OVERWRITE, e) ||
	    pvk_outfile_write(&key_of, p.arpk, 32, e) || pvk_outfile_write(&req_of, file, file_len, e) ||
	    pvk_outfiles_commit((struct outfile *[]){ &req_of, &key_of }, 2, e))
		goto out;
	cli_info("Attestation request written to '%s', its protection key to '%s'", out, arpk_path);
	rc = 0;
out:
	pvk_outfile_abort(&req_of);
	pvk_outfile_abort(&key_of);
	free(arcb);
	free(file);
	EVP_PKEY_free(p.cust);
	OPENSSL_cleanse(&p, sizeof(p));
	pvk_hostkeys_free(keys, nkeys);
	return rc;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		PVK_CERT_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "output-file", required_argument, NULL, 'o' },  /* the guide's spelling */
		{ "arpk", required_argument, NULL, 'a' },
		{ "add-data", required_argument, NULL, OPT_ADD_DATA },
		CLI_COMMON_LONGOPTS,
	};
	struct pvk_cert_opts certs = { .log = cli_hkd_log };
	const char *out = NULL, *arpk = NULL;
	uint64_t paf = 0;
	struct pvk_err e;
	int c, rc;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, PVK_CERT_SHORTOPTS "o:a:vqh", longopts, NULL)) != -1) {
		rc = pvk_cert_opts_add(&certs, c, optarg, &e);
		if (rc < 0)
			goto err;
		if (rc > 0 || cli_common_opt(c))
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'a': arpk = optarg; break;
		case OPT_ADD_DATA:
			if (parse_add_data(optarg, &paf, &e))
				goto err;
			break;
		case 'h': fputs(create_help, stdout); pvk_cert_opts_free(&certs); return PVK_EXIT_OK;
		default: pvk_cert_opts_free(&certs); return cli_usage_error("invalid option");
		}
	}
	if (optind != argc || !out || !arpk) {
		pvk_cert_opts_free(&certs);
		return cli_usage_error("-o/--output and -a/--arpk are required");
	}
	if (pvk_cert_opts_check(&certs, &e) || create_run(&certs, out, arpk, paf, &e))
		goto err;
	pvk_cert_opts_free(&certs);
	return PVK_EXIT_OK;
err:
	pvk_cert_opts_free(&certs);
	return cli_error(&e);
}

/* ---- perform ---- */

static int perform_run(const char *in, const char *out, const char *user_path, struct pvk_err *e)
{
	uint8_t *file = NULL, *user = NULL, *resp = NULL, meas[EXCH_MAX_MEAS], *add = NULL;
	size_t file_len, user_len = 0, resp_len;
	struct pvk_uvdev_attest a;
	struct uvdev *d = NULL;
	struct uvdev_rc rc;
	struct exch x, r;
	int ret = -1;

	if (pvk_file_read_arg(in, EXCH_FILE_MAX, &file, &file_len, e))
		return -1;
	if (pvk_exch_parse(file, file_len, &x, e)) {
		pvk_wrap(e, "%s", in);
		goto out;
	}
	/* The only measurement the UV makes is an HMAC-SHA512: any other size gives a response
	 * that can never verify. */
	if (x.it[EXCH_MEAS].size && x.it[EXCH_MEAS].size != ARCB_MEAS_LEN) {
		pvk_fail(e, PVK_E_FORMAT,
			 "%s: measurement size %u, but the attestation request's HMAC-SHA512 needs %u bytes",
			 in, x.it[EXCH_MEAS].size, ARCB_MEAS_LEN);
		goto out;
	}
	if (user_path && pvk_file_read_arg(user_path, EXCH_MAX_USER, &user, &user_len, e)) {
		if (e->code == PVK_E_FORMAT)
			pvk_fail(e, PVK_E_FORMAT, "%s: user data larger than 256 bytes", user_path);
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.arcb = x.it[EXCH_ARCB].data;
	a.arcb_len = x.it[EXCH_ARCB].size;
	a.user_data = user;
	a.user_data_len = (uint16_t)user_len;
	a.meas = meas;
	a.meas_len = x.it[EXCH_MEAS].size ? x.it[EXCH_MEAS].size : ARCB_MEAS_LEN;
	a.add_data_len = x.it[EXCH_ADD].size;
	if (a.add_data_len) {
		add = calloc(1, a.add_data_len);
		if (!add) {
			pvk_fail(e, PVK_E_NOMEM, "out of memory");
			goto out;
		}
		a.add_data = add;
	}
	if (pvk_uvdev_open(NULL, &d, e) || pvk_uvdev_attest(d, &a, &rc, e))
		goto out;
	if (rc.rc != UVC_RC_SUCCESS) {
		pvk_fail(e, PVK_E_UV, "%s: the ultravisor refused the attestation request (rc 0x%04x, rrc 0x%04x)",
			 in, rc.rc, rc.rrc);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.it[EXCH_ARCB] = x.it[EXCH_ARCB];
	r.it[EXCH_MEAS] = (struct exch_item){ a.meas_len, meas };
	if (a.add_data_len)
		r.it[EXCH_ADD] = (struct exch_item){ a.add_data_len, add };
	if (user_len)
		r.it[EXCH_USER] = (struct exch_item){ (uint32_t)user_len, user };
	r.it[EXCH_CUID] = (struct exch_item){ 16, a.cuid };
	if (pvk_exch_write(&r, &resp, &resp_len, e) || write_output(out, resp, resp_len, 0, e))
		goto out;
	cli_info("Attestation response written to '%s'", out);
	ret = 0;
out:
	pvk_uvdev_close(d);
	free(file);
	free(user);
	free(add);
	free(resp);
	return ret;
}

static int cmd_perform(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "user-data", required_argument, NULL, 'u' },
		CLI_COMMON_LONGOPTS,
	};
	const char *in = NULL, *out = NULL, *user = NULL;
	struct pvk_err e;
	int c;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "i:o:u:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'u': user = optarg; break;
		case 'h': fputs(perform_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	if (!in && optind < argc)
		in = argv[optind++];
	if (!out && optind < argc)
		out = argv[optind++];
	if (!in || !out || optind != argc)
		return cli_usage_error("an INPUT and an OUTPUT file are required");
	return perform_run(in, out, user, &e) ? cli_error(&e) : PVK_EXIT_OK;
}

/* ---- verify ---- */

static void yaml_add_fields(struct yout *y, uint64_t paf, const struct exch *x)
{
	struct attest_add_fields f;

	if (!x->it[EXCH_ADD].data)
		return;
	pvk_yout_kv_hex(y, "add", x->it[EXCH_ADD].data, x->it[EXCH_ADD].size);
	pvk_attest_split_add(paf, x->it[EXCH_ADD].data, x->it[EXCH_ADD].size, &f);
	pvk_yout_key(y, "add_fields");
	pvk_yout_map_start(y);
	if (f.image_phkh)
		pvk_yout_kv_hex(y, "image_phkh", f.image_phkh, ATTEST_PHKH_LEN);
	if (f.att_phkh)
		pvk_yout_kv_hex(y, "attestation_phkh", f.att_phkh, ATTEST_PHKH_LEN);
	if (f.secret_store_hash)
		pvk_yout_kv_hex(y, "secret_store_hash", f.secret_store_hash, ATTEST_SSH_LEN);
	if (f.firmware_state)
		pvk_yout_kv_hex(y, "firmware_state", f.firmware_state, ATTEST_FW_STATE_LEN);
	if (f.unrecognized)
		pvk_yout_kv_hex(y, "unrecognized", f.unrecognized, f.unrecognized_len);
	pvk_yout_map_end(y);
}

static json_object *jhexs(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);
	json_object *o;

	if (!s)
		return NULL;
	s[0] = '0';
	s[1] = 'x';
	pvk_hex_encode(p, n, s + 2);
	o = json_object_new_string(s);
	free(s);
	return o;
}

static char *verify_output(const struct exch *x, uint64_t paf, int json, size_t *len,
			   struct pvk_err *e)
{
	if (json) {
		json_object *o = json_object_new_object(), *fields = json_object_new_object();
		struct attest_add_fields f;
		char *s;

		json_object_object_add(o, "cuid", jhexs(x->it[EXCH_CUID].data, 16));
		if (x->it[EXCH_ADD].data) {
			json_object_object_add(o, "add", jhexs(x->it[EXCH_ADD].data, x->it[EXCH_ADD].size));
			pvk_attest_split_add(paf, x->it[EXCH_ADD].data, x->it[EXCH_ADD].size, &f);
			if (f.image_phkh)
				json_object_object_add(fields, "image_phkh", jhexs(f.image_phkh, 32));
			if (f.att_phkh)
				json_object_object_add(fields, "attestation_phkh", jhexs(f.att_phkh, 32));
			if (f.secret_store_hash)
				json_object_object_add(fields, "secret_store_hash",
						       jhexs(f.secret_store_hash, 64));
			if (f.firmware_state)
				json_object_object_add(fields, "firmware_state",
						       jhexs(f.firmware_state, 320));
			if (f.unrecognized)
				json_object_object_add(fields, "unrecognized",
						       jhexs(f.unrecognized, f.unrecognized_len));
			json_object_object_add(o, "add_fields", fields);
		} else {
			json_object_put(fields);
		}
		if (x->it[EXCH_USER].data)
			json_object_object_add(o, "user_data",
					       jhexs(x->it[EXCH_USER].data, x->it[EXCH_USER].size));
		s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		if (!s) {
			pvk_fail(e, PVK_E_NOMEM, "out of memory");
			return NULL;
		}
		*len = strlen(s);
		return s;
	} else {
		struct yout y;
		char *s;

		if (pvk_yout_begin(&y, e))
			return NULL;
		pvk_yout_map_start(&y);
		pvk_yout_kv_hex(&y, "cuid", x->it[EXCH_CUID].data, 16);
		yaml_add_fields(&y, paf, x);
		if (x->it[EXCH_USER].data)
			pvk_yout_kv_hex(&y, "user_data", x->it[EXCH_USER].data, x->it[EXCH_USER].size);
		pvk_yout_map_end(&y);
		if (pvk_yout_finish(&y, &s, len, e))
			return NULL;
		return s;
	}
}

/* 0 verified, 1 error, 2 measurement mismatch. */
/* "0x<hex>" on its own line, as IBM's HexSlice {:#} */
static void report_hex(const char *name, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s\n0x", name);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fputc('\n', stderr);
}

/* What IBM's pvattest verify prints on success (its AttestationResult, on stderr): the
 * config UID, the additional data whole and split into its fields, the user data. */
static void verify_report(const struct exch *x, uint64_t paf)
{
	fprintf(stderr, "Attestation measurement verified\n");
	report_hex("Config UID:", x->it[EXCH_CUID].data, 16);
	if (x->it[EXCH_ADD].data) {
		struct attest_add_fields f;

		report_hex("Additional-data:", x->it[EXCH_ADD].data, x->it[EXCH_ADD].size);
		pvk_attest_split_add(paf, x->it[EXCH_ADD].data, x->it[EXCH_ADD].size, &f);
		fprintf(stderr, "Additional-data content:\n");
		if (f.image_phkh)
			report_hex("Image PHKH", f.image_phkh, 32);
		if (f.att_phkh)
			report_hex("Attestation PHKH", f.att_phkh, 32);
		if (f.secret_store_hash)
			report_hex("Secret store hash", f.secret_store_hash, 64);
		if (f.firmware_state)
			report_hex("Firmware state", f.firmware_state, 320);
		if (f.unrecognized)
			report_hex("Unrecognized", f.unrecognized, f.unrecognized_len);
		fputc('\n', stderr);
	}
	if (x->it[EXCH_USER].data)
		report_hex("user-data:", x->it[EXCH_USER].data, x->it[EXCH_USER].size);
	fputc('\n', stderr);
}

static int verify_run(const char *in, const char *hdr_path, const char *arpk_path,
		      const char *out, int json, const char *user_out, struct pvk_err *e)
{
	uint8_t *file = NULL, *hdr = NULL, arpk[32], meas[ARCB_MEAS_LEN];
	size_t file_len, hdr_len, out_len;
	struct arcb_content c;
	struct attest_items it;
	struct sehdr h;
	struct exch x;
	uint64_t hdr_off;
	char *text = NULL;
	int ret = 1;

	memset(&c, 0, sizeof(c));
	if (pvk_file_read_arg(in, EXCH_FILE_MAX, &file, &file_len, e))
		return 1;
	if (pvk_exch_parse(file, file_len, &x, e) || pvk_exch_check_response(&x, e)) {
		pvk_wrap(e, "%s", in);
		goto out;
	}
	if (x.it[EXCH_MEAS].size != ARCB_MEAS_LEN) {
		pvk_fail(e, PVK_E_FORMAT, "%s: measurement of %u bytes, HMAC-SHA512 has 64", in,
			 x.it[EXCH_MEAS].size);
		goto out;
	}
	if (pvk_sehdr_read_file(hdr_path, &hdr, &hdr_len, &hdr_off, e))
		goto out;
	if (pvk_sehdr_parse(hdr, hdr_len, &h, e)) {
		pvk_wrap(e, "%s", hdr_path);
		goto out;
	}
	if (pvk_file_read_exact(arpk_path, arpk, 32, "the attestation request protection key", e))
		goto out;
	if (pvk_arcb_open(x.it[EXCH_ARCB].data, x.it[EXCH_ARCB].size, arpk, &c, e)) {
		/* Either file may be the wrong one: name both. */
		if (e->code == PVK_E_AUTH)
			pvk_fail(e, PVK_E_AUTH,
				 "%s: the attestation request does not decrypt with the protection key "
				 "in '%s' (not the request made with it, or a changed request)",
				 in, arpk_path);
		else
			pvk_wrap(e, "%s", in);
		goto out;
	}
	if (c.mai != ARCB_MAI_HMAC_SHA512) {
		pvk_fail(e, PVK_E_FORMAT, "%s: unsupported measurement algorithm %u", in, c.mai);
		goto out;
	}
	memset(&it, 0, sizeof(it));
	it.pld = h.pld;
	it.ald = h.ald;
	it.tld = h.tld;
	it.tag = h.tag;
	it.cuid = x.it[EXCH_CUID].data;
	it.user = x.it[EXCH_USER].data;
	it.user_len = it.user ? x.it[EXCH_USER].size : 0;
	it.nonce = c.has_nonce ? c.nonce : NULL;
	it.add = x.it[EXCH_ADD].data;
	it.add_len = it.add ? x.it[EXCH_ADD].size : 0;
	if (pvk_attest_measure(c.meas_key, &it, meas, e))
		goto out;
	if (!pvk_ct_equal(meas, x.it[EXCH_MEAS].data, ARCB_MEAS_LEN)) {
		fprintf(stderr, "%s: Attestation measurement verification failed. Calculated and "
				"received attestation measurement are not equal.\n", cli_prog);
		ret = 2;
		goto out;
	}
	if (cli_verbosity >= 0)
		verify_report(&x, c.paf);
	if (out) {
		text = verify_output(&x, c.paf, json, &out_len, e);
		if (!text || write_output(out, text, out_len, 0, e))
			goto out;
	}
	if (user_out && !it.user)
		cli_warn("'%s' not written: the response holds no user data", user_out);
	else if (user_out && write_output(user_out, it.user, it.user_len, 0, e))
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(arpk, sizeof(arpk));
	OPENSSL_cleanse(&c, sizeof(c));
	free(text);
	free(file);
	free(hdr);
	return ret;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "hdr", required_argument, NULL, OPT_HDR },
		{ "arpk", required_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "user-data", required_argument, NULL, 'u' },
		CLI_COMMON_LONGOPTS,
	};
	const char *in = NULL, *hdr = NULL, *arpk = NULL, *out = NULL, *user = NULL;
	struct pvk_err e;
	int c, json = 0, rc;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "i:a:o:u:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': in = optarg; break;
		case OPT_HDR: hdr = optarg; break;
		case 'a': arpk = optarg; break;
		case 'o': out = optarg; break;
		case 'u': user = optarg; break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				json = 1;
			else if (strcmp(optarg, "yaml"))
				return cli_usage_error("--format: yaml or json");
			break;
		case 'h': fputs(verify_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	if (!in && optind < argc)
		in = argv[optind++];
	if (!in || !hdr || !arpk || optind != argc)
		return cli_usage_error("-i/--input, --hdr and -a/--arpk are required");
	rc = verify_run(in, hdr, arpk, out, json, user, &e);
	if (rc == 1)
		return cli_error(&e);
	return rc == 2 ? PVK_EXIT_MISMATCH : PVK_EXIT_OK;
}

/* ---- check ---- */

/* IBM's pvattest check reports each failed check as it goes (its warning level) and each
 * passed one at -v (its info level). */
static void check_note(void *ctx, enum pvk_attcheck_note kind, const char *msg)
{
	(void)ctx;
	if (kind == PVK_ATTCHECK_FAILED && cli_verbosity >= 0)
		fprintf(stderr, "\u2718 %s\n", msg);
	else if (kind == PVK_ATTCHECK_PASSED && cli_verbosity >= 1)
		fprintf(stderr, "\u2713 %s\n", msg);
}

static int check_run(struct pvk_attcheck_args *a, const char *out, struct pvk_err *e)
{
	char *yaml = NULL;
	size_t len;
	int rc = pvk_attcheck(a, check_note, NULL, &yaml, &len, e);

	if (rc >= 0 && write_output(out, yaml, len, 0, e))
		rc = -1;
	free(yaml);
	if (rc >= 0 && cli_verbosity >= 0)
		fprintf(stderr, rc == 0 ? "\u2713 The Attestation response fulfills all policies\n"
			: "\u2718 The Attestation response does not fulfill all policies\n");
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "host-key-document", required_argument, NULL, 'k' },
		{ "host-key-check", required_argument, NULL, OPT_HKC },
		{ "user-data", required_argument, NULL, 'u' },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "secret-store-locked", required_argument, NULL, OPT_LOCKED },
		{ "firmware", no_argument, NULL, OPT_FW },
		{ "firmware-check-version", required_argument, NULL, OPT_FW_VER },
		{ "fw-ver", required_argument, NULL, OPT_FW_VER },
		{ "firmware-verify-url", required_argument, NULL, OPT_FW_URL },
		CLI_COMMON_LONGOPTS,
	};
	struct pvk_attcheck_args a = { .locked = -1, .fw_version = 1, .fw_url = FW_DEFAULT_URL };
	const char *out = NULL;
	struct pvk_err e;
	const char *fw_opts = NULL;
	int c, rc;

	pvk_err_clear(&e);
	a.certs.log = cli_hkd_log;
	while ((c = getopt_long(argc, argv, "i:o:k:u:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': a.in = optarg; break;
		case 'o': out = optarg; break;
		case 'u': a.user = optarg; break;
		case 'k':
			if (pvk_cert_opts_add(&a.certs, PVK_OPT_HKD, optarg, &e) < 0)
				goto err;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "yaml")) {
				pvk_cert_opts_free(&a.certs);
				return cli_usage_error("--format: only yaml");
			}
			break;
		case OPT_HKC: {
			char *dup = strdup(optarg), *tok, *save = NULL;

			for (tok = dup ? strtok_r(dup, ",", &save) : NULL; tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (!strcmp(tok, "att-key-hash"))
					a.need_att = 1;
				else if (!strcmp(tok, "boot-key-hash"))
					a.need_boot = 1;
				else {
					free(dup);
					pvk_cert_opts_free(&a.certs);
					return cli_usage_error("--host-key-check: att-key-hash, boot-key-hash");
				}
			}
			free(dup);
			break;
		}
		case OPT_SECRET:
			if (a.n_secrets >= 64) {
				pvk_cert_opts_free(&a.certs);
				return cli_usage_error("at most 64 --secret files");
			}
			a.secrets[a.n_secrets++] = optarg;
			break;
		case OPT_LOCKED:
			if (!strcmp(optarg, "true"))
				a.locked = 1;
			else if (!strcmp(optarg, "false"))
				a.locked = 0;
			else {
				pvk_cert_opts_free(&a.certs);
				return cli_usage_error("--secret-store-locked: true or false");
			}
			break;
		case OPT_FW: a.firmware = 1; break;
		case OPT_FW_VER:
			fw_opts = "--firmware-check-version";
			a.fw_version = atoi(optarg);
			if (a.fw_version != 1 && a.fw_version != 2) {
				pvk_cert_opts_free(&a.certs);
				return cli_usage_error("--firmware-check-version: 1 or 2");
			}
			break;
		case OPT_FW_URL: a.fw_url = optarg; fw_opts = "--firmware-verify-url"; break;
		case 'h': fputs(check_help, stdout); pvk_cert_opts_free(&a.certs); return PVK_EXIT_OK;
		default: pvk_cert_opts_free(&a.certs); return cli_usage_error("invalid option");
		}
	}
	if (!a.in && optind < argc)
		a.in = argv[optind++];
	if (!out && optind < argc)
		out = argv[optind++];
	if (!a.in || !out || optind != argc) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("an INPUT and an OUTPUT file are required");
	}
	if ((a.need_att || a.need_boot) && !a.certs.n_hkds) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("--host-key-check needs -k");
	}
	if (a.n_secrets && a.locked < 0) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("--secret needs --secret-store-locked");
	}
	if (fw_opts && !a.firmware) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("%s needs --firmware", fw_opts);
	}
	rc = check_run(&a, out, &e);
	pvk_cert_opts_free(&a.certs);
	if (rc < 0)
		return cli_error(&e);
	return rc == 2 ? PVK_EXIT_MISMATCH : PVK_EXIT_OK;
err:
	pvk_cert_opts_free(&a.certs);
	return cli_error(&e);
}

static const struct cli_command commands[] = {
	{ "create", NULL, cmd_create },
	{ "perform", NULL, cmd_perform },
	{ "verify", NULL, cmd_verify },
	{ "check", NULL, cmd_check },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	int ret;

	cli_init(argv[0], "pvattest");
	cli_usage_exit = PVK_EXIT_ERROR;  /* IBM's pvattest exits 1 on a usage error */
	if ((ret = cli_prescan(&argc, argv)) >= 0)
		return ret;
	ret = cli_global_options(&argc, &argv, main_help);
	if (ret >= 0)
		return ret;
	return cli_dispatch(argc, argv, commands);
}
