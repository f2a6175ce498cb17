// SPDX-License-Identifier: MIT
/* The AP bus through its sysfs files (spec §7.1); see pvkit/apbus.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pvkit/apbus.h"
#include "pvkit/uvdev.h"

const char *pvk_apbus_path(char *buf, size_t len, const char *fmt, ...)
{
	char rel[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	return pvk_uvdev_sysfs_path(rel, buf, len);
}

const char *pvk_apbus_queue_path(char *buf, size_t len, unsigned card, unsigned dom,
			     const char *attr)
{
	return pvk_apbus_path(buf, len, "devices/ap/card%02x/%02x.%04x/%s", card, card, dom, attr);
}

int pvk_apbus_present(void)
{
	char p[4096];
	struct stat st;

	return !stat(pvk_apbus_path(p, sizeof(p), "bus/ap"), &st) && S_ISDIR(st.st_mode);
}

/* Read at most len - 1 bytes of a file; NUL-terminated. */
static int read_text(const char *path, char *buf, size_t len, struct pvk_err *e)
{
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", path, strerror(errno));
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;

			close(fd);
			return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", path, strerror(err));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return 0;
}

/* First line, trailing white space removed. */
static int read_line(const char *path, char *buf, size_t len, struct pvk_err *e)
{
	char *nl;
	size_t n;

	if (read_text(path, buf, len, e))
		return -1;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	n = strlen(buf);
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}

int pvk_apbus_has_feature(const char *token)
{
	char p[4096], buf[1024], *s, *save = NULL;
	struct pvk_err e;

	if (read_line(pvk_apbus_path(p, sizeof(p), "bus/ap/features"), buf, sizeof(buf), &e))
		return 0;
	for (s = strtok_r(buf, " \t,", &save); s; s = strtok_r(NULL, " \t,", &save))
		if (!strcmp(s, token))
			return 1;
	return 0;
}

int pvk_apbus_bindings_complete(struct pvk_err *e)
{
	char p[4096], buf[256];

	if (read_line(pvk_apbus_path(p, sizeof(p), "bus/ap/bindings"), buf, sizeof(buf), e))
		return -1;
	return strstr(buf, "complete") != NULL;
}

int pvk_apbus_parse_type(const char *type, int *gen, enum apbus_mode *mode)
{
	if (strlen(type) != 5 || strncmp(type, "CEX", 3) || type[3] < '3' || type[3] > '8')
		return -1;
	switch (type[4]) {
	case 'A': *mode = APBUS_MODE_ACCEL; break;
	case 'C': *mode = APBUS_MODE_CCA; break;
	case 'P': *mode = APBUS_MODE_EP11; break;
	default: return -1;
	}
	*gen = type[3] - '0';
	return 0;
}

static int hex_field(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (!isxdigit(c))
			return -1;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	*out = v;
	return 0;
}

int pvk_apbus_parse_apqn(const char *s, unsigned *card, unsigned *dom)
{
	if (strlen(s) != 7 || s[2] != '.')
		return -1;
	return hex_field(s, 2, card) || hex_field(s + 3, 4, dom) ? -1 : 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int scan_dir(const char *dir, int card, unsigned *ids, size_t max, size_t *n,
		    struct pvk_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	*n = 0;
	if (!d)
		return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		unsigned c, q;

		if (card < 0) {
			if (strlen(de->d_name) != 6 || strncmp(de->d_name, "card", 4) ||
			    hex_field(de->d_name + 4, 2, &c))
				continue;
			q = c;
		} else {
			if (pvk_apbus_parse_apqn(de->d_name, &c, &q) || c != (unsigned)card)
				continue;
		}
		if (*n < max)
			ids[(*n)++] = q;
	}
	closedir(d);
	qsort(ids, *n, sizeof(*ids), cmp_uint);
	return 0;
}

int pvk_apbus_cards(unsigned *ids, size_t max, size_t *n, struct pvk_err *e)
{
	char p[4096];

	return scan_dir(pvk_apbus_path(p, sizeof(p), "devices/ap"), -1, ids, max, n, e);
}

int pvk_apbus_queues(unsigned card, unsigned *doms, size_t max, size_t *n, struct pvk_err *e)
{
	char p[4096];

	return scan_dir(pvk_apbus_path(p, sizeof(p), "devices/ap/card%02x", card), (int)card, doms,
			max, n, e);
}

int pvk_apbus_queue_exists(unsigned card, unsigned dom)
{
	char p[4096];
	struct stat st;

	pvk_apbus_path(p, sizeof(p), "devices/ap/card%02x/%02x.%04x", card, card, dom);
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

int pvk_apbus_read_card(unsigned card, const char *attr, char *buf, size_t len, struct pvk_err *e)
{
	char p[4096];

	return read_line(pvk_apbus_path(p, sizeof(p), "devices/ap/card%02x/%s", card, attr), buf,
			 len, e);
}

int pvk_apbus_read_queue(unsigned card, unsigned dom, const char *attr, char *buf, size_t len,
		     struct pvk_err *e)
{
	char p[4096];

	return read_line(pvk_apbus_queue_path(p, sizeof(p), card, dom, attr), buf, len, e);
}

int pvk_apbus_read_queue_all(unsigned card, unsigned dom, const char *attr, char *buf, size_t len,
			 struct pvk_err *e)
{
	char p[4096];

	return read_text(pvk_apbus_queue_path(p, sizeof(p), card, dom, attr), buf, len, e);
}

int pvk_apbus_write_queue(unsigned card, unsigned dom, const char *attr, const char *value,
		      struct pvk_err *e)
{
	char p[4096];
	size_t n = strlen(value);
	ssize_t w;
	int fd;

	pvk_apbus_queue_path(p, sizeof(p), card, dom, attr);
	/* O_TRUNC: a no-op on sysfs, needed on the plain files of uvsim's sysfs view. */
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open for writing: %s", p, strerror(errno));
	do
		w = write(fd, value, n);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)n) {
		int err = w < 0 ? errno : EIO;

		close(fd);
		return pvk_fail(e, PVK_E_IO, "%s: cannot write '%s': %s", p, value, strerror(err));
	}
	if (close(fd))
		return pvk_fail(e, PVK_E_IO, "%s: cannot write '%s': %s", p, value, strerror(errno));
	return 0;
}

enum pvk_apbus_bind pvk_apbus_parse_bind(const char *s)
{
	if (!strcmp(s, "bound"))
		return APBUS_BIND_BOUND;
	if (!strcmp(s, "unbound"))
		return APBUS_BIND_UNBOUND;
	if (!strcmp(s, "-"))
		return APBUS_BIND_UNSUPPORTED;
	return APBUS_BIND_OTHER;
}

enum apbus_assoc pvk_apbus_parse_assoc(const char *s, unsigned *idx)
{
	if (!strncmp(s, "associated ", 11)) {
		const char *p = s + 11;
		unsigned long v;
		char *end;

		if (!isdigit((unsigned char)*p))
			return APBUS_ASSOC_OTHER;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (*end || errno || v > APBUS_ASSOC_IDX_MAX)
			return APBUS_ASSOC_OTHER;
		if (idx)
			*idx = (unsigned)v;
		return APBUS_ASSOC_ASSOCIATED;
	}
	if (!strcmp(s, "association pending"))
		return APBUS_ASSOC_PENDING;
	if (!strcmp(s, "unassociated"))
		return APBUS_ASSOC_UNASSOCIATED;
	if (!strcmp(s, "-"))
		return APBUS_ASSOC_UNSUPPORTED;
	return APBUS_ASSOC_OTHER;
}

int pvk_apbus_parse_mkvp(const char *mkvps, const char *key, char out[33])
{
	size_t klen = strlen(key);
	const char *line = mkvps;

	out[0] = 0;
	while (line && *line) {
		const char *p = line, *next = strchr(line, '\n');
		char state[32], value[160];
		size_t n;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncmp(p, key, klen) && (p[klen] == ' ' || p[klen] == '\t')) {
			p += klen;
			while (*p == ' ' || *p == '\t')
				p++;
			if (!strncmp(p, "CUR:", 4)) {
				char fmt[32];

				snprintf(fmt, sizeof(fmt), "%%%zus %%%zus", sizeof(state) - 1,
					 sizeof(value) - 1);
				if (sscanf(p + 4, fmt, state, value) != 2)
					return -1;
				if (strcasecmp(state, "valid"))
					return 0;
				p = value;
				if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
					p += 2;
				for (n = 0; n < 32 && p[n]; n++)
					out[n] = (char)tolower((unsigned char)p[n]);
				out[n] = 0;
				return 0;
			}
		}
		line = next ? next + 1 : NULL;
	}
	return -1;
}

int pvk_apbus_bind_state(unsigned card, unsigned dom, enum pvk_apbus_bind *st, struct pvk_err *e)
{
	char buf[128];

	if (pvk_apbus_read_queue(card, dom, "se_bind", buf, sizeof(buf), e))
		return -1;
	*st = pvk_apbus_parse_bind(buf);
	if (*st == APBUS_BIND_OTHER)
		return pvk_fail(e, PVK_E_FORMAT, "queue %02x.%04x: unknown bind state '%s'", card,
				dom, buf);
	return 0;
}

int pvk_apbus_assoc_state(unsigned card, unsigned dom, enum apbus_assoc *st, unsigned *idx,
		      struct pvk_err *e)
{
	char buf[128];

	if (pvk_apbus_read_queue(card, dom, "se_associate", buf, sizeof(buf), e))
		return -1;
	*st = pvk_apbus_parse_assoc(buf, idx);
	if (*st == APBUS_ASSOC_OTHER)
		return pvk_fail(e, PVK_E_FORMAT, "queue %02x.%04x: unknown association state '%s'",
				card, dom, buf);
	return 0;
}

int pvk_apbus_queue_functions(unsigned card, unsigned dom, unsigned long *funcs, struct pvk_err *e)
{
	char buf[64], *end;

	if (pvk_apbus_read_queue(card, dom, "ap_functions", buf, sizeof(buf), e))
		return -1;
	errno = 0;
	*funcs = strtoul(buf, &end, 16);
	if (!buf[0] || *end || errno)
		return pvk_fail(e, PVK_E_FORMAT, "queue %02x.%04x: ap_functions '%s' is not hex",
				card, dom, buf);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int pvk_apbus_wait(unsigned card, unsigned dom, const char *attr, const struct pvk_apbus_wait *w,
	       char *buf, size_t len, struct pvk_err *e)
{
	long long deadline = now_ms() + w->timeout_ms;
	unsigned delay = 10;

	for (;;) {
		int r;

		if (pvk_apbus_read_queue(card, dom, attr, buf, len, e))
			return -1;
		r = w->check(buf, w->ctx);
		if (r > 0)
			return 0;
		if (r < 0)
			return pvk_fail(e, PVK_E_IO, "queue %02x.%04x: %s reads '%s'", card, dom,
					attr, buf);
		if (now_ms() >= deadline)
			return pvk_fail(e, PVK_E_IO,
					"queue %02x.%04x: timeout after %u s (%s reads '%s')", card,
					dom, (w->timeout_ms + 999) / 1000, attr, buf);
		sleep_ms(delay);
		delay = delay * 2 > w->interval_ms ? w->interval_ms : delay * 2;
	}
}

static int check_bound(const char *v, void *ctx)
{
	(void)ctx;
	switch (pvk_apbus_parse_bind(v)) {
	case APBUS_BIND_BOUND: return 1;
	case APBUS_BIND_OTHER: return 0;    /* the write not processed yet (uvsim) */
	default: return -1;                 /* settled elsewhere: refused */
	}
}

static int check_unbound(const char *v, void *ctx)
{
	(void)ctx;
	switch (pvk_apbus_parse_bind(v)) {
	case APBUS_BIND_UNBOUND: return 1;
	case APBUS_BIND_UNSUPPORTED: return -1;
	default: return 0;                  /* the reset may take a moment */
	}
}

static int check_associated(const char *v, void *ctx)
{
	unsigned want = *(const unsigned *)ctx, idx = 0;

	switch (pvk_apbus_parse_assoc(v, &idx)) {
	case APBUS_ASSOC_ASSOCIATED: return idx == want ? 1 : -1;
	case APBUS_ASSOC_PENDING:
	case APBUS_ASSOC_OTHER: return 0;
	default: return -1;                 /* back at unassociated: refused or failed */
	}
}

int pvk_apbus_bind(unsigned card, unsigned dom, unsigned timeout_ms, struct pvk_err *e)
{
	struct pvk_apbus_wait w = { APBUS_POLL_MS, timeout_ms, check_bound, NULL };
	char buf[128];

	if (pvk_apbus_write_queue(card, dom, "se_bind", "1", e))
		return -1;
	return pvk_apbus_wait(card, dom, "se_bind", &w, buf, sizeof(buf), e);
}

int pvk_apbus_unbind(unsigned card, unsigned dom, unsigned timeout_ms, struct pvk_err *e)
{
	struct pvk_apbus_wait w = { APBUS_POLL_MS, timeout_ms, check_unbound, NULL };
	char buf[128];

	if (pvk_apbus_write_queue(card, dom, "se_bind", "0", e))
		return -1;
	return pvk_apbus_wait(card, dom, "se_bind", &w, buf, sizeof(buf), e);
}

int pvk_apbus_associate(unsigned card, unsigned dom, unsigned idx, unsigned timeout_ms,
		    struct pvk_err *e)
{
	struct pvk_apbus_wait w = { APBUS_POLL_MS, timeout_ms, check_associated, &idx };
	char buf[128], val[16];

	if (idx > APBUS_ASSOC_IDX_MAX)
		return pvk_fail(e, PVK_E_USAGE, "association index %u is above %u", idx,
				APBUS_ASSOC_IDX_MAX);
	snprintf(val, sizeof(val), "%u", idx);
	if (pvk_apbus_write_queue(card, dom, "se_associate", val, e))
		return -1;
	return pvk_apbus_wait(card, dom, "se_associate", &w, buf, sizeof(buf), e);
}
