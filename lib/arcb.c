// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "pvkit/arcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"

int pvk_arcb_build(const struct arcb_params *p, uint8_t **out, size_t *len, struct pvk_err *e)
{
	uint8_t pre[16], conf[ARCB_MEAS_KEY_LEN + ARCB_NONCE_LEN];
	struct uvreq_params rp;
	int rc;

	if (p->paf & ~ARCB_PAF_KNOWN)
		return pvk_fail(e, PVK_E_USAGE, "unknown attestation flags 0x%016llx",
				(unsigned long long)(p->paf & ~ARCB_PAF_KNOWN));
	put_be64(pre, p->paf);
	put_be32(pre + 8, ARCB_MAI_HMAC_SHA512);
	put_be32(pre + 12, 0);
	memcpy(conf, p->meas_key, ARCB_MEAS_KEY_LEN);
	memcpy(conf + ARCB_MEAS_KEY_LEN, p->nonce, ARCB_NONCE_LEN);
	memset(&rp, 0, sizeof(rp));
	/* The ARCB magic is eight zero bytes. */
	rp.version = UVREQ_VERSION_V1;
	memcpy(rp.iv, p->iv, 12);
	memcpy(rp.prot_key, p->arpk, 32);
	rp.cust = p->cust;
	rp.hosts = p->hosts;
	rp.n_hosts = p->n_hosts;
	rp.aad_pre = pre;
	rp.aad_pre_len = sizeof(pre);
	rp.conf = conf;
	rp.conf_len = (p->paf & ARCB_PAF_NONCE) ? sizeof(conf) : ARCB_MEAS_KEY_LEN;
	rc = pvk_uvreq_build(&rp, out, len, e);
	OPENSSL_cleanse(conf, sizeof(conf));
	OPENSSL_cleanse(&rp, sizeof(rp));
	return rc;
}

int pvk_arcb_parse(const uint8_t *buf, size_t len, struct uvreq *r, uint64_t *paf, uint32_t *mai,
	       struct pvk_err *e)
{
	static const uint8_t zero[8];

	if (len > ARCB_MAX_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "attestation request too large (%zu bytes)", len);
	if (len < ARCB_OFF_CUST || memcmp(buf, zero, 8))
		return pvk_fail(e, PVK_E_FORMAT, "not an attestation request");
	if (pvk_uvreq_parse(buf, len, ARCB_OFF_CUST, r, e))
		return -1;
	if (r->version != UVREQ_VERSION_V1)
		return pvk_fail(e, PVK_E_FORMAT, "unsupported attestation request version 0x%08x",
				r->version);
	*paf = get_be64(buf + ARCB_OFF_PAF);
	*mai = get_be32(buf + ARCB_OFF_MAI);
	return 0;
}

static int content_from(uint64_t paf, uint32_t mai, const struct uvreq *r, const uint8_t *plain,
			struct arcb_content *c, struct pvk_err *e)
{
	size_t want = ARCB_MEAS_KEY_LEN + ((paf & ARCB_PAF_NONCE) ? ARCB_NONCE_LEN : 0);

	if (r->sea != want)
		return pvk_fail(e, PVK_E_FORMAT, "attestation request: encrypted area of %u bytes, %zu expected",
				r->sea, want);
	c->paf = paf;
	c->mai = mai;
	memcpy(c->meas_key, plain, ARCB_MEAS_KEY_LEN);
	c->has_nonce = !!(paf & ARCB_PAF_NONCE);
	if (c->has_nonce)
		memcpy(c->nonce, plain + ARCB_MEAS_KEY_LEN, ARCB_NONCE_LEN);
	return 0;
}

int pvk_arcb_open(const uint8_t *buf, size_t len, const uint8_t arpk[32], struct arcb_content *c,
	      struct pvk_err *e)
{
	uint8_t plain[ARCB_MEAS_KEY_LEN + ARCB_NONCE_LEN];
	struct uvreq r;
	uint64_t paf;
	uint32_t mai;
	int rc;

	memset(c, 0, sizeof(*c));
	if (pvk_arcb_parse(buf, len, &r, &paf, &mai, e))
		return -1;
	if (r.sea > sizeof(plain))
		return pvk_fail(e, PVK_E_FORMAT, "attestation request: encrypted area of %u bytes", r.sea);
	if (pvk_uvreq_decrypt(&r, arpk, plain, e))
		return pvk_fail(e, PVK_E_AUTH,
				"the attestation request does not decrypt with this protection key (wrong --arpk?)");
	rc = content_from(paf, mai, &r, plain, c, e);
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc;
}

size_t pvk_attest_add_size(uint64_t paf)
{
	return ((paf & ARCB_PAF_PHKH_IMG) ? ATTEST_PHKH_LEN : 0) +
	       ((paf & ARCB_PAF_PHKH_ATT) ? ATTEST_PHKH_LEN : 0) +
	       ((paf & ARCB_PAF_SECRET_STORE_HASH) ? ATTEST_SSH_LEN : 0) +
	       ((paf & ARCB_PAF_FIRMWARE_STATE) ? ATTEST_FW_STATE_LEN : 0);
}

int pvk_attest_measure(const uint8_t key[ARCB_MEAS_KEY_LEN], const struct attest_items *it,
		   uint8_t out[ARCB_MEAS_LEN], struct pvk_err *e)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	uint8_t lens[8];
	size_t olen = 0;
	int ok;

	put_be16(lens, (uint16_t)it->user_len);
	put_be16(lens + 2, 0);
	put_be32(lens + 4, (uint32_t)it->add_len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA512", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, key, ARCB_MEAS_KEY_LEN, params) == 1 &&
	     EVP_MAC_update(ctx, it->pld, 64) == 1 && EVP_MAC_update(ctx, it->ald, 64) == 1 &&
	     EVP_MAC_update(ctx, it->tld, 64) == 1 && EVP_MAC_update(ctx, it->tag, 16) == 1 &&
	     EVP_MAC_update(ctx, it->cuid, 16) == 1 && EVP_MAC_update(ctx, lens, 8) == 1 &&
	     (!it->user_len || EVP_MAC_update(ctx, it->user, it->user_len) == 1) &&
	     (!it->nonce || EVP_MAC_update(ctx, it->nonce, ARCB_NONCE_LEN) == 1) &&
	     (!it->add_len || EVP_MAC_update(ctx, it->add, it->add_len) == 1) &&
	     EVP_MAC_final(ctx, out, &olen, ARCB_MEAS_LEN) == 1 && olen == ARCB_MEAS_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (!ok)
		return pvk_fail_ssl(e, "HMAC-SHA512 failed");
	return 0;
}

void pvk_attest_split_add(uint64_t paf, const uint8_t *add, size_t len, struct attest_add_fields *f)
{
	size_t pos = 0;

	memset(f, 0, sizeof(*f));
#define TAKE(flag, field, n)                       \
	if ((paf & (flag)) && pos + (n) <= len) {  \
		f->field = add + pos;              \
		pos += (n);                        \
	}
	TAKE(ARCB_PAF_PHKH_IMG, image_phkh, ATTEST_PHKH_LEN)
	TAKE(ARCB_PAF_PHKH_ATT, att_phkh, ATTEST_PHKH_LEN)
	TAKE(ARCB_PAF_SECRET_STORE_HASH, secret_store_hash, ATTEST_SSH_LEN)
	TAKE(ARCB_PAF_FIRMWARE_STATE, firmware_state, ATTEST_FW_STATE_LEN)
#undef TAKE
	if (pos < len) {
		f->unrecognized = add + pos;
		f->unrecognized_len = len - pos;
	}
}

void pvk_attest_secret_store_hash(const uint8_t (*tags)[16], size_t n, int locked, uint8_t out[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t l = locked ? 1 : 0;

	EVP_DigestInit_ex(ctx, EVP_sha512(), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, tags[i], 16);
	EVP_DigestUpdate(ctx, &l, 1);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}
