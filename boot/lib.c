// SPDX-License-Identifier: MIT
/*
 * memcpy/memmove/memset/strlen for the freestanding loaders. Copies use
 * MVCLE: one instruction moves any length (it stops early with cc 3 so that
 * interrupts are not held off, hence the loop), which matters when stage3b
 * moves a kernel of many megabytes.
 */
#include <stdint.h>

#include "lib.h"

/*
 * Left-to-right copy (or fill when @srclen is 0: the pad byte @pad is stored).
 * Safe for overlapping operands as long as @dst does not lie inside
 * (@src, @src + n): bytes are never read after being stored.
 */
static void mvcle(void *dst, size_t n, const void *src, size_t srclen, unsigned int pad)
{
	register uintptr_t d asm("2") = (uintptr_t)dst;
	register size_t dl asm("3") = n;
	register uintptr_t s asm("4") = (uintptr_t)src;
	register size_t sl asm("5") = srclen;

	asm volatile("0:	mvcle	%0,%2,0(%4)\n"
		     "	jo	0b\n"
		     : "+d"(d), "+d"(dl), "+d"(s), "+d"(sl)
		     : "a"(pad)
		     : "cc", "memory");
}

void *memcpy(void *dst, const void *src, size_t n)
{
	mvcle(dst, n, src, n, 0);
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (n == 0 || d == s)
		return dst;
	if (d < s || d >= s + n) {
		mvcle(dst, n, src, n, 0);
		return dst;
	}
	/* @dst inside the source: copy right to left. */
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	mvcle(dst, n, NULL, 0, (unsigned char)c);
	return dst;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}
