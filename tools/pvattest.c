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
#include "pvkit/attest.h"
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
	"The UV device is /dev/uv, or what PVKIT_UV_DEVICE names (uvsim:SOCKET, vport:NAME).\n"
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
	"Usage: pvattest check [-i] INPUT [-o] OUTPUT [--format yaml|json] [-k HKD...]\n"
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
	"      --format FORMAT           yaml (default) or json (pvkit's addition)\n"
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

/* ---- create ---- */

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
			if (pvk_attest_add_data_parse(optarg, &paf, &e))
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
	if (pvk_cert_opts_check(&certs, &e) ||
	    pvk_attest_request_create(&certs, paf, out, arpk, &cli_log, &e))
		goto err;
	cli_info("Attestation request written to '%s', its protection key to '%s'", out, arpk);
	pvk_cert_opts_free(&certs);
	return PVK_EXIT_OK;
err:
	pvk_cert_opts_free(&certs);
	return cli_error(&e);
}

/* ---- perform ---- */

static int perform_run(const char *in, const char *out, const char *user, struct pvk_err *e)
{
	if (pvk_attest_perform(in, user, out, e))
		return -1;
	cli_info("Attestation response written to '%s'", out);
	return 0;
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

/* 0 verified, 1 error, 2 measurement mismatch. */
static int verify_run(const char *in, const char *hdr_path, const char *arpk_path,
		      const char *out, int json, const char *user_out, struct pvk_err *e)
{
	struct pvk_attest_result r;
	const struct exch_item *user;
	char *text = NULL;
	size_t len;
	int ret = pvk_attest_verify(in, hdr_path, arpk_path, &r, e);

	if (ret < 0)
		return 1;
	if (ret > 0) {
		fprintf(stderr, "%s: Attestation measurement verification failed. Calculated and "
				"received attestation measurement are not equal.\n", cli_prog);
		return 2;
	}
	ret = 1;
	if (cli_verbosity >= 0 && (text = pvk_attest_result_report(&r)))
		fputs(text, stderr);
	free(text);
	text = NULL;
	if (out && (pvk_attest_result_render(&r, json, &text, &len, e) ||
		    pvk_file_write_arg(out, text, len, OUTFILE_OVERWRITE, e)))
		goto out;
	user = &r.x.it[EXCH_USER];
	if (user_out && !user->data)
		cli_warn("'%s' not written: the response holds no user data", user_out);
	else if (user_out && pvk_file_write_arg(user_out, user->data, user->size, OUTFILE_OVERWRITE, e))
		goto out;
	ret = 0;
out:
	free(text);
	pvk_attest_result_free(&r);
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

static int check_run(struct pvk_attcheck_args *a, const char *out, int json, struct pvk_err *e)
{
	char *yaml = NULL;
	size_t len;
	int rc = (json ? pvk_attcheck_json : pvk_attcheck)(a, check_note, NULL, &yaml, &len, e);

	if (rc >= 0 && pvk_file_write_arg(out, yaml, len, OUTFILE_OVERWRITE, e))
		rc = -1;
	free(yaml);
	if (rc >= 0 && cli_verbosity >= 0)
		fprintf(stderr, rc == 0 ? "\u2713 The Attestation response fulfills all policies\n"
			: "\u2718 The Attestation response does not fulfill all policies\n");
	return rc;
}

/* One option of check; -1 to go on, else the exit code. */
static int check_option(struct pvk_attcheck_args *a, int c, const char **fw_opts,
			const char **out, int *json, struct pvk_err *e)
{
	switch (c) {
	case 'i': a->in = optarg; break;
	case 'o': *out = optarg; break;
	case 'u': a->user = optarg; break;
	case 'k':
		if (pvk_cert_opts_add(&a->certs, PVK_OPT_HKD, optarg, e) < 0)
			return cli_error(e);
		break;
	case OPT_FORMAT:
		if (strcmp(optarg, "yaml") && strcmp(optarg, "json"))
			return cli_usage_error("--format: yaml or json");
		*json = !strcmp(optarg, "json");
		break;
	case OPT_HKC:
		if (pvk_attcheck_hkc_parse(optarg, &a->need_att, &a->need_boot))
			return cli_usage_error("--host-key-check: att-key-hash, boot-key-hash");
		break;
	case OPT_SECRET:
		if (a->n_secrets >= PVK_ATTCHECK_MAX_SECRETS)
			return cli_usage_error("at most 64 --secret files");
		a->secrets[a->n_secrets++] = optarg;
		break;
	case OPT_LOCKED:
		if (strcmp(optarg, "true") && strcmp(optarg, "false"))
			return cli_usage_error("--secret-store-locked: true or false");
		a->locked = !strcmp(optarg, "true");
		break;
	case OPT_FW: a->firmware = 1; break;
	case OPT_FW_VER:
		*fw_opts = "--firmware-check-version";
		a->fw_version = atoi(optarg);
		if (a->fw_version != 1 && a->fw_version != 2)
			return cli_usage_error("--firmware-check-version: 1 or 2");
		break;
	case OPT_FW_URL: a->fw_url = optarg; *fw_opts = "--firmware-verify-url"; break;
	case 'h': fputs(check_help, stdout); return PVK_EXIT_OK;
	default: return cli_usage_error("invalid option");
	}
	return -1;
}

/* The operands [INPUT] [OUTPUT] and what the options need of each other. */
static int check_operands(struct pvk_attcheck_args *a, const char *fw_opts, const char **out,
			  int argc, char **argv)
{
	if (!a->in && optind < argc)
		a->in = argv[optind++];
	if (!*out && optind < argc)
		*out = argv[optind++];
	if (!a->in || !*out || optind != argc)
		return cli_usage_error("an INPUT and an OUTPUT file are required");
	if ((a->need_att || a->need_boot) && !a->certs.n_hkds)
		return cli_usage_error("--host-key-check needs -k");
	if (a->n_secrets && a->locked < 0)
		return cli_usage_error("--secret needs --secret-store-locked");
	if (fw_opts && !a->firmware)
		return cli_usage_error("%s needs --firmware", fw_opts);
	return -1;
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
	struct pvk_attcheck_args a = { .locked = -1, .fw_version = 1, .fw_url = FW_DEFAULT_URL,
				       .certs = { .log = cli_hkd_log } };
	const char *out = NULL, *fw_opts = NULL;
	struct pvk_err e;
	int c, ret = -1, json = 0;

	pvk_err_clear(&e);
	while (ret < 0 && (c = getopt_long(argc, argv, "i:o:k:u:vqh", longopts, NULL)) != -1)
		if (!cli_common_opt(c))
			ret = check_option(&a, c, &fw_opts, &out, &json, &e);
	if (ret < 0)
		ret = check_operands(&a, fw_opts, &out, argc, argv);
	if (ret < 0) {
		ret = check_run(&a, out, json, &e);
		ret = ret < 0 ? cli_error(&e) : ret == 2 ? PVK_EXIT_MISMATCH : PVK_EXIT_OK;
	}
	pvk_cert_opts_free(&a.certs);
	return ret;
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
