// SPDX-License-Identifier: MIT
/* The AP bus of a simulated secure guest: Crypto Express adapters passed through to it, as
 * the files of its sysfs view (bus/ap, devices/ap), and the SE bind/associate state machine
 * behind them (spec §7.1).
 *
 * The guest-side tools write se_bind and se_associate like they would on a real guest; a
 * watcher thread in the guest's endpoint process sees each write (inotify, IN_CLOSE_WRITE),
 * checks it against the state machine and the guest's secret store, and rewrites the queue's
 * files with the resulting state. A plain file cannot fail a write with EINVAL as the kernel
 * does: a refused write shows as the attribute getting its previous state back (and a line
 * in the guest's log saying why).
 *
 * Bind state (BS, bits 14-15 of the queue's ap_functions): 2 unbound (available for
 * binding) --write se_bind 1--> 1 bound (EP11) or 0 usable (accelerator); 1 --write
 * se_associate IDX--> "association pending" --UVSIM_AP_PENDING_MS--> 0 usable, "associated
 * IDX"; any --write se_bind 0--> 2 (the queue is flushed and reset). 3 illicit (a host
 * action) reads "unbound" and refuses binding until the host resets the queue.
 *
 * The watcher replaces a file whole (a temp file renamed over it), so a reader never sees
 * half a state. A writer is expected to do what the tools do: write one value, then poll
 * for the answer. A second write racing with the watcher's rename of the same attribute
 * may land in the replaced file and go unanswered (the poll then times out). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pvkit/apbus.h"
#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "uvsim.h"

struct uvsim_ap uvsim_ap_config;

#define DEFAULT_FEATURES "APSC APXA QACT RC8A APSB"
#define CTL_PREFIX "ap-ctl."
#define CTL_TIMEOUT_MS 10000

/* ---- configuration: --ap SPEC ---- */

static int parse_hex_num(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s || !isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (*end || errno || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* 32 or 64 hex digits (optional 0x) -> 64 lowercase hex digits; 16 bytes are extended with
 * the first 16 bytes of their SHA-256, as a real 32-byte verification pattern would look. */
static int parse_mkvp(const char *s, char out[65])
{
	size_t n;
	uint8_t b[32], h[32];

	if (!strcmp(s, "none")) {
		out[0] = 0;
		return 0;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if ((n != 32 && n != 64) || pvk_hex_decode(s, b, n / 2))
		return -1;
	if (n == 32) {
		pvk_sha256(b, 16, h);
		memcpy(b + 16, h, 16);
	}
	pvk_hex_encode(b, 32, out);
	return 0;
}

static struct uvsim_ap_card *find_card(struct uvsim_ap *ap, unsigned id)
{
	for (unsigned i = 0; i < ap->nc; i++)
		if (ap->c[i].id == id)
			return &ap->c[i];
	return NULL;
}

static struct uvsim_ap_queue *find_queue(struct uvsim_ap *ap, unsigned card, unsigned dom,
					 struct uvsim_ap_card **cp)
{
	struct uvsim_ap_card *c = find_card(ap, card);

	if (!c)
		return NULL;
	for (unsigned i = 0; i < c->nq; i++)
		if (c->q[i].dom == dom) {
			if (cp)
				*cp = c;
			return &c->q[i];
		}
	return NULL;
}

static int spec_fail(struct pvk_err *e, const char *spec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int spec_fail(struct pvk_err *e, const char *spec, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pvk_fail(e, PVK_E_USAGE, "--ap '%.200s': %s", spec, msg);
}

/* Split s at sep into at most max fields (s is modified). */
static unsigned split(char *s, char sep, char **f, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		char *p = strchr(s, sep);

		f[n++] = s;
		if (!p)
			return n;
		*p = 0;
		s = p + 1;
	}
	return n + 1;  /* too many */
}

int uvsim_ap_parse_spec(struct uvsim_ap *ap, const char *spec, struct pvk_err *e)
{
	char buf[2048], *kv[8], *doms[UVSIM_AP_MAX_DOMS + 1], *mkvps[UVSIM_AP_MAX_DOMS + 1];
	const char *type = NULL, *serial = NULL, *domains = NULL, *mkvp = NULL;
	unsigned nkv, nd = 0, nm = 0, id = 0;
	int have_card = 0;
	struct uvsim_ap_card c;

	if (!ap->enabled) {
		memset(ap, 0, sizeof(*ap));
		snprintf(ap->features, sizeof(ap->features), "%s", DEFAULT_FEATURES);
		ap->enabled = 1;
	}
	if (strlen(spec) >= sizeof(buf))
		return spec_fail(e, spec, "too long");
	strcpy(buf, spec);
	if (!strncmp(buf, "features=", 9)) {
		char *p = buf + 9;

		if (strlen(p) >= sizeof(ap->features))
			return spec_fail(e, spec, "too many features");
		for (char *q = p; *q; q++) {
			if (*q == ':')
				*q = ' ';
			else if (!isalnum((unsigned char)*q))
				return spec_fail(e, spec, "features are tokens separated by ':'");
		}
		snprintf(ap->features, sizeof(ap->features), "%s", p);
		return 0;
	}
	nkv = split(buf, ',', kv, 6);
	if (nkv > 5)
		return spec_fail(e, spec, "too many fields");
	for (unsigned i = 0; i < nkv; i++) {
		char *eq = strchr(kv[i], '=');

		if (!eq)
			return spec_fail(e, spec, "'%s' is not KEY=VALUE", kv[i]);
		*eq = 0;
		if (!strcmp(kv[i], "card")) {
			if (parse_hex_num(eq + 1, 0xff, &id))
				return spec_fail(e, spec, "card '%s' is not a hex number 00..ff", eq + 1);
			have_card = 1;
		} else if (!strcmp(kv[i], "type")) {
			type = eq + 1;
		} else if (!strcmp(kv[i], "serial")) {
			serial = eq + 1;
		} else if (!strcmp(kv[i], "domains")) {
			domains = eq + 1;
		} else if (!strcmp(kv[i], "mkvp")) {
			mkvp = eq + 1;
		} else {
			return spec_fail(e, spec,
					 "unknown key '%s' (card, type, serial, domains, mkvp; or "
					 "features=...)",
					 kv[i]);
		}
	}
	if (!have_card || !type || !domains)
		return spec_fail(e, spec, "card=, type= and domains= are required");
	memset(&c, 0, sizeof(c));
	c.id = id;
	{
		enum apbus_mode m;

		if (pvk_apbus_parse_type(type, &c.gen, &m))
			return spec_fail(e, spec, "type '%s' is not CEX<3..8><A|C|P>", type);
		c.mode = type[4];
	}
	snprintf(c.type, sizeof(c.type), "%s", type);
	if (find_card(ap, id))
		return spec_fail(e, spec, "card %02x is configured twice", id);
	if (ap->nc == UVSIM_AP_MAX_CARDS)
		return spec_fail(e, spec, "more than %d cards", UVSIM_AP_MAX_CARDS);
	if (serial) {
		size_t n = strlen(serial);

		if (n != 16)
			return spec_fail(e, spec, "serial '%s' is not 16 characters", serial);
		for (size_t i = 0; i < n; i++)
			if (!isgraph((unsigned char)serial[i]))
				return spec_fail(e, spec, "serial '%s' has a blank", serial);
		memcpy(c.serial, serial, 17);
	} else {
		snprintf(c.serial, sizeof(c.serial), "93AAUVSIM00000%02X", id);
	}
	nd = split((char *)domains, ':', doms, UVSIM_AP_MAX_DOMS);
	if (nd > UVSIM_AP_MAX_DOMS)
		return spec_fail(e, spec, "more than %d domains", UVSIM_AP_MAX_DOMS);
	if (mkvp) {
		if (c.mode == 'A')
			return spec_fail(e, spec, "an accelerator has no master key (mkvp)");
		nm = split((char *)mkvp, ':', mkvps, UVSIM_AP_MAX_DOMS);
		if (nm != 1 && nm != nd)
			return spec_fail(e, spec, "%u mkvp values for %u domains (give one for each, "
					 "or one for all)", nm, nd);
	}
	for (unsigned i = 0; i < nd; i++) {
		struct uvsim_ap_queue *q = &c.q[i];

		if (parse_hex_num(doms[i], 0xff, &q->dom))
			return spec_fail(e, spec, "domain '%s' is not a hex number 00..ff", doms[i]);
		for (unsigned j = 0; j < i; j++)
			if (c.q[j].dom == q->dom)
				return spec_fail(e, spec, "domain %02x given twice", q->dom);
		if (mkvp && parse_mkvp(mkvps[nm == 1 ? 0 : i], q->mkvp))
			return spec_fail(e, spec, "mkvp '%s' is not 32 or 64 hex digits (or none)",
					 mkvps[nm == 1 ? 0 : i]);
		q->online = 1;
		q->bs = APBUS_BS_UNBOUND;
		q->assoc = -1;
	}
	{
		unsigned total = nd;

		for (unsigned i = 0; i < ap->nc; i++)
			total += ap->c[i].nq;
		if (total > UVSIM_AP_MAX_QUEUES)
			return spec_fail(e, spec, "a secure guest can have at most %d AP queues; with "
					 "this adapter it would have %u", UVSIM_AP_MAX_QUEUES, total);
	}
	c.nq = nd;
	ap->c[ap->nc++] = c;
	return 0;
}

/* ---- the state machine ---- */

const char *uvsim_ap_bind_text(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q)
{
	if (c->mode == 'C')
		return "-";
	return q->bs == APBUS_BS_USABLE || q->bs == APBUS_BS_BOUND ? "bound" : "unbound";
}

void uvsim_ap_assoc_text(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q,
			 char *buf, size_t len)
{
	if (c->mode != 'P')
		snprintf(buf, len, "-");
	else if (q->bs == APBUS_BS_USABLE && q->assoc >= 0)
		snprintf(buf, len, "associated %d", q->assoc);
	else if (q->bs == APBUS_BS_BOUND && q->pending)
		snprintf(buf, len, "association pending");
	else
		snprintf(buf, len, "unassociated");
}

static unsigned long card_functions(const struct uvsim_ap_card *c)
{
	switch (c->mode) {
	case 'A': return 0x6a800000ul;   /* M C A N F */
	case 'C': return 0x72800000ul;   /* M C D N F */
	default: return 0x06800000ul;    /* X N F */
	}
}

unsigned long uvsim_ap_functions(const struct uvsim_ap_card *c, const struct uvsim_ap_queue *q)
{
	return card_functions(c) | ((unsigned long)(q->bs & 3) << 14);
}

/* The kernel's kstrtobool: y/Y/t/T/1, n/N/f/F/0, on/off. */
static int parse_bool(const char *s, int *v)
{
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1': *v = 1; return 0;
	case 'n': case 'N': case 'f': case 'F': case '0': *v = 0; return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N') { *v = 1; return 0; }
		if (s[1] == 'f' || s[1] == 'F') { *v = 0; return 0; }
		return -1;
	default: return -1;
	}
}

/* The kernel's kstrtouint(s, 0): decimal, 0x hex, 0 octal; one trailing newline. */
static int parse_uint0(const char *s, unsigned long *v)
{
	char buf[64], *end;
	size_t n = strlen(s);

	if (n >= sizeof(buf) || !n)
		return -1;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == '\n')
		buf[--n] = 0;
	if (!n || !isdigit((unsigned char)buf[0]))
		return -1;
	errno = 0;
	*v = strtoul(buf, &end, 0);
	return *end || errno || *v > 0xfffffffful ? -1 : 0;
}

int uvsim_ap_write_bind(struct uvsim_ap *ap, unsigned card, unsigned dom, const char *value,
			char *why, size_t len)
{
	struct uvsim_ap_card *c = NULL;
	struct uvsim_ap_queue *q = find_queue(ap, card, dom, &c);
	int v;

	if (!q) {
		snprintf(why, len, "no such queue");
		return 0;
	}
	if (c->mode == 'C') {
		snprintf(why, len, "refused: binding is not supported for a CCA queue");
		return 0;
	}
	if (parse_bool(value, &v)) {
		snprintf(why, len, "refused: '%.20s' is not a boolean", value);
		return 0;
	}
	if (!v) {
		q->assoc = -1;
		q->pending = 0;
		if (q->bs != APBUS_BS_ILLICIT)
			q->bs = APBUS_BS_UNBOUND;
		snprintf(why, len, "unbound (queue flushed and reset)%s",
			 q->bs == APBUS_BS_ILLICIT ? "; it stays illicit" : "");
		return 1;
	}
	if (q->bs != APBUS_BS_UNBOUND) {
		snprintf(why, len, "refused: bind needs the queue available for binding (it is %s)",
			 q->bs == APBUS_BS_ILLICIT ? "illicit" : "bound already");
		return 0;
	}
	q->bs = c->mode == 'A' ? APBUS_BS_USABLE : APBUS_BS_BOUND;
	snprintf(why, len, "bound%s", c->mode == 'A' ? " (usable)" : "");
	return 1;
}

int uvsim_ap_write_assoc(struct uvsim_ap *ap, struct uvsim_guest *g, unsigned card,
			 unsigned dom, const char *value, long long now_ms, char *why, size_t len)
{
	struct uvsim_ap_card *c = NULL;
	struct uvsim_ap_queue *q = find_queue(ap, card, dom, &c);
	unsigned long idx;
	int found = 0, type = 0;

	if (!q) {
		snprintf(why, len, "no such queue");
		return 0;
	}
	if (c->mode != 'P') {
		snprintf(why, len, "refused: association is only for EP11 queues");
		return 0;
	}
	if (parse_uint0(value, &idx)) {
		snprintf(why, len, "refused: '%.20s' is not a number", value);
		return 0;
	}
	if (idx > APBUS_ASSOC_IDX_MAX) {
		snprintf(why, len, "refused: index %lu is above 0xffff", idx);
		return 0;
	}
	if (q->bs != APBUS_BS_BOUND || q->pending) {
		snprintf(why, len, "refused: associate needs a bound, unassociated queue (it is %s)",
			 q->pending ? "association pending" :
			 q->bs == APBUS_BS_USABLE ? "associated" :
			 q->bs == APBUS_BS_ILLICIT ? "illicit" : "unbound");
		return 0;
	}
	pthread_rwlock_rdlock(&g->lock);
	for (uint32_t i = 0; i < g->n_secrets; i++)
		if (g->secrets[i].index == idx) {
			found = 1;
			type = g->secrets[i].type;
		}
	pthread_rwlock_unlock(&g->lock);
	if (!found) {
		snprintf(why, len, "refused: the UV has no secret with index %lu", idx);
		return 0;
	}
	if (type != SECRET_ASSOCIATION) {
		snprintf(why, len, "refused: UV secret %lu is no association secret (type %d)", idx,
			 type);
		return 0;
	}
	for (unsigned i = 0; i < c->nq; i++)
		if (&c->q[i] != q && c->q[i].assoc == (int)idx &&
		    (c->q[i].bs == APBUS_BS_USABLE || c->q[i].pending)) {
			snprintf(why, len,
				 "refused: association secret %lu is in use on queue %02x.%04x of the "
				 "same adapter (firmware rule)",
				 idx, c->id, c->q[i].dom);
			return 0;
		}
	q->assoc = (int)idx;
	q->pending = 1;
	q->due_ms = now_ms + UVSIM_AP_PENDING_MS;
	snprintf(why, len, "association pending (index %lu)", idx);
	return 1;
}

int uvsim_ap_tick(struct uvsim_ap *ap, long long now_ms)
{
	int n = 0;

	for (unsigned i = 0; i < ap->nc; i++)
		for (unsigned j = 0; j < ap->c[i].nq; j++) {
			struct uvsim_ap_queue *q = &ap->c[i].q[j];

			if (q->pending && now_ms >= q->due_ms) {
				q->pending = 0;
				q->bs = APBUS_BS_USABLE;
				n++;
			}
		}
	return n;
}

static void reset_queue(struct uvsim_ap_queue *q)
{
	q->bs = APBUS_BS_UNBOUND;
	q->assoc = -1;
	q->pending = 0;
}

int uvsim_ap_reset(struct uvsim_ap *ap, int card, int dom)
{
	struct uvsim_ap_queue *q;

	if (card < 0) {
		for (unsigned i = 0; i < ap->nc; i++)
			for (unsigned j = 0; j < ap->c[i].nq; j++)
				reset_queue(&ap->c[i].q[j]);
		return 0;
	}
	q = find_queue(ap, (unsigned)card, (unsigned)dom, NULL);
	if (!q)
		return -1;
	reset_queue(q);
	return 0;
}

int uvsim_ap_illicit(struct uvsim_ap *ap, unsigned card, unsigned dom)
{
	struct uvsim_ap_queue *q = find_queue(ap, card, dom, NULL);

	if (!q)
		return -1;
	reset_queue(q);
	q->bs = APBUS_BS_ILLICIT;
	return 0;
}

int uvsim_ap_set_online(struct uvsim_ap *ap, unsigned card, unsigned dom, int online)
{
	struct uvsim_ap_queue *q = find_queue(ap, card, dom, NULL);

	if (!q)
		return -1;
	q->online = online;
	return 0;
}

/* ---- the files ---- */

/* Write a file whole: a temp file renamed over it, so a reader never sees it half written
 * (the temp file's name is no attribute: the watcher ignores its events). */
static int put(const char *dir, const char *name, const char *text, struct pvk_err *e)
{
	char path[4400], tmp[4400];
	size_t n = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
	if (write(fd, text, n) != (ssize_t)n || close(fd)) {
		int err = errno;

		unlink(tmp);
		return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", tmp, strerror(err));
	}
	if (rename(tmp, path)) {
		int err = errno;

		unlink(tmp);
		return pvk_fail(e, PVK_E_IO, "%s: cannot rename: %s", path, strerror(err));
	}
	return 0;
}

static int putf(const char *dir, const char *name, struct pvk_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int putf(const char *dir, const char *name, struct pvk_err *e, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return put(dir, name, text, e);
}

static int mkdirs(const char *path, struct pvk_err *e)
{
	char buf[4400];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return pvk_fail(e, PVK_E_IO, "%s: cannot create: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create: %s", buf, strerror(errno));
	return 0;
}

static int link_to(const char *target, const char *path, struct pvk_err *e)
{
	unlink(path);
	if (symlink(target, path))
		return pvk_fail(e, PVK_E_IO, "%s: cannot create symlink: %s", path, strerror(errno));
	return 0;
}

static void card_dir(const char *gdir, const struct uvsim_ap_card *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/sys/devices/ap/card%02x", gdir, c->id);
}

static void queue_dir(const char *gdir, const struct uvsim_ap_card *c,
		      const struct uvsim_ap_queue *q, char *buf, size_t len)
{
	snprintf(buf, len, "%s/sys/devices/ap/card%02x/%02x.%04x", gdir, c->id, c->id, q->dom);
}

static int any_bound(const struct uvsim_ap_card *c)
{
	for (unsigned i = 0; i < c->nq; i++)
		if (c->q[i].bs == APBUS_BS_USABLE || c->q[i].bs == APBUS_BS_BOUND)
			return 1;
	return 0;
}

/* The queue's state files, in the order that lets a reader trust what it waits for: the
 * master keys and functions before se_associate, se_bind last. */
static int write_queue(const char *gdir, const struct uvsim_ap_card *c,
		       const struct uvsim_ap_queue *q, struct pvk_err *e)
{
	char cd[4200], qd[4300], assoc[64], mk[256];
	int bound = q->bs == APBUS_BS_USABLE || q->bs == APBUS_BS_BOUND;

	card_dir(gdir, c, cd, sizeof(cd));
	queue_dir(gdir, c, q, qd, sizeof(qd));
	/* Within an SE guest the adapter answers (serial number, master keys) only through a
	 * bound queue. */
	if (c->mode != 'A' && putf(cd, "serialnr", e, "%s\n", any_bound(c) ? c->serial : ""))
		return -1;
	if (c->mode == 'P') {
		if (!bound)
			snprintf(mk, sizeof(mk), "WK CUR: - -\nWK NEW: - -\n");
		else if (*q->mkvp)
			snprintf(mk, sizeof(mk), "WK CUR: valid 0x%s\nWK NEW: empty -\n", q->mkvp);
		else
			snprintf(mk, sizeof(mk), "WK CUR: invalid -\nWK NEW: empty -\n");
		if (put(qd, "mkvps", mk, e))
			return -1;
	} else if (c->mode == 'C') {
		snprintf(mk, sizeof(mk), "AES CUR: %s%.32s\nAPKA CUR: %s%.32s\n",
			 *q->mkvp ? "valid 0x" : "invalid -", q->mkvp,
			 *q->mkvp ? "valid 0x" : "invalid -", q->mkvp);
		if (put(qd, "mkvps", mk, e))
			return -1;
	}
	uvsim_ap_assoc_text(c, q, assoc, sizeof(assoc));
	if (putf(qd, "online", e, "%d\n", q->online) ||
	    putf(qd, "ap_functions", e, "0x%08lx\n", uvsim_ap_functions(c, q)) ||
	    putf(qd, "se_associate", e, "%s\n", assoc) ||
	    putf(qd, "se_bind", e, "%s\n", uvsim_ap_bind_text(c, q)))
		return -1;
	return 0;
}

static int hwtype(const struct uvsim_ap_card *c)
{
	if (c->gen == 3)
		return c->mode == 'A' ? 8 : 9;
	return c->gen + 6;  /* CEX4 10 ... CEX8 14 */
}

int uvsim_ap_sysfs(const struct uvsim_ap *ap, const char *gdir, struct pvk_err *e)
{
	char bus[4200], path[4400], cd[4200], qd[4300], mask[67];
	uint8_t bits[32] = { 0 };
	int first = -1;
	unsigned nq = 0;

	if (!ap->enabled)
		return 0;
	snprintf(bus, sizeof(bus), "%s/sys/bus/ap", gdir);
	snprintf(path, sizeof(path), "%s/devices", bus);
	if (mkdirs(path, e))
		return -1;
	snprintf(path, sizeof(path), "%s/drivers/cex4card", bus);
	if (mkdirs(path, e))
		return -1;
	snprintf(path, sizeof(path), "%s/drivers/cex4queue", bus);
	if (mkdirs(path, e))
		return -1;
	snprintf(path, sizeof(path), "%s/sys/devices/ap", gdir);
	if (mkdirs(path, e))
		return -1;
	for (unsigned i = 0; i < ap->nc; i++) {
		const struct uvsim_ap_card *c = &ap->c[i];
		char target[128], name[32];

		card_dir(gdir, c, cd, sizeof(cd));
		if (mkdirs(cd, e) || putf(cd, "type", e, "%s\n", c->type) ||
		    putf(cd, "hwtype", e, "%d\n", hwtype(c)) ||
		    putf(cd, "raw_hwtype", e, "%d\n", hwtype(c)) || putf(cd, "depth", e, "8\n") ||
		    putf(cd, "ap_functions", e, "0x%08lx\n", card_functions(c)) ||
		    putf(cd, "online", e, "1\n") || putf(cd, "config", e, "1\n") ||
		    putf(cd, "chkstop", e, "0\n") || putf(cd, "request_count", e, "0\n") ||
		    putf(cd, "requestq_count", e, "0\n") || putf(cd, "pendingq_count", e, "0\n") ||
		    putf(cd, "max_msg_size", e, "774144\n"))
			return -1;
		snprintf(path, sizeof(path), "%s/driver", cd);
		snprintf(name, sizeof(name), "card%02x", c->id);
		snprintf(target, sizeof(target), "../../../devices/ap/%s", name);
		if (link_to("../../../bus/ap/drivers/cex4card", path, e))
			return -1;
		snprintf(path, sizeof(path), "%s/devices/%s", bus, name);
		if (link_to(target, path, e))
			return -1;
		for (unsigned j = 0; j < c->nq; j++) {
			const struct uvsim_ap_queue *q = &c->q[j];

			queue_dir(gdir, c, q, qd, sizeof(qd));
			if (mkdirs(qd, e) || putf(qd, "config", e, "1\n") ||
			    putf(qd, "chkstop", e, "0\n") || putf(qd, "request_count", e, "0\n") ||
			    putf(qd, "requestq_count", e, "0\n") ||
			    putf(qd, "pendingq_count", e, "0\n") || write_queue(gdir, c, q, e))
				return -1;
			snprintf(path, sizeof(path), "%s/driver", qd);
			if (link_to("../../../../bus/ap/drivers/cex4queue", path, e))
				return -1;
			snprintf(name, sizeof(name), "%02x.%04x", c->id, q->dom);
			snprintf(target, sizeof(target), "../../../devices/ap/card%02x/%s", c->id,
				 name);
			snprintf(path, sizeof(path), "%s/devices/%s", bus, name);
			if (link_to(target, path, e))
				return -1;
			bits[q->dom / 8] |= (uint8_t)(0x80 >> (q->dom % 8));
			nq++;
			if (first < 0)
				first = (int)q->dom;
		}
	}
	mask[0] = '0';
	mask[1] = 'x';
	pvk_hex_encode(bits, 32, mask + 2);
	return putf(bus, "features", e, "%s\n", ap->features) ||
	       putf(bus, "bindings", e, "%u/%u (complete)\n", nq, nq) ||
	       putf(bus, "ap_domain", e, "%d\n", first < 0 ? 0 : first) ||
	       putf(bus, "ap_usage_domain_mask", e, "%s\n", mask) ||
	       putf(bus, "ap_control_domain_mask", e, "%s\n", mask) ? -1 : 0;
}

/* ---- the watcher (in the endpoint process) ---- */

struct watch {
	int wd;
	unsigned ci, qi;          /* card and queue index; ci = -1u for the guest directory */
};

struct watcher {
	struct uvsim_guest *g;
	struct uvsim_ap *ap;
	int fd;
	struct watch w[UVSIM_AP_MAX_CARDS * UVSIM_AP_MAX_DOMS + 1];
	unsigned nw;
};

static struct watcher watcher;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void wlog(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "uvsim ap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static void rewrite(struct watcher *w, const struct uvsim_ap_card *c,
		    const struct uvsim_ap_queue *q)
{
	struct pvk_err e;

	if (write_queue(w->g->dir, c, q, &e))
		wlog("%s", e.msg);
}

static void rewrite_all(struct watcher *w)
{
	for (unsigned i = 0; i < w->ap->nc; i++)
		for (unsigned j = 0; j < w->ap->c[i].nq; j++)
			rewrite(w, &w->ap->c[i], &w->ap->c[i].q[j]);
}

/* The first line of a file written by a tool. */
static int read_value(const char *dir, const char *name, char *buf, size_t len)
{
	char path[4400];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static void on_write(struct watcher *w, unsigned ci, unsigned qi, const char *name)
{
	struct uvsim_ap_card *c = &w->ap->c[ci];
	struct uvsim_ap_queue *q = &c->q[qi];
	char dir[4300], val[128], why[256], shown[128];
	int assoc = !strcmp(name, "se_associate"), ok;

	queue_dir(w->g->dir, c, q, dir, sizeof(dir));
	if (read_value(dir, name, val, sizeof(val)))
		return;
	/* Empty: a truncation, not a value (QEMU's 9p server truncates a guest's O_TRUNC open
	 * with an open/ftruncate/close of its own before the write comes). An empty write does
	 * nothing on sysfs either. */
	if (!val[0])
		return;
	/* Our own state text (e.g. the event of a write already handled): nothing to do. */
	{
		char cur[64];

		if (assoc)
			uvsim_ap_assoc_text(c, q, cur, sizeof(cur));
		else
			snprintf(cur, sizeof(cur), "%s", uvsim_ap_bind_text(c, q));
		snprintf(shown, sizeof(shown), "%s\n", cur);
		if (!strcmp(val, shown))
			return;
	}
	ok = assoc ? uvsim_ap_write_assoc(w->ap, w->g, c->id, q->dom, val, mono_ms(), why,
					  sizeof(why))
		   : uvsim_ap_write_bind(w->ap, c->id, q->dom, val, why, sizeof(why));
	val[strcspn(val, "\n")] = 0;
	wlog("%02x.%04x: %s <- '%s': %s", c->id, q->dom, name, val, why);
	(void)ok;
	rewrite(w, c, q);
}

static void on_control(struct watcher *w, const char *name)
{
	char path[4400], out[4400], req[256], ans[512], a[32], b[32], x[32];
	struct pvk_err e;
	unsigned card, dom;
	int n;

	snprintf(path, sizeof(path), "%s/%s", w->g->dir, name);
	if (read_value(w->g->dir, name, req, sizeof(req)))
		return;
	unlink(path);
	req[strcspn(req, "\n")] = 0;
	n = sscanf(req, "%31s %31s %31s", a, b, x);
	if (n >= 1 && !strcmp(a, "reset") && n == 1) {
		uvsim_ap_reset(w->ap, -1, 0);
		snprintf(ans, sizeof(ans), "ok: all queues reset (unbound)");
	} else if (n >= 2 && pvk_apbus_parse_apqn(b, &card, &dom)) {
		snprintf(ans, sizeof(ans), "error: '%s' is not a queue XX.YYYY", b);
	} else if ((n == 2 && (!strcmp(a, "reset") || !strcmp(a, "illicit"))) ||
		   (n == 3 && !strcmp(a, "online") && (!strcmp(x, "0") || !strcmp(x, "1")))) {
		int r = a[0] == 'r' ? uvsim_ap_reset(w->ap, (int)card, (int)dom)
			: a[0] == 'i' ? uvsim_ap_illicit(w->ap, card, dom)
				      : uvsim_ap_set_online(w->ap, card, dom, x[0] == '1');

		if (r)
			snprintf(ans, sizeof(ans), "error: no queue %s", b);
		else
			snprintf(ans, sizeof(ans), "ok: queue %s %s", b,
				 a[0] == 'r' ? "reset (unbound)" : a[0] == 'i' ? "is illicit" :
				 x[0] == '1' ? "is online" : "is offline");
	} else {
		snprintf(ans, sizeof(ans), "error: unknown request '%.100s'", req);
	}
	wlog("host: %s: %s", req, ans);
	rewrite_all(w);
	snprintf(out, sizeof(out), "%s.out", name);
	strcat(ans, "\n");
	if (put(w->g->dir, out, ans, &e))
		wlog("%s", e.msg);
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		long long now = mono_ms(), next = -1;
		int timeout = -1;

		for (unsigned i = 0; i < w->ap->nc; i++)
			for (unsigned j = 0; j < w->ap->c[i].nq; j++)
				if (w->ap->c[i].q[j].pending &&
				    (next < 0 || w->ap->c[i].q[j].due_ms < next))
					next = w->ap->c[i].q[j].due_ms;
		if (next >= 0)
			timeout = next > now ? (int)(next - now) : 0;
		if (poll(&p, 1, timeout) > 0) {
			ssize_t n = read(w->fd, buf, sizeof(buf));

			for (char *ptr = buf; n > 0 && ptr < buf + n;) {
				const struct inotify_event *ev = (const struct inotify_event *)ptr;

				ptr += sizeof(*ev) + ev->len;
				if (!ev->len)
					continue;
				for (unsigned k = 0; k < w->nw; k++) {
					if (w->w[k].wd != ev->wd)
						continue;
					if (w->w[k].ci == -1u) {
						size_t l = strlen(ev->name);

						if (!strncmp(ev->name, CTL_PREFIX,
							     strlen(CTL_PREFIX)) &&
						    (l < 4 || strcmp(ev->name + l - 4, ".out")))
							on_control(w, ev->name);
					} else if (!strcmp(ev->name, "se_bind") ||
						   !strcmp(ev->name, "se_associate")) {
						on_write(w, w->w[k].ci, w->w[k].qi, ev->name);
					}
					break;
				}
			}
		}
		/* associations that are due complete */
		{
			int was[UVSIM_AP_MAX_CARDS][UVSIM_AP_MAX_DOMS];

			for (unsigned i = 0; i < w->ap->nc; i++)
				for (unsigned j = 0; j < w->ap->c[i].nq; j++)
					was[i][j] = w->ap->c[i].q[j].pending;
			if (!uvsim_ap_tick(w->ap, mono_ms()))
				continue;
			for (unsigned i = 0; i < w->ap->nc; i++)
				for (unsigned j = 0; j < w->ap->c[i].nq; j++) {
					struct uvsim_ap_queue *q = &w->ap->c[i].q[j];

					if (!was[i][j] || q->pending)
						continue;
					wlog("%02x.%04x: associated %d", w->ap->c[i].id, q->dom,
					     q->assoc);
					rewrite(w, &w->ap->c[i], q);
				}
		}
	}
	return NULL;
}

int uvsim_ap_start(struct uvsim_guest *g, struct pvk_err *e)
{
	struct watcher *w = &watcher;
	pthread_t t;

	if (!uvsim_ap_config.enabled)
		return 0;
	w->g = g;
	w->ap = &uvsim_ap_config;
	w->fd = inotify_init1(IN_CLOEXEC);
	if (w->fd < 0)
		return pvk_fail(e, PVK_E_IO, "inotify: %s", strerror(errno));
	w->w[0].wd = inotify_add_watch(w->fd, g->dir, IN_MOVED_TO);
	w->w[0].ci = -1u;
	if (w->w[0].wd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: inotify: %s", g->dir, strerror(errno));
	w->nw = 1;
	for (unsigned i = 0; i < w->ap->nc; i++)
		for (unsigned j = 0; j < w->ap->c[i].nq; j++) {
			char qd[4300];
			struct watch *wt = &w->w[w->nw];

			queue_dir(g->dir, &w->ap->c[i], &w->ap->c[i].q[j], qd, sizeof(qd));
			wt->wd = inotify_add_watch(w->fd, qd, IN_CLOSE_WRITE);
			if (wt->wd < 0)
				return pvk_fail(e, PVK_E_IO, "%s: inotify: %s", qd, strerror(errno));
			wt->ci = i;
			wt->qi = j;
			w->nw++;
		}
	if (pthread_create(&t, NULL, watch_main, w))
		return pvk_fail(e, PVK_E_IO, "cannot start the AP bus watcher");
	pthread_detach(t);
	return 0;
}

/* ---- the host side: uvsim ap ... ---- */

int uvsim_ap_control(const char *guest_dir, const char *request, char *answer, size_t len,
		     struct pvk_err *e)
{
	char name[64], path[4400], out[4400];
	long long deadline = mono_ms() + CTL_TIMEOUT_MS;
	struct stat st;

	snprintf(path, sizeof(path), "%s/sys/bus/ap", guest_dir);
	if (stat(path, &st))
		return pvk_fail(e, PVK_E_USAGE,
				"the guest has no simulated AP bus (boot it with --ap)");
	snprintf(name, sizeof(name), CTL_PREFIX "%ld", (long)getpid());
	snprintf(out, sizeof(out), "%s/%s.out", guest_dir, name);
	unlink(out);
	if (putf(guest_dir, name, e, "%s\n", request))
		return -1;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		char buf[512];

		if (!read_value(guest_dir, strrchr(out, '/') + 1, buf, sizeof(buf))) {
			unlink(out);
			buf[strcspn(buf, "\n")] = 0;
			snprintf(answer, len, "%s", buf);
			if (!strncmp(buf, "error: ", 7))
				return pvk_fail(e, PVK_E_USAGE, "%s", buf + 7);
			return 0;
		}
		if (mono_ms() > deadline) {
			snprintf(path, sizeof(path), "%s/%s", guest_dir, name);
			unlink(path);
			return pvk_fail(e, PVK_E_IO,
					"the guest's endpoint did not answer within %d s (is it "
					"running? see %s/log)",
					CTL_TIMEOUT_MS / 1000, guest_dir);
		}
		nanosleep(&ts, NULL);
	}
}
