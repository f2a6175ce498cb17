/* SPDX-License-Identifier: MIT */
/* What lszcrypt shows of an AP card or queue (spec §7.3), read from the AP bus in sysfs
 * (below $PVKIT_SYSFS_ROOT): each column's text as s390-tools' lszcrypt prints it. */
#ifndef PVKIT_APVIEW_H
#define PVKIT_APVIEW_H

#include <stddef.h>

/* A card (dom < 0) or a queue. Every field is a NUL-terminated column value. */
struct pvk_apview {
	char type[32];        /* card's type ("CEX8P"), "-" when unreadable */
	char mode[16];        /* "CCA-Coproc", "Accelerator", "EP11-Coproc", "Unknown" */
	char status[128];     /* deconfig, chkstop, online, offline, a queue's status file, "-" */
	char requests[128];   /* request_count, "-" when deconfigured */
	/* verbose columns */
	char pending[24];     /* pendingq_count + requestq_count, "-" without a cex driver */
	char hwtype[128];
	char depth[24];       /* two digits */
	char functions[16];   /* the facility letters (SMCDAXNHFR), '-' for each one off */
	char driver[72];      /* the bound driver, "-no-driver-" */
	char sestat[16];      /* a queue's SE state: usable, bound, unbound, illicit, invalid,
	                         error; "-" for a card */
};

/* Fill v for card (and dom >= 0: its queue); the verbose columns only when verbose. */
void pvk_apview_read(unsigned card, int dom, int verbose, struct pvk_apview *v);

/* Whether lszcrypt lists the device without -V: its type and online files are readable. */
int pvk_apview_listed(unsigned card, int dom);

/* The last character of the card's type ('A' accelerator, 'C' CCA, 'P' EP11), 0 when
 * unreadable. */
int pvk_apview_type_char(unsigned card);

/* The first line of devices/ap/<rel> (rel from fmt) into buf without its newline: 0, or
 * -1 when it cannot be read. */
int pvk_apview_attr(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* devices/ap/<rel> (rel from fmt) is readable. */
int pvk_apview_attr_readable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What lszcrypt -c shows of a card. */
struct pvk_apview_caps {
	long hwtype;
	unsigned long functions;   /* ap_functions, 0 when unreadable */
	long max_msg_size;         /* bytes, 0 when unreadable */
};
void pvk_apview_card_caps(unsigned card, struct pvk_apview_caps *c);

#endif
