// SPDX-License-Identifier: MIT
/*
 * Fixed guest-absolute addresses of the SE boot loaders (SE-FORMATS.md §1.2).
 * Included by C, assembly and the linker scripts, so: plain numbers, no casts,
 * no integer suffixes.
 */
#ifndef PVKIT_BOOT_LAYOUT_H
#define PVKIT_BOOT_LAYOUT_H

/* Lowcore fields (z/Architecture, prefix 0). */
#define LC_STFL_FAC_LIST	0xc8	/* 4 bytes stored by STFL */
#define LC_EXT_INT_CODE		0x86	/* u16 */
#define LC_EXT_NEW_PSW		0x1b0
#define LC_PGM_NEW_PSW		0x1d0

/* PSW masks. */
#define PSW_MASK_64		0x0000000180000000	/* EA | BA */
#define PSW_MASK_WAIT		0x0002000000000000
#define PSW_MASK_EXT		0x0100000000000000

#define SIGP_SET_ARCHITECTURE	0x12
#define SIGP_ARCH_ZARCH		1

/* Loader stack: one page below the kernel, shared by stage3a and stage3b. */
#define STACK_START		0xf000
#define STACK_END		0x10000
#define STACK_FRAME_SIZE	160

/* stage3a: init stub at 0x10000, main code at 0x11000, everything below 0x13000. */
#define STAGE3A_INIT_ENTRY	0x10000
#define PARMAREA		0x10400	/* zipl's stage3 writes here */
#define STAGE3A_ENTRY		0x11000
#define STAGE3A_LIMIT		0x13000
#define STAGE3A_BSS_START	0xc000	/* runtime only; the file holds image metadata here */
#define STAGE3A_BSS_END		0xd000
#define STAGE3A_ARGS_SIZE	24

/* stage3b: copied to 0xA000 by its relocator, must end below the stack. */
#define STAGE3B_START		0xa000
#define STAGE3B_LIMIT		0xf000
#define STAGE3B_ARGS_SIZE	64

/* Linux kernel layout after stage3b has cut the first 64 KiB of the raw image. */
#define IMAGE_LOAD_ADDRESS	0x10000
#define INITRD_START		0x10408
#define INITRD_SIZE		0x10410
#define MAX_COMMAND_LINE_SIZE	0x10430
#define COMMAND_LINE		0x10480
#define LEGACY_COMMAND_LINE_SIZE 896

/* IPIB (PV type) fields stage3a rewrites (§1.9). */
#define IPIB_PV_HDR_ADDR	0x78
#define IPIB_PV_HDR_SIZE	0x80

/* Facility and DIAG 0x308 subcodes / return code (§1.7). */
#define FACILITY_UNPACK		161
#define DIAG308_SET_PV		8
#define DIAG308_UNPACK_PV	10
#define DIAG308_RC_OK		1

/*
 * Disabled-wait PSW addresses: the address of the final wait PSW says why the
 * loader stopped (visible with `qemu -d guest_errors` or on the HMC).
 */
#define WAIT_PROGRAM_CHECK	0x3f00
#define WAIT_START_RETURNED	0x3f02
#define WAIT_NO_UNPACK		0x3a02
#define WAIT_SET_PV_FAILED	0x3a04
#define WAIT_UNPACK_FAILED	0x3a06
#define WAIT_BAD_KERNEL		0x3b02
#define WAIT_BAD_CMDLINE	0x3b04

#endif
