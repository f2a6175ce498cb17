// SPDX-License-Identifier: MIT
/* ARCB, measurement, additional data and exchange format against IBM's vectors (spec §4, §9). */
#include <stdlib.h>
#include <string.h>

#include "pvkit/arcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/exchange.h"
#include "testutil.h"

#define HOST_CRT "rust/pv/tests/assets/keys/host.pem.crt"
#define EXCH_DIR "rust/pvattest/tests/assets/exp/exchange/"

static void arcb_vector_params(struct arcb_params *p, EVP_PKEY *cust, EVP_PKEY **host)
{
	memset(p, 0, sizeof(*p));
	p->cust = cust;
	p->hosts = host;
	p->n_hosts = 1;
	memset(p->iv, 0x55, 12);
	memset(p->arpk, 0x17, 32);
	memset(p->meas_key, 0x77, 64);
	memset(p->nonce, 0xab, 16);
	p->paf = ARCB_PAF_NONCE | ARCB_PAF_PHKH_IMG | ARCB_PAF_PHKH_ATT;
}

static void test_arcb_vector(void **state)
{
	size_t len, elen;
	uint8_t *exp = conf_read("rust/pv/tests/assets/exp/arcb.bin", &elen), *arcb;
	EVP_PKEY *cust = conf_cust_key(), *host = conf_cert_pubkey(HOST_CRT);
	struct arcb_content c;
	struct arcb_params p;
	struct pvk_err e;

	(void)state;
	arcb_vector_params(&p, cust, &host);
	assert_int_equal(pvk_arcb_build(&p, &arcb, &len, &e), 0);
	assert_int_equal(len, 400);
	assert_int_equal(elen, 400);
	assert_memory_equal(arcb, exp, 400);
	/* Opened with the ARPK it gives back what went in. */
	assert_int_equal(pvk_arcb_open(exp, elen, p.arpk, &c, &e), 0);
	assert_int_equal(c.paf, 0x7000000000000000ull);
	assert_int_equal(c.mai, ARCB_MAI_HMAC_SHA512);
	assert_memory_equal(c.meas_key, p.meas_key, 64);
	assert_true(c.has_nonce);
	assert_memory_equal(c.nonce, p.nonce, 16);
	/* A wrong ARPK, a flipped byte, a truncated buffer are refused. */
	p.arpk[0] ^= 1;
	assert_int_equal(pvk_arcb_open(exp, elen, p.arpk, &c, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	p.arpk[0] ^= 1;
	exp[0x35] ^= 1;
	assert_int_equal(pvk_arcb_open(exp, elen, p.arpk, &c, &e), -1);
	exp[0x35] ^= 1;
	assert_int_equal(pvk_arcb_open(exp, elen - 1, p.arpk, &c, &e), -1);
	free(arcb);
	free(exp);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
}

/* The UV's side: the host private key opens the slot and the encrypted area. */
static void test_arcb_host_roundtrip(void **state)
{
	EVP_PKEY *cust, *hosts[3];
	uint8_t *arcb, plain[80];
	struct arcb_params p;
	struct uvreq r;
	struct pvk_err e;
	uint64_t paf;
	uint32_t mai;
	size_t len;
	int slot;

	(void)state;
	assert_int_equal(pvk_ec_generate(&cust, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pvk_ec_generate(&hosts[i], &e), 0);
	memset(&p, 0, sizeof(p));
	p.cust = cust;
	p.hosts = hosts;
	p.n_hosts = 2;
	assert_int_equal(pvk_random(p.arpk, 32, &e), 0);
	assert_int_equal(pvk_random(p.meas_key, 64, &e), 0);
	p.paf = ARCB_PAF_NONCE | ARCB_PAF_SECRET_STORE_HASH;
	assert_int_equal(pvk_arcb_build(&p, &arcb, &len, &e), 0);
	assert_int_equal(len, 320 + 2 * 80);
	assert_int_equal(pvk_arcb_parse(arcb, len, &r, &paf, &mai, &e), 0);
	assert_int_equal(pvk_uvreq_decrypt_host(&r, hosts[1], plain, &slot, &e), 0);
	assert_int_equal(slot, 1);
	assert_memory_equal(plain, p.meas_key, 64);
	assert_int_equal(pvk_uvreq_decrypt_host(&r, hosts[2], plain, &slot, &e), -1);
	free(arcb);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(hosts[i]);
	EVP_PKEY_free(cust);
}

static void measure_vector(int user, int nonce, int add, const char *exp_hex)
{
	uint8_t key[64], pld[64], ald[64], tld[64], tag[16], cuid[16], u[256], n[16], a[128];
	uint8_t out[64], exp[64];
	struct attest_items it = { .pld = pld, .ald = ald, .tld = tld, .tag = tag, .cuid = cuid };
	struct pvk_err e;

	memset(key, 0x41, 64);
	memset(pld, 1, 64);
	memset(ald, 2, 64);
	memset(tld, 3, 64);
	memset(tag, 4, 16);
	memset(cuid, 5, 16);
	memset(u, 7, 256);
	memset(n, 8, 16);
	memset(a, 9, 128);
	if (user) {
		it.user = u;
		it.user_len = 256;
	}
	if (nonce)
		it.nonce = n;
	if (add) {
		it.add = a;
		it.add_len = 128;
	}
	assert_int_equal(pvk_attest_measure(key, &it, out, &e), 0);
	assert_int_equal(pvk_hex_decode(exp_hex, exp, 64), 0);
	assert_memory_equal(out, exp, 64);
}

/* rust/pv/src/uvattest/attest.rs */
static void test_measurement_vectors(void **state)
{
	(void)state;
	measure_vector(1, 1, 1, "88794c62cce7bcf26216deb3f48f13fea6374b6d7e35bcc5c2ce68121db6f45d"
				"fc8c171856463549408bf8e7d1aca11efad0a878af97dc9e21a1fc2a32f3a675");
	measure_vector(1, 0, 1, "fbd4f738a390edd947cd4f11af3a2f3bab2fdf8bf89bf81beb495117f4382cf4"
				"2f0730c8c7d9e3ca27fb25adfceb21224f57fdb398dcf41a83c146e6a23db760");
	measure_vector(0, 0, 1, "63671fbf295036eb1023ea71f7182e7d6343dc7b2da584e824d0a7d198ab9cde"
				"d756c93b39050ffb764555b01f88cb82017a6a15c7e0bafc6005f1e4f78aa124");
	measure_vector(0, 0, 0, "c5c34c93835d1ec23f5c2d778dfa20129b11b305601742cb2f38e0ed9894dcdb"
				"73fc8695ab6a8dbad0744073ddc81a5eaafa52e4a15af8deb8d761091922847f");
}

/* Rebuild each of IBM's exchange fixtures from its parts (ARCB 0x11*16, measurement 0x12*64,
 * additional 0x13*32, user 0x15*256, CUID 0x14*16) and compare byte for byte. */
static void exch_fixture(const char *name, int resp, int add, int user)
{
	uint8_t arcb[16], meas[64], a[32], u[256], cuid[16], *out, *exp;
	char rel[256];
	struct exch x, back;
	struct pvk_err e;
	size_t len, elen;

	memset(arcb, 0x11, 16);
	memset(meas, 0x12, 64);
	memset(a, 0x13, 32);
	memset(u, 0x15, 256);
	memset(cuid, 0x14, 16);
	memset(&x, 0, sizeof(x));
	x.it[EXCH_ARCB] = (struct exch_item){ 16, arcb };
	x.it[EXCH_MEAS] = (struct exch_item){ 64, resp ? meas : NULL };
	if (add)
		x.it[EXCH_ADD] = (struct exch_item){ 32, resp ? a : NULL };
	if (user && resp)
		x.it[EXCH_USER] = (struct exch_item){ 256, u };
	if (resp)
		x.it[EXCH_CUID] = (struct exch_item){ 16, cuid };
	snprintf(rel, sizeof(rel), EXCH_DIR "%s", name);
	exp = conf_read(rel, &elen);
	assert_int_equal(pvk_exch_write(&x, &out, &len, &e), 0);
	assert_int_equal(len, elen);
	assert_memory_equal(out, exp, len);
	assert_int_equal(pvk_exch_parse(exp, elen, &back, &e), 0);
	assert_int_equal(back.it[EXCH_ARCB].size, 16);
	assert_memory_equal(back.it[EXCH_ARCB].data, arcb, 16);
	assert_int_equal(pvk_exch_check_response(&back, &e), resp ? 0 : -1);
	if (resp && user)
		assert_memory_equal(back.it[EXCH_USER].data, u, 256);
	if (add)
		assert_int_equal(back.it[EXCH_ADD].size, 32);
	free(out);
	free(exp);
}

static void test_exchange_vectors(void **state)
{
	(void)state;
	exch_fixture("min_req.bin", 0, 0, 0);
	exch_fixture("add_req.bin", 0, 1, 0);
	exch_fixture("full_req.bin", 0, 1, 1);
	exch_fixture("min_resp.bin", 1, 0, 0);
	exch_fixture("add_resp.bin", 1, 1, 0);
	exch_fixture("user_resp.bin", 1, 0, 1);
	exch_fixture("full_resp.bin", 1, 1, 1);
	exch_fixture("full.bin", 1, 1, 1);
}

/* The older fixtures (user data in a request) still parse. */
static void test_exchange_old_fixtures(void **state)
{
	size_t len;
	uint8_t *b = conf_read(EXCH_DIR "user_req.bin", &len);
	struct exch x;
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_exch_parse(b, len, &x, &e), 0);
	assert_int_equal(x.it[EXCH_USER].size, 256);
	free(b);
	b = conf_read("rust/pv/tests/assets/exp/exchange.bin", &len);
	assert_int_equal(pvk_exch_parse(b, len, &x, &e), 0);
	free(b);
}

static void test_exchange_bad(void **state)
{
	uint8_t arcb[16] = { 0 }, *out;
	struct exch x = { 0 }, back;
	struct pvk_err e;
	size_t len;

	(void)state;
	x.it[EXCH_ARCB] = (struct exch_item){ 16, arcb };
	assert_int_equal(pvk_exch_write(&x, &out, &len, &e), 0);
	assert_int_equal(pvk_exch_parse(out, len - 1, &back, &e), -1);  /* truncated */
	out[0] ^= 1;
	assert_int_equal(pvk_exch_parse(out, len, &back, &e), -1);      /* magic */
	out[0] ^= 1;
	out[11] = 2;
	assert_int_equal(pvk_exch_parse(out, len, &back, &e), -1);      /* version */
	out[11] = 0;
	put_be32(out + 0x18, 0x200000);
	assert_int_equal(pvk_exch_parse(out, len, &back, &e), -1);      /* oversized entry */
	put_be32(out + 0x18, 64);
	assert_int_equal(pvk_exch_parse(out, len, &back, &e), -1);      /* outside the file */
	free(out);
	x.it[EXCH_USER] = (struct exch_item){ 257, arcb };
	assert_int_equal(pvk_exch_write(&x, &out, &len, &e), -1);
}

static void test_additional_data(void **state)
{
	uint8_t add[32 + 32 + 64 + 320 + 5], h[64], one = 1, zero = 0;
	struct attest_add_fields f;

	(void)state;
	assert_int_equal(pvk_attest_add_size(0), 0);
	assert_int_equal(pvk_attest_add_size(ARCB_PAF_ADD_DATA), 448);
	assert_int_equal(pvk_attest_add_size(ARCB_PAF_PHKH_IMG | ARCB_PAF_SECRET_STORE_HASH), 96);
	for (size_t i = 0; i < sizeof(add); i++)
		add[i] = (uint8_t)i;
	pvk_attest_split_add(ARCB_PAF_PHKH_ATT | ARCB_PAF_FIRMWARE_STATE, add, 352, &f);
	assert_ptr_equal(f.att_phkh, add);
	assert_ptr_equal(f.firmware_state, add + 32);
	assert_null(f.image_phkh);
	assert_null(f.unrecognized);
	pvk_attest_split_add(ARCB_PAF_ADD_DATA, add, sizeof(add), &f);
	assert_ptr_equal(f.secret_store_hash, add + 64);
	assert_int_equal(f.unrecognized_len, 5);
	/* secret_store.rs: an empty store hashes to SHA-512 of the lock byte. */
	pvk_attest_secret_store_hash(NULL, 0, 1, h);
	{
		uint8_t exp[64];

		pvk_sha512(&one, 1, exp);
		assert_memory_equal(h, exp, 64);
		pvk_attest_secret_store_hash(NULL, 0, 0, h);
		pvk_sha512(&zero, 1, exp);
		assert_memory_equal(h, exp, 64);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arcb_vector),          cmocka_unit_test(test_arcb_host_roundtrip),
		cmocka_unit_test(test_measurement_vectors),  cmocka_unit_test(test_exchange_vectors),
		cmocka_unit_test(test_exchange_old_fixtures), cmocka_unit_test(test_exchange_bad),
		cmocka_unit_test(test_additional_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
