// SPDX-License-Identifier: MIT
/* The ultravisor's answers to a guest's /dev/uv requests, with the kernel driver's checks in
 * front (spec §6): an errno where the driver would refuse, else the UV's rc/rrc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/arcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "uvsim.h"

#define LIST_HDR 16
#define LIST_ENTRY 48
#define UV_RC_LOCKED 0x0102

uint64_t uvsim_supported_cmds(void)
{
	return 1ull << UVIO_NR_INFO | 1ull << UVIO_NR_ATT | 1ull << UVIO_NR_LIST_SECRETS |
	       1ull << UVIO_NR_LOCK_SECRETS;
}

static void answer_rc(struct uvsim_answer *a, uint16_t rc, uint16_t rrc)
{
	a->rc = rc;
	a->rrc = rrc;
}

static int answer_alloc(struct uvsim_answer *a, uint32_t len)
{
	a->out = calloc(1, len ? len : 1);
	if (!a->out) {
		a->err = ENOMEM;
		return -1;
	}
	a->out_len = len;
	return 0;
}

static void do_info(const uint8_t *in, uint32_t in_len, uint32_t out_cap, struct uvsim_answer *a)
{
	(void)in;
	if (in_len || out_cap < 16) {
		a->err = EINVAL;
		return;
	}
	if (answer_alloc(a, 16))
		return;
	put_be64(a->out, uvsim_supported_cmds());
	put_be64(a->out + 8, uvsim_supported_cmds());
	answer_rc(a, UVC_RC_SUCCESS, 0);
}

static void do_list(struct uvsim_guest *g, const uint8_t *in, uint32_t in_len, uint32_t out_cap,
		    struct uvsim_answer *a)
{
	uint32_t len, fit, n;

	if (in_len != 4) {
		a->err = EINVAL;
		return;
	}
	len = get_be32(in);
	if (!len || len % UVIO_LIST_PAGE || len > out_cap || len > UVPROTO_MAX_BODY) {
		a->err = EINVAL;
		return;
	}
	if (answer_alloc(a, len))
		return;
	fit = (len - LIST_HDR) / LIST_ENTRY;
	n = g->n_secrets < fit ? g->n_secrets : fit;
	put_be16(a->out, (uint16_t)n);
	put_be16(a->out + 2, (uint16_t)g->n_secrets);
	put_be16(a->out + 4, (uint16_t)(n < g->n_secrets ? g->secrets[n].index : 0));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = a->out + LIST_HDR + i * LIST_ENTRY;

		put_be16(p, g->secrets[i].index);
		put_be16(p + 2, g->secrets[i].type);
		put_be32(p + 4, g->secrets[i].len);
		memcpy(p + 16, g->secrets[i].id, 32);
	}
	answer_rc(a, n < g->n_secrets ? UVC_RC_MORE_DATA : UVC_RC_SUCCESS, 0);
}

static void do_lock(struct uvsim_guest *g, uint32_t in_len, struct uvsim_answer *a)
{
	if (in_len) {
		a->err = EINVAL;
		return;
	}
	if (g->locked) {
		answer_rc(a, UV_RC_LOCKED, 0);
		return;
	}
	g->locked = 1;
	a->changed = 1;
	answer_rc(a, UVC_RC_SUCCESS, 0);
}

/* Attestation UV rc codes (spec §6.3). */
#define ATT_RC_USER_LEN 0x0102
#define ATT_RC_VERSION 0x0106
#define ATT_RC_LENGTH 0x0107
#define ATT_RC_NKS 0x0108
#define ATT_RC_SEA 0x0109
#define ATT_RC_PAF 0x010a
#define ATT_RC_MAI 0x010b
#define ATT_RC_DECRYPT 0x010c
#define ATT_RC_MEAS_BUF 0x010d
#define ATT_RC_ADD_BUF 0x010e

/* The firmware state is opaque to everyone but IBM's service; uvsim's is a fixed pattern. */
static void firmware_state(uint8_t out[ATTEST_FW_STATE_LEN])
{
	static const char seed[] = "pvkit uvsim firmware state v1";
	uint8_t h[64];

	pvk_sha512(seed, sizeof(seed) - 1, h);
	for (size_t i = 0; i < ATTEST_FW_STATE_LEN; i++)
		out[i] = h[i % 64];
}

static void do_attest(struct uvsim_guest *g, const uint8_t *in, uint32_t in_len,
		      uint32_t out_cap, struct uvsim_answer *a)
{
	uint32_t arcb_len, meas_len, add_cap, user_len, sea_want;
	uint8_t plain[ARCB_MEAS_KEY_LEN + ARCB_NONCE_LEN], add[512], meas[ARCB_MEAS_LEN];
	const uint8_t *arcb;
	struct attest_items it;
	struct pvk_err e;
	struct uvreq r;
	size_t add_len, pos = 0;
	uint64_t paf;
	uint32_t mai;
	int slot;

	if (in_len < UVPROTO_ATT_FIXED) {
		a->err = EINVAL;
		return;
	}
	arcb_len = get_be32(in);
	meas_len = get_be32(in + 4);
	add_cap = get_be32(in + 8);
	user_len = get_be16(in + 12);
	arcb = in + UVPROTO_ATT_FIXED;
	/* The driver's checks (uvdevice.c) come first. */
	if (!arcb_len || arcb_len > UVIO_ATT_ARCB_MAX || arcb_len != in_len - UVPROTO_ATT_FIXED ||
	    !meas_len || meas_len > UVIO_ATT_MEAS_MAX || add_cap > UVIO_ATT_ADD_MAX ||
	    (uint64_t)meas_len + 4 + add_cap + 16 > out_cap) {
		a->err = EINVAL;
		return;
	}
	if (user_len > UVIO_ATT_USER_MAX) {
		answer_rc(a, ATT_RC_USER_LEN, 0);
		return;
	}
	if (arcb_len < UVREQ_HDR_LEN || get_be32(arcb + UVREQ_OFF_VERSION) != UVREQ_VERSION_V1) {
		answer_rc(a, ATT_RC_VERSION, 0);
		return;
	}
	if (get_be32(arcb + UVREQ_OFF_RQL) != arcb_len || arcb_len < ARCB_OFF_CUST + 160 + 80 + 16) {
		answer_rc(a, ATT_RC_LENGTH, 0);
		return;
	}
	if (!arcb[UVREQ_OFF_NKS]) {
		answer_rc(a, ATT_RC_NKS, 0);
		return;
	}
	if (arcb_parse(arcb, arcb_len, &r, &paf, &mai, &e)) {
		answer_rc(a, ATT_RC_LENGTH, 0);
		return;
	}
	if (paf & ~ARCB_PAF_KNOWN) {
		answer_rc(a, ATT_RC_PAF, 0);
		return;
	}
	if (mai != ARCB_MAI_HMAC_SHA512) {
		answer_rc(a, ATT_RC_MAI, 0);
		return;
	}
	sea_want = ARCB_MEAS_KEY_LEN + ((paf & ARCB_PAF_NONCE) ? ARCB_NONCE_LEN : 0);
	if (r.sea != sea_want) {
		answer_rc(a, ATT_RC_SEA, 0);
		return;
	}
	if (!g->host_key || uvreq_decrypt_host(&r, g->host_key, plain, &slot, &e)) {
		answer_rc(a, ATT_RC_DECRYPT, 0);
		return;
	}
	if (meas_len < ARCB_MEAS_LEN) {
		answer_rc(a, ATT_RC_MEAS_BUF, 0);
		goto out;
	}
	add_len = attest_add_size(paf);
	if (add_len > add_cap) {
		answer_rc(a, ATT_RC_ADD_BUF, 0);
		goto out;
	}
	if (paf & ARCB_PAF_PHKH_IMG) {
		memcpy(add + pos, g->phkh, ATTEST_PHKH_LEN);
		pos += ATTEST_PHKH_LEN;
	}
	if (paf & ARCB_PAF_PHKH_ATT) {
		/* The key that opened this request's slot: the host key. */
		memcpy(add + pos, r.keyslots + (size_t)slot * 80, ATTEST_PHKH_LEN);
		pos += ATTEST_PHKH_LEN;
	}
	if (paf & ARCB_PAF_SECRET_STORE_HASH) {
		attest_secret_store_hash((const uint8_t(*)[16])g->secret_tags, g->n_tags, g->locked,
					 add + pos);
		pos += ATTEST_SSH_LEN;
	}
	if (paf & ARCB_PAF_FIRMWARE_STATE) {
		firmware_state(add + pos);
		pos += ATTEST_FW_STATE_LEN;
	}
	memset(&it, 0, sizeof(it));
	it.pld = g->pld;
	it.ald = g->ald;
	it.tld = g->tld;
	it.tag = g->tag;
	it.cuid = g->cuid;
	it.user = in + 16;
	it.user_len = user_len;
	it.nonce = (paf & ARCB_PAF_NONCE) ? plain + ARCB_MEAS_KEY_LEN : NULL;
	it.add = add;
	it.add_len = add_len;
	if (attest_measure(plain, &it, meas, &e)) {
		a->err = EIO;
		goto out;
	}
	if (answer_alloc(a, meas_len + 4 + (uint32_t)add_len + 16))
		goto out;
	memcpy(a->out, meas, ARCB_MEAS_LEN);
	put_be32(a->out + meas_len, (uint32_t)add_len);
	memcpy(a->out + meas_len + 4, add, add_len);
	memcpy(a->out + meas_len + 4 + add_len, g->cuid, 16);
	answer_rc(a, UVC_RC_SUCCESS, 0);
out:
	OPENSSL_cleanse(plain, sizeof(plain));
}

void uvsim_handle(struct uvsim_guest *g, uint32_t nr, uint32_t flags, const uint8_t *in,
		  uint32_t in_len, uint32_t out_cap, struct uvsim_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (nr > 63 || !(uvsim_supported_cmds() & (1ull << nr))) {
		a->err = ENOTTY;
		return;
	}
	if (flags) {
		a->err = EINVAL;
		return;
	}
	switch (nr) {
	case UVIO_NR_INFO:
		do_info(in, in_len, out_cap, a);
		break;
	case UVIO_NR_ATT:
		do_attest(g, in, in_len, out_cap, a);
		break;
	case UVIO_NR_LIST_SECRETS:
		do_list(g, in, in_len, out_cap, a);
		break;
	case UVIO_NR_LOCK_SECRETS:
		do_lock(g, in_len, a);
		break;
	default:
		a->err = ENOTTY;
	}
}
