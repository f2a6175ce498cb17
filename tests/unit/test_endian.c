// SPDX-License-Identifier: MIT
/* The big-endian helpers of pvkit/bytes.h give the same bytes on every host. The cross
 * build runs this under qemu-s390x: the log shows __BYTE_ORDER__ = 4321 there. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "pvkit/bytes.h"
#include "testutil.h"

static void test_report_byte_order(void **state)
{
	union {
		uint32_t u;
		uint8_t b[4];
	} probe = { .u = 0x01020304 };

	(void)state;
	printf("# __BYTE_ORDER__ = %d (%s-endian), first byte of 0x01020304 in memory: %02x\n",
	       __BYTE_ORDER__,
	       __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big" : "little", probe.b[0]);
	fflush(stdout);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	assert_int_equal(probe.b[0], 0x01);
#else
	assert_int_equal(probe.b[0], 0x04);
#endif
}

static void test_put_be(void **state)
{
	static const uint8_t exp16[] = { 0xbe, 0xef };
	static const uint8_t exp32[] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t exp64[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	uint8_t buf[10];

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	put_be16(buf + 1, 0xbeef);
	assert_memory_equal(buf + 1, exp16, sizeof(exp16));
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(buf[3], 0xaa);

	memset(buf, 0xaa, sizeof(buf));
	put_be32(buf + 1, 0xdeadbeef);
	assert_memory_equal(buf + 1, exp32, sizeof(exp32));
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(buf[5], 0xaa);

	memset(buf, 0xaa, sizeof(buf));
	put_be64(buf + 1, 0x0123456789abcdefULL);
	assert_memory_equal(buf + 1, exp64, sizeof(exp64));
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(buf[9], 0xaa);
}

static void test_get_be(void **state)
{
	static const uint8_t in[] = { 0xaa, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	(void)state;
	/* Unaligned reads on purpose (in + 1). */
	assert_int_equal(get_be16(in + 1), 0x0123);
	assert_int_equal(get_be32(in + 1), 0x01234567);
	assert_true(get_be64(in + 1) == 0x0123456789abcdefULL);
	assert_int_equal(get_be16(in + 7), 0xcdef);
	assert_int_equal(get_be32(in + 5), 0x89abcdef);
}

static void test_round_trip(void **state)
{
	static const uint64_t vals[] = { 0, 1, 0xff, 0x100, 0x80000000ULL, 0xffffffffULL,
					 0x100000000ULL, 0x8000000000000000ULL, UINT64_MAX };
	uint8_t buf[8];

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		put_be64(buf, vals[i]);
		assert_true(get_be64(buf) == vals[i]);
		put_be32(buf, (uint32_t)vals[i]);
		assert_int_equal(get_be32(buf), (uint32_t)vals[i]);
		put_be16(buf, (uint16_t)vals[i]);
		assert_int_equal(get_be16(buf), (uint16_t)vals[i]);
	}
}

static void test_round_up_page(void **state)
{
	(void)state;
	assert_true(round_up_page(0) == 0);
	assert_true(round_up_page(1) == 4096);
	assert_true(round_up_page(4096) == 4096);
	assert_true(round_up_page(4097) == 8192);
	assert_true(round_up_page(0x100000000ULL + 1) == 0x100001000ULL);
}

static void test_hex(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x7f, 0x80, 0xff, 0xa5 };
	uint8_t out[5];
	char hex[11];

	(void)state;
	pvk_hex_encode(bytes, sizeof(bytes), hex);
	assert_string_equal(hex, "007f80ffa5");
	assert_int_equal(pvk_hex_decode("0x007F80FFa5", out, sizeof(out)), 0);
	assert_memory_equal(out, bytes, sizeof(bytes));
	assert_int_not_equal(pvk_hex_decode("007f80ff", out, sizeof(out)), 0);
	assert_int_not_equal(pvk_hex_decode("007f80ffg5", out, sizeof(out)), 0);
	/* separators, signs and blanks are not hex digits; a refusal leaves no OpenSSL error */
	assert_int_not_equal(pvk_hex_decode("00:7f:80:ff:a5", out, sizeof(out)), 0);
	assert_int_not_equal(pvk_hex_decode("+07f80ffa5", out, sizeof(out)), 0);
	assert_int_not_equal(pvk_hex_decode("007f80ffa ", out, sizeof(out)), 0);
	assert_int_equal(ERR_peek_error(), 0);
	/* nothing at all, both ways */
	hex[0] = 'x';
	pvk_hex_encode(bytes, 0, hex);
	assert_string_equal(hex, "");
	assert_int_equal(pvk_hex_decode("", out, 0), 0);
	assert_int_not_equal(pvk_hex_decode("00", out, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_byte_order),
		cmocka_unit_test(test_put_be),
		cmocka_unit_test(test_get_be),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_up_page),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
