// SPDX-License-Identifier: MIT
/* The SE image builder (spec §1.3): a flat memory image, file offset == guest address. */
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

#define STAGE3B_RELOC_MAX (64 * 1024)
#define PARMFILE_MAX (1024 * 1024)
/* Flush the image to disk every 16 MiB while it is built: the flushes overlap hashing, and the
 * commit's fsync, which used to wait for the whole image, waits for the last few MiB only. */
#define SYNC_STEP (16u << 20)

const char *pvk_seimg_bootloader_dir(const char *override)
{
	const char *env = getenv("PVKIT_BOOTLOADER_DIR");

	if (override)
		return override;
	/* An uninstalled run names the build's loaders (meson test and meson devenv set this);
	 * an installed pvimg uses the installed ones, whatever build trees exist. */
	if (env && *env)
		return env;
	return PVKIT_DATADIR;
}

static int load_loader(const char *dir, const char *name, size_t max, size_t min, uint8_t **buf,
		       size_t *len, struct pvk_err *e)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (access(path, F_OK) && errno == ENOENT)
		return pvk_fail(e, PVK_E_IO,
				"%s: the boot loader is missing (was pvkit built without the s390x cross "
				"compiler, or not installed? An uninstalled build names its loaders with "
				"PVKIT_BOOTLOADER_DIR=BUILD/boot, as 'meson devenv' sets it)", path);
	if (pvk_file_read_all(path, max, buf, len, e))
		return pvk_wrap(e, "boot loader");
	if (*len < min) {
		free(*buf);
		*buf = NULL;
		return pvk_fail(e, PVK_E_FORMAT, "%s: boot loader too small (%zu bytes)", path, *len);
	}
	return 0;
}

/* An input component file: a regular file whose size fixes the layout before streaming. */
struct input {
	const char *path;
	int fd;
	uint64_t size;
};

static int input_open(struct input *in, const char *path, const char *what, struct pvk_err *e)
{
	struct stat st;

	in->path = path;
	in->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
	if (fstat(in->fd, &st) || !S_ISREG(st.st_mode)) {
		close(in->fd);
		in->fd = -1;
		return pvk_fail(e, PVK_E_IO, "%s: %s is not a regular file", path, what);
	}
	in->size = (uint64_t)st.st_size;
	if (!in->size) {
		close(in->fd);
		in->fd = -1;
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s is empty", path, what);
	}
	return 0;
}

static void input_close(struct input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

/* Kernel checks (spec §1.6); returns the kernel's command-line limit in *max_cmdline. */
static int kernel_check(const struct input *k, int check, uint64_t *max_cmdline,
			struct pvk_err *e)
{
	uint8_t head[SEIMG_KERNEL_MAX_CMDLINE_OFF + 8];
	size_t want = k->size < sizeof(head) ? (size_t)k->size : sizeof(head);
	ssize_t n = pread(k->fd, head, want, 0);

	*max_cmdline = SEIMG_LEGACY_CMDLINE_MAX;
	if (n != (ssize_t)want)
		return pvk_fail(e, PVK_E_IO, "%s: cannot read kernel", k->path);
	if (!check)
		return 0;
	if (want >= 4 && !memcmp(head, "\x7f" "ELF", 4))
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: the kernel is an ELF file; use the raw kernel image (e.g. vmlinuz, arch/s390/boot/bzImage)",
				k->path);
	if (want < SEIMG_KERNEL_S390EP_OFF + 6 || memcmp(head + SEIMG_KERNEL_S390EP_OFF, "S390EP", 6))
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: not an s390x Linux kernel image ('S390EP' missing at 0x10008)",
				k->path);
	if (want == sizeof(head)) {
		uint64_t v = get_be64(head + SEIMG_KERNEL_MAX_CMDLINE_OFF);

		if (v)
			*max_cmdline = v;
	}
	return 0;
}

static int parmfile_load(const char *path, uint64_t max_cmdline, int check, uint8_t **buf,
			 size_t *len, struct pvk_err *e)
{
	uint8_t *raw;
	size_t n;

	if (pvk_file_read_all(path, PARMFILE_MAX, &raw, &n, e))
		return -1;
	if (n == 0) {
		free(raw);
		return pvk_fail(e, PVK_E_FORMAT, "%s: parmfile is empty", path);
	}
	/* The kernel wants a NUL-terminated line; pvk_file_read_all left a NUL after the data. */
	if (raw[n - 1] != '\0')
		n++;
	if (check && n > max_cmdline) {
		free(raw);
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: kernel command line too long: %zu bytes with the terminating NUL, the kernel accepts %llu",
				path, n, (unsigned long long)max_cmdline);
	}
	*buf = raw;
	*len = n;
	return 0;
}

static void tweak_init(uint8_t t[16], enum seimg_comp_kind kind, const uint8_t rnd[6])
{
	memset(t, 0, 16);
	put_be16(t, (uint16_t)kind);
	memcpy(t + 2, rnd, 6);
}

struct keys {
	uint8_t hdr_key[32], image_key[64], cck[32], iv[12];
};

static int keys_make(const struct seimg_create_opts *o, struct keys *k, struct pvk_err *e)
{
	if (o->hdr_key)
		memcpy(k->hdr_key, o->hdr_key, 32);
	else if (pvk_random(k->hdr_key, 32, e))
		return -1;
	if (o->image_key) {
		memcpy(k->image_key, o->image_key, 64);
	} else {
		do {
			if (pvk_random(k->image_key, 64, e))
				return -1;
		} while (!memcmp(k->image_key, k->image_key + 32, 32));
	}
	if (o->cck)
		memcpy(k->cck, o->cck, 32);
	else if (pvk_random(k->cck, 32, e))
		return -1;
	if (o->hdr_iv)
		memcpy(k->iv, o->hdr_iv, 12);
	else if (pvk_random(k->iv, 12, e))
		return -1;
	return 0;
}

struct build {
	const struct seimg_create_opts *o;
	pvk_seimg_progress_fn progress;
	void *progress_ctx;
	uint64_t total;       /* the components' bytes, for progress */
	struct input kernel, ramdisk;
	uint8_t *parm, *s3a, *s3b;
	size_t parm_len, s3a_len, s3b_len;
	struct keys keys;
	EVP_PKEY *cust;
	struct outfile out;
	struct comp_pipe *pipe;
	struct seimg_ipib ipib;
	uint64_t hdr_addr, next;
};

static void pipe_progress(void *ctx, uint64_t done)
{
	struct build *b = ctx;

	b->progress(b->progress_ctx, done, b->total);
}

static int add_component(struct build *b, enum seimg_comp_kind kind, const struct input *in,
			 const uint8_t *buf, uint64_t len, uint64_t *addr, struct pvk_err *e)
{
	uint8_t tweak[16], rnd[6];
	struct comp_io io = {
		.in_buf = buf, .in_fd = in ? in->fd : -1, .in_off = 0, .in_len = len,
		.in_name = in ? in->path : "component", .out_fd = b->out.fd, .out_off = b->next,
		.out_name = b->o->output,
	};
	struct seimg_comp *c = &b->ipib.comps[b->ipib.num_comp];

	if (b->o->tweak_bytes)
		memcpy(rnd, b->o->tweak_bytes, 6);
	else if (pvk_random(rnd, 6, e))
		return -1;
	tweak_init(tweak, kind, rnd);
	if (pvk_comp_pipe_run(b->pipe, &io, b->next, tweak, e))
		return -1;
	c->tweak_pref = get_be64(tweak);
	c->addr = b->next;
	c->len = pvk_comp_pages(len) * SEIMG_PAGE;
	b->ipib.num_comp++;
	*addr = b->next;
	b->next += c->len;
	return 0;
}

static int write_stage3a_and_tail(struct build *b, uint64_t ipib_addr, size_t sehs,
				  struct pvk_err *e)
{
	uint64_t args = SEIMG_STAGE3A_ADDR + b->s3a_len - SEIMG_STAGE3A_ARGS_LEN;
	uint8_t psw[8], meta[SEIMG_META_LEN];
	uint8_t *ipib = calloc(1, pvk_ipib_size(b->ipib.num_comp));
	int rc;

	if (!ipib)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	b->ipib.hdr_addr = b->hdr_addr;
	b->ipib.hdr_size = sehs;
	pvk_ipib_encode(&b->ipib, ipib);
	rc = pvk_outfile_pwrite(&b->out, ipib, pvk_ipib_size(b->ipib.num_comp), ipib_addr, e);
	free(ipib);
	if (rc)
		return -1;
	/* stage3a finds header and IPIB relative to its argument area (position independent). */
	put_be64(b->s3a + b->s3a_len - 24, b->hdr_addr - args);
	put_be64(b->s3a + b->s3a_len - 16, sehs);
	put_be64(b->s3a + b->s3a_len - 8, ipib_addr - args);
	if (pvk_outfile_pwrite(&b->out, b->s3a, b->s3a_len, SEIMG_STAGE3A_ADDR, e))
		return -1;
	put_be64(psw, PSW_MASK_DEFAULT | SEIMG_PSW_SHORT_BIT12 | SEIMG_STAGE3A_ENTRY);
	memcpy(meta, SEIMG_META_MAGIC, 8);
	put_be64(meta + 8, b->hdr_addr);
	put_be32(meta + 16, SEIMG_META_VERSION);
	put_be64(meta + 20, ipib_addr);
	if (pvk_outfile_pwrite(&b->out, psw, sizeof(psw), 0, e) ||
	    pvk_outfile_pwrite(&b->out, meta, sizeof(meta), SEIMG_META_ADDR, e))
		return -1;
	return 0;
}

static int build_run(struct build *b, struct pvk_err *e)
{
	const struct seimg_create_opts *o = b->o;
	const char *dir = pvk_seimg_bootloader_dir(o->bootloader_dir);
	uint64_t max_cmdline, kaddr = 0, raddr = 0, caddr = 0, s3b_addr, ipib_addr;
	uint8_t pld[64], ald[64], tld[64];
	struct sehdr_params hp;
	uint8_t *hdr = NULL, *args;
	size_t sehs;
	uint64_t nep;
	int rc;

	if (!o->n_hosts)
		return pvk_fail(e, PVK_E_USAGE, "at least one host-key document is required");
	if (o->n_hosts > SEHDR_MAX_KEYSLOTS)
		return pvk_fail(e, PVK_E_USAGE,
				"too many host-key documents: %zu (an SE header holds at most %d)",
				o->n_hosts, SEHDR_MAX_KEYSLOTS);
	if (load_loader(dir, "stage3a.bin", SEIMG_STAGE3A_MAX, 0x1000 + SEIMG_STAGE3A_ARGS_LEN,
			&b->s3a, &b->s3a_len, e) ||
	    load_loader(dir, "stage3b_reloc.bin", STAGE3B_RELOC_MAX, SEIMG_STAGE3B_ARGS_LEN + 16,
			&b->s3b, &b->s3b_len, e))
		return -1;
	if (input_open(&b->kernel, o->kernel, "kernel", e) ||
	    kernel_check(&b->kernel, !o->no_component_check, &max_cmdline, e))
		return -1;
	if (o->ramdisk && input_open(&b->ramdisk, o->ramdisk, "ramdisk", e))
		return -1;
	if (o->parmfile && parmfile_load(o->parmfile, max_cmdline, !o->no_component_check,
					 &b->parm, &b->parm_len, e))
		return -1;
	if (keys_make(o, &b->keys, e))
		return -1;
	if (o->cust_key) {
		if (!pvk_ec_is_p521(o->cust_key))
			return pvk_fail(e, PVK_E_USAGE, "the customer key must be an EC P-521 key");
		b->cust = o->cust_key;
		EVP_PKEY_up_ref(b->cust);
	} else if (pvk_ec_generate(&b->cust, e)) {
		return -1;
	}

	sehs = pvk_sehdr_size(o->n_hosts);
	b->hdr_addr = round_up_page(SEIMG_STAGE3A_ADDR + b->s3a_len);
	if (b->hdr_addr < SEIMG_HDR_ADDR_MIN)
		b->hdr_addr = SEIMG_HDR_ADDR_MIN;
	b->next = round_up_page(b->hdr_addr + sehs);

	if (pvk_outfile_open(&b->out, o->output, (o->overwrite ? OUTFILE_OVERWRITE : 0) | OUTFILE_SECRET,
			 e))
		return -1;
	if (pvk_comp_pipe_new(&b->pipe, o->pcf & PCF_NO_COMP_ENCRYPTION ? COMP_PLAIN : COMP_ENCRYPT,
			  b->keys.image_key, e))
		return -1;
	pvk_comp_pipe_sync_output(b->pipe, SYNC_STEP);
	if (b->progress) {
		b->total = (pvk_comp_pages(b->kernel.size) + pvk_comp_pages(b->s3b_len) +
			    (o->ramdisk ? pvk_comp_pages(b->ramdisk.size) : 0) +
			    (b->parm ? pvk_comp_pages(b->parm_len) : 0)) * SEIMG_PAGE;
		pvk_comp_pipe_set_progress(b->pipe, pipe_progress, b);
	}
	if (add_component(b, SEIMG_COMP_KERNEL, &b->kernel, NULL, b->kernel.size, &kaddr, e))
		return -1;
	if (o->ramdisk &&
	    add_component(b, SEIMG_COMP_RAMDISK, &b->ramdisk, NULL, b->ramdisk.size, &raddr, e))
		return -1;
	if (b->parm && add_component(b, SEIMG_COMP_CMDLINE, NULL, b->parm, b->parm_len, &caddr, e))
		return -1;
	/* stage3b learns where everything is before it is encrypted as the last component. */
	args = b->s3b + b->s3b_len - SEIMG_STAGE3B_ARGS_LEN;
	memset(args, 0, SEIMG_STAGE3B_ARGS_LEN);
	put_be64(args + 0x00, kaddr);
	put_be64(args + 0x08, b->kernel.size);
	put_be64(args + 0x10, b->parm ? caddr : 0);
	put_be64(args + 0x18, b->parm ? b->parm_len : 0);
	put_be64(args + 0x20, o->ramdisk ? raddr : 0);
	put_be64(args + 0x28, o->ramdisk ? b->ramdisk.size : 0);
	put_be64(args + 0x30, PSW_MASK_DEFAULT);
	put_be64(args + 0x38, SEIMG_KERNEL_ENTRY);
	if (add_component(b, SEIMG_COMP_STAGE3B, NULL, b->s3b, b->s3b_len, &s3b_addr, e))
		return -1;
	ipib_addr = b->next;
	if (pvk_comp_pipe_finish(b->pipe, pld, ald, tld, &nep, e))
		return -1;

	memset(&hp, 0, sizeof(hp));
	hp.cust = b->cust;
	hp.hosts = o->hosts;
	hp.n_hosts = o->n_hosts;
	memcpy(hp.iv, b->keys.iv, 12);
	memcpy(hp.hdr_key, b->keys.hdr_key, 32);
	hp.nep = nep;
	hp.pcf = o->pcf;
	memcpy(hp.pld, pld, 64);
	memcpy(hp.ald, ald, 64);
	memcpy(hp.tld, tld, 64);
	memcpy(hp.sec.cck, b->keys.cck, 32);
	memcpy(hp.sec.xts_key, b->keys.image_key, 64);
	hp.sec.psw_mask = PSW_MASK_DEFAULT;
	hp.sec.psw_addr = o->have_psw_addr ? o->psw_addr : s3b_addr;
	hp.sec.scf = o->scf;
	rc = pvk_sehdr_build(&hp, &hdr, &sehs, e);
	OPENSSL_cleanse(&hp, sizeof(hp));
	if (rc)
		return -1;
	rc = pvk_outfile_pwrite(&b->out, hdr, sehs, b->hdr_addr, e);
	free(hdr);
	if (rc || write_stage3a_and_tail(b, ipib_addr, sehs, e))
		return -1;
	return pvk_outfile_commit(&b->out, e);
}

int pvk_seimg_create(const struct seimg_create_opts *o, struct pvk_err *e)
{
	return pvk_seimg_create_progress(o, NULL, NULL, e);
}

int pvk_seimg_create_progress(const struct seimg_create_opts *o, pvk_seimg_progress_fn fn,
			      void *ctx, struct pvk_err *e)
{
	struct build b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.progress = fn;
	b.progress_ctx = ctx;
	b.kernel.fd = b.ramdisk.fd = -1;
	b.out.fd = -1;
	rc = build_run(&b, e);
	if (b.out.tmp)
		pvk_outfile_abort(&b.out);
	pvk_comp_pipe_free(b.pipe);
	input_close(&b.kernel);
	input_close(&b.ramdisk);
	if (b.parm)
		pvk_buf_free_secret(b.parm, b.parm_len);
	free(b.s3a);
	free(b.s3b);
	EVP_PKEY_free(b.cust);
	OPENSSL_cleanse(&b.keys, sizeof(b.keys));
	return rc;
}
