// SPDX-License-Identifier: MIT
/* Crypto primitives and the key slot, against IBM's vectors (spec §2.2, §2.3, §9). */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/keyslot.h"
#include "testutil.h"

#define HOST_CRT "rust/pv/tests/assets/keys/host.pem.crt"

static void test_public_cust_coords(void **state)
{
	size_t len;
	uint8_t *exp = conf_read("rust/pv/tests/assets/keys/public_cust.bin", &len);
	EVP_PKEY *cust = conf_cust_key();
	uint8_t coords[PVK_EC_PUB_LEN];
	struct pvk_err e;

	(void)state;
	assert_int_equal(len, sizeof(coords));
	assert_int_equal(pvk_ec_coords(cust, coords, &e), 0);
	assert_memory_equal(coords, exp, sizeof(coords));
	EVP_PKEY_free(cust);
	free(exp);
}

static void test_ecdh_derived_key(void **state)
{
	EVP_PKEY *cust = conf_cust_key(), *host = conf_cert_pubkey(HOST_CRT);
	uint8_t key[32], exp[32];
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_hex_decode("753277558f3b6003419ef249ae3c4b55aad77d09d97fdd1fc88fd8f0cf22f149",
				    exp, 32), 0);
	assert_int_equal(pvk_ecdh_slot_key(cust, host, key, &e), 0);
	assert_memory_equal(key, exp, 32);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
}

/* The peer's point is checked (issue 12 drops OpenSSL's costlier order check, needless on a
 * cofactor-1 curve): the point at infinity, which EVP_PKEY_fromdata accepts, is refused. */
static void test_ecdh_bad_peer(void **state)
{
	static const uint8_t infinity[1] = { 0 };
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *priv = NULL, *peer = NULL;
	uint8_t key[32];
	struct pvk_err e;

	(void)state;
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-521", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, infinity, 1), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params), 1);
	assert_int_equal(pvk_ec_generate(&priv, &e), 0);
	assert_int_equal(pvk_ecdh_slot_key(priv, peer, key, &e), -1);
	assert_non_null(strstr(e.msg, "ECDH"));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(peer);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
}

static void test_keyslot_vector(void **state)
{
	size_t len;
	uint8_t *exp = conf_read("rust/pv/tests/assets/exp/keyslot.bin", &len);
	EVP_PKEY *cust = conf_cust_key(), *host = conf_cert_pubkey(HOST_CRT);
	uint8_t prot[32], slot[PVK_KEYSLOT_LEN];
	struct pvk_err e;

	(void)state;
	memset(prot, 0x17, sizeof(prot));
	assert_int_equal(len, PVK_KEYSLOT_LEN);
	assert_int_equal(pvk_keyslot_build(cust, host, prot, slot, &e), 0);
	assert_memory_equal(slot, exp, PVK_KEYSLOT_LEN);
	assert_int_equal(pvk_keyslot_find(exp, 1, exp), 0);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
	free(exp);
}

/* The UV side: a slot built for a host unwraps with that host's private key only. */
static void test_keyslot_roundtrip(void **state)
{
	EVP_PKEY *cust, *host, *other;
	uint8_t prot[32], out[32], slot[PVK_KEYSLOT_LEN];
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_ec_generate(&cust, &e), 0);
	assert_int_equal(pvk_ec_generate(&host, &e), 0);
	assert_int_equal(pvk_ec_generate(&other, &e), 0);
	assert_int_equal(pvk_random(prot, sizeof(prot), &e), 0);
	assert_int_equal(pvk_keyslot_build(cust, host, prot, slot, &e), 0);
	assert_int_equal(pvk_keyslot_unwrap(host, cust, slot, out, &e), 0);
	assert_memory_equal(out, prot, 32);
	assert_int_equal(pvk_keyslot_unwrap(other, cust, slot, out, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	slot[40] ^= 1;
	assert_int_equal(pvk_keyslot_unwrap(host, cust, slot, out, &e), -1);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
	EVP_PKEY_free(other);
}

static void test_gcm_tamper(void **state)
{
	uint8_t key[32] = { 1 }, iv[12] = { 2 }, aad[5] = "head", pt[40], ct[40], out[40], tag[16];
	struct pvk_err e;

	(void)state;
	memset(pt, 0xa5, sizeof(pt));
	assert_int_equal(pvk_gcm_encrypt(key, iv, aad, sizeof(aad), pt, sizeof(pt), ct, tag, &e), 0);
	assert_int_equal(pvk_gcm_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), out, tag, &e), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	aad[0] ^= 0x80;
	assert_int_equal(pvk_gcm_decrypt(key, iv, aad, sizeof(aad), ct, sizeof(ct), out, tag, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
}

static void test_scalar_range(void **state)
{
	uint8_t zero[80] = { 0 }, big[80];
	EVP_PKEY *k;
	struct pvk_err e;

	(void)state;
	memset(big, 0xff, sizeof(big));
	assert_int_equal(pvk_ec_from_scalar(zero, sizeof(zero), &k, &e), -1);
	assert_int_equal(pvk_ec_from_scalar(big, sizeof(big), &k, &e), -1);
}

static void test_hex(void **state)
{
	uint8_t b[3];
	char s[7];

	(void)state;
	assert_int_equal(pvk_hex_decode("0xA1b2C3", b, 3), 0);
	pvk_hex_encode(b, 3, s);
	assert_string_equal(s, "a1b2c3");
	assert_int_equal(pvk_hex_decode("a1b2c", b, 3), -1);
	assert_int_equal(pvk_hex_decode("a1b2cg", b, 3), -1);
	assert_int_equal(get_be32((const uint8_t *)"\x01\x02\x03\x04"), 0x01020304);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public_cust_coords), cmocka_unit_test(test_ecdh_derived_key),
		cmocka_unit_test(test_ecdh_bad_peer),      cmocka_unit_test(test_keyslot_vector),     cmocka_unit_test(test_keyslot_roundtrip),
		cmocka_unit_test(test_gcm_tamper),         cmocka_unit_test(test_scalar_range),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
