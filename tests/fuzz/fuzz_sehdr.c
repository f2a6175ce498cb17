// SPDX-License-Identifier: MIT
/* pvk_sehdr_parse on untrusted bytes; on success the pointers it hands out are checked and read,
 * the UV's key-slot lookup runs with the harness's host key, and the encrypted area is
 * authenticated (seeds are built for that key, so the decrypting path runs too). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_common.h"
#include "pvkit/crypto.h"
#include "pvkit/hdrinfo.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"

#define HOST "pvkit-fuzz-host"

static void write_seeds(void)
{
	EVP_PKEY *hosts[3] = { fuzz_key("pvkit-fuzz-other"), fuzz_key(HOST),
			       fuzz_key("pvkit-fuzz-other2") };
	static const size_t n_hosts[] = { 1, 2, 3 };
	struct sehdr_params p;
	struct pvk_err e;

	for (size_t i = 0; i < sizeof(n_hosts) / sizeof(n_hosts[0]); i++) {
		char name[32];
		uint8_t *hdr;
		size_t len;

		memset(&p, 0, sizeof(p));
		p.cust = fuzz_key("pvkit-fuzz-cust");
		p.hosts = i == 0 ? &hosts[1] : hosts;
		p.n_hosts = n_hosts[i];
		memset(p.iv, 0x55, sizeof(p.iv));
		memcpy(p.hdr_key, fuzz_prot_key, 32);
		p.nep = 3 + i;
		p.pcf = i == 1 ? PCF_ALLOW_DUMP | PCF_PCKMO_DEFAULT : 0;
		memset(p.pld, 1, 64);
		memset(p.ald, 2, 64);
		memset(p.tld, 3, 64);
		memset(p.sec.cck, 0x31, 32);
		memset(p.sec.xts_key, 0x42, 64);
		p.sec.psw_mask = PSW_MASK_DEFAULT;
		p.sec.psw_addr = 0x10000;
		p.sec.scf = i == 2 ? SCF_KNOWN : 0;
		if (pvk_sehdr_build(&p, &hdr, &len, &e))
			abort();
		snprintf(name, sizeof(name), "built-%zu-hosts", n_hosts[i]);
		fuzz_seed(name, hdr, len);
		free(hdr);
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

/* The viewer's parse (pvimg info) takes more; whatever it takes prints in both formats. */
static void view(const uint8_t *data, size_t size)
{
	static const struct hdrinfo_meta meta = { "0", "fuzz", 0 };
	struct pvk_err e;
	struct sehdr h;
	char *json;
	FILE *null;

	if (pvk_sehdr_parse_view(data, size, &h, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return;
	}
	FUZZ_CHECK(h.tag == h.enc + h.sea && h.tag + SEHDR_TAG_LEN == data + h.sehs);
	FUZZ_CHECK(h.enc == h.keyslots + h.nks * PVK_KEYSLOT_LEN);
	null = fopen("/dev/null", "w");
	FUZZ_CHECK(null && !pvk_hdrinfo_write_text(null, &h, NULL, HDRINFO_NOT_VERIFIED, 1));
	fclose(null);
	FUZZ_CHECK(!pvk_hdrinfo_json(&h, NULL, HDRINFO_NOT_VERIFIED, &meta, 1, &json, &e));
	FUZZ_CHECK(json[strlen(json) - 1] == '\n');
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sehdr_secrets sec;
	struct pvk_err e;
	struct sehdr h;
	uint8_t key[32];

	view(data, size);
	if (pvk_sehdr_parse(data, size, &h, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	/* Everything the header points at lies inside its sehs bytes, in order. */
	FUZZ_CHECK(h.raw == data && h.sehs <= size && h.version == SEHDR_VERSION_V1);
	FUZZ_CHECK(h.nks >= 1 && h.sea >= SEHDR_SEA_V1 && h.sea % 16 == 0);
	FUZZ_CHECK(h.keyslots == data + SEHDR_OFF_KEYSLOTS);
	FUZZ_CHECK(h.enc == h.keyslots + h.nks * PVK_KEYSLOT_LEN);
	FUZZ_CHECK(h.tag == h.enc + h.sea && h.tag + SEHDR_TAG_LEN == data + h.sehs);
	fuzz_touch(h.cust_pub, PVK_EC_PUB_LEN);
	fuzz_touch(h.pld, 64);
	fuzz_touch(h.ald, 64);
	fuzz_touch(h.tld, 64);
	fuzz_touch(h.keyslots, h.nks * PVK_KEYSLOT_LEN);
	fuzz_touch(h.enc, h.sea);
	fuzz_touch(h.tag, SEHDR_TAG_LEN);

	/* The UV's side: our host's slot, then the header key it wraps. */
	if (pvk_sehdr_unwrap_key(&h, fuzz_key(HOST), key, &e)) {
		FUZZ_CHECK(e.msg[0]);
		memcpy(key, fuzz_prot_key, 32);
	}
	if (!pvk_sehdr_decrypt(&h, key, &sec, &e)) {
		FUZZ_CHECK(sec.noi == 0 && h.sea == SEHDR_SEA_V1);
		fuzz_touch(&sec, sizeof(sec));
	} else {
		FUZZ_CHECK(e.code == PVK_E_AUTH || e.code == PVK_E_FORMAT);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(&sec, sizeof(sec));
	return 0;
}
