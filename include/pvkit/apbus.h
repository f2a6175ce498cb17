/* SPDX-License-Identifier: MIT */
/* The AP bus of a Secure Execution guest as its sysfs files (spec §7.1): cards
 * devices/ap/cardXX/{type,serialnr,...}, queues devices/ap/cardXX/XX.YYYY/{online,mkvps,
 * ap_functions,se_bind,se_associate}, and bus/ap/{features,bindings}. All paths are below
 * $PVKIT_SYSFS_ROOT (default /sys), so the same code runs on a real SE guest and on the AP
 * bus that uvsim simulates in a guest's sysfs view.
 *
 * Writes are plain writes of the attribute; the state they lead to is read back by polling.
 * The kernel refuses a write it does not allow with EINVAL; uvsim cannot return an errno
 * through a plain file, so there a refused write shows as the attribute keeping (getting
 * back) its previous state. The wait functions treat both alike: they return an error as
 * soon as the attribute shows a settled state other than the one asked for. */
#ifndef PVKIT_APBUS_H
#define PVKIT_APBUS_H

#include <stddef.h>

#include "pvkit/err.h"

#define APBUS_MAX_CARDS 256
#define APBUS_MAX_DOMAINS 256
#define APBUS_ASSOC_IDX_MAX 0xffffu

/* Poll interval (the cap of the back-off, see pvk_apbus_wait) and the timeouts of the tools. */
#define APBUS_POLL_MS 500u
#define APBUS_CFG_TIMEOUT_MS 10000u     /* pvapconfig bind and associate */
#define APBUS_CHZ_TIMEOUT_MS 30000u     /* chzcrypt --se-associate, --se-unbind */

enum apbus_mode {
	APBUS_MODE_UNKNOWN = 0,
	APBUS_MODE_ACCEL,       /* CEXnA */
	APBUS_MODE_CCA,         /* CEXnC */
	APBUS_MODE_EP11,        /* CEXnP */
};

enum pvk_apbus_bind {
	APBUS_BIND_UNBOUND = 0,
	APBUS_BIND_BOUND,
	APBUS_BIND_UNSUPPORTED, /* "-" */
	APBUS_BIND_OTHER,       /* anything else: a write not processed yet (uvsim) */
};

enum apbus_assoc {
	APBUS_ASSOC_UNASSOCIATED = 0,
	APBUS_ASSOC_PENDING,
	APBUS_ASSOC_ASSOCIATED,
	APBUS_ASSOC_UNSUPPORTED, /* "-" */
	APBUS_ASSOC_OTHER,
};

/* BS bits 14-15 of a queue's ap_functions (lszcrypt's SESTAT). */
enum apbus_bs {
	APBUS_BS_USABLE = 0,
	APBUS_BS_BOUND = 1,
	APBUS_BS_UNBOUND = 2,
	APBUS_BS_ILLICIT = 3,
};
#define APBUS_BS(funcs) ((unsigned)(((funcs) & 0xc000ul) >> 14))

/* ap_functions bits (lszcrypt's FUNCTIONS column and MODE). */
#define APBUS_FUNC_COPRO 0x10000000ul
#define APBUS_FUNC_ACCEL 0x08000000ul
#define APBUS_FUNC_EP11 0x04000000ul

/* "$PVKIT_SYSFS_ROOT/<fmt ...>" into buf; returns buf. */
const char *pvk_apbus_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A queue attribute's path, "$PVKIT_SYSFS_ROOT/devices/ap/cardXX/XX.YYYY/ATTR", into buf;
 * returns buf. */
const char *pvk_apbus_queue_path(char *buf, size_t len, unsigned card, unsigned dom,
			     const char *attr);

/* bus/ap exists (the AP bus driver is there). */
int pvk_apbus_present(void);
/* bus/ap/features lists the token (e.g. "APSB"). 0 if the file cannot be read. */
int pvk_apbus_has_feature(const char *token);
/* bus/ap/bindings says "complete" ("6/6 (complete)"): 1, else 0; -1 when unreadable. */
int pvk_apbus_bindings_complete(struct pvk_err *e);

/* "CEX8P" -> generation 8, EP11. 0 on success, -1 if not ^CEX[3-8][ACP]$. */
int pvk_apbus_parse_type(const char *type, int *gen, enum apbus_mode *mode);
/* "03.002b" -> card 3, domain 0x2b (exactly 2 and 4 hex digits). 0 on success. */
int pvk_apbus_parse_apqn(const char *s, unsigned *card, unsigned *dom);

/* Card ids (devices/ap/cardXX), ascending. */
int pvk_apbus_cards(unsigned *ids, size_t max, size_t *n, struct pvk_err *e);
/* Domains of a card's queues (cardXX/XX.YYYY), ascending. */
int pvk_apbus_queues(unsigned card, unsigned *doms, size_t max, size_t *n, struct pvk_err *e);
int pvk_apbus_queue_exists(unsigned card, unsigned dom);

/* First line of a card attribute (devices/ap/cardXX/ATTR) or a queue attribute
 * (devices/ap/cardXX/XX.YYYY/ATTR), trailing white space removed. */
int pvk_apbus_read_card(unsigned card, const char *attr, char *buf, size_t len, struct pvk_err *e);
int pvk_apbus_read_queue(unsigned card, unsigned dom, const char *attr, char *buf, size_t len,
		     struct pvk_err *e);
/* The whole attribute (e.g. mkvps), NUL-terminated, at most len - 1 bytes. */
int pvk_apbus_read_queue_all(unsigned card, unsigned dom, const char *attr, char *buf, size_t len,
			 struct pvk_err *e);
int pvk_apbus_write_queue(unsigned card, unsigned dom, const char *attr, const char *value,
		      struct pvk_err *e);

/* Parsers of the attribute texts (pure). */
enum pvk_apbus_bind pvk_apbus_parse_bind(const char *s);
enum apbus_assoc pvk_apbus_parse_assoc(const char *s, unsigned *idx);
/* The MKVP after "<key> CUR:" of an mkvps text (key "WK" for EP11, "AES"/"APKA" for CCA):
 * if its state is "valid", the value without 0x, lowercase, at most 32 hex digits; else "".
 * Returns -1 when the text has no "<key> CUR:" line with two tokens. */
int pvk_apbus_parse_mkvp(const char *mkvps, const char *key, char out[33]);

/* A queue's se_bind state, and its se_associate state (with the association index when
 * associated); errors name the queue's file. */
int pvk_apbus_bind_state(unsigned card, unsigned dom, enum pvk_apbus_bind *st, struct pvk_err *e);
int pvk_apbus_assoc_state(unsigned card, unsigned dom, enum apbus_assoc *st, unsigned *idx,
		      struct pvk_err *e);
/* The queue's ap_functions value. */
int pvk_apbus_queue_functions(unsigned card, unsigned dom, unsigned long *funcs, struct pvk_err *e);

/* Poll an attribute until check() says done (1) or failed (-1), or timeout_ms passes. Polls
 * right away, then with a back-off from 10 ms doubling up to interval_ms. The last value
 * read is left in buf. Returns 0 done, -1 failed/timeout/unreadable (e says which). */
struct pvk_apbus_wait {
	unsigned interval_ms, timeout_ms;
	int (*check)(const char *value, void *ctx);  /* 1 done, 0 go on, -1 failed */
	void *ctx;
};
int pvk_apbus_wait(unsigned card, unsigned dom, const char *attr, const struct pvk_apbus_wait *w,
	       char *buf, size_t len, struct pvk_err *e);

/* Write se_bind "1" and wait for "bound". Fails when the queue settles at another state
 * (refused) or after timeout_ms. */
int pvk_apbus_bind(unsigned card, unsigned dom, unsigned timeout_ms, struct pvk_err *e);
/* Write se_bind "0" (unbind: flush and reset the queue) and wait for "unbound". */
int pvk_apbus_unbind(unsigned card, unsigned dom, unsigned timeout_ms, struct pvk_err *e);
/* Write the index to se_associate and wait for "associated <idx>". Fails when it settles at
 * "unassociated" (refused, or the association failed) or at another index. */
int pvk_apbus_associate(unsigned card, unsigned dom, unsigned idx, unsigned timeout_ms,
		    struct pvk_err *e);

#endif
