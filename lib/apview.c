// SPDX-License-Identifier: MIT
/* lszcrypt's view of AP cards and queues, read from sysfs (spec §7.3). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvkit/apbus.h"
#include "pvkit/apview.h"

static const struct {
	unsigned long mask;
	char c;
} fac_bits[] = {
	{ 0x80000000ul, 'S' }, { 0x40000000ul, 'M' }, { 0x20000000ul, 'C' },
	{ 0x10000000ul, 'D' }, { 0x08000000ul, 'A' }, { 0x04000000ul, 'X' },
	{ 0x02000000ul, 'N' }, { 0x01000000ul, 'H' }, { 0x00800000ul, 'F' },
	{ 0x00400000ul, 'R' },
};
#define N_FAC (sizeof(fac_bits) / sizeof(fac_bits[0]))

static int vattr(char *buf, size_t len, const char *fmt, va_list ap)
{
	char rel[512], path[4096];
	FILE *f;

	vsnprintf(rel, sizeof(rel), fmt, ap);
	pvk_apbus_path(path, sizeof(path), "devices/ap/%s", rel);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		buf[0] = 0;
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int pvk_apview_attr(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vattr(buf, len, fmt, ap);
	va_end(ap);
	return rc;
}

int pvk_apview_attr_readable(const char *fmt, ...)
{
	char rel[512], path[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	pvk_apbus_path(path, sizeof(path), "devices/ap/%s", rel);
	return !access(path, R_OK);
}

static int attr_long(long *v, const char *rel)
{
	char buf[64], *end;

	if (pvk_apview_attr(buf, sizeof(buf), "%s", rel) || !buf[0])
		return -1;
	*v = strtol(buf, &end, 10);
	return *end ? -1 : 0;
}

static int attr_hex(unsigned long *v, const char *rel)
{
	char buf[64], *end;

	if (pvk_apview_attr(buf, sizeof(buf), "%s", rel) || !buf[0])
		return -1;
	*v = strtoul(buf, &end, 16);
	return *end ? -1 : 0;
}

/* A value only when its file is readable (an unreadable one stays -1). */
static long attr_long_if(const char *rel)
{
	long v = -1;

	if (pvk_apview_attr_readable("%s", rel))
		attr_long(&v, rel);
	return v;
}

int pvk_apview_type_char(unsigned card)
{
	char type[32];

	if (pvk_apview_attr(type, sizeof(type), "card%02x/type", card) || !type[0])
		return 0;
	return type[strlen(type) - 1];
}

int pvk_apview_listed(unsigned card, int dom)
{
	if (!pvk_apview_attr_readable("card%02x/type", card))
		return 0;
	if (dom < 0)
		return pvk_apview_attr_readable("card%02x/online", card);
	return pvk_apview_attr_readable("card%02x/%02x.%04x/online", card, card, (unsigned)dom);
}

static const char *mode_of(unsigned long f)
{
	if (f & APBUS_FUNC_COPRO)
		return "CCA-Coproc";
	if (f & APBUS_FUNC_ACCEL)
		return "Accelerator";
	if (f & APBUS_FUNC_EP11)
		return "EP11-Coproc";
	return "Unknown";
}

/* The driver link's name into buf: 1 a cexN driver, 2 vfio, 0 none. */
static int driver(const char *rel, char *buf, size_t len)
{
	char path[4096], target[PATH_MAX], *p;
	ssize_t n;

	pvk_apbus_path(path, sizeof(path), "devices/ap/%s/driver", rel);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	p = strrchr(target, '/');
	p = p ? p + 1 : target;
	snprintf(buf, len, "%.64s", p);
	if (!strncmp(p, "cex", 3) && (strstr(p, "card") || strstr(p, "queue")))
		return 1;
	return strstr(p, "vfio") && strstr(p, "ap") ? 2 : 0;
}

static void read_status(const char *rel, int queue, struct pvk_apview *v)
{
	char a[600];
	long config, chkstop, online;

	snprintf(a, sizeof(a), "%s/config", rel);
	config = attr_long_if(a);
	snprintf(a, sizeof(a), "%s/chkstop", rel);
	chkstop = attr_long_if(a);
	snprintf(a, sizeof(a), "%s/online", rel);
	online = attr_long_if(a);
	strcpy(v->status, "-");
	if (config == 0)
		strcpy(v->status, "deconfig");
	else if (chkstop > 0)
		strcpy(v->status, "chkstop");
	else if (online > 0)
		strcpy(v->status, "online");
	else if (online == 0)
		strcpy(v->status, "offline");
	else if (queue && pvk_apview_attr(v->status, sizeof(v->status), "%s/status", rel))
		strcpy(v->status, "-");
	if (config == 0)
		strcpy(v->requests, "-");
	else if (pvk_apview_attr(v->requests, sizeof(v->requests), "%s/request_count", rel))
		v->requests[0] = 0;
}

static void read_sestat(const char *rel, struct pvk_apview *v)
{
	static const char *const st[] = { "usable", "bound", "unbound", "illicit" };
	char a[600];
	unsigned long f = 0;

	snprintf(a, sizeof(a), "%s/ap_functions", rel);
	if (attr_hex(&f, a))
		strcpy(v->sestat, "error");
	else if (!f)
		strcpy(v->sestat, "invalid");
	else
		strcpy(v->sestat, st[APBUS_BS(f)]);
}

static void read_verbose(unsigned card, int dom, const char *rel, struct pvk_apview *v)
{
	char a[600];
	long config, p1 = 0, p2 = 0, depth = 0;
	unsigned long f = 0;
	int drv = driver(rel, v->driver, sizeof(v->driver));

	if (drv <= 0)
		strcpy(v->driver, "-no-driver-");
	snprintf(a, sizeof(a), "card%02x/config", card);
	config = attr_long_if(a);
	if (config == 0 || (dom >= 0 && drv != 1)) {
		strcpy(v->pending, "-");
	} else {
		snprintf(a, sizeof(a), "%s/pendingq_count", rel);
		attr_long(&p1, a);
		snprintf(a, sizeof(a), "%s/requestq_count", rel);
		attr_long(&p2, a);
		snprintf(v->pending, sizeof(v->pending), "%ld", p1 + p2);
	}
	if (pvk_apview_attr(v->hwtype, sizeof(v->hwtype), "card%02x/hwtype", card))
		v->hwtype[0] = 0;
	snprintf(a, sizeof(a), "card%02x/depth", card);
	attr_long(&depth, a);
	snprintf(v->depth, sizeof(v->depth), "%02ld", depth);
	snprintf(a, sizeof(a), "card%02x/ap_functions", card);
	attr_hex(&f, a);
	for (size_t i = 0; i < N_FAC; i++)
		v->functions[i] = f & fac_bits[i].mask ? fac_bits[i].c : '-';
	v->functions[N_FAC] = 0;
	if (dom < 0)
		strcpy(v->sestat, "-");
	else
		read_sestat(rel, v);
}

void pvk_apview_read(unsigned card, int dom, int verbose, struct pvk_apview *v)
{
	char rel[64], a[96];
	unsigned long f = 0;

	memset(v, 0, sizeof(*v));
	if (dom < 0)
		snprintf(rel, sizeof(rel), "card%02x", card);
	else
		snprintf(rel, sizeof(rel), "card%02x/%02x.%04x", card, card, (unsigned)dom);
	if (pvk_apview_attr(v->type, sizeof(v->type), "card%02x/type", card))
		strcpy(v->type, "-");
	snprintf(a, sizeof(a), "card%02x/ap_functions", card);
	attr_hex(&f, a);
	snprintf(v->mode, sizeof(v->mode), "%s", mode_of(f));
	read_status(rel, dom >= 0, v);
	if (verbose)
		read_verbose(card, dom, rel, v);
}

void pvk_apview_card_caps(unsigned card, struct pvk_apview_caps *c)
{
	char a[64];

	memset(c, 0, sizeof(*c));
	snprintf(a, sizeof(a), "card%02x/hwtype", card);
	attr_long(&c->hwtype, a);
	snprintf(a, sizeof(a), "card%02x/ap_functions", card);
	if (attr_hex(&c->functions, a))
		c->functions = 0;
	snprintf(a, sizeof(a), "card%02x/max_msg_size", card);
	if (attr_long(&c->max_msg_size, a))
		c->max_msg_size = 0;
}
