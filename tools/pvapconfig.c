// SPDX-License-Identifier: MIT
/* pvapconfig: make the AP queues of a Secure Execution guest match a YAML configuration
 * (spec §7.4-7.6, §10.4): bind accelerator queues, bind and associate EP11 queues with the
 * UV's association secrets, unbind the queues no entry asks for. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pvkit/apbus.h"
#include "pvkit/apconfig.h"
#include "pvkit/fileio.h"
#include "pvkit/uvdev.h"

#define LOCK_DEFAULT "/run/lock/pvapconfig.lock"
#define LOCK_ENV "PVKIT_PVAPCONFIG_LOCK"

static const char help[] =
	"Usage: pvapconfig [OPTIONS]\n"
	"\n"
	"Make the AP queues (Crypto Express adapter domains) of an IBM Secure Execution guest\n"
	"match the entries of a YAML configuration: bind accelerator queues, bind EP11 queues\n"
	"and associate them with the ultravisor's association secrets, unbind the queues no\n"
	"entry asks for.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   The configuration (default " APCFG_DEFAULT_FILE ")\n"
	"  -n, --dry-run       Print the actions (bind, associate, unbind), perform none\n"
	"  -s, --strict        Every entry must be satisfied (default: at least one)\n"
	"      --unbind        Unbind every bound AP queue (no configuration is read)\n"
	"  -v, --verbose       Print more\n"
	"  -V, --version       Print the version\n"
	"  -h, --help          Print this help\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 bad command line.\n"
	"The UV device is /dev/uv, or what $PVKIT_UV_DEVICE names; the AP bus is read below\n"
	"$PVKIT_SYSFS_ROOT (default /sys). Lock file " LOCK_DEFAULT " (or $" LOCK_ENV ").\n";

static struct {
	const char *config;
	int dry_run, strict, unbind, verbose;
} o;

/* One pvapconfig at a time: the lock file holds its PID. */
static int lock(void)
{
	const char *env = getenv(LOCK_ENV);
	struct pvk_err e;

	if (pvk_pidlock_acquire(env && *env ? env : LOCK_DEFAULT, "pvapconfig", &cli_log, &e)) {
		cli_error(&e);
		return -1;
	}
	return 0;
}

static int err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PVK_EXIT_ERROR;
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void info(const char *fmt, ...)
{
	va_list ap;

	if (!o.verbose)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void on_log(void *ctx, enum apcfg_log level, const char *msg)
{
	(void)ctx;
	if (level == APCFG_LOG_WARN)
		cli_warn("%s", msg);
	else if (o.verbose || (level == APCFG_LOG_ACTION && o.dry_run))
		printf("%s%s\n", level == APCFG_LOG_ACTION && o.dry_run ? "Dry run: " : "", msg);
	fflush(stdout);
}

/* ---- environment checks ---- */

static int read_sysfs_line(const char *rel, char *buf, size_t len)
{
	char p[4096];
	FILE *f = fopen(pvk_uvdev_sysfs_path(rel, p, sizeof(p)), "re");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int check_environment(void)
{
	char buf[256], p[4096];
	const char *hex;
	int nib;

	info("Checking AP bus support and facilities...");
	if (!pvk_apbus_present())
		return err_msg("AP bus support missing (path %s is invalid).",
			       pvk_apbus_path(p, sizeof(p), "bus/ap"));
	if (read_sysfs_line("bus/ap/features", buf, sizeof(buf)))
		return err_msg("cannot read the AP bus features (%s).",
			       pvk_apbus_path(p, sizeof(p), "bus/ap/features"));
	if (!pvk_apbus_has_feature("APSB"))
		return err_msg("Missing AP bus feature APSB (SE AP pass-through not enabled?).");
	info("AP bus support and facilities are ok.");
	info("Checking UV support and environment...");
	if (read_sysfs_line("firmware/uv/prot_virt_guest", buf, sizeof(buf)) || strcmp(buf, "1"))
		return err_msg("this is not a SE guest.");
	if (read_sysfs_line("firmware/uv/query/facilities", buf, sizeof(buf)))
		return err_msg("cannot read the UV facilities (%s).",
			       pvk_uvdev_sysfs_path("firmware/uv/query/facilities", p, sizeof(p)));
	/* bit 30 (MSB0) of the installed UV calls: List Secrets */
	hex = buf[0] == '0' && buf[1] == 'x' ? buf + 2 : buf;
	if (strlen(hex) < 8 || !isxdigit((unsigned char)hex[7]))
		return err_msg("Failure parsing UV facilities entry '%s'.", buf);
	nib = isdigit((unsigned char)hex[7]) ? hex[7] - '0'
					     : tolower((unsigned char)hex[7]) - 'a' + 10;
	if (!(nib & 0x2))
		return err_msg("The 'list secret' feature is missing on this UV.");
	info("UV support and environment is ok.");
	return 0;
}

static int gather_secrets(struct apcfg_secret **s, size_t *n)
{
	uint8_t buf[UVIO_LIST_PAGE];
	struct uvdev_rc rc = { 0, 0 };
	struct uvdev *d;
	struct pvk_err e;
	int more, r;

	pvk_err_clear(&e);
	info("Fetching list of secrets from UV...");
	if (pvk_uvdev_open(NULL, &d, &e))
		return err_msg("Failed to open UV device: %s", e.msg);
	memset(buf, 0, sizeof(buf));
	r = pvk_uvdev_list_secrets(d, buf, sizeof(buf), &rc, &e);
	pvk_uvdev_close(d);
	if (r)
		return err_msg("Failure listing the UV secrets: %s", e.msg);
	if (rc.rc != UVC_RC_SUCCESS && rc.rc != UVC_RC_MORE_DATA)
		return err_msg("Failure listing the UV secrets: UV rc 0x%04x, rrc 0x%04x", rc.rc,
			       rc.rrc);
	if (pvk_apcfg_parse_secrets(buf, sizeof(buf), s, n, &more, &e))
		return err_msg("%s", e.msg);
	if (rc.rc == UVC_RC_MORE_DATA || more)
		cli_warn("There is more data available than expected: only the first %zu UV "
			 "secrets are used.",
			 *n);
	info("Fetched %zu Secret entries from UV.", *n);
	return 0;
}

static int wait_bindings(void)
{
	for (unsigned i = 1;; i++) {
		struct pvk_err e;
		struct timespec ts = { 0, 500 * 1000 * 1000 };
		int r = pvk_apbus_bindings_complete(&e);

		if (r < 0)
			return err_msg("%s", e.msg);
		if (r)
			return 0;
		nanosleep(&ts, NULL);
		if (i % 10 == 0)
			printf("Waiting for AP bus bindings complete.\n");
	}
}

/* Serial number and MKVP of an EP11 queue; within an SE guest only a bound queue answers,
 * so an unbound one is bound for the moment and unbound again. -1: skip the queue. */
static int ep11_info(struct apcfg_apqn *q)
{
	char buf[1024];
	enum pvk_apbus_bind st;
	struct pvk_err e;
	int temp = 0, ok = 1;

	if (pvk_apbus_bind_state(q->card, q->dom, &st, &e)) {
		fprintf(stderr, "%s: error: Failure reading APQN %02x.%04x bind state: %s\n",
			cli_prog, q->card, q->dom, e.msg);
		st = APBUS_BIND_UNSUPPORTED;
	}
	if (st == APBUS_BIND_UNBOUND) {
		if (pvk_apbus_bind(q->card, q->dom, APBUS_CFG_TIMEOUT_MS, &e)) {
			cli_warn("Failure to temp. bind APQN %02x.%04x: %s", q->card, q->dom, e.msg);
			return -1;
		}
		temp = 1;
	}
	if (pvk_apbus_read_card(q->card, "serialnr", buf, sizeof(buf), &e)) {
		ok = 0;
	} else {
		snprintf(q->serialnr, sizeof(q->serialnr), "%.16s", buf);
		if (pvk_apbus_read_queue_all(q->card, q->dom, "mkvps", buf, sizeof(buf), &e))
			ok = 0;
		else if (pvk_apbus_parse_mkvp(buf, "WK", q->mkvp)) {
			pvk_fail(&e, PVK_E_FORMAT,
				 "APQN %02x.%04x failure parsing mkvps string '%.100s'", q->card,
				 q->dom, buf);
			ok = 0;
		}
	}
	if (!ok)
		cli_warn("Failure to gather info for APQN %02x.%04x: %s", q->card, q->dom, e.msg);
	q->info = ok;
	if (temp && pvk_apbus_unbind(q->card, q->dom, APBUS_CFG_TIMEOUT_MS, &e))
		cli_warn("Failure to unbind temp. bound APQN %02x.%04x: %s", q->card, q->dom, e.msg);
	if (ok && !*q->mkvp)
		cli_warn("APQN %02x.%04x has no valid wrapping key set.", q->card, q->dom);
	return 0;
}

static int gather_apqns(struct apcfg_apqn **out, size_t *nout)
{
	unsigned cards[APBUS_MAX_CARDS];
	struct apcfg_apqn *v = NULL;
	size_t nc = 0, n = 0;
	struct pvk_err e;

	info("Fetching list of available APQNs...");
	if (pvk_apbus_cards(cards, APBUS_MAX_CARDS, &nc, &e))
		return err_msg("Failure reading AP devices: %s", e.msg);
	for (size_t i = 0; i < nc; i++) {
		unsigned doms[APBUS_MAX_DOMAINS];
		char type[64];
		enum apbus_mode mode;
		size_t nd = 0;
		int gen;

		if (pvk_apbus_read_card(cards[i], "type", type, sizeof(type), &e)) {
			free(v);
			return err_msg("%s", e.msg);
		}
		if (pvk_apbus_parse_type(type, &gen, &mode)) {
			free(v);
			return err_msg("Failure parsing card type string '%s'.", type);
		}
		if (mode == APBUS_MODE_CCA) {
			info("Card %02x (%s) skipped: CCA queues are not usable in an SE guest.",
			     cards[i], type);
			continue;
		}
		if (pvk_apbus_queues(cards[i], doms, APBUS_MAX_DOMAINS, &nd, &e)) {
			free(v);
			return err_msg("Failure reading AP queue directories: %s", e.msg);
		}
		for (size_t j = 0; j < nd; j++) {
			struct apcfg_apqn q;
			char online[16];

			if (pvk_apbus_read_queue(cards[i], doms[j], "online", online, sizeof(online), &e) ||
			    strcmp(online, "1"))
				continue;
			/* pvkit: an illicit queue (BS 3) cannot be bound by this guest; IBM's
			 * pvapconfig would try and stop at the refused bind. */
			{
				unsigned long f;

				if (!pvk_apbus_queue_functions(cards[i], doms[j], &f, &e) &&
				    f && APBUS_BS(f) == APBUS_BS_ILLICIT) {
					cli_warn("APQN %02x.%04x is illicit for this guest: skipped.",
						 cards[i], doms[j]);
					continue;
				}
			}
			memset(&q, 0, sizeof(q));
			q.card = cards[i];
			q.dom = doms[j];
			q.gen = gen;
			q.mode = mode;
			if (mode == APBUS_MODE_EP11 && !o.unbind && ep11_info(&q))
				continue;
			{
				struct apcfg_apqn *nv = realloc(v, (n + 1) * sizeof(*v));

				if (!nv) {
					free(v);
					return err_msg("out of memory");
				}
				v = nv;
			}
			v[n++] = q;
		}
	}
	*out = v;
	*nout = n;
	return 0;
}

static int run(void)
{
	struct apcfg cfg = { NULL, 0 };
	struct apcfg_secret *secrets = NULL;
	struct apcfg_apqn *apqns = NULL;
	size_t nsec = 0, nq = 0;
	struct apcfg_run r = { 0 };
	struct pvk_err e;
	int rc = PVK_EXIT_ERROR;

	pvk_err_clear(&e);
	if (check_environment())
		return PVK_EXIT_ERROR;
	if (!o.unbind) {
		info("Reading AP configuration entries from file '%s'...", o.config);
		if (pvk_apcfg_load(o.config, &cfg, &e))
			return err_msg("%s", e.msg);
		if (!cfg.n) {
			printf("No AP configuration entries in config file '%s': Nothing to do.\n",
			       o.config);
			return PVK_EXIT_OK;
		}
		info("Found %zu AP configuration entries.", cfg.n);
		if (gather_secrets(&secrets, &nsec))
			goto out;
		{
			size_t ep11 = 0;

			for (size_t i = 0; i < cfg.n; i++)
				ep11 += cfg.v[i].mode == APCFG_MODE_EP11;
			if (ep11 && !nsec)
				cli_warn("No UV Secrets given but at least one AP config entry requires "
					 "a Secret.");
		}
	}
	info("Waiting for AP bus bindings complete...");
	if (wait_bindings() || gather_apqns(&apqns, &nq))
		goto out;
	if (!nq) {
		info("List of available APQNs is empty: So there's nothing to do.");
		if (!o.unbind && cfg.n) {
			err_msg("None out of %zu AP config entries could be applied (no APQNs).", cfg.n);
			goto out;
		}
		rc = PVK_EXIT_OK;
		goto out;
	}
	info("Found %zu APQNs.", nq);
	pvk_apcfg_sort(apqns, nq);
	if (pvk_apcfg_check_mk(apqns, nq, &e)) {
		err_msg("%s", e.msg);
		goto out;
	}
	info("Applying AP configuration...");
	r.dry_run = o.dry_run;
	r.log = on_log;
	if (pvk_apcfg_apply(&cfg, apqns, nq, secrets, nsec, &pvk_apcfg_sysfs_ops, &r, &e)) {
		err_msg("%s", e.msg);
		goto out;
	}
	if (!o.unbind && r.satisfied == 0) {
		err_msg("None out of %zu AP config entries could be applied.", cfg.n);
		goto out;
	}
	if (o.strict && r.satisfied != cfg.n) {
		err_msg("Strict flag given and only %zu out of %zu AP config entries have been "
			"applied.",
			r.satisfied, cfg.n);
		goto out;
	}
	if (!o.unbind)
		info("Successfully applied %zu out of %zu AP config entries.", r.satisfied, cfg.n);
	rc = PVK_EXIT_OK;
out:
	pvk_apcfg_free(&cfg);
	free(secrets);
	free(apqns);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_STRICT = 0x100, OPT_UNBIND };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "strict", no_argument, NULL, 's' },
		{ "unbind", no_argument, NULL, OPT_UNBIND },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc, version = 0;

	cli_init(argv[0], "pvapconfig");
	while ((c = getopt_long(argc, argv, "c:nsvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (o.config)
				return cli_usage_error("--config given twice");
			o.config = optarg;
			break;
		case 'n': o.dry_run = 1; break;
		case 's': o.strict = 1; break;
		case OPT_UNBIND: o.unbind = 1; break;
		case 'v': o.verbose = 1; cli_verbosity = 1; break;
		case 'V': version = 1; break;
		case 'h': fputs(help, stdout); return PVK_EXIT_OK;
		default: return cli_usage_error("invalid option");
		}
	}
	/* The configuration as an operand, as IBM's documentation shows it ("pvapconfig
	 * FILE"): accepted when -c is not given. */
	if (optind < argc) {
		if (o.config || optind + 1 < argc)
			return cli_usage_error("unexpected argument '%s'", argv[optind]);
		o.config = argv[optind];
	}
	if (version) {
		cli_version();
		return PVK_EXIT_OK;
	}
	if (o.unbind && (o.config || o.strict))
		return cli_usage_error("--unbind cannot be used with %s",
				       o.config ? "--config" : "--strict");
	if (!o.config)
		o.config = APCFG_DEFAULT_FILE;
	if (lock())
		return PVK_EXIT_ERROR;
	rc = run();
	fflush(stdout);
	pvk_pidlock_release();
	return rc;
}
