/* SPDX-License-Identifier: MIT */
/*
 * stage3b memory layout (after the relocator has copied it):
 *   0x0a000          code, data, stage3b_args (the last 64 bytes of stage3b.bin), then .bss
 *   ...  0x0efff     end of the loader, below the stack
 *   0x0f000-0x0ffff  stack
 */
#include "layout.h"

OUTPUT_FORMAT("elf64-s390", "elf64-s390", "elf64-s390")
OUTPUT_ARCH(s390:64-bit)
ENTRY(_stage3b_start)

SECTIONS
{
	. = STAGE3B_START;
	.text : {
		KEEP(*(.text.entry))
		*(.text .text.*)
	}
	ASSERT(_stage3b_start == STAGE3B_START, "stage3b entry is not at 0xA000")

	.rodata : { *(.rodata .rodata.*) }
	.data : { *(.data .data.*) }

	/* Last section with contents: the builder patches the final 64 bytes. */
	.stage3b_args ALIGN(8) : {
		KEEP(*(.stage3b_args))
	}
	__image_end = .;
	ASSERT(SIZEOF(.stage3b_args) == STAGE3B_ARGS_SIZE, "stage3b_args must be 64 bytes")

	/* Not in the file; cleared at run time. */
	.bss (NOLOAD) : ALIGN(8) {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(8);
		__bss_end = .;
	}
	ASSERT(__bss_end <= STAGE3B_LIMIT, "stage3b does not fit below 0xF000")

	/* Linker-made sections that a static, non-PIE link leaves empty. */
	.rela.dyn : { *(.rela.* .rela.iplt) }
	.got : { *(.got .got.* .igot.plt .iplt .plt) }
	ASSERT(SIZEOF(.rela.dyn) == 0 && SIZEOF(.got) == 0, "unexpected relocations or GOT entries")

	/DISCARD/ : {
		*(.eh_frame .eh_frame_hdr .comment .note .note.* .interp)
	}
}
