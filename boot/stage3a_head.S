/* SPDX-License-Identifier: MIT */
/* stage3a entry points and argument area (SE-FORMATS.md §1.7). */
#include "layout.h"

/*
 * 0x10000: where zipl enters, possibly still in ESA/390 mode. Must stay below
 * 0x10400, zipl's parm area: switch modes and leave for 0x11000.
 */
	.section .text.init,"ax",@progbits
	.globl	_stage3a_init
_stage3a_init:
	lhi	%r1,SIGP_ARCH_ZARCH
	sigp	%r1,%r0,SIGP_SET_ARCHITECTURE
	sam64
	jg	_stage3a_entry

/* 0x11000: the short PSW of the image points here (QEMU -kernel, §1.4). */
	.section .text.entry,"ax",@progbits
	.globl	_stage3a_entry
_stage3a_entry:
	lhi	%r1,SIGP_ARCH_ZARCH
	sigp	%r1,%r0,SIGP_SET_ARCHITECTURE
	sam64
	jg	loader_enter

/*
 * stage3a_args: the last 24 bytes of stage3a.bin (the linker script places
 * the section last). Zero here; the image builder fills them in.
 */
	.section .stage3a_args,"aw",@progbits
	.balign	8
	.globl	stage3a_args
	.type	stage3a_args,@object
stage3a_args:
	.fill	STAGE3A_ARGS_SIZE,1,0
	.size	stage3a_args,.-stage3a_args

	.section .note.GNU-stack,"",@progbits
