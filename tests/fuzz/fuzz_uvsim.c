// SPDX-License-Identifier: MIT
/*
 * uvsim's UV handler (uvsim_handle), which answers whatever a guest writes to /dev/uv and
 * must never crash. One input is one request on a fresh guest:
 *
 *   byte 0     nr (any value: 0-5 are the commands, the rest must give ENOTTY)
 *   byte 1     bit 0: flags = 1 (must give EINVAL), bits 1-2: the guest starts with 0, 4, 8
 *              or 16 stored secrets, bit 3: secrets locked, bit 4: SCF CCK extension
 *              secret, bit 5: SCF CCK update, bit 6: an extension secret already set,
 *              bit 7: synthesize (below)
 *   bytes 2-3  out_cap / 4 (big-endian)
 *   rest       the request body (in, in_len)
 *
 * Requests that reach the UV's decryption must be sealed for its host key, which random
 * bytes never are. With bit 7 set and nr ATT or ADD_SECRET, the rest is instead read as the
 * fields of a request (flags, types, lengths, values, which tags and CUID, extension secret,
 * secret-header size...) that the harness seals for the guest's host key, so the fuzzer
 * drives everything after decryption. The host key is fixed (derived from a label, made
 * once), so seeds sealed for it stay valid and every crash reproduces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz_common.h"
#include "pvkit/arcb.h"
#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/secret.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "uvsim.h"

#define HOST "pvkit-fuzz-host"
#define ST_FLAGS 0x01
#define ST_NSEC_SHIFT 1
#define ST_LOCKED 0x08
#define ST_SCF_EXT 0x10
#define ST_SCF_UPDATE 0x20
#define ST_EXT_SET 0x40
#define ST_SYNTH 0x80

static EVP_PKEY *host, *other, *cust;
static uint8_t host_phkh[32];
static struct uvsim_guest guest;
static int verbose;   /* $PVKIT_FUZZ_VERBOSE: print each answer (to replay an input) */

/* ---- the guest ---- */

static void add_stored(struct uvsim_guest *g, uint16_t type, uint32_t len)
{
	struct uvsim_secret *s = &g->secrets[g->n_secrets];
	char name[32];

	s->index = (uint16_t)g->n_secrets;
	s->type = type;
	s->len = len;
	snprintf(name, sizeof(name), "stored %u", g->n_secrets);
	pvk_secret_id_from_name(name, 1, s->id);          /* an ASCII ID: easy to repeat */
	s->value = malloc(len);
	FUZZ_CHECK(s->value != NULL);
	memset(s->value, 0x60 + (int)g->n_secrets, len);
	if (type == SECRET_PLAINTEXT) {            /* u16 length, data, zero padding */
		memset(s->value + 2 + 20, 0, len - 2 - 20);
		put_be16(s->value, 20);
	}
	memset(g->secret_tags[g->n_tags++], g->n_secrets, 16);
	g->n_secrets++;
}

static void guest_init(struct uvsim_guest *g, uint8_t st)
{
	static const uint16_t mixed[8] = { SECRET_ASSOCIATION, SECRET_PLAINTEXT, SECRET_AES_256,
					   SECRET_EC_P521, SECRET_ASSOCIATION, SECRET_HMAC_SHA_512,
					   SECRET_AES_XTS_128, SECRET_ED25519 };
	static const unsigned counts[4] = { 0, 4, 8, 16 };
	unsigned n = counts[(st >> ST_NSEC_SHIFT) & 3];
	struct pvk_err e;

	memset(g, 0, sizeof(*g));
	if (uvsim_guest_set_host_key(g, host, &e))
		abort();
	memset(g->pld, 1, 64);
	memset(g->ald, 2, 64);
	memset(g->tld, 3, 64);
	memset(g->tag, 4, 16);
	memset(g->cuid, 0x42, 16);
	memset(g->cck, 0x31, 32);
	memcpy(g->phkh, host_phkh, 32);
	for (unsigned i = 0; i < n; i++) {
		uint16_t t = n == 16 ? (i < 8 ? SECRET_ASSOCIATION : SECRET_AES_128) : mixed[i];
		int len = pvk_secret_type_len(t);

		add_stored(g, t, t == SECRET_PLAINTEXT ? 48 : (uint32_t)len);
	}
	g->locked = !!(st & ST_LOCKED);
	g->scf = (st & ST_SCF_EXT ? SCF_CCK_EXTENSION_SECRET : 0) |
		 (st & ST_SCF_UPDATE ? SCF_CCK_UPDATE : 0);
	if (st & ST_EXT_SET) {
		g->ext_secret_set = 1;
		memset(g->ext_secret, 0x17, 32);
	}
}

/* ---- requests sealed for the host key ---- */

/* An add-secret request from fuzz fields (any type, length, flags, header size...). */
static int build_add(const struct uvsim_guest *g, struct fuzz_in *in, uint8_t **out,
		     size_t *len)
{
	uint8_t pre[ASRCB_OFF_CUST - UVREQ_HDR_LEN], shdr[48], id[32], *conf;
	EVP_PKEY *hosts[2] = { other, host };
	struct uvreq_params p;
	struct pvk_err e;
	uint8_t ctl = fin_u8(in), fsel = fin_u8(in), user_type = fin_u8(in) % 6;
	uint64_t flags = fsel == 0 ? 0 : fsel == 1 ? ASRCB_FLAG_DISABLE_DUMP : fin_u64(in);
	uint16_t type = fin_u16(in);
	uint32_t value_len = fin_u16(in) % 8448;
	size_t shdr_len = (type != SECRET_NULL) != !!(ctl & 0x40) ? 48 : 16;
	int rc;

	memset(pre, 0, sizeof(pre));
	put_be64(pre + ASRCB_OFF_FLAGS - UVREQ_HDR_LEN, flags);
	if (ctl & 0x01) {                              /* this guest's image */
		memcpy(pre + ASRCB_OFF_PLD - UVREQ_HDR_LEN, g->pld, 64);
		memcpy(pre + ASRCB_OFF_ALD - UVREQ_HDR_LEN, g->ald, 64);
		memcpy(pre + ASRCB_OFF_TLD - UVREQ_HDR_LEN, g->tld, 64);
		memcpy(pre + ASRCB_OFF_TAG - UVREQ_HDR_LEN, g->tag, 16);
	} else {
		fin_bytes(in, pre + ASRCB_OFF_PLD - UVREQ_HDR_LEN, 64 * 3 + 16);
	}
	switch ((ctl >> 1) & 3) {                      /* CUID: any, this guest's, other */
	case 0: break;
	case 1: memcpy(pre + ASRCB_OFF_CUID - UVREQ_HDR_LEN, g->cuid, 16); break;
	case 2: memset(pre + ASRCB_OFF_CUID - UVREQ_HDR_LEN, 0x43, 16); break;
	default: fin_bytes(in, pre + ASRCB_OFF_CUID - UVREQ_HDR_LEN, 16);
	}
	fin_bytes(in, id, 32);
	memset(shdr, 0, sizeof(shdr));
	put_be16(shdr + 2, type);
	put_be32(shdr + 4, value_len);
	memcpy(shdr + 16, id, 32);
	conf = calloc(1, value_len + ASRCB_EXT_SECRET_LEN);
	FUZZ_CHECK(conf != NULL);
	switch ((ctl >> 4) & 3) {                      /* the extension secret */
	case 0: break;
	case 1: FUZZ_CHECK(!pvk_asrcb_derive_ext_secret(g->cck, g->tag, conf + value_len, &e)); break;
	case 2: memset(conf + value_len, 0x17, 32); break;
	default: fin_bytes(in, conf + value_len, 32);
	}
	fin_bytes(in, conf, value_len);                /* the value: the rest of the input */

	memset(&p, 0, sizeof(p));
	memcpy(p.magic, ASRCB_MAGIC, 6);
	put_be16(p.magic + 6, user_type);
	p.version = UVREQ_VERSION_V1;
	memcpy(p.prot_key, fuzz_prot_key, 32);
	p.cust = cust;
	p.hosts = ctl & 0x80 ? hosts : &hosts[1];
	p.n_hosts = ctl & 0x80 ? 2 : 1;
	p.aad_pre = pre;
	p.aad_pre_len = sizeof(pre);
	p.aad_post = shdr;
	p.aad_post_len = shdr_len;
	p.conf = conf;
	p.conf_len = value_len + ASRCB_EXT_SECRET_LEN;
	rc = pvk_uvreq_build(&p, out, len, &e);
	free(conf);
	return rc;
}

/* An attestation call: the fixed part and an ARCB from fuzz fields. */
static int build_att(struct fuzz_in *in, uint8_t **out, size_t *len)
{
	uint8_t pre[16], conf[255], user[256], *arcb;
	EVP_PKEY *hosts[2] = { other, host };
	struct uvreq_params p;
	struct pvk_err e;
	uint8_t sel = fin_u8(in);
	uint64_t paf = fin_u64(in);
	uint32_t mai = sel & 0x02 ? fin_u32(in) : ARCB_MAI_HMAC_SHA512;
	uint32_t meas_len = fin_u16(in), add_cap = fin_u16(in);
	uint16_t user_len = fin_u16(in) % 300;
	size_t conf_len, alen;

	if (!(sel & 0x01))
		paf &= ARCB_PAF_KNOWN;
	conf_len = sel & 0x04 ? fin_u8(in) : ARCB_MEAS_KEY_LEN + (paf & ARCB_PAF_NONCE ? 16 : 0);
	fin_bytes(in, user, sizeof(user));
	fin_bytes(in, conf, sizeof(conf));
	put_be64(pre, paf);
	put_be32(pre + 8, mai);
	put_be32(pre + 12, 0);
	memset(&p, 0, sizeof(p));
	p.version = UVREQ_VERSION_V1;
	memcpy(p.prot_key, fuzz_prot_key, 32);
	p.cust = cust;
	p.hosts = sel & 0x08 ? hosts : &hosts[1];
	p.n_hosts = sel & 0x08 ? 2 : 1;
	p.aad_pre = pre;
	p.aad_pre_len = sizeof(pre);
	p.conf = conf;
	p.conf_len = conf_len;
	if (pvk_uvreq_build(&p, &arcb, &alen, &e))
		return -1;
	*len = UVPROTO_ATT_FIXED + alen;
	*out = malloc(*len);
	FUZZ_CHECK(*out != NULL);
	put_be32(*out, (uint32_t)alen);
	put_be32(*out + 4, meas_len);
	put_be32(*out + 8, add_cap);
	put_be16(*out + 12, user_len);
	put_be16(*out + 14, 0);
	memcpy(*out + 16, user, sizeof(user));
	memcpy(*out + UVPROTO_ATT_FIXED, arcb, alen);
	free(arcb);
	return 0;
}

/* ---- seeds ---- */

static void seed_raw(const char *name, uint8_t nr, uint8_t st, uint16_t cap4, const void *body,
		     size_t len)
{
	uint8_t *b = malloc(4 + len);

	b[0] = nr;
	b[1] = st;
	put_be16(b + 2, cap4);
	if (len)
		memcpy(b + 4, body, len);
	fuzz_seed(name, b, 4 + len);
	free(b);
}

/* A request sealed now from the fields, stored both as fields (synthesize) and sealed. */
static void seed_synth(const char *name, uint8_t nr, uint8_t st, uint16_t cap4,
		       const uint8_t *fields, size_t flen)
{
	struct fuzz_in in = { fields, flen };
	char sealed[64];
	uint8_t *req;
	size_t len;

	seed_raw(name, nr, st | ST_SYNTH, cap4, fields, flen);
	guest_init(&guest, st);
	FUZZ_CHECK((nr == UVIO_NR_ATT ? build_att(&in, &req, &len)
				      : build_add(&guest, &in, &req, &len)) == 0);
	uvsim_guest_clear(&guest);
	snprintf(sealed, sizeof(sealed), "%s-sealed", name);
	seed_raw(sealed, nr, st, cap4, req, len);
	free(req);
}

static void write_seeds(void)
{
	uint8_t f[128], list[4], retr[64];

	seed_raw("info", UVIO_NR_INFO, 0, 4, NULL, 0);
	seed_raw("lock", UVIO_NR_LOCK_SECRETS, 2 << ST_NSEC_SHIFT, 0, NULL, 0);
	put_be32(list, 4096);
	seed_raw("list", UVIO_NR_LIST_SECRETS, 2 << ST_NSEC_SHIFT, 1024, list, 4);
	seed_raw("list-full", UVIO_NR_LIST_SECRETS, 3 << ST_NSEC_SHIFT, 2048, list, 4);
	memset(retr, 0, sizeof(retr));
	for (uint16_t i = 1; i <= 3; i++) {
		char name[32];

		put_be16(retr, i);
		snprintf(name, sizeof(name), "retrieve-%u", i);
		seed_raw(name, UVIO_NR_RETR_SECRET, 1 << ST_NSEC_SHIFT, 64, retr, sizeof(retr));
	}

	/* Attestation: sel, paf, meas_len, add_cap, user_len, user data, meas key, nonce. */
	memset(f, 0, sizeof(f));
	f[0] = 0x08;                                          /* two key slots */
	put_be64(f + 1, ARCB_PAF_NONCE | ARCB_PAF_ADD_DATA);
	put_be16(f + 9, 64);
	put_be16(f + 11, 448);
	put_be16(f + 13, 16);
	memset(f + 15, 0x75, sizeof(f) - 15);
	seed_synth("attest", UVIO_NR_ATT, 1 << ST_NSEC_SHIFT, 200, f, sizeof(f));
	f[0] = 0;
	put_be64(f + 1, 0);
	put_be16(f + 11, 0);
	seed_synth("attest-min", UVIO_NR_ATT, 0, 100, f, 15);

	/* Add-secret: ctl, flags selector, user type, type, value length, id, value. */
	memset(f, 0, sizeof(f));
	f[0] = 0x01 | 1 << 1 | 2 << 4;                        /* image, CUID, ext [0x17; 32] */
	put_be16(f + 3, SECRET_ASSOCIATION);
	put_be16(f + 5, 32);
	memset(f + 7, 0x61, 64);
	seed_synth("add-assoc", UVIO_NR_ADD_SECRET, 0, 0, f, 7 + 64);
	put_be16(f + 3, SECRET_PLAINTEXT);
	put_be16(f + 5, 48);
	put_be16(f + 7 + 32, 30);
	seed_synth("add-plain", UVIO_NR_ADD_SECRET, 1 << ST_NSEC_SHIFT | ST_EXT_SET, 0, f,
		   7 + 32 + 48);
	f[0] = 0x01 | 1 << 4;                                 /* any CUID, derived ext */
	f[1] = 1;                                             /* disable dump */
	put_be16(f + 3, SECRET_NULL);
	put_be16(f + 5, 0);
	seed_synth("add-null", UVIO_NR_ADD_SECRET, ST_SCF_EXT, 0, f, 7 + 32);
	f[1] = 0;
	put_be16(f + 3, SECRET_UPDATE_CCK);
	put_be16(f + 5, 32);
	seed_synth("add-update-cck", UVIO_NR_ADD_SECRET, ST_SCF_EXT | ST_SCF_UPDATE, 0, f,
		   7 + 64);
	put_be16(f + 3, SECRET_EC_P521);
	put_be16(f + 5, 80);
	seed_synth("add-full", UVIO_NR_ADD_SECRET, 3 << ST_NSEC_SHIFT, 0, f, 7 + 32 + 80);
	pvk_secret_id_from_name("stored 2", 1, f + 7);             /* the ID of a stored secret */
	seed_synth("add-duplicate", UVIO_NR_ADD_SECRET, 1 << ST_NSEC_SHIFT | ST_SCF_EXT, 0, f,
		   7 + 32 + 80);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pvk_err e;

	(void)argc;
	(void)argv;
	verbose = getenv("PVKIT_FUZZ_VERBOSE") != NULL;
	host = fuzz_key(HOST);
	other = fuzz_key("pvkit-fuzz-other");
	cust = fuzz_key("pvkit-fuzz-cust");
	if (pvk_ec_phkh(host, host_phkh, &e))
		abort();
	if (fuzz_seed_dir())
		write_seeds();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t nr, flags, out_cap, assoc = 0;
	uint8_t st, *built = NULL;
	const uint8_t *in;
	struct uvsim_answer a;
	size_t in_len;

	if (size < 4)
		return 0;
	nr = data[0];
	st = data[1];
	flags = st & ST_FLAGS;
	out_cap = (uint32_t)get_be16(data + 2) * 4;
	in = data + 4;
	in_len = size - 4;
	guest_init(&guest, st);
	if ((st & ST_SYNTH) && (nr == UVIO_NR_ATT || nr == UVIO_NR_ADD_SECRET)) {
		struct fuzz_in fin = { in, in_len };

		if ((nr == UVIO_NR_ATT ? build_att(&fin, &built, &in_len)
				       : build_add(&guest, &fin, &built, &in_len)) != 0) {
			uvsim_guest_clear(&guest);
			return 0;
		}
		in = built;
	}

	uvsim_handle(&guest, nr, flags, in, (uint32_t)in_len, out_cap, &a);
	if (verbose)
		fprintf(stderr, "uvsim_handle(nr %u, flags %u, in_len %zu, out_cap %u): err %u, "
			"rc 0x%04x, rrc 0x%04x, out_len %u\n", nr, flags, in_len, out_cap, a.err, a.rc,
			a.rrc, a.out_len);

	/* What the endpoint relies on when it sends the answer back. */
	if (a.err) {
		FUZZ_CHECK(a.out == NULL && a.rc == 0);
		FUZZ_CHECK(a.err == EINVAL || a.err == ENOTTY || a.err == ENOMEM || a.err == EIO);
	} else {
		FUZZ_CHECK(a.rc != 0);
	}
	FUZZ_CHECK(a.out_len <= out_cap);
	FUZZ_CHECK(!a.out_len || a.out);
	if (a.out)
		fuzz_touch(a.out, a.out_len);
	if (nr > UVIO_NR_MAX)
		FUZZ_CHECK(a.err == ENOTTY);
	else if (flags)
		FUZZ_CHECK(a.err == EINVAL);
	/* The secret store stays within the limits uvsim reports. */
	FUZZ_CHECK(guest.n_secrets <= UVSIM_MAX_SECRETS && guest.n_tags <= UVSIM_MAX_SECRETS);
	for (uint32_t i = 0; i < guest.n_secrets; i++) {
		FUZZ_CHECK(guest.secrets[i].value != NULL);
		fuzz_touch(guest.secrets[i].value, guest.secrets[i].len);
		assoc += guest.secrets[i].type == SECRET_ASSOCIATION;
	}
	FUZZ_CHECK(assoc <= UVSIM_MAX_ASSOC && guest.n_secrets - assoc <= UVSIM_MAX_RETR);
	if (a.rc == UVC_RC_SUCCESS && nr == UVIO_NR_ADD_SECRET)
		FUZZ_CHECK(a.changed);

	if (a.out) {
		OPENSSL_cleanse(a.out, a.out_len);
		free(a.out);
	}
	free(built);
	uvsim_guest_clear(&guest);
	return 0;
}
