// SPDX-License-Identifier: MIT
/* pvattestd's secret release (release.h): the user-data binding, the envelope sealed to an
 * agent's key and opened only by that key for that attestation; base64 as the API takes it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "pvkit/bytes.h"
#include "pvkit/release.h"

static void test_binding(void **state)
{
	uint8_t pub[32], bind[PVK_RELEASE_BIND_LEN];
	EVP_PKEY *k;
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_release_keygen(&k, pub, &e), 0);
	pvk_release_binding(pub, bind);
	assert_memory_equal(bind, "PVKAGNT1", 8);
	assert_true(pvk_release_is_bound(bind, sizeof(bind), pub));
	assert_false(pvk_release_is_bound(bind, sizeof(bind) - 1, pub));
	assert_false(pvk_release_is_bound(NULL, 0, pub));
	bind[20] ^= 1;
	assert_false(pvk_release_is_bound(bind, sizeof(bind), pub));
	EVP_PKEY_free(k);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(pvk_release_name_ok("luks-key_1.bin"));
	assert_false(pvk_release_name_ok(""));
	assert_false(pvk_release_name_ok(".hidden"));
	assert_false(pvk_release_name_ok("a/b"));
	assert_false(pvk_release_name_ok("../x"));
	assert_false(pvk_release_name_ok("x y"));
	assert_false(pvk_release_name_ok(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 65 */
}

/* Replace member k of env with text v. */
static void set(json_object *env, const char *k, const char *v)
{
	json_object_object_add(env, k, json_object_new_string(v));
}

static void test_seal_open(void **state)
{
	struct pvk_release_secret in[2] = {
		{ .name = "luks", .value = (uint8_t *)"passphrase", .len = 10 },
		{ .name = "empty", .value = (uint8_t *)"", .len = 0 },
	}, *out;
	uint8_t pub[32], pub2[32];
	EVP_PKEY *k, *k2;
	json_object *env, *copy;
	struct pvk_err e;
	size_t n;
	char *ct;

	(void)state;
	assert_int_equal(pvk_release_keygen(&k, pub, &e), 0);
	assert_int_equal(pvk_release_keygen(&k2, pub2, &e), 0);
	assert_int_equal(pvk_release_seal(pub, "att-1", in, 2, &env, &e), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(env, "alg")),
			    PVK_RELEASE_ALG);
	/* the plaintext is nowhere in the envelope */
	assert_null(strstr(json_object_to_json_string(env), "passphrase"));
	assert_int_equal(pvk_release_open(k, "att-1", env, "env", &out, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].name, "luks");
	assert_int_equal(out[0].len, 10);
	assert_memory_equal(out[0].value, "passphrase", 10);
	assert_string_equal(out[1].name, "empty");
	assert_int_equal(out[1].len, 0);
	pvk_release_secrets_free(out, n);
	/* another key, another attestation: they do not open */
	assert_int_equal(pvk_release_open(k2, "att-1", env, "env", &out, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	assert_null(out);
	assert_int_equal(pvk_release_open(k, "att-2", env, "env", &out, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	/* a changed ciphertext */
	copy = json_tokener_parse(json_object_to_json_string(env));
	ct = strdup(json_object_get_string(json_object_object_get(copy, "ct")));
	ct[0] = ct[0] == 'A' ? 'B' : 'A';
	set(copy, "ct", ct);
	assert_int_equal(pvk_release_open(k, "att-1", copy, "env", &out, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	/* malformed: named in the message */
	set(copy, "iv", "AAAA");
	assert_int_equal(pvk_release_open(k, "att-1", copy, "env", &out, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_FORMAT);
	assert_non_null(strstr(e.msg, "env: the secrets envelope's 'iv'"));
	set(copy, "alg", "none");
	assert_int_equal(pvk_release_open(k, "att-1", copy, "env", &out, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_FORMAT);
	json_object_put(copy);
	free(ct);
	/* nothing to release is an envelope too */
	json_object_put(env);
	assert_int_equal(pvk_release_seal(pub, "att-3", NULL, 0, &env, &e), 0);
	assert_int_equal(pvk_release_open(k, "att-3", env, "env", &out, &n, &e), 0);
	assert_int_equal(n, 0);
	pvk_release_secrets_free(out, n);
	json_object_put(env);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void test_b64(void **state)
{
	uint8_t *out;
	size_t len;
	char *s;

	(void)state;
	s = pvk_b64_encode((const uint8_t *)"ab", 2);
	assert_string_equal(s, "YWI=");
	assert_int_equal(pvk_b64_decode(s, strlen(s), &out, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "ab", 2);
	free(out);
	free(s);
	assert_int_equal(pvk_b64_decode("YWJj", 4, &out, &len), 0);
	assert_int_equal(len, 3);
	free(out);
	assert_int_equal(pvk_b64_decode("", 0, &out, &len), 0);
	assert_int_equal(len, 0);
	free(out);
	/* refused: no padding, white space, a character outside the alphabet, '=' inside */
	assert_int_equal(pvk_b64_decode("YWI", 3, &out, &len), -1);
	assert_int_equal(pvk_b64_decode("YW I", 4, &out, &len), -1);
	assert_int_equal(pvk_b64_decode("YW*=", 4, &out, &len), -1);
	assert_int_equal(pvk_b64_decode("Y=Jj", 4, &out, &len), -1);
	assert_int_equal(pvk_b64_decode("YW=j", 4, &out, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_b64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
