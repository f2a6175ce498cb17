/* SPDX-License-Identifier: MIT */
/* stage3b entry point and argument area (SE-FORMATS.md §1.8). */
#include "layout.h"

/* 0xA000: the relocator has already set z/Architecture and 64-bit addressing. */
	.section .text.entry,"ax",@progbits
	.globl	_stage3b_start
_stage3b_start:
	jg	loader_enter

/*
 * stage3b_args: the last 64 bytes of stage3b.bin and so of stage3b_reloc.bin.
 * Zero here; the image builder fills them in before encrypting.
 */
	.section .stage3b_args,"aw",@progbits
	.balign	8
	.globl	stage3b_args
	.type	stage3b_args,@object
stage3b_args:
	.fill	STAGE3B_ARGS_SIZE,1,0
	.size	stage3b_args,.-stage3b_args

	.section .note.GNU-stack,"",@progbits
