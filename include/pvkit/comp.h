/* SPDX-License-Identifier: MIT */
/* Secure components, page by page (spec §1.6, §2.6): AES-XTS per 4096-byte page with the
 * page tweak, and the PLD/ALD/TLD digests and page count over all components in order.
 * SHA-512 of the ciphertext (PLD) runs on its own thread while the caller's thread reads,
 * encrypts and writes; memory use is fixed, whatever the component size. */
#ifndef PVKIT_COMP_H
#define PVKIT_COMP_H

#include <stdint.h>

#include "pvkit/err.h"

enum comp_mode {
	COMP_ENCRYPT, /* builder: plaintext in, ciphertext out, PLD over the output */
	COMP_DECRYPT, /* UV: ciphertext in, plaintext out, PLD over the input */
	COMP_PLAIN,   /* image encryption disabled: padded plaintext, PLD over it */
};

struct comp_pipe;

/* One component's source and sink. Input is in_buf (in_len bytes) if set, else in_fd read
 * with pread from in_off. Exactly in_len bytes are read; a short read is an error. The output
 * (out_fd < 0: none) is written with pwrite at out_off. */
struct comp_io {
	const uint8_t *in_buf;
	int in_fd;
	uint64_t in_off;
	uint64_t in_len;
	const char *in_name;   /* for messages */
	int zero_past_eof;     /* in_fd is guest memory: reads past its end give zeros */
	int out_fd;
	uint64_t out_off;
	const char *out_name;
};

/* A pipe that encrypts (or decrypts, or copies) components page by page with the XTS key
 * and digests them into PLD, ALD and TLD on a helper thread; free with
 * pvk_comp_pipe_free. */
int pvk_comp_pipe_new(struct comp_pipe **p, enum comp_mode mode, const uint8_t xts_key[64],
		  struct pvk_err *e);
/* Pages a component of len bytes occupies: at least one, even when empty. */
uint64_t pvk_comp_pages(uint64_t len);
/* The tweak of page i: the initial tweak as a 128-bit BE integer plus i * 4096. */
void pvk_comp_page_tweak(const uint8_t init[16], uint64_t i, uint8_t out[16]);
/* Process one component placed at guest address addr with initial tweak. */
int pvk_comp_pipe_run(struct comp_pipe *p, const struct comp_io *io, uint64_t addr,
		  const uint8_t tweak[16], struct pvk_err *e);
/* Wait for the hasher and return the digests and the page count over all components. */
int pvk_comp_pipe_finish(struct comp_pipe *p, uint8_t pld[64], uint8_t ald[64], uint8_t tld[64],
		     uint64_t *nep, struct pvk_err *e);
void pvk_comp_pipe_free(struct comp_pipe *p);

/* Make the output durable as it is written: a helper thread calls fdatasync on the output
 * after every step bytes the runs write, so the device's write cache is flushed while the pipe
 * hashes and the final fsync finds little left. 0 (the default): never. A failed flush is
 * reported by pvk_comp_pipe_finish. */
void pvk_comp_pipe_sync_output(struct comp_pipe *p, uint64_t step);

/* Progress of a long job: done bytes so far (of a total the caller knows). */
typedef void (*pvk_progress_fn)(void *ctx, uint64_t done);
/* Call fn after every batch of pages the pipe has read, with the bytes of all runs so far. */
void pvk_comp_pipe_set_progress(struct comp_pipe *p, pvk_progress_fn fn, void *ctx);

#endif
