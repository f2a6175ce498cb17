/* SPDX-License-Identifier: MIT */
/* pvapconfig's model (spec §7.4-7.6): the YAML configuration (a list of entries, read with
 * libyaml, every error with its line), the APQNs of the guest, the matching rule, and the
 * algorithm that makes the AP configuration match the file (pass 1 "already satisfied",
 * unbind the rest, pass 2 "configure") over an abstract AP bus, so tests can run it on a
 * double. */
#ifndef PVKIT_APCONFIG_H
#define PVKIT_APCONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/apbus.h"
#include "pvkit/err.h"

#define APCFG_DEFAULT_FILE "/etc/pvapconfig.yaml"
#define APCFG_MAX_ENTRIES 1024
#define APCFG_MAX_FILE (1u << 20)

enum apcfg_mode {
	APCFG_MODE_ACCEL = 1,
	APCFG_MODE_EP11 = 2,
};

/* One entry after validation (spec §7.4). */
struct apcfg_entry {
	char *name;           /* trimmed; "" when absent */
	char *description;    /* as given; "" when absent */
	enum apcfg_mode mode;
	char mkvp[33];        /* EP11: the first 16 bytes, 32 lowercase hex digits; accel: "" */
	char serialnr[17];    /* EP11: "" or 16 non-blank characters; accel: "" */
	int mingen;           /* 0 (none) or 4..8 (accel), 8 (EP11) */
	char secretid[65];    /* EP11: 64 lowercase hex digits (SHA-256(name) if only name) */
	unsigned line;        /* the line the entry starts on (1-based) */
};

struct apcfg {
	struct apcfg_entry *v;
	size_t n;
};

/* Parse and validate a configuration held in memory; fname names it in messages
 * ("FILE:LINE:COL: ..."). An empty document or an empty list gives n = 0. */
int pvk_apcfg_parse(const char *buf, size_t len, const char *fname, struct apcfg *c,
		struct pvk_err *e);
int pvk_apcfg_load(const char *path, struct apcfg *c, struct pvk_err *e);
void pvk_apcfg_free(struct apcfg *c);
/* "#2 'my EP11'" or "#2": how messages name the entry with index i (0-based). */
const char *pvk_apcfg_entry_label(const struct apcfg *c, size_t i, char *buf, size_t len);

/* One APQN as pvapconfig sees it. */
struct apcfg_apqn {
	unsigned card, dom;
	int gen;
	enum apbus_mode mode;
	int info;             /* EP11: serialnr and mkvp were read */
	char serialnr[17];
	char mkvp[33];        /* "" when no valid wrapping key */
};

/* Matching rule (spec §7.6). mingen is the documented "minimal generation": the APQN's
 * generation must be >= mingen. (IBM's pvapconfig v2.43.0 compares the other way.)
 * Returns 1 on a match; otherwise 0 and, if why is not NULL, the reason. */
int pvk_apcfg_match(const struct apcfg_entry *ent, const struct apcfg_apqn *q, char *why,
		size_t len);
/* Sort newest generation first, keeping card/domain order within a generation. */
void pvk_apcfg_sort(struct apcfg_apqn *q, size_t n);
/* Two EP11 queues of one card with the same non-empty MKVP: returns -1 with the message. */
int pvk_apcfg_check_mk(const struct apcfg_apqn *q, size_t n, struct pvk_err *e);

/* The UV's secret list (spec §5.8): one entry per listed secret. */
struct apcfg_secret {
	uint16_t index, type;
	uint8_t id[32];
};
/* Parse a list-secrets answer (16-byte header, 48-byte entries; pvk_secret_list_parse).
 * *more: the header counts more secrets than the buffer holds. */
int pvk_apcfg_parse_secrets(const uint8_t *buf, size_t len, struct apcfg_secret **out, size_t *n,
			int *more, struct pvk_err *e);

/* The AP bus as the algorithm uses it (the real one: pvk_apcfg_sysfs_ops). */
struct apcfg_ops {
	int (*bind_state)(void *ctx, const struct apcfg_apqn *q, enum pvk_apbus_bind *st,
			  struct pvk_err *e);
	int (*assoc_state)(void *ctx, const struct apcfg_apqn *q, enum apbus_assoc *st,
			   unsigned *idx, struct pvk_err *e);
	int (*bind)(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e);
	int (*unbind)(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e);
	int (*associate)(void *ctx, const struct apcfg_apqn *q, unsigned idx, struct pvk_err *e);
	void *ctx;
};
extern const struct apcfg_ops pvk_apcfg_sysfs_ops;

enum apcfg_log {
	APCFG_LOG_INFO,       /* -v */
	APCFG_LOG_ACTION,     /* an action (bind, associate, unbind): -v or --dry-run */
	APCFG_LOG_WARN,       /* always */
};
typedef void (*apcfg_log_fn)(void *ctx, enum apcfg_log level, const char *msg);

struct apcfg_run {
	int dry_run;          /* print the actions, change nothing */
	apcfg_log_fn log;
	void *log_ctx;
	/* out */
	size_t satisfied;     /* entries satisfied (already, or configured) */
};

/* Spec §7.5 steps 8-10 on apqns already sorted (pvk_apcfg_sort). Returns 0, or -1 when an
 * action failed (the run stops there; nothing is rolled back). */
int pvk_apcfg_apply(const struct apcfg *c, const struct apcfg_apqn *q, size_t nq,
		const struct apcfg_secret *s, size_t ns, const struct apcfg_ops *ops,
		struct apcfg_run *run, struct pvk_err *e);

#endif
