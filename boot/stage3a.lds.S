/* SPDX-License-Identifier: MIT */
/*
 * stage3a memory layout:
 *   0x0c000-0x0cfff  .bss (runtime only; in the image file this page holds the metadata block)
 *   0x0f000-0x0ffff  stack
 *   0x10000          init stub (below 0x10400, zipl's parm area)
 *   0x11000          main code, data, then stage3a_args as the last 24 bytes; ends below 0x13000
 */
#include "layout.h"

OUTPUT_FORMAT("elf64-s390", "elf64-s390", "elf64-s390")
OUTPUT_ARCH(s390:64-bit)
ENTRY(_stage3a_init)

SECTIONS
{
	. = STAGE3A_BSS_START;
	.bss (NOLOAD) : {
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(8);
		__bss_end = .;
	}
	ASSERT(__bss_end <= STAGE3A_BSS_END, "stage3a .bss does not fit into 0xC000-0xCFFF")

	. = STAGE3A_INIT_ENTRY;
	.text : {
		KEEP(*(.text.init))
		__init_end = .;
		/* Inside an output section '.' counts from the section start. */
		. = STAGE3A_ENTRY - STAGE3A_INIT_ENTRY;
		KEEP(*(.text.entry))
		*(.text .text.*)
	}
	ASSERT(__init_end <= PARMAREA, "stage3a init stub overlaps zipl's parm area at 0x10400")
	ASSERT(_stage3a_entry == STAGE3A_ENTRY, "stage3a main entry is not at 0x11000")

	.rodata : { *(.rodata .rodata.*) }
	.data : { *(.data .data.*) }

	/* Last section of the file: the builder patches the final 24 bytes. */
	.stage3a_args ALIGN(8) : {
		KEEP(*(.stage3a_args))
	}
	__image_end = .;
	ASSERT(SIZEOF(.stage3a_args) == STAGE3A_ARGS_SIZE, "stage3a_args must be 24 bytes")
	ASSERT(__image_end <= STAGE3A_LIMIT, "stage3a.bin is larger than 0x3000 bytes")

	/* Linker-made sections that a static, non-PIE link leaves empty. */
	.rela.dyn : { *(.rela.* .rela.iplt) }
	.got : { *(.got .got.* .igot.plt .iplt .plt) }
	ASSERT(SIZEOF(.rela.dyn) == 0 && SIZEOF(.got) == 0, "unexpected relocations or GOT entries")

	/DISCARD/ : {
		*(.eh_frame .eh_frame_hdr .comment .note .note.* .interp)
	}
}
