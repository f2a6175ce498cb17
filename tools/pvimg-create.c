// SPDX-License-Identifier: MIT
/* pvimg create, and genprotimg (the same command under its old name, with its old option
 * set): options into pvk_seimg_args, then the library builds the image. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pvimg.h"
#include "pvkit/hostkey.h"
#include "pvkit/image.h"

static const char create_help[] =
	"Usage: %s [OPTIONS] -i KERNEL -k HKD... (--cert FILE... | --no-verify) -o OUTPUT\n"
	"\n"
	"Create an IBM Secure Execution image from a kernel, an optional ramdisk and parmfile,\n"
	"encrypted for the hosts of the given host-key documents.\n"
	"\n"
	"Options:\n"
	"  -i, --kernel, --image FILE    Use FILE as the Linux kernel (raw image, not ELF)\n"
	"  -r, --ramdisk FILE            Use FILE as the initial RAM disk\n"
	"  -p, --parmfile FILE           Use the content of FILE as the kernel command line\n"
	"  -o, --output FILE             Write the SE image to FILE\n"
	PVK_CERT_HELP
	"      --no-component-check      Skip the kernel and command-line checks\n"
	"      --overwrite               Replace an existing output file\n"
	"      --cck, --comm-key FILE    Use the 32 bytes of FILE as the customer communication key\n"
	"      --hdr-key FILE            Use the 32 bytes of FILE as the header protection key\n"
	"                                (alias --x-header-key)\n"
	"      --image-key FILE          Use the 64 bytes of FILE as the AES-XTS image key\n"
	"                                (alias --x-comp-key)\n"
	"      --enable-dump             Allow dumping the guest (needs --cck or --enable-cck-update)\n"
	"      --disable-dump            Do not allow dumping (default)\n"
	"      --enable-cck-extension-secret   Require the CCK-derived extension secret in every\n"
	"                                add-secret request (needs --cck)\n"
	"      --disable-cck-extension-secret  (default)\n"
	"      --enable-cck-update       Allow the CCK to be updated\n"
	"      --disable-cck-update      (default)\n"
	"      --enable-pckmo            Allow PCKMO DEA/TDEA, AES and ECC (default)\n"
	"      --disable-pckmo           Disallow them\n"
	"      --enable-pckmo-hmac       Allow PCKMO HMAC\n"
	"      --disable-pckmo-hmac      (default)\n"
	"      --enable-backup-keys      Allow backup target keys\n"
	"      --disable-backup-keys     (default)\n"
	"      --enable-image-encryption   Encrypt the components (default)\n"
	"      --disable-image-encryption  Do not encrypt the components\n"
	"  -v, --verbose                 Print more (repeatable)\n"
	"  -q, --quiet                   Print errors only\n"
	"      --version                 Print the version\n"
	"  -h, --help                    Print this help (--help-experimental: expert options)\n";

static const char experimental_help[] =
	"Expert options (see pvimg(1), DETERMINISTIC BUILDS):\n"
	"      --x-bootloader-directory DIR  Take stage3a.bin and stage3b_reloc.bin from DIR\n"
	"      --x-psw ADDR              Start address (hex) of the secure guest in the SE header\n"
	"      --x-pcf HEX               Raw plaintext control flags (no enable/disable options)\n"
	"      --x-scf HEX               Raw secret control flags (no enable/disable options)\n"
	"      --x-cust-key FILE         Customer P-521 key: 80-byte or 66-byte raw scalar, or PEM\n"
	"      --x-header-iv HEX         The 12-byte header IV (24 hex digits)\n"
	"      --x-tweak-bytes HEX       The 6 random bytes of every component tweak (12 hex digits)\n";

static const struct {
	int opt;
	enum pvk_seimg_flag flag;
	int val;
} create_switches[] = {
	{ OPT_EN_DUMP, PVK_SEIMG_DUMP, 1 }, { OPT_DIS_DUMP, PVK_SEIMG_DUMP, 0 },
	{ OPT_EN_CCKEXT, PVK_SEIMG_CCKEXT, 1 }, { OPT_DIS_CCKEXT, PVK_SEIMG_CCKEXT, 0 },
	{ OPT_EN_CCKUPD, PVK_SEIMG_CCKUPD, 1 }, { OPT_DIS_CCKUPD, PVK_SEIMG_CCKUPD, 0 },
	{ OPT_EN_PCKMO, PVK_SEIMG_PCKMO, 1 }, { OPT_DIS_PCKMO, PVK_SEIMG_PCKMO, 0 },
	{ OPT_EN_PCKMO_HMAC, PVK_SEIMG_PCKMO_HMAC, 1 },
	{ OPT_DIS_PCKMO_HMAC, PVK_SEIMG_PCKMO_HMAC, 0 },
	{ OPT_EN_BACKUP, PVK_SEIMG_BACKUP, 1 }, { OPT_DIS_BACKUP, PVK_SEIMG_BACKUP, 0 },
	{ OPT_EN_ENC, PVK_SEIMG_ENC, 1 }, { OPT_DIS_ENC, PVK_SEIMG_ENC, 0 },
};

/* The options that take one value, where it goes, and the name clap reports when one is
 * given twice (an alias counts as the same option). */
#define ARG(field) offsetof(struct pvk_seimg_args, field)
static const struct {
	int opt;
	size_t off;
	const char *name;
} create_values[] = {
	{ 'i', ARG(o.kernel), "--image" },
	{ 'r', ARG(o.ramdisk), "--ramdisk" },
	{ 'p', ARG(o.parmfile), "--parmfile" },
	{ 'o', ARG(o.output), "--output" },
	{ OPT_CCK, ARG(cck), "--cck" },
	{ OPT_HDR_KEY, ARG(hdr_key), "--hdr-key" },
	{ OPT_IMAGE_KEY, ARG(image_key), "--image-key" },
	{ OPT_X_BOOTDIR, ARG(o.bootloader_dir), "--x-bootloader-directory" },
	{ OPT_X_PSW, ARG(psw), "--x-psw" },
	{ OPT_X_PCF, ARG(xpcf), "--x-pcf" },
	{ OPT_X_SCF, ARG(xscf), "--x-scf" },
	{ OPT_X_CUST, ARG(cust_key), "--x-cust-key" },
	{ OPT_X_IV, ARG(iv_hex), "--x-header-iv" },
	{ OPT_X_TWEAK, ARG(tweak_hex), "--x-tweak-bytes" },
};
#undef ARG

struct create_state {
	struct pvk_seimg_args a;
	int legacy, conflict;
	const char *twice;    /* the first option given twice */
};

/* A value or switch option: 1 if taken. */
static int create_value(struct create_state *s, int c)
{
	for (size_t i = 0; i < sizeof(create_values) / sizeof(create_values[0]); i++) {
		const char **dst = (const char **)((char *)&s->a + create_values[i].off);

		if (c != create_values[i].opt)
			continue;
		if (*dst && !s->twice)
			s->twice = create_values[i].name;
		if (!*dst)
			*dst = optarg;
		return 1;
	}
	for (size_t i = 0; i < sizeof(create_switches) / sizeof(create_switches[0]); i++) {
		int *f = &s->a.flags[create_switches[i].flag];

		if (c != create_switches[i].opt)
			continue;
		if (*f >= 0 && *f != create_switches[i].val)
			s->conflict = 1;
		*f = create_switches[i].val;
		return 1;
	}
	return 0;
}

/* Any other option of create; -1 to go on, else the exit code. */
static int create_option(struct create_state *s, int c)
{
	if (create_value(s, c))
		return -1;
	switch (c) {
	case OPT_NO_COMP_CHECK: s->a.o.no_component_check = 1; return -1;
	case OPT_OVERWRITE: s->a.o.overwrite = 1; return -1;
	case 'q': cli_verbosity = -1; return -1;
	case 'v': cli_verbosity++; return -1;
	case OPT_VERSION:
		if (s->legacy)
			return cli_usage_error("unexpected argument '--version'");
		cli_version();
		return PVK_EXIT_OK;
	case 'h':
	case OPT_HELP_ALL:
	case OPT_HELP_EXP:
		if (c != OPT_HELP_EXP)
			printf(create_help, s->legacy ? cli_prog : "pvimg create");
		if (c != 'h')
			printf("\n%s", experimental_help);
		return PVK_EXIT_OK;
	default:
		return cli_usage_error("invalid option");
	}
}

/* The progress line on a terminal, for images of more than PROGRESS_MIN bytes. */
#define PROGRESS_MIN (100ull << 20)
struct progress {
	int shown;      /* a line is open on stderr */
	int last;       /* the last percentage printed */
};

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (total < PROGRESS_MIN || (p->shown && pct == p->last))
		return;
	fprintf(stderr, "\rEncrypting the components: %3d%% (%llu of %llu MiB)", pct,
		(unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
	p->shown = 1;
	p->last = pct;
}

static int create_done(struct create_state *s, int argc, char **argv)
{
	struct progress prog = { 0 };
	struct pvk_err e;
	int rc;

	pvk_err_clear(&e);
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (s->twice)
		return cli_usage_error("the argument '%s <FILE>' cannot be used multiple times",
				       s->twice);
	if (s->conflict)
		return cli_usage_error("an --enable-X option conflicts with its --disable-X option");
	if (cli_verbosity >= 0 && isatty(STDERR_FILENO)) {
		s->a.progress = show_progress;
		s->a.progress_ctx = &prog;
	}
	rc = pvk_seimg_create_from_files(&s->a, &cli_log, &e);
	if (prog.shown)
		fputc('\n', stderr);
	if (rc)
		return cli_error(&e);
	cli_info("Successfully generated the Secure Execution image '%s'", s->a.o.output);
	return PVK_EXIT_OK;
}

int pvimg_create(int argc, char **argv, int legacy)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'i' },
		{ "image", required_argument, NULL, 'i' },
		{ "ramdisk", required_argument, NULL, 'r' },
		{ "parmfile", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		PVK_CERT_LONGOPTS,
		{ "no-component-check", no_argument, NULL, OPT_NO_COMP_CHECK },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ "cck", required_argument, NULL, OPT_CCK },
		{ "comm-key", required_argument, NULL, OPT_CCK },
		{ "hdr-key", required_argument, NULL, OPT_HDR_KEY },
		{ "x-header-key", required_argument, NULL, OPT_HDR_KEY },
		{ "image-key", required_argument, NULL, OPT_IMAGE_KEY },
		{ "x-comp-key", required_argument, NULL, OPT_IMAGE_KEY },
		{ "enable-dump", no_argument, NULL, OPT_EN_DUMP },
		{ "disable-dump", no_argument, NULL, OPT_DIS_DUMP },
		{ "enable-cck-extension-secret", no_argument, NULL, OPT_EN_CCKEXT },
		{ "disable-cck-extension-secret", no_argument, NULL, OPT_DIS_CCKEXT },
		{ "enable-cck-update", no_argument, NULL, OPT_EN_CCKUPD },
		{ "disable-cck-update", no_argument, NULL, OPT_DIS_CCKUPD },
		{ "enable-pckmo", no_argument, NULL, OPT_EN_PCKMO },
		{ "disable-pckmo", no_argument, NULL, OPT_DIS_PCKMO },
		{ "enable-pckmo-hmac", no_argument, NULL, OPT_EN_PCKMO_HMAC },
		{ "disable-pckmo-hmac", no_argument, NULL, OPT_DIS_PCKMO_HMAC },
		{ "enable-backup-keys", no_argument, NULL, OPT_EN_BACKUP },
		{ "disable-backup-keys", no_argument, NULL, OPT_DIS_BACKUP },
		{ "enable-image-encryption", no_argument, NULL, OPT_EN_ENC },
		{ "disable-image-encryption", no_argument, NULL, OPT_DIS_ENC },
		{ "x-bootloader-directory", required_argument, NULL, OPT_X_BOOTDIR },
		{ "x-psw", required_argument, NULL, OPT_X_PSW },
		{ "x-pcf", required_argument, NULL, OPT_X_PCF },
		{ "x-scf", required_argument, NULL, OPT_X_SCF },
		{ "x-cust-key", required_argument, NULL, OPT_X_CUST },
		{ "x-header-iv", required_argument, NULL, OPT_X_IV },
		{ "x-tweak-bytes", required_argument, NULL, OPT_X_TWEAK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ "help-all", no_argument, NULL, OPT_HELP_ALL },
		{ "help-experimental", no_argument, NULL, OPT_HELP_EXP },
		{ NULL, 0, NULL, 0 },
	};
	struct create_state s = { .legacy = legacy };
	struct pvk_err e;
	int c, ret = -1;

	pvk_seimg_args_init(&s.a);
	pvk_err_clear(&e);
	s.a.certs.log = cli_hkd_log;
	/* genprotimg always replaced its output; pvimg create asks for --overwrite. */
	s.a.o.overwrite = legacy;
	/* genprotimg takes --version only alone (as IBM's own_parse). */
	if (legacy && argc == 2 && !strcmp(argv[1], "--version")) {
		cli_version();
		return PVK_EXIT_OK;
	}
	while (ret < 0 && (c = getopt_long(argc, argv, "i:r:p:o:" PVK_CERT_SHORTOPTS "vqh",
					   longopts, NULL)) != -1) {
		int taken = pvk_cert_opts_add(&s.a.certs, c, optarg, &e);

		if (taken < 0)
			ret = cli_error(&e);
		else if (!taken)
			ret = create_option(&s, c);
	}
	if (ret < 0)
		ret = create_done(&s, argc, argv);
	pvk_cert_opts_free(&s.a.certs);
	return ret;
}
