/* SPDX-License-Identifier: MIT */
/*
 * stage3b relocator: the first bytes of the stage3b component, where the
 * ultravisor starts the secure guest (the SE header's PSW). It runs at
 * whatever address the component was placed, so only PC-relative addressing:
 * copy the embedded stage3b.bin to its link address 0xA000 and jump there.
 */
#include "layout.h"

	.section .text.reloc,"ax",@progbits
	.globl	_reloc_start
_reloc_start:
	/* Entered after a diag 308 reset: do not assume any mode. */
	lhi	%r1,SIGP_ARCH_ZARCH
	sigp	%r1,%r0,SIGP_SET_ARCHITECTURE
	sam64
	/* MVCLE: r2/r3 destination address/length, r4/r5 source address/length. */
	llilf	%r2,STAGE3B_START
	larl	%r4,__stage3b_payload_start
	larl	%r5,__stage3b_payload_end
	sgr	%r5,%r4
	lgr	%r3,%r5
0:	mvcle	%r2,%r4,0
	jo	0b
	llilf	%r1,STAGE3B_START
	br	%r1

	/* Nothing may follow the payload: its last 64 bytes are the stage3b args. */
	.balign	8
	.globl	__stage3b_payload_start
__stage3b_payload_start:
	.incbin	"stage3b.bin"
	.globl	__stage3b_payload_end
__stage3b_payload_end:

	.section .note.GNU-stack,"",@progbits
