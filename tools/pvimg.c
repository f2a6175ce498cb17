// SPDX-License-Identifier: MIT
/* pvimg create|info|test, and genprotimg (the same program under its old name). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cli.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hdrinfo.h"
#include "pvkit/hostkey.h"
#include "pvkit/image.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"

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

enum {
	OPT_NO_COMP_CHECK = 0x5000, OPT_OVERWRITE, OPT_CCK, OPT_HDR_KEY, OPT_IMAGE_KEY,
	OPT_EN_DUMP, OPT_DIS_DUMP, OPT_EN_CCKEXT, OPT_DIS_CCKEXT, OPT_EN_CCKUPD, OPT_DIS_CCKUPD,
	OPT_EN_PCKMO, OPT_DIS_PCKMO, OPT_EN_PCKMO_HMAC, OPT_DIS_PCKMO_HMAC, OPT_EN_BACKUP,
	OPT_DIS_BACKUP, OPT_EN_ENC, OPT_DIS_ENC, OPT_X_BOOTDIR, OPT_X_PSW, OPT_X_PCF, OPT_X_SCF,
	OPT_X_CUST, OPT_X_IV, OPT_X_TWEAK, OPT_VERSION, OPT_HELP_ALL, OPT_HELP_EXP, OPT_FORMAT,
	OPT_SHOW_SECRETS, OPT_KEY_HASHES, OPT_PRINT_SCHEMA,
};

/* A tri-state enable/disable switch; -1 = not given. */
struct flag { int val; };

struct create_args {
	struct seimg_create_opts o;
	struct pvk_cert_opts certs;
	const char *cck, *hdr_key, *image_key, *cust_key, *iv_hex, *tweak_hex, *psw, *xpcf, *xscf;
	struct flag dump, cckext, cckupd, pckmo, pckmo_hmac, backup, enc;
};

static void flag_set(struct flag *f, int v, int *conflict)
{
	if (f->val >= 0 && f->val != v)
		*conflict = 1;
	f->val = v;
}

static int load_cust_key(const char *path, EVP_PKEY **out, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (pvk_file_read_all(path, 16384, &buf, &len, e))
		return -1;
	if (len == 80 || len == 66) {
		rc = pvk_ec_from_scalar(buf, len, out, e);
	} else {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);

		*out = bio ? PEM_read_bio_PrivateKey(bio, NULL, pvk_pem_no_password, NULL) : NULL;
		BIO_free(bio);
		rc = *out && pvk_ec_is_p521(*out) ? 0 : -1;
		if (!rc && pvk_key_check_pair(*out, path, e)) {
			EVP_PKEY_free(*out);
			*out = NULL;
			rc = -1;
		} else if (rc) {
			EVP_PKEY_free(*out);
			*out = NULL;
			pvk_fail(e, PVK_E_FORMAT,
				 "%s: not a P-521 private key (80-byte scalar or PEM expected)", path);
		}
	}
	pvk_buf_free_secret(buf, len);
	if (rc && e->msg[0] && !strstr(e->msg, path))
		pvk_wrap(e, "%s", path);
	return rc;
}

static uint64_t flags_to_pcf(const struct create_args *a)
{
	uint64_t pcf = PCF_PCKMO_DEFAULT;

	if (a->dump.val == 1)
		pcf |= PCF_ALLOW_DUMP;
	if (a->pckmo.val == 0)
		pcf &= ~PCF_PCKMO_DEFAULT;
	if (a->pckmo_hmac.val == 1)
		pcf |= PCF_PCKMO_HMAC;
	if (a->backup.val == 1)
		pcf |= PCF_BACKUP_KEYS;
	if (a->enc.val == 0)
		pcf |= PCF_NO_COMP_ENCRYPTION;
	return pcf;
}

/* clap takes a single-valued option once: the name when *dst was set already (an alias
 * counts as the same option), else NULL. */
#define set_once(dst, name) (*(dst) ? (name) : ((*(dst) = optarg), (const char *)NULL))

static int create_check(struct create_args *a, int any_flag, struct pvk_err *e)
{
	if (!a->o.kernel)
		return pvk_fail(e, PVK_E_USAGE, "the kernel (-i/--kernel) is required");
	if (!a->o.output)
		return pvk_fail(e, PVK_E_USAGE, "the output file (-o/--output) is required");
	if (pvk_cert_opts_check(&a->certs, e))
		return -1;
	if ((a->xpcf || a->xscf) && any_flag)
		return pvk_fail(e, PVK_E_USAGE,
				"--x-pcf and --x-scf cannot be combined with --enable-*/--disable-* options");
	if (a->dump.val == 1 && !a->cck && a->cckupd.val != 1)
		return pvk_fail(e, PVK_E_USAGE, "--enable-dump requires --cck or --enable-cck-update");
	if (a->cckext.val == 1 && !a->cck)
		return pvk_fail(e, PVK_E_USAGE, "--enable-cck-extension-secret requires --cck");
	if (a->cckext.val == 1 && a->cckupd.val == 1)
		return pvk_fail(e, PVK_E_USAGE,
				"--enable-cck-extension-secret conflicts with --enable-cck-update");
	if (a->image_key && a->enc.val == 0)
		return pvk_fail(e, PVK_E_USAGE, "--image-key conflicts with --disable-image-encryption");
	return 0;
}

static int create_run(struct create_args *a, int any_flag, struct pvk_err *e)
{
	uint8_t cck[32], hdr_key[32], image_key[64], iv[12], tweak[6];
	EVP_PKEY **keys = NULL;
	size_t nkeys = 0;
	int rc = -1;

	if (create_check(a, any_flag, e))
		return -1;
	a->o.pcf = flags_to_pcf(a);
	a->o.scf = (a->cckext.val == 1 ? SCF_CCK_EXTENSION_SECRET : 0) |
		   (a->cckupd.val == 1 ? SCF_CCK_UPDATE : 0);
	if (a->xpcf && pvk_parse_u64_hex(a->xpcf, &a->o.pcf))
		return pvk_fail(e, PVK_E_USAGE, "--x-pcf: '%s' is not a hex number of at most 16 digits",
				a->xpcf);
	if (a->xscf && pvk_parse_u64_hex(a->xscf, &a->o.scf))
		return pvk_fail(e, PVK_E_USAGE, "--x-scf: '%s' is not a hex number of at most 16 digits",
				a->xscf);
	if (a->psw) {
		if (pvk_parse_u64_hex(a->psw, &a->o.psw_addr) || a->o.psw_addr > 0x7fffffff)
			return pvk_fail(e, PVK_E_USAGE, "--x-psw: '%s' is not a 31-bit hex address", a->psw);
		a->o.have_psw_addr = 1;
	}
	if (a->iv_hex) {
		if (pvk_hex_decode(a->iv_hex, iv, sizeof(iv)))
			return pvk_fail(e, PVK_E_USAGE, "--x-header-iv: 24 hex digits expected");
		a->o.hdr_iv = iv;
	}
	if (a->tweak_hex) {
		if (pvk_hex_decode(a->tweak_hex, tweak, sizeof(tweak)))
			return pvk_fail(e, PVK_E_USAGE, "--x-tweak-bytes: 12 hex digits expected");
		a->o.tweak_bytes = tweak;
	}
	if (a->cck) {
		if (pvk_file_read_exact(a->cck, cck, 32, "the customer communication key", e))
			goto out;
		a->o.cck = cck;
	}
	if (a->hdr_key) {
		if (pvk_file_read_exact(a->hdr_key, hdr_key, 32, "the header key", e))
			goto out;
		a->o.hdr_key = hdr_key;
	}
	if (a->image_key) {
		if (pvk_file_read_exact(a->image_key, image_key, 64, "the image key", e))
			goto out;
		if (!memcmp(image_key, image_key + 32, 32)) {
			pvk_fail(e, PVK_E_FORMAT, "%s: invalid AES-XTS key: both halves are equal",
				 a->image_key);
			goto out;
		}
		a->o.image_key = image_key;
	}
	if (a->cust_key && load_cust_key(a->cust_key, &a->o.cust_key, e))
		goto out;
	if (a->certs.no_verify) {
		char w[128];

		cli_warn("%s", pvk_hostkey_noverify_warning("image", w, sizeof(w)));
	}
	if (pvk_hostkeys_load_verified(&a->certs, &keys, &nkeys, e))
		goto out;
	a->o.hosts = keys;
	a->o.n_hosts = nkeys;
	rc = pvk_seimg_create(&a->o, e);
	if (!rc)
		cli_info("Successfully generated the Secure Execution image '%s'", a->o.output);
out:
	pvk_hostkeys_free(keys, nkeys);
	EVP_PKEY_free(a->o.cust_key);
	OPENSSL_cleanse(cck, sizeof(cck));
	OPENSSL_cleanse(hdr_key, sizeof(hdr_key));
	OPENSSL_cleanse(image_key, sizeof(image_key));
	return rc;
}

static int cmd_create(int argc, char **argv, int legacy)
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
	struct create_args a;
	struct pvk_err e;
	int c, conflict = 0, any_flag = 0, rc;
	const char *once = NULL, *once_err = NULL;

	memset(&a, 0, sizeof(a));
	pvk_err_clear(&e);
	a.dump.val = a.cckext.val = a.cckupd.val = a.pckmo.val = -1;
	a.pckmo_hmac.val = a.backup.val = a.enc.val = -1;
	a.certs.log = cli_hkd_log;
	/* genprotimg always replaced its output; pvimg create asks for --overwrite. */
	a.o.overwrite = legacy;
	/* genprotimg takes --version only alone (as IBM's own_parse). */
	if (legacy && argc == 2 && !strcmp(argv[1], "--version")) {
		cli_version();
		return PVK_EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "i:r:p:o:" PVK_CERT_SHORTOPTS "vqh", longopts,
				NULL)) != -1) {
		rc = pvk_cert_opts_add(&a.certs, c, optarg, &e);
		if (rc < 0) {
			pvk_cert_opts_free(&a.certs);
			return cli_error(&e);
		}
		if (rc > 0)
			continue;
		switch (c) {
		case 'i': once = set_once(&a.o.kernel, "--image"); break;
		case 'r': once = set_once(&a.o.ramdisk, "--ramdisk"); break;
		case 'p': once = set_once(&a.o.parmfile, "--parmfile"); break;
		case 'o': once = set_once(&a.o.output, "--output"); break;
		case OPT_NO_COMP_CHECK: a.o.no_component_check = 1; break;
		case OPT_OVERWRITE: a.o.overwrite = 1; break;
		case OPT_CCK: once = set_once(&a.cck, "--cck"); break;
		case OPT_HDR_KEY: once = set_once(&a.hdr_key, "--hdr-key"); break;
		case OPT_IMAGE_KEY: once = set_once(&a.image_key, "--image-key"); break;
		case OPT_EN_DUMP: flag_set(&a.dump, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_DUMP: flag_set(&a.dump, 0, &conflict); any_flag = 1; break;
		case OPT_EN_CCKEXT: flag_set(&a.cckext, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_CCKEXT: flag_set(&a.cckext, 0, &conflict); any_flag = 1; break;
		case OPT_EN_CCKUPD: flag_set(&a.cckupd, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_CCKUPD: flag_set(&a.cckupd, 0, &conflict); any_flag = 1; break;
		case OPT_EN_PCKMO: flag_set(&a.pckmo, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_PCKMO: flag_set(&a.pckmo, 0, &conflict); any_flag = 1; break;
		case OPT_EN_PCKMO_HMAC: flag_set(&a.pckmo_hmac, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_PCKMO_HMAC: flag_set(&a.pckmo_hmac, 0, &conflict); any_flag = 1; break;
		case OPT_EN_BACKUP: flag_set(&a.backup, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_BACKUP: flag_set(&a.backup, 0, &conflict); any_flag = 1; break;
		case OPT_EN_ENC: flag_set(&a.enc, 1, &conflict); any_flag = 1; break;
		case OPT_DIS_ENC: flag_set(&a.enc, 0, &conflict); any_flag = 1; break;
		case OPT_X_BOOTDIR: once = set_once(&a.o.bootloader_dir, "--x-bootloader-directory"); break;
		case OPT_X_PSW: once = set_once(&a.psw, "--x-psw"); break;
		case OPT_X_PCF: once = set_once(&a.xpcf, "--x-pcf"); break;
		case OPT_X_SCF: once = set_once(&a.xscf, "--x-scf"); break;
		case OPT_X_CUST: once = set_once(&a.cust_key, "--x-cust-key"); break;
		case OPT_X_IV: once = set_once(&a.iv_hex, "--x-header-iv"); break;
		case OPT_X_TWEAK: once = set_once(&a.tweak_hex, "--x-tweak-bytes"); break;
		case 'q': cli_verbosity = -1; break;
		case 'v': cli_verbosity++; break;
		case OPT_VERSION:
			pvk_cert_opts_free(&a.certs);
			if (legacy)
				return cli_usage_error("unexpected argument '--version'");
			cli_version();
			return PVK_EXIT_OK;
		case 'h':
		case OPT_HELP_ALL:
		case OPT_HELP_EXP:
			if (c != OPT_HELP_EXP)
				printf(create_help, legacy ? cli_prog : "pvimg create");
			if (c != 'h')
				printf("\n%s", experimental_help);
			pvk_cert_opts_free(&a.certs);
			return PVK_EXIT_OK;
		default:
			pvk_cert_opts_free(&a.certs);
			return cli_usage_error("invalid option");
		}
		if (once && !once_err)
			once_err = once;
		once = NULL;
	}
	if (optind < argc) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (once_err) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("the argument '%s <FILE>' cannot be used multiple times", once_err);
	}
	if (conflict) {
		pvk_cert_opts_free(&a.certs);
		return cli_usage_error("an --enable-X option conflicts with its --disable-X option");
	}
	rc = create_run(&a, any_flag, &e);
	pvk_cert_opts_free(&a.certs);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

/* ---- info ---- */

enum info_format { FMT_TEXT, FMT_TEXT_FULL, FMT_JSON, FMT_JSON_MINIFY };

/* IBM's --format: KIND[:VARIANT], both case-insensitive; default is the kind's default. */
static int parse_format(const char *arg, enum info_format *out)
{
	const char *colon = strchr(arg, ':');
	size_t klen = colon ? (size_t)(colon - arg) : strlen(arg);
	const char *variant = colon ? colon + 1 : "default";
	int json;

	if (klen == 4 && !strncasecmp(arg, "text", 4))
		json = 0;
	else if (klen == 4 && !strncasecmp(arg, "json", 4))
		json = 1;
	else
		return -1;
	if (!strcasecmp(variant, "default"))
		*out = json ? FMT_JSON : FMT_TEXT;
	else if (!json && !strcasecmp(variant, "full"))
		*out = FMT_TEXT_FULL;
	else if (json && !strcasecmp(variant, "pretty"))
		*out = FMT_JSON;
	else if (json && !strcasecmp(variant, "minify"))
		*out = FMT_JSON_MINIFY;
	else
		return -1;
	return 0;
}

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

static int info_print(const struct sehdr *h, const struct sehdr_secrets *sec,
		      enum hdrinfo_state state, enum info_format fmt, struct pvk_err *e)
{
	char host[256] = "unknown", *json = NULL;
	struct hdrinfo_meta meta = { .version = PVKIT_VERSION, .host = host, .now = time(NULL) };
	int rc;

	if (fmt == FMT_TEXT || fmt == FMT_TEXT_FULL) {
		if (pvk_hdrinfo_write_text(stdout, h, sec, state, fmt == FMT_TEXT_FULL))
			return pvk_fail(e, PVK_E_IO, "standard output: %s", strerror(errno));
		return 0;
	}
	if (gethostname(host, sizeof(host) - 1))
		strcpy(host, "unknown");
	if (pvk_hdrinfo_json(h, sec, state, &meta, fmt == FMT_JSON_MINIFY, &json, e))
		return -1;
	rc = fputs(json, stdout) < 0 || fflush(stdout) ? -1 : 0;
	OPENSSL_cleanse(json, strlen(json));
	free(json);
	return rc ? pvk_fail(e, PVK_E_IO, "standard output: %s", strerror(errno)) : 0;
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
	const char *format = NULL, *key_path = NULL, *schema = NULL, *input;
	enum hdrinfo_state state = HDRINFO_NOT_VERIFIED;
	enum info_format fmt;
	struct sehdr_secrets sec;
	uint8_t key[32], *raw = NULL;
	int c, show = 0, rc = PVK_EXIT_ERROR;
	struct pvk_err e;
	struct sehdr h;
	uint64_t off;
	size_t len;

	pvk_err_clear(&e);
	memset(&sec, 0, sizeof(sec));
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
	input = argv[optind];
	if (show && !key_path)
		return cli_usage_error("--show-secrets requires --hdr-key");
	if (!format)
		fmt = isatty(STDOUT_FILENO) ? FMT_TEXT : FMT_JSON;
	else if (parse_format(format, &fmt))
		return cli_usage_error("invalid value '%s' for '--format <FORMAT>' (possible values: "
				       "text, text:full, json, json:pretty, json:minify)", format);
	if (pvk_sehdr_read_file(input, &raw, &len, &off, &e) || pvk_sehdr_parse_view(raw, len, &h, &e)) {
		if (!strstr(e.msg, input))
			pvk_wrap(&e, "%s", input);
		goto out;
	}
	if (key_path) {
		if (pvk_file_read_exact(key_path, key, 32, "the header key", &e))
			goto out;
		if (pvk_sehdr_decrypt(&h, key, &sec, &e)) {
			pvk_wrap(&e, "%s", input);
			goto out;
		}
		state = show ? HDRINFO_DECRYPTED : HDRINFO_VERIFIED;
	} else if (cli_verbosity >= 0) {
		fprintf(stderr, "WARNING: The Secure Execution header integrity and authenticity was "
			"not verified. Specify '--hdr-key' to authenticate it. Do not trust the data "
			"without verification.\n");
	}
	if (info_print(&h, &sec, state, fmt, &e))
		goto out;
	rc = PVK_EXIT_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&sec, sizeof(sec));
	free(raw);
	return rc == PVK_EXIT_OK ? rc : cli_error(&e);
}

/* ---- test ---- */

/* Read the host-key hashes file: at least 15 lines of 64 hex digits. *hashes is set only on
 * success; on failure nothing is left for the caller to free. */
static int key_hashes_load(const char *path, uint8_t (**hashes)[32], size_t *n, struct pvk_err *e)
{
	uint8_t *buf, (*h)[32];
	size_t len, cnt = 0;
	char *line, *save = NULL;
	int rc = 0;

	if (pvk_file_read_all(path, 1 << 20, &buf, &len, e))
		return -1;
	h = calloc(len / 64 + 1, 32);
	if (!h) {
		free(buf);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = 0;
		if (cnt > len / 64 || pvk_hex_decode(line, h[cnt], 32)) {
			rc = pvk_fail(e, PVK_E_FORMAT,
				      "%s: line %zu is not a 64-digit host-key hash", path, cnt + 1);
			break;
		}
		cnt++;
	}
	free(buf);
	if (!rc && cnt < 15)
		rc = pvk_fail(e, PVK_E_FORMAT, "%s: %zu host-key hashes, at least 15 lines expected",
			      path, cnt);
	if (rc) {
		free(h);
		return -1;
	}
	*hashes = h;
	*n = cnt;
	return 0;
}

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
	struct pvk_cert_opts certs = { 0 };
	char sysfs[4096];
	const char *hashes_path = NULL;
	uint8_t (*hashes)[32] = NULL, *raw = NULL;
	int c, want_hashes = 0, hashes_default = 0, pass_k = 1, pass_h = 1, rc = PVK_EXIT_ERROR;
	EVP_PKEY **keys = NULL;
	size_t nkeys = 0, nh = 0, len;
	struct pvk_err e;
	struct sehdr h;
	uint64_t off;

	pvk_err_clear(&e);
	certs.no_verify = 1;  /* a test only compares hashes: nothing is encrypted */
	while ((c = getopt_long(argc, argv, "k:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (pvk_cert_opts_add(&certs, PVK_OPT_HKD, optarg, &e) < 0)
				return cli_error(&e);
			break;
		case OPT_KEY_HASHES:
			want_hashes = 1;
			hashes_default = !optarg;
			hashes_path = optarg ? optarg
				      : pvk_uvdev_sysfs_path("firmware/uv/keys/all", sysfs, sizeof(sysfs));
			break;
		case 'v': cli_verbosity++; break;
		case 'q': cli_verbosity = -1; break;
		case 'h': printf(test_help, "pvimg"); pvk_cert_opts_free(&certs); return PVK_EXIT_OK;
		default: pvk_cert_opts_free(&certs); return cli_usage_error("invalid option");
		}
	}
	if (optind + 1 != argc || (!certs.n_hkds && !want_hashes)) {
		pvk_cert_opts_free(&certs);
		return cli_usage_error("INPUT and -k HKD or --key-hashes are required");
	}
	if (certs.n_hkds && want_hashes) {
		pvk_cert_opts_free(&certs);
		return cli_usage_error("the argument '--key-hashes[=<FILE>]' cannot be used with "
				       "'--host-key-document <FILE>'");
	}
	if (pvk_sehdr_read_file(argv[optind], &raw, &len, &off, &e) || pvk_sehdr_parse(raw, len, &h, &e)) {
		if (!strstr(e.msg, argv[optind]))
			pvk_wrap(&e, "%s", argv[optind]);
		goto out;
	}
	if (certs.n_hkds) {
		if (pvk_hostkeys_load_verified(&certs, &keys, &nkeys, &e))
			goto out;
		pass_k = 0;
		for (size_t i = 0; i < nkeys; i++) {
			uint8_t phkh[32];
			int in;

			if (pvk_ec_phkh(keys[i], phkh, &e))
				goto out;
			in = pvk_keyslot_find(h.keyslots, h.nks, phkh) >= 0;
			pass_k |= in;
			cli_note(" %s Host key document '%s' is %sincluded", in ? "\u2713" : "\u2718",
				    certs.hkds[i], in ? "" : "not ");
		}
	}
	if (want_hashes) {
		if (hashes_default && access(hashes_path, F_OK) && errno == ENOENT) {
			pvk_fail(&e, PVK_E_IO, "Support for query UV host key hashes is not available "
				 "(%s does not exist)", hashes_path);
			goto out;
		}
		if (key_hashes_load(hashes_path, &hashes, &nh, &e))
			goto out;
		pass_h = test_hashes(&h, hashes, nh);
	}
	rc = pass_k && pass_h ? PVK_EXIT_OK : PVK_EXIT_ERROR;
	free(raw);
	free(hashes);
	pvk_hostkeys_free(keys, nkeys);
	pvk_cert_opts_free(&certs);
	return rc;
out:
	free(raw);
	free(hashes);
	pvk_hostkeys_free(keys, nkeys);
	pvk_cert_opts_free(&certs);
	return cli_error(&e);
}

static int cmd_pvimg_create(int argc, char **argv)
{
	return cmd_create(argc, argv, 0);
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
		return cmd_create(argc, argv, 1);
	ret = cli_global_options(&argc, &argv, main_help);
	if (ret >= 0)
		return ret;
	return cli_dispatch(argc, argv, commands);
}
