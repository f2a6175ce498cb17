/* SPDX-License-Identifier: MIT */
/* stage3b_reloc.bin: position-independent relocator + embedded stage3b.bin. */
#include "layout.h"

OUTPUT_FORMAT("elf64-s390", "elf64-s390", "elf64-s390")
OUTPUT_ARCH(s390:64-bit)
ENTRY(_reloc_start)

SECTIONS
{
	. = 0;
	.text : {
		KEEP(*(.text.reloc))
		*(.text .data .bss)
	}
	ASSERT(__stage3b_payload_end == SIZEOF(.text), "stage3b.bin must end stage3b_reloc.bin")
	ASSERT(__stage3b_payload_end - __stage3b_payload_start <= STAGE3B_LIMIT - STAGE3B_START,
	       "stage3b.bin does not fit into 0xA000-0xEFFF")

	.rela.dyn : { *(.rela.* .rela.iplt) }
	.got : { *(.got .got.* .igot.plt .iplt .plt) }
	ASSERT(SIZEOF(.rela.dyn) == 0 && SIZEOF(.got) == 0, "unexpected relocations or GOT entries")

	/DISCARD/ : {
		*(.eh_frame .eh_frame_hdr .comment .note .note.* .interp)
	}
}
