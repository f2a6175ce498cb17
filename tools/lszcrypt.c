// SPDX-License-Identifier: MIT
/* lszcrypt, the subset pvkit ships: the card/queue listing with the SE bind state column
 * (SESTAT, -V), a queue's SE bind and association state (-c), the serial numbers (-s).
 * Output layout as s390-tools' lszcrypt (spec §7.3). */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pvkit/apbus.h"
#include "pvkit/apview.h"
#include "zcrypt.h"

static const char help[] =
	"Usage: lszcrypt [OPTIONS] [DEVICE_IDS]\n"
	"\n"
	"Display zcrypt device and configuration information: the subset of pvkit, with the\n"
	"Secure Execution state of each AP queue.\n"
	"\n"
	"  -c, --capability DEVICE_ID   Show the capabilities of a cryptographic device; for a\n"
	"                               queue also its SE bind and association state\n"
	"  -s, --serial                 Show the serial numbers of CCA and EP11 cards\n"
	"  -V, --verbose                Print verbose messages (more columns, among them\n"
	"                               SESTAT in an SE guest with AP pass-through)\n"
	"      --accelonly              Show only cards/queues in Accelerator mode\n"
	"      --ccaonly                Show only cards/queues in CCA-Coprocessor mode\n"
	"      --ep11only               Show only cards/queues in EP11-Coprocessor mode\n"
	"      --cardonly               Show only cards, no queues\n"
	"      --queueonly              Show only queues, no cards\n"
	"  -h, --help                   Print this help, then exit\n"
	"  -v, --version                Print version information, then exit\n"
	"\n"
	"DEVICE_IDS\n"
	"  Card ids ('<card-id>'), queue ids ('<card-id>.<domain-id>'), or '.<domain-id>'\n"
	"  for that domain of every card, separated by blanks. None: all devices.\n"
	"\n"
	"SESTAT: usable (bound and associated, or a bound accelerator), bound (not yet\n"
	"associated), unbound (available for binding), illicit (not for this guest), invalid,\n"
	"error. The AP bus is read below $PVKIT_SYSFS_ROOT (default /sys). --bus and\n"
	"--domains of s390-tools' lszcrypt are not part of pvkit.\n";

enum { OPT_ACCELONLY = 0x81, OPT_CCAONLY, OPT_EP11ONLY, OPT_CARDONLY, OPT_QUEUEONLY,
       OPT_UNSUPPORTED };

#define FUNC_RSA4K 0x60000000ul
#define FUNC_HSL 0x01000000ul
#define FUNC_FULL 0x00800000ul
#define FUNC_STATELESS 0x00400000ul

static struct {
	int verbose, accel, cca, ep11, card, queue, sb;
} l;

/* ---- a "wide" record: columns of fixed width, left or right aligned ---- */

struct col {
	const char *key, *hdr;
	int width, right;
	char val[128];
};

struct rec {
	struct col c[12];
	int n;
};

static void rec_def(struct rec *r, const char *key, int right, int width, const char *hdr)
{
	struct col *c = &r->c[r->n++];

	c->key = key;
	c->hdr = hdr;
	c->width = width;
	c->right = right;
	c->val[0] = 0;
}

static void rec_set(struct rec *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void rec_set(struct rec *r, const char *key, const char *fmt, ...)
{
	va_list ap;

	for (int i = 0; i < r->n; i++) {
		if (strcmp(r->c[i].key, key))
			continue;
		va_start(ap, fmt);
		vsnprintf(r->c[i].val, sizeof(r->c[i].val), fmt, ap);
		va_end(ap);
		return;
	}
}

static void rec_line(const struct rec *r, int hdr)
{
	int total = 0;

	for (int i = 0; i < r->n; i++) {
		const char *v = hdr ? r->c[i].hdr : r->c[i].val;

		if (i)
			putchar(' ');
		printf(r->c[i].right ? "%*s" : "%-*s", r->c[i].width, v);
		total += r->c[i].width + (i ? 1 : 0);
	}
	putchar('\n');
	if (hdr) {
		for (int i = 0; i < total; i++)
			putchar('-');
		putchar('\n');
	}
}

static int shown_mode(int t)
{
	return !((t == 'A' && !l.accel) || (t == 'C' && !l.cca) || (t == 'P' && !l.ep11));
}

/* The record's columns from the library's view of card (and queue dom >= 0). */
static void fill(struct rec *r, unsigned card, int dom)
{
	struct pvk_apview v;

	pvk_apview_read(card, dom, l.verbose, &v);
	rec_set(r, "type", "%s", v.type);
	rec_set(r, "mode", "%s", v.mode);
	rec_set(r, "status", "%s", v.status);
	rec_set(r, "requests", "%s", v.requests);
	if (!l.verbose)
		return;
	rec_set(r, "pending", "%s", v.pending);
	rec_set(r, "hwtype", "%s", v.hwtype);
	rec_set(r, "depth", "%s", v.depth);
	rec_set(r, "facility", "%s", v.functions);
	rec_set(r, "driver", "%s", v.driver);
	rec_set(r, "sestat", "%s", v.sestat);
}

static void define(struct rec *r)
{
	r->n = 0;
	rec_def(r, "card", 0, 8, "CARD.DOM");
	rec_def(r, "type", 0, 5, "TYPE");
	rec_def(r, "mode", 0, 11, "MODE");
	rec_def(r, "status", 0, 10, "STATUS");
	rec_def(r, "requests", 1, 8, "REQUESTS");
	if (!l.verbose)
		return;
	rec_def(r, "pending", 1, 8, "PENDING");
	rec_def(r, "hwtype", 1, 6, "HWTYPE");
	rec_def(r, "depth", 1, 6, "QDEPTH");
	rec_def(r, "facility", 0, 10, "FUNCTIONS");
	rec_def(r, "driver", 0, 11, "DRIVER");
	if (l.sb)
		rec_def(r, "sestat", 0, 11, "SESTAT");
}

static void show_queue(struct rec *r, unsigned card, unsigned dom)
{
	if (!pvk_apbus_queue_exists(card, dom)) {
		zcrypt_fail("Error - cryptographic device card%02x/%02x.%04x does not exist.", card,
			    card, dom);
		exit(EXIT_FAILURE);
	}
	if ((!l.verbose && !pvk_apview_listed(card, (int)dom)) || !l.queue)
		return;
	if (!shown_mode(pvk_apview_type_char(card)))
		return;
	rec_set(r, "card", "%02x.%04x", card, dom);
	fill(r, card, (int)dom);
	rec_line(r, 0);
}

static void show_card(struct rec *r, unsigned card)
{
	unsigned doms[APBUS_MAX_DOMAINS];
	char path[4096];
	struct pvk_err e;
	size_t n = 0;

	if (access(pvk_apbus_path(path, sizeof(path), "devices/ap/card%02x", card), F_OK)) {
		zcrypt_fail("Error - cryptographic device card%02x does not exist.", card);
		exit(EXIT_FAILURE);
	}
	if (!l.verbose && !pvk_apview_listed(card, -1))
		return;
	if (!shown_mode(pvk_apview_type_char(card)))
		return;
	rec_set(r, "card", "%02x", card);
	fill(r, card, -1);
	if (l.card)
		rec_line(r, 0);
	if (!l.queue)
		return;
	if (pvk_apbus_queues(card, doms, APBUS_MAX_DOMAINS, &n, &e) || !n) {
		zcrypt_fail("Error - no subdevices found for card%02x.", card);
		exit(EXIT_FAILURE);
	}
	for (size_t i = 0; i < n; i++)
		show_queue(r, card, doms[i]);
}

static int mask_bit(const char *mask, long bit)
{
	if (mask[0] == '0' && mask[1] == 'x')
		mask += 2;
	while (*mask && bit >= 4) {
		mask++;
		bit -= 4;
	}
	if (*mask >= '0' && *mask <= '9')
		return ((*mask - '0') & (0x08 >> bit)) ? 1 : 0;
	if (*mask >= 'a' && *mask <= 'f')
		return ((*mask - 'a' + 10) & (0x08 >> bit)) ? 1 : 0;
	if (*mask >= 'A' && *mask <= 'F')
		return ((*mask - 'A' + 10) & (0x08 >> bit)) ? 1 : 0;
	return -1;
}

static int show_all(void)
{
	unsigned cards[APBUS_MAX_CARDS];
	char p[4096], mask[128], buf[64];
	struct pvk_err e;
	struct rec r;
	size_t n = 0;
	FILE *f;

	define(&r);
	pvk_apbus_cards(cards, APBUS_MAX_CARDS, &n, &e);
	rec_line(&r, 1);
	for (size_t i = 0; i < n; i++)
		show_card(&r, cards[i]);
	f = fopen(pvk_apbus_path(p, sizeof(p), "bus/ap/ap_usage_domain_mask"), "re");
	if (f) {
		if (fgets(mask, sizeof(mask), f)) {
			FILE *d = fopen(pvk_apbus_path(p, sizeof(p), "bus/ap/ap_domain"), "re");

			if (d && fgets(buf, sizeof(buf), d)) {
				long dom = strtol(buf, NULL, 10);

				if (dom < 0 || mask_bit(mask, dom) < 1)
					printf("Warning: Default domain 0x%02lx is not available.\n", dom);
			}
			if (d)
				fclose(d);
		}
		fclose(f);
	}
	return EXIT_SUCCESS;
}

static int show_ids(int argc, char **argv)
{
	struct rec r;

	define(&r);
	rec_line(&r, 1);
	for (int i = 0; i < argc; i++) {
		int id = -1, dom = -1;

		if (sscanf(argv[i], "%x.%x", &id, &dom) >= 1) {
			if (id < 0 || id > 0xff || dom > 0xffff) {
				printf("Invalid adpater id!\n");
				continue;
			}
			if (dom >= 0)
				show_queue(&r, (unsigned)id, (unsigned)dom);
			else
				show_card(&r, (unsigned)id);
			continue;
		}
		if (argv[i][0] == '.' && sscanf(argv[i] + 1, "%x", &dom) == 1) {
			unsigned cards[APBUS_MAX_CARDS];
			struct pvk_err e;
			size_t n = 0;

			if (pvk_apbus_cards(cards, APBUS_MAX_CARDS, &n, &e) || !n)
				return zcrypt_fail("No crypto card devices found.");
			for (size_t c = 0; c < n; c++) {
				if (!pvk_apbus_queue_exists(cards[c], (unsigned)dom))
					return zcrypt_fail(
						"No queue devices with given domain value found.");
				show_queue(&r, cards[c], (unsigned)dom);
			}
			continue;
		}
		printf("Invalid adpater id!\n");
	}
	return EXIT_SUCCESS;
}

static int show_queue_capability(unsigned id, unsigned dom)
{
	char rel[64], buf[256], path[4096];
	FILE *f;

	if (!pvk_apbus_queue_exists(id, dom))
		return zcrypt_fail("Error - cryptographic queue device %02x.%04x does not exist.",
				   id, dom);
	printf("queue %02x.%04x capabilities:\n", id, dom);
	snprintf(rel, sizeof(rel), "card%02x/%02x.%04x/se_bind", id, id, dom);
	if (pvk_apview_attr_readable("%s", rel))
		printf("SE bind state: %s\n",
		       pvk_apview_attr(buf, sizeof(buf), "%s", rel) ? "error" : buf);
	snprintf(rel, sizeof(rel), "card%02x/%02x.%04x/se_associate", id, id, dom);
	if (pvk_apview_attr_readable("%s", rel))
		printf("SE association state: %s\n",
		       pvk_apview_attr(buf, sizeof(buf), "%s", rel) ? "error" : buf);
	pvk_apbus_queue_path(path, sizeof(path), id, dom, "mkvps");
	f = fopen(path, "re");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (strstr(buf, "WK CUR") || strstr(buf, "AES CUR") ||
			    strstr(buf, "APKA CUR") || strstr(buf, "ASYM CUR"))
				printf("MK %s", buf);
		fclose(f);
	}
	return EXIT_SUCCESS;
}

static int show_card_capability(unsigned id)
{
	struct pvk_apview_caps caps;
	char cn[16], path[4096];
	const char *cls = "";
	unsigned long f;
	long hwtype;

	snprintf(cn, sizeof(cn), "card%02x", id);
	if (access(pvk_apbus_path(path, sizeof(path), "devices/ap/%s", cn), F_OK))
		return zcrypt_fail("Error - cryptographic device %s does not exist.", cn);
	pvk_apview_card_caps(id, &caps);
	f = caps.functions;
	hwtype = caps.hwtype;
	if (f & FUNC_FULL)
		cls = "full function set";
	else if (f & FUNC_STATELESS)
		cls = "restricted function set";
	if (hwtype < 10 || hwtype > 14) {
		printf("Detailed capability information for %s (hardware type %ld) is not "
		       "available.\n",
		       cn, hwtype);
		return EXIT_SUCCESS;
	}
	printf("%s provides capability for:\n", cn);
	if (f & APBUS_FUNC_ACCEL) {
		printf("%s\n", f & FUNC_RSA4K ? "RSA 4K Clear Key" : "RSA 2K Clear Key");
	} else if (f & APBUS_FUNC_COPRO) {
		printf("RSA 4K Clear Key\n");
		if (*cls)
			printf("CCA Secure Key (%s)\n", cls);
		else
			printf("CCA Secure Key\n");
		if (f & FUNC_HSL)
			printf("Hardware support for stateless filtering\n");
		printf("Long RNG\n");
	} else if (f & APBUS_FUNC_EP11) {
		printf("EP11 Secure Key\n");
	} else {
		printf("Detailed capability information for %s (hardware type %ld) is not "
		       "available.\n",
		       cn, hwtype);
	}
	if (caps.max_msg_size > 0)
		printf("AP bus max message size limit %ld Kb\n", caps.max_msg_size / 1024);
	return EXIT_SUCCESS;
}

static int show_capability(const char *s)
{
	int id, dom;
	char *end;
	long v;

	if (sscanf(s, "%x.%x", &id, &dom) == 2)
		return show_queue_capability((unsigned)id & 0xff, (unsigned)dom & 0xffff);
	v = strtol(s, &end, 0);
	if (v < 0 || v > 255 || end == s || *end)
		return zcrypt_fail("Error - '%s' is an invalid cryptographic device id.", s);
	return show_card_capability((unsigned)v);
}

static int show_serial(void)
{
	unsigned cards[APBUS_MAX_CARDS];
	struct pvk_err e;
	struct rec r;
	size_t n = 0;

	r.n = 0;
	rec_def(&r, "card", 0, 8, "CARD.DOM");
	rec_def(&r, "type", 0, 5, "TYPE");
	rec_def(&r, "mode", 0, 11, "MODE");
	rec_def(&r, "status", 0, 10, "STATUS");
	rec_def(&r, "serialnr", 0, 8, "SERIALNR");
	if (pvk_apbus_cards(cards, APBUS_MAX_CARDS, &n, &e) || !n)
		return zcrypt_fail("No crypto card devices found.");
	rec_line(&r, 1);
	for (size_t i = 0; i < n; i++) {
		struct pvk_apview_caps caps;
		char buf[128];

		if (!pvk_apview_attr_readable("card%02x/online", cards[i]))
			continue;
		pvk_apview_card_caps(cards[i], &caps);
		if (!(caps.functions & (APBUS_FUNC_COPRO | APBUS_FUNC_EP11)))
			continue;
		rec_set(&r, "card", "%02x", cards[i]);
		fill(&r, cards[i], -1);
		if (pvk_apview_attr(buf, sizeof(buf), "card%02x/serialnr", cards[i]) || !buf[0]) {
			rec_set(&r, "serialnr", "-");
		} else {
			buf[8] = 0;  /* as s390-tools' lszcrypt: the first 8 characters */
			rec_set(&r, "serialnr", "%s", buf);
		}
		rec_line(&r, 0);
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "capability", required_argument, NULL, 'c' },
		{ "serial", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "accelonly", no_argument, NULL, OPT_ACCELONLY },
		{ "ccaonly", no_argument, NULL, OPT_CCAONLY },
		{ "ep11only", no_argument, NULL, OPT_EP11ONLY },
		{ "cardonly", no_argument, NULL, OPT_CARDONLY },
		{ "queueonly", no_argument, NULL, OPT_QUEUEONLY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "bus", no_argument, NULL, 'b' },
		{ "domains", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cap = NULL;
	int c, serial = 0;

	cli_init(argv[0], "lszcrypt");
	while ((c = getopt_long(argc, argv, "bc:dsVhv", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
		case 'd':
			return zcrypt_fail("Error - option '%s' is not part of pvkit's lszcrypt.",
					   argv[optind - 1]);
		case 'c': cap = optarg; break;
		case 's': serial = 1; break;
		case 'V': l.verbose++; break;
		case OPT_ACCELONLY: l.accel = 1; break;
		case OPT_CCAONLY: l.cca = 1; break;
		case OPT_EP11ONLY: l.ep11 = 1; break;
		case OPT_CARDONLY: l.card = 1; break;
		case OPT_QUEUEONLY: l.queue = 1; break;
		case 'h': fputs(help, stdout); return EXIT_SUCCESS;
		case 'v': cli_version(); return EXIT_SUCCESS;
		default:
			return zcrypt_try_help();
		}
	}
	if (!pvk_apbus_present())
		return zcrypt_fail("Crypto device driver not available.");
	if (cap)
		return show_capability(cap);
	if (serial)
		return show_serial();
	switch (l.accel + l.cca + l.ep11) {
	case 0: l.accel = l.cca = l.ep11 = 1; break;
	case 1: break;
	default:
		return zcrypt_fail(
			"Only one of --accelonly or --ccaonly or --ep11only can be specified");
	}
	switch (l.card + l.queue) {
	case 0: l.card = l.queue = 1; break;
	case 1: break;
	default: return zcrypt_fail("Only one of --cardonly or --queueonly can be specified");
	}
	l.sb = pvk_apbus_has_feature("APSB");
	return optind == argc ? show_all() : show_ids(argc - optind, argv + optind);
}
