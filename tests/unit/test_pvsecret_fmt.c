// SPDX-License-Identifier: MIT
/* Guest-secret formats of pvsecret (spec §5): secret IDs and their display, value encodings,
 * the secret list in its three forms, NAME.yaml, CUID files, signed user data, PEM. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/secret.h"
#include "testutil.h"

static void hex_id(const char *hex, uint8_t id[32])
{
	assert_int_equal(pvk_hex_decode(hex, id, 32), 0);
}

/* ---- IDs ---- */

static void test_id_from_name(void **s)
{
	uint8_t id[32], exp[32];

	(void)s;
	pvk_secret_id_from_name("my secret", 0, id);
	hex_id("b9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44", exp);
	assert_memory_equal(id, exp, 32);
	pvk_secret_id_from_name("Nice Test 123", 1, id);
	hex_id("4e69636520546573742031323300000000000000000000000000000000000000", exp);
	assert_memory_equal(id, exp, 32);
	/* Truncated to 31 bytes: byte 32 is always NUL. */
	pvk_secret_id_from_name("the most fanciest secret ID you ever seen in the time the universe exists",
			    1, id);
	hex_id("746865206d6f73742066616e63696573742073656372657420494420796f7500", exp);
	assert_memory_equal(id, exp, 32);
}

static void test_id_display(void **s)
{
	char buf[SECRET_ID_DISPLAY_MAX], text[32];
	uint8_t id[32];
	static const uint8_t bin2[32] = { 0x25, 0x55, 3, 4, 50, 0, 6, 0, 8, 0, 0, 0, 0, 0, 0, 0,
					  90, 0, 0xa, 0, 0, 0, 0, 0xf };
	static const uint8_t bin3[32] = { 0x25, 0x55, 0, 4, 50, 0, 6, 0, 8, 0, 0, 0, 0, 0, 0, 0,
					  90, 0, 0xa, 0, 0, 0, 0, 0xf };

	(void)s;
	pvk_secret_id_from_name("Fancy secret ID", 1, id);
	assert_string_equal(pvk_secret_id_display(id, buf),
			    "Fancy secret ID | 0x46616e6379207365637265742049440000000000000000000000000000000000");
	pvk_secret_id_from_name("the most fanciest secret ID you ever seen in the time the universe exists",
			    1, id);
	assert_string_equal(pvk_secret_id_display(id, buf),
			    "the most fanciest secret ID you | 0x746865206d6f73742066616e63696573742073656372657420494420796f7500");
	memset(id, 0, 32);
	assert_string_equal(pvk_secret_id_display(id, buf),
			    "0x0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(pvk_secret_id_ascii(bin2, text), 0);
	assert_int_equal(pvk_secret_id_ascii(bin3, text), 0);
	/* 32 printable bytes and no NUL: not text (the seed's "This is a very secret secret id."). */
	memcpy(id, "This is a very secret secret id.", 32);
	assert_string_equal(pvk_secret_id_display(id, buf),
			    "0x546869732069732061207665727920736563726574207365637265742069642e");
	/* Whitespace counts as printable, \v does not. */
	memset(id, 0, 32);
	memcpy(id, "a\tb", 3);
	assert_int_equal(pvk_secret_id_ascii(id, text), 1);
	assert_string_equal(text, "a\tb");
	id[1] = '\v';
	assert_int_equal(pvk_secret_id_ascii(id, text), 0);
	/* A SHA-256 ID is shown as hex only. */
	pvk_secret_id_from_name("my secret", 0, id);
	assert_string_equal(pvk_secret_id_display(id, buf),
			    "0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44");
}

/* ---- values ---- */

static void test_plaintext(void **s)
{
	uint8_t data[8191], *out;
	size_t len, plen;
	struct pvk_err e;
	static const uint8_t exp14[16] = { 0, 14, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };
	static const uint8_t exp10[16] = { 0, 10, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0 };

	(void)s;
	memset(data, 7, sizeof(data));
	assert_int_equal(pvk_secret_encode_plaintext(data, 14, &out, &len, &e), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(out, exp14, 16);
	assert_int_equal(pvk_secret_plaintext_unwrap(out, len, &plen), 1);
	assert_int_equal(plen, 14);
	free(out);
	assert_int_equal(pvk_secret_encode_plaintext(data, 10, &out, &len, &e), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(out, exp10, 16);
	out[15] = 1;   /* padding not zero: not well formed */
	assert_int_equal(pvk_secret_plaintext_unwrap(out, len, &plen), 0);
	free(out);
	assert_int_equal(pvk_secret_encode_plaintext(data, 0, &out, &len, &e), 0);
	assert_int_equal(len, 16);
	free(out);
	assert_int_equal(pvk_secret_encode_plaintext(data, 8190, &out, &len, &e), 0);
	assert_int_equal(len, 8192);
	assert_int_equal(get_be16(out), 8190);
	free(out);
	assert_int_equal(pvk_secret_encode_plaintext(data, 8191, &out, &len, &e), -1);
	assert_int_equal(e.code, PVK_E_FORMAT);
	/* 16 or more padding bytes: not the encoding of that length. */
	memset(data, 0, 48);
	put_be16(data, 10);
	assert_int_equal(pvk_secret_plaintext_unwrap(data, 48, &plen), 0);
	put_be16(data, 50);
	assert_int_equal(pvk_secret_plaintext_unwrap(data, 48, &plen), 0);
}

static void test_sym_sizes(void **s)
{
	static const struct {
		enum secret_input_kind kind;
		size_t len;
		int type;
	} cases[] = {
		{ SECRET_IN_AES, 16, SECRET_AES_128 },      { SECRET_IN_AES, 24, SECRET_AES_192 },
		{ SECRET_IN_AES, 32, SECRET_AES_256 },      { SECRET_IN_AES, 17, -1 },
		{ SECRET_IN_AES, 64, -1 },                  { SECRET_IN_AES_XTS, 32, SECRET_AES_XTS_128 },
		{ SECRET_IN_AES_XTS, 64, SECRET_AES_XTS_256 }, { SECRET_IN_AES_XTS, 48, -1 },
		{ SECRET_IN_HMAC_SHA, 64, SECRET_HMAC_SHA_256 },
		{ SECRET_IN_HMAC_SHA, 128, SECRET_HMAC_SHA_512 }, { SECRET_IN_HMAC_SHA, 32, -1 },
		{ SECRET_IN_PLAIN, 20, SECRET_PLAINTEXT },
	};
	uint8_t data[128], *out;
	size_t len;
	uint16_t type;
	struct pvk_err e;

	(void)s;
	memset(data, 0x11, sizeof(data));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pvk_secret_encode_value(cases[i].kind, data, cases[i].len, "f", &type, &out, &len, &e);

		if (cases[i].type < 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(type, cases[i].type);
		if (cases[i].kind != SECRET_IN_PLAIN) {
			assert_int_equal(len, cases[i].len);
			assert_int_equal(pvk_secret_type_len(type), (int)len);
		}
		free(out);
	}
	assert_int_equal(pvk_secret_input_kind_parse("aes-xts"), SECRET_IN_AES_XTS);
	assert_int_equal(pvk_secret_input_kind_parse("rsa"), -1);
}

static EVP_PKEY *gen_key(const char *alg, const char *group)
{
	EVP_PKEY *k = NULL;

	if (group)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, alg);
	assert_non_null(k);
	return k;
}

static void test_ec_keys(void **s)
{
	static const struct {
		const char *alg, *group;
		uint16_t type;
		size_t len, keylen;
	} cases[] = {
		{ "EC", "P-256", SECRET_EC_P256, 32, 32 },
		{ "EC", "P-384", SECRET_EC_P384, 48, 48 },
		{ "EC", "P-521", SECRET_EC_P521, 80, 66 },
		{ "ED25519", NULL, SECRET_ED25519, 32, 32 },
		{ "ED448", NULL, SECRET_ED448, 64, 57 },
	};
	uint8_t out[80], raw[80];
	size_t len, rlen;
	uint16_t type;
	struct pvk_err e;

	(void)s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = gen_key(cases[i].alg, cases[i].group);

		assert_int_equal(pvk_secret_encode_ec_key(k, &type, out, &len, &e), 0);
		assert_int_equal(type, cases[i].type);
		assert_int_equal(len, cases[i].len);
		assert_int_equal(pvk_secret_type_len(type), (int)len);
		if (cases[i].group) {
			BIGNUM *bn = NULL;

			assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 1);
			assert_int_equal(BN_bn2binpad(bn, raw, (int)cases[i].keylen), (int)cases[i].keylen);
			BN_free(bn);
		} else {
			rlen = sizeof(raw);
			assert_int_equal(EVP_PKEY_get_raw_private_key(k, raw, &rlen), 1);
			assert_int_equal(rlen, cases[i].keylen);
		}
		/* Left-padded with zeros. */
		for (size_t j = 0; j < cases[i].len - cases[i].keylen; j++)
			assert_int_equal(out[j], 0);
		assert_memory_equal(out + cases[i].len - cases[i].keylen, raw, cases[i].keylen);
		EVP_PKEY_free(k);
	}
	{
		EVP_PKEY *k = gen_key("EC", "secp256k1");

		assert_int_equal(pvk_secret_encode_ec_key(k, &type, out, &len, &e), -1);
		assert_non_null(strstr(e.msg, "secp256k1"));
		EVP_PKEY_free(k);
		k = gen_key("X25519", NULL);
		assert_int_equal(pvk_secret_encode_ec_key(k, &type, out, &len, &e), -1);
		EVP_PKEY_free(k);
	}
}

/* ---- the list ---- */

static uint8_t *make_list(uint16_t n, uint16_t total, size_t *len)
{
	uint8_t *b = calloc(1, 4096);

	put_be16(b, n);
	put_be16(b + 2, total);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *p = b + 16 + 48 * i;

		put_be16(p, i);
		put_be16(p + 2, i == 0 ? SECRET_ASSOCIATION : i == 1 ? SECRET_AES_256 :
				i == 2 ? SECRET_UPDATE_CCK : 0x0099);
		put_be32(p + 4, i == 0 ? 32 : 64);
		if (i == 0)
			pvk_secret_id_from_name("my secret", 0, p + 16);
		else if (i == 1)
			pvk_secret_id_from_name("Fancy secret ID", 1, p + 16);
	}
	*len = 4096;
	return b;
}

static void test_list_human(void **s)
{
	struct secret_list l;
	struct pvk_err e;
	uint8_t *buf, *out;
	size_t len, olen;

	(void)s;
	buf = make_list(4, 4, &len);
	assert_int_equal(pvk_secret_list_parse(buf, len, &l, &e), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_HUMAN, &out, &olen, &e), 0);
	assert_string_equal((char *)out,
			    "Total number of secrets: 4\n"
			    "\n"
			    "0 Association:\n"
			    " 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n"
			    "1 AES-256-KEY:\n"
			    " Fancy secret ID | 0x46616e6379207365637265742049440000000000000000000000000000000000\n"
			    "2 Invalid(0x0016):\n"
			    " 0x0000000000000000000000000000000000000000000000000000000000000000\n"
			    "3 Unknown(0x0099):\n"
			    " 0x0000000000000000000000000000000000000000000000000000000000000000\n");
	assert_int_equal(olen, strlen((char *)out));
	free(out);
	pvk_secret_list_free(&l);
	free(buf);

	buf = make_list(0, 0, &len);
	assert_int_equal(pvk_secret_list_parse(buf, len, &l, &e), 0);
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_HUMAN, &out, &olen, &e), 0);
	assert_string_equal((char *)out, "Total number of secrets: 0\n");
	free(out);
	pvk_secret_list_free(&l);
	free(buf);
}

static void test_list_yaml_bin(void **s)
{
	struct secret_list l;
	struct pvk_err e;
	uint8_t *buf, *out;
	size_t len, olen;

	(void)s;
	buf = make_list(2, 5, &len);
	put_be16(buf + 4, 2);   /* next_secret_idx */
	assert_int_equal(pvk_secret_list_parse(buf, len, &l, &e), 0);
	assert_int_equal(l.total, 5);
	assert_int_equal(l.next, 2);
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_YAML, &out, &olen, &e), 0);
	assert_string_equal((char *)out,
			    "total_num_secrets: 5\n"
			    "secrets:\n"
			    "- index: 0\n"
			    "  stype: 2\n"
			    "  len: 32\n"
			    "  id: 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n"
			    "- index: 1\n"
			    "  stype: 6\n"
			    "  len: 64\n"
			    "  id: 0x46616e6379207365637265742049440000000000000000000000000000000000\n");
	free(out);
	/* json: the same members, NUL-terminated like the other text formats */
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_JSON, &out, &olen, &e), 0);
	assert_int_equal(strlen((char *)out), olen);
	assert_string_equal((char *)out,
			    "{\n"
			    "  \"total_num_secrets\": 5,\n"
			    "  \"secrets\": [\n"
			    "    {\n"
			    "      \"index\": 0,\n"
			    "      \"stype\": 2,\n"
			    "      \"len\": 32,\n"
			    "      \"id\": \"0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\"\n"
			    "    },\n"
			    "    {\n"
			    "      \"index\": 1,\n"
			    "      \"stype\": 6,\n"
			    "      \"len\": 64,\n"
			    "      \"id\": \"0x46616e6379207365637265742049440000000000000000000000000000000000\"\n"
			    "    }\n"
			    "  ]\n"
			    "}\n");
	free(out);
	/* bin: the header and the entries as given, no padding. */
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_BIN, &out, &olen, &e), 0);
	assert_int_equal(olen, 16 + 2 * 48);
	assert_memory_equal(out, buf, olen);
	free(out);
	pvk_secret_list_free(&l);

	put_be16(buf, 2);
	assert_int_equal(pvk_secret_list_parse(buf, 16 + 48, &l, &e), -1);   /* 2 entries, room for 1 */
	assert_int_equal(pvk_secret_list_parse(buf, 15, &l, &e), -1);
	put_be16(buf, 0);
	put_be16(buf + 2, 0);
	assert_int_equal(pvk_secret_list_parse(buf, 16, &l, &e), 0);
	assert_int_equal(pvk_secret_list_render(&l, SECRET_LIST_YAML, &out, &olen, &e), 0);
	assert_string_equal((char *)out, "total_num_secrets: 0\nsecrets: []\n");
	free(out);
	pvk_secret_list_free(&l);
	free(buf);
	assert_int_equal(pvk_secret_list_format_parse("bin"), SECRET_LIST_BIN);
	assert_int_equal(pvk_secret_list_format_parse("json"), SECRET_LIST_JSON);
	assert_int_equal(pvk_secret_list_format_parse("xml"), -1);
}

static void test_list_find(void **s)
{
	struct secret_list l;
	struct pvk_err e;
	uint8_t *buf, id[32];
	size_t len, count;

	(void)s;
	buf = make_list(4, 4, &len);
	/* A second entry with the ID of the first. */
	memcpy(buf + 16 + 3 * 48 + 16, buf + 16 + 16, 32);
	assert_int_equal(pvk_secret_list_parse(buf, len, &l, &e), 0);
	pvk_secret_id_from_name("my secret", 0, id);
	assert_ptr_equal(pvk_secret_list_find_id(&l, id, &count), &l.entries[0]);
	assert_int_equal(count, 2);
	pvk_secret_id_from_name("nothere", 0, id);
	assert_null(pvk_secret_list_find_id(&l, id, &count));
	assert_int_equal(count, 0);
	assert_ptr_equal(pvk_secret_list_find_index(&l, 2), &l.entries[2]);
	assert_null(pvk_secret_list_find_index(&l, 7));
	pvk_secret_list_free(&l);
	free(buf);
}

/* ---- NAME.yaml ---- */

static void test_desc_yaml(void **s)
{
	char *out;
	size_t len;
	uint8_t id[32], pid[32];
	uint16_t type;
	struct pvk_err e;
	char *f;

	(void)s;
	pvk_secret_id_from_name("my secret", 0, id);
	assert_int_equal(pvk_secret_desc_yaml(SECRET_ASSOCIATION, "my secret", id, &out, &len, &e), 0);
	assert_string_equal(out, "!Association\n"
				 "name: my secret\n"
				 "id: 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n");
	assert_int_equal(pvk_secret_desc_parse((uint8_t *)out, len, &type, pid, &e), 0);
	assert_int_equal(type, SECRET_ASSOCIATION);
	assert_memory_equal(pid, id, 32);
	free(out);
	assert_int_equal(pvk_secret_desc_yaml(SECRET_AES_256, "disk key", id, &out, &len, &e), 0);
	assert_string_equal(out, "!Retrievable\n"
				 "kind: 6 (AES-256-KEY)\n"
				 "name: disk key\n"
				 "id: 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n");
	assert_int_equal(pvk_secret_desc_parse((uint8_t *)out, len, &type, pid, &e), 0);
	assert_int_equal(type, SECRET_AES_256);
	free(out);
	/* Names a YAML reader would take for numbers, booleans or null are quoted. */
	assert_int_equal(pvk_secret_desc_yaml(SECRET_PLAINTEXT, "123", id, &out, &len, &e), 0);
	assert_non_null(strstr(out, "name: '123'\n"));
	assert_non_null(strstr(out, "kind: 3 (PLAINTEXT)\n"));
	free(out);
	assert_int_equal(pvk_secret_desc_yaml(SECRET_ASSOCIATION, "true", id, &out, &len, &e), 0);
	assert_non_null(strstr(out, "name: 'true'\n"));
	free(out);
	assert_int_equal(pvk_secret_desc_yaml(SECRET_ASSOCIATION, "a: b", id, &out, &len, &e), 0);
	assert_null(strstr(out, "name: a: b\n"));
	free(out);
	assert_int_equal(pvk_secret_desc_yaml(SECRET_NULL, "x", id, &out, &len, &e), -1);

	/* Quoted scalars, and the one-key-mapping enum form, parse too. */
	{
		static const char q[] = "!Retrievable\nkind: \"19 (EC-SECP521R1-PRIVATE-KEY)\"\n"
					"name: 'k'\nid: '0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44'\n";
		static const char m[] = "Association:\n  name: k\n"
					"  id: 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n";
		static const char bad_kind[] = "!Retrievable\nkind: 2 (Association)\nname: k\n"
					       "id: 0xb9d1d013f600ec1bf16bae6a3634cad15dcc490c9f2835764201a41a1d70de44\n";
		static const char short_id[] = "!Association\nname: k\nid: 0xb9d1\n";
		static const char other[] = "!UpdateCck\nname: k\n";

		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)q, strlen(q), &type, pid, &e), 0);
		assert_int_equal(type, SECRET_EC_P521);
		assert_memory_equal(pid, id, 32);
		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)m, strlen(m), &type, pid, &e), 0);
		assert_int_equal(type, SECRET_ASSOCIATION);
		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)bad_kind, strlen(bad_kind), &type,
						   pid, &e), -1);
		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)short_id, strlen(short_id), &type,
						   pid, &e), -1);
		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)other, strlen(other), &type, pid, &e),
				 -1);
		assert_int_equal(pvk_secret_desc_parse((const uint8_t *)"[", 1, &type, pid, &e), -1);
	}
	f = pvk_secret_desc_filename("my secret\tx/y");
	assert_string_equal(f, "my_secret_x_y.yaml");
	free(f);
}

/* ---- CUID ---- */

static void test_cuid(void **s)
{
	uint8_t cuid[16], exp[16];
	struct pvk_err e;
	static const char y1[] = "cuid: 0x00112233445566778899aabbccddeeff\nadd: 0x00\n";
	static const char y2[] = "a:\n  b:\n    c: 1\n  d:\n    cuid: '0x00112233445566778899aabbccddeeff'\n";
	static const char y3[] = "\"0x00112233445566778899aabbccddeeff\"\n";
	static const char nox[] = "cuid: 00112233445566778899aabbccddeeff\n";
	static const char shortc[] = "cuid: 0x0011\n";
	static const char none[] = "other: 1\n";
	char deep[512];

	(void)s;
	assert_int_equal(pvk_hex_decode("00112233445566778899aabbccddeeff", exp, 16), 0);
	assert_int_equal(pvk_secret_cuid_parse_hex("0x00112233445566778899aabbccddeeff", cuid), 0);
	assert_memory_equal(cuid, exp, 16);
	assert_int_equal(pvk_secret_cuid_parse_hex("00112233445566778899aabbccddeeff", cuid), 0);
	assert_int_equal(pvk_secret_cuid_parse_hex("0x00112233445566778899aabbccddee", cuid), -1);
	assert_int_equal(pvk_secret_cuid_from_file(exp, 16, cuid, &e), 0);
	assert_memory_equal(cuid, exp, 16);
	memset(cuid, 0, 16);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)y1, strlen(y1), cuid, &e), 0);
	assert_memory_equal(cuid, exp, 16);
	memset(cuid, 0, 16);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)y2, strlen(y2), cuid, &e), 0);
	assert_memory_equal(cuid, exp, 16);
	memset(cuid, 0, 16);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)y3, strlen(y3), cuid, &e), 0);
	assert_memory_equal(cuid, exp, 16);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)nox, strlen(nox), cuid, &e), -1);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)shortc, strlen(shortc), cuid, &e), -1);
	assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)none, strlen(none), cuid, &e), -1);
	/* Found at mapping depth 8 (the 8th nested mapping), not at depth 9. */
	for (int depth = 8; depth <= 9; depth++) {
		size_t pos = 0;

		for (int i = 0; i < depth - 1; i++)
			pos += (size_t)snprintf(deep + pos, sizeof(deep) - pos, "%*sk%d:\n", 2 * i, "", i);
		snprintf(deep + pos, sizeof(deep) - pos, "%*scuid: 0x00112233445566778899aabbccddeeff\n",
			 2 * (depth - 1), "");
		assert_int_equal(pvk_secret_cuid_from_file((const uint8_t *)deep, strlen(deep), cuid, &e),
				 depth == 8 ? 0 : -1);
	}
}

/* ---- user data ---- */

static EVP_PKEY *rsa_key(int bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	assert_non_null(k);
	return k;
}

static void build_req(EVP_PKEY *sign, uint16_t type, uint8_t **req, size_t *len)
{
	struct asrcb_params p;
	EVP_PKEY *host = NULL;
	struct pvk_err e;

	memset(&p, 0, sizeof(p));
	assert_int_equal(pvk_ec_generate(&host, &e), 0);
	assert_int_equal(pvk_ec_generate(&p.cust, &e), 0);
	p.hosts = &host;
	p.n_hosts = 1;
	memset(p.iv, 0x55, 12);
	memset(p.prot_key, 0x17, 32);
	p.secret_type = SECRET_NULL;
	p.user_type = type;
	memcpy(p.user_data, "signed user data", 16);
	if (sign)
		assert_int_equal(pvk_asrcb_build_signed(&p, sign, req, len, &e), 0);
	else
		assert_int_equal(pvk_asrcb_build(&p, req, len, &e), 0);
	EVP_PKEY_free(p.cust);
	EVP_PKEY_free(host);
}

static void test_sign_verify(void **s)
{
	EVP_PKEY *keys[3] = { gen_key("EC", "P-521"), rsa_key(2048), rsa_key(3072) };
	static const uint16_t types[3] = { ASRCB_USER_ECDSA_P521, ASRCB_USER_RSA_2048,
					   ASRCB_USER_RSA_3072 };
	uint8_t data[512], *req;
	size_t len, dlen;
	struct pvk_err e;

	(void)s;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pvk_asrcb_user_type_for_key(keys[i], &e), types[i]);
		build_req(keys[i], types[i], &req, &len);
		assert_int_equal(get_be16(req + 6), types[i]);
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[i], data, &dlen, &e), 0);
		assert_int_equal(dlen, pvk_asrcb_user_data_max(types[i]));
		assert_memory_equal(data, "signed user data", 16);
		if (types[i] == ASRCB_USER_ECDSA_P521) {
			size_t sl = get_be16(req + ASRCB_OFF_USER + 0x190);

			assert_true(sl > 0 && sl <= 139);
		}
		/* Another key of the same type, a key of another type, none, a flipped bit. */
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[(i + 1) % 3], data, &dlen, &e), -1);
		assert_int_equal(e.code, PVK_E_VERIFY);
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), -1);
		assert_int_equal(e.code, PVK_E_VERIFY);
		assert_non_null(strstr(e.msg, "No user-key"));
		req[ASRCB_OFF_USER + 1] ^= 1;
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[i], data, &dlen, &e), -1);
		assert_int_equal(e.code, PVK_E_AUTH);
		req[ASRCB_OFF_USER + 1] ^= 1;
		req[len - 17] ^= 1;    /* the ciphertext is signed too */
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[i], data, &dlen, &e), -1);
		req[len - 17] ^= 1;
		req[len - 1] ^= 1;     /* the tag is not */
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[i], data, &dlen, &e), 0);
		free(req);
	}
	{
		EVP_PKEY *other = gen_key("EC", "P-521");

		build_req(keys[0], ASRCB_USER_ECDSA_P521, &req, &len);
		assert_int_equal(pvk_asrcb_verify_user_data(req, len, other, data, &dlen, &e), -1);
		assert_int_equal(e.code, PVK_E_AUTH);
		free(req);
		EVP_PKEY_free(other);
	}
	/* Unsigned: the 512 bytes; a certificate is a mismatch. None: nothing. */
	build_req(NULL, ASRCB_USER_UNSIGNED, &req, &len);
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), 0);
	assert_int_equal(dlen, 512);
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, keys[1], data, &dlen, &e), -1);
	assert_non_null(strstr(e.msg, "RSA 2048"));
	assert_non_null(strstr(e.msg, "unsigned"));
	/* Envelope rules. */
	assert_int_equal(pvk_asrcb_verify_user_data(req, len - 1, NULL, data, &dlen, &e), -1);
	req[6] = 0;
	req[7] = 9;
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), -1);
	req[7] = 0;
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), 0);
	assert_int_equal(dlen, 0);
	put_be32(req + 8, 0x200);
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), -1);
	assert_non_null(strstr(e.msg, "version 1"));
	memcpy(req, "arcb", 4);
	assert_int_equal(pvk_asrcb_verify_user_data(req, len, NULL, data, &dlen, &e), -1);
	free(req);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(keys[i]);
}

static void test_unsupported_sign_keys(void **s)
{
	EVP_PKEY *k;
	struct pvk_err e;

	(void)s;
	k = rsa_key(1024);
	assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), -1);
	EVP_PKEY_free(k);
	k = gen_key("EC", "P-384");
	assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), -1);
	EVP_PKEY_free(k);
	/* IBM's unsupported test keys: RSA 4096 and secp256k1; its RSA 2048/3072 keys work. */
	if (conf_path("rust/pv/tests/assets/keys/rsa4096key.pem")) {
		k = conf_privkey("rust/pv/tests/assets/keys/rsa4096key.pem");
		assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), -1);
		EVP_PKEY_free(k);
		k = conf_privkey("rust/pv/tests/assets/keys/ecsecp256k1.pem");
		assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), -1);
		EVP_PKEY_free(k);
		k = conf_privkey("rust/pv/tests/assets/keys/rsa2048key.pem");
		assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), ASRCB_USER_RSA_2048);
		EVP_PKEY_free(k);
		k = conf_privkey("rust/pv/tests/assets/keys/rsa3072key.pem");
		assert_int_equal(pvk_asrcb_user_type_for_key(k, &e), ASRCB_USER_RSA_3072);
		EVP_PKEY_free(k);
	}
	assert_string_equal(pvk_asrcb_user_type_name(ASRCB_USER_RSA_3072), "RSA 3072 signed");
	assert_int_equal(pvk_asrcb_user_data_max(ASRCB_USER_UNSIGNED), 512);
	assert_int_equal(pvk_asrcb_user_data_max(ASRCB_USER_RSA_3072), 128);
}

/* ---- PEM ---- */

static void test_pem(void **s)
{
	char *out;
	size_t len;
	struct pvk_err e;
	uint8_t plain[32] = { 0, 15 };

	(void)s;
	assert_int_equal(pvk_secret_retrieved_pem(SECRET_AES_256, (const uint8_t *)"very secret key", 15,
					      &out, &len, &e), 0);
	assert_string_equal(out, "-----BEGIN IBM PROTECTED KEY-----\n"
				 "kind: AES-256-KEY\n"
				 "\n"
				 "dmVyeSBzZWNyZXQga2V5\n"
				 "-----END IBM PROTECTED KEY-----\n");
	free(out);
	memcpy(plain + 2, "very secret key", 15);
	assert_int_equal(pvk_secret_retrieved_pem(SECRET_PLAINTEXT, plain, sizeof(plain), &out, &len, &e), 0);
	assert_string_equal(out, "-----BEGIN PLAINTEXT SECRET-----\n"
				 "dmVyeSBzZWNyZXQga2V5\n"
				 "-----END PLAINTEXT SECRET-----\n");
	free(out);
	/* Not well formed: the whole buffer. */
	plain[31] = 1;
	assert_int_equal(pvk_secret_retrieved_pem(SECRET_PLAINTEXT, plain, sizeof(plain), &out, &len, &e), 0);
	assert_non_null(strstr(out, "AA92ZXJ5IHNlY3JldCBrZXkAAAAAAAAAAAAAAAAAAAE=\n"));
	free(out);
	/* 64-character base64 lines. */
	{
		uint8_t key[96];

		memset(key, 0xab, sizeof(key));
		assert_int_equal(pvk_secret_retrieved_pem(SECRET_EC_P521, key, sizeof(key), &out, &len, &e), 0);
		assert_non_null(strstr(out, "kind: EC-SECP521R1-PRIVATE-KEY\n\n"));
		assert_int_equal(strchr(strstr(out, "\n\n") + 2, '\n') - (strstr(out, "\n\n") + 2), 64);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_from_name),
		cmocka_unit_test(test_id_display),
		cmocka_unit_test(test_plaintext),
		cmocka_unit_test(test_sym_sizes),
		cmocka_unit_test(test_ec_keys),
		cmocka_unit_test(test_list_human),
		cmocka_unit_test(test_list_yaml_bin),
		cmocka_unit_test(test_list_find),
		cmocka_unit_test(test_desc_yaml),
		cmocka_unit_test(test_cuid),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_unsupported_sign_keys),
		cmocka_unit_test(test_pem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
