// SPDX-License-Identifier: MIT
/* pvk_ipib_decode on untrusted bytes; a decoded IPIB must encode and decode to the same. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/image.h"

static void write_seeds(void)
{
	struct seimg_ipib ip;
	uint8_t buf[IPIB_HDR_LEN + IPIB_MAX_COMPS * IPIB_COMP_LEN];
	static const uint32_t counts[] = { 1, 3, IPIB_MAX_COMPS };

	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		char name[32];

		memset(&ip, 0, sizeof(ip));
		ip.num_comp = counts[k];
		ip.hdr_addr = 0x14000 + k * 0x1000;
		ip.hdr_size = 0x280;
		for (uint32_t i = 0; i < ip.num_comp; i++) {
			ip.comps[i].tweak_pref = (uint64_t)(40 + 10 * (i % 4)) << 56 | i;
			ip.comps[i].addr = 0x20000 + (uint64_t)i * 0x100000;
			ip.comps[i].len = 0x1000 * (i + 1);
		}
		pvk_ipib_encode(&ip, buf);
		snprintf(name, sizeof(name), "ipib-%u", ip.num_comp);
		fuzz_seed(name, buf, pvk_ipib_size(ip.num_comp));
	}
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seimg_ipib ip, again;
	struct pvk_err e;
	uint8_t *enc;
	size_t n;

	if (pvk_ipib_decode(data, size, &ip, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(ip.num_comp >= 1 && ip.num_comp <= IPIB_MAX_COMPS);
	n = pvk_ipib_size(ip.num_comp);
	FUZZ_CHECK(n <= size);
	enc = malloc(n);
	FUZZ_CHECK(enc != NULL);
	pvk_ipib_encode(&ip, enc);
	FUZZ_CHECK(pvk_ipib_decode(enc, n, &again, &e) == 0);
	FUZZ_CHECK(!memcmp(&ip, &again, sizeof(ip)));
	/* The fields the decoder reads are the input's bytes. */
	FUZZ_CHECK(!memcmp(enc + IPIB_OFF_NUM_COMP, data + IPIB_OFF_NUM_COMP,
			   n - IPIB_OFF_NUM_COMP));
	free(enc);
	return 0;
}
