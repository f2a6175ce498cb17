// SPDX-License-Identifier: MIT
/* pvverify: verify host-key documents against the chain of trust (spec §3, §10.6). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/x509.h>

#include "cli.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/yamlout.h"

static const char help[] =
	"Usage: pvverify [OPTIONS] -k FILE... (--no-verify | -C FILE...)\n"
	"\n"
	"Verify IBM Secure Execution host-key documents: the IBM Z signing key must chain\n"
	"to a trusted root CA, and every host-key document must be signed by it, be inside\n"
	"its validity period and not be revoked. Reports on standard error, as IBM's pvverify.\n"
	"\n"
	"Options:\n"
	PVK_CERT_HELP
	"  -v, --verbose                 Provide more detailed output (repeatable)\n"
	"  -q, --quiet                   Provide less output\n"
	"      --format json             Also describe each verified document on standard\n"
	"                                output as JSON (pvkit's addition)\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

enum { OPT_VERSION = 0x5001, OPT_FORMAT };

static int add_doc(json_object *docs, X509 *crt, const char *path, struct pvk_err *e)
{
	json_object *d;

	if (pvk_hkd_describe(crt, path, &d, e))
		return -1;
	json_object_array_add(docs, d);
	return 0;
}

/* The documents and the verification, printed once all of them passed. */
static int print_json(json_object *docs, int verified, struct pvk_err *e)
{
	json_object *o = json_object_new_object();
	char *text = NULL;
	size_t len;
	int rc;

	json_object_object_add(o, "verified", json_object_new_boolean(verified));
	json_object_object_add(o, "host_key_documents", json_object_get(docs));
	rc = pvk_json_text(o, 1, &text, &len, e) || pvk_file_write_arg("-", text, len, 0, e);
	json_object_put(o);
	free(text);
	return rc ? -1 : 0;
}

static int run(struct pvk_cert_opts *o, int json)
{
	json_object *docs = json ? json_object_new_array() : NULL;
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_err e;
	int rc = PVK_EXIT_OK;

	pvk_err_clear(&e);
	if (o->no_verify) {
		char w[128];

		/* IBM's pvverify names its protectee "info" */
		cli_warn("%s", pvk_hostkey_noverify_warning("info", w, sizeof(w)));
	} else if (pvk_hkd_verifier_new(o, &v, &e)) {
		return cli_error(&e);
	}
	for (size_t i = 0; i < o->n_hkds; i++) {
		const char *path = o->hkds[i];
		X509 *crt;
		int lrc = pvk_hkd_load(path, &crt, &e);

		if (lrc < 0) {
			rc = cli_error(&e);
			break;
		}
		if (lrc > 0)
			cli_warn("The host-key document in '%s' contains more than one certificate!",
				 path);
		if ((v && pvk_hkd_verify(v, crt, path, &e)) || pvk_hkd_check_key(crt, path, &e) ||
		    (docs && add_doc(docs, crt, path, &e))) {
			X509_free(crt);
			rc = cli_error(&e);
			break;
		}
		X509_free(crt);
		/* IBM's pvverify logs at trace level: these lines are its normal output. */
		if (cli_verbosity >= 0)
			fprintf(stderr, "Use host-key document at '%s'\n", path);
	}
	if (rc == PVK_EXIT_OK && v && cli_verbosity >= 0)
		fprintf(stderr, "Host-key documents verified.\n");
	if (rc == PVK_EXIT_OK && docs && print_json(docs, v != NULL, &e))
		rc = cli_error(&e);
	json_object_put(docs);
	pvk_hkd_verifier_free(v);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		PVK_CERT_LONGOPTS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvk_cert_opts o = { .log = cli_hkd_log };
	int c, verbose = 0, quiet = 0, rc, json = 0;
	struct pvk_err e;

	cli_init(argv[0], "pvverify");
	pvk_err_clear(&e);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":" PVK_CERT_SHORTOPTS "vqh", longopts, NULL)) != -1) {
		rc = pvk_cert_opts_add(&o, c, optarg, &e);
		if (rc < 0) {
			pvk_cert_opts_free(&o);
			return cli_usage_error("%s", e.msg);
		}
		if (rc > 0)
			continue;
		switch (c) {
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet++;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json")) {
				pvk_cert_opts_free(&o);
				return cli_usage_error("--format: json");
			}
			json = 1;
			break;
		case OPT_VERSION:
			cli_version();
			pvk_cert_opts_free(&o);
			return PVK_EXIT_OK;
		case 'h':
			fputs(help, stdout);
			pvk_cert_opts_free(&o);
			return PVK_EXIT_OK;
		case ':':
			pvk_cert_opts_free(&o);
			return cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
		default:
			pvk_cert_opts_free(&o);
			if (optopt > 0 && optopt < 0x100)
				return cli_usage_error("unexpected option '-%c'", optopt);
			return cli_usage_error("unexpected option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		pvk_cert_opts_free(&o);
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (verbose && quiet) {
		pvk_cert_opts_free(&o);
		return cli_usage_error("the options '--verbose' and '--quiet' cannot be used together");
	}
	cli_verbosity = quiet ? -1 : verbose;
	if (pvk_cert_opts_check(&o, &e)) {
		pvk_cert_opts_free(&o);
		return cli_usage_error("%s", e.msg);
	}
	rc = run(&o, json);
	pvk_cert_opts_free(&o);
	return rc;
}
