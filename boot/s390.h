// SPDX-License-Identifier: MIT
/* Privileged-instruction wrappers and small helpers for the boot loaders. */
#ifndef PVKIT_BOOT_S390_H
#define PVKIT_BOOT_S390_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define noreturn _Noreturn

struct psw {
	uint64_t mask;
	uint64_t addr;
} __attribute__((aligned(8)));

/*
 * Turn a fixed guest address into a pointer. The empty asm hides the constant
 * from GCC, which otherwise treats small addresses as null-pointer
 * dereferences or out-of-bounds accesses and may drop or warn about them.
 */
static inline void *absptr(uint64_t addr)
{
	void *p;

	asm("" : "=d"(p) : "0"(addr));
	return p;
}

static inline void store_u64(uint64_t addr, uint64_t val)
{
	*(volatile uint64_t *)absptr(addr) = val;
}

static inline uint64_t load_u64(uint64_t addr)
{
	return *(volatile uint64_t *)absptr(addr);
}

static inline noreturn void load_psw(const struct psw *psw)
{
	asm volatile("lpswe %0" : : "Q"(*psw) : "memory");
	__builtin_unreachable();
}

/* Stop the CPU for good; @code ends up as the PSW address. */
static inline noreturn void disabled_wait(uint64_t code)
{
	struct psw psw = { PSW_MASK_WAIT | PSW_MASK_64, code };

	load_psw(&psw);
}

static inline uint64_t ctl0_store(void)
{
	uint64_t v;

	asm volatile("stctg 0,0,%0" : "=Q"(v));
	return v;
}

static inline void ctl0_load(uint64_t v)
{
	asm volatile("lctlg 0,0,%0" : : "Q"(v) : "memory");
}

/*
 * DIAG 0x308: R1 is the even/odd pair r0/r1 (r0 = parameter address, the
 * return code comes back in r1), R3 holds the subcode.
 */
static inline uint64_t diag308(uint64_t subcode, uint64_t addr)
{
	register uint64_t r0 asm("0") = addr;
	register uint64_t r1 asm("1") = 0;

	asm volatile("diag %0,%2,0x308"
		     : "+d"(r0), "+d"(r1)
		     : "d"(subcode)
		     : "cc", "memory");
	return r1;
}

/* Defined in cpu.S: waits for one external interrupt, then returns. */
void cpu_wait_ext(void);

#endif
