// SPDX-License-Identifier: MIT
/* What the ultravisor does with an SE image on diag 308 subcode 10: find the header through
 * the IPIB, unwrap and authenticate it, decrypt every listed component page and compare the
 * digests. The software ultravisor and `pvimg info --hdr-key` build on it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

	if (pvk_fd_pread_full(fd, meta, sizeof(meta), SEIMG_META_ADDR) || memcmp(meta, SEIMG_META_MAGIC, 8))
		return pvk_fail(e, PVK_E_FORMAT, "%s: not an SE image (no image metadata at 0xc000)",
				path);
	*hdr_off = get_be64(meta + 8);
	ipib_off = get_be64(meta + 20);
	if (fstat(fd, &st) || ipib_off >= (uint64_t)st.st_size)
		return pvk_fail(e, PVK_E_FORMAT, "%s: IPIB offset 0x%llx beyond the end of the image",
				path, (unsigned long long)ipib_off);
	avail = (uint64_t)st.st_size - ipib_off < sizeof(buf) ? (size_t)((uint64_t)st.st_size - ipib_off)
								 : sizeof(buf);
	if (pvk_fd_pread_full(fd, buf, avail, ipib_off))
		return pvk_fail(e, PVK_E_IO, "%s: cannot read the IPIB", path);
	if (pvk_ipib_decode(buf, avail, ip, e))
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
		if (pvk_outfile_pwrite(out, buf, (size_t)n, off, e))
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
	if (pvk_sehdr_parse(raw, (size_t)size, h, &pe))
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN, "%s", pe.msg);
	if (h->pcf & ~PCF_KNOWN)
		return pvk_fail_uv(e, UV_RC_PCF, UV_RRC_PCF, "unsupported PCF bits 0x%016llx",
				   (unsigned long long)(h->pcf & ~PCF_KNOWN));
	return 0;
}

/* ---- the machine's path to the unpack (pvk_seimg_boot) ----
 * On IBM Z the IPL loads the image at address 0 and starts the short PSW found there: the
 * entry of stage3a, which takes the IPIB and the header from its arguments, writes the
 * header's address and size into the IPIB, and asks the hypervisor to set it (diag 308
 * subcode 8) and to unpack (subcode 10). The image metadata at 0xc000 lies in stage3a's BSS:
 * the machine never reads it. */

#define DIAG308_RC_INVALID 0x0402   /* QEMU's answer to an IPIB it does not take */
#define IPIB_MAX_LEN 4096

/* pread from guest memory: the image file, zeros after it, nothing past mem_size. */
static int mem_read(int fd, uint64_t file_size, uint64_t mem_size, void *buf, size_t len,
		    uint64_t addr)
{
	uint8_t *p = buf;
	size_t in_file;

	if (addr + len < addr || addr + len > mem_size)
		return -1;
	in_file = addr >= file_size ? 0 : (size_t)(file_size - addr < len ? file_size - addr : len);
	if (in_file && pvk_fd_pread_full(fd, p, in_file, addr))
		return -1;
	memset(p + in_file, 0, len - in_file);
	return 0;
}

static int ipl_fail(struct pvk_err *e, const char *image, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ipl_fail(struct pvk_err *e, const char *image, const char *fmt, ...)
{
	char msg[PVK_ERR_MSG_MAX - 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pvk_fail(e, PVK_E_FORMAT, "%s: the machine would not boot it: %s", image, msg);
}

/* The short PSW at 0 must be valid (else the IPL ends in a specification exception) and
 * start stage3a. */
static int check_ipl_psw(int fd, const char *image, uint64_t file_size, struct pvk_err *e)
{
	const uint64_t want = PSW_MASK_DEFAULT | SEIMG_PSW_SHORT_BIT12 | SEIMG_STAGE3A_ENTRY;
	/* ESA/390 format: bit 12 one; bits 0, 2-4 and 24-30 zero. */
	const uint64_t must_be_zero = 0xb80000fe00000000ull;
	uint8_t b[8];
	uint64_t psw;

	if (file_size < 8 || pvk_fd_pread_full(fd, b, 8, 0))
		return ipl_fail(e, image, "no IPL PSW (the image has %llu bytes)",
				(unsigned long long)file_size);
	psw = get_be64(b);
	if (!(psw & SEIMG_PSW_SHORT_BIT12) || (psw & must_be_zero))
		return ipl_fail(e, image,
				"the IPL PSW 0x%016llx is not a valid short PSW (specification exception at IPL)",
				(unsigned long long)psw);
	if (psw != want)
		return ipl_fail(e, image,
				"the IPL PSW 0x%016llx does not start stage3a (0x%016llx); uvsim runs only "
				"what pvkit's stage3a does",
				(unsigned long long)psw, (unsigned long long)want);
	return 0;
}

/* stage3a's code must be pvkit's (the simulator knows what that code does, nothing else);
 * returns the address of its arguments. */
static int check_stage3a(int fd, const char *image, uint64_t file_size, uint64_t *args,
			 struct pvk_err *e)
{
	uint8_t *known = NULL, *have = NULL;
	char path[4200];
	size_t len = 0, code;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/stage3a.bin", pvk_seimg_bootloader_dir(NULL));
	if (pvk_file_read_all(path, SEIMG_STAGE3A_MAX, &known, &len, e) ||
	    len <= SEIMG_STAGE3A_ARGS_LEN) {
		free(known);
		return pvk_fail(e, PVK_E_IO,
				"%s: cannot simulate stage3a: pvkit's stage3a.bin is not at %s", image,
				path);
	}
	code = len - SEIMG_STAGE3A_ARGS_LEN;
	have = malloc(code);
	if (!have) {
		rc = pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	if (file_size < SEIMG_STAGE3A_ADDR + len || pvk_fd_pread_full(fd, have, code, SEIMG_STAGE3A_ADDR)) {
		rc = ipl_fail(e, image, "the image ends before stage3a does (0x%llx bytes)",
			      (unsigned long long)file_size);
		goto out;
	}
	for (size_t i = 0; i < code; i++) {
		if (have[i] != known[i]) {
			rc = ipl_fail(e, image,
				      "stage3a differs from pvkit's stage3a.bin at 0x%llx: uvsim runs only "
				      "pvkit's stage3a (the machine would run this code, to no known end)",
				      (unsigned long long)(SEIMG_STAGE3A_ADDR + i));
			goto out;
		}
	}
	*args = SEIMG_STAGE3A_ADDR + code;
	rc = 0;
out:
	free(known);
	free(have);
	return rc;
}

/* What stage3a does with its arguments, and what the hypervisor does with diag 308
 * subcode 8: the IPIB the UV then unpacks from. */
static int stage3a_set_ipib(int fd, const char *image, uint64_t file_size, uint64_t mem_size,
			    uint64_t args, struct seimg_ipib *ip, struct pvk_err *e)
{
	uint8_t a[SEIMG_STAGE3A_ARGS_LEN], buf[IPIB_MAX_LEN];
	uint64_t hdr_addr, hdr_size, ipib;
	uint32_t len, n;

	if (pvk_fd_pread_full(fd, a, sizeof(a), args))
		return ipl_fail(e, image, "stage3a's arguments are cut off");
	hdr_addr = args + get_be64(a);
	hdr_size = get_be64(a + 8);
	ipib = args + get_be64(a + 16);
	/* stage3a stores the header's address and size into the IPIB. */
	if (ipib + IPIB_OFF_COMPS < ipib || ipib + IPIB_OFF_COMPS > mem_size)
		return ipl_fail(e, image,
				"stage3a's arguments put the IPIB at 0x%llx, outside the guest's %llu MiB "
				"(a program check in stage3a, nothing is printed)",
				(unsigned long long)ipib, (unsigned long long)(mem_size >> 20));
	if (ipib % SEIMG_PAGE)
		return ipl_fail(e, image,
				"stage3a passes an IPIB at 0x%llx, not on a page boundary, to diag 308 "
				"(specification exception, nothing is printed)",
				(unsigned long long)ipib);
	if (mem_read(fd, file_size, mem_size, buf, 4, ipib))
		return ipl_fail(e, image, "the IPIB at 0x%llx cannot be read",
				(unsigned long long)ipib);
	len = get_be32(buf);
	if (len < IPIB_HDR_LEN || len > IPIB_MAX_LEN ||
	    mem_read(fd, file_size, mem_size, buf, len, ipib))
		return ipl_fail(e, image, "Setting the Secure Execution IPL parameters failed: rc %04x "
				"(the IPIB at 0x%llx: length %u)", DIAG308_RC_INVALID,
				(unsigned long long)ipib, len);
	put_be64(buf + IPIB_OFF_HDR_ADDR, hdr_addr);
	put_be64(buf + IPIB_OFF_HDR_SIZE, hdr_size);
	n = get_be32(buf + IPIB_OFF_NUM_COMP);
	if (buf[0x0c] != IPIB_PBT_PV || n == 0 || n > IPIB_MAX_COMPS || len < pvk_ipib_size(n) ||
	    pvk_ipib_decode(buf, len, ip, e))
		goto invalid;
	return 0;
invalid:
	/* stage3a's own message on the console. */
	return ipl_fail(e, image, "Setting the Secure Execution IPL parameters failed: rc %04x "
			"(the IPIB at 0x%llx: length %u, type %u, %u components)",
			DIAG308_RC_INVALID, (unsigned long long)ipib, len, buf[0x0c],
			get_be32(buf + IPIB_OFF_NUM_COMP));
}

/* The UV's part. mem_size 0: the IPIB comes from the image metadata and everything must be
 * in the file (pvk_seimg_unpack); else res->ipib is what stage3a set, and the image is guest
 * memory of mem_size bytes, zeros after the file (pvk_seimg_boot). */
static int unpack_run(int fd, const char *image, EVP_PKEY *host_priv, struct outfile *mem,
		      uint64_t mem_size, struct seimg_unpacked *res, struct pvk_err *e)
{
	uint8_t hdr_key[32], pld[64], ald[64], tld[64];
	struct comp_pipe *pipe = NULL;
	uint8_t *raw = NULL;
	struct sehdr h;
	uint64_t meta_hdr_off, nep, file_size = 0;
	struct stat st;
	int rc = -1;

	if (!mem_size && read_ipib(fd, image, &res->ipib, &meta_hdr_off, e))
		return -1;
	if (!fstat(fd, &st))
		file_size = (uint64_t)st.st_size;
	res->hdr_off = res->ipib.hdr_addr;
	if (res->ipib.hdr_size > SEHDR_MAX_LEN || res->ipib.hdr_size < SEHDR_FIXED_LEN)
		return pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB header size %llu out of range",
				   (unsigned long long)res->ipib.hdr_size);
	raw = malloc(res->ipib.hdr_size);
	if (!raw)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (mem_size ? mem_read(fd, file_size, mem_size, raw, res->ipib.hdr_size, res->ipib.hdr_addr)
		     : pvk_fd_pread_full(fd, raw, res->ipib.hdr_size, res->ipib.hdr_addr)) {
		if (mem_size)
			pvk_fail_uv(e, UV_RC_HDR, UV_RRC_HDR_LEN,
				    "the SE header at 0x%llx lies outside the guest's memory",
				    (unsigned long long)res->ipib.hdr_addr);
		else
			pvk_fail(e, PVK_E_FORMAT, "%s: SE header at 0x%llx truncated", image,
				 (unsigned long long)res->ipib.hdr_addr);
		goto out;
	}
	if (check_header(raw, res->ipib.hdr_size, &h, e) || pvk_sehdr_unwrap_key(&h, host_priv, hdr_key, e))
		goto out;
	if (pvk_sehdr_decrypt(&h, hdr_key, &res->sec, e)) {
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
	for (uint32_t i = 0; mem_size && i < res->ipib.num_comp; i++) {
		const struct seimg_comp *c = &res->ipib.comps[i];

		if (c->addr + c->len > mem_size) {
			pvk_fail_uv(e, UV_RC_HDR, UV_RRC_COMPONENTS,
				    "IPIB component %u (0x%llx, 0x%llx bytes) lies outside the guest's memory",
				    i, (unsigned long long)c->addr, (unsigned long long)c->len);
			goto out;
		}
	}
	if (mem && copy_file(fd, mem, e))
		goto out;
	if (pvk_comp_pipe_new(&pipe, h.pcf & PCF_NO_COMP_ENCRYPTION ? COMP_PLAIN : COMP_DECRYPT,
			  res->sec.xts_key, e))
		goto out;
	for (uint32_t i = 0; i < res->ipib.num_comp; i++) {
		const struct seimg_comp *c = &res->ipib.comps[i];
		uint8_t tweak[16] = { 0 };
		struct comp_io io = {
			.in_fd = fd, .in_off = c->addr, .in_len = c->len, .in_name = image,
			.zero_past_eof = mem_size != 0,
			.out_fd = mem ? mem->fd : -1, .out_off = c->addr,
			.out_name = mem ? mem->path : NULL,
		};

		put_be64(tweak, c->tweak_pref);
		if (pvk_comp_pipe_run(pipe, &io, c->addr, tweak, e))
			goto out;
	}
	if (pvk_comp_pipe_finish(pipe, pld, ald, tld, &nep, e) ||
	    verify_digests(&h, pld, ald, tld, nep, e))
		goto out;
	res->nep = nep;
	if (mem) {
		uint8_t psw[8];

		/* Start where the UV would: the header's PSW, as a short PSW QEMU can load. */
		put_be64(psw, PSW_MASK_DEFAULT | SEIMG_PSW_SHORT_BIT12 | (res->sec.psw_addr & 0x7fffffff));
		if (pvk_outfile_pwrite(mem, psw, sizeof(psw), 0, e))
			goto out;
	}
	rc = 0;
out:
	pvk_comp_pipe_free(pipe);
	OPENSSL_cleanse(hdr_key, sizeof(hdr_key));
	free(raw);
	if (rc)
		OPENSSL_cleanse(&res->sec, sizeof(res->sec));
	return rc;
}

/* unpack_run with the decrypted memory written to mem_out (if set), committed on success. */
static int unpack_to(int fd, const char *image, EVP_PKEY *host_priv, const char *mem_out,
		     uint64_t mem_size, struct seimg_unpacked *res, struct pvk_err *e)
{
	struct outfile mem;
	int rc;

	if (mem_out && pvk_outfile_open(&mem, mem_out, OUTFILE_OVERWRITE | OUTFILE_SECRET, e))
		return -1;
	rc = unpack_run(fd, image, host_priv, mem_out ? &mem : NULL, mem_size, res, e);
	if (mem_out) {
		if (rc)
			pvk_outfile_abort(&mem);
		else
			rc = pvk_outfile_commit(&mem, e);
	}
	return rc;
}

int pvk_seimg_unpack(const char *image, EVP_PKEY *host_priv, const char *mem_out,
		 struct seimg_unpacked *res, struct pvk_err *e)
{
	int fd, rc;

	memset(res, 0, sizeof(*res));
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", image, strerror(errno));
	rc = unpack_to(fd, image, host_priv, mem_out, 0, res, e);
	close(fd);
	return rc;
}

int pvk_seimg_boot(const char *image, EVP_PKEY *host_priv, const char *mem_out, uint64_t mem_size,
	       struct seimg_unpacked *res, struct pvk_err *e)
{
	uint64_t file_size, args;
	struct stat st;
	int fd, rc;

	memset(res, 0, sizeof(*res));
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", image, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return pvk_fail(e, PVK_E_IO, "%s: not a regular file", image);
	}
	file_size = (uint64_t)st.st_size;
	if (file_size > mem_size) {
		close(fd);
		return ipl_fail(e, image, "the image (%llu bytes) does not fit in the guest's %llu MiB",
				(unsigned long long)file_size, (unsigned long long)(mem_size >> 20));
	}
	if (check_ipl_psw(fd, image, file_size, e) || check_stage3a(fd, image, file_size, &args, e) ||
	    stage3a_set_ipib(fd, image, file_size, mem_size, args, &res->ipib, e)) {
		close(fd);
		return -1;
	}
	rc = unpack_to(fd, image, host_priv, mem_out, mem_size, res, e);
	close(fd);
	return rc;
}
