// SPDX-License-Identifier: MIT
/* pvk_uvreq_parse, the request envelope under the ARCB and the ASRCB. The first input byte picks
 * where the customer key sits (0: an ARCB's 0x40, 1: an ASRCB's 0x418, else 8 * byte); the
 * rest is the request. On success the pointers are checked and read, and the request is
 * decrypted with the protection key and through the host's key slot. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_common.h"
#include "pvkit/arcb.h"
#include "pvkit/asrcb.h"
#include "pvkit/crypto.h"
#include "pvkit/keyslot.h"
#include "pvkit/uvreq.h"

#define HOST "pvkit-fuzz-host"

static size_t cust_off_of(uint8_t sel)
{
	return sel == 0 ? ARCB_OFF_CUST : sel == 1 ? ASRCB_OFF_CUST : (size_t)sel * 8;
}

static void seed_one(const char *name, uint8_t sel, size_t n_hosts, size_t conf_len)
{
	EVP_PKEY *hosts[2] = { fuzz_key("pvkit-fuzz-other"), fuzz_key(HOST) };
	uint8_t pre[ASRCB_OFF_CUST], post[48], conf[96], *req, *seed;
	struct uvreq_params p;
	struct pvk_err e;
	size_t len;

	memset(&p, 0, sizeof(p));
	memset(pre, 0xa5, sizeof(pre));
	memset(post, 0x5a, sizeof(post));
	memset(conf, 0x77, sizeof(conf));
	if (sel == 1)
		memcpy(p.magic, ASRCB_MAGIC, 6);
	p.version = UVREQ_VERSION_V1;
	memset(p.iv, 0x55, 12);
	memcpy(p.prot_key, fuzz_prot_key, 32);
	p.cust = fuzz_key("pvkit-fuzz-cust");
	p.hosts = n_hosts == 1 ? &hosts[1] : hosts;
	p.n_hosts = n_hosts;
	p.aad_pre = pre;
	p.aad_pre_len = cust_off_of(sel) - UVREQ_HDR_LEN;
	p.aad_post = post;
	p.aad_post_len = sel == 1 ? 48 : 0;
	p.conf = conf;
	p.conf_len = conf_len;
	if (pvk_uvreq_build(&p, &req, &len, &e))
		abort();
	seed = malloc(len + 1);
	seed[0] = sel;
	memcpy(seed + 1, req, len);
	fuzz_seed(name, seed, len + 1);
	free(seed);
	free(req);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_key(HOST);
	if (fuzz_seed_dir()) {
		seed_one("arcb-like", 0, 1, 64);
		seed_one("arcb-like-2-hosts", 0, 2, 80);
		seed_one("asrcb-like", 1, 2, 64);
		seed_one("offset-0x80", 16, 1, 0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvk_err e;
	struct uvreq r;
	size_t cust_off;
	uint8_t *plain;
	int slot = -1;

	if (!size)
		return 0;
	cust_off = cust_off_of(data[0]);
	data++;
	size--;
	if (pvk_uvreq_parse(data, size, cust_off, &r, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(r.raw == data && r.rql == size && r.nks >= 1);
	FUZZ_CHECK(r.aad_len >= UVREQ_HDR_LEN && r.aad_len + r.sea + PVK_GCM_TAG_LEN == r.rql);
	FUZZ_CHECK(r.cust_pub == data + cust_off && r.keyslots == r.cust_pub + PVK_EC_PUB_LEN);
	FUZZ_CHECK(r.keyslots + (size_t)r.nks * PVK_KEYSLOT_LEN <= data + r.aad_len);
	FUZZ_CHECK(r.enc == data + r.aad_len && r.tag == r.enc + r.sea);
	fuzz_touch(r.cust_pub, PVK_EC_PUB_LEN);
	fuzz_touch(r.keyslots, (size_t)r.nks * PVK_KEYSLOT_LEN);
	fuzz_touch(r.enc, r.sea);
	fuzz_touch(r.tag, PVK_GCM_TAG_LEN);

	plain = malloc(r.sea ? r.sea : 1);
	FUZZ_CHECK(plain != NULL);
	if (pvk_uvreq_decrypt(&r, fuzz_prot_key, plain, &e))
		FUZZ_CHECK(e.code == PVK_E_AUTH);
	else
		fuzz_touch(plain, r.sea);
	if (!pvk_uvreq_decrypt_host(&r, fuzz_key(HOST), plain, &slot, &e)) {
		FUZZ_CHECK(slot >= 0 && slot < r.nks);
		fuzz_touch(plain, r.sea);
	}
	OPENSSL_cleanse(plain, r.sea ? r.sea : 1);
	free(plain);
	return 0;
}
