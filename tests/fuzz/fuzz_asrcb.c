// SPDX-License-Identifier: MIT
/* pvk_asrcb_parse; on success the view's pointers are checked and read, the request is opened
 * with the protection key of IBM's vectors and the seeds ([0x17; 32]), and pvsecret verify's
 * user-data check runs without a key and with a key of the request's user-data type (the
 * seeds include requests signed with those keys, so verification succeeds on them). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_common.h"
#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/keyslot.h"
#include "pvkit/secret.h"

#define HOST "pvkit-fuzz-host"

static EVP_PKEY *user_key(uint16_t type)
{
	switch (type) {
	case ASRCB_USER_ECDSA_P521: return fuzz_key("pvkit-fuzz-user");
	case ASRCB_USER_RSA_2048: return fuzz_rsa_key(2048);
	case ASRCB_USER_RSA_3072: return fuzz_rsa_key(3072);
	default: return NULL;
	}
}

static void write_seeds(void)
{
	static const struct {
		uint16_t type, user;
		uint32_t len;
		uint64_t flags;
	} s[] = {
		{ SECRET_NULL, ASRCB_USER_NONE, 0, 0 },
		{ SECRET_ASSOCIATION, ASRCB_USER_UNSIGNED, 32, 0 },
		{ SECRET_PLAINTEXT, ASRCB_USER_NONE, 48, ASRCB_FLAG_DISABLE_DUMP },
		{ SECRET_AES_256, ASRCB_USER_ECDSA_P521, 32, 0 },
		{ SECRET_HMAC_SHA_512, ASRCB_USER_RSA_2048, 128, 0 },
		{ SECRET_EC_P521, ASRCB_USER_RSA_3072, 80, 0 },
		{ SECRET_UPDATE_CCK, ASRCB_USER_NONE, 32, 0 },
	};
	EVP_PKEY *hosts[2] = { fuzz_key("pvkit-fuzz-other"), fuzz_key(HOST) };
	uint8_t value[128];
	struct asrcb_params p;
	struct pvk_err e;

	memset(value, 0x11, sizeof(value));
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		char name[32];
		uint8_t *req;
		size_t len;
		int rc;

		memset(&p, 0, sizeof(p));
		p.cust = fuzz_key("pvkit-fuzz-cust");
		p.hosts = i % 2 ? hosts : &hosts[1];
		p.n_hosts = i % 2 ? 2 : 1;
		memset(p.iv, 0x55, 12);
		memcpy(p.prot_key, fuzz_prot_key, 32);
		p.flags = s[i].flags;
		memset(p.pld, 1, 64);
		memset(p.ald, 2, 64);
		memset(p.tld, 3, 64);
		memset(p.tag, 4, 16);
		memset(p.cuid, i % 3 ? 0x42 : 0, 16);
		p.user_type = s[i].user;
		memset(p.user_data, 0x33, sizeof(p.user_data));
		p.secret_type = s[i].type;
		pvk_secret_id_from_name("fuzz", i % 2, p.secret_id);
		p.value = value;
		p.value_len = s[i].len;
		memset(p.ext_secret, 0x17, sizeof(p.ext_secret));
		if (s[i].user >= ASRCB_USER_ECDSA_P521)
			rc = pvk_asrcb_build_signed(&p, user_key(s[i].user), &req, &len, &e);
		else
			rc = pvk_asrcb_build(&p, &req, &len, &e);
		if (rc)
			abort();
		snprintf(name, sizeof(name), "asrcb-%zu", i);
		fuzz_seed(name, req, len);
		free(req);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_key(HOST);
	for (uint16_t t = ASRCB_USER_ECDSA_P521; t <= ASRCB_USER_RSA_3072; t++)
		user_key(t);
	if (fuzz_seed_dir())
		write_seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t user[ASRCB_USER_LEN], *plain;
	size_t slots_end, user_len;
	struct asrcb_view v;
	struct pvk_err e;
	char tbuf[32];

	/* pvsecret verify (its own envelope checks): without a key, and with one of the
	 * request's user-data type. */
	if (!pvk_asrcb_verify_user_data(data, size, NULL, user, &user_len, &e))
		FUZZ_CHECK(user_len == 0 || user_len == ASRCB_USER_LEN);
	if (size >= 8 && user_key(get_be16(data + 6)) &&
	    !pvk_asrcb_verify_user_data(data, size, user_key(get_be16(data + 6)), user, &user_len, &e))
		FUZZ_CHECK(user_len == pvk_asrcb_user_data_max(get_be16(data + 6)));

	if (pvk_asrcb_parse(data, size, &v, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(v.r.rql == size && v.r.version == UVREQ_VERSION_V1);
	FUZZ_CHECK(v.user_type <= ASRCB_USER_RSA_3072);
	slots_end = ASRCB_OFF_CUST + PVK_EC_PUB_LEN + (size_t)v.r.nks * PVK_KEYSLOT_LEN;
	FUZZ_CHECK(slots_end + v.secret_hdr_len == v.r.aad_len);
	FUZZ_CHECK(v.secret_hdr_len == 16 || v.secret_hdr_len == 48);
	FUZZ_CHECK((v.secret_id != NULL) == (v.secret_hdr_len == 48));
	FUZZ_CHECK((uint64_t)v.secret_len + ASRCB_EXT_SECRET_LEN == v.r.sea);
	fuzz_touch(v.pld, 64);
	fuzz_touch(v.ald, 64);
	fuzz_touch(v.tld, 64);
	fuzz_touch(v.tag, 16);
	fuzz_touch(v.cuid, 16);
	fuzz_touch(v.user_data, ASRCB_USER_LEN);
	if (v.secret_id)
		fuzz_touch(v.secret_id, 32);
	(void)pvk_secret_type_name(v.secret_type, tbuf, sizeof(tbuf));
	(void)pvk_secret_type_len(v.secret_type);
	(void)pvk_asrcb_user_type_name(v.user_type);

	plain = malloc(v.r.sea);
	FUZZ_CHECK(plain != NULL);
	if (!pvk_uvreq_decrypt(&v.r, fuzz_prot_key, plain, &e)) {
		fuzz_touch(plain, v.secret_len);                         /* the value */
		fuzz_touch(plain + v.secret_len, ASRCB_EXT_SECRET_LEN);  /* the extension secret */
	} else {
		FUZZ_CHECK(e.code == PVK_E_AUTH);
	}
	OPENSSL_cleanse(plain, v.r.sea);
	free(plain);

	return 0;
}
