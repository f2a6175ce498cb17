// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/keyslot.h"
#include "pvkit/uvreq.h"

int pvk_uvreq_build(const struct uvreq_params *p, uint8_t **out, size_t *len, struct pvk_err *e)
{
	size_t aad_len = UVREQ_HDR_LEN + p->aad_pre_len + PVK_EC_PUB_LEN +
			 p->n_hosts * PVK_KEYSLOT_LEN + p->aad_post_len;
	size_t rql = aad_len + p->conf_len + PVK_GCM_TAG_LEN;
	uint8_t *b, *q;

	*out = NULL;
	if (!p->n_hosts || p->n_hosts > UVREQ_MAX_KEYSLOTS)
		return pvk_fail(e, PVK_E_USAGE, "%zu host keys: a request takes 1 to %d", p->n_hosts,
				UVREQ_MAX_KEYSLOTS);
	if (rql > UINT32_MAX)
		return pvk_fail(e, PVK_E_USAGE, "request too large");
	b = calloc(1, rql);
	if (!b)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(b, p->magic, 8);
	put_be32(b + UVREQ_OFF_VERSION, p->version);
	put_be32(b + UVREQ_OFF_RQL, (uint32_t)rql);
	memcpy(b + UVREQ_OFF_IV, p->iv, 12);
	b[UVREQ_OFF_NKS] = (uint8_t)p->n_hosts;
	put_be32(b + UVREQ_OFF_SEA, (uint32_t)p->conf_len);
	q = b + UVREQ_HDR_LEN;
	if (p->aad_pre_len)
		memcpy(q, p->aad_pre, p->aad_pre_len);
	q += p->aad_pre_len;
	if (pvk_ec_coords(p->cust, q, e))
		goto fail;
	q += PVK_EC_PUB_LEN;
	for (size_t i = 0; i < p->n_hosts; i++, q += PVK_KEYSLOT_LEN)
		if (pvk_keyslot_build(p->cust, p->hosts[i], p->prot_key, q, e))
			goto fail;
	if (p->aad_post_len)
		memcpy(q, p->aad_post, p->aad_post_len);
	q += p->aad_post_len;
	if (pvk_gcm_encrypt(p->prot_key, p->iv, b, aad_len, p->conf, p->conf_len, q,
			    b + rql - PVK_GCM_TAG_LEN, e))
		goto fail;
	*out = b;
	*len = rql;
	return 0;
fail:
	pvk_buf_free_secret(b, rql);
	return -1;
}

int pvk_uvreq_parse(const uint8_t *buf, size_t len, size_t cust_off, struct uvreq *r,
		struct pvk_err *e)
{
	memset(r, 0, sizeof(*r));
	if (len < UVREQ_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "request truncated (%zu bytes)", len);
	r->raw = buf;
	r->version = get_be32(buf + UVREQ_OFF_VERSION);
	r->rql = get_be32(buf + UVREQ_OFF_RQL);
	r->sea = get_be32(buf + UVREQ_OFF_SEA);
	r->nks = buf[UVREQ_OFF_NKS];
	memcpy(r->iv, buf + UVREQ_OFF_IV, 12);
	if (r->rql != len)
		return pvk_fail(e, PVK_E_FORMAT, "request length field %u does not match the %zu bytes read",
				r->rql, len);
	if ((uint64_t)r->sea + PVK_GCM_TAG_LEN > r->rql ||
	    r->rql - r->sea - PVK_GCM_TAG_LEN < UVREQ_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "invalid request: encrypted area of %u bytes in %u",
				r->sea, r->rql);
	r->aad_len = r->rql - r->sea - PVK_GCM_TAG_LEN;
	if (!r->nks || cust_off + PVK_EC_PUB_LEN + (size_t)r->nks * PVK_KEYSLOT_LEN > r->aad_len)
		return pvk_fail(e, PVK_E_FORMAT, "invalid request: %u key slots do not fit", r->nks);
	r->cust_pub = buf + cust_off;
	r->keyslots = r->cust_pub + PVK_EC_PUB_LEN;
	r->enc = buf + r->aad_len;
	r->tag = buf + r->rql - PVK_GCM_TAG_LEN;
	return 0;
}

int pvk_uvreq_decrypt(const struct uvreq *r, const uint8_t prot_key[32], uint8_t *out,
		  struct pvk_err *e)
{
	if (pvk_gcm_decrypt(prot_key, r->iv, r->raw, r->aad_len, r->enc, r->sea, out, r->tag, e))
		return pvk_fail(e, PVK_E_AUTH, "the request does not authenticate with this key");
	return 0;
}

int pvk_uvreq_decrypt_host(const struct uvreq *r, EVP_PKEY *host_priv, uint8_t *out, int *slot,
		       struct pvk_err *e)
{
	uint8_t phkh[32];

	if (pvk_ec_phkh(host_priv, phkh, e))
		return -1;
	return pvk_uvreq_decrypt_with(r, host_priv, phkh, out, slot, e);
}

int pvk_uvreq_decrypt_with(const struct uvreq *r, EVP_PKEY *host_priv, const uint8_t phkh[32],
			   uint8_t *out, int *slot, struct pvk_err *e)
{
	EVP_PKEY *cust = NULL;
	uint8_t key[32];
	int i, rc;

	i = pvk_keyslot_find(r->keyslots, r->nks, phkh);
	if (i < 0)
		return pvk_fail(e, PVK_E_AUTH, "no key slot for this host key");
	if (pvk_ec_from_coords(r->cust_pub, &cust, e))
		return pvk_fail(e, PVK_E_AUTH, "invalid customer public key");
	rc = pvk_keyslot_unwrap(host_priv, cust, r->keyslots + (size_t)i * PVK_KEYSLOT_LEN, key, e);
	EVP_PKEY_free(cust);
	if (!rc)
		rc = pvk_uvreq_decrypt(r, key, out, e);
	OPENSSL_cleanse(key, sizeof(key));
	if (!rc && slot)
		*slot = i;
	return rc;
}
