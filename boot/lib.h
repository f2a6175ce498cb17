// SPDX-License-Identifier: MIT
/* The few libc functions the loaders need (GCC may also emit calls to them). */
#ifndef PVKIT_BOOT_LIB_H
#define PVKIT_BOOT_LIB_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);

#endif
