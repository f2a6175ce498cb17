// SPDX-License-Identifier: MIT
/* pvkit-testpki: write a test PKI shaped like IBM's host-key PKI (for tests only). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "pvkit/testpki.h"

static const char help[] =
	"Usage: pvkit-testpki --dir DIR [OPTIONS]\n"
	"\n"
	"Write a test PKI for host-key verification into DIR: a root CA, an intermediate\n"
	"CA, an IBM Z signing key, P-521 host-key documents with their private keys, the\n"
	"CRLs of every level, and negative cases. FOR TESTS ONLY.\n"
	"\n"
	"Options:\n"
	"      --dir DIR                 Write the files into DIR (created if missing;\n"
	"                                existing files are replaced)\n"
	"      --hosts N                 Number of valid host-key documents host1..hostN\n"
	"                                (default 1)\n"
	"      --crl-url-base URL        CRL distribution points are URL/<name>.crl\n"
	"                                (default: bare file names)\n"
	"      --days N                  Validity of certificates and CRLs (default 365)\n"
	"      --revoke-host I           List hostI in the signing key's CRL (repeatable)\n"
	"      --ca-rsa-bits N           RSA keys of N bits for the CAs and the signing key\n"
	"                                (default: EC P-521)\n"
	"  -v, --verbose                 Print the directory when done\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

enum {
	OPT_DIR = 0x5101,
	OPT_HOSTS,
	OPT_CRL_URL_BASE,
	OPT_DAYS,
	OPT_REVOKE,
	OPT_CA_RSA_BITS,
	OPT_VERSION,
};

static int parse_uint(const char *opt, const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v < min || v > max) {
		cli_usage_error("%s: '%s' is not a number in %u..%u", opt, s, min, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* --revoke-host N, repeatable; -1 to go on, else the exit code. */
static int add_revoke(struct pvk_testpki_opts *o, unsigned int **revoke)
{
	unsigned int *nrev, v;
	struct pvk_err e;

	if (parse_uint("--revoke-host", optarg, 1, 10000, &v))
		return PVK_EXIT_USAGE;
	nrev = realloc(*revoke, (o->n_revoke + 1) * sizeof(**revoke));
	if (!nrev) {
		pvk_fail(&e, PVK_E_NOMEM, "out of memory");
		return cli_error(&e);
	}
	*revoke = nrev;
	nrev[o->n_revoke++] = v;
	o->revoke = nrev;
	return -1;
}

/* One option; -1 to go on, else the exit code. */
static int option(struct pvk_testpki_opts *o, unsigned int **revoke, int c, char **argv)
{
	switch (c) {
	case OPT_DIR: o->dir = optarg; return -1;
	case OPT_CRL_URL_BASE: o->crl_url_base = optarg; return -1;
	case OPT_HOSTS:
		return parse_uint("--hosts", optarg, 1, 10000, &o->hosts) ? PVK_EXIT_USAGE : -1;
	case OPT_DAYS:
		return parse_uint("--days", optarg, 1, 100000, &o->days) ? PVK_EXIT_USAGE : -1;
	case OPT_CA_RSA_BITS:
		return parse_uint("--ca-rsa-bits", optarg, 2048, 16384, &o->ca_rsa_bits)
			       ? PVK_EXIT_USAGE : -1;
	case OPT_REVOKE: return add_revoke(o, revoke);
	case 'v': cli_verbosity++; return -1;
	case OPT_VERSION: cli_version(); return PVK_EXIT_OK;
	case 'h': fputs(help, stdout); return PVK_EXIT_OK;
	case ':':
		cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
		return PVK_EXIT_USAGE;
	default:
		if (optopt > 0 && optopt < 0x100)
			cli_usage_error("unexpected option '-%c'", optopt);
		else
			cli_usage_error("unexpected option '%s'", argv[optind - 1]);
		return PVK_EXIT_USAGE;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "hosts", required_argument, NULL, OPT_HOSTS },
		{ "crl-url-base", required_argument, NULL, OPT_CRL_URL_BASE },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "revoke-host", required_argument, NULL, OPT_REVOKE },
		{ "ca-rsa-bits", required_argument, NULL, OPT_CA_RSA_BITS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvk_testpki_opts o = { .hosts = 1, .days = 365 };
	unsigned int *revoke = NULL;
	struct pvk_err e;
	int c, rc = -1;

	cli_init(argv[0], "pvkit-testpki");
	pvk_err_clear(&e);
	opterr = 0;
	while (rc < 0 && (c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1)
		rc = option(&o, &revoke, c, argv);
	if (rc < 0 && optind < argc) {
		cli_usage_error("unexpected argument '%s'", argv[optind]);
		rc = PVK_EXIT_USAGE;
	}
	if (rc < 0 && !o.dir) {
		cli_usage_error("the required option '--dir <DIR>' is missing");
		rc = PVK_EXIT_USAGE;
	}
	if (rc < 0 && pvk_testpki_generate(&o, &e))
		rc = cli_error(&e);
	if (rc < 0) {
		cli_info("Test PKI written to '%s'", o.dir);
		rc = PVK_EXIT_OK;
	}
	free(revoke);
	return rc;
}
