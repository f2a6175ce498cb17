// SPDX-License-Identifier: MIT
/* pvdump: decrypt the dump of a Secure Execution guest with its customer communication key
 * (pvkit's addition; the guide's ch. 6; the format in lib/pvdump.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "pvkit/fileio.h"
#include "pvkit/pvdump.h"

static const char main_help[] =
	"Usage: pvdump [OPTIONS] <COMMAND>\n"
	"\n"
	"Read the dump a KVM host took of an IBM Secure Execution guest (QEMU's\n"
	"dump-guest-memory of a protected guest): its memory and CPU state are encrypted by\n"
	"the ultravisor with keys only the guest's customer communication key (CCK) opens.\n"
	"\n"
	"Commands:\n"
	"  info      Show what a protected dump holds (no key needed)\n"
	"  decrypt   Decrypt a protected dump with the CCK into a plain ELF dump\n"
	"  version   Print version information and exit\n"
	"\n"
	"Options:\n"
	"  -v, --verbose                 Provide more detailed output\n"
	"  -q, --quiet                   Provide less output\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

static const char info_help[] =
	"Usage: pvdump info DUMP\n"
	"\n"
	"Show the guest memory, CPUs and page kinds of a protected dump.\n"
	"\n"
	"Options:\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static const char decrypt_help[] =
	"Usage: pvdump decrypt --cck FILE -o OUTPUT DUMP\n"
	"\n"
	"Decrypt a protected dump with the customer communication key the image was built\n"
	"with (given to pvimg create as its --cck; the image must allow dumping) into a\n"
	"plain ELF dump (mode 0600):\n"
	"the guest's memory from address 0 and per CPU its registers, as notes. A wrong\n"
	"key or a changed dump is an error, and nothing is written.\n"
	"\n"
	"Options:\n"
	"      --cck, --comm-key FILE    The 32-byte customer communication key\n"
	"  -o, --output FILE             Write the plain dump to FILE\n"
	"  -v, --verbose, -q, --quiet, -h, --help\n";

static int sub_options(int argc, char **argv, const char *help, const char **cck,
		       const char **out)
{
	static const struct option longopts[] = {
		{ "cck", required_argument, NULL, 'k' },
		{ "comm-key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		CLI_COMMON_LONGOPTS,
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, cck ? ":o:vqh" : ":vqh", longopts, NULL)) != -1) {
		if (cli_common_opt(c))
			continue;
		switch (c) {
		case 'k':
		case 'o':
			if (!cck)
				return cli_usage_error("unexpected option '%s'", argv[optind - 1]);
			*(c == 'k' ? cck : out) = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return PVK_EXIT_OK;
		case ':':
			return cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
		default:
			return cli_usage_error("unexpected option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(optind == argc ? "the dump file is required"
						      : "unexpected argument '%s'", argv[optind + 1]);
	return -1;
}

static void print_info(const char *path, const struct pvk_pvdump_info *i)
{
	printf("Protected dump:    %s\n", path);
	printf("Guest memory:      %llu MiB (%llu pages)\n", (unsigned long long)(i->mem_len >> 20),
	       (unsigned long long)(i->mem_len / PVDUMP_PAGE));
	printf("  encrypted:       %llu pages\n", (unsigned long long)i->encrypted);
	printf("  zero:            %llu pages\n", (unsigned long long)i->zero);
	printf("  shared:          %llu pages\n", (unsigned long long)i->shared);
	printf("CPUs:              %u\n", i->cpus);
}

static int cmd_info(int argc, char **argv)
{
	struct pvk_pvdump_info info;
	struct pvk_err e;
	int rc = sub_options(argc, argv, info_help, NULL, NULL);

	if (rc >= 0)
		return rc;
	pvk_err_clear(&e);
	if (pvk_pvdump_inspect(argv[optind], &info, &e))
		return cli_error(&e);
	print_info(argv[optind], &info);
	return PVK_EXIT_OK;
}

static int cmd_decrypt(int argc, char **argv)
{
	const char *cck_path = NULL, *out = NULL;
	struct pvk_pvdump_info info;
	struct pvk_err e;
	uint8_t cck[32];
	int rc = sub_options(argc, argv, decrypt_help, &cck_path, &out);

	if (rc >= 0)
		return rc;
	if (!cck_path || !out)
		return cli_usage_error("decrypt needs --cck FILE and -o OUTPUT");
	pvk_err_clear(&e);
	if (pvk_file_read_exact(cck_path, cck, sizeof(cck), "customer communication key", &e))
		return cli_error(&e);
	rc = pvk_pvdump_decrypt(argv[optind], cck, out, &info, &e);
	OPENSSL_cleanse(cck, sizeof(cck));
	if (rc)
		return cli_error(&e);
	if (cli_verbosity > 0)
		print_info(argv[optind], &info);
	if (cli_verbosity >= 0)
		printf("Decrypted dump written to '%s'\n", out);
	return PVK_EXIT_OK;
}

static const struct cli_command commands[] = {
	{ "info", NULL, cmd_info },
	{ "decrypt", NULL, cmd_decrypt },
	{ NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	int ret;

	cli_init(argv[0], "pvdump");
	if ((ret = cli_prescan(&argc, argv)) >= 0)
		return ret;
	ret = cli_global_options(&argc, &argv, main_help);
	if (ret >= 0)
		return ret;
	return cli_dispatch(argc, argv, commands);
}
