// SPDX-License-Identifier: MIT
/* Output-only SCLP console for the boot loaders. */
#ifndef PVKIT_BOOT_CONSOLE_H
#define PVKIT_BOOT_CONSOLE_H

#include <stdint.h>

/*
 * Print a NUL-terminated ASCII string; '\n' ends a line. The first call
 * enables the console. Output that the SCLP does not accept is dropped:
 * printing never fails.
 */
void console_write(const char *s);

/*
 * Forget the console setup so that the next write enables it again: needed
 * after a reset of the I/O subsystem (a failed DIAG 0x308 subcode 10).
 */
void console_reset(void);

/* Print @msg and stop the CPU with a disabled wait PSW whose address is @wait_code. */
_Noreturn void panic(const char *msg, uint64_t wait_code);

/* Bounded string building for messages; both return the new end of text. */
char *fmt_str(char *p, char *end, const char *s);
char *fmt_hex(char *p, char *end, uint64_t v, unsigned int digits);

#endif
