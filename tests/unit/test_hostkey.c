// SPDX-License-Identifier: MIT
/*
 * Host-key documents: loading, certificate options and the verification of spec §3,
 * against IBM's fake PKI (the cases of rust/pv/tests/cert_verifier.rs and
 * rust/pv/src/verify/test.rs, plus the rest of spec §9.3) and against a PKI made by
 * pvk_testpki_generate (key types, validity, quirks, CRL download through a fetch hook).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/testpki.h"
#include "testutil.h"

#define CERT_DIR "rust/pv/tests/assets/cert/"
#define MAXN 8

/* ---------------------------------------------------------------------------------------- */
/* helpers */

/* Paths stay valid for the whole test: a ring of buffers. */
static const char *in_dir(const char *dir, const char *name)
{
	static char ring[64][4096];
	static unsigned int next;
	char *p = ring[next++ % 64];

	if (snprintf(p, sizeof(ring[0]), "%s/%s", dir, name) >= (int)sizeof(ring[0]))
		fail_msg("path too long: %s/%s", dir, name);
	return p;
}

static const char *asset(const char *name)
{
	const char *dir;

	conf_require();
	dir = conf_path(CERT_DIR);
	assert_non_null(dir);
	return in_dir(dir, name);
}

/* The CRL fetch hook: the last path component of the URI, read from a directory (what
 * IBM's mock download does with the bare file names of its fake PKI). */
struct mock_fetch {
	const char *dir; /* NULL: every download fails (an unreachable network) */
	int calls;
	int hits;
};

static int mock_fetch(void *ctx, const char *uri, uint8_t **buf, size_t *len)
{
	struct mock_fetch *m = ctx;
	const char *base = strrchr(uri, '/');
	struct pvk_err e;

	m->calls++;
	if (!m->dir)
		return -1;
	if (pvk_file_read_all(in_dir(m->dir, base ? base + 1 : uri), 1 << 24, buf, len, &e))
		return -1;
	m->hits++;
	return 0;
}

/* One verifier configuration. Names are relative to dir. */
struct vcase {
	const char *certs[MAXN];
	const char *crls[MAXN];
	const char *root; /* NULL: the system's default root CAs */
	int online;       /* downloads go through the mock */
};

struct built {
	const char *certs[MAXN], *crls[MAXN];
	struct pvk_cert_opts o;
	struct mock_fetch mock;
};

static void opts_from(struct built *b, const char *dir, const struct vcase *c, int mock_dir)
{
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < MAXN && c->certs[i]; i++)
		b->certs[b->o.n_certs++] = in_dir(dir, c->certs[i]);
	for (size_t i = 0; i < MAXN && c->crls[i]; i++)
		b->crls[b->o.n_crls++] = in_dir(dir, c->crls[i]);
	b->o.certs = b->certs;
	b->o.crls = b->crls;
	b->o.root_ca = c->root ? in_dir(dir, c->root) : NULL;
	b->o.offline = !c->online;
	b->mock.dir = mock_dir ? dir : NULL;
	pvk_crl_set_fetcher(mock_fetch, &b->mock);
}

static int build_in(const char *dir, const struct vcase *c, int mock_dir,
		    struct pvk_hkd_verifier **v, struct pvk_err *e)
{
	struct built b;
	int rc;

	opts_from(&b, dir, c, mock_dir);
	pvk_err_clear(e);
	rc = pvk_hkd_verifier_new(&b.o, v, e);
	if (!c->online)
		assert_int_equal(b.mock.calls, 0); /* --offline: nothing is downloaded */
	pvk_crl_set_fetcher(NULL, NULL);
	if (rc)
		assert_null(*v);
	return rc;
}

static struct pvk_hkd_verifier *must_build_in(const char *dir, const struct vcase *c,
					      int mock_dir)
{
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_err e;

	if (build_in(dir, c, mock_dir, &v, &e))
		fail_msg("verifier: %s", e.msg);
	return v;
}

static void assert_msg_has(const struct pvk_err *e, const char *needle)
{
	if (!strstr(e->msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, e->msg);
}

/* The OpenSSL verify error a chain failure carries; -1 if it is not a chain failure. */
static int chain_error(const struct pvk_err *e)
{
	const char *p = strstr(e->msg, "X509 verify error ");
	int code;

	if (e->code != PVK_E_VERIFY ||
	    !strstr(e->msg, "Host-key verification failed: ") ||
	    !strstr(e->msg, "The IBM Z signing key could not be verified. Error occurred at level") ||
	    !p || sscanf(p, "X509 verify error %d", &code) != 1)
		return -1;
	return code;
}

static void expect_chain_error(const char *dir, const struct vcase *c, int mock_dir,
			       const int *codes, size_t n)
{
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_err e;
	int code;

	assert_int_equal(build_in(dir, c, mock_dir, &v, &e), -1);
	code = chain_error(&e);
	for (size_t i = 0; i < n; i++)
		if (code == codes[i])
			return;
	fail_msg("unexpected result: %s", e.msg);
}

static void expect_build_error(const char *dir, const struct vcase *c, const char *msg)
{
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_err e;

	assert_int_equal(build_in(dir, c, 0, &v, &e), -1);
	assert_msg_has(&e, msg);
}

/* Verify one HKD file; returns 0 or -1 with e filled. */
static int verify_file(struct pvk_hkd_verifier *v, const char *path, int online,
		       const char *mock_dir, struct pvk_err *e)
{
	struct mock_fetch m = { .dir = mock_dir };
	X509 *crt;
	int rc;

	pvk_err_clear(e);
	if (pvk_hkd_load(path, &crt, e) < 0)
		fail_msg("%s", e->msg);
	pvk_crl_set_fetcher(mock_fetch, &m);
	rc = pvk_hkd_verify(v, crt, path, e);
	pvk_crl_set_fetcher(NULL, NULL);
	if (!online)
		assert_int_equal(m.calls, 0);
	X509_free(crt);
	return rc;
}

static void expect_ok(struct pvk_hkd_verifier *v, const char *path, int online,
		      const char *mock_dir)
{
	struct pvk_err e;

	if (verify_file(v, path, online, mock_dir, &e))
		fail_msg("%s: %s", path, e.msg);
}

static void expect_fail(struct pvk_hkd_verifier *v, const char *path, int online,
			const char *mock_dir, const char *reason)
{
	char exp[PVK_ERR_MSG_MAX];
	struct pvk_err e;

	assert_int_equal(verify_file(v, path, online, mock_dir, &e), -1);
	assert_int_equal(e.code, PVK_E_VERIFY);
	/* the prefix, the file and the reason */
	snprintf(exp, sizeof(exp), "Host-key verification failed: %s: %s", path, reason);
	if (strcmp(e.msg, exp))
		fail_msg("expected \"%s\", got \"%s\"", exp, e.msg);
}

/* ---------------------------------------------------------------------------------------- */
/* IBM's fake PKI: helper-level cases (verify/helper.rs, utils.rs) */

static void test_ibm_is_signing_key(void **state)
{
	static const struct {
		const char *name;
		int exp;
	} cases[] = {
		{ "ibm.crt", 1 },        { "ibm_armonk.crt", 1 },         { "der.crt", 1 },
		{ "ibm_rev.crt", 1 },    { "fake_ibm.crt", 1 },           { "inter_ca.crt", 0 },
		{ "root_ca.crt", 0 },    { "ibm_wrong_subject.crt", 0 }, { "host.crt", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pvk_err e;
		X509 *crt;

		assert_int_equal(pvk_hkd_load(asset(cases[i].name), &crt, &e), 0);
		if (pvk_hkd_is_signing_key(crt) != cases[i].exp)
			fail_msg("%s: signing key %d expected", cases[i].name, cases[i].exp);
		X509_free(crt);
	}
}

static int crl_count(const char *path)
{
	STACK_OF(X509_CRL) *sk;
	struct pvk_err e;
	uint8_t *buf;
	size_t len;
	int n;

	if (pvk_file_read_all(path, 1 << 24, &buf, &len, &e))
		fail_msg("%s", e.msg);
	if (pvk_crl_parse(buf, len, &sk, &e))
		fail_msg("%s", e.msg);
	n = sk_X509_CRL_num(sk);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	free(buf);
	return n;
}

static void test_ibm_read_crls_and_certs(void **state)
{
	struct pvk_err e;
	X509 *a, *b;

	(void)state;
	/* utils.rs read_crls: PEM 1, DER 1, a certificate 0 */
	assert_int_equal(crl_count(asset("ibm.crl")), 1);
	assert_int_equal(crl_count(asset("der.crl")), 1);
	assert_int_equal(crl_count(asset("ibm.crt")), 0);
	assert_int_equal(crl_count(asset("ibm.chained.crt")), 1);
	/* read_certs: PEM and DER give the same certificate; a CRL holds none */
	assert_int_equal(pvk_hkd_load(asset("ibm.crt"), &a, &e), 0);
	assert_int_equal(pvk_hkd_load(asset("der.crt"), &b, &e), 0);
	assert_int_equal(X509_cmp(a, b), 0);
	X509_free(a);
	X509_free(b);
	assert_int_equal(pvk_hkd_load(asset("ibm.crl"), &a, &e), -1);
	assert_null(a);
	assert_int_equal(e.code, PVK_E_FORMAT);
	assert_msg_has(&e, "The provided host key document in ");
	assert_msg_has(&e, "ibm.crl contains no certificate!");
	/* a file with a CRL and a certificate: the certificate */
	assert_int_equal(pvk_hkd_load(asset("ibm.chained.crt"), &a, &e), 0);
	assert_int_equal(pvk_hkd_is_signing_key(a), 1);
	X509_free(a);
}

static void test_ibm_dist_points(void **state)
{
	static const struct {
		const char *crt, *uri;
	} cases[] = {
		{ "ibm.crt", "inter_ca.crl" }, { "inter_ca.crt", "root_ca.crl" },
		{ "host.crt", "ibm.crl" },     { "host_armonk.crt", "ibm_armonk.crl" },
		{ "host_uri_na.crt", "notavailable" }, { "root_ca.crt", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pvk_err e;
		char **uris;
		size_t n;
		X509 *crt;

		assert_int_equal(pvk_hkd_load(asset(cases[i].crt), &crt, &e), 0);
		assert_int_equal(pvk_crl_dist_uris(crt, &uris, &n, &e), 0);
		if (cases[i].uri) {
			assert_int_equal(n, 1);
			assert_string_equal(uris[0], cases[i].uri);
		} else {
			assert_int_equal(n, 0);
		}
		pvk_crl_uris_free(uris, n);
		X509_free(crt);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* IBM's fake PKI: CertVerifier::new (cert_verifier.rs verifier_new) */

static const char *ibm_dir(void)
{
	static char dir[4096];

	conf_require();
	snprintf(dir, sizeof(dir), "%s", conf_path("rust/pv/tests/assets/cert"));
	return dir;
}

static void test_ibm_too_many_signing_keys(void **state)
{
	struct vcase c = { .certs = { "ibm.crt", "ibm_rev.crt" } };

	(void)state;
	expect_build_error(ibm_dir(), &c, "Host-key verification failed: Specify only one IBM Z "
			   "signing key");
}

static void test_ibm_no_crl_for_each_cert(void **state)
{
	/* IBM passes offline=false; its downloads of the bare DP names fail, like ours here */
	struct vcase c1 = { .certs = { "inter_ca.crt", "ibm.crt" }, .crls = { "inter_ca.crl" },
			    .root = "root_ca.crt", .online = 1 };
	struct vcase c2 = { .certs = { "inter_ca.crt", "ibm.crt" },
			    .root = "root_ca.chained.crt", .online = 1 };
	static const int three[] = { 3 };

	(void)state;
	expect_chain_error(ibm_dir(), &c1, 0, three, 1);
	expect_chain_error(ibm_dir(), &c2, 0, three, 1);
	c1.online = c2.online = 0;
	expect_chain_error(ibm_dir(), &c1, 0, three, 1);
	expect_chain_error(ibm_dir(), &c2, 0, three, 1);
}

static void test_ibm_wrong_intermediate(void **state)
{
	struct vcase c = { .certs = { "fake_inter_ca.crt", "ibm.crt" },
			   .crls = { "fake_inter_ca.crl" }, .root = "root_ca.chained.crt" };
	/* depending on the OpenSSL version */
	static const int codes[] = { 20, 30 };

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, codes, 2);
}

static void test_ibm_wrong_root(void **state)
{
	/* the system's root CAs do not include IBM's fake root */
	struct vcase c = { .certs = { "inter_ca.crt", "ibm.crt" }, .crls = { "inter_ca.crl" } };
	static const int twenty[] = { 20 };

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, twenty, 1);
}

static void test_ibm_correct_chain(void **state)
{
	struct vcase c = { .certs = { "inter_ca.crt", "ibm.crt" }, .crls = { "inter_ca.crl" },
			   .root = "root_ca.chained.crt", .online = 1 };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(ibm_dir(), &c, 0);
	pvk_hkd_verifier_free(v);
	c.online = 0;
	v = must_build_in(ibm_dir(), &c, 0);
	pvk_hkd_verifier_free(v);
}

static void test_ibm_no_intermediate(void **state)
{
	struct vcase c = { .certs = { "ibm.crt" }, .root = "root_ca.chained.crt", .online = 1 };
	static const int twenty[] = { 20 };

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, twenty, 1);
}

static void test_ibm_crl_file_as_signing_key(void **state)
{
	/* IBM's "IBM Sign outdated" case passes the outdated CRL files as *certificates*:
	 * they hold no certificate, so no signing key is found */
	struct vcase c = { .certs = { "inter_ca.crt", "ibm_outdated_early.crl" },
			   .crls = { "inter_ca.crl" }, .root = "root_ca.chained.crt" };

	(void)state;
	expect_build_error(ibm_dir(), &c, "Host-key verification failed: Specify one IBM Z "
			   "signing key");
	c.certs[1] = "ibm_outdated_late.crl";
	expect_build_error(ibm_dir(), &c, "Host-key verification failed: Specify one IBM Z "
			   "signing key");
}

static void test_ibm_revoked_signing_key(void **state)
{
	struct vcase c = { .certs = { "inter_ca.crt", "ibm_rev.crt" }, .crls = { "inter_ca.crl" },
			   .root = "root_ca.chained.crt" };
	static const int revoked[] = { 23 };
	struct pvk_hkd_verifier *v = NULL;
	struct pvk_err e;

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, revoked, 1);
	/* the message names the file of the signing key */
	assert_int_equal(build_in(ibm_dir(), &c, 0, &v, &e), -1);
	assert_msg_has(&e, "ibm_rev.crt: The IBM Z signing key could not be verified. Error "
		       "occurred at level 0");
}

static void test_ibm_wrong_subject_signing_key(void **state)
{
	struct vcase c = { .certs = { "inter_ca.crt", "ibm_wrong_subject.crt" },
			   .crls = { "inter_ca.crl", "ibm_wrong_subject.crl" },
			   .root = "root_ca.chained.crt" };

	(void)state;
	expect_build_error(ibm_dir(), &c, "Host-key verification failed: Specify one IBM Z "
			   "signing key");
}

/* ---------------------------------------------------------------------------------------- */
/* IBM's fake PKI: CertVerifier::verify (verify/test.rs) */

/* test.rs verify(): host ok, host_rev revoked, host_crt_expired after validity. */
static void ibm_verify(int online, const char *ibm_crt, const char *ibm_crl, const char *hkd)
{
	const char *dir = ibm_dir();
	struct vcase c = { .certs = { ibm_crt, "inter_ca.crt" }, .root = "root_ca.chained.crt",
			   .online = online };
	struct pvk_hkd_verifier *v;

	if (!online) {
		c.crls[0] = ibm_crl;
		c.crls[1] = "inter_ca.crl";
	}
	v = must_build_in(dir, &c, 1);
	expect_ok(v, in_dir(dir, hkd), online, dir);
	expect_fail(v, in_dir(dir, "host_rev.crt"), online, dir, "Host-key document is revoked.");
	expect_fail(v, in_dir(dir, "host_crt_expired.crt"), online, dir, "After validity period");
	pvk_hkd_verifier_free(v);
}

static void test_ibm_verify_online(void **s)
{
	(void)s;
	ibm_verify(1, "ibm.crt", "ibm.crl", "host.crt");
}
static void test_ibm_verify_offline(void **s)
{
	(void)s;
	ibm_verify(0, "ibm.crt", "ibm.crl", "host.crt");
}
static void test_ibm_verify_armonk_crt_online(void **s)
{
	(void)s;
	ibm_verify(1, "ibm_armonk.crt", "ibm.crl", "host.crt");
}
static void test_ibm_verify_armonk_crt_offline(void **s)
{
	(void)s;
	ibm_verify(0, "ibm_armonk.crt", "ibm.crl", "host.crt");
}
static void test_ibm_verify_armonk_crl_online(void **s)
{
	(void)s;
	ibm_verify(1, "ibm_armonk.crt", "ibm_armonk.crl", "host.crt");
}
static void test_ibm_verify_armonk_crl_offline(void **s)
{
	(void)s;
	ibm_verify(0, "ibm_armonk.crt", "ibm_armonk.crl", "host.crt");
}
static void test_ibm_verify_armonk_hkd_online(void **s)
{
	(void)s;
	ibm_verify(1, "ibm_armonk.crt", "ibm_armonk.crl", "host_armonk.crt");
}
static void test_ibm_verify_armonk_hkd_offline(void **s)
{
	(void)s;
	ibm_verify(0, "ibm_armonk.crt", "ibm_armonk.crl", "host_armonk.crt");
}

static void test_ibm_verify_chain_online(void **state)
{
	/* test.rs verify_chain_online: no --crl, the CRLs come from the distribution points */
	struct vcase c = { .certs = { "ibm.crt", "inter_ca.crt" }, .root = "root_ca.chained.crt",
			   .online = 1 };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(ibm_dir(), &c, 1);
	pvk_hkd_verifier_free(v);
	/* the root CA's CRL too (root_ca.crt holds none) */
	c.root = "root_ca.crt";
	v = must_build_in(ibm_dir(), &c, 1);
	expect_ok(v, asset("host.crt"), 1, ibm_dir());
	expect_ok(v, asset("host2.crt"), 1, ibm_dir());
	pvk_hkd_verifier_free(v);
}

/* ---------------------------------------------------------------------------------------- */
/* IBM's fake PKI: the other artefacts of spec §9.3 */

#define STD_CERTS { "inter_ca.crt", "ibm.crt" }
#define STD_ROOT "root_ca.chained.crt"

static void test_ibm_std_offline(void **state)
{
	/* the example of spec §9.3 */
	struct vcase c = { .certs = STD_CERTS, .crls = { "inter_ca.crl", "ibm.crl" },
			   .root = STD_ROOT };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(ibm_dir(), &c, 0);
	expect_ok(v, asset("host.crt"), 0, NULL);
	expect_ok(v, asset("host2.crt"), 0, NULL);
	/* host_armonk.crt is signed by the same key; its AKID matches ibm.crt too */
	expect_ok(v, asset("host_armonk.crt"), 0, NULL);
	/* the CRL is in the store, the unreachable distribution point does not matter */
	expect_ok(v, asset("host_uri_na.crt"), 0, NULL);
	expect_fail(v, asset("host_rev.crt"), 0, NULL, "Host-key document is revoked.");
	expect_fail(v, asset("host_crt_expired.crt"), 0, NULL, "After validity period");
	/* issued by the wrong-subject key */
	expect_fail(v, asset("host_invalid_signing_key.crt"), 0, NULL,
		    "Authority Key Id mismatch");
	expect_fail(v, asset("fake_host.crt"), 0, NULL, "Authority Key Id mismatch");
	pvk_hkd_verifier_free(v);
}

static void test_ibm_signing_key_crls(void **state)
{
	static const struct {
		const char *crl;
		const char *alone;    /* result for host.crt with only this signing-key CRL */
		const char *with_ibm; /* ... with ibm.crl as well */
	} cases[] = {
		{ "ibm.crl", NULL, NULL },
		{ "der.crl", NULL, NULL },
		{ "ibm_outdated_early.crl", "No valid CRL found", NULL },
		{ "ibm_outdated_late.crl", "No valid CRL found", NULL },
		/* lists host.crt, but signed by the intermediate: not counted */
		{ "ibm_invalid_hash.crl", "No valid CRL found", NULL },
		/* issuer L=Armonk: found only for an Armonk signing key */
		{ "ibm_armonk.crl", "No valid CRL found", NULL },
		{ "ibm_wrong_subject.crl", "No valid CRL found", NULL },
	};
	const char *dir = ibm_dir();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int both = 0; both < 2; both++) {
			struct vcase c = { .certs = STD_CERTS,
					   .crls = { "inter_ca.crl", cases[i].crl,
						     both ? "ibm.crl" : NULL },
					   .root = STD_ROOT };
			const char *exp = both ? cases[i].with_ibm : cases[i].alone;
			struct pvk_hkd_verifier *v = must_build_in(dir, &c, 0);

			if (exp)
				expect_fail(v, in_dir(dir, "host.crt"), 0, NULL, exp);
			else
				expect_ok(v, in_dir(dir, "host.crt"), 0, NULL);
			pvk_hkd_verifier_free(v);
		}
	}
}

static void test_ibm_wrong_issuer_crl(void **state)
{
	/* ibm_wrong_issuer.crl carries the intermediate's name but is signed by the signing
	 * key and has no AKID: OpenSSL takes it as the CRL for ibm.crt and the chain fails on
	 * its signature, with or without the right CRL */
	struct vcase c = { .certs = STD_CERTS, .crls = { "ibm_wrong_issuer.crl", "inter_ca.crl" },
			   .root = STD_ROOT };
	static const int sigfail[] = { 8 };

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, sigfail, 1);
	c.crls[2] = "ibm.crl";
	expect_chain_error(ibm_dir(), &c, 0, sigfail, 1);
}

static void test_ibm_intermediate_crls(void **state)
{
	struct vcase c = { .certs = STD_CERTS, .crls = { NULL, "ibm.crl" }, .root = STD_ROOT };
	static const int no_crl[] = { 3 }, expired[] = { 12 };
	struct pvk_hkd_verifier *v;

	(void)state;
	/* signed by the root for the intermediate's name: does not count */
	c.crls[0] = "inter_ca.invalid_signer.crl";
	expect_chain_error(ibm_dir(), &c, 0, no_crl, 1);
	/* outdated */
	c.crls[0] = "inter_ca.invalid_date.crl";
	expect_chain_error(ibm_dir(), &c, 0, expired, 1);
	/* next to the right one, both are ignored */
	c.crls[2] = "inter_ca.crl";
	v = must_build_in(ibm_dir(), &c, 0);
	expect_ok(v, asset("host.crt"), 0, NULL);
	pvk_hkd_verifier_free(v);
	c.crls[0] = "inter_ca.invalid_signer.crl";
	v = must_build_in(ibm_dir(), &c, 0);
	expect_ok(v, asset("host.crt"), 0, NULL);
	pvk_hkd_verifier_free(v);
}

static void test_ibm_root_crls(void **state)
{
	/* root_ca.crt alone has no CRL for the intermediate */
	struct vcase c = { .certs = STD_CERTS, .crls = { "inter_ca.crl", "ibm.crl" },
			   .root = "root_ca.crt" };
	static const int no_crl[] = { 3 };
	struct pvk_hkd_verifier *v;

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, no_crl, 1);
	c.crls[2] = "root_ca.crl";
	v = must_build_in(ibm_dir(), &c, 0);
	pvk_hkd_verifier_free(v);
	/* same issuer name, signed by the real root key */
	c.crls[2] = "fake_root_ca_valid.crl";
	v = must_build_in(ibm_dir(), &c, 0);
	pvk_hkd_verifier_free(v);
	/* same issuer name, signed by the fake root key (its AKID names that key): not used */
	c.crls[2] = "fake_root_ca.crl";
	expect_chain_error(ibm_dir(), &c, 0, no_crl, 1);
}

static void test_ibm_expired_signing_key(void **state)
{
	struct vcase c = { .certs = { "inter_ca.crt", "ibm_expired.crt" },
			   .crls = { "inter_ca.crl", "ibm.crl" }, .root = STD_ROOT };
	static const int expired[] = { 10 };

	(void)state;
	expect_chain_error(ibm_dir(), &c, 0, expired, 1);
}

static void test_ibm_chained_and_der_files(void **state)
{
	/* CRLs inside --cert files are used */
	struct vcase c1 = { .certs = { "inter_ca.chained.crt", "ibm.chained.crt" },
			    .root = STD_ROOT };
	/* DER certificate and DER CRL */
	struct vcase c2 = { .certs = { "inter_ca.crt", "der.crt" },
			    .crls = { "inter_ca.crl", "der.crl" }, .root = STD_ROOT };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(ibm_dir(), &c1, 0);
	expect_ok(v, asset("host.crt"), 0, NULL);
	expect_fail(v, asset("host_rev.crt"), 0, NULL, "Host-key document is revoked.");
	pvk_hkd_verifier_free(v);
	v = must_build_in(ibm_dir(), &c2, 0);
	expect_ok(v, asset("host.crt"), 0, NULL);
	expect_fail(v, asset("host_rev.crt"), 0, NULL, "Host-key document is revoked.");
	pvk_hkd_verifier_free(v);
}

static void test_ibm_fake_hierarchy(void **state)
{
	/* the fake hierarchy is consistent in itself */
	struct vcase c = { .certs = { "fake_inter_ca.crt", "fake_ibm.crt" },
			   .crls = { "fake_inter_ca.crl", "fake_ibm.crl", "fake_root_ca.crl" },
			   .root = "fake_root_ca.crt" };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(ibm_dir(), &c, 0);
	expect_ok(v, asset("fake_host.crt"), 0, NULL);
	expect_fail(v, asset("host.crt"), 0, NULL, "Authority Key Id mismatch");
	pvk_hkd_verifier_free(v);
}

static void test_ibm_no_signing_key_crl(void **state)
{
	const char *dir = ibm_dir();
	struct vcase c = { .certs = STD_CERTS, .crls = { "inter_ca.crl" }, .root = STD_ROOT };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(dir, &c, 0);
	expect_fail(v, in_dir(dir, "host.crt"), 0, NULL, "No valid CRL found");
	pvk_hkd_verifier_free(v);
	/* online: host.crt's distribution point gives ibm.crl, host_uri_na.crt's gives nothing */
	c.online = 1;
	v = must_build_in(dir, &c, 1);
	expect_ok(v, in_dir(dir, "host.crt"), 1, dir);
	/* the error names the distribution point whose download failed (issue 10 #17) */
	expect_fail(v, in_dir(dir, "host_uri_na.crt"), 1, dir,
		    "No valid CRL found (the CRL download from 'notavailable' failed: not available)");
	/* a distribution point is downloaded once per run: host.crt's CRL is not fetched again */
	expect_ok(v, in_dir(dir, "host.crt"), 1, NULL);
	pvk_hkd_verifier_free(v);
	/* unreachable network: the HKD's own failed download is named */
	v = must_build_in(dir, &c, 1);
	expect_fail(v, in_dir(dir, "host.crt"), 1, NULL,
		    "No valid CRL found (the CRL download from 'ibm.crl' failed: not available)");
	pvk_hkd_verifier_free(v);
}

static void test_ibm_bad_files(void **state)
{
	struct vcase c = { .certs = STD_CERTS, .crls = { "inter_ca.crl", "ibm.crt" },
			   .root = STD_ROOT };
	struct vcase r = { .certs = STD_CERTS, .crls = { "inter_ca.crl" }, .root = "ibm.crl" };
	struct vcase m = { .certs = { "inter_ca.crt", "no-such.crt" }, .root = STD_ROOT };

	(void)state;
	/* a --crl file without a CRL */
	expect_build_error(ibm_dir(), &c, "Cannot load CRL from '");
	expect_build_error(ibm_dir(), &c, "ibm.crt'");
	/* a --root-ca file without a certificate */
	expect_build_error(ibm_dir(), &r, "Cannot load certificate from '");
	expect_build_error(ibm_dir(), &r, "ibm.crl'");
	/* a missing file is named */
	expect_build_error(ibm_dir(), &m, "no-such.crt");
}

static void test_ibm_hkd_files(void **state)
{
	static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	const char *two, *bad, *junk;
	uint8_t *a, *b, *cat;
	size_t la, lb;
	struct pvk_err e;
	X509 *crt, *first;
	char *dir;

	(void)state;
	/* Skip before making anything a skip would leave behind (issue 9 #16). */
	conf_require();
	dir = tmpdir_make();
	two = in_dir(dir, "two.crt");
	bad = in_dir(dir, "bad.crt");
	junk = in_dir(dir, "junk.crt");
	a = conf_read(CERT_DIR "host.crt", &la);
	b = conf_read(CERT_DIR "host2.crt", &lb);
	cat = malloc(la + lb);
	assert_non_null(cat);
	memcpy(cat, a, la);
	memcpy(cat + la, b, lb);
	assert_int_equal(pvk_file_write_all(two, cat, la + lb, 0, &e), 0);
	assert_int_equal(pvk_file_write_all(bad, bad_pem, strlen(bad_pem), 0, &e), 0);
	assert_int_equal(pvk_file_write_all(junk, "hello\n", 6, 0, &e), 0);
	free(a);
	free(b);
	free(cat);

	/* several certificates: 1, the first one */
	assert_int_equal(pvk_hkd_load(two, &crt, &e), 1);
	assert_int_equal(pvk_hkd_load(asset("host.crt"), &first, &e), 0);
	assert_int_equal(X509_cmp(crt, first), 0);
	X509_free(crt);
	X509_free(first);
	assert_int_equal(pvk_hkd_load(bad, &crt, &e), -1);
	assert_int_equal(e.code, PVK_E_FORMAT);
	assert_msg_has(&e, "The provided Host Key Document in '");
	assert_msg_has(&e, "bad.crt' is not in PEM or DER format");
	assert_int_equal(pvk_hkd_load(junk, &crt, &e), -1);
	assert_msg_has(&e, "junk.crt contains no certificate!");
	assert_int_equal(pvk_hkd_load(in_dir(dir, "missing.crt"), &crt, &e), -1);
	assert_int_equal(e.code, PVK_E_IO);
	assert_msg_has(&e, "missing.crt");
	rm_rf(dir);
	free(dir);
}

/* The high-level API with IBM's PKI; the log gets the notes. */
struct logrec {
	int warn, info, debug;
	char last_warn[PVK_ERR_MSG_MAX];
};

static void logrec_fn(void *ctx, enum pvk_hkd_log level, const char *msg)
{
	struct logrec *l = ctx;

	if (level == PVK_HKD_WARN) {
		l->warn++;
		snprintf(l->last_warn, sizeof(l->last_warn), "%s", msg);
	} else if (level == PVK_HKD_INFO) {
		l->info++;
	} else {
		l->debug++;
	}
}

static void test_ibm_hostkeys_load_verified(void **state)
{
	const char *hkds[] = { asset("host.crt"), asset("host2.crt"), asset("host_armonk.crt") };
	const char *certs[] = { asset("inter_ca.crt"), asset("ibm.crt") };
	const char *crls[] = { asset("inter_ca.crl"), asset("ibm.crl") };
	struct logrec log = { 0 };
	struct pvk_cert_opts o = { .hkds = hkds, .n_hkds = 3, .certs = certs, .n_certs = 2,
				   .crls = crls, .n_crls = 2, .root_ca = asset(STD_ROOT),
				   .offline = 1, .log = logrec_fn, .log_ctx = &log };
	EVP_PKEY **keys;
	struct pvk_err e;
	size_t n;

	(void)state;
	if (pvk_hostkeys_load_verified(&o, &keys, &n, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		const char *rel[] = { CERT_DIR "host.crt", CERT_DIR "host2.crt",
				      CERT_DIR "host_armonk.crt" };
		EVP_PKEY *exp = conf_cert_pubkey(rel[i]);

		assert_int_equal(EVP_PKEY_eq(keys[i], exp), 1);
		assert_int_equal(pvk_ec_is_p521(keys[i]), 1);
		EVP_PKEY_free(exp);
	}
	pvk_hostkeys_free(keys, n);
	assert_int_equal(log.info, 3);
	assert_int_equal(log.warn, 0);

	/* the second HKD is revoked: nothing is returned */
	hkds[1] = asset("host_rev.crt");
	assert_int_equal(pvk_hostkeys_load_verified(&o, &keys, &n, &e), -1);
	assert_null(keys);
	assert_int_equal(n, 0);
	assert_msg_has(&e, "host_rev.crt: Host-key document is revoked.");

	/* --no-verify: no checks, the expired one loads */
	o.no_verify = 1;
	o.n_certs = o.n_crls = 0;
	o.root_ca = NULL;
	o.offline = 0;
	hkds[1] = asset("host_crt_expired.crt");
	assert_int_equal(pvk_hostkeys_load_verified(&o, &keys, &n, &e), 0);
	assert_int_equal(n, 3);
	pvk_hostkeys_free(keys, n);
	/* but the rules of the options still hold */
	o.n_certs = 2;
	assert_int_equal(pvk_hostkeys_load_verified(&o, &keys, &n, &e), -1);
	assert_int_equal(e.code, PVK_E_USAGE);
}

static void test_ibm_multi_cert_warning(void **state)
{
	const char *hkds[1];
	struct logrec log = { 0 };
	struct pvk_cert_opts o = { .hkds = hkds, .n_hkds = 1, .no_verify = 1, .log = logrec_fn,
				   .log_ctx = &log };
	uint8_t *a, *b, *cat;
	EVP_PKEY **keys, *exp;
	size_t la, lb, n;
	struct pvk_err e;
	const char *two;
	char *dir;

	(void)state;
	conf_require();
	dir = tmpdir_make();
	two = in_dir(dir, "two.crt");
	hkds[0] = two;
	a = conf_read(CERT_DIR "host2.crt", &la);
	b = conf_read(CERT_DIR "host.crt", &lb);
	cat = malloc(la + lb);
	assert_non_null(cat);
	memcpy(cat, a, la);
	memcpy(cat + la, b, lb);
	assert_int_equal(pvk_file_write_all(two, cat, la + lb, 0, &e), 0);
	free(a);
	free(b);
	free(cat);
	assert_int_equal(pvk_hostkeys_load_verified(&o, &keys, &n, &e), 0);
	assert_int_equal(n, 1);
	exp = conf_cert_pubkey(CERT_DIR "host2.crt");
	assert_int_equal(EVP_PKEY_eq(keys[0], exp), 1);
	EVP_PKEY_free(exp);
	pvk_hostkeys_free(keys, n);
	assert_int_equal(log.warn, 1);
	assert_non_null(strstr(log.last_warn, "two.crt' contains more than one certificate!"));
	rm_rf(dir);
	free(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* options */

static void test_cert_opts(void **state)
{
	struct pvk_cert_opts o = { 0 };
	struct pvk_err e;

	(void)state;
	assert_int_equal(pvk_cert_opts_check(&o, &e), -1);
	assert_int_equal(e.code, PVK_E_USAGE);
	assert_msg_has(&e, "--host-key-document");
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_HKD, "a.crt,b.crt", &e), 1);
	assert_int_equal(pvk_cert_opts_add(&o, 'k', "c.crt", &e), 1);
	assert_int_equal(o.n_hkds, 3);
	assert_string_equal(o.hkds[0], "a.crt");
	assert_string_equal(o.hkds[1], "b.crt");
	assert_string_equal(o.hkds[2], "c.crt");
	/* neither --no-verify nor --cert */
	assert_int_equal(pvk_cert_opts_check(&o, &e), -1);
	assert_msg_has(&e, "--no-verify");
	/* --crl, --offline, --root-ca are accepted (unused) with --no-verify, as IBM's
	 * valid-argument lists have it (issue 10 #3) */
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_NO_VERIFY, NULL, &e), 1);
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_CRL, "x.crl", &e), 1);
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_OFFLINE, NULL, &e), 1);
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_ROOT_CA, "r.crt", &e), 1);
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	o.n_crls = 0;
	o.offline = 0;
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_ROOT_CA, "r2.crt", &e), -1);
	assert_msg_has(&e, "cannot be used multiple times");
	/* --cert together with --no-verify */
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_CERT, "i.crt,s.crt", &e), 1);
	assert_int_equal(o.n_certs, 2);
	assert_string_equal(o.certs[1], "s.crt");
	assert_int_equal(pvk_cert_opts_check(&o, &e), -1);
	assert_msg_has(&e, "'--no-verify' cannot be used with '--cert <FILE>'");
	o.no_verify = 0;
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	/* empty list elements, foreign options */
	assert_int_equal(pvk_cert_opts_add(&o, PVK_OPT_CRL, "a.crl,,b.crl", &e), -1);
	assert_int_equal(e.code, PVK_E_USAGE);
	assert_int_equal(pvk_cert_opts_add(&o, 'v', NULL, &e), 0);
	pvk_cert_opts_free(&o);
	assert_int_equal(o.n_hkds, 0);
	assert_null(o.hkds);
}

static void test_cert_opts_getopt(void **state)
{
	static const struct option longopts[] = { PVK_CERT_LONGOPTS, { NULL, 0, NULL, 0 } };
	char *argv[] = { "t", "-k", "h1,h2", "--crt", "c1", "-C", "c2", "--cert", "c3",
			 "--crl", "l1,l2", "--root-ca", "r", "--offline",
			 "--host-key-document", "h3", NULL };
	struct pvk_cert_opts o = { 0 };
	struct pvk_err e;
	int c;

	(void)state;
	optind = 1;
	while ((c = getopt_long(16, argv, PVK_CERT_SHORTOPTS, longopts, NULL)) != -1)
		assert_int_equal(pvk_cert_opts_add(&o, c, optarg, &e), 1);
	assert_int_equal(o.n_hkds, 3);
	assert_string_equal(o.hkds[2], "h3");
	assert_int_equal(o.n_certs, 3);
	assert_string_equal(o.certs[0], "c1");
	assert_int_equal(o.n_crls, 2);
	assert_string_equal(o.crls[1], "l2");
	assert_string_equal(o.root_ca, "r");
	assert_int_equal(o.offline, 1);
	assert_int_equal(o.no_verify, 0);
	assert_int_equal(pvk_cert_opts_check(&o, &e), 0);
	pvk_cert_opts_free(&o);
}

static void test_noverify_warning(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(pvk_hostkey_noverify_warning("image", buf, sizeof(buf)),
			    "Host-key document verification is disabled. The image may not be "
			    "protected.");
}

/* ---------------------------------------------------------------------------------------- */
/* A PKI made by pvk_testpki_generate */

static char *gen_dir;

static int gen_setup(void **state)
{
	static const unsigned int revoke[] = { 2 };
	struct pvk_testpki_opts o = { .hosts = 3, .revoke = revoke, .n_revoke = 1 };
	struct pvk_err e;

	(void)state;
	gen_dir = tmpdir_make();
	o.dir = gen_dir;
	if (pvk_testpki_generate(&o, &e)) {
		fprintf(stderr, "pvk_testpki_generate: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int gen_teardown(void **state)
{
	(void)state;
	rm_rf(gen_dir);
	free(gen_dir);
	return 0;
}

#define GEN_STD { .certs = { "inter_ca.crt", "ibm.crt" }, \
		  .crls = { "inter_ca.crl", "ibm.crl" }, .root = "root_ca.chained.crt" }

static const char *G(const char *name)
{
	return in_dir(gen_dir, name);
}

static void test_gen_files(void **state)
{
	static const char *const secret[] = { "root_ca.key", "inter_ca.key", "ibm.key",
					      "host1.key", "host3.key", "host_rsa.key" };
	struct pvk_err e;
	struct stat st;
	X509 *crt;

	(void)state;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		assert_int_equal(stat(G(secret[i]), &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(pvk_hkd_load(G("ibm.crt"), &crt, &e), 0);
	assert_int_equal(pvk_hkd_is_signing_key(crt), 1);
	X509_free(crt);
	assert_int_equal(pvk_hkd_load(G("ibm_armonk.crt"), &crt, &e), 0);
	assert_int_equal(pvk_hkd_is_signing_key(crt), 1);
	X509_free(crt);
	assert_int_equal(pvk_hkd_load(G("host1.crt"), &crt, &e), 0);
	assert_int_equal(pvk_hkd_is_signing_key(crt), 0);
	assert_int_equal(pvk_hkd_check_key(crt, "host1.crt", &e), 0);
	X509_free(crt);
	/* the host's private key belongs to its HKD */
	{
		EVP_PKEY *pub, *priv;
		uint8_t *buf;
		size_t len;
		BIO *bio;

		assert_int_equal(pvk_hkd_load(G("host1.crt"), &crt, &e), 0);
		pub = X509_get0_pubkey(crt);
		assert_int_equal(pvk_file_read_all(G("host1.key"), 1 << 20, &buf, &len, &e), 0);
		bio = BIO_new_mem_buf(buf, (int)len);
		priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		assert_non_null(priv);
		assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
		EVP_PKEY_free(priv);
		BIO_free(bio);
		pvk_buf_free_secret(buf, len);
		X509_free(crt);
	}
}

static void test_gen_accept_and_reject(void **state)
{
	struct vcase c = GEN_STD;
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(gen_dir, &c, 0);
	expect_ok(v, G("host1.crt"), 0, NULL);
	expect_ok(v, G("host3.crt"), 0, NULL);
	expect_fail(v, G("host2.crt"), 0, NULL, "Host-key document is revoked.");
	expect_fail(v, G("host_revoked.crt"), 0, NULL, "Host-key document is revoked.");
	expect_fail(v, G("host_expired.crt"), 0, NULL, "After validity period");
	expect_fail(v, G("host_future.crt"), 0, NULL, "Before validity period");
	expect_fail(v, G("host_weak.crt"), 0, NULL,
		    "Not enough bits of security. (80, 112 expected)");
	expect_fail(v, G("host_wrong_signer.crt"), 0, NULL, "Signature verification failed");
	/* IBM's checks pass for these; the key type does not */
	expect_ok(v, G("host_rsa.crt"), 0, NULL);
	expect_ok(v, G("host_p256.crt"), 0, NULL);
	pvk_hkd_verifier_free(v);
}

static void test_gen_key_types(void **state)
{
	const char *certs[] = { G("inter_ca.crt"), G("ibm.crt") };
	const char *crls[] = { G("inter_ca.crl"), G("ibm.crl") };
	const char *hkds[2] = { G("host1.crt") };
	struct pvk_cert_opts o = { .hkds = hkds, .n_hkds = 2, .certs = certs, .n_certs = 2,
				   .crls = crls, .n_crls = 2, .root_ca = G("root_ca.chained.crt"),
				   .offline = 1 };
	static const struct {
		const char *file, *what;
	} cases[] = {
		{ "host_rsa.crt", "holds a 2048-bit RSA key, not an EC P-521 (secp521r1) key" },
		{ "host_p256.crt", "holds an EC P-256 (prime256v1) key, not an EC P-521 (secp521r1) key" },
	};
	char exp[PVK_ERR_MSG_MAX];
	EVP_PKEY **keys;
	struct pvk_err e;
	size_t n;

	(void)state;
	for (int nv = 0; nv < 2; nv++) {
		for (size_t i = 0; i < 2; i++) {
			hkds[1] = G(cases[i].file);
			assert_int_equal(pvk_hostkeys_load_verified(&o, &keys, &n, &e), -1);
			assert_int_equal(e.code, PVK_E_VERIFY);
			snprintf(exp, sizeof(exp), "The host-key document '%s' %s", hkds[1],
				 cases[i].what);
			assert_string_equal(e.msg, exp);
		}
		/* the same with --no-verify */
		o.no_verify = 1;
		o.n_certs = o.n_crls = 0;
		o.root_ca = NULL;
		o.offline = 0;
	}
}

static void test_gen_signing_key_count(void **state)
{
	struct vcase two = { .certs = { "inter_ca.crt", "ibm.crt", "ibm_armonk.crt" },
			     .crls = { "inter_ca.crl" }, .root = "root_ca.chained.crt" };
	struct vcase same_twice = { .certs = { "inter_ca.crt", "ibm.crt", "ibm.crt" },
				    .crls = { "inter_ca.crl" }, .root = "root_ca.chained.crt" };
	struct vcase none = { .certs = { "inter_ca.crt", "root_ca.crt" },
			      .crls = { "inter_ca.crl" }, .root = "root_ca.chained.crt" };

	(void)state;
	expect_build_error(gen_dir, &two, "Host-key verification failed: Specify only one IBM Z "
			   "signing key");
	expect_build_error(gen_dir, &same_twice, "Specify only one IBM Z signing key");
	expect_build_error(gen_dir, &none, "Host-key verification failed: Specify one IBM Z "
			   "signing key");
}

static void test_gen_crl_quirks(void **state)
{
	/* issuer RDNs reordered (C, O, OU, L, ST, CN): found by the reorder quirk */
	struct vcase reord = { .certs = { "inter_ca.crt", "ibm.crt" },
			       .crls = { "inter_ca.crl", "ibm_reordered.crl" },
			       .root = "root_ca.chained.crt" };
	/* signing key with L=Armonk, CRL issued under L=Poughkeepsie */
	struct vcase armonk = { .certs = { "inter_ca.crt", "ibm_armonk.crt" },
				.crls = { "inter_ca.crl", "ibm.crl" },
				.root = "root_ca.chained.crt" };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(gen_dir, &reord, 0);
	expect_ok(v, G("host1.crt"), 0, NULL);
	expect_fail(v, G("host2.crt"), 0, NULL, "Host-key document is revoked.");
	pvk_hkd_verifier_free(v);
	v = must_build_in(gen_dir, &armonk, 0);
	expect_ok(v, G("host1.crt"), 0, NULL);
	expect_fail(v, G("host_revoked.crt"), 0, NULL, "Host-key document is revoked.");
	pvk_hkd_verifier_free(v);
}

static void test_gen_missing_crls(void **state)
{
	struct vcase no_ibm = { .certs = { "inter_ca.crt", "ibm.crt" },
				.crls = { "inter_ca.crl" }, .root = "root_ca.chained.crt" };
	struct vcase no_inter = { .certs = { "inter_ca.crt", "ibm.crt" }, .crls = { "ibm.crl" },
				  .root = "root_ca.chained.crt" };
	struct vcase no_root = { .certs = { "inter_ca.crt", "ibm.crt" },
				 .crls = { "inter_ca.crl", "ibm.crl" }, .root = "root_ca.crt" };
	static const int no_crl[] = { 3 };
	struct pvk_hkd_verifier *v;

	(void)state;
	v = must_build_in(gen_dir, &no_ibm, 0);
	expect_fail(v, G("host1.crt"), 0, NULL, "No valid CRL found");
	pvk_hkd_verifier_free(v);
	expect_chain_error(gen_dir, &no_inter, 0, no_crl, 1);
	expect_chain_error(gen_dir, &no_root, 0, no_crl, 1);
}

static void test_gen_online(void **state)
{
	/* no --crl: every CRL comes from a distribution point (bare names, served by the mock) */
	struct vcase c = { .certs = { "inter_ca.crt", "ibm.crt" }, .root = "root_ca.crt",
			   .online = 1 };
	struct pvk_hkd_verifier *v;
	struct built b;
	struct pvk_err e;
	int rc;

	(void)state;
	opts_from(&b, gen_dir, &c, 1);
	rc = pvk_hkd_verifier_new(&b.o, &v, &e);
	pvk_crl_set_fetcher(NULL, NULL);
	if (rc)
		fail_msg("%s", e.msg);
	/* one download per --cert certificate */
	assert_int_equal(b.mock.calls, 2);
	assert_int_equal(b.mock.hits, 2);
	expect_ok(v, G("host1.crt"), 1, gen_dir);
	/* the signing key's CRL came once for all HKDs: the network is not asked again */
	expect_fail(v, G("host2.crt"), 1, NULL, "Host-key document is revoked.");
	expect_ok(v, G("host1.crt"), 1, NULL);
	pvk_hkd_verifier_free(v);
	/* the network is down: the chain has no CRLs */
	{
		static const int no_crl[] = { 3 };

		expect_chain_error(gen_dir, &c, 0, no_crl, 1);
	}
}

static void test_gen_chain_too_short(void **state)
{
	/* a self-signed certificate with the signing key's subject, trusted as the root: the
	 * chain has one certificate, but a root and an intermediate are required */
	struct pvk_testpki_cert c = { .role = TESTPKI_ROOT_CA, .locality = "Poughkeepsie",
				      .ou = "IBM Z Host Key Signing Service",
				      .not_before_days = -1, .not_after_days = 30 };
	struct pvk_testpki_crl cc = { .last_update_days = -1, .next_update_days = 30 };
	struct vcase vc = { .certs = { "self.crt" }, .crls = { "self.crl" }, .root = "self.crt" };
	char *dir = tmpdir_make();
	static const int appl[] = { 50 }; /* X509_V_ERR_APPLICATION_VERIFICATION */
	struct pvk_err e;
	EVP_PKEY *key;
	X509_CRL *crl;
	X509 *crt;

	(void)state;
	assert_int_equal(pvk_testpki_keygen(TESTPKI_KEY_P521, 0, &key, &e), 0);
	c.key = c.issuer_key = key;
	assert_int_equal(pvk_testpki_cert(&c, &crt, &e), 0);
	assert_int_equal(pvk_hkd_is_signing_key(crt), 1);
	cc.issuer = crt;
	cc.issuer_key = key;
	assert_int_equal(pvk_testpki_crl(&cc, &crl, &e), 0);
	assert_int_equal(pvk_testpki_write_pem(in_dir(dir, "self.crt"), &crt, 1, NULL, 0, &e), 0);
	assert_int_equal(pvk_testpki_write_pem(in_dir(dir, "self.crl"), NULL, 0, &crl, 1, &e), 0);
	expect_chain_error(dir, &vc, 0, appl, 1);
	X509_CRL_free(crl);
	X509_free(crt);
	EVP_PKEY_free(key);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest ibm[] = {
		cmocka_unit_test(test_ibm_is_signing_key),
		cmocka_unit_test(test_ibm_read_crls_and_certs),
		cmocka_unit_test(test_ibm_dist_points),
		cmocka_unit_test(test_ibm_too_many_signing_keys),
		cmocka_unit_test(test_ibm_no_crl_for_each_cert),
		cmocka_unit_test(test_ibm_wrong_intermediate),
		cmocka_unit_test(test_ibm_wrong_root),
		cmocka_unit_test(test_ibm_correct_chain),
		cmocka_unit_test(test_ibm_no_intermediate),
		cmocka_unit_test(test_ibm_crl_file_as_signing_key),
		cmocka_unit_test(test_ibm_revoked_signing_key),
		cmocka_unit_test(test_ibm_wrong_subject_signing_key),
		cmocka_unit_test(test_ibm_verify_online),
		cmocka_unit_test(test_ibm_verify_offline),
		cmocka_unit_test(test_ibm_verify_armonk_crt_online),
		cmocka_unit_test(test_ibm_verify_armonk_crt_offline),
		cmocka_unit_test(test_ibm_verify_armonk_crl_online),
		cmocka_unit_test(test_ibm_verify_armonk_crl_offline),
		cmocka_unit_test(test_ibm_verify_armonk_hkd_online),
		cmocka_unit_test(test_ibm_verify_armonk_hkd_offline),
		cmocka_unit_test(test_ibm_verify_chain_online),
		cmocka_unit_test(test_ibm_std_offline),
		cmocka_unit_test(test_ibm_signing_key_crls),
		cmocka_unit_test(test_ibm_wrong_issuer_crl),
		cmocka_unit_test(test_ibm_intermediate_crls),
		cmocka_unit_test(test_ibm_root_crls),
		cmocka_unit_test(test_ibm_expired_signing_key),
		cmocka_unit_test(test_ibm_chained_and_der_files),
		cmocka_unit_test(test_ibm_fake_hierarchy),
		cmocka_unit_test(test_ibm_no_signing_key_crl),
		cmocka_unit_test(test_ibm_bad_files),
		cmocka_unit_test(test_ibm_hkd_files),
		cmocka_unit_test(test_ibm_hostkeys_load_verified),
		cmocka_unit_test(test_ibm_multi_cert_warning),
	};
	const struct CMUnitTest opts[] = {
		cmocka_unit_test(test_cert_opts),
		cmocka_unit_test(test_cert_opts_getopt),
		cmocka_unit_test(test_noverify_warning),
	};
	const struct CMUnitTest gen[] = {
		cmocka_unit_test(test_gen_files),
		cmocka_unit_test(test_gen_accept_and_reject),
		cmocka_unit_test(test_gen_key_types),
		cmocka_unit_test(test_gen_signing_key_count),
		cmocka_unit_test(test_gen_crl_quirks),
		cmocka_unit_test(test_gen_missing_crls),
		cmocka_unit_test(test_gen_online),
		cmocka_unit_test(test_gen_chain_too_short),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("hostkey-ibm-pki", ibm, NULL, NULL);
	failed += cmocka_run_group_tests_name("hostkey-options", opts, NULL, NULL);
	failed += cmocka_run_group_tests_name("hostkey-testpki", gen, gen_setup, gen_teardown);
	return failed ? 1 : 0;
}
