/* SPDX-License-Identifier: MIT */
/* Dumps of Secure Execution guests (the guide, ch. 6): the ELF core QEMU's dump-guest-memory
 * writes for a protected guest, with what the UV gives it encrypted under keys derived from
 * the image's customer communication key (CCK), and its decryption into a plain ELF dump.
 *
 * Layout (QEMU target/s390x/arch_dump.c, read by s390-tools' zgetdump, zdump/pv_*): an
 * ELF64 big-endian core for EM_S390 with one PT_NOTE (per CPU the hypervisor's CORE notes and
 * a LINUX note NT_S390_PV_CPU_DATA, the CPU state AES-256-GCM encrypted), one PT_LOAD (guest
 * memory from address 0: encrypted pages AES-256-XTS, zero pages, shared pages in the clear)
 * and two sections: "pv_mem_meta", 16 bytes per 4 KiB page (the page's tweak component, or a
 * special value 0xffffffff... with zero/shared/mapped flags), and "pv_compl", the completion
 * data: a 64-byte seed and an IV in the clear (the AAD), the tweak nonce and the 64-byte XTS
 * key encrypted, and the GCM tag. The GCM key is HKDF-SHA512 of the CCK with the seed as salt
 * and "IBM Z Ultravisor Dump" as info; a page's tweak is its component ORed with the nonce. */
#ifndef PVKIT_PVDUMP_H
#define PVKIT_PVDUMP_H

#include <stdint.h>

#include "pvkit/err.h"

#define PVDUMP_PAGE 4096u
#define PVDUMP_COMPL_LEN 288u        /* pv_compl: completion data, version 1 */
#define PVDUMP_CPU_LEN 1568u         /* NT_S390_PV_CPU_DATA: encrypted CPU state, version 1 */
#define PVDUMP_NT_PV_CPU_DATA 0x30e
#define PVDUMP_HKDF_INFO "IBM Z Ultravisor Dump"
#define PVDUMP_MAX_CPUS 248

/* The CPU state the UV dumps (the confidential part of a CPU note). */
struct pvk_pvdump_cpu {
	uint64_t psw[2];
	uint64_t gprs[16];
	uint32_t acrs[16];
	uint64_t ctrs[16];
	uint64_t fprs[16];
	uint32_t prefix, fpc, todpreg;
	uint64_t timer, todcmp;
};

struct pvk_pvdump_info {
	uint64_t mem_len;             /* bytes of guest memory (the PT_LOAD) */
	uint64_t encrypted, zero, shared;  /* pages of each kind */
	unsigned cpus;
};

/* As the UV and QEMU make it: a protected dump of the guest memory in the file mem (mem_len
 * bytes from guest address 0, a multiple of 1 MiB) and of the CPUs, encrypted with fresh keys
 * released under cck. Written to out (mode 0600) whole or not at all; streamed page by page. */
int pvk_pvdump_write(const char *mem, uint64_t mem_len, const uint8_t cck[32],
		     const struct pvk_pvdump_cpu *cpus, unsigned ncpus, const char *out,
		     struct pvk_err *e);

/* What a protected dump holds, read without its key. */
int pvk_pvdump_inspect(const char *in, struct pvk_pvdump_info *info, struct pvk_err *e);

/* Decrypt a protected dump with the CCK into a plain ELF dump at out (mode 0600: guest
 * memory): per CPU the CORE and LINUX notes of its state, one PT_LOAD of the memory. A wrong
 * CCK or a changed completion data or CPU note fails with PVK_E_AUTH; nothing is written. */
int pvk_pvdump_decrypt(const char *in, const uint8_t cck[32], const char *out,
		       struct pvk_pvdump_info *info, struct pvk_err *e);

#endif
