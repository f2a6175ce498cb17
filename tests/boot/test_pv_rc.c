// SPDX-License-Identifier: MIT
/*
 * stage3a's interpretation of a failed DIAG 0x308 subcode 10 (boot/pv_rc.c,
 * the same source the loader is built from), against SE-FORMATS.md §1.7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pv_rc.h"

static void test_split_msb_first(void **state)
{
	/* pv_cmd | pv_rrc | pv_rc | diag_rc */
	struct pv_unpack_result r = pv_unpack_result_split(UINT64_C(0x0003001b01020a02));

	(void)state;
	assert_int_equal(r.pv_cmd, 0x0003);
	assert_int_equal(r.pv_rrc, 0x001b);
	assert_int_equal(r.pv_rc, 0x0102);
	assert_int_equal(r.diag_rc, 0x0a02);
}

/* Every (rc, rrc) of the spec's table has a message naming the problem. */
static void test_known_pairs(void **state)
{
	static const struct {
		uint16_t rc, rrc;
		const char *word;
	} known[] = {
		{ 0x0102, 0x001a, "ALD" },
		{ 0x0102, 0x001b, "PLD" },
		{ 0x0102, 0x001c, "TLD" },
		{ 0x0102, 0x001d, "encrypted pages" },
		{ 0x0104, 0x0001, "version" },
		{ 0x0106, 0x0030, "PCF" },
		{ 0x0108, 0x0005, "Host-key hash" },
		{ 0x0108, 0x000b, "ECDH" },
		{ 0x0108, 0x0034, "Backup host-key hash" },
		{ 0x0109, 0x0000, "SCF" },
		{ 0x010a, 0x0031, "length" },
		{ 0x010a, 0x0039, "encrypted area" },
		{ 0x010a, 0x0040, "key slot" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *m = pv_rc_message(known[i].rc, known[i].rrc);

		assert_non_null(m);
		assert_non_null(strstr(m, known[i].word));
		/* One line: the loader adds the newline. */
		assert_null(strchr(m, '\n'));
	}
}

/* Pairs outside the table get no text (the raw line is printed instead). */
static void test_unknown_pairs(void **state)
{
	(void)state;
	assert_null(pv_rc_message(0x0102, 0x0000));
	assert_null(pv_rc_message(0x0109, 0x0001));
	assert_null(pv_rc_message(0x0108, 0x0006));
	assert_null(pv_rc_message(0x0001, 0x0000));
	assert_null(pv_rc_message(0xffff, 0xffff));
}

static void test_cmd_names(void **state)
{
	(void)state;
	assert_string_equal(pv_cmd_name(2), "KVM_PV_SET_SEC_PARMS");
	assert_string_equal(pv_cmd_name(3), "KVM_PV_UNPACK");
	assert_string_equal(pv_cmd_name(4), "KVM_PV_VERIFY");
	assert_string_equal(pv_cmd_name(0), "unknown command");
	assert_string_equal(pv_cmd_name(5), "unknown command");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_msb_first),
		cmocka_unit_test(test_known_pairs),
		cmocka_unit_test(test_unknown_pairs),
		cmocka_unit_test(test_cmd_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
