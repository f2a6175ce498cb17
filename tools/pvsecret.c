// SPDX-License-Identifier: MIT
/* pvsecret add|lock|list|retrieve, the guest's side (spec §6.4-6.6), and the command
 * dispatch; create and verify are in pvsecret-create.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pvkit/fileio.h"
#include "pvkit/secret.h"
#include "pvkit/secstore.h"
#include "pvkit/uvdev.h"
#include "pvsecret.h"

static const char main_help[] =
	"Usage: pvsecret [OPTIONS] COMMAND ...\n"
	"\n"
	"Create add-secret requests for IBM Secure Execution guests, add them to the\n"
	"ultravisor, list, lock and retrieve the secrets of the guest.\n"
	"\n"
	"Commands:\n"
	"  create    Create an add-secret request (trusted system)\n"
	"  add       Submit an add-secret request to the ultravisor (inside the secure guest)\n"
	"  lock      Lock the secret store (inside the secure guest)\n"
	"  list      List the secrets in the store (inside the secure guest)\n"
	"  verify    Check an add-secret request and verify its user-data signature\n"
	"  retrieve  Retrieve a secret from the store (inside the secure guest); alias retr\n"
	"  version   Print the version\n"
	"\n"
	"Options:\n"
	"  -v, --verbose                 More messages (repeatable)\n"
	"  -q, --quiet                   Only errors\n"
	"      --version                 Print the version and exit\n"
	"  -h, --help                    Print this help\n"
	"\n"
	"'pvsecret COMMAND --help' for the options of a command. The guest commands use\n"
	"/dev/uv, or what PVKIT_UV_DEVICE names (uvsim:SOCKET, vport:NAME).\n";

static const char add_help[] =
	"Usage: pvsecret add [-i] INPUT [-f]\n"
	"\n"
	"Submit the add-secret request INPUT ('-' for standard input) to the ultravisor.\n"
	"\n"
	"Options:\n"
	"  -i, --input FILE              The add-secret request\n"
	"  -f, --force                   Add the request even if a secret with its ID is\n"
	"                                already in the store\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char lock_help[] =
	"Usage: pvsecret lock\n"
	"\n"
	"Lock the secret store: the ultravisor refuses every later add-secret request.\n"
	"\n"
	"Options:\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char list_help[] =
	"Usage: pvsecret list [-o] [OUTPUT] [--format human|yaml|bin|json]\n"
	"\n"
	"List the secrets in the store of this guest.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE             Write the list to FILE (default: standard output)\n"
	"      --format FORMAT           human (default), yaml, bin (as the ultravisor\n"
	"                                gives it), or json (pvkit's addition)\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char retrieve_help[] =
	"Usage: pvsecret retrieve [-i] ID [-o] [OUTPUT] [--inform yaml|hex|name|idx]\n"
	"                         [--outform pem|bin]\n"
	"\n"
	"Retrieve a secret from the store of this guest (alias retr).\n"
	"\n"
	"Options:\n"
	"  -i, --input ID                The secret: a NAME.yaml, a hex ID, a name or an index\n"
	"                                (see --inform)\n"
	"  -o, --output FILE             Write the secret to FILE (mode 0600; default: standard\n"
	"                                output)\n"
	"      --inform FORMAT           yaml (default), hex (0x and 64 hex digits), name, idx\n"
	"      --outform FORMAT          pem (default) or bin\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

/* ---- add ---- */

static int add_run(const char *in, int force, struct pvk_err *e)
{
	struct uvdev *d = NULL;
	int ret;

	if (pvk_uvdev_open(NULL, &d, e))
		return pvk_wrap(e, "add");
	ret = pvk_secstore_add(d, in, force, &cli_log, e);
	pvk_uvdev_close(d);
	if (!ret)
		cli_note("Successfully added the secret");
	return ret;
}

static int cmd_add(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		CLI_COMMON_LONGOPTS,
	};
	const char *in = NULL;
	struct pvk_err e;
	int c, ret, force = 0;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "i:fvqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': in = optarg; break;
		case 'f': force = 1; break;
		case 'h': fputs(add_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	ret = cli_option_or_operand(argc, argv, &in, "--input", "INPUT");
	if (ret >= 0)
		return ret;
	if (!in)
		return cli_usage_error("an INPUT file is required");
	return add_run(in, force, &e) ? cli_error(&e) : PVK_EXIT_OK;
}

/* ---- lock ---- */

static int cmd_lock(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
	};
	struct uvdev *d = NULL;
	struct pvk_err e;
	int c, ret;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		if (c == 'h') {
			fputs(lock_help, stdout);
			return PVK_EXIT_OK;
		}
		return cli_usage_error("invalid option");
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (pvk_uvdev_open(NULL, &d, &e))
		ret = pvk_wrap(&e, "lock");
	else
		ret = pvk_secstore_lock(d, &e);
	pvk_uvdev_close(d);
	if (ret)
		return cli_error(&e);
	cli_note("Successfully locked secret store");
	return PVK_EXIT_OK;
}

/* ---- list ---- */

static int list_run(const char *out, enum secret_list_format f, struct pvk_err *e)
{
	struct secret_list l = { 0 };
	struct uvdev *d = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	int ret = -1;

	if (pvk_uvdev_open(NULL, &d, e)) {
		pvk_wrap(e, "list");
		return -1;
	}
	if (pvk_secstore_list(d, "list", &cli_log, &l, e) ||
	    pvk_secret_list_render(&l, f, &text, &len, e) ||
	    pvk_file_write_arg(out, text, len, OUTFILE_OVERWRITE, e))
		goto out;
	if (strcmp(out, "-"))
		cli_note("Successfully wrote the list of secrets to '%s'", out);
	ret = 0;
out:
	free(text);
	pvk_secret_list_free(&l);
	pvk_uvdev_close(d);
	return ret;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_COMMON_LONGOPTS,
	};
	const char *out = NULL;
	int c, ret, f = SECRET_LIST_HUMAN;
	struct pvk_err e;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "o:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case OPT_FORMAT:
			f = pvk_secret_list_format_parse(optarg);
			if (f < 0)
				return cli_usage_error("--format: human, yaml, bin or json");
			break;
		case 'h': fputs(list_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	ret = cli_option_or_operand(argc, argv, &out, "--output", "OUTPUT");
	if (ret >= 0)
		return ret;
	return list_run(out ? out : "-", (enum secret_list_format)f, &e) ? cli_error(&e)
									   : PVK_EXIT_OK;
}

/* ---- retrieve ---- */

static int retrieve_run(const char *input, const char *out, enum pvk_secstore_by by, int bin,
			struct pvk_err *e)
{
	const struct secret_entry *s = NULL;
	struct secret_list l = { 0 };
	struct uvdev *d = NULL;
	uint8_t *val = NULL;
	size_t len = 0;
	int ret = -1;

	if (pvk_uvdev_open(NULL, &d, e)) {
		pvk_wrap(e, "retrieve");
		return -1;
	}
	if (pvk_secstore_list(d, "retrieve", &cli_log, &l, e) ||
	    pvk_secstore_find(&l, by, input, &cli_log, &s, e) ||
	    pvk_secstore_retrieve(d, s, bin, &cli_log, &val, &len, e) ||
	    pvk_file_write_arg(out, val, len, OUTFILE_OVERWRITE | OUTFILE_SECRET, e))
		goto out;
	ret = 0;
out:
	if (val)
		pvk_buf_free_secret(val, len);
	pvk_secret_list_free(&l);
	pvk_uvdev_close(d);
	return ret;
}

static int cmd_retrieve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "inform", required_argument, NULL, OPT_INFORM },
		{ "outform", required_argument, NULL, OPT_OUTFORM },
		CLI_COMMON_LONGOPTS,
	};
	const char *in = NULL, *out = NULL;
	int by = PVK_SECSTORE_BY_YAML;
	struct pvk_err e;
	int c, ret, bin = 0;

	pvk_err_clear(&e);
	while ((c = getopt_long(argc, argv, "i:o:vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case OPT_INFORM:
			by = pvk_secstore_by_parse(optarg);
			if (by < 0)
				return cli_usage_error("--inform: yaml, hex, name or idx");
			break;
		case OPT_OUTFORM:
			if (!strcmp(optarg, "bin"))
				bin = 1;
			else if (!strcmp(optarg, "pem"))
				bin = 0;
			else
				return cli_usage_error("--outform: pem or bin");
			break;
		case 'h': fputs(retrieve_help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	ret = cli_in_out_operands(argc, argv, &in, &out, "an ID (INPUT) is required");
	if (ret >= 0)
		return ret;
	return retrieve_run(in, out ? out : "-", (enum pvk_secstore_by)by, bin, &e) ? cli_error(&e) : PVK_EXIT_OK;
}

static const struct cli_command commands[] = {
	{ "create", NULL, pvsecret_create },
	{ "add", NULL, cmd_add },
	{ "lock", NULL, cmd_lock },
	{ "list", NULL, cmd_list },
	{ "verify", NULL, pvsecret_verify },
	{ "retrieve", "retr", cmd_retrieve },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	int ret;

	cli_init(argv[0], "pvsecret");
	cli_usage_exit = PVK_EXIT_ERROR;  /* IBM's pvsecret exits 1 on a usage error */
	if ((ret = cli_prescan(&argc, argv)) >= 0)
		return ret;
	ret = cli_global_options(&argc, &argv, main_help);
	if (ret >= 0)
		return ret;
	return cli_dispatch(argc, argv, commands);
}
