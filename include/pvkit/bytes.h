/* SPDX-License-Identifier: MIT */
/* Big-endian field access and hex: every SE format is big-endian on every host. */
#ifndef PVKIT_BYTES_H
#define PVKIT_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}

static inline uint64_t round_up_page(uint64_t x)
{
	return (x + 4095) & ~(uint64_t)4095;
}

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void pvk_hex_encode(const uint8_t *in, size_t len, char *out);
/* Parse a hex number with optional 0x (at most 16 digits); 0 on success. */
int pvk_parse_u64_hex(const char *s, uint64_t *out);
/* Parse exactly 2*len hex digits (an optional 0x prefix allowed); 0 on success. */
int pvk_hex_decode(const char *in, uint8_t *out, size_t len);
/* Base64 (RFC 4648, with padding) of len bytes: a malloc'd string, NULL when out of memory. */
char *pvk_b64_encode(const uint8_t *in, size_t len);
/* Decode base64 text of n characters (padding required, no white space) into a malloc'd
 * buffer of *len bytes; -1 for anything else. */
int pvk_b64_decode(const char *in, size_t n, uint8_t **out, size_t *len);

#endif
