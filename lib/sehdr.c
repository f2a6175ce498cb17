// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvrc.h"

size_t pvk_sehdr_size(size_t n_hosts)
{
	return SEHDR_FIXED_LEN + PVK_KEYSLOT_LEN * n_hosts + SEHDR_SEA_V1 + SEHDR_TAG_LEN;
}

static void put_secrets(uint8_t *p, const struct sehdr_secrets *s)
{
	memcpy(p, s->cck, 32);
	memcpy(p + 0x20, s->xts_key, 64);
	put_be64(p + 0x60, s->psw_mask);
	put_be64(p + 0x68, s->psw_addr);
	put_be64(p + 0x70, s->scf);
	put_be32(p + 0x78, s->noi);
	put_be32(p + 0x7c, 0);
}

int pvk_sehdr_build(const struct sehdr_params *p, uint8_t **out, size_t *len, struct pvk_err *e)
{
	size_t sehs = pvk_sehdr_size(p->n_hosts), aad_len = sehs - SEHDR_SEA_V1 - SEHDR_TAG_LEN;
	uint8_t *h, *enc;

	*out = NULL;
	if (p->n_hosts == 0)
		return pvk_fail(e, PVK_E_USAGE, "at least one host-key document is required");
	if (p->n_hosts > SEHDR_MAX_KEYSLOTS)
		return pvk_fail(e, PVK_E_USAGE,
				"too many host-key documents: %zu (the SE header holds at most %d)",
				p->n_hosts, SEHDR_MAX_KEYSLOTS);
	h = calloc(1, sehs);
	if (!h)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(h, SEHDR_MAGIC, SEHDR_MAGIC_LEN);
	put_be32(h + SEHDR_OFF_VERSION, SEHDR_VERSION_V1);
	put_be32(h + SEHDR_OFF_SEHS, (uint32_t)sehs);
	memcpy(h + SEHDR_OFF_IV, p->iv, 12);
	put_be64(h + SEHDR_OFF_NKS, p->n_hosts);
	put_be64(h + SEHDR_OFF_SEA, SEHDR_SEA_V1);
	put_be64(h + SEHDR_OFF_NEP, p->nep);
	put_be64(h + SEHDR_OFF_PCF, p->pcf);
	if (pvk_ec_coords(p->cust, h + SEHDR_OFF_CUST_PUB, e))
		goto fail;
	memcpy(h + SEHDR_OFF_PLD, p->pld, 64);
	memcpy(h + SEHDR_OFF_ALD, p->ald, 64);
	memcpy(h + SEHDR_OFF_TLD, p->tld, 64);
	for (size_t i = 0; i < p->n_hosts; i++)
		if (pvk_keyslot_build(p->cust, p->hosts[i], p->hdr_key,
				  h + SEHDR_OFF_KEYSLOTS + i * PVK_KEYSLOT_LEN, e))
			goto fail;
	enc = h + aad_len;
	put_secrets(enc, &p->sec);
	if (pvk_gcm_encrypt(p->hdr_key, p->iv, h, aad_len, enc, SEHDR_SEA_V1, enc,
			    h + sehs - SEHDR_TAG_LEN, e))
		goto fail;
	*out = h;
	*len = sehs;
	return 0;
fail:
	pvk_buf_free_secret(h, sehs);
	return -1;
}

/* strict: what the UV and the builder need (key slots, the V1 encrypted area); a viewer
 * takes any header whose parts add up to its size, as IBM's pvimg info does. */
static int parse(const uint8_t *buf, size_t len, struct sehdr *h, int strict, struct pvk_err *e)
{
	memset(h, 0, sizeof(*h));
	if (len < SEHDR_FIXED_LEN + SEHDR_TAG_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "SE header truncated (%zu bytes)", len);
	if (memcmp(buf, SEHDR_MAGIC, SEHDR_MAGIC_LEN))
		return pvk_fail(e, PVK_E_FORMAT, "not an SE header (magic 'IBMSecEx' missing)");
	h->raw = buf;
	h->version = get_be32(buf + SEHDR_OFF_VERSION);
	h->sehs = get_be32(buf + SEHDR_OFF_SEHS);
	memcpy(h->iv, buf + SEHDR_OFF_IV, 12);
	h->nks = get_be64(buf + SEHDR_OFF_NKS);
	h->sea = get_be64(buf + SEHDR_OFF_SEA);
	h->nep = get_be64(buf + SEHDR_OFF_NEP);
	h->pcf = get_be64(buf + SEHDR_OFF_PCF);
	if (h->version != SEHDR_VERSION_V1)
		return pvk_fail(e, PVK_E_FORMAT, "unsupported SE header version 0x%08x (expected 0x%08x)",
				h->version, SEHDR_VERSION_V1);
	if (h->sehs <= SEHDR_TAG_LEN || h->sehs > SEHDR_READ_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "invalid SE header size %u", h->sehs);
	if (len < h->sehs)
		return pvk_fail(e, PVK_E_FORMAT, "SE header truncated: %zu of %u bytes", len, h->sehs);
	if ((strict && (h->nks == 0 || h->sea % 16)) || h->nks > h->sehs / PVK_KEYSLOT_LEN ||
	    h->sea > h->sehs)
		return pvk_fail(e, PVK_E_FORMAT, "invalid SE header: nks %llu, sea %llu",
				(unsigned long long)h->nks, (unsigned long long)h->sea);
	if (SEHDR_FIXED_LEN + h->nks * PVK_KEYSLOT_LEN + h->sea + SEHDR_TAG_LEN != h->sehs)
		return pvk_fail(e, PVK_E_FORMAT,
				"invalid SE header: size %u does not match %llu key slots and a %llu-byte encrypted area",
				h->sehs, (unsigned long long)h->nks, (unsigned long long)h->sea);
	if (strict && h->sea < SEHDR_SEA_V1)
		return pvk_fail(e, PVK_E_FORMAT, "invalid SE header: encrypted area of %llu bytes",
				(unsigned long long)h->sea);
	h->cust_pub = buf + SEHDR_OFF_CUST_PUB;
	h->pld = buf + SEHDR_OFF_PLD;
	h->ald = buf + SEHDR_OFF_ALD;
	h->tld = buf + SEHDR_OFF_TLD;
	h->keyslots = buf + SEHDR_OFF_KEYSLOTS;
	h->enc = h->keyslots + h->nks * PVK_KEYSLOT_LEN;
	h->tag = buf + h->sehs - SEHDR_TAG_LEN;
	return 0;
}

int pvk_sehdr_parse(const uint8_t *buf, size_t len, struct sehdr *h, struct pvk_err *e)
{
	return parse(buf, len, h, 1, e);
}

int pvk_sehdr_parse_view(const uint8_t *buf, size_t len, struct sehdr *h, struct pvk_err *e)
{
	return parse(buf, len, h, 0, e);
}

int pvk_sehdr_decrypt(const struct sehdr *h, const uint8_t hdr_key[32], struct sehdr_secrets *out,
		  struct pvk_err *e)
{
	size_t aad_len = (size_t)(h->enc - h->raw);
	uint8_t *plain = malloc(h->sea);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!plain)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (pvk_gcm_decrypt(hdr_key, h->iv, h->raw, aad_len, h->enc, h->sea, plain, h->tag, e)) {
		pvk_fail(e, PVK_E_AUTH, "SE header authentication failed (wrong key or modified header)");
		goto out;
	}
	memcpy(out->cck, plain, 32);
	memcpy(out->xts_key, plain + 0x20, 64);
	out->psw_mask = get_be64(plain + 0x60);
	out->psw_addr = get_be64(plain + 0x68);
	out->scf = get_be64(plain + 0x70);
	out->noi = get_be32(plain + 0x78);
	if (out->noi != 0 || h->sea != SEHDR_SEA_V1) {
		OPENSSL_cleanse(out, sizeof(*out));
		pvk_fail(e, PVK_E_FORMAT, "SE header has optional items, which no version defines");
		goto out;
	}
	rc = 0;
out:
	pvk_buf_free_secret(plain, h->sea);
	return rc;
}

int pvk_sehdr_unwrap_key(const struct sehdr *h, EVP_PKEY *host_priv, uint8_t hdr_key[32],
		     struct pvk_err *e)
{
	EVP_PKEY *cust = NULL;
	uint8_t phkh[32];
	int slot, rc;

	if (pvk_ec_phkh(host_priv, phkh, e))
		return -1;
	slot = pvk_keyslot_find(h->keyslots, h->nks, phkh);
	if (slot < 0)
		return pvk_fail_uv(e, UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH,
				   "no key slot for this host key (host-key hash mismatch)");
	if (pvk_ec_from_coords(h->cust_pub, &cust, e))
		return pvk_fail_uv(e, UV_RC_HOSTKEY, UV_RRC_CUST_KEY, "invalid customer ECDH key");
	rc = pvk_keyslot_unwrap(host_priv, cust, h->keyslots + (size_t)slot * PVK_KEYSLOT_LEN, hdr_key, e);
	EVP_PKEY_free(cust);
	if (rc)
		return pvk_fail_uv(e, UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH,
				   "key slot %d does not decrypt with this host key", slot);
	return 0;
}

int pvk_sehdr_read_file(const char *path, uint8_t **buf, size_t *len, uint64_t *off,
		    struct pvk_err *e)
{
	uint8_t meta[SEIMG_META_LEN], head[16];
	struct infile in;
	uint64_t hoff = 0;
	uint32_t sehs;
	int found = 0;

	*buf = NULL;
	/* A pipe works too: infile reads it once and keeps what it needs. */
	if (pvk_infile_open(&in, path, e))
		return -1;
	if (!pvk_infile_pread(&in, meta, sizeof(meta), SEIMG_META_ADDR) &&
	    !memcmp(meta, SEIMG_META_MAGIC, 8)) {
		hoff = get_be64(meta + 8);
		found = !pvk_infile_pread(&in, head, sizeof(head), hoff) && !memcmp(head, SEHDR_MAGIC, 8);
	} else {
		for (hoff = 0; hoff <= 0x14000 && !found; hoff += 0x1000)
			found = !pvk_infile_pread(&in, head, sizeof(head), hoff) &&
				!memcmp(head, SEHDR_MAGIC, 8);
		hoff -= 0x1000;
	}
	if (!found) {
		pvk_infile_close(&in);
		return pvk_fail(e, PVK_E_FORMAT, "%s: no SE header found (not an SE image or header)",
				path);
	}
	sehs = get_be32(head + SEHDR_OFF_SEHS);
	if (sehs <= SEHDR_TAG_LEN || sehs > SEHDR_READ_MAX) {
		pvk_infile_close(&in);
		return pvk_fail(e, PVK_E_FORMAT, "%s: invalid SE header size %u", path, sehs);
	}
	*buf = malloc(sehs);
	if (!*buf) {
		pvk_infile_close(&in);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	if (pvk_infile_pread(&in, *buf, sehs, hoff)) {
		pvk_infile_close(&in);
		free(*buf);
		*buf = NULL;
		return pvk_fail(e, PVK_E_FORMAT, "%s: SE header truncated (%u bytes expected at 0x%llx)",
				path, sehs, (unsigned long long)hoff);
	}
	pvk_infile_close(&in);
	*len = sehs;
	*off = hoff;
	return 0;
}
