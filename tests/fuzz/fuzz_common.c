// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "fuzz_common.h"
#include "pvkit/crypto.h"
#include "pvkit/err.h"
#include "pvkit/fileio.h"

const uint8_t fuzz_prot_key[32] = {
	0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
	0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
	0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
};

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, what);
	abort();
}

#define MAX_KEYS 8
static struct {
	char label[64];
	EVP_PKEY *key;
} keys[MAX_KEYS];

EVP_PKEY *fuzz_key(const char *label)
{
	uint8_t h[64], scalar[PVK_P521_BYTES];
	struct pvk_err e;
	size_t i;

	for (i = 0; i < MAX_KEYS && keys[i].key; i++)
		if (!strcmp(keys[i].label, label))
			return keys[i].key;
	if (i == MAX_KEYS || strlen(label) >= sizeof(keys[i].label))
		fuzz_fail(__FILE__, __LINE__, "too many fuzz keys");
	/* A 66-byte scalar below 2^512: always in [1, n). */
	memset(scalar, 0, sizeof(scalar));
	pvk_sha512(label, strlen(label), h);
	h[0] |= 1;
	memcpy(scalar + 2, h, 64);
	if (pvk_ec_from_scalar(scalar, sizeof(scalar), &keys[i].key, &e)) {
		fprintf(stderr, "fuzz_key: %s\n", e.msg);
		abort();
	}
	snprintf(keys[i].label, sizeof(keys[i].label), "%s", label);
	return keys[i].key;
}

EVP_PKEY *fuzz_rsa_key(int bits)
{
	static EVP_PKEY *rsa2048, *rsa3072;
	EVP_PKEY **slot = bits == 2048 ? &rsa2048 : &rsa3072;

	if (!*slot) {
		*slot = EVP_RSA_gen((unsigned)bits);
		if (!*slot) {
			fprintf(stderr, "fuzz_rsa_key: RSA-%d generation failed\n", bits);
			abort();
		}
	}
	return *slot;
}

const char *fuzz_seed_dir(void)
{
	const char *d = getenv("PVKIT_FUZZ_SEED_DIR");

	return d && *d ? d : NULL;
}

void fuzz_seed(const char *name, const void *data, size_t len)
{
	const char *dir = fuzz_seed_dir();
	char path[4096];
	struct pvk_err e;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pvk_file_write_all(path, data, len, OUTFILE_OVERWRITE, &e)) {
		fprintf(stderr, "fuzz_seed: %s\n", e.msg);
		abort();
	}
}

void fuzz_touch(const void *p, size_t len)
{
	const volatile uint8_t *b = p;
	uint8_t x = 0;

	for (size_t i = 0; i < len; i++)
		x ^= b[i];
	(void)x;
}

uint8_t fin_u8(struct fuzz_in *in)
{
	uint8_t v;

	fin_bytes(in, &v, 1);
	return v;
}

uint16_t fin_u16(struct fuzz_in *in)
{
	uint8_t b[2];

	fin_bytes(in, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t fin_u32(struct fuzz_in *in)
{
	uint32_t hi = fin_u16(in);

	return hi << 16 | fin_u16(in);
}

uint64_t fin_u64(struct fuzz_in *in)
{
	uint64_t hi = fin_u32(in);

	return hi << 32 | fin_u32(in);
}

void fin_bytes(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->len ? n : in->len;

	if (k)
		memcpy(out, in->p, k);
	if (k < n)
		memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->len -= k;
}
