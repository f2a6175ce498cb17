// SPDX-License-Identifier: MIT
/*
 * stage3a: the plaintext part of an SE image. Points the IPIB at the SE
 * header, then asks the ultravisor to unpack the image (DIAG 0x308 subcodes 8
 * and 10). On success the guest restarts in secure mode at stage3b and this
 * code never continues; everything after that is error reporting.
 */
#include <stdint.h>

#include "console.h"
#include "pv_rc.h"
#include "s390.h"

/* Filled in by the image builder: offsets relative to the args themselves. */
struct stage3a_args {
	uint64_t hdr_offs;
	uint64_t hdr_size;
	uint64_t ipib_offs;
};

extern volatile struct stage3a_args stage3a_args;

noreturn void start(void);

#define FACILITY_DWORDS 4
static uint64_t facilities[FACILITY_DWORDS] __attribute__((aligned(8)));

static int has_facility(unsigned int nr)
{
	register uint64_t r0 asm("0") = FACILITY_DWORDS - 1;
	uint32_t stfl;

	/* STFL always works (it stores at lowcore 0xC8) and tells whether STFLE exists. */
	asm volatile(".insn s,0xb2b10000,0" : : : "memory");
	stfl = *(volatile uint32_t *)absptr(LC_STFL_FAC_LIST);
	if (stfl & (UINT32_C(1) << (31 - 7)))
		/* cc 3 (list longer than our buffer) still stores what fits. */
		asm volatile("stfle %1"
			     : "+d"(r0), "=Q"(*(uint64_t(*)[FACILITY_DWORDS])facilities)
			     :
			     : "cc");
	else
		facilities[0] = (uint64_t)stfl << 32;
	if (nr >= 64 * FACILITY_DWORDS)
		return 0;
	return (facilities[nr / 64] >> (63 - nr % 64)) & 1;
}

static noreturn void report_unpack_error(uint64_t reg)
{
	struct pv_unpack_result r = pv_unpack_result_split(reg);
	const char *text = pv_rc_message(r.pv_rc, r.pv_rrc);
	char msg[160], *p = msg, *end = msg + sizeof(msg);

	/* The failed unpack has reset the I/O subsystem, SCLP event masks included. */
	console_reset();
	if (text) {
		console_write(text);
		console_write("\n");
	}
	p = fmt_str(p, end, "Secure unpack failed: diag 308 rc ");
	p = fmt_hex(p, end, r.diag_rc, 4);
	p = fmt_str(p, end, ", ");
	p = fmt_str(p, end, pv_cmd_name(r.pv_cmd));
	p = fmt_str(p, end, " (");
	p = fmt_hex(p, end, r.pv_cmd, 4);
	p = fmt_str(p, end, ") rc ");
	p = fmt_hex(p, end, r.pv_rc, 4);
	p = fmt_str(p, end, " rrc ");
	p = fmt_hex(p, end, r.pv_rrc, 4);
	fmt_str(p, end, "\n");
	panic(msg, WAIT_UNPACK_FAILED);
}

void start(void)
{
	volatile struct stage3a_args *args = &stage3a_args;
	uint64_t base = (uint64_t)(uintptr_t)args;
	uint64_t ipib = base + args->ipib_offs;
	uint64_t rc;

	/* The builder only knows offsets, so the image may be loaded anywhere. */
	store_u64(ipib + IPIB_PV_HDR_ADDR, base + args->hdr_offs);
	store_u64(ipib + IPIB_PV_HDR_SIZE, args->hdr_size);

	if (!has_facility(FACILITY_UNPACK))
		panic("Secure unpack facility is not available\n", WAIT_NO_UNPACK);

	rc = diag308(DIAG308_SET_PV, ipib);
	if (rc != DIAG308_RC_OK) {
		char msg[96], *p = msg, *end = msg + sizeof(msg);

		p = fmt_str(p, end, "Setting the Secure Execution IPL parameters failed: rc ");
		p = fmt_hex(p, end, rc, 4);
		fmt_str(p, end, "\n");
		panic(msg, WAIT_SET_PV_FAILED);
	}

	/* Returns only on failure. */
	rc = diag308(DIAG308_UNPACK_PV, 0);
	report_unpack_error(rc);
}
