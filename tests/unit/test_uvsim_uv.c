// SPDX-License-Identifier: MIT
/* uvsim's UV semantics, called directly: attestation and the secret store (binding to the
 * image and CUID, extension secrets, lock, duplicates, capacity, retrieve, list). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/arcb.h"
#include "pvkit/asrcb.h"
#include "pvkit/attest.h"
#include "pvkit/exchange.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/sehdr.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "testutil.h"
#include "uvsim.h"

struct fx {
	struct uvsim_guest g;
	EVP_PKEY *host, *other, *cust;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct pvk_err e;

	assert_int_equal(pvk_ec_generate(&f->host, &e), 0);
	assert_int_equal(pvk_ec_generate(&f->other, &e), 0);
	assert_int_equal(pvk_ec_generate(&f->cust, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->host);
	EVP_PKEY_free(f->other);
	EVP_PKEY_free(f->cust);
	free(f);
	return 0;
}

/* A fresh guest for each test. */
static struct uvsim_guest *guest(struct fx *f, uint64_t scf)
{
	struct uvsim_guest *g = &f->g;
	struct pvk_err e;

	uvsim_guest_clear(g);
	memset(g, 0, sizeof(*g));
	assert_int_equal(uvsim_guest_set_host_key(g, f->host, &e), 0);
	memset(g->pld, 1, 64);
	memset(g->ald, 2, 64);
	memset(g->tld, 3, 64);
	memset(g->tag, 4, 16);
	memset(g->cuid, 0x42, 16);
	memset(g->cck, 0x31, 32);
	g->scf = scf;
	assert_int_equal(pvk_ec_phkh(f->host, g->phkh, &e), 0);
	return g;
}

static void params(struct fx *f, struct asrcb_params *p, EVP_PKEY **host)
{
	struct pvk_err e;

	memset(p, 0, sizeof(*p));
	p->cust = f->cust;
	p->hosts = host;
	p->n_hosts = 1;
	assert_int_equal(pvk_random(p->iv, 12, &e), 0);
	assert_int_equal(pvk_random(p->prot_key, 32, &e), 0);
	memcpy(p->pld, f->g.pld, 64);
	memcpy(p->ald, f->g.ald, 64);
	memcpy(p->tld, f->g.tld, 64);
	memcpy(p->tag, f->g.tag, 16);
	p->secret_type = SECRET_NULL;
}

static struct uvsim_answer call(struct uvsim_guest *g, uint32_t nr, const uint8_t *in,
				uint32_t len, uint32_t cap)
{
	struct uvsim_answer a;

	uvsim_handle(g, nr, 0, in, len, cap, &a);
	return a;
}

/* Add a request; return the UV rc (rrc in *rrc). */
static uint16_t add(struct uvsim_guest *g, const struct asrcb_params *p, uint16_t *rrc)
{
	struct uvsim_answer a;
	struct pvk_err e;
	uint8_t *req;
	size_t len;

	assert_int_equal(pvk_asrcb_build(p, &req, &len, &e), 0);
	a = call(g, UVIO_NR_ADD_SECRET, req, (uint32_t)len, 0);
	free(req);
	assert_int_equal(a.err, 0);
	free(a.out);
	if (rrc)
		*rrc = a.rrc;
	return a.rc;
}

static void assoc(struct asrcb_params *p, const char *name, uint8_t *value)
{
	p->secret_type = SECRET_ASSOCIATION;
	pvk_sha256(name, strlen(name), p->secret_id);
	memset(value, name[0], 32);
	p->value = value;
	p->value_len = 32;
}

static void test_add_binding(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	struct asrcb_params p;
	uint8_t v[32];
	uint16_t rrc;

	params(f, &p, &f->host);
	assert_int_equal(add(g, &p, NULL), 1);                /* meta, any CUID */
	assert_int_equal(g->n_tags, 1);
	assert_int_equal(g->n_secrets, 0);                    /* not listable */
	p.pld[5] ^= 1;                                        /* another image */
	assert_int_equal(add(g, &p, &rrc), 0x0101);
	assert_int_equal(rrc, 1);
	p.pld[5] ^= 1;
	memset(p.cuid, 0x43, 16);                             /* another guest */
	assert_int_equal(add(g, &p, &rrc), 0x0101);
	assert_int_equal(rrc, 2);
	memcpy(p.cuid, g->cuid, 16);
	assoc(&p, "first", v);
	assert_int_equal(add(g, &p, NULL), 1);
	assert_int_equal(add(g, &p, &rrc), 0x010c);           /* duplicate id */
	params(f, &p, &f->other);                              /* not for this host */
	assert_int_equal(add(g, &p, NULL), 0x0108);
	params(f, &p, &f->host);
	p.flags = 1;                                          /* unknown flag */
	assert_int_equal(add(g, &p, NULL), 0x0107);
	p.flags = ASRCB_FLAG_DISABLE_DUMP;
	assert_int_equal(add(g, &p, NULL), 1);
	assert_true(g->dump_disabled);
	uvsim_guest_clear(g);
}

static void test_extension_secret(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	struct asrcb_params p;
	struct pvk_err e;
	uint16_t rrc;

	params(f, &p, &f->host);
	memset(p.ext_secret, 0x17, 32);
	assert_int_equal(add(g, &p, NULL), 1);                /* primes it */
	memset(p.ext_secret, 0x18, 32);
	assert_int_equal(add(g, &p, &rrc), 0x0101);
	assert_int_equal(rrc, 3);
	memset(p.ext_secret, 0x17, 32);
	assert_int_equal(add(g, &p, NULL), 1);
	/* An image with the CCK bit: only the HKDF of its CCK is accepted. */
	g = guest(f, SCF_CCK_EXTENSION_SECRET);
	assert_int_equal(add(g, &p, &rrc), 0x0101);
	assert_int_equal(pvk_asrcb_derive_ext_secret(g->cck, g->tag, p.ext_secret, &e), 0);
	assert_int_equal(add(g, &p, NULL), 1);
	uvsim_guest_clear(g);
}

static void test_lock_capacity_list(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	struct uvsim_answer a;
	struct asrcb_params p;
	uint8_t v[32], len4[4];
	char name[16];

	params(f, &p, &f->host);
	for (int i = 0; i < UVSIM_MAX_ASSOC; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		assoc(&p, name, v);
		assert_int_equal(add(g, &p, NULL), 1);
	}
	assoc(&p, "one-too-many", v);
	assert_int_equal(add(g, &p, NULL), 0x010b);
	put_be32(len4, 4096);
	a = call(g, UVIO_NR_LIST_SECRETS, len4, 4, 4096);
	assert_int_equal(a.rc, 1);
	assert_int_equal(get_be16(a.out), UVSIM_MAX_ASSOC);
	assert_int_equal(get_be16(a.out + 2), UVSIM_MAX_ASSOC);
	assert_int_equal(get_be16(a.out + 16 + 48), 1);       /* second entry: index 1 */
	assert_int_equal(get_be16(a.out + 16 + 2), SECRET_ASSOCIATION);
	assert_int_equal(get_be32(a.out + 16 + 4), 32);
	free(a.out);
	a = call(g, UVIO_NR_LOCK_SECRETS, NULL, 0, 0);
	assert_int_equal(a.rc, 1);
	a = call(g, UVIO_NR_LOCK_SECRETS, NULL, 0, 0);
	assert_int_equal(a.rc, 0x0102);
	params(f, &p, &f->host);
	assert_int_equal(add(g, &p, NULL), 0x0102);
	uvsim_guest_clear(g);
}

static void test_retrieve(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	struct uvsim_answer a;
	struct asrcb_params p;
	uint8_t aes[32], plain[32] = { 0 }, buf[128], v[32];

	params(f, &p, &f->host);
	a = call(g, UVIO_NR_RETR_SECRET, (const uint8_t *)"\0\0", 2, 2);
	assert_int_equal(a.rc, 0x010f);                      /* empty store */
	memset(aes, 0x5a, 32);
	p.secret_type = SECRET_AES_256;
	pvk_sha256("aes", 3, p.secret_id);
	p.value = aes;
	p.value_len = 32;
	assert_int_equal(add(g, &p, NULL), 1);
	put_be16(plain, 5);
	memcpy(plain + 2, "hello", 5);
	p.secret_type = SECRET_PLAINTEXT;
	pvk_sha256("plain", 5, p.secret_id);
	p.value = plain;
	p.value_len = 16;
	assert_int_equal(add(g, &p, NULL), 1);
	assoc(&p, "assoc", v);
	assert_int_equal(add(g, &p, NULL), 1);
	memset(buf, 0, sizeof(buf));
	put_be16(buf, 1);
	a = call(g, UVIO_NR_RETR_SECRET, buf, 16, 16);
	assert_int_equal(a.rc, 1);
	assert_int_equal(get_be16(a.out), 5);
	assert_memory_equal(a.out + 2, "hello", 5);
	free(a.out);
	put_be16(buf, 0);
	a = call(g, UVIO_NR_RETR_SECRET, buf, 16, 16);
	assert_int_equal(a.rc, 0x0009);                      /* protected key needs 64 */
	a = call(g, UVIO_NR_RETR_SECRET, buf, 64, 64);
	assert_int_equal(a.rc, 1);
	assert_memory_not_equal(a.out, aes, 32);             /* wrapped, not in the clear */
	free(a.out);
	put_be16(buf, 2);
	a = call(g, UVIO_NR_RETR_SECRET, buf, 64, 64);
	assert_int_equal(a.rc, 0x0111);                      /* association: not retrievable */
	put_be16(buf, 9);
	a = call(g, UVIO_NR_RETR_SECRET, buf, 64, 64);
	assert_int_equal(a.rc, 0x0110);
	a = call(g, UVIO_NR_RETR_SECRET, buf, 1, 64);
	assert_int_equal(a.err, EINVAL);
	uvsim_guest_clear(g);
}

static void test_attest(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	struct arcb_params ap;
	struct arcb_content c;
	struct attest_items it;
	struct uvsim_answer a;
	struct pvk_err e;
	uint8_t *arcb, *in, meas[64];
	size_t len;
	uint32_t in_len, add_len;

	memset(&ap, 0, sizeof(ap));
	ap.cust = f->cust;
	ap.hosts = &f->host;
	ap.n_hosts = 1;
	ap.paf = ARCB_PAF_NONCE | ARCB_PAF_PHKH_IMG | ARCB_PAF_SECRET_STORE_HASH;
	assert_int_equal(pvk_random(ap.arpk, 32, &e), 0);
	assert_int_equal(pvk_random(ap.meas_key, 64, &e), 0);
	assert_int_equal(pvk_random(ap.nonce, 16, &e), 0);
	assert_int_equal(pvk_arcb_build(&ap, &arcb, &len, &e), 0);
	add_len = (uint32_t)pvk_attest_add_size(ap.paf);
	in_len = UVPROTO_ATT_FIXED + (uint32_t)len;
	in = calloc(1, in_len);
	put_be32(in, (uint32_t)len);
	put_be32(in + 4, 64);
	put_be32(in + 8, add_len);
	put_be16(in + 12, 3);
	memcpy(in + 16, "abc", 3);
	memcpy(in + UVPROTO_ATT_FIXED, arcb, len);
	a = call(g, UVIO_NR_ATT, in, in_len, 64 + 4 + add_len + 16);
	assert_int_equal(a.rc, 1);
	assert_int_equal(get_be32(a.out + 64), add_len);
	assert_memory_equal(a.out + 64 + 4, g->phkh, 32);
	assert_memory_equal(a.out + 64 + 4 + add_len, g->cuid, 16);
	/* The owner recomputes the same measurement. */
	assert_int_equal(pvk_arcb_open(arcb, len, ap.arpk, &c, &e), 0);
	memset(&it, 0, sizeof(it));
	it.pld = g->pld;
	it.ald = g->ald;
	it.tld = g->tld;
	it.tag = g->tag;
	it.cuid = g->cuid;
	it.user = (const uint8_t *)"abc";
	it.user_len = 3;
	it.nonce = c.nonce;
	it.add = a.out + 68;
	it.add_len = add_len;
	assert_int_equal(pvk_attest_measure(c.meas_key, &it, meas, &e), 0);
	assert_memory_equal(meas, a.out, 64);
	free(a.out);
	/* Refusals: another host, buffers too small, bad lengths. */
	assert_int_equal(uvsim_guest_set_host_key(g, f->other, &e), 0);
	a = call(g, UVIO_NR_ATT, in, in_len, 64 + 4 + add_len + 16);
	assert_int_equal(a.rc, 0x010c);
	assert_int_equal(uvsim_guest_set_host_key(g, f->host, &e), 0);
	put_be32(in + 8, 0);
	a = call(g, UVIO_NR_ATT, in, in_len, 64 + 4 + 16);
	assert_int_equal(a.rc, 0x010e);
	put_be32(in + 8, add_len);
	put_be32(in + 4, 32);
	a = call(g, UVIO_NR_ATT, in, in_len, 32 + 4 + add_len + 16);
	assert_int_equal(a.rc, 0x010d);
	put_be32(in, (uint32_t)len + 1);
	a = call(g, UVIO_NR_ATT, in, in_len, 1000);
	assert_int_equal(a.err, EINVAL);
	free(in);
	free(arcb);
	uvsim_guest_clear(g);
}

/* The in-memory attestation API (what a service uses instead of files): a request made for
 * the host, performed by uvsim's UV, verified against the header from buffers; a wrong key,
 * another header and a changed measurement are refused. */
static void test_attest_buf_roundtrip(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	uint64_t paf = ARCB_PAF_PHKH_IMG | ARCB_PAF_SECRET_STORE_HASH;
	uint8_t *req, *hdr, *resp, arpk[32], *in;
	size_t req_len, hdr_len, resp_len;
	struct sehdr_params hp;
	struct pvk_attest_result r;
	struct uvsim_answer a;
	struct exch x, rx;
	struct sehdr h;
	struct pvk_err e;
	uint32_t in_len, add_len = (uint32_t)pvk_attest_add_size(ARCB_PAF_NONCE | paf);

	/* The guest's image: a real header with the guest's digests. */
	memset(&hp, 0, sizeof(hp));
	hp.cust = f->cust;
	hp.hosts = &f->host;
	hp.n_hosts = 1;
	hp.nep = 1;
	memcpy(hp.pld, g->pld, 64);
	memcpy(hp.ald, g->ald, 64);
	memcpy(hp.tld, g->tld, 64);
	assert_int_equal(pvk_random(hp.iv, 12, &e), 0);
	assert_int_equal(pvk_random(hp.hdr_key, 32, &e), 0);
	assert_int_equal(pvk_sehdr_build(&hp, &hdr, &hdr_len, &e), 0);
	assert_int_equal(pvk_sehdr_parse(hdr, hdr_len, &h, &e), 0);
	memcpy(g->tag, h.tag, 16);
	/* The trusted side's request, in memory. */
	assert_int_equal(pvk_attest_request_make(&f->host, 1, paf, &req, &req_len, arpk, &e), 0);
	assert_int_equal(pvk_exch_parse(req, req_len, &x, &e), 0);
	assert_int_equal(x.it[EXCH_ADD].size, add_len);
	/* The guest: the UV performs it with user data. */
	in_len = UVPROTO_ATT_FIXED + x.it[EXCH_ARCB].size;
	in = calloc(1, in_len);
	put_be32(in, x.it[EXCH_ARCB].size);
	put_be32(in + 4, 64);
	put_be32(in + 8, add_len);
	put_be16(in + 12, 3);
	memcpy(in + 16, "key", 3);
	memcpy(in + UVPROTO_ATT_FIXED, x.it[EXCH_ARCB].data, x.it[EXCH_ARCB].size);
	a = call(g, UVIO_NR_ATT, in, in_len, 64 + 4 + add_len + 16);
	assert_int_equal(a.rc, 1);
	memset(&rx, 0, sizeof(rx));
	rx.it[EXCH_ARCB] = x.it[EXCH_ARCB];
	rx.it[EXCH_MEAS] = (struct exch_item){ 64, a.out };
	rx.it[EXCH_ADD] = (struct exch_item){ add_len, a.out + 68 };
	rx.it[EXCH_USER] = (struct exch_item){ 3, (uint8_t *)"key" };
	rx.it[EXCH_CUID] = (struct exch_item){ 16, a.out + 68 + add_len };
	assert_int_equal(pvk_exch_write(&rx, &resp, &resp_len, &e), 0);
	/* Verified from buffers. */
	assert_int_equal(pvk_attest_verify_buf("resp", resp, resp_len, hdr, hdr_len, arpk, &r, &e), 0);
	assert_int_equal(r.paf, ARCB_PAF_NONCE | paf);
	assert_memory_equal(r.x.it[EXCH_CUID].data, g->cuid, 16);
	assert_memory_equal(r.x.it[EXCH_USER].data, "key", 3);
	pvk_attest_result_free(&r);
	/* Refused: another protection key, a header of another image, a changed measurement. */
	arpk[0] ^= 1;
	assert_int_equal(pvk_attest_verify_buf("resp", resp, resp_len, hdr, hdr_len, arpk, &r, &e), -1);
	assert_int_equal(e.code, PVK_E_AUTH);
	assert_non_null(strstr(e.msg, "resp: the attestation request does not decrypt"));
	arpk[0] ^= 1;
	memset(hp.pld, 9, 64);
	free(hdr);
	assert_int_equal(pvk_sehdr_build(&hp, &hdr, &hdr_len, &e), 0);
	assert_int_equal(pvk_attest_verify_buf("resp", resp, resp_len, hdr, hdr_len, arpk, &r, &e), 1);
	free(resp);
	a.out[5] ^= 1;
	assert_int_equal(pvk_exch_write(&rx, &resp, &resp_len, &e), 0);
	memset(hp.pld, 1, 64);
	free(hdr);
	assert_int_equal(pvk_sehdr_build(&hp, &hdr, &hdr_len, &e), 0);
	assert_int_equal(pvk_sehdr_parse(hdr, hdr_len, &h, &e), 0);
	memcpy(g->tag, h.tag, 16);
	assert_int_equal(pvk_attest_verify_buf("resp", resp, resp_len, hdr, hdr_len, arpk, &r, &e), 1);
	/* Not a response, and too large. */
	assert_int_equal(pvk_attest_verify_buf("junk", (const uint8_t *)"abc", 3, hdr, hdr_len, arpk,
					       &r, &e), -1);
	assert_int_equal(e.code, PVK_E_FORMAT);
	assert_int_equal(pvk_attest_verify_buf("big", resp, PVK_ATTEST_FILE_MAX + 1, hdr, hdr_len,
					       arpk, &r, &e), -1);
	OPENSSL_cleanse(&hp, sizeof(hp));
	free(resp);
	free(a.out);
	free(in);
	free(req);
	free(hdr);
	uvsim_guest_clear(g);
}

/* A non-null secret whose request has the short (16-byte, ID-less) secret header: refused,
 * not stored with an ID read through a NULL pointer (found by tests/fuzz/fuzz_uvsim). */
static void test_add_short_secret_header(void **state)
{
	struct fx *f = *state;
	struct uvsim_guest *g = guest(f, 0);
	uint8_t pre[ASRCB_OFF_CUST - UVREQ_HDR_LEN], shdr[16], conf[32 + 32], *req;
	struct uvreq_params p;
	struct uvsim_answer a;
	struct pvk_err e;
	size_t len;

	memset(pre, 0, sizeof(pre));
	memcpy(pre + ASRCB_OFF_PLD - UVREQ_HDR_LEN, g->pld, 64);
	memcpy(pre + ASRCB_OFF_ALD - UVREQ_HDR_LEN, g->ald, 64);
	memcpy(pre + ASRCB_OFF_TLD - UVREQ_HDR_LEN, g->tld, 64);
	memcpy(pre + ASRCB_OFF_TAG - UVREQ_HDR_LEN, g->tag, 16);
	memset(shdr, 0, sizeof(shdr));
	put_be16(shdr + 2, SECRET_ASSOCIATION);
	put_be32(shdr + 4, 32);
	memset(conf, 0x61, sizeof(conf));
	memset(&p, 0, sizeof(p));
	memcpy(p.magic, ASRCB_MAGIC, 6);
	p.version = UVREQ_VERSION_V1;
	assert_int_equal(pvk_random(p.prot_key, 32, &e), 0);
	p.cust = f->cust;
	p.hosts = &f->host;
	p.n_hosts = 1;
	p.aad_pre = pre;
	p.aad_pre_len = sizeof(pre);
	p.aad_post = shdr;
	p.aad_post_len = sizeof(shdr);
	p.conf = conf;
	p.conf_len = sizeof(conf);
	assert_int_equal(pvk_uvreq_build(&p, &req, &len, &e), 0);
	a = call(g, UVIO_NR_ADD_SECRET, req, (uint32_t)len, 0);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.rc, 0x0105);
	assert_int_equal(g->n_secrets, 0);
	assert_int_equal(g->n_tags, 0);
	free(a.out);
	free(req);
	uvsim_guest_clear(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_binding),        cmocka_unit_test(test_extension_secret),
		cmocka_unit_test(test_lock_capacity_list), cmocka_unit_test(test_retrieve),
		cmocka_unit_test(test_attest),             cmocka_unit_test(test_add_short_secret_header),
		cmocka_unit_test(test_attest_buf_roundtrip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
