// SPDX-License-Identifier: MIT
/*
 * stage3b: runs in the secure guest at 0xA000 after unpacking. Puts the
 * kernel, its command line and the initrd location where Linux expects them
 * and starts the kernel (SE-FORMATS.md §1.8).
 */
#include <stdint.h>

#include "console.h"
#include "lib.h"
#include "s390.h"

struct memblob {
	uint64_t src;
	uint64_t size;
};

/* Filled in by the image builder. */
struct stage3b_args {
	struct memblob kernel;
	struct memblob cmdline;
	struct memblob initrd;
	struct psw psw;
};

extern volatile struct stage3b_args stage3b_args;

noreturn void start(void);

void start(void)
{
	volatile struct stage3b_args *args = &stage3b_args;
	uint64_t kernel_src = args->kernel.src, kernel_size = args->kernel.size;
	uint64_t cmdline_src = args->cmdline.src, cmdline_size = args->cmdline.size;
	uint64_t initrd_src = args->initrd.src, initrd_size = args->initrd.size;
	struct psw psw = { args->psw.mask, args->psw.addr };
	uint64_t max_cmdline;

	if (kernel_size < IMAGE_LOAD_ADDRESS)
		panic("Invalid kernel: the image is smaller than 64 KiB\n", WAIT_BAD_KERNEL);

	/*
	 * The raw image starts with 64 KiB that Linux does not need once loaded:
	 * drop them. The regions may overlap; the destination never reaches this
	 * code or its stack, both below 0x10000.
	 */
	memmove(absptr(IMAGE_LOAD_ADDRESS), absptr(kernel_src + IMAGE_LOAD_ADDRESS),
		kernel_size - IMAGE_LOAD_ADDRESS);

	/* The limit is a field of the kernel just moved; old kernels leave it 0. */
	max_cmdline = load_u64(MAX_COMMAND_LINE_SIZE);
	if (max_cmdline == 0)
		max_cmdline = LEGACY_COMMAND_LINE_SIZE;
	if (cmdline_size > max_cmdline)
		panic("Kernel command line is too long\n", WAIT_BAD_CMDLINE);
	if (cmdline_size > 0) {
		if (*(volatile char *)absptr(cmdline_src + cmdline_size - 1) != '\0')
			panic("Kernel command line is not NUL-terminated\n", WAIT_BAD_CMDLINE);
		memmove(absptr(COMMAND_LINE), absptr(cmdline_src), cmdline_size);
	}

	/* The initrd stays where it is; Linux only needs to find it. */
	if (initrd_size > 0) {
		store_u64(INITRD_START, initrd_src);
		store_u64(INITRD_SIZE, initrd_size);
	}

	load_psw(&psw);
}
