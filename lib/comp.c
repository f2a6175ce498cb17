// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/comp.h"
#include "pvkit/fileio.h"
#include "pvkit/crypto.h"

#define PAGE 4096u
#define SLOT_PAGES 256u          /* 1 MiB per slot */
#define NSLOTS 4u

enum slot_state { SLOT_FREE, SLOT_FILLED };

struct slot {
	uint8_t *pt, *ct;        /* plaintext and ciphertext views of SLOT_PAGES pages */
	size_t len;
	enum slot_state state;
};

struct comp_pipe {
	enum comp_mode mode;
	struct pvk_xts xts;
	EVP_MD_CTX *pld, *ald, *tld;
	uint64_t nep;
	struct slot slots[NSLOTS];
	unsigned next_fill, next_hash;
	pthread_mutex_t lock;
	pthread_cond_t filled, freed;
	pthread_t hasher;
	int hasher_running, quit, hash_failed;
	pvk_progress_fn progress;
	void *progress_ctx;
	uint64_t done;    /* bytes through the pipe, for progress */
	/* Durable output: the syncer thread fdatasyncs the output every sync_step bytes written,
	 * so the device's cache is flushed while the pipe works and the commit's fsync is short. */
	uint64_t sync_step, written, synced;
	int sync_fd, sync_errno, syncer_running;
	const char *sync_name;
	pthread_t syncer;
	pthread_cond_t wrote;
};

uint64_t pvk_comp_pages(uint64_t len)
{
	return len ? (len + PAGE - 1) / PAGE : 1;
}

void pvk_comp_page_tweak(const uint8_t init[16], uint64_t i, uint8_t out[16])
{
	uint64_t hi = get_be64(init), lo = get_be64(init + 8), add = i * PAGE;

	if (lo + add < lo)
		hi++;
	put_be64(out, hi);
	put_be64(out + 8, lo + add);
}

static void *hasher_main(void *arg)
{
	struct comp_pipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct slot *s = &p->slots[p->next_hash];

		while (s->state != SLOT_FILLED && !p->quit)
			pthread_cond_wait(&p->filled, &p->lock);
		if (s->state != SLOT_FILLED)
			break;
		pthread_mutex_unlock(&p->lock);
		/* PLD is over what the UV sees in memory before unpacking: the ciphertext. */
		if (EVP_DigestUpdate(p->pld, s->ct, s->len) != 1)
			p->hash_failed = 1;
		pthread_mutex_lock(&p->lock);
		s->state = SLOT_FREE;
		p->next_hash = (p->next_hash + 1) % NSLOTS;
		pthread_cond_broadcast(&p->freed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *syncer_main(void *arg)
{
	struct comp_pipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t upto;
		int fd = p->sync_fd, rc;

		while (!p->quit && p->written < p->synced + p->sync_step)
			pthread_cond_wait(&p->wrote, &p->lock);
		if (p->quit)
			break;
		upto = p->written;
		pthread_mutex_unlock(&p->lock);
		rc = fdatasync(fd);
		pthread_mutex_lock(&p->lock);
		/* A write-back error is reported once per open file: to this call, not to the
		 * commit's fsync; keep it for pvk_comp_pipe_finish. */
		if (rc && errno != EINVAL && !p->sync_errno)
			p->sync_errno = errno;
		p->synced = upto;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Count bytes written to the output and wake the syncer (started on the first write). */
static void count_written(struct comp_pipe *p, const struct comp_io *io, uint64_t len)
{
	pthread_mutex_lock(&p->lock);
	if (!p->syncer_running) {
		p->sync_fd = io->out_fd;
		p->sync_name = io->out_name;
		if (pvk_outfile_thread_create(&p->syncer, syncer_main, p))
			p->sync_step = 0; /* no thread: the commit's fsync does it all */
		else
			p->syncer_running = 1;
	}
	p->written += len;
	pthread_cond_broadcast(&p->wrote);
	pthread_mutex_unlock(&p->lock);
}

int pvk_comp_pipe_new(struct comp_pipe **out, enum comp_mode mode, const uint8_t xts_key[64],
		  struct pvk_err *e)
{
	struct comp_pipe *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	p->mode = mode;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->freed, NULL);
	pthread_cond_init(&p->wrote, NULL);
	for (unsigned i = 0; i < NSLOTS; i++) {
		/* Ciphertext page-aligned: its copy into the page cache runs faster (measured:
		 * a third less system time at 2 GiB). Plaintext not: the two buffers at the same
		 * offset within a page slowed the XTS loop. */
		p->slots[i].ct = aligned_alloc(PAGE, SLOT_PAGES * PAGE);
		p->slots[i].pt = mode == COMP_PLAIN ? p->slots[i].ct : malloc(SLOT_PAGES * PAGE);
		if (!p->slots[i].ct || !p->slots[i].pt) {
			pvk_comp_pipe_free(p);
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
	}
	p->pld = EVP_MD_CTX_new();
	p->ald = EVP_MD_CTX_new();
	p->tld = EVP_MD_CTX_new();
	if (!p->pld || !p->ald || !p->tld || EVP_DigestInit_ex(p->pld, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestInit_ex(p->ald, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestInit_ex(p->tld, EVP_sha512(), NULL) != 1) {
		pvk_comp_pipe_free(p);
		return pvk_fail_ssl(e, "cannot set up SHA-512");
	}
	if (mode != COMP_PLAIN && pvk_xts_init(&p->xts, xts_key, mode == COMP_ENCRYPT, e)) {
		pvk_comp_pipe_free(p);
		return -1;
	}
	if (pvk_outfile_thread_create(&p->hasher, hasher_main, p)) {
		pvk_comp_pipe_free(p);
		return pvk_fail(e, PVK_E_NOMEM, "cannot start the hashing thread");
	}
	p->hasher_running = 1;
	*out = p;
	return 0;
}

static struct slot *slot_acquire(struct comp_pipe *p)
{
	struct slot *s = &p->slots[p->next_fill];

	pthread_mutex_lock(&p->lock);
	while (s->state != SLOT_FREE)
		pthread_cond_wait(&p->freed, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void slot_submit(struct comp_pipe *p, struct slot *s, size_t len)
{
	pthread_mutex_lock(&p->lock);
	s->len = len;
	s->state = SLOT_FILLED;
	p->next_fill = (p->next_fill + 1) % NSLOTS;
	pthread_cond_broadcast(&p->filled);
	pthread_mutex_unlock(&p->lock);
}

static int read_input(const struct comp_io *io, uint64_t pos, uint8_t *dst, size_t len,
		      struct pvk_err *e)
{
	size_t done = 0;

	if (io->in_buf) {
		memcpy(dst, io->in_buf + pos, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(io->in_fd, dst + done, len - done, (off_t)(io->in_off + pos + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", io->in_name, strerror(errno));
		if (n == 0 && io->zero_past_eof) {
			/* Guest memory beyond what the IPL loaded holds zeros. */
			memset(dst + done, 0, len - done);
			return 0;
		}
		if (n == 0)
			return pvk_fail(e, PVK_E_IO, "%s: file shrank while being read", io->in_name);
		done += (size_t)n;
	}
	return 0;
}

static int write_output(const struct comp_io *io, uint64_t pos, const uint8_t *src, size_t len,
			struct pvk_err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(io->out_fd, src + done, len - done,
				   (off_t)(io->out_off + pos + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", io->out_name,
					strerror(errno));
		done += (size_t)n;
	}
	return 0;
}

int pvk_comp_pipe_run(struct comp_pipe *p, const struct comp_io *io, uint64_t addr,
		  const uint8_t tweak[16], struct pvk_err *e)
{
	uint64_t npages = pvk_comp_pages(io->in_len), page = 0;
	uint8_t addrs[SLOT_PAGES * 8], tweaks[SLOT_PAGES * 16];

	while (page < npages) {
		struct slot *s = slot_acquire(p);
		uint64_t n = npages - page < SLOT_PAGES ? npages - page : SLOT_PAGES;
		uint64_t pos = page * PAGE, avail = io->in_len > pos ? io->in_len - pos : 0;
		size_t len = (size_t)(n * PAGE), rlen = avail < len ? (size_t)avail : len;
		/* Decrypt reads ciphertext; the other modes read what they will encrypt or copy. */
		uint8_t *in = p->mode == COMP_DECRYPT ? s->ct : s->pt;
		uint8_t *out = p->mode == COMP_DECRYPT ? s->pt : s->ct;

		if (read_input(io, pos, in, rlen, e))
			return -1;
		memset(in + rlen, 0, len - rlen);
		for (uint64_t i = 0; i < n; i++) {
			pvk_comp_page_tweak(tweak, page + i, tweaks + i * 16);
			put_be64(addrs + i * 8, addr + (page + i) * PAGE);
			if (p->mode != COMP_PLAIN &&
			    pvk_xts_page(&p->xts, tweaks + i * 16, in + i * PAGE, out + i * PAGE, PAGE, e))
				return -1;
		}
		if (EVP_DigestUpdate(p->ald, addrs, n * 8) != 1 ||
		    EVP_DigestUpdate(p->tld, tweaks, n * 16) != 1)
			return pvk_fail_ssl(e, "SHA-512 failed");
		/* The hasher only reads the slot, and this thread takes it again only NSLOTS runs
		 * later: hashing may start while it is written. */
		slot_submit(p, s, len);
		if (io->out_fd >= 0 && write_output(io, pos, out, len, e))
			return -1;
		if (io->out_fd >= 0 && p->sync_step)
			count_written(p, io, len);
		page += n;
		p->done += len;
		if (p->progress)
			p->progress(p->progress_ctx, p->done);
	}
	p->nep += npages;
	return 0;
}

void pvk_comp_pipe_sync_output(struct comp_pipe *p, uint64_t step)
{
	p->sync_step = step;
}

void pvk_comp_pipe_set_progress(struct comp_pipe *p, pvk_progress_fn fn, void *ctx)
{
	p->progress = fn;
	p->progress_ctx = ctx;
}

static void hasher_stop(struct comp_pipe *p)
{
	if (!p->hasher_running)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	pthread_cond_broadcast(&p->filled);
	pthread_cond_broadcast(&p->wrote);
	pthread_mutex_unlock(&p->lock);
	/* The hasher drains every filled slot before it sees quit. */
	pthread_join(p->hasher, NULL);
	p->hasher_running = 0;
	if (p->syncer_running) {
		pthread_join(p->syncer, NULL);
		p->syncer_running = 0;
	}
}

int pvk_comp_pipe_finish(struct comp_pipe *p, uint8_t pld[64], uint8_t ald[64], uint8_t tld[64],
		     uint64_t *nep, struct pvk_err *e)
{
	hasher_stop(p);
	if (p->hash_failed || EVP_DigestFinal_ex(p->pld, pld, NULL) != 1 ||
	    EVP_DigestFinal_ex(p->ald, ald, NULL) != 1 || EVP_DigestFinal_ex(p->tld, tld, NULL) != 1)
		return pvk_fail_ssl(e, "SHA-512 failed");
	if (p->sync_errno)
		return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", p->sync_name,
				strerror(p->sync_errno));
	*nep = p->nep;
	return 0;
}

void pvk_comp_pipe_free(struct comp_pipe *p)
{
	if (!p)
		return;
	hasher_stop(p);
	for (unsigned i = 0; i < NSLOTS; i++) {
		/* Plaintext pages may hold the guest's secrets. */
		if (p->slots[i].pt)
			OPENSSL_cleanse(p->slots[i].pt, SLOT_PAGES * PAGE);
		if (p->slots[i].pt != p->slots[i].ct)
			free(p->slots[i].pt);
		free(p->slots[i].ct);
	}
	if (p->mode != COMP_PLAIN)
		pvk_xts_free(&p->xts);
	EVP_MD_CTX_free(p->pld);
	EVP_MD_CTX_free(p->ald);
	EVP_MD_CTX_free(p->tld);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->freed);
	pthread_cond_destroy(&p->wrote);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
