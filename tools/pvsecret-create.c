// SPDX-License-Identifier: MIT
/* pvsecret create and verify: the trusted system's side of add-secret requests (spec §5,
 * §10.3). The guest's side is pvsecret.c. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pvkit/asrcb.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/secret.h"
#include "pvkit/secreq.h"
#include "pvkit/uvdev.h"
#include "pvsecret.h"

#define CERT_FILE_MAX 0x100000

static const char create_help[] =
	"Usage: pvsecret create -k HKD... (--cert FILE... | --no-verify) --hdr FILE -o FILE\n"
	"                       [OPTIONS] KIND ...\n"
	"\n"
	"Create an add-secret request for the guests of an IBM Secure Execution image.\n"
	"Only create requests on a trusted system, never inside the target guest.\n"
	"\n"
	"Kinds:\n"
	"  meta                          No secret: carries the flags only\n"
	"  association NAME [--stdout] [--input-secret FILE | --output-secret FILE]\n"
	"                                A 32-byte association secret (random unless\n"
	"                                --input-secret); writes NAME.yaml\n"
	"  retrievable NAME --secret FILE --type TYPE [--stdout]\n"
	"                                A secret the guest can retrieve (alias retr);\n"
	"                                TYPE: plain, aes, aes-xts, hmac-sha, ec; writes NAME.yaml\n"
	"  update-cck --secret FILE      A new 32-byte customer-communication key (alias cck)\n"
	"\n"
	"Options:\n"
	PVK_CERT_HELP
	"      --hdr FILE                The SE image or its extracted SE header\n"
	"  -o, --output FILE             Write the request to FILE\n"
	"  -f, --force                   Create the request even inside a secure guest\n"
	"      --extension-secret FILE   Use the 32 bytes of FILE as the extension secret\n"
	"      --cck FILE                Derive the extension secret from the 32-byte\n"
	"                                customer-communication key in FILE\n"
	"      --cuid-hex HEX            Bind the request to the guest with this CUID\n"
	"                                (32 hex digits, optional 0x)\n"
	"      --cuid FILE               Read the CUID from FILE: 16 bytes, or YAML with a\n"
	"                                'cuid' entry (e.g. 'pvattest verify -o' output)\n"
	"      --flags FLAG,...          Request flags: disable-dump\n"
	"      --user-data FILE          Pass up to 512 bytes of user data (256 when signed\n"
	"                                with EC or RSA 2048, 128 with RSA 3072)\n"
	"      --policy FILE             User data = SHA-256 of FILE and its path; prints the\n"
	"                                hash\n"
	"      --toc-policy FILE         Append the request tag (hex) to FILE\n"
	"      --user-sign-key FILE      Sign the request with this private key (PEM or DER):\n"
	"                                EC secp521r1, RSA 2048 or RSA 3072\n"
	"      --use-name                Use the name (31 bytes at most) as the secret ID\n"
	"                                instead of its SHA-256\n"
	"      --stdout                  Print the secret description to standard output\n"
	"                                instead of writing NAME.yaml\n"
	"      --input-secret FILE       association: read the 32-byte secret from FILE\n"
	"      --output-secret FILE      association: save the random secret to FILE (0600)\n"
	"      --secret FILE             retrievable, update-cck: the secret value\n"
	"      --type TYPE               retrievable: plain, aes, aes-xts, hmac-sha, ec\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char verify_help[] =
	"Usage: pvsecret verify [-i] INPUT [--user-cert FILE] [-o] [OUTPUT] [--format json]\n"
	"\n"
	"Check that INPUT is an add-secret request and verify the signature of its user\n"
	"data; write the user data (default: standard output).\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE              The add-secret request\n"
	"      --user-cert FILE          X.509 certificate (PEM or DER) of the key that signed\n"
	"                                the user data\n"
	"  -o, --output FILE             Write the user data to FILE\n"
	"      --format json             Write a JSON description of the request instead:\n"
	"                                user data, its signature, secret type and ID,\n"
	"                                flags, CUID, SE-header tag (pvkit's addition)\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

/* ---- create ---- */

struct create_args {
	struct pvk_secreq_args r;
	struct pvk_secreq_out o;
	int force, flags_given, to_stdout;
};

/* The options that only name a file or value of the request, and where each goes. */
static const struct {
	int opt;
	size_t off;
} create_values[] = {
	{ OPT_HDR, offsetof(struct pvk_secreq_args, hdr) },
	{ OPT_EXT_SECRET, offsetof(struct pvk_secreq_args, ext_secret) },
	{ OPT_CCK, offsetof(struct pvk_secreq_args, cck) },
	{ OPT_CUID_HEX, offsetof(struct pvk_secreq_args, cuid_hex) },
	{ OPT_CUID, offsetof(struct pvk_secreq_args, cuid) },
	{ OPT_PCF, offsetof(struct pvk_secreq_args, pcf) },
	{ OPT_USER_DATA, offsetof(struct pvk_secreq_args, user_data) },
	{ OPT_POLICY, offsetof(struct pvk_secreq_args, policy) },
	{ OPT_SIGN_KEY, offsetof(struct pvk_secreq_args, sign_key) },
	{ OPT_INPUT_SECRET, offsetof(struct pvk_secreq_args, input_secret) },
	{ OPT_SECRET, offsetof(struct pvk_secreq_args, secret) },
	{ OPT_TYPE, offsetof(struct pvk_secreq_args, type) },
};

static void create_warn(void *ctx, const char *msg)
{
	(void)ctx;
	cli_warn("%s", msg);
}

static int create_run(struct create_args *a, struct pvk_err *e)
{
	struct pvk_secreq r;
	char *yaml = NULL, *ypath = NULL;
	int rc = -1;

	if (pvk_uvdev_in_se_guest()) {
		cli_warn("The system seems to be a Secure Execution guest");
		if (!a->force)
			return pvk_fail(e, PVK_E_VERIFY,
					"Do NOT generate add-secret requests on a machine where you want to use the secret! Override with '-f'");
		cli_warn("Enforcing the generation of a request on a Secure Execution guest");
	}
	if (pvk_secreq_create(&a->r, create_warn, NULL, &r, e))
		return -1;
	cli_note("Successfully generated the request");
	if (pvk_secreq_write(&r, &a->o, &ypath, &yaml, e))
		goto out;
	cli_info("Successfully wrote the request to '%s'", a->o.out);
	if (ypath)
		cli_note("Successfully wrote secret info to '%s'", ypath);
	if (r.policy_hash[0])
		printf("%s\n", r.policy_hash);
	if (yaml && a->to_stdout)
		printf("%s\n", yaml);
	rc = fflush(stdout) ? pvk_fail(e, PVK_E_IO, "cannot write to standard output") : 0;
out:
	free(yaml);
	free(ypath);
	pvk_secreq_free(&r);
	return rc;
}

/* One option of create that is not a certificate option; -1 to go on, else the exit code. */
static int create_option(struct create_args *a, int c, int *help)
{
	for (size_t i = 0; i < sizeof(create_values) / sizeof(create_values[0]); i++)
		if (c == create_values[i].opt) {
			*(const char **)((char *)&a->r + create_values[i].off) = optarg;
			return -1;
		}
	switch (c) {
	case 'o': a->o.out = optarg; break;
	case 'f': a->force = 1; break;
	case OPT_TOC: a->o.toc = optarg; break;
	case OPT_OUTPUT_SECRET: a->o.output_secret = optarg; break;
	case OPT_USE_NAME: a->r.use_name = 1; break;
	case OPT_STDOUT: a->to_stdout = 1; break;
	case 'h': *help = 1; break;
	case OPT_FLAGS:
		a->flags_given = 1;
		if (pvk_secreq_flags_parse(optarg, &a->r.disable_dump))
			return cli_usage_error("--flags: invalid value '%s' (disable-dump)", optarg);
		break;
	default: return cli_usage_error("invalid option");
	}
	return -1;
}

/* KIND [NAME]; -1 to go on, else the exit code. */
static int create_operands(struct create_args *a, int argc, char **argv)
{
	int kind;

	if (optind >= argc)
		return cli_usage_error("a secret kind is required: meta, association, retrievable, update-cck");
	kind = pvk_secreq_kind_parse(argv[optind]);
	if (kind < 0)
		return cli_usage_error("unknown secret kind '%s' (meta, association, retrievable, update-cck)",
				       argv[optind]);
	a->r.kind = (enum pvk_secreq_kind)kind;
	optind++;
	if (kind == PVK_SECREQ_ASSOC || kind == PVK_SECREQ_RETR) {
		if (optind >= argc)
			return cli_usage_error("%s: a NAME is required", argv[optind - 1]);
		a->r.name = a->o.name = argv[optind++];
		a->o.desc_file = !a->to_stdout;
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

/* The option combinations of spec §10.3; -1 to go on, else the exit code. */
static int create_check(const struct create_args *a)
{
	const char *msg;
	char buf[512];

	if (a->flags_given && a->r.pcf)
		return cli_usage_error("'--flags' cannot be used with '--pcf'");
	if (a->to_stdout && !a->o.name)
		return cli_usage_error("'--stdout' is an option of 'association' and 'retrievable'");
	msg = pvk_secreq_args_check(&a->r, &a->o, buf, sizeof(buf));
	return msg ? cli_usage_error("%s", msg) : -1;
}

int pvsecret_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		PVK_CERT_LONGOPTS,
		{ "hdr", required_argument, NULL, OPT_HDR },
		{ "se-hdr", required_argument, NULL, OPT_HDR },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "extension-secret", required_argument, NULL, OPT_EXT_SECRET },
		{ "cck", required_argument, NULL, OPT_CCK },
		{ "cuid-hex", required_argument, NULL, OPT_CUID_HEX },
		{ "cuid", required_argument, NULL, OPT_CUID },
		{ "pcf", required_argument, NULL, OPT_PCF },
		{ "flags", required_argument, NULL, OPT_FLAGS },
		{ "user-data", required_argument, NULL, OPT_USER_DATA },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "toc-policy", required_argument, NULL, OPT_TOC },
		{ "user-sign-key", required_argument, NULL, OPT_SIGN_KEY },
		{ "use-name", no_argument, NULL, OPT_USE_NAME },
		{ "stdout", no_argument, NULL, OPT_STDOUT },
		{ "input-secret", required_argument, NULL, OPT_INPUT_SECRET },
		{ "output-secret", required_argument, NULL, OPT_OUTPUT_SECRET },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "type", required_argument, NULL, OPT_TYPE },
		CLI_COMMON_LONGOPTS,
	};
	struct create_args a = { .r = { .certs = { .log = cli_hkd_log } } };
	struct pvk_err e;
	int c, ret = -1, help = 0;

	pvk_err_clear(&e);
	while (ret < 0 &&
	       (c = getopt_long(argc, argv, PVK_CERT_SHORTOPTS "o:fvqh", longopts, NULL)) != -1) {
		int taken = pvk_cert_opts_add(&a.r.certs, c, optarg, &e);

		if (taken < 0)
			ret = cli_error(&e);
		else if (!taken && !cli_common_opt(c))
			ret = create_option(&a, c, &help);
	}
	if (ret < 0 && help) {
		fputs(create_help, stdout);
		ret = PVK_EXIT_OK;
	}
	if (ret < 0)
		ret = create_operands(&a, argc, argv);
	if (ret < 0 && pvk_cert_opts_check(&a.r.certs, &e))
		ret = cli_error(&e);
	if (ret < 0)
		ret = create_check(&a);
	if (ret < 0)
		ret = create_run(&a, &e) ? cli_error(&e) : PVK_EXIT_OK;
	pvk_cert_opts_free(&a.r.certs);
	return ret;
}

/* ---- verify ---- */

static int verify_run(const char *in, const char *cert, const char *out, int json,
		      struct pvk_err *e)
{
	uint8_t *req = NULL, *cbuf = NULL, data[ASRCB_USER_LEN];
	size_t len = 0, clen = 0, dlen = 0, tlen = 0;
	EVP_PKEY *key = NULL;
	char *text = NULL;
	int ret = -1;

	if (pvk_file_read_arg(in, ASRCB_MAX_LEN, &req, &len, e))
		return -1;
	if (cert) {
		if (pvk_file_read_arg(cert, CERT_FILE_MAX, &cbuf, &clen, e) ||
		    pvk_secret_load_cert_key(cbuf, clen, cert, &key, e))
			goto out;
	}
	if (pvk_asrcb_verify_user_data(req, len, key, data, &dlen, e)) {
		pvk_wrap(e, "%s: Could not verify the add-secret request", in);
		goto out;
	}
	if (json ? pvk_secreq_describe_json(req, len, data, dlen, &text, &tlen, e) ||
		   pvk_file_write_arg(out, text, tlen, OUTFILE_OVERWRITE, e)
		 : dlen && pvk_file_write_arg(out, data, dlen, OUTFILE_OVERWRITE, e))
		goto out;
	cli_note("Successfully verified the request.");
	ret = 0;
out:
	free(text);
	EVP_PKEY_free(key);
	free(req);
	free(cbuf);
	return ret;
}

int pvsecret_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "user-cert", required_argument, NULL, OPT_USER_CERT },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_COMMON_LONGOPTS,
	};
	const char *in = NULL, *out = NULL, *cert = NULL;
	struct pvk_err e;
	int c, ret, json = 0;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "i:o:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case OPT_USER_CERT: cert = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json"))
				return cli_usage_error("--format: json");
			json = 1;
			break;
		case 'h': fputs(verify_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	ret = cli_in_out_operands(argc, argv, &in, &out, "an INPUT file is required");
	if (ret >= 0)
		return ret;
	return verify_run(in, cert, out ? out : "-", json, &e) ? cli_error(&e) : PVK_EXIT_OK;
}
