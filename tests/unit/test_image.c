// SPDX-License-Identifier: MIT
/* The image builder and the UV's unpack, round trip: every host key unpacks, every flipped
 * byte is caught, deterministic builds are byte-identical. Loaders are stand-ins made here, so
 * this runs wherever the library does (also on s390x under qemu-user). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/uvrc.h"
#include "testutil.h"

struct fixture {
	char *dir;
	char kernel[512], ramdisk[512], parm[512], out[512], loaders[512];
	EVP_PKEY *hosts[96];
};

static void write_file(const char *path, const void *buf, size_t len)
{
	struct pvk_err e;

	if (pvk_file_write_all(path, buf, len, OUTFILE_OVERWRITE, &e))
		fail_msg("%s", e.msg);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct pvk_err e;
	uint8_t *buf;

	if (pvk_file_read_all(path, 1 << 28, &buf, len, &e))
		fail_msg("%s", e.msg);
	return buf;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t *k = malloc(0x23456), s3a[0x2000], s3b[0x1800], rd[70001];
	struct pvk_err e;

	f->dir = tmpdir_make();
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", f->dir);
	snprintf(f->ramdisk, sizeof(f->ramdisk), "%s/initrd", f->dir);
	snprintf(f->parm, sizeof(f->parm), "%s/parmfile", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/se.img", f->dir);
	snprintf(f->loaders, sizeof(f->loaders), "%s/loaders", f->dir);
	mkdir(f->loaders, 0700);
	assert_int_equal(pvk_random(k, 0x23456, &e), 0);
	memcpy(k, "\x00\x08\x00\x00\x80\x01\x00\x00", 8);        /* not ELF */
	memcpy(k + 0x10008, "S390EP", 6);
	put_be64(k + 0x10430, 4096);                             /* max command line */
	write_file(f->kernel, k, 0x23456);
	assert_int_equal(pvk_random(rd, sizeof(rd), &e), 0);
	write_file(f->ramdisk, rd, sizeof(rd));
	write_file(f->parm, "root=/dev/ram0 pvkit.marker=42\n", 31);
	memset(s3a, 0xa3, sizeof(s3a));
	memset(s3b, 0xb3, sizeof(s3b));
	snprintf((char *)rd, sizeof(rd), "%s/stage3a.bin", f->loaders);
	write_file((char *)rd, s3a, sizeof(s3a));
	snprintf((char *)rd, sizeof(rd), "%s/stage3b_reloc.bin", f->loaders);
	write_file((char *)rd, s3b, sizeof(s3b));
	free(k);
	for (int i = 0; i < 96; i++)
		assert_int_equal(pvk_ec_generate(&f->hosts[i], &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 96; i++)
		EVP_PKEY_free(f->hosts[i]);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct seimg_create_opts base_opts(struct fixture *f, size_t n_hosts)
{
	struct seimg_create_opts o = {
		.kernel = f->kernel, .ramdisk = f->ramdisk, .parmfile = f->parm, .output = f->out,
		.hosts = f->hosts, .n_hosts = n_hosts, .bootloader_dir = f->loaders,
		.overwrite = 1, .pcf = PCF_PCKMO_DEFAULT,
	};
	return o;
}

static void check_layout(struct fixture *f, size_t n_hosts, const struct seimg_unpacked *u)
{
	size_t len;
	uint8_t *img = read_file(f->out, &len);
	uint64_t hdr_end = 0x14000 + 560 + 80 * n_hosts;

	/* Short PSW to stage3a's entry, metadata block, header at 0x14000 (spec §1.3-§1.5). */
	assert_int_equal(get_be64(img), 0x0008000180011000ull);
	assert_memory_equal(img + 0xc000, "SeImgLnx", 8);
	assert_int_equal(get_be64(img + 0xc008), 0x14000);
	assert_int_equal(get_be32(img + 0xc010), 1);
	assert_memory_equal(img + 0x14000, "IBMSecEx", 8);
	assert_int_equal(u->ipib.num_comp, 4);
	assert_int_equal(u->ipib.comps[0].addr, round_up_page(hdr_end));
	assert_int_equal(u->ipib.comps[0].tweak_pref >> 48, 40);
	assert_int_equal(u->ipib.comps[1].tweak_pref >> 48, 50);
	assert_int_equal(u->ipib.comps[2].tweak_pref >> 48, 60);
	assert_int_equal(u->ipib.comps[3].tweak_pref >> 48, 70);
	assert_int_equal(u->sec.psw_addr, u->ipib.comps[3].addr);
	assert_int_equal(u->sec.psw_mask, PSW_MASK_DEFAULT);
	assert_int_equal(u->nep, 0x24 + 18 + 1 + 2);
	/* The file ends with the IPIB: 136 + 24 * 4 bytes after stage3b. */
	assert_int_equal(len, u->ipib.comps[3].addr + u->ipib.comps[3].len + 232);
	/* stage3a's argument area points at header and IPIB relative to itself. */
	assert_int_equal(get_be64(img + 0x12000 - 24) + 0x12000 - 24, 0x14000);
	assert_int_equal(get_be64(img + 0x12000 - 16), 560 + 80 * n_hosts);
	free(img);
}

static void build_and_unpack_all(struct fixture *f, size_t n_hosts)
{
	struct seimg_create_opts o = base_opts(f, n_hosts);
	struct seimg_unpacked u;
	struct pvk_err e;

	if (pvk_seimg_create(&o, &e))
		fail_msg("%s", e.msg);
	for (size_t i = 0; i < n_hosts; i++) {
		if (pvk_seimg_unpack(f->out, f->hosts[i], NULL, &u, &e))
			fail_msg("host %zu: %s", i, e.msg);
	}
	check_layout(f, n_hosts, &u);
	/* A host that is not in the header is refused with the UV's host-key code. */
	assert_int_equal(pvk_seimg_unpack(f->out, f->hosts[95], NULL, &u, &e), -1);
	assert_int_equal(e.code, PVK_E_UV);
	assert_int_equal(e.uv_rc, UV_RC_HOSTKEY);
	assert_int_equal(e.uv_rrc, UV_RRC_HOSTKEY_HASH);
}

static void test_one_host(void **state) { build_and_unpack_all(*state, 1); }
static void test_two_hosts(void **state) { build_and_unpack_all(*state, 2); }
static void test_95_hosts(void **state) { build_and_unpack_all(*state, 95); }

static void test_96_hosts_refused(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 96);
	struct pvk_err e;
	struct stat st;

	unlink(f->out);
	assert_int_equal(pvk_seimg_create(&o, &e), -1);
	assert_non_null(strstr(e.msg, "at most 95"));
	assert_int_equal(stat(f->out, &st), -1);
}

/* The decrypted memory the UV hands the guest holds the components in the clear. */
static void test_unpacked_memory(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 1);
	struct seimg_unpacked u;
	struct pvk_err e;
	char mem[600];
	size_t klen, mlen, rlen;
	uint8_t *k, *m, *r;

	snprintf(mem, sizeof(mem), "%s/mem", f->dir);
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	if (pvk_seimg_unpack(f->out, f->hosts[0], mem, &u, &e))
		fail_msg("%s", e.msg);
	k = read_file(f->kernel, &klen);
	r = read_file(f->ramdisk, &rlen);
	m = read_file(mem, &mlen);
	assert_memory_equal(m + u.ipib.comps[0].addr, k, klen);
	assert_memory_equal(m + u.ipib.comps[1].addr, r, rlen);
	assert_memory_equal(m + u.ipib.comps[2].addr, "root=/dev/ram0 pvkit.marker=42\n", 32);
	assert_int_equal(get_be64(m), 0x0008000180000000ull | u.ipib.comps[3].addr);
	/* stage3b's arguments: kernel, cmdline (with NUL), initrd, PSW to 0x10000. */
	{
		const uint8_t *a = m + u.ipib.comps[3].addr + 0x1800 - 64;

		assert_int_equal(get_be64(a), u.ipib.comps[0].addr);
		assert_int_equal(get_be64(a + 8), klen);
		assert_int_equal(get_be64(a + 0x10), u.ipib.comps[2].addr);
		assert_int_equal(get_be64(a + 0x18), 32);
		assert_int_equal(get_be64(a + 0x20), u.ipib.comps[1].addr);
		assert_int_equal(get_be64(a + 0x28), rlen);
		assert_int_equal(get_be64(a + 0x30), 0x180000000ull);
		assert_int_equal(get_be64(a + 0x38), 0x10000);
	}
	free(k);
	free(r);
	free(m);
}

/* Every byte of the header and of each component matters to the UV (sampled positions,
 * always including the first and last byte of each region). */
static void test_tamper(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 2);
	struct seimg_unpacked u;
	struct pvk_err e;
	char bad[600];
	size_t len;
	uint8_t *img;
	uint64_t pos[64];
	int n = 0, refused = 0;

	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	assert_int_equal(pvk_seimg_unpack(f->out, f->hosts[0], NULL, &u, &e), 0);
	img = read_file(f->out, &len);
	pos[n++] = 0x14000;
	pos[n++] = 0x14000 + 0x0c;                 /* sehs */
	pos[n++] = 0x14000 + 0x30 + 7;             /* nep */
	pos[n++] = 0x14000 + 0x38 + 7;             /* pcf */
	pos[n++] = 0x14000 + 0x50;                 /* customer key */
	pos[n++] = 0x14000 + 0xe0;                 /* pld */
	pos[n++] = 0x14000 + 0x120;                /* ald */
	pos[n++] = 0x14000 + 0x160 + 63;           /* tld */
	pos[n++] = 0x14000 + 0x1a0 + 40;           /* key slot 0 wrapped key */
	pos[n++] = 0x14000 + 0x1a0 + 80 + 5;       /* key slot 1 hash */
	pos[n++] = 0x14000 + 0x1a0 + 160 + 100;    /* encrypted area */
	pos[n++] = 0x14000 + 560 + 160 - 1;        /* tag */
	for (uint32_t c = 0; c < u.ipib.num_comp; c++) {
		pos[n++] = u.ipib.comps[c].addr;
		pos[n++] = u.ipib.comps[c].addr + u.ipib.comps[c].len / 2 + 7;
		pos[n++] = u.ipib.comps[c].addr + u.ipib.comps[c].len - 1;
	}
	snprintf(bad, sizeof(bad), "%s/bad.img", f->dir);
	for (int i = 0; i < n; i++) {
		img[pos[i]] ^= 0x01;
		write_file(bad, img, len);
		img[pos[i]] ^= 0x01;
		if (pvk_seimg_unpack(bad, f->hosts[0], NULL, &u, &e) == 0)
			fail_msg("flip at 0x%llx not detected", (unsigned long long)pos[i]);
		refused++;
	}
	assert_int_equal(refused, n);
	free(img);
}

static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 2);
	uint8_t hdr_key[32], image_key[64], cck[32], iv[12], tweak[6];
	char out2[600];
	size_t l1, l2;
	uint8_t *a, *b;
	struct pvk_err e;
	EVP_PKEY *cust;

	memset(hdr_key, 1, 32);
	memset(image_key, 2, 32);
	memset(image_key + 32, 3, 32);
	memset(cck, 4, 32);
	memset(iv, 5, 12);
	memset(tweak, 6, 6);
	assert_int_equal(pvk_ec_generate(&cust, &e), 0);
	o.hdr_key = hdr_key;
	o.image_key = image_key;
	o.cck = cck;
	o.hdr_iv = iv;
	o.tweak_bytes = tweak;
	o.cust_key = cust;
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	snprintf(out2, sizeof(out2), "%s/se2.img", f->dir);
	o.output = out2;
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	a = read_file(f->out, &l1);
	b = read_file(out2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(a, b, l1);
	free(b);
	/* Without the fixed inputs two builds differ. */
	o = base_opts(f, 2);
	o.output = out2;
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	b = read_file(out2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_not_equal(a, b, l1);
	free(a);
	free(b);
	EVP_PKEY_free(cust);
}

static void test_no_encryption(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 1);
	struct seimg_unpacked u;
	struct pvk_err e;
	size_t klen, len;
	uint8_t *k, *img;

	o.pcf |= PCF_NO_COMP_ENCRYPTION;
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
	assert_int_equal(pvk_seimg_unpack(f->out, f->hosts[0], NULL, &u, &e), 0);
	assert_true(u.pcf & PCF_NO_COMP_ENCRYPTION);
	k = read_file(f->kernel, &klen);
	img = read_file(f->out, &len);
	assert_memory_equal(img + u.ipib.comps[0].addr, k, klen);
	free(k);
	free(img);
}

/* Bad input: one clear error naming the file, and no output file left behind. */
static void expect_refusal(struct fixture *f, struct seimg_create_opts *o, const char *needle)
{
	struct pvk_err e;
	struct stat st;
	char cmd[700];

	unlink(f->out);
	assert_int_equal(pvk_seimg_create(o, &e), -1);
	if (!strstr(e.msg, needle))
		fail_msg("expected '%s' in: %s", needle, e.msg);
	assert_int_equal(stat(f->out, &st), -1);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q 'se.img.'", f->dir);
	assert_int_not_equal(system(cmd), 0); /* no temp file either */
}

static void test_bad_inputs(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o;
	char path[600];
	uint8_t buf[0x11000];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x7f" "ELF", 4);
	snprintf(path, sizeof(path), "%s/elf", f->dir);
	write_file(path, buf, sizeof(buf));
	o = base_opts(f, 1);
	o.kernel = path;
	expect_refusal(f, &o, "ELF");

	memset(buf, 0, 8);
	write_file(path, buf, sizeof(buf));
	expect_refusal(f, &o, "S390EP");

	snprintf(path, sizeof(path), "%s/empty", f->dir);
	write_file(path, "", 0);
	o = base_opts(f, 1);
	o.ramdisk = path;
	expect_refusal(f, &o, "empty");

	o = base_opts(f, 1);
	o.parmfile = "/nonexistent/parmfile";
	expect_refusal(f, &o, "/nonexistent/parmfile");

	/* The fake kernel allows 4096 bytes of command line: 4096 chars + NUL is one too many. */
	memset(buf, 'a', 4096);
	snprintf(path, sizeof(path), "%s/longparm", f->dir);
	write_file(path, buf, 4096);
	o = base_opts(f, 1);
	o.parmfile = path;
	expect_refusal(f, &o, "too long");
	o.no_component_check = 1;
	assert_int_equal(pvk_seimg_create(&o, &(struct pvk_err){ 0 }), 0);

	o = base_opts(f, 1);
	o.bootloader_dir = "/nonexistent";
	expect_refusal(f, &o, "stage3a.bin");
}

static void test_output_dir_missing(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 1);
	struct pvk_err e;

	o.output = "/nonexistent-dir/se.img";
	assert_int_equal(pvk_seimg_create(&o, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/se.img"));
}

static void test_overwrite(void **state)
{
	struct fixture *f = *state;
	struct seimg_create_opts o = base_opts(f, 1);
	struct pvk_err e;

	write_file(f->out, "keep", 4);
	o.overwrite = 0;
	assert_int_equal(pvk_seimg_create(&o, &e), -1);
	assert_non_null(strstr(e.msg, "exists"));
	o.overwrite = 1;
	assert_int_equal(pvk_seimg_create(&o, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_host),        cmocka_unit_test(test_two_hosts),
		cmocka_unit_test(test_95_hosts),        cmocka_unit_test(test_96_hosts_refused),
		cmocka_unit_test(test_unpacked_memory), cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_deterministic),   cmocka_unit_test(test_no_encryption),
		cmocka_unit_test(test_bad_inputs),      cmocka_unit_test(test_output_dir_missing),
		cmocka_unit_test(test_overwrite),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
