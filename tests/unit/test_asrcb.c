// SPDX-License-Identifier: MIT
/* Add-secret requests against IBM's nine ASRCB vectors (spec §5, §9.2). */
#include <stdlib.h>
#include <string.h>

#include "pvkit/arcb.h"
#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "testutil.h"

#define HOST_CRT "rust/pv/tests/assets/keys/host.pem.crt"
#define ASRCB_DIR "rust/pv/tests/assets/exp/asrcb/"

enum ext { EXT_NONE, EXT_SIMPLE, EXT_DERIVED };

static void vector(const char *name, int assoc, enum ext ext, int dump, int cuid, int nhosts)
{
	EVP_PKEY *cust = conf_cust_key(), *host = conf_cert_pubkey(HOST_CRT), *hosts[7];
	uint8_t secret[32], cck[32] = { 0 }, *out, *exp;
	struct asrcb_params p;
	struct asrcb_view v;
	struct pvk_err e;
	size_t len, elen;
	char rel[256];

	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 7; i++)
		hosts[i] = host;
	p.cust = cust;
	p.hosts = hosts;
	p.n_hosts = (size_t)nhosts;
	memset(p.iv, 0x55, 12);
	memset(p.prot_key, 0x17, 32);
	memset(p.pld, 1, 64);
	memset(p.ald, 2, 64);
	memset(p.tld, 3, 64);
	memset(p.tag, 4, 16);
	if (cuid)
		memset(p.cuid, 0x42, 16);
	if (dump)
		p.flags = ASRCB_FLAG_DISABLE_DUMP;
	if (assoc) {
		memset(secret, 0x11, 32);
		p.secret_type = SECRET_ASSOCIATION;
		pvk_sha256("add_secret_request", 18, p.secret_id);
		p.value = secret;
		p.value_len = 32;
	} else {
		p.secret_type = SECRET_NULL;
	}
	if (ext == EXT_SIMPLE)
		memset(p.ext_secret, 0x17, 32);
	else if (ext == EXT_DERIVED)
		assert_int_equal(pvk_asrcb_derive_ext_secret(cck, p.tag, p.ext_secret, &e), 0);
	assert_int_equal(pvk_asrcb_build(&p, &out, &len, &e), 0);
	snprintf(rel, sizeof(rel), ASRCB_DIR "%s", name);
	exp = conf_read(rel, &elen);
	assert_int_equal(len, elen);
	assert_memory_equal(out, exp, len);
	/* And it parses back to what was put in. */
	assert_int_equal(pvk_asrcb_parse(exp, elen, &v, &e), 0);
	assert_int_equal(v.secret_type, p.secret_type);
	assert_int_equal(v.r.nks, nhosts);
	assert_int_equal(v.flags, p.flags);
	assert_memory_equal(v.cuid, p.cuid, 16);
	if (assoc)
		assert_memory_equal(v.secret_id, p.secret_id, 32);
	else
		assert_null(v.secret_id);
	free(out);
	free(exp);
	EVP_PKEY_free(cust);
	EVP_PKEY_free(host);
}

static void test_null_none(void **s) { (void)s; vector("null_none_default_cuid_one", 0, EXT_NONE, 0, 1, 1); }
static void test_assoc_none(void **s) { (void)s; vector("assoc_none_default_cuid_one", 1, EXT_NONE, 0, 1, 1); }
static void test_null_simple(void **s) { (void)s; vector("null_simple_default_cuid_one", 0, EXT_SIMPLE, 0, 1, 1); }
static void test_assoc_simple(void **s) { (void)s; vector("assoc_simple_default_cuid_one", 1, EXT_SIMPLE, 0, 1, 1); }
static void test_null_derived(void **s) { (void)s; vector("null_derived_default_cuid_one", 0, EXT_DERIVED, 0, 1, 1); }
static void test_assoc_derived(void **s) { (void)s; vector("assoc_derived_default_cuid_one", 1, EXT_DERIVED, 0, 1, 1); }
static void test_null_dump(void **s) { (void)s; vector("null_none_dump_cuid_one", 0, EXT_NONE, 1, 1, 1); }
static void test_null_ncuid(void **s) { (void)s; vector("null_none_default_ncuid_one", 0, EXT_NONE, 0, 0, 1); }
static void test_null_seven(void **s) { (void)s; vector("null_none_default_cuid_seven", 0, EXT_NONE, 0, 1, 7); }

/* rust/pvattest/src/cmd/check/secret_store.rs: the empty store's hashes. */
static void test_secret_store_hash_prefixes(void **state)
{
	uint8_t h[64];
	char hex[9];

	(void)state;
	pvk_attest_secret_store_hash(NULL, 0, 1, h);
	pvk_hex_encode(h, 4, hex);
	assert_string_equal(hex, "7b54b668");
	pvk_attest_secret_store_hash(NULL, 0, 0, h);
	pvk_hex_encode(h, 4, hex);
	assert_string_equal(hex, "b8244d02");
}

static void test_bad_requests(void **state)
{
	size_t len;
	uint8_t *b = conf_read(ASRCB_DIR "assoc_none_default_cuid_one", &len);
	struct asrcb_view v;
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_asrcb_parse(b, len - 1, &v, &e), -1);      /* truncated */
	b[0] = 'A';
	assert_int_equal(pvk_asrcb_parse(b, len, &v, &e), -1);          /* magic */
	b[0] = 'a';
	b[7] = 9;
	assert_int_equal(pvk_asrcb_parse(b, len, &v, &e), -1);          /* user-data type */
	b[7] = 0;
	b[0x0b] = 2;
	assert_int_equal(pvk_asrcb_parse(b, len, &v, &e), -1);          /* version */
	b[0x0b] = 0;
	assert_int_equal(pvk_asrcb_parse(b, len, &v, &e), 0);
	free(b);
}

static void test_type_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(pvk_secret_type_name(2, buf, sizeof(buf)), "Association");
	assert_string_equal(pvk_secret_type_name(6, buf, sizeof(buf)), "AES-256-KEY");
	assert_string_equal(pvk_secret_type_name(1, buf, sizeof(buf)), "Invalid(0x0001)");
	assert_string_equal(pvk_secret_type_name(0x99, buf, sizeof(buf)), "Unknown(0x0099)");
	assert_int_equal(pvk_secret_type_len(SECRET_EC_P521), 80);
	assert_int_equal(pvk_secret_type_len(SECRET_PLAINTEXT), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_none),     cmocka_unit_test(test_assoc_none),
		cmocka_unit_test(test_null_simple),   cmocka_unit_test(test_assoc_simple),
		cmocka_unit_test(test_null_derived),  cmocka_unit_test(test_assoc_derived),
		cmocka_unit_test(test_null_dump),     cmocka_unit_test(test_null_ncuid),
		cmocka_unit_test(test_null_seven),    cmocka_unit_test(test_secret_store_hash_prefixes),
		cmocka_unit_test(test_bad_requests),  cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
