// SPDX-License-Identifier: MIT
/*
 * Meaning of the result of DIAG 0x308 subcode 10 (secure unpack) when it
 * returns (SE-FORMATS.md §1.7). Plain C, also built natively for unit tests.
 */
#ifndef PVKIT_BOOT_PV_RC_H
#define PVKIT_BOOT_PV_RC_H

#include <stdint.h>

/* The 64-bit result register holds four big-endian u16 fields, MSB first. */
struct pv_unpack_result {
	uint16_t pv_cmd;
	uint16_t pv_rrc;
	uint16_t pv_rc;
	uint16_t diag_rc;
};

struct pv_unpack_result pv_unpack_result_split(uint64_t reg);

/* Text for a known (rc, rrc) pair, or NULL. */
const char *pv_rc_message(uint16_t pv_rc, uint16_t pv_rrc);

/* KVM command that failed (2, 3, 4), or "unknown command". */
const char *pv_cmd_name(uint16_t pv_cmd);

#endif
