// SPDX-License-Identifier: MIT
/* pvk_arcb_parse and pvk_arcb_open (the owner's side, with the ARPK of IBM's vector and of the
 * harness's seeds, so opening succeeds on them); then the UV's key-slot path. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_common.h"
#include "pvkit/arcb.h"
#include "pvkit/crypto.h"
#include "pvkit/keyslot.h"

#define HOST "pvkit-fuzz-host"

static void write_seeds(void)
{
	static const uint64_t pafs[] = {
		0,
		ARCB_PAF_NONCE,
		ARCB_PAF_PHKH_IMG | ARCB_PAF_PHKH_ATT,
		ARCB_PAF_KNOWN,
	};
	EVP_PKEY *hosts[2] = { fuzz_key("pvkit-fuzz-other"), fuzz_key(HOST) };
	struct arcb_params p;
	struct pvk_err e;

	for (size_t i = 0; i < sizeof(pafs) / sizeof(pafs[0]); i++) {
		char name[32];
		uint8_t *req;
		size_t len;

		memset(&p, 0, sizeof(p));
		p.cust = fuzz_key("pvkit-fuzz-cust");
		p.hosts = i % 2 ? hosts : &hosts[1];
		p.n_hosts = i % 2 ? 2 : 1;
		memset(p.iv, 0x55, 12);
		memcpy(p.arpk, fuzz_prot_key, 32);
		memset(p.meas_key, 0x77, sizeof(p.meas_key));
		memset(p.nonce, 0xab, sizeof(p.nonce));
		p.paf = pafs[i];
		if (pvk_arcb_build(&p, &req, &len, &e))
			abort();
		snprintf(name, sizeof(name), "arcb-%zu", i);
		fuzz_seed(name, req, len);
		free(req);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_key(HOST);
	if (fuzz_seed_dir())
		write_seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t plain[ARCB_MEAS_KEY_LEN + ARCB_NONCE_LEN];
	struct arcb_content c;
	struct pvk_err e;
	struct uvreq r;
	uint64_t paf;
	uint32_t mai;
	int slot;

	if (pvk_arcb_parse(data, size, &r, &paf, &mai, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		FUZZ_CHECK(pvk_arcb_open(data, size, fuzz_prot_key, &c, &e) != 0);
		return 0;
	}
	FUZZ_CHECK(size >= ARCB_OFF_CUST && size <= ARCB_MAX_LEN && r.rql == size);
	FUZZ_CHECK(r.cust_pub == data + ARCB_OFF_CUST && r.tag + PVK_GCM_TAG_LEN == data + size);
	fuzz_touch(r.cust_pub, PVK_EC_PUB_LEN);
	fuzz_touch(r.keyslots, (size_t)r.nks * PVK_KEYSLOT_LEN);
	(void)pvk_attest_add_size(paf);

	if (!pvk_arcb_open(data, size, fuzz_prot_key, &c, &e)) {
		FUZZ_CHECK(c.paf == paf && c.mai == mai);
		FUZZ_CHECK(c.has_nonce == !!(paf & ARCB_PAF_NONCE));
		FUZZ_CHECK(r.sea == ARCB_MEAS_KEY_LEN + (c.has_nonce ? ARCB_NONCE_LEN : 0));
		fuzz_touch(&c, sizeof(c));
	} else {
		FUZZ_CHECK(e.code == PVK_E_AUTH || e.code == PVK_E_FORMAT);
	}
	/* The UV side, as uvsim does it: only an encrypted area that fits. */
	if (r.sea <= sizeof(plain) && !pvk_uvreq_decrypt_host(&r, fuzz_key(HOST), plain, &slot, &e))
		FUZZ_CHECK(slot >= 0 && slot < r.nks);
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(plain, sizeof(plain));
	return 0;
}
