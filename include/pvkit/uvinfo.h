/* SPDX-License-Identifier: MIT */
/* What the ultravisor tells about itself in sysfs (/sys/firmware/uv, or the tree below
 * $PVKIT_SYSFS_ROOT): the SE status, the installed UV calls, features, limits and the
 * supported versions and flags, named as IBM's pvinfo names them. */
#ifndef PVKIT_UVINFO_H
#define PVKIT_UVINFO_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"

/* The flag words in query/ and the names of their bits (MSB0), in IBM's wording. */
enum uvinfo_table {
	UVINFO_FACILITIES,          /* facilities: installed UV calls */
	UVINFO_FEATURES,            /* feature_indications */
	UVINFO_ATT_PFLAGS,          /* supp_att_pflags */
	UVINFO_SECRET_TYPES,        /* supp_secret_types */
	UVINFO_SE_HDR_PCF,          /* supp_se_hdr_pcf */
	UVINFO_ADD_SECRET_PCF,      /* supp_add_secret_pcf */
	UVINFO_SE_HDR_VER,          /* supp_se_hdr_ver: versions, not names */
	UVINFO_ATT_REQ_VER,         /* supp_att_req_hdr_ver */
	UVINFO_ADD_SECRET_REQ_VER,  /* supp_add_secret_req_ver */
	UVINFO_N_TABLES,
};

/* The file of a table, below query/. */
const char *pvk_uvinfo_file(enum uvinfo_table t);

/* The lines IBM's pvinfo prints for value v of table t: one per set bit it knows ("Reserved
 * Bit-N" for reserved ones), or, when it knows none, a note and "- Bit N is ON" lines;
 * versions as "version 100 hex is supported". Calls emit once per line; returns the count. */
size_t pvk_uvinfo_lines(enum uvinfo_table t, uint64_t v, void (*emit)(void *ctx, const char *line),
		    void *ctx);

/* The directory: $PVKIT_SYSFS_ROOT/firmware/uv, else /sys/firmware/uv. */
const char *pvk_uvinfo_dir(char *buf, size_t len);

/* Read the first line of DIR/query/FILE as hex (an optional 0x, at most 16 digits).
 * Returns 1 and *v when present and non-zero, 0 when the file cannot be read, is empty or
 * holds 0 (absent, as IBM's pvinfo treats them), -1 with e when it holds no hex number. */
int pvk_uvinfo_read_hex(const char *dir, const char *file, uint64_t *v, struct pvk_err *e);
/* The same for a decimal number (the limits); 0 is a value here. */
int pvk_uvinfo_read_dec(const char *dir, const char *file, uint64_t *v, struct pvk_err *e);
/* DIR/NAME holding "0" or "1" (prot_virt_guest, prot_virt_host); -1 with e otherwise. */
int pvk_uvinfo_read_bool(const char *dir, const char *name, int *v, struct pvk_err *e);

/* The limits: query file and IBM's description. */
struct uvinfo_limit {
	const char *file, *desc;
};
extern const struct uvinfo_limit pvk_uvinfo_limits[6];

#endif
