// SPDX-License-Identifier: MIT
/* A test PKI shaped like IBM's host-key PKI; see testpki.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pvkit/fileio.h"
#include "pvkit/testpki.h"

#define IBM_NAME "International Business Machines Corporation"
#define DAY_SECS (24L * 60 * 60)

int pvk_testpki_keygen(enum pvk_testpki_keytype type, unsigned int rsa_bits, EVP_PKEY **out,
		   struct pvk_err *e)
{
	switch (type) {
	case TESTPKI_KEY_P521:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		break;
	case TESTPKI_KEY_P256:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case TESTPKI_KEY_RSA:
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
		break;
	default:
		*out = NULL;
	}
	if (!*out)
		return pvk_fail_ssl(e, "cannot generate a test key");
	return 0;
}

struct name_ent {
	const char *field, *value;
};

X509_NAME *pvk_testpki_name(const char *locality, const char *ou, int reordered)
{
	const struct name_ent ibm_order[] = {
		{ "C", "US" },        { "O", IBM_NAME },        { "CN", IBM_NAME },
		{ "ST", "New York" }, { "L", locality },        { "OU", ou },
	}, reorder[] = {
		{ "C", "US" }, { "O", IBM_NAME },     { "OU", ou },
		{ "L", locality }, { "ST", "New York" }, { "CN", IBM_NAME },
	};
	const struct name_ent *ent = reordered ? reorder : ibm_order;
	X509_NAME *name = X509_NAME_new();

	for (size_t i = 0; name && i < 6; i++) {
		if (X509_NAME_add_entry_by_txt(name, ent[i].field, MBSTRING_UTF8,
					       (const unsigned char *)ent[i].value, -1, -1, 0) != 1) {
			X509_NAME_free(name);
			name = NULL;
		}
	}
	return name;
}

/* The key identifier of RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
static ASN1_OCTET_STRING *key_id(EVP_PKEY *key)
{
	X509_PUBKEY *xpk = NULL;
	const unsigned char *pk;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	ASN1_OCTET_STRING *id = NULL;
	int pklen;

	if (X509_PUBKEY_set(&xpk, key) == 1 &&
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) == 1 &&
	    EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) == 1) {
		id = ASN1_OCTET_STRING_new();
		if (id && ASN1_OCTET_STRING_set(id, md, (int)mdlen) != 1) {
			ASN1_OCTET_STRING_free(id);
			id = NULL;
		}
	}
	X509_PUBKEY_free(xpk);
	return id;
}

static AUTHORITY_KEYID *akid_of(EVP_PKEY *issuer_key)
{
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();

	if (akid && !(akid->keyid = key_id(issuer_key))) {
		AUTHORITY_KEYID_free(akid);
		akid = NULL;
	}
	return akid;
}

static int add_conf_ext(X509 *crt, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	int ok = ext && X509_add_ext(crt, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok;
}

static int add_crl_dp(X509 *crt, const char *uri)
{
	STACK_OF(DIST_POINT) *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	int ok = 0;

	if (!dps || !dp || !gn || !s || ASN1_STRING_set(s, uri, -1) != 1)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	s = NULL;
	dp->distpoint = DIST_POINT_NAME_new();
	if (!dp->distpoint)
		goto out;
	dp->distpoint->type = 0;
	dp->distpoint->name.fullname = GENERAL_NAMES_new();
	if (!dp->distpoint->name.fullname || !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(dps, dp))
		goto out;
	dp = NULL;
	ok = X509_add1_ext_i2d(crt, NID_crl_distribution_points, dps, 0, X509V3_ADD_DEFAULT) == 1;
out:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return ok;
}

/* A positive random 63-bit serial. */
static int set_serial(X509 *crt)
{
	uint64_t v = 0;

	while (v == 0) {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return 0;
		v &= 0x7fffffffffffffffULL;
	}
	return ASN1_INTEGER_set_uint64(X509_get_serialNumber(crt), v) == 1;
}

static const EVP_MD *sig_md(enum pvk_testpki_role role)
{
	/* IBM's assets: SHA-256 for the CAs and the signing key, SHA-512 for HKDs. */
	return role == TESTPKI_HOST ? EVP_sha512() : EVP_sha256();
}

int pvk_testpki_cert(const struct pvk_testpki_cert *p, X509 **out, struct pvk_err *e)
{
	static const char *const def_ou[] = {
		[TESTPKI_ROOT_CA] = "pvkit Test Root CA",
		[TESTPKI_INTER_CA] = "pvkit Test Intermediate CA",
		[TESTPKI_SIGNING] = "IBM Z Host Key Signing Service",
		[TESTPKI_HOST] = "IBM Z Host Key",
	};
	const char *loc = p->locality ? p->locality :
			  p->role == TESTPKI_SIGNING ? "Poughkeepsie" : "Armonk";
	X509_NAME *subj = pvk_testpki_name(loc, p->ou ? p->ou : def_ou[p->role], 0);
	X509 *crt = X509_new();
	ASN1_OCTET_STRING *skid = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int ok = 0;

	*out = NULL;
	if (!subj || !crt || X509_set_version(crt, X509_VERSION_3) != 1 || !set_serial(crt) ||
	    X509_set_subject_name(crt, subj) != 1 ||
	    X509_set_issuer_name(crt, p->issuer ? X509_get_subject_name(p->issuer) : subj) != 1 ||
	    !X509_time_adj_ex(X509_getm_notBefore(crt), (int)p->not_before_days, 0, NULL) ||
	    !X509_time_adj_ex(X509_getm_notAfter(crt), (int)p->not_after_days, 0, NULL) ||
	    X509_set_pubkey(crt, p->key) != 1)
		goto out;
	switch (p->role) {
	case TESTPKI_ROOT_CA:
	case TESTPKI_INTER_CA:
		ok = add_conf_ext(crt, NID_basic_constraints, "critical,CA:TRUE") &&
		     add_conf_ext(crt, NID_key_usage, "critical,keyCertSign,cRLSign");
		break;
	case TESTPKI_SIGNING:
		ok = add_conf_ext(crt, NID_basic_constraints, "critical,CA:FALSE") &&
		     add_conf_ext(crt, NID_key_usage, "critical,digitalSignature") &&
		     add_conf_ext(crt, NID_ext_key_usage, "codeSigning");
		break;
	case TESTPKI_HOST:
		ok = add_conf_ext(crt, NID_key_usage, "critical,keyAgreement");
		break;
	}
	if (!ok)
		goto out;
	ok = 0;
	if (p->crl_uri && !add_crl_dp(crt, p->crl_uri))
		goto out;
	if (!p->no_akid) {
		akid = akid_of(p->issuer ? X509_get0_pubkey(p->issuer) : p->key);
		if (!akid || X509_add1_ext_i2d(crt, NID_authority_key_identifier, akid, 0,
					       X509V3_ADD_DEFAULT) != 1)
			goto out;
	}
	skid = key_id(p->key);
	if (!skid ||
	    X509_add1_ext_i2d(crt, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) != 1)
		goto out;
	if (X509_sign(crt, p->issuer_key, sig_md(p->role)) <= 0)
		goto out;
	ok = 1;
out:
	X509_NAME_free(subj);
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(skid);
	if (!ok) {
		X509_free(crt);
		return pvk_fail_ssl(e, "cannot create a test certificate (OU=%s)",
				    p->ou ? p->ou : def_ou[p->role]);
	}
	*out = crt;
	return 0;
}

int pvk_testpki_crl(const struct pvk_testpki_crl *p, X509_CRL **out, struct pvk_err *e)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = X509_time_adj_ex(NULL, (int)p->last_update_days, 0, NULL);
	ASN1_TIME *next = X509_time_adj_ex(NULL, (int)p->next_update_days, 0, NULL);
	ASN1_TIME *revdate = X509_time_adj_ex(NULL, -1, 0, NULL);
	AUTHORITY_KEYID *akid = akid_of(X509_get0_pubkey(p->issuer));
	int ok = 0;

	*out = NULL;
	if (!crl || !last || !next || !revdate || !akid || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, p->issuer_name ? p->issuer_name :
					  X509_get_subject_name(p->issuer)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	for (size_t i = 0; i < p->n_revoked; i++) {
		X509_REVOKED *rev = X509_REVOKED_new();

		if (!rev ||
		    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(p->revoked[i])) != 1 ||
		    X509_REVOKED_set_revocationDate(rev, revdate) != 1 ||
		    X509_CRL_add0_revoked(crl, rev) != 1) {
			X509_REVOKED_free(rev);
			goto out;
		}
	}
	if (X509_CRL_sort(crl) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0,
				  X509V3_ADD_DEFAULT) != 1 ||
	    X509_CRL_sign(crl, p->issuer_key, EVP_sha512()) <= 0)
		goto out;
	ok = 1;
out:
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_TIME_free(revdate);
	AUTHORITY_KEYID_free(akid);
	if (!ok) {
		X509_CRL_free(crl);
		return pvk_fail_ssl(e, "cannot create a test CRL");
	}
	*out = crl;
	return 0;
}

static int write_bio(const char *path, BIO *bio, int flags, struct pvk_err *e)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len < 0)
		return pvk_fail(e, PVK_E_CRYPTO, "%s: cannot encode", path);
	return pvk_file_write_all(path, data, (size_t)len, flags | OUTFILE_OVERWRITE, e);
}

int pvk_testpki_write_key(const char *path, EVP_PKEY *key, struct pvk_err *e)
{
	/* secure-heap memory BIO: the PEM text is wiped when the BIO is freed */
	BIO *bio = BIO_new(BIO_s_secmem());
	int rc;

	if (!bio || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return pvk_fail_ssl(e, "%s: cannot encode the private key", path);
	}
	rc = write_bio(path, bio, OUTFILE_SECRET, e);
	BIO_free(bio);
	return rc;
}

int pvk_testpki_write_pem(const char *path, X509 *const *crts, size_t n_crts,
		      X509_CRL *const *crls, size_t n_crls, struct pvk_err *e)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc;

	if (!bio)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n_crts; i++)
		if (PEM_write_bio_X509(bio, crts[i]) != 1)
			goto err;
	for (size_t i = 0; i < n_crls; i++)
		if (PEM_write_bio_X509_CRL(bio, crls[i]) != 1)
			goto err;
	rc = write_bio(path, bio, 0, e);
	BIO_free(bio);
	return rc;
err:
	BIO_free(bio);
	return pvk_fail_ssl(e, "%s: cannot encode", path);
}

/* ---------------------------------------------------------------------------------------- */
/* pvk_testpki_generate */

struct gen {
	const struct pvk_testpki_opts *o;
	long days;
	char path[4096];
	char uri[4096];
};

static const char *gpath(struct gen *g, const char *name)
{
	snprintf(g->path, sizeof(g->path), "%s/%s", g->o->dir, name);
	return g->path;
}

static const char *guri(struct gen *g, const char *file)
{
	if (g->o->crl_url_base && *g->o->crl_url_base) {
		size_t n = strlen(g->o->crl_url_base);
		int slash = g->o->crl_url_base[n - 1] == '/';

		snprintf(g->uri, sizeof(g->uri), "%s%s%s", g->o->crl_url_base, slash ? "" : "/",
			 file);
	} else {
		snprintf(g->uri, sizeof(g->uri), "%s", file);
	}
	return g->uri;
}

/* Make a key + certificate and write <name>.key and <name>.crt. */
static int gen_entity(struct gen *g, const char *name, struct pvk_testpki_cert *c,
		      enum pvk_testpki_keytype kt, unsigned int bits, EVP_PKEY **key_out,
		      X509 **crt_out, struct pvk_err *e)
{
	char file[256];
	EVP_PKEY *key;
	X509 *crt;

	if (pvk_testpki_keygen(kt, bits, &key, e))
		return -1;
	c->key = key;
	if (!c->issuer_key)
		c->issuer_key = key;
	if (pvk_testpki_cert(c, &crt, e))
		goto err;
	snprintf(file, sizeof(file), "%s.key", name);
	if (pvk_testpki_write_key(gpath(g, file), key, e))
		goto err_crt;
	snprintf(file, sizeof(file), "%s.crt", name);
	if (pvk_testpki_write_pem(gpath(g, file), &crt, 1, NULL, 0, e))
		goto err_crt;
	if (key_out)
		*key_out = key;
	else
		EVP_PKEY_free(key);
	*crt_out = crt;
	return 0;
err_crt:
	X509_free(crt);
err:
	EVP_PKEY_free(key);
	return pvk_wrap(e, "%s", name);
}

enum { N_NEG = 7 }; /* revoked, expired, future, rsa, p256, weak, wrong_signer */

/* Everything one test PKI is made of, freed together. */
struct pki {
	unsigned int hosts;
	enum pvk_testpki_keytype cakt;
	EVP_PKEY *root_key, *inter_key, *sign_key;
	X509 *root, *inter, *sign, *armonk, **host, *neg[N_NEG], **revoked;
	size_t n_rev;
	X509_CRL *root_crl, *inter_crl, *sign_crl, *reord_crl;
	X509_NAME *reord_name;
};

static void pki_free(struct pki *k)
{
	EVP_PKEY_free(k->root_key);
	EVP_PKEY_free(k->inter_key);
	EVP_PKEY_free(k->sign_key);
	X509_free(k->root);
	X509_free(k->inter);
	X509_free(k->sign);
	X509_free(k->armonk);
	for (unsigned int i = 0; k->host && i < k->hosts; i++)
		X509_free(k->host[i]);
	free(k->host);
	for (size_t i = 0; i < N_NEG; i++)
		X509_free(k->neg[i]);
	free(k->revoked);
	X509_CRL_free(k->root_crl);
	X509_CRL_free(k->inter_crl);
	X509_CRL_free(k->sign_crl);
	X509_CRL_free(k->reord_crl);
	X509_NAME_free(k->reord_name);
}

/* root CA -> intermediate CA -> signing key (also under L=Armonk, the quirk of §3.3) */
static int gen_cas(struct gen *g, struct pki *k, struct pvk_err *e)
{
	unsigned int bits = g->o->ca_rsa_bits;
	struct pvk_testpki_cert root = { .role = TESTPKI_ROOT_CA, .not_before_days = -1,
					 .not_after_days = g->days + 2 };
	struct pvk_testpki_cert inter = { .role = TESTPKI_INTER_CA, .not_before_days = -1,
					  .not_after_days = g->days + 1 };
	struct pvk_testpki_cert sign = { .role = TESTPKI_SIGNING, .not_before_days = -1,
					 .not_after_days = g->days };

	if (gen_entity(g, "root_ca", &root, k->cakt, bits, &k->root_key, &k->root, e))
		return -1;
	/* guri's buffer is shared: each URI is made right before its certificate */
	inter.issuer = k->root;
	inter.issuer_key = k->root_key;
	inter.crl_uri = guri(g, "root_ca.crl");
	if (gen_entity(g, "inter_ca", &inter, k->cakt, bits, &k->inter_key, &k->inter, e))
		return -1;
	sign.issuer = k->inter;
	sign.issuer_key = k->inter_key;
	sign.crl_uri = guri(g, "inter_ca.crl");
	if (gen_entity(g, "ibm", &sign, k->cakt, bits, &k->sign_key, &k->sign, e))
		return -1;
	sign.locality = "Armonk";
	sign.key = k->sign_key;
	return pvk_testpki_cert(&sign, &k->armonk, e) ||
	       pvk_testpki_write_pem(gpath(g, "ibm_armonk.crt"), &k->armonk, 1, NULL, 0, e) ? -1 : 0;
}

/* host1..hostN, then the documents every verifier must refuse. */
static int gen_hosts(struct gen *g, struct pki *k, struct pvk_err *e)
{
	static const struct {
		const char *name;
		enum pvk_testpki_keytype kt;
		unsigned int bits;
		long from, to; /* validity relative to now, days; to 0: g.days */
		int wrong_signer;
	} negs[N_NEG] = {
		{ "host_revoked", TESTPKI_KEY_P521, 0, -1, 0, 0 },
		{ "host_expired", TESTPKI_KEY_P521, 0, -2, -1, 0 },
		{ "host_future", TESTPKI_KEY_P521, 0, 1, 0, 0 },
		{ "host_rsa", TESTPKI_KEY_RSA, 2048, -1, 0, 0 },
		{ "host_p256", TESTPKI_KEY_P256, 0, -1, 0, 0 },
		{ "host_weak", TESTPKI_KEY_RSA, 1024, -1, 0, 0 },
		{ "host_wrong_signer", TESTPKI_KEY_P521, 0, -1, 0, 1 },
	};

	for (unsigned int i = 0; i < k->hosts; i++) {
		struct pvk_testpki_cert c = { .role = TESTPKI_HOST, .issuer = k->sign,
					      .issuer_key = k->sign_key,
					      .locality = (i % 2) ? "Poughkeepsie" : "Armonk",
					      .crl_uri = guri(g, "ibm.crl"),
					      .not_before_days = -1, .not_after_days = g->days };
		char name[32];

		snprintf(name, sizeof(name), "host%u", i + 1);
		if (gen_entity(g, name, &c, TESTPKI_KEY_P521, 0, NULL, &k->host[i], e))
			return -1;
	}
	for (size_t i = 0; i < N_NEG; i++) {
		struct pvk_testpki_cert c = {
			.role = TESTPKI_HOST, .issuer = k->sign,
			.issuer_key = negs[i].wrong_signer ? k->inter_key : k->sign_key,
			.no_akid = negs[i].wrong_signer, .crl_uri = guri(g, "ibm.crl"),
			.not_before_days = negs[i].from,
			.not_after_days = negs[i].to ? negs[i].to : g->days,
		};

		if (gen_entity(g, negs[i].name, &c, negs[i].kt, negs[i].bits, NULL, &k->neg[i], e))
			return -1;
	}
	return 0;
}

/* CRLs: root -> intermediate, intermediate -> signing key, signing key -> HKDs (host_revoked
 * and the --revoke-host ones; also once more under a reordered issuer name). */
static int gen_crls(struct gen *g, struct pki *k, struct pvk_err *e)
{
	const struct pvk_testpki_opts *o = g->o;
	struct pvk_testpki_crl c = { .issuer = k->root, .issuer_key = k->root_key,
				     .last_update_days = -1, .next_update_days = g->days };

	k->revoked[k->n_rev++] = k->neg[0];
	for (size_t i = 0; i < o->n_revoke; i++) {
		int dup = 0;

		for (size_t j = 1; j < k->n_rev; j++)
			dup |= k->revoked[j] == k->host[o->revoke[i] - 1];
		if (!dup)
			k->revoked[k->n_rev++] = k->host[o->revoke[i] - 1];
	}
	if (pvk_testpki_crl(&c, &k->root_crl, e))
		return -1;
	c.issuer = k->inter;
	c.issuer_key = k->inter_key;
	if (pvk_testpki_crl(&c, &k->inter_crl, e))
		return -1;
	c.issuer = k->sign;
	c.issuer_key = k->sign_key;
	c.revoked = k->revoked;
	c.n_revoked = k->n_rev;
	if (pvk_testpki_crl(&c, &k->sign_crl, e))
		return -1;
	k->reord_name = pvk_testpki_name("Poughkeepsie", "IBM Z Host Key Signing Service", 1);
	if (!k->reord_name)
		return pvk_fail_ssl(e, "cannot build a name");
	c.issuer_name = k->reord_name;
	if (pvk_testpki_crl(&c, &k->reord_crl, e))
		return -1;
	return pvk_testpki_write_pem(gpath(g, "root_ca.crl"), NULL, 0, &k->root_crl, 1, e) ||
	       pvk_testpki_write_pem(gpath(g, "root_ca.chained.crt"), &k->root, 1, &k->root_crl, 1,
				     e) ||
	       pvk_testpki_write_pem(gpath(g, "inter_ca.crl"), NULL, 0, &k->inter_crl, 1, e) ||
	       pvk_testpki_write_pem(gpath(g, "ibm.crl"), NULL, 0, &k->sign_crl, 1, e) ||
	       pvk_testpki_write_pem(gpath(g, "ibm_reordered.crl"), NULL, 0, &k->reord_crl, 1, e)
		       ? -1 : 0;
}

int pvk_testpki_generate(const struct pvk_testpki_opts *o, struct pvk_err *e)
{
	struct gen g = { .o = o, .days = o->days ? (long)o->days : 365 };
	struct pki k = { .hosts = o->hosts ? o->hosts : 1,
			 .cakt = o->ca_rsa_bits ? TESTPKI_KEY_RSA : TESTPKI_KEY_P521 };
	int rc = -1;

	if (!o->dir || !*o->dir)
		return pvk_fail(e, PVK_E_USAGE, "testpki: no output directory");
	if (k.hosts > 10000)
		return pvk_fail(e, PVK_E_USAGE, "testpki: at most 10000 hosts");
	for (size_t i = 0; i < o->n_revoke; i++)
		if (o->revoke[i] < 1 || o->revoke[i] > k.hosts)
			return pvk_fail(e, PVK_E_USAGE,
					"testpki: cannot revoke host %u: hosts are numbered 1..%u",
					o->revoke[i], k.hosts);
	if (mkdir(o->dir, 0755) && errno != EEXIST)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create directory: %s", o->dir,
				strerror(errno));
	k.host = calloc(k.hosts, sizeof(*k.host));
	k.revoked = calloc(o->n_revoke + 1, sizeof(*k.revoked));
	if (!k.host || !k.revoked)
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
	else if (!gen_cas(&g, &k, e) && !gen_hosts(&g, &k, e) && !gen_crls(&g, &k, e))
		rc = 0;
	pki_free(&k);
	return rc;
}
