// SPDX-License-Identifier: MIT
/* SE header, component digests, IPIB and metadata against IBM's vectors (spec §1.5, §2, §9). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/comp.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"
#include "testutil.h"

#define HOST_CRT "rust/pv/tests/assets/keys/host.pem.crt"
#define SECURE_GUEST_HDR "rust/pv/tests/assets/exp/secure_guest.hdr"

/* SHA-256 of the 640-byte header that s390-tools' builder unit test expects
 * (rust/pvimg/src/pv_utils/se_hdr/builder.rs, spec §9.2). */
#define BUILDER_V1_SHA256 "9aea8b257d5a647a4dba1ba49c27c5a37b3770f02c4a8346202e5626df9b8fb5"

static void builder_params(struct sehdr_params *p, EVP_PKEY *cust, EVP_PKEY **host)
{
	memset(p, 0, sizeof(*p));
	p->cust = cust;
	p->hosts = host;
	p->n_hosts = 1;
	memset(p->iv, 0x33, 12);
	memset(p->hdr_key, 0x32, 32);
	memset(p->sec.cck, 0x31, 32);
	memset(p->sec.xts_key, 0x03, 64);
	p->sec.psw_mask = 5678;
	p->sec.psw_addr = 1234;
	memset(p->pld, 0x02, 64);
	memset(p->ald, 0x01, 64);
	memset(p->tld, 0x03, 64);
	p->nep = 1;
}

static void test_builder_vector(void **state)
{
	EVP_PKEY *cust = conf_cust_key(), *host = conf_cert_pubkey(HOST_CRT);
	struct sehdr_params p;
	struct sehdr_secrets sec;
	struct sehdr h;
	struct pvk_err e;
	uint8_t *hdr, digest[32], exp[32];
	size_t len;

	(void)state;
	builder_params(&p, cust, &host);
	assert_int_equal(pvk_sehdr_build(&p, &hdr, &len, &e), 0);
	assert_int_equal(len, 640);
	pvk_sha256(hdr, len, digest);
	assert_int_equal(pvk_hex_decode(BUILDER_V1_SHA256, exp, 32), 0);
	assert_memory_equal(digest, exp, 32);

	/* And it reads back: parse, decrypt with the header key, secrets as built. */
	assert_int_equal(pvk_sehdr_parse(hdr, len, &h, &e), 0);
	assert_int_equal(h.nks, 1);
	assert_int_equal(h.sea, 128);
	assert_int_equal(pvk_sehdr_decrypt(&h, p.hdr_key, &sec, &e), 0);
	assert_memory_equal(sec.cck, p.sec.cck, 32);
	assert_int_equal(sec.psw_addr, 1234);
	assert_int_equal(sec.psw_mask, 5678);
	free(hdr);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
}

static void test_secure_guest_hdr_tags(void **state)
{
	size_t len;
	uint8_t *raw = conf_read(SECURE_GUEST_HDR, &len), tag[16];
	char hex[129];
	struct sehdr h;
	struct pvk_err e;

	(void)state;
	assert_int_equal(len, 640);
	assert_int_equal(pvk_sehdr_parse(raw, len, &h, &e), 0);
	assert_int_equal(h.version, SEHDR_VERSION_V1);
	assert_int_equal(h.nks, 1);
	assert_int_equal(h.nep, 64549);
	assert_int_equal(h.pcf, 0);
	pvk_hex_encode(h.pld, 4, hex);
	assert_string_equal(hex, "be94b5ea");
	pvk_hex_encode(h.ald, 4, hex);
	assert_string_equal(hex, "2858c336");
	pvk_hex_encode(h.tld, 4, hex);
	assert_string_equal(hex, "4860ebcf");
	assert_int_equal(pvk_hex_decode("92309d4589b9a85b427f8753171d1520", tag, 16), 0);
	assert_memory_equal(h.tag, tag, 16);
	free(raw);
}

/* The locator finds the header at 0, at a page inside an old-layout image (IBM's search test
 * puts it at 0x12000), and through the metadata block. */
static void test_locate(void **state)
{
	size_t len, got_len;
	uint8_t *raw = conf_read(SECURE_GUEST_HDR, &len), *got;
	char *dir = tmpdir_make(), path[512];
	uint8_t *img = calloc(1, 0x20000), meta[SEIMG_META_LEN];
	struct pvk_err e;
	uint64_t off;

	(void)state;
	assert_int_equal(pvk_sehdr_read_file(conf_path(SECURE_GUEST_HDR), &got, &got_len, &off, &e), 0);
	assert_int_equal(off, 0);
	assert_int_equal(got_len, 640);
	free(got);

	memcpy(img + 0x12000, raw, len);
	snprintf(path, sizeof(path), "%s/old.img", dir);
	assert_int_equal(pvk_file_write_all(path, img, 0x13000, 0, &e), 0);
	assert_int_equal(pvk_sehdr_read_file(path, &got, &got_len, &off, &e), 0);
	assert_int_equal(off, 0x12000);
	assert_memory_equal(got, raw, len);
	free(got);

	memset(img + 0x12000, 0, len);
	memcpy(img + 0x1a000, raw, len);
	memcpy(meta, SEIMG_META_MAGIC, 8);
	put_be64(meta + 8, 0x1a000);
	put_be32(meta + 16, 1);
	put_be64(meta + 20, 0x1b000);
	memcpy(img + SEIMG_META_ADDR, meta, sizeof(meta));
	snprintf(path, sizeof(path), "%s/new.img", dir);
	assert_int_equal(pvk_file_write_all(path, img, 0x1c000, 0, &e), 0);
	assert_int_equal(pvk_sehdr_read_file(path, &got, &got_len, &off, &e), 0);
	assert_int_equal(off, 0x1a000);
	free(got);

	/* Not found: a file without any header. */
	memset(img, 0, 0x20000);
	snprintf(path, sizeof(path), "%s/none.img", dir);
	assert_int_equal(pvk_file_write_all(path, img, 0x20000, 0, &e), 0);
	assert_int_equal(pvk_sehdr_read_file(path, &got, &got_len, &off, &e), -1);
	assert_non_null(strstr(e.msg, "no SE header"));
	rm_rf(dir);
	free(dir);
	free(img);
	free(raw);
}

/* rust/pvimg/src/pv_utils/secured_comp.rs: two components, XTS key 0x42*32||0x43*32. */
static void test_component_digests(void **state)
{
	static const char *ald_hex = "c391de5727a08212ea2fea9c37f9cf090be51f93c6d521b8906332ce720c5f38"
				     "ada0e73e69663e5211d015fef41dc62606f5135e619904d4f450ab889f49caad";
	static const char *pld_hex = "a24ff30a8af1295888dedfe9369eb509290309a90159ebc32ca26a53f9d4364a"
				     "781857e2590587536c3e767355c7b7603f2b0c6a407f16330d82128d0964fad2";
	static const char *tld_hex = "424fe3cf04a6f64a7aef185c3b4ef607c0e4f54bb7e14620b574a3d31eef31c7"
				     "d462eb040d45ee6918e6b80968ba4454f9e2edc26f6929ed624d0055f2355659";
	uint8_t key[64], tweak[16] = { 0 }, pld[64], ald[64], tld[64], exp[64];
	uint8_t *c1 = malloc(0x3400), *c2 = malloc(0x3000);
	struct comp_io io = { .in_fd = -1, .out_fd = -1 };
	struct comp_pipe *p;
	struct pvk_err e;
	uint64_t nep;

	(void)state;
	memset(key, 0x42, 32);
	memset(key + 32, 0x43, 32);
	tweak[7] = 0x42;
	memset(c1, 1, 0x3400);
	memset(c2, 2, 0x3000);
	assert_int_equal(pvk_comp_pipe_new(&p, COMP_ENCRYPT, key, &e), 0);
	io.in_buf = c1;
	io.in_len = 0x3400;
	assert_int_equal(pvk_comp_pipe_run(p, &io, 0x10000, tweak, &e), 0);
	io.in_buf = c2;
	io.in_len = 0x3000;
	assert_int_equal(pvk_comp_pipe_run(p, &io, 0x20000, tweak, &e), 0);
	assert_int_equal(pvk_comp_pipe_finish(p, pld, ald, tld, &nep, &e), 0);
	pvk_comp_pipe_free(p);
	assert_int_equal(nep, 7);
	assert_int_equal(pvk_hex_decode(ald_hex, exp, 64), 0);
	assert_memory_equal(ald, exp, 64);
	assert_int_equal(pvk_hex_decode(pld_hex, exp, 64), 0);
	assert_memory_equal(pld, exp, 64);
	assert_int_equal(pvk_hex_decode(tld_hex, exp, 64), 0);
	assert_memory_equal(tld, exp, 64);
	free(c1);
	free(c2);
}

/* Many slots' worth of pages: the threaded pipe gives the digests of a plain sequential
 * computation, and decrypting the output restores the input. */
static void test_component_pipe_large(void **state)
{
	const size_t len = 5 * 1024 * 1024 + 123;
	uint8_t key[64], tweak[16] = { 0, 40, 1, 2, 3, 4, 5, 6 }, d1[3][64], d2[3][64];
	uint8_t *in = malloc(len), *ct = calloc(1, pvk_comp_pages(len) * 4096);
	uint8_t *back = calloc(1, pvk_comp_pages(len) * 4096);
	char *dir = tmpdir_make(), path[512];
	struct comp_io io = { .in_fd = -1, .out_fd = -1 };
	struct comp_pipe *p;
	struct pvk_err e;
	uint64_t nep1, nep2;
	int fd;

	(void)state;
	assert_int_equal(pvk_random(key, 64, &e), 0);
	assert_int_equal(pvk_random(in, len, &e), 0);
	snprintf(path, sizeof(path), "%s/ct", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pvk_comp_pipe_new(&p, COMP_ENCRYPT, key, &e), 0);
	io.in_buf = in;
	io.in_len = len;
	io.out_fd = fd;
	io.out_name = path;
	assert_int_equal(pvk_comp_pipe_run(p, &io, 0x100000, tweak, &e), 0);
	assert_int_equal(pvk_comp_pipe_finish(p, d1[0], d1[1], d1[2], &nep1, &e), 0);
	pvk_comp_pipe_free(p);
	assert_int_equal(nep1, pvk_comp_pages(len));
	assert_int_equal(pread(fd, ct, nep1 * 4096, 0), (ssize_t)(nep1 * 4096));
	/* PLD is SHA-512 over the ciphertext pages. */
	pvk_sha512(ct, nep1 * 4096, d2[0]);
	assert_memory_equal(d1[0], d2[0], 64);

	assert_int_equal(pvk_comp_pipe_new(&p, COMP_DECRYPT, key, &e), 0);
	io.in_buf = ct;
	io.in_len = nep1 * 4096;
	io.out_fd = -1;
	assert_int_equal(pvk_comp_pipe_run(p, &io, 0x100000, tweak, &e), 0);
	assert_int_equal(pvk_comp_pipe_finish(p, d2[0], d2[1], d2[2], &nep2, &e), 0);
	pvk_comp_pipe_free(p);
	assert_int_equal(nep2, nep1);
	assert_memory_equal(d1, d2, sizeof(d1));
	close(fd);
	rm_rf(dir);
	free(dir);
	free(in);
	free(ct);
	free(back);
}

static void test_tweak_and_pages(void **state)
{
	uint8_t init[16] = { 0, 0x46, 1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0 };
	uint8_t t[16];

	(void)state;
	assert_int_equal(pvk_comp_pages(0), 1);
	assert_int_equal(pvk_comp_pages(1), 1);
	assert_int_equal(pvk_comp_pages(4096), 1);
	assert_int_equal(pvk_comp_pages(4097), 2);
	pvk_comp_page_tweak(init, 0, t);
	assert_memory_equal(t, init, 16);
	pvk_comp_page_tweak(init, 1, t);   /* carries into the high half */
	assert_int_equal(get_be64(t), 0x0046010203040507ull);
	assert_int_equal(get_be64(t + 8), 0);
	pvk_comp_page_tweak(init, 2, t);
	assert_int_equal(get_be64(t + 8), 0x1000);
}

static void test_ipib_roundtrip(void **state)
{
	struct seimg_ipib ip = { .hdr_addr = 0x14000, .hdr_size = 640, .num_comp = 4 }, back;
	uint8_t buf[IPIB_HDR_LEN + 4 * IPIB_COMP_LEN];
	struct pvk_err e;

	(void)state;
	for (int i = 0; i < 4; i++) {
		ip.comps[i].tweak_pref = (uint64_t)(40 + 10 * i) << 48;
		ip.comps[i].addr = 0x15000 + (uint64_t)i * 0x1000;
		ip.comps[i].len = 0x1000;
	}
	assert_int_equal(pvk_ipib_size(4), 232);
	pvk_ipib_encode(&ip, buf);
	assert_int_equal(get_be32(buf), 232);
	assert_int_equal(get_be32(buf + 8), 224);
	assert_int_equal(buf[0x0c], 5);
	assert_int_equal(buf[0x07], 1);
	assert_int_equal(buf[0x6f], 1);
	assert_int_equal(pvk_ipib_decode(buf, sizeof(buf), &back, &e), 0);
	assert_memory_equal(&back, &ip, sizeof(ip));
	assert_int_equal(pvk_ipib_decode(buf, 100, &back, &e), -1);
}

static void test_sehdr_limits(void **state)
{
	EVP_PKEY *cust, **hosts = calloc(96, sizeof(*hosts));
	struct sehdr_params p;
	struct sehdr h;
	struct pvk_err e;
	uint8_t *hdr;
	size_t len;

	(void)state;
	assert_int_equal(pvk_sehdr_size(1), 640);
	assert_int_equal(pvk_sehdr_size(95), 8160);
	assert_int_equal(pvk_ec_generate(&cust, &e), 0);
	assert_int_equal(pvk_ec_generate(&hosts[0], &e), 0);
	for (int i = 1; i < 96; i++) {
		hosts[i] = hosts[0];
		EVP_PKEY_up_ref(hosts[0]);
	}
	builder_params(&p, cust, hosts);
	p.n_hosts = 96;
	assert_int_equal(pvk_sehdr_build(&p, &hdr, &len, &e), -1);
	assert_non_null(strstr(e.msg, "at most 95"));
	p.n_hosts = 95;
	assert_int_equal(pvk_sehdr_build(&p, &hdr, &len, &e), 0);
	assert_int_equal(len, 8160);
	assert_int_equal(pvk_sehdr_parse(hdr, len, &h, &e), 0);
	/* Truncated and wrong-version headers are refused by the parser. */
	assert_int_equal(pvk_sehdr_parse(hdr, len - 1, &h, &e), -1);
	hdr[SEHDR_OFF_VERSION + 2] = 2;
	assert_int_equal(pvk_sehdr_parse(hdr, len, &h, &e), -1);
	assert_non_null(strstr(e.msg, "version"));
	free(hdr);
	for (int i = 0; i < 96; i++)
		EVP_PKEY_free(hosts[i]);
	free(hosts);
	EVP_PKEY_free(cust);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builder_vector),      cmocka_unit_test(test_secure_guest_hdr_tags),
		cmocka_unit_test(test_locate),              cmocka_unit_test(test_component_digests),
		cmocka_unit_test(test_component_pipe_large), cmocka_unit_test(test_tweak_and_pages),
		cmocka_unit_test(test_ipib_roundtrip),      cmocka_unit_test(test_sehdr_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
