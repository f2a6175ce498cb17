// SPDX-License-Identifier: MIT
/* The ultravisor's answers to a guest's /dev/uv requests, with the kernel driver's checks in
 * front (spec §6): an errno where the driver would refuse, else the UV's rc/rrc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/arcb.h"
#include "pvkit/asrcb.h"
#include "pvkit/sehdr.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "uvsim.h"

#define LIST_HDR 16
#define LIST_ENTRY 48
#define UV_RC_LOCKED 0x0102

static uint32_t listed_len(const struct uvsim_secret *s);

uint64_t uvsim_supported_cmds(void)
{
	return 1ull << UVIO_NR_INFO | 1ull << UVIO_NR_ATT | 1ull << UVIO_NR_ADD_SECRET |
	       1ull << UVIO_NR_LIST_SECRETS | 1ull << UVIO_NR_LOCK_SECRETS |
	       1ull << UVIO_NR_RETR_SECRET;
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
		put_be32(p + 4, listed_len(&g->secrets[i]));
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
	if (pvk_arcb_parse(arcb, arcb_len, &r, &paf, &mai, &e)) {
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
	if (!g->host_key || pvk_uvreq_decrypt_with(&r, g->host_key, g->host_phkh, plain, &slot, &e)) {
		answer_rc(a, ATT_RC_DECRYPT, 0);
		return;
	}
	if (meas_len < ARCB_MEAS_LEN) {
		answer_rc(a, ATT_RC_MEAS_BUF, 0);
		goto out;
	}
	add_len = pvk_attest_add_size(paf);
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
		pvk_attest_secret_store_hash((const uint8_t(*)[16])g->secret_tags, g->n_tags, g->locked,
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
	if (pvk_attest_measure(plain, &it, meas, &e)) {
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

/* Add-secret UV rc codes (spec §6.4). Where IBM documents no finer reason, uvsim answers a
 * request that is not for this guest (other image, other CUID, wrong extension secret) with
 * "not allowed to modify the secret store". */
#define ADD_RC_NOT_ALLOWED 0x0101
#define ADD_RC_LOCKED 0x0102
#define ADD_RC_VERSION 0x0104
#define ADD_RC_SIZE 0x0105
#define ADD_RC_NKS 0x0106
#define ADD_RC_FLAGS 0x0107
#define ADD_RC_DECRYPT 0x0108
#define ADD_RC_TYPE 0x0109
#define ADD_RC_LENGTH 0x010a
#define ADD_RC_FULL 0x010b
#define ADD_RC_UNABLE 0x010c
/* The reason codes uvsim gives with 0x0101, so tests and users can tell them apart. */
#define ADD_RRC_IMAGE 0x0001
#define ADD_RRC_CUID 0x0002
#define ADD_RRC_EXT_SECRET 0x0003
#define ADD_RRC_CCK_UPDATE 0x0004
#define ADD_RRC_DUPLICATE_ID 0x0001

#define RETR_RC_BUF 0x0009
#define RETR_RC_EMPTY 0x010f
#define RETR_RC_NO_INDEX 0x0110
#define RETR_RC_NOT_RETRIEVABLE 0x0111
/* A protected key is the key wrapped for CPACF plus its 32-byte wrapping-key verification
 * pattern; uvsim's wrapping is a fixed XOR stream, enough to show the key is not in clear. */
#define WKVP_LEN 32

static int retrievable(uint16_t type)
{
	return type >= SECRET_PLAINTEXT && type <= SECRET_ED448 && pvk_secret_type_len(type) != 0 &&
	       type != SECRET_ASSOCIATION;
}

static int type_supported(uint16_t type)
{
	return type == SECRET_NULL || type == SECRET_ASSOCIATION || type == SECRET_PLAINTEXT ||
	       type == SECRET_UPDATE_CCK || (pvk_secret_type_len(type) > 0 && type <= SECRET_ED448);
}

static uint32_t count_kind(const struct uvsim_guest *g, int assoc)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->n_secrets; i++)
		if ((g->secrets[i].type == SECRET_ASSOCIATION) == assoc)
			n++;
	return n;
}

/* Plaintext is stored as encoded: u16 length, data, zero padding to 16. */
static int value_length_ok(uint16_t type, uint32_t len, const uint8_t *value)
{
	int want = pvk_secret_type_len(type);

	if (type == SECRET_PLAINTEXT)
		return len >= 16 && len % 16 == 0 && len <= 8192 && get_be16(value) <= len - 2;
	return want >= 0 && (uint32_t)want == len;
}

static void do_add_secret(struct uvsim_guest *g, const uint8_t *in, uint32_t in_len,
			  struct uvsim_answer *a)
{
	uint8_t *plain = NULL, derived[32];
	struct asrcb_view v;
	struct pvk_err e;
	const uint8_t *ext, *value;
	static const uint8_t zero[16];
	int slot;

	if (!in_len || in_len > UVIO_ADD_SECRET_MAX) {
		a->err = EINVAL;
		return;
	}
	if (g->locked) {
		answer_rc(a, ADD_RC_LOCKED, 0);
		return;
	}
	if (in_len < UVREQ_HDR_LEN || memcmp(in, ASRCB_MAGIC, 6) ||
	    get_be32(in + UVREQ_OFF_VERSION) != UVREQ_VERSION_V1) {
		answer_rc(a, ADD_RC_VERSION, 0);
		return;
	}
	if (get_be32(in + UVREQ_OFF_RQL) != in_len) {
		answer_rc(a, ADD_RC_SIZE, 0);
		return;
	}
	if (!in[UVREQ_OFF_NKS]) {
		answer_rc(a, ADD_RC_NKS, 0);
		return;
	}
	if (pvk_asrcb_parse(in, in_len, &v, &e)) {
		answer_rc(a, ADD_RC_SIZE, 0);
		return;
	}
	if (v.flags & ~ASRCB_FLAG_DISABLE_DUMP) {
		answer_rc(a, ADD_RC_FLAGS, 0);
		return;
	}
	if (!type_supported(v.secret_type)) {
		answer_rc(a, ADD_RC_TYPE, 0);
		return;
	}
	/* Only the null secret has the short (16-byte) secret header; every other type needs
	 * the ID of the 48-byte one (v.secret_id is NULL otherwise). */
	if (v.secret_type != SECRET_NULL && !v.secret_id) {
		answer_rc(a, ADD_RC_SIZE, 0);
		return;
	}
	plain = malloc(v.r.sea);
	if (!plain) {
		a->err = ENOMEM;
		return;
	}
	if (!g->host_key ||
	    pvk_uvreq_decrypt_with(&v.r, g->host_key, g->host_phkh, plain, &slot, &e)) {
		answer_rc(a, ADD_RC_DECRYPT, 0);
		goto out;
	}
	value = plain;
	ext = plain + v.secret_len;
	/* Bound to this guest: its image's tags, and its CUID unless the request's is zero. */
	if (memcmp(v.pld, g->pld, 64) || memcmp(v.ald, g->ald, 64) || memcmp(v.tld, g->tld, 64) ||
	    memcmp(v.tag, g->tag, 16)) {
		answer_rc(a, ADD_RC_NOT_ALLOWED, ADD_RRC_IMAGE);
		goto out;
	}
	if (memcmp(v.cuid, zero, 16) && memcmp(v.cuid, g->cuid, 16)) {
		answer_rc(a, ADD_RC_NOT_ALLOWED, ADD_RRC_CUID);
		goto out;
	}
	/* The extension secret: derived from the CCK when the image demands it, else the
	 * first accepted request sets it and every later one must repeat it. */
	if (g->scf & SCF_CCK_EXTENSION_SECRET) {
		if (pvk_asrcb_derive_ext_secret(g->cck, g->tag, derived, &e) ||
		    !pvk_ct_equal(derived, ext, 32)) {
			answer_rc(a, ADD_RC_NOT_ALLOWED, ADD_RRC_EXT_SECRET);
			goto out;
		}
	} else if (g->ext_secret_set && !pvk_ct_equal(g->ext_secret, ext, 32)) {
		answer_rc(a, ADD_RC_NOT_ALLOWED, ADD_RRC_EXT_SECRET);
		goto out;
	}
	if (!value_length_ok(v.secret_type, v.secret_len, value)) {
		answer_rc(a, ADD_RC_LENGTH, 0);
		goto out;
	}
	if (v.secret_type == SECRET_UPDATE_CCK) {
		if (!(g->scf & SCF_CCK_UPDATE)) {
			answer_rc(a, ADD_RC_NOT_ALLOWED, ADD_RRC_CCK_UPDATE);
			goto out;
		}
	} else if (v.secret_type != SECRET_NULL) {
		int assoc = v.secret_type == SECRET_ASSOCIATION;

		for (uint32_t i = 0; i < g->n_secrets; i++)
			if (!memcmp(g->secrets[i].id, v.secret_id, 32)) {
				answer_rc(a, ADD_RC_UNABLE, ADD_RRC_DUPLICATE_ID);
				goto out;
			}
		if (g->n_secrets >= UVSIM_MAX_SECRETS ||
		    count_kind(g, assoc) >= (uint32_t)(assoc ? UVSIM_MAX_ASSOC : UVSIM_MAX_RETR)) {
			answer_rc(a, ADD_RC_FULL, 0);
			goto out;
		}
	}
	if (g->n_tags >= UVSIM_MAX_SECRETS) {
		answer_rc(a, ADD_RC_FULL, 0);
		goto out;
	}
	/* Accepted: from here on nothing fails. */
	if (v.secret_type == SECRET_UPDATE_CCK) {
		memcpy(g->cck, value, 32);
	} else if (v.secret_type != SECRET_NULL) {
		struct uvsim_secret *s = &g->secrets[g->n_secrets];

		s->value = malloc(v.secret_len ? v.secret_len : 1);
		if (!s->value) {
			a->err = ENOMEM;
			goto out;
		}
		memcpy(s->value, value, v.secret_len);
		s->len = v.secret_len;
		s->type = v.secret_type;
		s->index = (uint16_t)(g->n_secrets ? g->secrets[g->n_secrets - 1].index + 1 : 0);
		memcpy(s->id, v.secret_id, 32);
		g->n_secrets++;
	}
	if (!g->ext_secret_set && !(g->scf & SCF_CCK_EXTENSION_SECRET)) {
		memcpy(g->ext_secret, ext, 32);
		g->ext_secret_set = 1;
	}
	if (v.flags & ASRCB_FLAG_DISABLE_DUMP)
		g->dump_disabled = 1;
	memcpy(g->secret_tags[g->n_tags++], v.r.tag, 16);
	a->changed = 1;
	answer_rc(a, UVC_RC_SUCCESS, 0);
out:
	OPENSSL_cleanse(derived, sizeof(derived));
	if (plain) {
		OPENSSL_cleanse(plain, v.r.sea);
		free(plain);
	}
}

/* The length list and retrieve report: plaintext as stored, keys as protected keys. */
static uint32_t listed_len(const struct uvsim_secret *s)
{
	if (s->type == SECRET_PLAINTEXT || s->type == SECRET_ASSOCIATION)
		return s->len;
	return s->len + WKVP_LEN;
}

static void do_retrieve(struct uvsim_guest *g, const uint8_t *in, uint32_t in_len,
			uint32_t out_cap, struct uvsim_answer *a)
{
	const struct uvsim_secret *s = NULL;
	uint8_t pad[64];
	uint32_t need;
	uint16_t idx;

	if (in_len < UVIO_RETR_MIN || in_len > UVIO_RETR_MAX || out_cap < in_len) {
		a->err = EINVAL;
		return;
	}
	if (!g->n_secrets) {
		answer_rc(a, RETR_RC_EMPTY, 0);
		return;
	}
	idx = get_be16(in);
	for (uint32_t i = 0; i < g->n_secrets; i++)
		if (g->secrets[i].index == idx)
			s = &g->secrets[i];
	if (!s) {
		answer_rc(a, RETR_RC_NO_INDEX, 0);
		return;
	}
	if (!retrievable(s->type)) {
		answer_rc(a, RETR_RC_NOT_RETRIEVABLE, 0);
		return;
	}
	need = listed_len(s);
	if (in_len < need) {
		answer_rc(a, RETR_RC_BUF, 0);
		return;
	}
	if (answer_alloc(a, in_len))
		return;
	if (s->type == SECRET_PLAINTEXT) {
		memcpy(a->out, s->value, s->len);
	} else {
		pvk_sha512("pvkit uvsim wrapping key", 24, pad);
		for (uint32_t i = 0; i < s->len; i++)
			a->out[i] = s->value[i] ^ pad[i % 64];
		pvk_sha256(pad, 64, a->out + s->len);   /* the WKVP */
	}
	answer_rc(a, UVC_RC_SUCCESS, 0);
}

int uvsim_changes_state(uint32_t nr)
{
	return nr == UVIO_NR_ADD_SECRET || nr == UVIO_NR_LOCK_SECRETS;
}

int uvsim_guest_set_host_key(struct uvsim_guest *g, EVP_PKEY *key, struct pvk_err *e)
{
	g->host_key = key;
	return pvk_ec_phkh(key, g->host_phkh, e);
}

void uvsim_guest_lock_init(struct uvsim_guest *g)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&g->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
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
	case UVIO_NR_ADD_SECRET:
		do_add_secret(g, in, in_len, a);
		break;
	case UVIO_NR_RETR_SECRET:
		do_retrieve(g, in, in_len, out_cap, a);
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
