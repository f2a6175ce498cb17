// SPDX-License-Identifier: MIT
/* pvimg info|test and the command dispatch (pvimg create and genprotimg, the same
 * program under its old name, are in pvimg-create.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "pvimg.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/hdrinfo.h"
#include "pvkit/hostkey.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"

static const char info_help[] =
	"Usage: %s info [OPTIONS] <INPUT|--print-schema FORMAT>\n"
	"\n"
	"Print the SE header of an SE image or of an extracted header. Without --hdr-key the\n"
	"header is not verified: a warning says so, and its data must not be trusted.\n"
	"\n"
	"Options:\n"
	"      --format FORMAT           text, text:full, json, json:pretty or json:minify (KIND or\n"
	"                                KIND:default for the kind's default; case-insensitive)\n"
	"                                (default: text on a terminal, else json)\n"
	"      --hdr-key, --key FILE     Verify the header with the 32-byte header key in FILE\n"
	"      --show-secrets            With --hdr-key, print the decrypted confidential part\n"
	"      --print-schema FORMAT     Print the JSON Schema of the json output (FORMAT json), or\n"
	"                                that text has none (FORMAT text), and exit\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char test_help[] =
	"Usage: %s test [OPTIONS] INPUT\n"
	"\n"
	"Test whether an SE image can run on a host: exit 0 if it can, 1 if not. Each check\n"
	"is reported on standard error (as IBM's pvimg test; -q silences it).\n"
	"\n"
	"Options:\n"
	"  -k, --host-key-document FILE  Pass if one of these host keys has a key slot (repeatable)\n"
	"      --key-hashes[=FILE]       Pass if a host-key hash listed in FILE has a key slot\n"
	"                                (default $PVKIT_SYSFS_ROOT/firmware/uv/keys/all, else\n"
	"                                /sys/firmware/uv/keys/all); not with -k\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char main_help[] =
	"Usage: pvimg [OPTIONS] COMMAND ...\n"
	"\n"
	"Create and inspect IBM Secure Execution images.\n"
	"\n"
	"Commands:\n"
	"  create   Create an SE image (also available as genprotimg)\n"
	"  info     Print the SE header of an image\n"
	"  test     Test whether an image can run on given hosts\n"
	"  version  Print the version\n"
	"\n"
	"Options: -v/--verbose, -q/--quiet, --version, -h/--help. 'pvimg COMMAND --help' for more.\n";

/* ---- info ---- */

static int print_schema(const char *kind)
{
	if (!strcmp(kind, "json")) {
		fputs(pvk_hdrinfo_schema_json, stdout);
		return PVK_EXIT_OK;
	}
	if (!strcmp(kind, "text")) {
		printf("No schema for human-readable format available!\n");
		return PVK_EXIT_OK;
	}
	return cli_usage_error("invalid value '%s' for '--print-schema <FORMAT>' "
			       "(possible values: text, json)", kind);
}

static int info_run(const char *input, const char *key_path, int show,
		    enum pvk_hdrinfo_format fmt, struct pvk_err *e)
{
	char host[256] = "unknown";
	struct hdrinfo_meta meta = { .version = PVKIT_VERSION, .host = host, .now = time(NULL) };
	enum hdrinfo_state state;
	struct sehdr_secrets sec;
	struct sehdr h;
	uint8_t *raw = NULL;
	int rc = -1;

	if (pvk_hdrinfo_open(input, key_path, show, &raw, &h, &sec, &state, e))
		goto out;
	if (!key_path && cli_verbosity >= 0)
		fprintf(stderr, "WARNING: The Secure Execution header integrity and authenticity was "
			"not verified. Specify '--hdr-key' to authenticate it. Do not trust the data "
			"without verification.\n");
	if (gethostname(host, sizeof(host) - 1))
		strcpy(host, "unknown");
	rc = pvk_hdrinfo_write(stdout, &h, &sec, state, fmt, &meta, e);
out:
	OPENSSL_cleanse(&sec, sizeof(sec));
	free(raw);
	return rc;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "hdr-key", required_argument, NULL, OPT_HDR_KEY },
		{ "key", required_argument, NULL, OPT_HDR_KEY },
		{ "show-secrets", no_argument, NULL, OPT_SHOW_SECRETS },
		{ "print-schema", required_argument, NULL, OPT_PRINT_SCHEMA },
		CLI_COMMON_LONGOPTS,
	};
	const char *format = NULL, *key_path = NULL, *schema = NULL;
	enum pvk_hdrinfo_format fmt;
	int c, show = 0;
	struct pvk_err e;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT: format = optarg; break;
		case OPT_HDR_KEY: key_path = optarg; break;
		case OPT_SHOW_SECRETS: show = 1; break;
		case OPT_PRINT_SCHEMA: schema = optarg; break;
		case 'h': printf(info_help, "pvimg"); return PVK_EXIT_OK;
		default:
			if (cli_common_opt(c))
				break;
			return cli_usage_error("invalid option");
		}
	}
	if (schema) {
		if (optind < argc || format || key_path || show)
			return cli_usage_error("--print-schema cannot be used with an INPUT, "
					       "--format, --hdr-key or --show-secrets");
		return print_schema(schema);
	}
	if (optind + 1 != argc)
		return cli_usage_error("one INPUT file is required");
	if (show && !key_path)
		return cli_usage_error("--show-secrets requires --hdr-key");
	if (!format)
		fmt = isatty(STDOUT_FILENO) ? PVK_HDRINFO_TEXT : PVK_HDRINFO_JSON;
	else if (pvk_hdrinfo_format_parse(format, &fmt))
		return cli_usage_error("invalid value '%s' for '--format <FORMAT>' (possible values: "
				       "text, text:full, json, json:pretty, json:minify)", format);
	return info_run(argv[optind], key_path, show, fmt, &e) ? cli_error(&e) : PVK_EXIT_OK;
}

/* ---- test ---- */

/* IBM's pvimg test reports each check on stderr (cli_note). Line 1 of the UV's list is the
 * host key, line 2 the backup key, the rest other keys. */
static int test_hashes(const struct sehdr *h, uint8_t (*hashes)[32], size_t nh)
{
	static const char *const what[] = { "Host key hash", "Backup host key hash", "Key hash" };
	static const uint8_t zero[32];
	int pass = 0;

	for (size_t i = 0; i < nh; i++) {
		char hex[65];

		if (!memcmp(hashes[i], zero, 32) || pvk_keyslot_find(h->keyslots, h->nks, hashes[i]) < 0)
			continue;
		pvk_hex_encode(hashes[i], 32, hex);
		cli_note(" \u2713 %s 0x%s is included", what[i < 2 ? i : 2], hex);
		pass = 1;
	}
	if (!pass)
		cli_note(" \u2718 None of the key hashes is included");
	return pass;
}

/* Which of the host-key documents the header has a key slot for: 1 if any, 0 if none,
 * -1 on an error. */
static int test_hkds(const struct sehdr *h, struct pvk_cert_opts *certs, struct pvk_err *e)
{
	EVP_PKEY **keys = NULL;
	size_t nkeys = 0;
	int pass = 0;

	if (pvk_hostkeys_load_verified(certs, &keys, &nkeys, e))
		return -1;
	for (size_t i = 0; i < nkeys && pass >= 0; i++) {
		uint8_t phkh[32];
		int in;

		if (pvk_ec_phkh(keys[i], phkh, e)) {
			pass = -1;
			break;
		}
		in = pvk_keyslot_find(h->keyslots, h->nks, phkh) >= 0;
		pass |= in;
		cli_note(" %s Host key document '%s' is %sincluded", in ? "\u2713" : "\u2718",
			 certs->hkds[i], in ? "" : "not ");
	}
	pvk_hostkeys_free(keys, nkeys);
	return pass;
}

/* The same with a file of host-key hashes (NULL: the UV's own list). */
static int test_key_hashes(const struct sehdr *h, const char *path, struct pvk_err *e)
{
	char sysfs[4096];
	uint8_t (*hashes)[32] = NULL;
	size_t nh = 0;
	int pass;

	if (!path) {
		path = pvk_uvdev_sysfs_path("firmware/uv/keys/all", sysfs, sizeof(sysfs));
		if (access(path, F_OK) && errno == ENOENT)
			return pvk_fail(e, PVK_E_IO, "Support for query UV host key hashes is not "
					"available (%s does not exist)", path);
	}
	if (pvk_keyslot_hashes_read(path, &hashes, &nh, e))
		return -1;
	pass = test_hashes(h, hashes, nh);
	free(hashes);
	return pass;
}

static int test_run(const char *input, struct pvk_cert_opts *certs, int want_hashes,
		    const char *hashes_path, struct pvk_err *e)
{
	uint8_t *raw = NULL;
	struct sehdr h;
	uint64_t off;
	size_t len;
	int pass = -1;

	if (pvk_sehdr_read_file(input, &raw, &len, &off, e) || pvk_sehdr_parse(raw, len, &h, e)) {
		if (!strstr(e->msg, input))
			pvk_wrap(e, "%s", input);
	} else if (certs->n_hkds) {
		pass = test_hkds(&h, certs, e);
	} else if (want_hashes) {
		pass = test_key_hashes(&h, hashes_path, e);
	}
	free(raw);
	return pass < 0 ? cli_error(e) : pass ? PVK_EXIT_OK : PVK_EXIT_ERROR;
}

static int cmd_test(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host-key-document", required_argument, NULL, 'k' },
		{ "key-hashes", optional_argument, NULL, OPT_KEY_HASHES },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* A test only compares hashes: nothing is encrypted, no verification. */
	struct pvk_cert_opts certs = { .no_verify = 1 };
	const char *hashes_path = NULL;
	int c, want_hashes = 0, ret = -1;
	struct pvk_err e;

	pvk_err_clear(&e);
	while (ret < 0 && (c = getopt_long(argc, argv, "k:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (pvk_cert_opts_add(&certs, PVK_OPT_HKD, optarg, &e) < 0)
				ret = cli_error(&e);
			break;
		case OPT_KEY_HASHES: want_hashes = 1; hashes_path = optarg; break;
		case 'v': cli_verbosity++; break;
		case 'q': cli_verbosity = -1; break;
		case 'h': printf(test_help, "pvimg"); ret = PVK_EXIT_OK; break;
		default: ret = cli_usage_error("invalid option"); break;
		}
	}
	if (ret < 0 && (optind + 1 != argc || (!certs.n_hkds && !want_hashes)))
		ret = cli_usage_error("INPUT and -k HKD or --key-hashes are required");
	if (ret < 0 && certs.n_hkds && want_hashes)
		ret = cli_usage_error("the argument '--key-hashes[=<FILE>]' cannot be used with "
				      "'--host-key-document <FILE>'");
	if (ret < 0)
		ret = test_run(argv[optind], &certs, want_hashes, hashes_path, &e);
	pvk_cert_opts_free(&certs);
	return ret;
}

static int cmd_pvimg_create(int argc, char **argv)
{
	return pvimg_create(argc, argv, 0);
}

static const struct cli_command commands[] = {
	{ "create", NULL, cmd_pvimg_create },
	{ "info", NULL, cmd_info },
	{ "test", NULL, cmd_test },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	int ret;
	size_t n;

	cli_init(argv[0], "pvimg");
	if ((ret = cli_prescan(&argc, argv)) >= 0)
		return ret;
	n = strlen(cli_prog);
	if (n >= 10 && !strcmp(cli_prog + n - 10, "genprotimg"))
		return pvimg_create(argc, argv, 1);
	ret = cli_global_options(&argc, &argv, main_help);
	if (ret >= 0)
		return ret;
	return cli_dispatch(argc, argv, commands);
}
