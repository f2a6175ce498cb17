// SPDX-License-Identifier: MIT
/* pvk_exch_parse, the pvattest exchange format; on success every item is read, the response
 * check and the ARCB parser run on what it holds, the additional data is split by the ARCB's
 * flags, and writing the parsed file back must parse to the same items. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/arcb.h"
#include "pvkit/exchange.h"

static void write_seeds(void)
{
	EVP_PKEY *host = fuzz_key("pvkit-fuzz-host");
	uint8_t meas[64], add[448], user[256], cuid[16], *arcb, *out;
	struct arcb_params ap;
	struct pvk_err e;
	struct exch x;
	size_t alen, len;

	memset(&ap, 0, sizeof(ap));
	ap.cust = fuzz_key("pvkit-fuzz-cust");
	ap.hosts = &host;
	ap.n_hosts = 1;
	memcpy(ap.arpk, fuzz_prot_key, 32);
	ap.paf = ARCB_PAF_NONCE | ARCB_PAF_ADD_DATA;
	if (pvk_arcb_build(&ap, &arcb, &alen, &e))
		abort();
	memset(meas, 0x4d, sizeof(meas));
	memset(add, 0xad, sizeof(add));
	memset(user, 0x55, sizeof(user));
	memset(cuid, 0x42, sizeof(cuid));
	for (int k = 0; k < 3; k++) {
		char name[32];

		memset(&x, 0, sizeof(x));
		x.it[EXCH_ARCB] = (struct exch_item){ (uint32_t)alen, arcb };
		if (k == 0) {         /* a request: expected sizes only */
			x.it[EXCH_MEAS].size = 64;
			x.it[EXCH_ADD].size = sizeof(add);
		} else {              /* a response */
			x.it[EXCH_MEAS] = (struct exch_item){ 64, meas };
			x.it[EXCH_ADD] = (struct exch_item){ sizeof(add), add };
			x.it[EXCH_CUID] = (struct exch_item){ 16, cuid };
		}
		if (k == 2)
			x.it[EXCH_USER] = (struct exch_item){ sizeof(user), user };
		if (pvk_exch_write(&x, &out, &len, &e))
			abort();
		snprintf(name, sizeof(name), "exchange-%d", k);
		fuzz_seed(name, out, len);
		free(out);
	}
	free(arcb);
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_add_fields f;
	struct exch x, y;
	struct pvk_err e;
	struct uvreq r;
	uint64_t paf = ~0ull;
	uint32_t mai;
	uint8_t *out;
	size_t len;

	if (pvk_exch_parse(data, size, &x, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(x.it[EXCH_ARCB].data != NULL);
	for (int i = 0; i < EXCH_N; i++) {
		if (!x.it[i].data)
			continue;
		FUZZ_CHECK(x.it[i].data >= data + 0x40 && x.it[i].data + x.it[i].size <= data + size);
		fuzz_touch(x.it[i].data, x.it[i].size);
	}
	(void)pvk_exch_check_response(&x, &e);
	if (!pvk_arcb_parse(x.it[EXCH_ARCB].data, x.it[EXCH_ARCB].size, &r, &paf, &mai, &e))
		fuzz_touch(r.keyslots, (size_t)r.nks * 80);
	if (x.it[EXCH_ADD].data) {
		pvk_attest_split_add(paf, x.it[EXCH_ADD].data, x.it[EXCH_ADD].size, &f);
		if (f.image_phkh)
			fuzz_touch(f.image_phkh, 32);
		if (f.att_phkh)
			fuzz_touch(f.att_phkh, 32);
		if (f.secret_store_hash)
			fuzz_touch(f.secret_store_hash, 64);
		if (f.firmware_state)
			fuzz_touch(f.firmware_state, 320);
		if (f.unrecognized)
			fuzz_touch(f.unrecognized, f.unrecognized_len);
	}

	/* Round trip. */
	FUZZ_CHECK(pvk_exch_write(&x, &out, &len, &e) == 0);
	FUZZ_CHECK(pvk_exch_parse(out, len, &y, &e) == 0);
	for (int i = 0; i < EXCH_N; i++) {
		FUZZ_CHECK(x.it[i].size == y.it[i].size);
		FUZZ_CHECK(!x.it[i].data == !y.it[i].data);
		if (x.it[i].data)
			FUZZ_CHECK(!memcmp(x.it[i].data, y.it[i].data, x.it[i].size));
	}
	free(out);
	return 0;
}
