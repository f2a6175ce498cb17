// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/keyslot.h"

#define AAD_PRE_LEN (ASRCB_OFF_CUST - UVREQ_HDR_LEN)
#define SECRET_HDR_META 16
#define SECRET_HDR_LISTABLE 48

static const char ext_info[] = "IBM Z Ultravisor Add-Secret";

const char *pvk_secret_type_name(uint16_t type, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ SECRET_ASSOCIATION, "Association" },
		{ SECRET_PLAINTEXT, "PLAINTEXT" },
		{ SECRET_AES_128, "AES-128-KEY" },
		{ SECRET_AES_192, "AES-192-KEY" },
		{ SECRET_AES_256, "AES-256-KEY" },
		{ SECRET_AES_XTS_128, "AES-XTS-128-KEY" },
		{ SECRET_AES_XTS_256, "AES-XTS-256-KEY" },
		{ SECRET_HMAC_SHA_256, "HMAC-SHA-256-KEY" },
		{ SECRET_HMAC_SHA_512, "HMAC-SHA-512-KEY" },
		{ SECRET_EC_P256, "EC-SECP256R1-PRIVATE-KEY" },
		{ SECRET_EC_P384, "EC-SECP384R1-PRIVATE-KEY" },
		{ SECRET_EC_P521, "EC-SECP521R1-PRIVATE-KEY" },
		{ SECRET_ED25519, "EC-ED25519-PRIVATE-KEY" },
		{ SECRET_ED448, "EC-ED448-PRIVATE-KEY" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	if (type == 0 || type == SECRET_NULL || type == SECRET_UPDATE_CCK)
		snprintf(buf, len, "Invalid(0x%04x)", type);
	else
		snprintf(buf, len, "Unknown(0x%04x)", type);
	return buf;
}

int pvk_secret_type_len(uint16_t type)
{
	switch (type) {
	case SECRET_NULL: return 0;
	case SECRET_ASSOCIATION: return 32;
	case SECRET_AES_128: return 16;
	case SECRET_AES_192: return 24;
	case SECRET_AES_256: return 32;
	case SECRET_AES_XTS_128: return 32;
	case SECRET_AES_XTS_256: return 64;
	case SECRET_HMAC_SHA_256: return 64;
	case SECRET_HMAC_SHA_512: return 128;
	case SECRET_EC_P256: return 32;
	case SECRET_EC_P384: return 48;
	case SECRET_EC_P521: return 80;
	case SECRET_ED25519: return 32;
	case SECRET_ED448: return 64;
	case SECRET_UPDATE_CCK: return 32;
	default: return -1;
	}
}

int pvk_asrcb_build(const struct asrcb_params *p, uint8_t **out, size_t *len, struct pvk_err *e)
{
	uint8_t pre[AAD_PRE_LEN], shdr[SECRET_HDR_LISTABLE], *conf;
	size_t shdr_len = p->secret_type == SECRET_NULL ? SECRET_HDR_META : SECRET_HDR_LISTABLE;
	size_t conf_len = (size_t)p->value_len + ASRCB_EXT_SECRET_LEN;
	struct uvreq_params rp;
	int rc;

	if (p->user_type > ASRCB_USER_RSA_3072)
		return pvk_fail(e, PVK_E_USAGE, "unknown user-data type %u", p->user_type);
	memset(pre, 0, sizeof(pre));
	put_be64(pre + ASRCB_OFF_FLAGS - UVREQ_HDR_LEN, p->flags);
	memcpy(pre + ASRCB_OFF_PLD - UVREQ_HDR_LEN, p->pld, 64);
	memcpy(pre + ASRCB_OFF_ALD - UVREQ_HDR_LEN, p->ald, 64);
	memcpy(pre + ASRCB_OFF_TLD - UVREQ_HDR_LEN, p->tld, 64);
	memcpy(pre + ASRCB_OFF_TAG - UVREQ_HDR_LEN, p->tag, 16);
	memcpy(pre + ASRCB_OFF_CUID - UVREQ_HDR_LEN, p->cuid, 16);
	memcpy(pre + ASRCB_OFF_USER - UVREQ_HDR_LEN, p->user_data, ASRCB_USER_LEN);
	memset(shdr, 0, sizeof(shdr));
	put_be16(shdr + 2, p->secret_type);
	put_be32(shdr + 4, p->value_len);
	if (shdr_len == SECRET_HDR_LISTABLE)
		memcpy(shdr + 16, p->secret_id, 32);
	conf = malloc(conf_len);
	if (!conf)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (p->value_len)
		memcpy(conf, p->value, p->value_len);
	memcpy(conf + p->value_len, p->ext_secret, ASRCB_EXT_SECRET_LEN);
	memset(&rp, 0, sizeof(rp));
	memcpy(rp.magic, ASRCB_MAGIC, 6);
	put_be16(rp.magic + 6, p->user_type);
	rp.version = UVREQ_VERSION_V1;
	memcpy(rp.iv, p->iv, 12);
	memcpy(rp.prot_key, p->prot_key, 32);
	rp.cust = p->cust;
	rp.hosts = p->hosts;
	rp.n_hosts = p->n_hosts;
	rp.aad_pre = pre;
	rp.aad_pre_len = sizeof(pre);
	rp.aad_post = shdr;
	rp.aad_post_len = shdr_len;
	rp.conf = conf;
	rp.conf_len = conf_len;
	rc = pvk_uvreq_build(&rp, out, len, e);
	OPENSSL_cleanse(&rp, sizeof(rp));
	pvk_buf_free_secret(conf, conf_len);
	return rc;
}

int pvk_asrcb_parse(const uint8_t *buf, size_t len, struct asrcb_view *v, struct pvk_err *e)
{
	const uint8_t *shdr;
	size_t slots_end;

	memset(v, 0, sizeof(*v));
	if (len > ASRCB_MAX_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "add-secret request too large (%zu bytes)", len);
	if (len < 8 || memcmp(buf, ASRCB_MAGIC, 6))
		return pvk_fail(e, PVK_E_FORMAT, "not an add-secret request (magic 'asrcbM' missing)");
	v->user_type = get_be16(buf + 6);
	if (v->user_type > ASRCB_USER_RSA_3072)
		return pvk_fail(e, PVK_E_FORMAT, "add-secret request: unknown user-data type %u",
				v->user_type);
	if (pvk_uvreq_parse(buf, len, ASRCB_OFF_CUST, &v->r, e))
		return -1;
	if (v->r.version != UVREQ_VERSION_V1)
		return pvk_fail(e, PVK_E_FORMAT, "unsupported add-secret request version 0x%08x",
				v->r.version);
	slots_end = ASRCB_OFF_CUST + 160 + (size_t)v->r.nks * 80;
	if (v->r.aad_len < slots_end + SECRET_HDR_META)
		return pvk_fail(e, PVK_E_FORMAT, "add-secret request: no secret header");
	v->flags = get_be64(buf + ASRCB_OFF_FLAGS);
	v->pld = buf + ASRCB_OFF_PLD;
	v->ald = buf + ASRCB_OFF_ALD;
	v->tld = buf + ASRCB_OFF_TLD;
	v->tag = buf + ASRCB_OFF_TAG;
	v->cuid = buf + ASRCB_OFF_CUID;
	v->user_data = buf + ASRCB_OFF_USER;
	shdr = buf + slots_end;
	v->secret_type = get_be16(shdr + 2);
	v->secret_len = get_be32(shdr + 4);
	v->secret_hdr_len = v->r.aad_len - slots_end;
	if (v->secret_hdr_len == SECRET_HDR_LISTABLE)
		v->secret_id = shdr + 16;
	else if (v->secret_hdr_len != SECRET_HDR_META)
		return pvk_fail(e, PVK_E_FORMAT, "add-secret request: secret header of %zu bytes",
				v->secret_hdr_len);
	if ((uint64_t)v->secret_len + ASRCB_EXT_SECRET_LEN != v->r.sea)
		return pvk_fail(e, PVK_E_FORMAT,
				"add-secret request: secret of %u bytes in an encrypted area of %u",
				v->secret_len, v->r.sea);
	return 0;
}

int pvk_asrcb_derive_ext_secret(const uint8_t cck[32], const uint8_t tag[16], uint8_t out[32],
			    struct pvk_err *e)
{
	return pvk_hkdf_sha512(cck, 32, tag, 16, (const uint8_t *)ext_info, sizeof(ext_info) - 1,
			       out, 32, e);
}
