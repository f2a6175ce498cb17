/* SPDX-License-Identifier: MIT */
/* The pvattest exchange format v1 (spec §4.6): a 64-byte header with five (size, offset)
 * entries — ARCB, measurement, additional data, user data, CUID — and their payloads. */
#ifndef PVKIT_EXCHANGE_H
#define PVKIT_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"

#define EXCH_MAGIC "pvattest"
#define EXCH_VERSION_V1 0x00000100u
#define EXCH_HDR_LEN 0x40
#define EXCH_MAX_ARCB 0x100000u
#define EXCH_MAX_MEAS 0x8000u
#define EXCH_MAX_ADD 0x8000u
#define EXCH_MAX_USER 256u
#define EXCH_CUID_LEN 16

enum exch_entry { EXCH_ARCB, EXCH_MEAS, EXCH_ADD, EXCH_USER, EXCH_CUID, EXCH_N };

/* An entry: size 0 = absent; size > 0 with data NULL = "expected size only". */
struct exch_item {
	uint32_t size;
	const uint8_t *data;
};

struct exch {
	struct exch_item it[EXCH_N];
};

/* Serialize: items with data are packed from 0x40 in entry order; items without data but
 * with a size are written as (size, 0). *out is malloc'd. */
int pvk_exch_write(const struct exch *x, uint8_t **out, size_t *len, struct pvk_err *e);
/* Parse a file of len bytes; item data point into buf. Checks magic, version, sizes against
 * the maxima and the file; requires an ARCB. */
int pvk_exch_parse(const uint8_t *buf, size_t len, struct exch *x, struct pvk_err *e);
/* A response must also carry the measurement and a 16-byte CUID. */
int pvk_exch_check_response(const struct exch *x, struct pvk_err *e);

#endif
