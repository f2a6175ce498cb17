/* SPDX-License-Identifier: MIT */
/* CPU helpers shared by stage3a and stage3b. */
#include "layout.h"

	.text

/*
 * void cpu_wait_ext(void): enabled wait until one external interrupt arrives.
 * Which subclasses can interrupt is up to the caller (CR0). The interrupt
 * loads our external new PSW, which continues right after the wait, disabled
 * again, so no interrupt handler is needed.
 */
	.globl	cpu_wait_ext
	.type	cpu_wait_ext,@function
cpu_wait_ext:
	larl	%r1,.Lext_new_psw
	mvc	LC_EXT_NEW_PSW(16),0(%r1)
	larl	%r1,.Lwait_psw
	lpswe	0(%r1)
.Lwoken:
	br	%r14
	.size	cpu_wait_ext,.-cpu_wait_ext

/*
 * loader_enter: common start of both loaders, entered by a jump once the CPU
 * is in z/Architecture mode with 64-bit addressing. Never returns.
 */
	.globl	loader_enter
	.type	loader_enter,@function
loader_enter:
	llilf	%r15,STACK_END - STACK_FRAME_SIZE
	/* A program check stops the CPU with a telling wait PSW instead of running garbage. */
	larl	%r1,.Lpgm_new_psw
	mvc	LC_PGM_NEW_PSW(16),0(%r1)
	/* Clear .bss: MVCLE with an empty source stores the pad byte (0). */
	larl	%r2,__bss_start
	larl	%r3,__bss_end
	sgr	%r3,%r2
	lghi	%r4,0
	lghi	%r5,0
0:	mvcle	%r2,%r4,0
	jo	0b
	brasl	%r14,start
	larl	%r1,.Lreturned_psw
	lpswe	0(%r1)
	.size	loader_enter,.-loader_enter

	.section .rodata
	.balign	8
.Lext_new_psw:
	.quad	PSW_MASK_64, .Lwoken
.Lwait_psw:
	.quad	PSW_MASK_EXT | PSW_MASK_WAIT | PSW_MASK_64, .Lwoken
.Lpgm_new_psw:
	.quad	PSW_MASK_WAIT | PSW_MASK_64, WAIT_PROGRAM_CHECK
.Lreturned_psw:
	.quad	PSW_MASK_WAIT | PSW_MASK_64, WAIT_START_RETURNED

	.section .note.GNU-stack,"",@progbits
