// SPDX-License-Identifier: MIT
/* The YAML pvsecret reads: the first input byte picks the reader (even: a NAME.yaml secret
 * description, odd: a --cuid file), the rest is the file. A parsed description must survive
 * being written again by pvk_secret_desc_yaml and parsed back. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/secret.h"

static void seed2(const char *name, uint8_t sel, const char *text)
{
	size_t n = strlen(text);
	uint8_t *b = malloc(n + 1);

	b[0] = sel;
	memcpy(b + 1, text, n);
	fuzz_seed(name, b, n + 1);
	free(b);
}

static void write_seeds(void)
{
	uint8_t id[SECRET_ID_LEN];
	char *y;
	size_t n;
	struct pvk_err e;

	pvk_secret_id_from_name("my secret", 0, id);
	if (pvk_secret_desc_yaml(SECRET_ASSOCIATION, "my secret", id, &y, &n, &e))
		abort();
	seed2("desc-assoc", 0, y);
	free(y);
	if (pvk_secret_desc_yaml(SECRET_AES_256, "key: 1 #", id, &y, &n, &e))
		abort();
	seed2("desc-retrievable", 0, y);
	free(y);
	seed2("desc-enum", 0,
	      "Retrievable:\n  kind: 17 (EC-SECP256R1-PRIVATE-KEY)\n  name: x\n"
	      "  id: 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	seed2("cuid-yaml", 1, "attestation:\n  result:\n    cuid: 0x0123456789abcdef0123456789abcdef\n");
	seed2("cuid-scalar", 1, "'0x0123456789abcdef0123456789abcdef'\n");
	seed2("cuid-raw", 1, "0123456789abcdef");
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[SECRET_ID_LEN], id2[SECRET_ID_LEN], cuid[SECRET_CUID_LEN];
	uint16_t type, type2;
	struct pvk_err e;
	size_t n;
	char *y;

	if (!size)
		return 0;
	if (data[0] & 1) {
		if (pvk_secret_cuid_from_file(data + 1, size - 1, cuid, &e))
			FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	if (pvk_secret_desc_parse(data + 1, size - 1, &type, id, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(type == SECRET_ASSOCIATION || pvk_secret_type_len(type) != 0);
	FUZZ_CHECK(pvk_secret_desc_yaml(type, "fuzz: 'name'\n", id, &y, &n, &e) == 0);
	FUZZ_CHECK(strlen(y) == n);
	FUZZ_CHECK(pvk_secret_desc_parse((const uint8_t *)y, n, &type2, id2, &e) == 0);
	FUZZ_CHECK(type2 == type && !memcmp(id, id2, sizeof(id)));
	free(y);
	return 0;
}
