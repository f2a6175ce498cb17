// SPDX-License-Identifier: MIT
/* The UV's secret list (pvsecret list, pvapconfig): pvk_secret_list_parse, its three renderings,
 * the look-ups, and pvk_apcfg_parse_secrets over the same buffer. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/apconfig.h"
#include "pvkit/bytes.h"
#include "pvkit/secret.h"

static void write_seeds(void)
{
	uint8_t buf[SECRET_LIST_HDR + 4 * SECRET_LIST_ENTRY];
	static const uint16_t types[] = { SECRET_ASSOCIATION, SECRET_PLAINTEXT, SECRET_AES_256,
					  0x7777 };

	memset(buf, 0, sizeof(buf));
	fuzz_seed("empty", buf, SECRET_LIST_HDR);
	put_be16(buf, 4);
	put_be16(buf + 2, 5);
	put_be16(buf + 4, 4);
	for (int i = 0; i < 4; i++) {
		uint8_t *p = buf + SECRET_LIST_HDR + i * SECRET_LIST_ENTRY;

		put_be16(p, (uint16_t)i);
		put_be16(p + 2, types[i]);
		put_be32(p + 4, 32 + 16 * (uint32_t)i);
		if (i % 2)
			pvk_secret_id_from_name("fuzz secret", 1, p + 16);   /* ASCII ID */
		else
			pvk_secret_id_from_name("fuzz secret", 0, p + 16);   /* hashed */
	}
	fuzz_seed("four", buf, sizeof(buf));
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apcfg_secret *s;
	struct secret_list l;
	struct pvk_err e;
	size_t n, count, out_len;
	uint8_t *out;
	int more, rc;

	rc = pvk_secret_list_parse(data, size, &l, &e);
	if (rc) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT);
	} else {
		FUZZ_CHECK(l.raw_len == SECRET_LIST_HDR + l.n * SECRET_LIST_ENTRY && l.raw_len <= size);
		for (int f = SECRET_LIST_HUMAN; f <= SECRET_LIST_JSON; f++) {
			FUZZ_CHECK(pvk_secret_list_render(&l, (enum secret_list_format)f, &out, &out_len,
						      &e) == 0);
			if (f == SECRET_LIST_BIN)
				FUZZ_CHECK(out_len == l.raw_len && !memcmp(out, data, out_len));
			else
				FUZZ_CHECK(strlen((const char *)out) == out_len);
			free(out);
		}
		for (size_t i = 0; i < l.n; i++) {
			char disp[SECRET_ID_DISPLAY_MAX];
			const struct secret_entry *a =
				pvk_secret_list_find_id(&l, l.entries[i].id, &count);

			FUZZ_CHECK(a && a <= &l.entries[i] && count >= 1);
			a = pvk_secret_list_find_index(&l, l.entries[i].index);
			FUZZ_CHECK(a && a->index == l.entries[i].index);
			pvk_secret_id_display(l.entries[i].id, disp);
			FUZZ_CHECK(strlen(disp) < sizeof(disp));
		}
	}
	if (!pvk_apcfg_parse_secrets(data, size, &s, &n, &more, &e)) {
		FUZZ_CHECK(!rc && n == l.n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(s[i].index == l.entries[i].index &&
				   !memcmp(s[i].id, l.entries[i].id, 32));
		free(s);
	} else {
		FUZZ_CHECK(rc);
	}
	if (!rc)
		pvk_secret_list_free(&l);
	return 0;
}
