// SPDX-License-Identifier: MIT
/* The UV's unpack (pvk_seimg_unpack) against crafted images: every refusal class of spec §1.7
 * (plus pvkit's own two codes) is triggered by an image in which exactly one thing is wrong
 * and the header otherwise authenticates; an image for another host is refused; random
 * single-byte flips anywhere the UV reads are refused; a refused unpack leaves no decrypted
 * memory file behind. Every input is derived from fixed seeds, so a failure is reproducible;
 * the loaders are stand-ins, so this runs wherever the library does (also s390x/qemu-user). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvrc.h"
#include "testutil.h"

#define N_HOSTS 3              /* hosts[0], hosts[1] are in the base image, hosts[2] is not */
#define S3A_LEN 0x2000
#define S3B_LEN 0x1800
#define KERNEL_LEN 0x1800      /* two pages (no component check: no S390EP needed) */
#define RAMDISK_LEN 3000
#define SLACK 0x10000          /* room to grow a crafted image */
#define TAMPER_SEED 0x5e5eed0fc0ffee01ull

/* splitmix64: small, portable, and the same sequence on every host. */
static uint64_t prng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void prng_fill(uint64_t *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(prng_next(s) >> 56);
}

/* Uniform in [0, n). */
static uint64_t prng_below(uint64_t *s, uint64_t n)
{
	return prng_next(s) % n;
}

struct fixture {
	char *dir;
	char kernel[512], ramdisk[512], parm[512], loaders[512], base_path[512], work[512];
	char memdir[512], mem[600];
	EVP_PKEY *hosts[N_HOSTS], *cust;
	uint8_t hdr_key[32], image_key[64], cck[32], iv[12], tweak[6];
	uint8_t *base;           /* the base image: hosts[0] and hosts[1], PCKMO default PCF */
	size_t base_len;
	struct seimg_unpacked bu; /* what unpacking the base image with hosts[0] gave */
	uint64_t hdr, sehs, ipib, s3a_args;
	uint8_t plain[SEHDR_SEA_V1]; /* the base header's decrypted encrypted area */
};

static void write_path(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("%s: write: %s", path, strerror(errno));
		done += (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

static uint8_t *read_path(const char *path, size_t *len)
{
	struct pvk_err e;
	uint8_t *buf;

	if (pvk_file_read_all(path, 1 << 26, &buf, len, &e))
		fail_msg("%s", e.msg);
	return buf;
}

/* A P-521 key from a PRNG scalar below 2^520 (so below the group order). */
static EVP_PKEY *key_from_seed(uint64_t seed)
{
	uint8_t scalar[PVK_P521_BYTES];
	struct pvk_err e;
	EVP_PKEY *k;

	prng_fill(&seed, scalar, sizeof(scalar));
	scalar[0] = 0;
	scalar[1] |= 1;
	if (pvk_ec_from_scalar(scalar, sizeof(scalar), &k, &e))
		fail_msg("%s", e.msg);
	return k;
}

static struct seimg_create_opts base_opts(struct fixture *f, const char *out)
{
	struct seimg_create_opts o = {
		.kernel = f->kernel, .ramdisk = f->ramdisk, .parmfile = f->parm, .output = out,
		.hosts = f->hosts, .n_hosts = 2, .bootloader_dir = f->loaders, .overwrite = 1,
		.no_component_check = 1, .pcf = PCF_PCKMO_DEFAULT,
		.hdr_key = f->hdr_key, .image_key = f->image_key, .cck = f->cck,
		.cust_key = f->cust, .hdr_iv = f->iv, .tweak_bytes = f->tweak,
	};
	return o;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *buf = malloc(S3A_LEN + KERNEL_LEN);
	uint64_t seed = 0x70a7c4ed5eedull;
	struct seimg_create_opts o;
	struct pvk_err e;
	char path[600];
	size_t aad;

	assert_non_null(f);
	assert_non_null(buf);
	f->dir = tmpdir_make();
	snprintf(f->kernel, sizeof(f->kernel), "%s/kernel", f->dir);
	snprintf(f->ramdisk, sizeof(f->ramdisk), "%s/ramdisk", f->dir);
	snprintf(f->parm, sizeof(f->parm), "%s/parmfile", f->dir);
	snprintf(f->loaders, sizeof(f->loaders), "%s/loaders", f->dir);
	snprintf(f->base_path, sizeof(f->base_path), "%s/base.img", f->dir);
	snprintf(f->work, sizeof(f->work), "%s/work.img", f->dir);
	snprintf(f->memdir, sizeof(f->memdir), "%s/memdir", f->dir);
	snprintf(f->mem, sizeof(f->mem), "%s/mem", f->memdir);
	assert_int_equal(mkdir(f->loaders, 0700), 0);
	assert_int_equal(mkdir(f->memdir, 0700), 0);

	prng_fill(&seed, buf, KERNEL_LEN);
	write_path(f->kernel, buf, KERNEL_LEN);
	prng_fill(&seed, buf, RAMDISK_LEN);
	write_path(f->ramdisk, buf, RAMDISK_LEN);
	write_path(f->parm, "console=ttyS0 pvkit.unpack=1\n", 29);
	memset(buf, 0xa3, S3A_LEN);
	snprintf(path, sizeof(path), "%s/stage3a.bin", f->loaders);
	write_path(path, buf, S3A_LEN);
	memset(buf, 0xb3, S3B_LEN);
	snprintf(path, sizeof(path), "%s/stage3b_reloc.bin", f->loaders);
	write_path(path, buf, S3B_LEN);
	free(buf);

	for (int i = 0; i < N_HOSTS; i++)
		f->hosts[i] = key_from_seed(0x4057000 + (uint64_t)i);
	f->cust = key_from_seed(0xc057);
	prng_fill(&seed, f->hdr_key, sizeof(f->hdr_key));
	prng_fill(&seed, f->image_key, sizeof(f->image_key));
	prng_fill(&seed, f->cck, sizeof(f->cck));
	prng_fill(&seed, f->iv, sizeof(f->iv));
	prng_fill(&seed, f->tweak, sizeof(f->tweak));

	o = base_opts(f, f->base_path);
	if (pvk_seimg_create(&o, &e))
		fail_msg("%s", e.msg);
	f->base = read_path(f->base_path, &f->base_len);
	if (pvk_seimg_unpack(f->base_path, f->hosts[0], NULL, &f->bu, &e))
		fail_msg("base image: %s", e.msg);
	f->hdr = f->bu.ipib.hdr_addr;
	f->sehs = f->bu.ipib.hdr_size;
	f->ipib = get_be64(f->base + SEIMG_META_ADDR + 20);
	f->s3a_args = SEIMG_STAGE3A_ADDR + S3A_LEN - SEIMG_STAGE3A_ARGS_LEN;
	assert_int_equal(f->sehs, pvk_sehdr_size(2));
	assert_int_equal(f->bu.ipib.num_comp, 4);
	assert_int_equal(f->bu.nep, 2 + 1 + 1 + 2);
	assert_int_equal(f->base_len, f->ipib + pvk_ipib_size(4));
	/* The encrypted area in the clear, to re-seal crafted headers with. */
	aad = SEHDR_OFF_KEYSLOTS + 2 * PVK_KEYSLOT_LEN;
	if (pvk_gcm_decrypt(f->hdr_key, f->base + f->hdr + SEHDR_OFF_IV, f->base + f->hdr, aad,
			    f->base + f->hdr + aad, SEHDR_SEA_V1, f->plain,
			    f->base + f->hdr + aad + SEHDR_SEA_V1, &e))
		fail_msg("base header: %s", e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < N_HOSTS; i++)
		EVP_PKEY_free(f->hosts[i]);
	EVP_PKEY_free(f->cust);
	OPENSSL_cleanse(f->plain, sizeof(f->plain));
	free(f->base);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* A crafted image: a copy of the base with room to grow. */
struct img {
	uint8_t *b;
	size_t len;
};

static struct img img_dup(struct fixture *f)
{
	struct img m = { calloc(1, f->base_len + SLACK), f->base_len };

	assert_non_null(m.b);
	memcpy(m.b, f->base, f->base_len);
	return m;
}

static uint8_t *hdr_of(struct fixture *f, struct img *m)
{
	return m->b + f->hdr;
}

static uint8_t *ipib_comp(struct fixture *f, struct img *m, uint32_t i)
{
	return m->b + f->ipib + IPIB_OFF_COMPS + (size_t)i * IPIB_COMP_LEN;
}

/* The header size as the IPIB gives it to the UV (and stage3a's copy, which it restores). */
static void set_hdr_size(struct fixture *f, struct img *m, uint64_t v)
{
	put_be64(m->b + f->ipib + IPIB_OFF_HDR_SIZE, v);
	put_be64(m->b + f->s3a_args + 8, v);
}

/* Seal the header at h again with the base header key: encrypted area (sea bytes of plain)
 * right after nks key slots, GCM over everything before it, tag right after it. Only the
 * tested field is then wrong; the tag verifies. */
static void reseal(struct fixture *f, uint8_t *h, uint64_t nks, const uint8_t *plain, size_t sea)
{
	size_t aad = SEHDR_OFF_KEYSLOTS + (size_t)nks * PVK_KEYSLOT_LEN;
	struct pvk_err e;

	memmove(h + aad, plain, sea);
	if (pvk_gcm_encrypt(f->hdr_key, h + SEHDR_OFF_IV, h, aad, h + aad, sea, h + aad,
			    h + aad + sea, &e))
		fail_msg("%s", e.msg);
}

static void reseal_base(struct fixture *f, struct img *m)
{
	reseal(f, hdr_of(f, m), 2, f->plain, SEHDR_SEA_V1);
}

static int unpack_img(struct fixture *f, struct img *m, EVP_PKEY *host, struct pvk_err *e)
{
	struct seimg_unpacked u;

	write_path(f->work, m->b, m->len);
	memset(e, 0, sizeof(*e));
	return pvk_seimg_unpack(f->work, host, NULL, &u, e);
}

static void expect_uv(struct fixture *f, struct img *m, EVP_PKEY *host, uint16_t rc, uint16_t rrc,
		      const char *what)
{
	struct pvk_err e;

	if (unpack_img(f, m, host, &e) == 0)
		fail_msg("%s: unpack accepted the image (expected rc 0x%04x rrc 0x%04x)", what, rc,
			 rrc);
	if (e.code != PVK_E_UV || e.uv_rc != rc || e.uv_rrc != rrc)
		fail_msg("%s: expected rc 0x%04x rrc 0x%04x, got error class %d rc 0x%04x rrc 0x%04x: %s",
			 what, rc, rrc, (int)e.code, e.uv_rc, e.uv_rrc, e.msg);
}

static void expect_ok(struct fixture *f, struct img *m, EVP_PKEY *host, const char *what)
{
	struct pvk_err e;

	if (unpack_img(f, m, host, &e))
		fail_msg("%s: unpack refused: %s", what, e.msg);
}

/* Craft, check, free: one variant per call. */
#define VARIANT(f, m) for (struct img m = img_dup(f); m.b; free(m.b), m.b = NULL)

/* ---- positive controls ----------------------------------------------------------------- */

static void test_baseline(void **state)
{
	struct fixture *f = *state;
	struct seimg_unpacked u;
	struct pvk_err e;

	assert_int_equal(pvk_seimg_unpack(f->base_path, f->hosts[1], NULL, &u, &e), 0);
	assert_int_equal(u.nep, f->bu.nep);
	assert_int_equal(u.pcf, PCF_PCKMO_DEFAULT);
	assert_int_equal(u.sec.scf, 0);
	assert_memory_equal(u.sec.xts_key, f->image_key, 64);
	assert_memory_equal(u.sec.cck, f->cck, 32);
	assert_int_equal(u.sec.psw_addr, u.ipib.comps[3].addr);
	/* Re-sealing an unchanged header gives a header that unpacks: the crafting is sound. */
	VARIANT(f, m) {
		reseal_base(f, &m);
		assert_memory_equal(m.b, f->base, f->base_len);
		expect_ok(f, &m, f->hosts[0], "identity re-seal");
	}
	/* An identity rewrite of the IPIB's header size (and stage3a's copy) is harmless too. */
	VARIANT(f, m) {
		set_hdr_size(f, &m, f->sehs);
		expect_ok(f, &m, f->hosts[1], "identity IPIB rewrite");
	}
}

/* ---- 0x0102: digest / page-count mismatch with an authentic header ---------------------- */

static void test_ald_mismatch(void **state)
{
	struct fixture *f = *state;
	const struct seimg_comp *s3b = &f->bu.ipib.comps[3];

	VARIANT(f, m) { /* the header's ALD */
		hdr_of(f, &m)[SEHDR_OFF_ALD + 17] ^= 0x40;
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_ALD, "header ALD changed");
	}
	VARIANT(f, m) { /* stage3b moved, ciphertext and all, to a later page: only ALD changes */
		uint64_t to = round_up_page(f->base_len) + SEIMG_PAGE;

		memcpy(m.b + to, m.b + s3b->addr, s3b->len);
		memset(m.b + s3b->addr, 0, s3b->len);
		put_be64(ipib_comp(f, &m, 3) + 8, to);
		m.len = to + s3b->len;
		expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_ALD, "stage3b moved");
	}
}

static void test_pld_mismatch(void **state)
{
	struct fixture *f = *state;

	VARIANT(f, m) {
		hdr_of(f, &m)[SEHDR_OFF_PLD] ^= 0x01;
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_PLD, "header PLD changed");
	}
	for (uint32_t i = 0; i < f->bu.ipib.num_comp; i++) {
		VARIANT(f, m) { /* one ciphertext byte of component i */
			const struct seimg_comp *c = &f->bu.ipib.comps[i];
			char what[64];

			m.b[c->addr + c->len - 1 - 0x123] ^= 0x80;
			snprintf(what, sizeof(what), "component %u page byte", i);
			expect_uv(f, &m, f->hosts[1], UV_RC_DIGEST, UV_RRC_PLD, what);
		}
	}
	VARIANT(f, m) { /* the kernel's two pages swapped: same addresses, tweaks and count */
		uint8_t page[SEIMG_PAGE];
		uint64_t k = f->bu.ipib.comps[0].addr;

		assert_int_equal(f->bu.ipib.comps[0].len, 2 * SEIMG_PAGE);
		memcpy(page, m.b + k, SEIMG_PAGE);
		memcpy(m.b + k, m.b + k + SEIMG_PAGE, SEIMG_PAGE);
		memcpy(m.b + k + SEIMG_PAGE, page, SEIMG_PAGE);
		expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_PLD, "kernel pages swapped");
	}
}

static void test_tld_mismatch(void **state)
{
	struct fixture *f = *state;

	VARIANT(f, m) {
		hdr_of(f, &m)[SEHDR_OFF_TLD + 63] ^= 0x01;
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_TLD, "header TLD changed");
	}
	/* A random byte of a component's tweak prefix in the IPIB (order kept: the component
	 * prefix in the top 16 bits is untouched). PLD is over the ciphertext, so only TLD moves. */
	for (uint32_t i = 0; i < f->bu.ipib.num_comp; i++) {
		VARIANT(f, m) {
			char what[64];

			ipib_comp(f, &m, i)[2 + i] ^= 0x01;
			snprintf(what, sizeof(what), "component %u tweak prefix", i);
			expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_TLD, what);
		}
	}
}

static void test_nep_mismatch(void **state)
{
	struct fixture *f = *state;
	const uint64_t neps[] = { f->bu.nep + 1, f->bu.nep - 1, 0, f->bu.nep | (1ull << 40) };

	for (size_t i = 0; i < sizeof(neps) / sizeof(neps[0]); i++) {
		VARIANT(f, m) {
			put_be64(hdr_of(f, &m) + SEHDR_OFF_NEP, neps[i]);
			reseal_base(f, &m);
			expect_uv(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_NEP, "header NEP changed");
		}
	}
}

/* ---- 0x0104: header version ------------------------------------------------------------ */

static void test_hdr_version(void **state)
{
	struct fixture *f = *state;
	const uint32_t versions[] = { 0x00000200, 0x00000000, 0x00000101, 0x01000100, 0xffffffff };

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		VARIANT(f, m) {
			put_be32(hdr_of(f, &m) + SEHDR_OFF_VERSION, versions[i]);
			reseal_base(f, &m);
			expect_uv(f, &m, f->hosts[0], UV_RC_HDR_VERSION, UV_RRC_HDR_VERSION,
				  "header version");
		}
	}
}

/* ---- 0x0106: unsupported PCF bit -------------------------------------------------------- */

static void test_pcf_unsupported(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, f->work);
	struct seimg_unpacked u;
	struct pvk_err e;
	size_t len;
	uint8_t *img;

	/* Built that way: the builder writes the PCF it is given. */
	o.pcf = PCF_PCKMO_DEFAULT | (1ull << (63 - 40));
	if (pvk_seimg_create(&o, &e))
		fail_msg("%s", e.msg);
	img = read_path(f->work, &len);
	assert_int_equal(get_be64(img + f->hdr + SEHDR_OFF_PCF), o.pcf);
	free(img);
	assert_int_equal(pvk_seimg_unpack(f->work, f->hosts[0], NULL, &u, &e), -1);
	assert_int_equal(e.code, PVK_E_UV);
	assert_int_equal(e.uv_rc, UV_RC_PCF);
	assert_int_equal(e.uv_rrc, UV_RRC_PCF);

	/* Every single bit, re-sealed: the unknown ones are refused, the known ones are fine. */
	for (int bit = 0; bit < 64; bit++) {
		uint64_t v = 1ull << (63 - bit);
		char what[64];

		if (v == PCF_NO_COMP_ENCRYPTION)
			continue; /* changes how the pages are read, not what this test is about */
		snprintf(what, sizeof(what), "PCF bit %d", bit);
		VARIANT(f, m) {
			put_be64(hdr_of(f, &m) + SEHDR_OFF_PCF, PCF_PCKMO_DEFAULT | v);
			reseal_base(f, &m);
			if (v & PCF_KNOWN)
				expect_ok(f, &m, f->hosts[0], what);
			else
				expect_uv(f, &m, f->hosts[0], UV_RC_PCF, UV_RRC_PCF, what);
		}
	}
}

/* ---- 0x0108: host key / customer key ---------------------------------------------------- */

static void test_hostkey_mismatch(void **state)
{
	struct fixture *f = *state;

	VARIANT(f, m) /* a host without a key slot */
		expect_uv(f, &m, f->hosts[2], UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH, "host not in header");
	VARIANT(f, m) { /* slot 0's hash cleared: hosts[0] has no slot, hosts[1] still has one */
		memset(hdr_of(f, &m) + SEHDR_OFF_KEYSLOTS, 0, 32);
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH, "slot hash cleared");
		expect_ok(f, &m, f->hosts[1], "other slot intact");
	}
	VARIANT(f, m) { /* slot 0 carries hosts[1]'s wrapped key under hosts[0]'s hash */
		uint8_t *s = hdr_of(f, &m) + SEHDR_OFF_KEYSLOTS;

		memcpy(s + PVK_KEYSLOT_WRPK_OFF, s + PVK_KEYSLOT_LEN + PVK_KEYSLOT_WRPK_OFF, 48);
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH,
			  "wrapped key of another host");
	}
}

static void test_other_host_image(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, f->work);
	struct seimg_unpacked u;
	struct pvk_err e;

	o.hosts = &f->hosts[1];
	o.n_hosts = 1;
	if (pvk_seimg_create(&o, &e))
		fail_msg("%s", e.msg);
	for (int i = 0; i < N_HOSTS; i += 2) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(pvk_seimg_unpack(f->work, f->hosts[i], NULL, &u, &e), -1);
		assert_int_equal(e.code, PVK_E_UV);
		assert_int_equal(e.uv_rc, UV_RC_HOSTKEY);
		assert_int_equal(e.uv_rrc, UV_RRC_HOSTKEY_HASH);
	}
	if (pvk_seimg_unpack(f->work, f->hosts[1], NULL, &u, &e))
		fail_msg("the image's own host: %s", e.msg);
}

static void test_cust_key_invalid(void **state)
{
	struct fixture *f = *state;
	const size_t pad = PVK_EC_COORD_LEN - PVK_P521_BYTES;

	for (int v = 0; v < 5; v++) {
		VARIANT(f, m) {
			uint8_t *x = hdr_of(f, &m) + SEHDR_OFF_CUST_PUB, *y = x + PVK_EC_COORD_LEN;

			switch (v) {
			case 0: /* (1, 1): not on the curve */
				memset(x, 0, PVK_EC_PUB_LEN);
				x[PVK_EC_COORD_LEN - 1] = 1;
				y[PVK_EC_COORD_LEN - 1] = 1;
				break;
			case 1: /* (0, 0): the encoding of nothing */
				memset(x, 0, PVK_EC_PUB_LEN);
				break;
			case 2: /* Y with its low bit flipped: never the other root p - Y */
				y[PVK_EC_COORD_LEN - 1] ^= 1;
				break;
			case 3: /* X = 2^528 - 1 >= p */
				memset(x + pad, 0xff, PVK_P521_BYTES);
				break;
			case 4: /* the left padding of Y is not zero */
				y[0] = 0x01;
				break;
			}
			reseal_base(f, &m);
			expect_uv(f, &m, f->hosts[0], UV_RC_HOSTKEY, UV_RRC_CUST_KEY,
				  "invalid customer key");
		}
	}
}

/* ---- 0x0109: unsupported SCF bit -------------------------------------------------------- */

static void test_scf_unsupported(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, f->work);
	struct seimg_unpacked u;
	struct pvk_err e;

	o.scf = 1ull << 63;
	if (pvk_seimg_create(&o, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(pvk_seimg_unpack(f->work, f->hosts[1], NULL, &u, &e), -1);
	assert_int_equal(e.code, PVK_E_UV);
	assert_int_equal(e.uv_rc, UV_RC_SCF);
	assert_int_equal(e.uv_rrc, UV_RRC_SCF);

	for (int bit = 0; bit < 64; bit++) {
		uint64_t v = 1ull << (63 - bit);
		uint8_t plain[SEHDR_SEA_V1];
		char what[64];

		memcpy(plain, f->plain, sizeof(plain));
		put_be64(plain + 0x70, v);
		snprintf(what, sizeof(what), "SCF bit %d", bit);
		VARIANT(f, m) {
			reseal(f, hdr_of(f, &m), 2, plain, sizeof(plain));
			if (v & SCF_KNOWN)
				expect_ok(f, &m, f->hosts[0], what);
			else
				expect_uv(f, &m, f->hosts[0], UV_RC_SCF, UV_RRC_SCF, what);
		}
		OPENSSL_cleanse(plain, sizeof(plain));
	}
}

/* ---- 0x010a: header size, encrypted-area size, key slots, tag, components --------------- */

static void test_hdr_len_mismatch(void **state)
{
	struct fixture *f = *state;

	VARIANT(f, m) { /* the header claims 16 bytes more than the IPIB gives */
		put_be32(hdr_of(f, &m) + SEHDR_OFF_SEHS, (uint32_t)f->sehs + 16);
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "header sehs + 16");
	}
	VARIANT(f, m) { /* the header claims one key slot less */
		put_be32(hdr_of(f, &m) + SEHDR_OFF_SEHS, (uint32_t)f->sehs - PVK_KEYSLOT_LEN);
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "header sehs - 80");
	}
	VARIANT(f, m) { /* the IPIB gives 16 bytes more than the (untouched) header has */
		set_hdr_size(f, &m, f->sehs + 16);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB size + 16");
	}
	VARIANT(f, m) { /* the IPIB cuts the header short */
		set_hdr_size(f, &m, f->sehs - PVK_KEYSLOT_LEN);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB size - 80");
	}
	VARIANT(f, m) { /* beyond the two pages the UV accepts */
		set_hdr_size(f, &m, SEHDR_MAX_LEN + SEIMG_PAGE);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB size 3 pages");
	}
	VARIANT(f, m) { /* shorter than any header */
		set_hdr_size(f, &m, SEHDR_TAG_LEN);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "IPIB size 16");
	}
	VARIANT(f, m) { /* IPIB and sehs agree, but not with nks and sea */
		put_be32(hdr_of(f, &m) + SEHDR_OFF_SEHS, (uint32_t)f->sehs + 16);
		set_hdr_size(f, &m, f->sehs + 16);
		reseal_base(f, &m);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_LEN, "sehs vs nks/sea");
	}
}

static void test_sea_invalid(void **state)
{
	struct fixture *f = *state;
	const size_t seas[] = { SEHDR_SEA_V1 + 16, 0, SEHDR_SEA_V1 - 16, SEHDR_SEA_V1 + 4096 };

	for (size_t i = 0; i < sizeof(seas) / sizeof(seas[0]); i++) {
		VARIANT(f, m) {
			size_t sea = seas[i], sehs = SEHDR_OFF_KEYSLOTS + 2 * PVK_KEYSLOT_LEN + sea + 16;
			uint8_t *h = hdr_of(f, &m), *plain = calloc(1, sea + 1);
			char what[64];

			assert_non_null(plain);
			memcpy(plain, f->plain, sea < SEHDR_SEA_V1 ? sea : SEHDR_SEA_V1);
			/* A consistent header of that size, moved apart as needed, sealed again. */
			memset(h + SEHDR_OFF_KEYSLOTS + 2 * PVK_KEYSLOT_LEN, 0, f->sehs - SEHDR_OFF_KEYSLOTS -
			       2 * PVK_KEYSLOT_LEN);
			if (sehs > f->bu.ipib.comps[0].addr - f->hdr) {
				/* Too big for the gap before the kernel: use a header copy past the end. */
				uint64_t to = round_up_page(m.len);

				memcpy(m.b + to, h, SEHDR_OFF_KEYSLOTS + 2 * PVK_KEYSLOT_LEN);
				h = m.b + to;
				put_be64(m.b + f->ipib + IPIB_OFF_HDR_ADDR, to);
				put_be64(m.b + f->s3a_args, to - f->s3a_args);
				m.len = to + sehs;
			}
			put_be32(h + SEHDR_OFF_SEHS, (uint32_t)sehs);
			put_be64(h + SEHDR_OFF_SEA, sea);
			set_hdr_size(f, &m, sehs);
			reseal(f, h, 2, plain, sea);
			free(plain);
			snprintf(what, sizeof(what), "sea %zu", sea);
			expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_SEA, what);
		}
	}
}

static void test_no_keyslot(void **state)
{
	struct fixture *f = *state;

	VARIANT(f, m) {
		uint8_t *h = hdr_of(f, &m);
		size_t sehs = pvk_sehdr_size(0);

		memset(h + SEHDR_OFF_KEYSLOTS, 0, f->sehs - SEHDR_OFF_KEYSLOTS);
		put_be32(h + SEHDR_OFF_SEHS, (uint32_t)sehs);
		put_be64(h + SEHDR_OFF_NKS, 0);
		set_hdr_size(f, &m, sehs);
		reseal(f, h, 0, f->plain, SEHDR_SEA_V1);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_NO_KEYSLOT, "nks 0");
		expect_uv(f, &m, f->hosts[2], UV_RC_HDR, UV_RRC_NO_KEYSLOT, "nks 0, other host");
	}
}

static void test_hdr_tag(void **state)
{
	struct fixture *f = *state;
	const uint64_t aad = SEHDR_OFF_KEYSLOTS + 2 * PVK_KEYSLOT_LEN;
	const uint64_t offs[] = {
		f->sehs - 1,                    /* tag */
		f->sehs - SEHDR_TAG_LEN,        /* tag */
		aad,                            /* encrypted area: CCK */
		aad + 0x70 + 7,                 /* encrypted area: SCF */
		SEHDR_OFF_IV + 11,              /* IV */
		0x1c,                           /* reserved */
		SEHDR_OFF_NEP + 7,              /* NEP, not re-sealed */
		SEHDR_OFF_PCF + 7,              /* PCF: a known bit (0xe0 -> 0xe2), not re-sealed */
		SEHDR_OFF_CUST_PUB,             /* padding of X is checked... */
		SEHDR_OFF_PLD + 31,             /* PLD, not re-sealed */
		SEHDR_OFF_ALD + 63,
		SEHDR_OFF_TLD,
		SEHDR_OFF_KEYSLOTS + PVK_KEYSLOT_LEN + 3, /* the other host's slot hash */
		SEHDR_OFF_KEYSLOTS + PVK_KEYSLOT_LEN + 40, /* the other host's wrapped key */
	};

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		char what[64];

		if (offs[i] == SEHDR_OFF_CUST_PUB)
			continue; /* ...as an invalid customer key (see test_cust_key_invalid) */
		snprintf(what, sizeof(what), "header byte 0x%" PRIx64 " changed", offs[i]);
		VARIANT(f, m) {
			hdr_of(f, &m)[offs[i]] ^= offs[i] == SEHDR_OFF_PCF + 7 ? 0x02 : 0x10;
			expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_HDR_TAG, what);
		}
	}
	VARIANT(f, m) { /* sealed with another header key than the key slots wrap */
		uint8_t key[32];

		memcpy(key, f->hdr_key, 32);
		f->hdr_key[0] ^= 1;
		reseal_base(f, &m);
		memcpy(f->hdr_key, key, 32);
		expect_uv(f, &m, f->hosts[1], UV_RC_HDR, UV_RRC_HDR_TAG, "other header key");
	}
}

static void test_ipib_components(void **state)
{
	struct fixture *f = *state;
	const struct seimg_ipib *ip = &f->bu.ipib;

	VARIANT(f, m) { /* unaligned address */
		put_be64(ipib_comp(f, &m, 3) + 8, ip->comps[3].addr + 0x10);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "unaligned address");
	}
	VARIANT(f, m) { /* unaligned length */
		put_be64(ipib_comp(f, &m, 1) + 16, ip->comps[1].len - 0x800);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "unaligned length");
	}
	VARIANT(f, m) { /* empty component */
		put_be64(ipib_comp(f, &m, 2) + 16, 0);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "zero length");
	}
	VARIANT(f, m) { /* the kernel reaches into the ramdisk */
		put_be64(ipib_comp(f, &m, 0) + 16, ip->comps[0].len + SEIMG_PAGE);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "overlapping");
	}
	VARIANT(f, m) { /* the command line starts inside the ramdisk's page */
		put_be64(ipib_comp(f, &m, 2) + 8, ip->comps[1].addr);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "same address");
	}
	VARIANT(f, m) { /* ramdisk and command line swapped in the IPIB (addresses decrease) */
		uint8_t tmp[IPIB_COMP_LEN];

		memcpy(tmp, ipib_comp(f, &m, 1), IPIB_COMP_LEN);
		memcpy(ipib_comp(f, &m, 1), ipib_comp(f, &m, 2), IPIB_COMP_LEN);
		memcpy(ipib_comp(f, &m, 2), tmp, IPIB_COMP_LEN);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "entries swapped");
	}
	VARIANT(f, m) { /* tweak prefixes swapped, addresses kept: prefixes decrease */
		uint8_t tmp[8];

		memcpy(tmp, ipib_comp(f, &m, 1), 8);
		memcpy(ipib_comp(f, &m, 1), ipib_comp(f, &m, 2), 8);
		memcpy(ipib_comp(f, &m, 2), tmp, 8);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "tweaks swapped");
	}
	VARIANT(f, m) { /* two equal tweak prefixes */
		memcpy(ipib_comp(f, &m, 3), ipib_comp(f, &m, 2), 8);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "equal tweaks");
	}
	VARIANT(f, m) { /* an address that wraps around */
		put_be64(ipib_comp(f, &m, 3) + 8, 0 - (uint64_t)SEIMG_PAGE);
		expect_uv(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "wrapping address");
	}
}

/* ---- random single-byte flips ------------------------------------------------------------ */

struct region {
	const char *name;
	uint64_t start, end, flips;
};

static void flip_at(struct fixture *f, int fd, uint64_t seed, const struct region *r,
		    uint64_t off, uint8_t mask, int *n)
{
	struct seimg_unpacked u;
	struct pvk_err e;
	uint8_t b = f->base[off], x = (uint8_t)(b ^ mask);

	assert_int_equal(pwrite(fd, &x, 1, (off_t)off), 1);
	memset(&e, 0, sizeof(e));
	if (pvk_seimg_unpack(f->work, f->hosts[0], NULL, &u, &e) == 0)
		fail_msg("seed 0x%016" PRIx64 ", flip %d: byte 0x%" PRIx64 " (%s +0x%" PRIx64
			 ") ^ 0x%02x was not refused",
			 seed, *n, off, r->name, off - r->start, mask);
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	(*n)++;
}

/* ---- the machine's path (pvk_seimg_boot): every byte of the image classified ----------------- */

enum expect { X_BOOTS, X_IPL_PSW, X_STAGE3A, X_ARGS, X_SET_PV, X_UV };

static const char *expect_name(enum expect x)
{
	switch (x) {
	case X_BOOTS: return "boots as before";
	case X_IPL_PSW: return "IPL PSW refused";
	case X_STAGE3A: return "stage3a refused";
	case X_ARGS: return "refused (stage3a's arguments)";
	case X_SET_PV: return "diag 308 subcode 8 refused";
	case X_UV: return "UV refusal";
	}
	return "?";
}

struct bregion {
	const char *name;
	uint64_t start, end;
	enum expect x;
};

#define BOOT_MEM (64ull << 20)

static int boot_work(struct fixture *f, struct seimg_unpacked *u, struct pvk_err *e)
{
	memset(e, 0, sizeof(*e));
	return pvk_seimg_boot(f->work, f->hosts[0], NULL, BOOT_MEM, u, e);
}

/* Whether a refusal is of the expected class. */
static int refused_as(const struct pvk_err *e, enum expect x)
{
	switch (x) {
	case X_IPL_PSW: return e->code == PVK_E_FORMAT && strstr(e->msg, "IPL PSW");
	case X_STAGE3A: return e->code == PVK_E_FORMAT && strstr(e->msg, "stage3a differs");
	case X_SET_PV:
		return e->code == PVK_E_FORMAT &&
		       strstr(e->msg, "Setting the Secure Execution IPL parameters failed: rc 0402");
	case X_ARGS: return e->code == PVK_E_FORMAT || e->code == PVK_E_UV;
	case X_UV: return e->code == PVK_E_UV;
	default: return 0;
	}
}

static void boot_flip(struct fixture *f, int fd, const struct bregion *r, uint64_t off,
		      uint8_t mask, enum expect x, int *n)
{
	struct seimg_unpacked u;
	struct pvk_err e;
	uint8_t b = f->base[off], v = (uint8_t)(b ^ mask);
	int rc;

	assert_int_equal(pwrite(fd, &v, 1, (off_t)off), 1);
	rc = boot_work(f, &u, &e);
	if (x == X_BOOTS) {
		if (rc)
			fail_msg("byte 0x%" PRIx64 " (%s) ^ 0x%02x: expected to boot as before, refused: %s",
				 off, r->name, mask, e.msg);
		assert_int_equal(u.nep, f->bu.nep);
		assert_int_equal(u.sec.psw_addr, f->bu.sec.psw_addr);
		assert_memory_equal(u.sec.cck, f->bu.sec.cck, sizeof(u.sec.cck));
	} else if (!rc || !refused_as(&e, x)) {
		fail_msg("byte 0x%" PRIx64 " (%s) ^ 0x%02x: expected %s, got %s",
			 off, r->name, mask, expect_name(x), rc ? e.msg : "a boot");
	}
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	(*n)++;
}

/* What the IPIB's length field decides: QEMU takes lengths from the size of the listed
 * components up to 4096. */
static enum expect ipib_len_expect(struct fixture *f, uint64_t off, uint8_t mask)
{
	uint8_t l[4];
	uint32_t len;

	memcpy(l, f->base + f->ipib, 4);
	l[off - f->ipib] ^= mask;
	len = get_be32(l);
	return len < pvk_ipib_size(f->bu.ipib.num_comp) || len > 4096 ? X_SET_PV : X_BOOTS;
}


/* The boot-loader directory the tests point the library at, and the caller's one back
 * afterwards (meson test sets PVKIT_BOOTLOADER_DIR to the build's loaders). */
static char *saved_loaders_env;

static void loaders_env_set(const char *dir)
{
	const char *old = getenv("PVKIT_BOOTLOADER_DIR");

	free(saved_loaders_env);
	saved_loaders_env = old ? strdup(old) : NULL;
	setenv("PVKIT_BOOTLOADER_DIR", dir, 1);
}

static void loaders_env_restore(void)
{
	if (saved_loaders_env)
		setenv("PVKIT_BOOTLOADER_DIR", saved_loaders_env, 1);
	else
		unsetenv("PVKIT_BOOTLOADER_DIR");
	free(saved_loaders_env);
	saved_loaders_env = NULL;
}

static void test_boot_tamper(void **state)
{
	struct fixture *f = *state;
	const struct seimg_ipib *ip = &f->bu.ipib;
	uint64_t s = TAMPER_SEED ^ 0xb007, args = f->s3a_args, ipib = f->ipib;
	struct bregion r[24 + IPIB_MAX_COMPS * 2];
	struct seimg_unpacked u;
	struct pvk_err e;
	size_t nr = 0;
	uint64_t prev;
	int fd, n = 0, counts[6] = { 0 };

	loaders_env_set(f->loaders);
	write_path(f->work, f->base, f->base_len);
	/* The unchanged image boots as pvk_seimg_unpack unpacks it. */
	if (boot_work(f, &u, &e))
		fail_msg("base image: %s", e.msg);
	assert_memory_equal(&u.ipib, &f->bu.ipib, sizeof(u.ipib));

	r[nr++] = (struct bregion){ "IPL PSW", 0, 8, X_IPL_PSW };
	r[nr++] = (struct bregion){ "lowcore and loader pages (not run)", 8, SEIMG_META_ADDR, X_BOOTS };
	r[nr++] = (struct bregion){ "image metadata (stage3a's BSS: never read)", SEIMG_META_ADDR,
				    SEIMG_META_ADDR + SEIMG_META_LEN, X_BOOTS };
	r[nr++] = (struct bregion){ "pages below stage3a", SEIMG_META_ADDR + SEIMG_META_LEN,
				    SEIMG_STAGE3A_ADDR, X_BOOTS };
	r[nr++] = (struct bregion){ "stage3a code", SEIMG_STAGE3A_ADDR, args, X_STAGE3A };
	r[nr++] = (struct bregion){ "stage3a arguments", args, args + SEIMG_STAGE3A_ARGS_LEN, X_ARGS };
	r[nr++] = (struct bregion){ "after stage3a (not run)", args + SEIMG_STAGE3A_ARGS_LEN, f->hdr,
				    X_BOOTS };
	r[nr++] = (struct bregion){ "SE header", f->hdr, f->hdr + f->sehs, X_UV };
	prev = f->hdr + f->sehs;
	for (uint32_t i = 0; i < ip->num_comp; i++) {
		if (ip->comps[i].addr > prev)
			r[nr++] = (struct bregion){ "gap (not unpacked)", prev, ip->comps[i].addr, X_BOOTS };
		r[nr++] = (struct bregion){ "component", ip->comps[i].addr,
					    ip->comps[i].addr + ip->comps[i].len, X_UV };
		prev = ip->comps[i].addr + ip->comps[i].len;
	}
	if (ipib > prev)
		r[nr++] = (struct bregion){ "gap before the IPIB (not unpacked)", prev, ipib, X_BOOTS };
	r[nr++] = (struct bregion){ "IPIB length", ipib, ipib + 4, X_SET_PV /* per byte below */ };
	r[nr++] = (struct bregion){ "IPIB fields QEMU ignores", ipib + 4, ipib + 0x0c, X_BOOTS };
	r[nr++] = (struct bregion){ "IPIB type", ipib + 0x0c, ipib + 0x0d, X_SET_PV };
	r[nr++] = (struct bregion){ "IPIB reserved", ipib + 0x0d, ipib + IPIB_OFF_NUM_COMP, X_BOOTS };
	r[nr++] = (struct bregion){ "IPIB component count", ipib + IPIB_OFF_NUM_COMP,
				    ipib + IPIB_OFF_HDR_ADDR, X_SET_PV };
	r[nr++] = (struct bregion){ "IPIB header address and size (stage3a rewrites them)",
				    ipib + IPIB_OFF_HDR_ADDR, ipib + IPIB_OFF_COMPS, X_BOOTS };
	r[nr++] = (struct bregion){ "IPIB components", ipib + IPIB_OFF_COMPS,
				    ipib + pvk_ipib_size(ip->num_comp), X_UV };
	assert_int_equal(ipib + pvk_ipib_size(ip->num_comp), f->base_len);

	fd = open(f->work, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < nr; i++) {
		uint64_t len = r[i].end - r[i].start, k, nflips = len < 16 ? len : 16;

		assert_true(r[i].end > r[i].start);
		for (k = 0; k < nflips; k++) {
			/* every byte of a small region; else the ends and random ones */
			uint64_t off = len <= 16 ? r[i].start + k
				       : k == 0 ? r[i].start
				       : k == 1 ? r[i].end - 1
						: r[i].start + prng_below(&s, len);
			uint8_t mask = (uint8_t)(1 + prng_below(&s, 255));
			enum expect x = r[i].x;

			if (off < ipib + 4 && off >= ipib)
				x = ipib_len_expect(f, off, mask);
			boot_flip(f, fd, &r[i], off, mask, x, &n);
			counts[x]++;
		}
	}
	close(fd);
	print_message("%d single-byte flips over %zu regions: %d boot as before, %d IPL PSW, "
		      "%d stage3a, %d arguments, %d diag 308 subcode 8, %d UV\n",
		      n, nr, counts[X_BOOTS], counts[X_IPL_PSW], counts[X_STAGE3A], counts[X_ARGS],
		      counts[X_SET_PV], counts[X_UV]);
	assert_true(n >= 250);
	loaders_env_restore();
}

/* A component past the end of the image file reads guest memory's zeros: the UV's digest
 * check refuses it with its rc/rrc (it was "file shrank while being read"); past the
 * guest's memory, the UV cannot unpack it at all. */
static void test_boot_component_past_eof(void **state)
{
	struct fixture *f = *state;
	struct seimg_unpacked u;
	struct pvk_err e;

	loaders_env_set(f->loaders);
	VARIANT(f, m) {
		uint8_t *c = ipib_comp(f, &m, f->bu.ipib.num_comp - 1);

		put_be64(c + 8, 0x200000);  /* the last component moved to 2 MiB, beyond the file */
		write_path(f->work, m.b, m.len);
		assert_int_equal(boot_work(f, &u, &e), -1);
		if (e.code != PVK_E_UV || e.uv_rc != UV_RC_DIGEST)
			fail_msg("past the file: %s (rc 0x%04x rrc 0x%04x)", e.msg, e.uv_rc, e.uv_rrc);
		put_be64(c + 8, BOOT_MEM);  /* beyond the guest's memory */
		write_path(f->work, m.b, m.len);
		assert_int_equal(boot_work(f, &u, &e), -1);
		assert_int_equal(e.code, PVK_E_UV);
		assert_int_equal(e.uv_rc, UV_RC_HDR);
		assert_int_equal(e.uv_rrc, UV_RRC_COMPONENTS);
		assert_non_null(strstr(e.msg, "outside the guest's memory"));
	}
	/* An image that does not fit the guest's memory is not loaded at all. */
	write_path(f->work, f->base, f->base_len);
	memset(&e, 0, sizeof(e));
	assert_int_equal(pvk_seimg_boot(f->work, f->hosts[0], NULL, 0x10000, &u, &e), -1);
	assert_non_null(strstr(e.msg, "does not fit in the guest's"));
	loaders_env_restore();
}

static void test_tamper(void **state)
{
	struct fixture *f = *state;
	const struct seimg_ipib *ip = &f->bu.ipib;
	const char *env = getenv("PVKIT_TAMPER_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : TAMPER_SEED, s = seed;
	struct region r[2 + IPIB_MAX_COMPS];
	size_t nr = 0;
	struct seimg_unpacked u;
	struct pvk_err e;
	int fd, n = 0;

	/* Everything the UV reads: the header, each component, and the IPIB's fields from
	 * num_comp on (component count, header address and size, tweaks, addresses, lengths). */
	r[nr++] = (struct region){ "SE header", f->hdr, f->hdr + f->sehs, 90 };
	for (uint32_t i = 0; i < ip->num_comp; i++)
		r[nr++] = (struct region){ "component", ip->comps[i].addr,
					   ip->comps[i].addr + ip->comps[i].len, 28 };
	r[nr++] = (struct region){ "IPIB", f->ipib + IPIB_OFF_NUM_COMP,
				   f->ipib + pvk_ipib_size(ip->num_comp), 40 };
	print_message("tamper seed 0x%016" PRIx64 " (set PVKIT_TAMPER_SEED to change)\n", seed);

	write_path(f->work, f->base, f->base_len);
	fd = open(f->work, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < nr; i++) {
		/* The first and last byte always, then uniformly random offsets. */
		flip_at(f, fd, seed, &r[i], r[i].start, (uint8_t)(1 + prng_below(&s, 255)), &n);
		flip_at(f, fd, seed, &r[i], r[i].end - 1, (uint8_t)(1 + prng_below(&s, 255)), &n);
		for (uint64_t k = 0; k < r[i].flips; k++) {
			uint64_t off = r[i].start + prng_below(&s, r[i].end - r[i].start);

			flip_at(f, fd, seed, &r[i], off, (uint8_t)(1 + prng_below(&s, 255)), &n);
		}
	}
	close(fd);
	print_message("%d flips, all refused\n", n);
	assert_true(n >= 200);
	/* The restored file is the base image again and unpacks. */
	if (pvk_seimg_unpack(f->work, f->hosts[0], NULL, &u, &e))
		fail_msg("restored image: %s", e.msg);
}

/* ---- decrypted-memory output ------------------------------------------------------------ */

/* Names in dir other than . and .. (up to 8 are remembered in *names). */
static int dir_entries(const char *dir, char names[8][256])
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n < 8)
			snprintf(names[n], 256, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void expect_mem_refusal(struct fixture *f, struct img *m, EVP_PKEY *host, uint16_t rc,
			       uint16_t rrc, const char *what)
{
	struct seimg_unpacked u;
	struct pvk_err e;
	char names[8][256];
	struct stat st;
	int n;

	write_path(f->work, m->b, m->len);
	memset(&e, 0, sizeof(e));
	if (pvk_seimg_unpack(f->work, host, f->mem, &u, &e) == 0)
		fail_msg("%s: unpack accepted the image", what);
	if (e.code != PVK_E_UV || e.uv_rc != rc || e.uv_rrc != rrc)
		fail_msg("%s: expected rc 0x%04x rrc 0x%04x, got rc 0x%04x rrc 0x%04x: %s", what, rc,
			 rrc, e.uv_rc, e.uv_rrc, e.msg);
	if (stat(f->mem, &st) == 0)
		fail_msg("%s: %s exists after a refused unpack", what, f->mem);
	n = dir_entries(f->memdir, names);
	if (n)
		fail_msg("%s: %d file(s) left in %s, first %s", what, n, f->memdir, names[0]);
}

static void test_mem_out_refused(void **state)
{
	struct fixture *f = *state;
	struct seimg_unpacked u;
	struct pvk_err e;
	char names[8][256];
	size_t len;
	uint8_t *mem;

	assert_int_equal(dir_entries(f->memdir, names), 0);
	VARIANT(f, m) /* refused before anything is copied */
		expect_mem_refusal(f, &m, f->hosts[2], UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH,
				   "host not in header");
	VARIANT(f, m) { /* refused after the header, before the components */
		put_be64(ipib_comp(f, &m, 0) + 16, f->bu.ipib.comps[0].len + SEIMG_PAGE);
		expect_mem_refusal(f, &m, f->hosts[0], UV_RC_HDR, UV_RRC_COMPONENTS, "overlapping");
	}
	VARIANT(f, m) { /* refused at the very end: every page was decrypted into the output */
		const struct seimg_comp *c = &f->bu.ipib.comps[3];

		m.b[c->addr + c->len - 1] ^= 0x01;
		expect_mem_refusal(f, &m, f->hosts[0], UV_RC_DIGEST, UV_RRC_PLD, "last page");
	}
	/* A file already there is left as it was by a refused unpack. */
	write_path(f->mem, "keep", 4);
	VARIANT(f, m) {
		const struct seimg_comp *c = &f->bu.ipib.comps[0];

		m.b[c->addr] ^= 0x01;
		write_path(f->work, m.b, m.len);
		assert_int_equal(pvk_seimg_unpack(f->work, f->hosts[0], f->mem, &u, &e), -1);
		assert_int_equal(e.uv_rrc, UV_RRC_PLD);
	}
	mem = read_path(f->mem, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(mem, "keep", 4);
	free(mem);
	assert_int_equal(dir_entries(f->memdir, names), 1);
	/* Control: an accepted unpack does write it (decrypted: the kernel page is clear). */
	assert_int_equal(unlink(f->mem), 0);
	if (pvk_seimg_unpack(f->base_path, f->hosts[1], f->mem, &u, &e))
		fail_msg("%s", e.msg);
	mem = read_path(f->mem, &len);
	assert_int_equal(len, f->base_len);
	{
		uint8_t *k = read_path(f->kernel, &len);

		assert_int_equal(len, KERNEL_LEN);
		assert_memory_equal(mem + u.ipib.comps[0].addr, k, KERNEL_LEN);
		free(k);
	}
	free(mem);
	assert_int_equal(dir_entries(f->memdir, names), 1);
	assert_int_equal(unlink(f->mem), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_ald_mismatch),
		cmocka_unit_test(test_pld_mismatch),
		cmocka_unit_test(test_tld_mismatch),
		cmocka_unit_test(test_nep_mismatch),
		cmocka_unit_test(test_hdr_version),
		cmocka_unit_test(test_pcf_unsupported),
		cmocka_unit_test(test_hostkey_mismatch),
		cmocka_unit_test(test_other_host_image),
		cmocka_unit_test(test_cust_key_invalid),
		cmocka_unit_test(test_scf_unsupported),
		cmocka_unit_test(test_hdr_len_mismatch),
		cmocka_unit_test(test_sea_invalid),
		cmocka_unit_test(test_no_keyslot),
		cmocka_unit_test(test_hdr_tag),
		cmocka_unit_test(test_ipib_components),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_boot_tamper),
		cmocka_unit_test(test_boot_component_past_eof),
		cmocka_unit_test(test_mem_out_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
