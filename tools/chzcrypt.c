// SPDX-License-Identifier: MIT
/* chzcrypt, the Secure Execution subset: bind, associate and unbind an AP queue of an SE
 * guest (spec §7.2). Messages and exit codes as s390-tools' chzcrypt. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pvkit/apbus.h"
#include "zcrypt.h"

static const char help[] =
	"Usage: chzcrypt [OPTIONS] [DEVICE_IDS]\n"
	"\n"
	"Modify zcrypt configuration: the Secure Execution subset of pvkit. An AP queue of an\n"
	"SE guest with AP pass-through is bound to the guest, then (EP11) associated with an\n"
	"association secret of the ultravisor.\n"
	"\n"
	"      --se-bind                Bind the given queue device (XX.YYYY) to the guest\n"
	"      --se-associate INDEX     Associate the given queue device with the\n"
	"                               association secret INDEX (0..65535, 0x for hex)\n"
	"      --se-unbind              Unbind the given queue device (flush and reset it)\n"
	"  -V, --verbose                Print verbose messages\n"
	"  -h, --help                   Print this help, then exit\n"
	"  -v, --version                Print version information, then exit\n"
	"\n"
	"The other chzcrypt options (online/offline, config on/off, poll thread, timers,\n"
	"default domain) are not part of pvkit.\n"
	"\n"
	"The AP bus is read below $PVKIT_SYSFS_ROOT (default /sys).\n"
	"\n"
	"EXAMPLE:\n"
	"  chzcrypt --se-bind 28.0014\n"
	"  chzcrypt --se-associate 0 28.0014\n";

enum { OPT_SE_ASSOC = 0x82, OPT_SE_BIND, OPT_SE_UNBIND, OPT_UNSUPPORTED };

static int verbose;

/* The queue device: "XX.YYYY" read the way chzcrypt does (%02x.%04x), and present. */
static int queue(const char *dev, unsigned *card, unsigned *dom, const char *attr)
{
	char path[4096];

	if (sscanf(dev, "%02x.%04x", card, dom) != 2)
		return zcrypt_fail("Error - Can't parse queue device '%s' as xy.abcd.", dev);
	if (*card > 0xff || *dom > 0xffff || !pvk_apbus_queue_exists(*card, *dom))
		return zcrypt_fail("Error - Queue device %s does not exist.", dev);
	pvk_apbus_queue_path(path, sizeof(path), *card, *dom, attr);
	if (access(path, W_OK))
		return zcrypt_fail("Error - Can't write to %s (errno '%s').", path,
				   strerror(errno));
	return 0;
}

static int read_state(unsigned card, unsigned dom, const char *attr, char *buf, size_t len)
{
	struct pvk_err e;

	if (pvk_apbus_read_queue(card, dom, attr, buf, len, &e))
		return zcrypt_fail("Error - Failure reading from %s.", e.msg);
	return 0;
}

/* A settled "unassociated" after an associate: say what the guest can check. */
static void assoc_hint(unsigned card, unsigned dom)
{
	enum pvk_apbus_bind b;
	struct pvk_err e;

	if (!pvk_apbus_bind_state(card, dom, &b, &e) && b != APBUS_BIND_BOUND)
		fprintf(stderr, "%s: the queue is not bound: bind it first with --se-bind.\n",
			cli_prog);
	else
		fprintf(stderr,
			"%s: the index must be an association secret of this guest ('pvsecret list')"
			" that serves no other queue of this adapter.\n",
			cli_prog);
}

static int se_bind(const char *dev)
{
	unsigned card, dom;
	char buf[256];
	struct pvk_err e;

	if (queue(dev, &card, &dom, "se_bind") || read_state(card, dom, "se_bind", buf, sizeof(buf)))
		return EXIT_FAILURE;
	if (strcmp(buf, "unbound"))
		return zcrypt_fail("Error - Queue device %s is NOT in 'unbound' state (state '%s' "
				   "found).",
				   dev, buf);
	if (pvk_apbus_bind(card, dom, APBUS_CFG_TIMEOUT_MS, &e)) {
		if (read_state(card, dom, "se_bind", buf, sizeof(buf)))
			return EXIT_FAILURE;
		return zcrypt_fail("Error - Failure binding queue device %s (state '%s' found).",
				   dev, buf);
	}
	if (verbose)
		printf("Queue device %s successful bound.\n", dev);
	return EXIT_SUCCESS;
}

static int se_associate(const char *idx_s, const char *dev)
{
	unsigned card, dom;
	char buf[256];
	struct pvk_err e;
	int idx;

	if (queue(dev, &card, &dom, "se_associate"))
		return EXIT_FAILURE;
	if (sscanf(idx_s, "%i", &idx) != 1)
		return zcrypt_fail("Error - Can't parse association index '%s' as number.", idx_s);
	if (idx < 0 || idx > 0xffff)
		return zcrypt_fail("Error - Association index needs to be in range [0...%d].",
				   0xffff);
	if (read_state(card, dom, "se_associate", buf, sizeof(buf)))
		return EXIT_FAILURE;
	if (strcmp(buf, "unassociated"))
		return zcrypt_fail("Error - Queue device %s is NOT in 'unassociated' state "
				   "(state '%s' found).",
				   dev, buf);
	if (pvk_apbus_associate(card, dom, (unsigned)idx, APBUS_CHZ_TIMEOUT_MS, &e)) {
		enum apbus_assoc st;

		if (read_state(card, dom, "se_associate", buf, sizeof(buf)))
			return EXIT_FAILURE;
		st = pvk_apbus_parse_assoc(buf, NULL);
		if (st == APBUS_ASSOC_PENDING || st == APBUS_ASSOC_OTHER)
			return zcrypt_fail("Error - Failure associating queue device %s (timeout "
					   "after %u s).",
					   dev, APBUS_CHZ_TIMEOUT_MS / 1000);
		zcrypt_fail("Error - Failure associating queue device %s (state '%s' found).", dev,
			    buf);
		if (st == APBUS_ASSOC_UNASSOCIATED)
			assoc_hint(card, dom);
		return EXIT_FAILURE;
	}
	if (verbose)
		printf("Queue device %s successful associated with index %d.\n", dev, idx);
	return EXIT_SUCCESS;
}

static int se_unbind(const char *dev)
{
	unsigned card, dom;
	struct pvk_err e;

	if (queue(dev, &card, &dom, "se_bind"))
		return EXIT_FAILURE;
	if (pvk_apbus_unbind(card, dom, APBUS_CHZ_TIMEOUT_MS, &e)) {
		char buf[256];

		if (read_state(card, dom, "se_bind", buf, sizeof(buf)))
			return EXIT_FAILURE;
		if (pvk_apbus_parse_bind(buf) == APBUS_BIND_UNSUPPORTED)
			return zcrypt_fail("Error - Failure unbinding queue device %s (state '%s' "
					   "found).",
					   dev, buf);
		return zcrypt_fail("Error - Failure unbinding queue device %s (timeout after "
				   "%u s).",
				   dev, APBUS_CHZ_TIMEOUT_MS / 1000);
	}
	if (verbose)
		printf("Queue device %s successful unbound.\n", dev);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "se-associate", required_argument, NULL, OPT_SE_ASSOC },
		{ "se-bind", no_argument, NULL, OPT_SE_BIND },
		{ "se-unbind", no_argument, NULL, OPT_SE_UNBIND },
		{ "verbose", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		/* the rest of chzcrypt: recognised, not implemented */
		{ "enable", no_argument, NULL, OPT_UNSUPPORTED },
		{ "disable", no_argument, NULL, OPT_UNSUPPORTED },
		{ "all", no_argument, NULL, OPT_UNSUPPORTED },
		{ "config-on", no_argument, NULL, OPT_UNSUPPORTED },
		{ "config-off", no_argument, NULL, OPT_UNSUPPORTED },
		{ "poll-thread-enable", no_argument, NULL, OPT_UNSUPPORTED },
		{ "poll-thread-disable", no_argument, NULL, OPT_UNSUPPORTED },
		{ "config-time", required_argument, NULL, OPT_UNSUPPORTED },
		{ "poll-timeout", required_argument, NULL, OPT_UNSUPPORTED },
		{ "default-domain", required_argument, NULL, OPT_UNSUPPORTED },
		{ NULL, 0, NULL, 0 },
	};
	const char *assoc_idx = NULL, *unsupported = NULL;
	int c, action = 0;

	cli_init(argv[0], "chzcrypt");
	/* chzcrypt accepts '_' for '-' in long options (--se_bind). */
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] == '-')
			for (char *p = argv[i] + 2; *p && *p != '='; p++)
				if (*p == '_')
					*p = '-';
	while ((c = getopt_long(argc, argv, "edapnc:t:q:Vhv", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SE_ASSOC:
			action = c;
			assoc_idx = optarg;
			break;
		case OPT_SE_BIND:
		case OPT_SE_UNBIND:
			action = c;
			break;
		case 'V':
			verbose = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_SUCCESS;
		case 'v':
			cli_version();
			return EXIT_SUCCESS;
		case '?':
			return zcrypt_try_help();
		default:
			unsupported = argv[optind - 1];
			break;
		}
	}
	if (unsupported)
		return zcrypt_fail("Error - option '%s' is not part of pvkit's chzcrypt (only "
				   "--se-bind, --se-associate and --se-unbind are).",
				   unsupported);
	if (!action) {
		zcrypt_fail("Error - missing argument.");
		return zcrypt_try_help();
	}
	if (!pvk_apbus_present())
		return zcrypt_fail("Crypto device driver not available.");
	if (optind >= argc)
		return zcrypt_fail("Error - The --%s needs a queue device given.",
				   action == OPT_SE_ASSOC ? "se-associate" :
				   action == OPT_SE_BIND ? "se-bind" : "se-unbind");
	if (!pvk_apbus_has_feature("APSB"))
		return zcrypt_fail("Error - AP bus: SE bind support is not available.");
	if (action == OPT_SE_ASSOC)
		return se_associate(assoc_idx, argv[optind]);
	if (action == OPT_SE_BIND)
		return se_bind(argv[optind]);
	return se_unbind(argv[optind]);
}
