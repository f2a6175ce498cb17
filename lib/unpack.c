// SPDX-License-Identifier: MIT
/* What the ultravisor does with an SE image on diag 308 subcode 10: find the header through
 * the IPIB, unwrap and authenticate it, decrypt every listed component page and compare the
 * digests. The software ultravisor and `pvimg info --hdr-key` build on it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/comp.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/uvrc.h"

static int read_ipib(int fd, const char *path, struct seimg_ipib *ip, uint64_t *hdr_off,
		     struct pvk_err *e)
{
	uint8_t meta[SEIMG_META_LEN], buf[IPIB_HDR_LEN + IPIB_COMP_LEN * IPIB_MAX_COMPS];
	uint64_t ipib_off;
	struct stat st;
	size_t avail;

	if (fd_pread_full(fd, meta, sizeof(meta), SEIMG_META_ADDR) || memcmp(meta, SEIMG_META_MAGIC, 8))
		return pvk_fail(e, PVK_E_FORMAT, "%s: not an SE image (no image metadata at 0xc000)",
				path);
	*hdr_off = get_be64(meta + 8);
	ipib_off = get_be64(meta + 20);
	if (fstat(fd, &st) || ipib_off >= (uint64_t)st.st_size)
		return pvk_fail(e, PVK_E_FORMAT, "%s: IPIB offset 0x%llx beyond the end of the image",
				path, (unsigned long long)ipib_off);
	avail = (uint64_t)st.st_size - ipib_off < sizeof(buf) ? (size_t)((uint64_t)st.st_size - ipib_off)
								 : sizeof(buf);
	if (fd_pread_full(fd, buf, avail, ipib_off))
		return pvk_fail(e, PVK_E_IO, "%s: cannot read the IPIB", path);
	if (ipib_decode(buf, avail, ip, e))
		return pvk_wrap(e, "%s", path);
	return 0;
}

static int check_components(const struct seimg_ipib *ip, uint64_t hdr_end, struct pvk_err *e)
{
	uint64_t prev_end = hdr_end;

	for (uint32_t i = 0; i < ip->num_comp; i++) {
		const struct seimg_comp *c = &ip->comps[i];

		if (c->addr % SEIMG_PAGE || c->len % SEIMG_PAGE || !c->len || c->addr < prev_end ||
		    c->addr + c->len < c->addr ||
		    (i && c->tweak_pref <= ip->comps[i - 1].tweak_pref))
			return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_COMPONENTS,
					   "IPIB component %u (address 0x%llx, length 0x%llx) is unaligned, overlapping or out of order",
					   i, (unsigned long long)c->addr, (unsigned long long)c->len);
		prev_end = c->addr + c->len;
	}
	return 0;
}

static int copy_file(int in, struct outfile *out, struct pvk_err *e)
{
	uint8_t buf[65536];
	uint64_t off = 0;

	for (;;) {
		ssize_t n = pread(in, buf, sizeof(buf), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pvk_fail(e, PVK_E_IO, "cannot read image: %s", strerror(errno));
		if (n == 0)
			return 0;
		if (outfile_pwrite(out, buf, (size_t)n, off, e))
			return -1;
		off += (uint64_t)n;
	}
}

static int verify_digests(const struct sehdr *h, const uint8_t pld[64], const uint8_t ald[64],
			  const uint8_t tld[64], uint64_t nep, struct pvk_err *e)
{
	if (!pvk_ct_equal(pld, h->pld, 64))
		return pvk_fail_uv(e, UV_RC_DIGEST, UV_RRC_PLD, "page list digest (PLD) mismatch");
	if (!pvk_ct_equal(ald, h->ald, 64))
		return pvk_fail_uv(e, UV_RC_DIGEST, UV_RRC_ALD, "address list digest (ALD) mismatch");
	if (!pvk_ct_equal(tld, h->tld, 64))
		return pvk_fail_uv(e, UV_RC_DIGEST, UV_RRC_TLD, "tweak list digest (TLD) mismatch");
	if (nep != h->nep)
		return pvk_fail_uv(e, UV_RC_DIGEST, UV_RRC_NEP,
				   "number of encrypted pages mismatch: header %llu, image %llu",
				   (unsigned long long)h->nep, (unsigned long long)nep);
	return 0;
}

/* Header checks in the order the UV reports them (spec §1.7). */
static int check_header(const uint8_t *raw, uint64_t size, struct sehdr *h, struct pvk_err *e)
{
	struct pvk_err pe;

	if (size < SEHDR_FIXED_LEN + SEHDR_TAG_LEN || size > SEHDR_MAX_LEN)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN, "SE header size %llu out of range",
				   (unsigned long long)size);
	if (memcmp(raw, SEHDR_MAGIC, SEHDR_MAGIC_LEN))
		return pvk_fail_uv(e, UV_RC_HDR_VERSION, UV_RRC_HDR_VERSION, "no SE header magic");
	if (get_be32(raw + SEHDR_OFF_VERSION) != SEHDR_VERSION_V1)
		return pvk_fail_uv(e, UV_RC_HDR_VERSION, UV_RRC_HDR_VERSION,
				   "SE header version 0x%08x not supported",
				   get_be32(raw + SEHDR_OFF_VERSION));
	if (get_be32(raw + SEHDR_OFF_SEHS) != size)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN,
				   "SE header length %u does not match the IPIB's %llu",
				   get_be32(raw + SEHDR_OFF_SEHS), (unsigned long long)size);
	if (get_be64(raw + SEHDR_OFF_NKS) == 0)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_NO_KEYSLOT, "SE header has no key slot");
	if (get_be64(raw + SEHDR_OFF_SEA) != SEHDR_SEA_V1)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_SEA, "invalid encrypted-area size %llu",
				   (unsigned long long)get_be64(raw + SEHDR_OFF_SEA));
	if (sehdr_parse(raw, (size_t)size, h, &pe))
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN, "%s", pe.msg);
	if (h->pcf & ~PCF_KNOWN)
		return pvk_fail_uv(e, UV_RC_PCF, UV_RRC_PCF, "unsupported PCF bits 0x%016llx",
				   (unsigned long long)(h->pcf & ~PCF_KNOWN));
	return 0;
}

static int unpack_run(int fd, const char *image, EVP_PKEY *host_priv, struct outfile *mem,
		      struct seimg_unpacked *res, struct pvk_err *e)
{
	uint8_t hdr_key[32], pld[64], ald[64], tld[64];
	struct comp_pipe *pipe = NULL;
	uint8_t *raw = NULL;
	struct sehdr h;
	uint64_t meta_hdr_off, nep;
	int rc = -1;

	if (read_ipib(fd, image, &res->ipib, &meta_hdr_off, e))
		return -1;
	res->hdr_off = res->ipib.hdr_addr;
	if (res->ipib.hdr_size > SEHDR_MAX_LEN || res->ipib.hdr_size < SEHDR_FIXED_LEN)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB header size %llu out of range",
				   (unsigned long long)res->ipib.hdr_size);
	raw = malloc(res->ipib.hdr_size);
	if (!raw)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (fd_pread_full(fd, raw, res->ipib.hdr_size, res->ipib.hdr_addr)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: SE header at 0x%llx truncated", image,
			 (unsigned long long)res->ipib.hdr_addr);
		goto out;
	}
	if (check_header(raw, res->ipib.hdr_size, &h, e) || sehdr_unwrap_key(&h, host_priv, hdr_key, e))
		goto out;
	if (sehdr_decrypt(&h, hdr_key, &res->sec, e)) {
		if (e->code == PVK_E_AUTH)
			pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_TAG, "SE header authentication failed");
		else
			pvk_fail_uv(e, UV_RC_HDR, UV_RRC_SEA, "SE header: optional items not supported");
		goto out;
	}
	if (res->sec.scf & ~SCF_KNOWN) {
		pvk_fail_uv(e, UV_RC_SCF, UV_RRC_SCF, "unsupported SCF bits 0x%016llx",
			    (unsigned long long)(res->sec.scf & ~SCF_KNOWN));
		goto out;
	}
	res->pcf = h.pcf;
	/* Components lie above the header, as both tool generations place them. */
	if (check_components(&res->ipib, res->ipib.hdr_addr + res->ipib.hdr_size, e))
		goto out;
	if (mem && copy_file(fd, mem, e))
		goto out;
	if (comp_pipe_new(&pipe, h.pcf & PCF_NO_COMP_ENCRYPTION ? COMP_PLAIN : COMP_DECRYPT,
			  res->sec.xts_key, e))
		goto out;
	for (uint32_t i = 0; i < res->ipib.num_comp; i++) {
		const struct seimg_comp *c = &res->ipib.comps[i];
		uint8_t tweak[16] = { 0 };
		struct comp_io io = {
			.in_fd = fd, .in_off = c->addr, .in_len = c->len, .in_name = image,
			.out_fd = mem ? mem->fd : -1, .out_off = c->addr,
			.out_name = mem ? mem->path : NULL,
		};

		put_be64(tweak, c->tweak_pref);
		if (comp_pipe_run(pipe, &io, c->addr, tweak, e))
			goto out;
	}
	if (comp_pipe_finish(pipe, pld, ald, tld, &nep, e) ||
	    verify_digests(&h, pld, ald, tld, nep, e))
		goto out;
	res->nep = nep;
	if (mem) {
		uint8_t psw[8];

		/* Start where the UV would: the header's PSW, as a short PSW QEMU can load. */
		put_be64(psw, PSW_MASK_DEFAULT | SEIMG_PSW_SHORT_BIT12 | (res->sec.psw_addr & 0x7fffffff));
		if (outfile_pwrite(mem, psw, sizeof(psw), 0, e))
			goto out;
	}
	rc = 0;
out:
	comp_pipe_free(pipe);
	OPENSSL_cleanse(hdr_key, sizeof(hdr_key));
	free(raw);
	if (rc)
		OPENSSL_cleanse(&res->sec, sizeof(res->sec));
	return rc;
}

int seimg_unpack(const char *image, EVP_PKEY *host_priv, const char *mem_out,
		 struct seimg_unpacked *res, struct pvk_err *e)
{
	struct outfile mem;
	int fd, rc;

	memset(res, 0, sizeof(*res));
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", image, strerror(errno));
	if (mem_out && outfile_open(&mem, mem_out, OUTFILE_OVERWRITE | OUTFILE_SECRET, e)) {
		close(fd);
		return -1;
	}
	rc = unpack_run(fd, image, host_priv, mem_out ? &mem : NULL, res, e);
	close(fd);
	if (mem_out) {
		if (rc)
			outfile_abort(&mem);
		else
			rc = outfile_commit(&mem, e);
	}
	return rc;
}
