/* SPDX-License-Identifier: MIT */
/* Helpers shared by the libFuzzer harnesses: fixed keys (so seeds stay valid from run to run
 * and every crash reproduces), seed files, and a reader that turns fuzz bytes into fields. */
#ifndef PVKIT_FUZZ_COMMON_H
#define PVKIT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The request protection key of IBM's vectors ([0x17; 32]) and of the harnesses' own
 * seeds: requests built with it open in the harness, so the success paths run. */
extern const uint8_t fuzz_prot_key[32];

/* A P-521 key derived from label (SHA-512 of it as the private scalar), made once per
 * process and kept for its lifetime. Aborts on failure. */
EVP_PKEY *fuzz_key(const char *label);
/* An RSA key of bits (2048 or 3072), generated once per process and size. */
EVP_PKEY *fuzz_rsa_key(int bits);

/* Seeds: when $PVKIT_FUZZ_SEED_DIR is set, LLVMFuzzerInitialize writes the harness's own
 * seed inputs there (scripts/fuzz.sh adds IBM's vectors beside them). */
const char *fuzz_seed_dir(void);
void fuzz_seed(const char *name, const void *data, size_t len);
/* The LLVMFuzzerInitialize of a harness whose only set-up is its seeds: write_fn() writes
 * them when $PVKIT_FUZZ_SEED_DIR is set. */
#define FUZZ_INIT_SEEDS(write_fn)                                                        \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                                \
	{                                                                                \
		(void)argc;                                                              \
		(void)argv;                                                              \
		if (fuzz_seed_dir())                                                     \
			write_fn();                                                      \
		return 0;                                                                \
	}

/* Abort (a crash libFuzzer reports) when a property of the code under test is violated. */
#define FUZZ_CHECK(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			fuzz_fail(__FILE__, __LINE__, #cond);                            \
	} while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* Touch every byte of a buffer, so ASan checks the pointers a parser hands out. */
void fuzz_touch(const void *p, size_t len);

/* Consume fuzz bytes as fields; past the end everything reads as zero. */
struct fuzz_in {
	const uint8_t *p;
	size_t len;
};
uint8_t fin_u8(struct fuzz_in *in);
uint16_t fin_u16(struct fuzz_in *in);
uint32_t fin_u32(struct fuzz_in *in);
uint64_t fin_u64(struct fuzz_in *in);
/* Copy n bytes (zero-filled past the end). */
void fin_bytes(struct fuzz_in *in, void *out, size_t n);

#endif
