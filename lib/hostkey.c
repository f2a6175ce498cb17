// SPDX-License-Identifier: MIT
/* Host-key documents: certificate options, loading and verification (spec §3). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/yamlout.h"
#include "hkd_note.h"

#define CERT_FILE_MAX (64u << 20)
#define VERIFY_PREFIX "Host-key verification failed: "
/* Chain policy of §3.3 step 4. */
#define SECURITY_LEVEL 2
#define SECURITY_BITS 112 /* the minimum of security level 2 */
#define CHAIN_DEPTH 2

/* ---------------------------------------------------------------------------------------- */
/* Certificate options */

static int opts_push(struct pvk_cert_opts *o, const char ***arr, size_t *n, const char *s,
		     size_t len, struct pvk_err *e)
{
	const char **narr = realloc((void *)*arr, (*n + 1) * sizeof(**arr));
	char **nown;
	char *copy;

	if (!narr)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	*arr = narr;
	nown = realloc(o->owned_, (o->n_owned_ + 1) * sizeof(*nown));
	if (!nown)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	o->owned_ = nown;
	copy = strndup(s, len);
	if (!copy)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	o->owned_[o->n_owned_++] = copy;
	narr[(*n)++] = copy;
	return 0;
}

/* Append every element of a comma-separated list. */
static int opts_push_list(struct pvk_cert_opts *o, const char ***arr, size_t *n,
			  const char *opt, const char *arg, struct pvk_err *e)
{
	const char *p = arg;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == 0)
			return pvk_fail(e, PVK_E_USAGE, "%s: empty file name in '%s'", opt, arg);
		if (opts_push(o, arr, n, p, len, e))
			return -1;
		if (!c)
			return 0;
		p = c + 1;
	}
}

int pvk_cert_opts_add(struct pvk_cert_opts *o, int opt_id, const char *arg, struct pvk_err *e)
{
	switch (opt_id) {
	case PVK_OPT_HKD:
		return opts_push_list(o, &o->hkds, &o->n_hkds, "--host-key-document", arg, e) ? -1 : 1;
	case PVK_OPT_CERT:
		return opts_push_list(o, &o->certs, &o->n_certs, "--cert", arg, e) ? -1 : 1;
	case PVK_OPT_CRL:
		return opts_push_list(o, &o->crls, &o->n_crls, "--crl", arg, e) ? -1 : 1;
	case PVK_OPT_ROOT_CA: {
		const char **one = NULL;
		size_t n = 0;
		int rc;

		if (o->root_ca)
			return pvk_fail(e, PVK_E_USAGE,
					"the argument '--root-ca' cannot be used multiple times");
		if (!*arg)
			return pvk_fail(e, PVK_E_USAGE, "--root-ca: empty file name");
		rc = opts_push(o, &one, &n, arg, strlen(arg), e);
		if (!rc)
			o->root_ca = one[0];
		free((void *)one);
		return rc ? -1 : 1;
	}
	case PVK_OPT_OFFLINE:
		o->offline = 1;
		return 1;
	case PVK_OPT_NO_VERIFY:
		o->no_verify = 1;
		return 1;
	default:
		return 0;
	}
}

int pvk_cert_opts_check(const struct pvk_cert_opts *o, struct pvk_err *e)
{
	if (!o->n_hkds)
		return pvk_fail(e, PVK_E_USAGE,
				"the required option '--host-key-document <FILE>' is missing");
	if (o->no_verify && o->n_certs)
		return pvk_fail(e, PVK_E_USAGE,
				"the option '--no-verify' cannot be used with '--cert <FILE>'");
	if (!o->no_verify && !o->n_certs)
		return pvk_fail(e, PVK_E_USAGE,
				"one of '--no-verify' or '--cert <FILE>' is required");
	/* --crl, --offline and --root-ca need --cert only when verifying: with --no-verify
	 * they are accepted and unused, as in IBM's tools (its valid-argument lists). */
	return 0;
}

void pvk_cert_opts_free(struct pvk_cert_opts *o)
{
	for (size_t i = 0; i < o->n_owned_; i++)
		free(o->owned_[i]);
	free(o->owned_);
	free((void *)o->hkds);
	free((void *)o->certs);
	free((void *)o->crls);
	memset(o, 0, sizeof(*o));
}

const char *pvk_hostkey_noverify_warning(const char *thing, char *buf, size_t len)
{
	snprintf(buf, len,
		 "Host-key document verification is disabled. The %s may not be protected.",
		 thing);
	return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

void pvk_hkd_note(pvk_hkd_log_fn log, void *ctx, enum pvk_hkd_log level, const char *fmt, ...)
{
	char msg[PVK_ERR_MSG_MAX];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(ctx, level, msg);
}

static int verify_fail(struct pvk_err *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int verify_fail(struct pvk_err *e, const char *path, const char *fmt, ...)
{
	char reason[PVK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return pvk_fail(e, PVK_E_VERIFY, VERIFY_PREFIX "%s: %s", path, reason);
}

/* The last queued OpenSSL reason, for messages. */
static const char *ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "unknown reason";
}

/*
 * Certificates from a buffer: DER (one), else every PEM certificate. 1 = not PEM or DER
 * (a PEM block that does not parse); 0 = ok, possibly empty; -1 = out of memory.
 */
static int parse_certs(const uint8_t *buf, size_t len, int aux, STACK_OF(X509) **out)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	const unsigned char *p = buf;
	X509 *crt;
	BIO *bio;

	*out = NULL;
	if (!sk || len > (size_t)INT32_MAX) {
		sk_X509_free(sk);
		return -1;
	}
	crt = aux ? d2i_X509_AUX(NULL, &p, (long)len) : d2i_X509(NULL, &p, (long)len);
	if (crt) {
		if (!sk_X509_push(sk, crt)) {
			X509_free(crt);
			sk_X509_free(sk);
			return -1;
		}
		ERR_clear_error();
		*out = sk;
		return 0;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		sk_X509_free(sk);
		return -1;
	}
	while ((crt = aux ? PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL) :
			    PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(sk, crt)) {
			X509_free(crt);
			BIO_free(bio);
			sk_X509_pop_free(sk, X509_free);
			return -1;
		}
	}
	BIO_free(bio);
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		sk_X509_pop_free(sk, X509_free);
		return 1;
	}
	ERR_clear_error();
	*out = sk;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Host-key documents */

int pvk_hkd_load(const char *path, X509 **crt, struct pvk_err *e)
{
	STACK_OF(X509) *sk;
	uint8_t *buf;
	size_t len;
	int rc, several;

	*crt = NULL;
	if (pvk_file_read_all(path, CERT_FILE_MAX, &buf, &len, e))
		return -1;
	rc = parse_certs(buf, len, 0, &sk);
	free(buf);
	if (rc < 0)
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	if (rc > 0)
		return pvk_fail(e, PVK_E_FORMAT,
				"The provided Host Key Document in '%s' is not in PEM or DER format",
				path);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return pvk_fail(e, PVK_E_FORMAT,
				"The provided host key document in %s contains no certificate!", path);
	}
	several = sk_X509_num(sk) > 1;
	*crt = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return several;
}

int pvk_hkd_check_key(X509 *hkd, const char *path, struct pvk_err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(hkd);
	char what[96], group[64];

	if (!pk)
		return pvk_fail(e, PVK_E_FORMAT,
				"The host-key document '%s' holds no readable public key (%s)", path,
				ssl_reason());
	if (pvk_ec_is_p521(pk))
		return 0;
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		const char *nist;

		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1)
			snprintf(group, sizeof(group), "unknown curve");
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		if (nist && strcmp(nist, group))
			snprintf(what, sizeof(what), "an EC %s (%s) key", nist, group);
		else
			snprintf(what, sizeof(what), "an EC %s key", group);
	} else {
		const char *type = EVP_PKEY_get0_type_name(pk);

		snprintf(what, sizeof(what), "a %d-bit %s key", EVP_PKEY_get_bits(pk),
			 type ? type : "non-EC");
	}
	ERR_clear_error();
	return pvk_fail(e, PVK_E_VERIFY,
			"The host-key document '%s' holds %s, not an EC P-521 (secp521r1) key",
			path, what);
}

/* Does the first entry of nid in name have exactly the bytes val? */
static int name_first_eq(const X509_NAME *name, int nid, const char *val)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	const ASN1_STRING *d;
	size_t len = strlen(val);

	if (idx < 0)
		return 0;
	d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	return d && (size_t)ASN1_STRING_length(d) == len &&
	       !memcmp(ASN1_STRING_get0_data(d), val, len);
}

#define IBM_NAME "International Business Machines Corporation"
#define IBM_OU_SUFFIX "Key Signing Service"

int pvk_hkd_is_signing_key(X509 *crt)
{
	const X509_NAME *subj = X509_get_subject_name(crt);
	unsigned char *ou = NULL;
	size_t suffix = strlen(IBM_OU_SUFFIX);
	int idx, len, ok;

	if (!subj || X509_NAME_entry_count(subj) != 6 || !name_first_eq(subj, NID_countryName, "US") ||
	    !name_first_eq(subj, NID_stateOrProvinceName, "New York") ||
	    !(name_first_eq(subj, NID_localityName, "Poughkeepsie") ||
	      name_first_eq(subj, NID_localityName, "Armonk")) ||
	    !name_first_eq(subj, NID_organizationName, IBM_NAME) ||
	    !name_first_eq(subj, NID_commonName, IBM_NAME))
		return 0;
	idx = X509_NAME_get_index_by_NID(subj, NID_organizationalUnitName, -1);
	if (idx < 0)
		return 0;
	len = ASN1_STRING_to_UTF8(&ou, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));
	if (len < 0) {
		ERR_clear_error();
		return 0;
	}
	ok = (size_t)len >= suffix && !memcmp(ou + len - suffix, IBM_OU_SUFFIX, suffix);
	OPENSSL_free(ou);
	return ok;
}

/* ---------------------------------------------------------------------------------------- */
/* The verifier */

struct pvk_hkd_verifier {
	X509_STORE *store;
	X509 *sign_key;
	char *sign_path; /* the --cert file that held the signing key */
	int offline;
	pvk_hkd_log_fn log;
	void *log_ctx;
	char crl_failed[1024];  /* the last CRL download that failed, for the error it causes */
	/* HKD checks, done once per run however many HKDs: the store's CRLs that are current
	 * and signed by the signing key (NULL until the first HKD), and each set of distribution
	 * points downloaded with what it gave. */
	STACK_OF(X509_CRL) *store_valid;
	struct crl_download *downloads;
};

/* The CRLs downloaded for one set of distribution points (many HKDs share it). */
struct crl_download {
	char *uris;                  /* the points, one per line: the cache key */
	STACK_OF(X509_CRL) *valid;   /* what was downloaded, current and signed by the key */
	char failed[1024];           /* why the download failed, if it did */
	struct crl_download *next;
};

void pvk_hkd_verifier_free(struct pvk_hkd_verifier *v)
{
	if (!v)
		return;
	sk_X509_CRL_pop_free(v->store_valid, X509_CRL_free);
	while (v->downloads) {
		struct crl_download *d = v->downloads;

		v->downloads = d->next;
		sk_X509_CRL_pop_free(d->valid, X509_CRL_free);
		free(d->uris);
		free(d);
	}
	X509_STORE_free(v->store);
	X509_free(v->sign_key);
	free(v->sign_path);
	free(v);
}

static int store_add_crls(X509_STORE *store, STACK_OF(X509_CRL) *sk, const char *path,
			  struct pvk_err *e)
{
	for (int i = 0; i < sk_X509_CRL_num(sk); i++)
		if (X509_STORE_add_crl(store, sk_X509_CRL_value(sk, i)) != 1)
			return pvk_fail_ssl(e, "%s: cannot add the CRL to the trust store", path);
	return 0;
}

/* The CRLs of a --crl file (strict: it must hold one) or of a --cert file's bytes (optional
 * there), added to the store; *n says how many (may be NULL). */
static int add_crls_from(X509_STORE *store, const uint8_t *buf, size_t len, const char *path,
			 int strict, int *n, struct pvk_err *e)
{
	STACK_OF(X509_CRL) *sk = NULL;
	struct pvk_err ignored;
	int rc;

	if (n)
		*n = 0;
	rc = pvk_crl_parse(buf, len, &sk, &ignored);
	if (rc || sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_free(sk);
		ERR_clear_error();
		if (!strict)
			return 0;
		return pvk_fail(e, PVK_E_FORMAT, "Cannot load CRL from '%s': %s", path,
				rc ? "not a CRL in PEM or DER format" : "the file holds no CRL");
	}
	if (n)
		*n = sk_X509_CRL_num(sk);
	rc = store_add_crls(store, sk, path, e);
	sk_X509_CRL_pop_free(sk, X509_CRL_free);
	return rc;
}

static int load_crl_file(X509_STORE *store, const char *path, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (pvk_file_read_all(path, CERT_FILE_MAX, &buf, &len, e))
		return -1;
	rc = add_crls_from(store, buf, len, path, 1, NULL, e);
	free(buf);
	return rc;
}

/* --root-ca: PEM certificates (plus any PEM CRLs in the same file), else a DER certificate. */
static int load_root_ca(X509_STORE *store, const char *path, struct pvk_err *e)
{
	STACK_OF(X509_CRL) *crls = NULL;
	STACK_OF(X509) *sk = NULL;
	struct pvk_err ignored;
	uint8_t *buf;
	size_t len;
	int rc;

	if (pvk_file_read_all(path, CERT_FILE_MAX, &buf, &len, e))
		return -1;
	rc = parse_certs(buf, len, 1, &sk);
	if (rc < 0) {
		free(buf);
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	}
	if (rc > 0 || sk_X509_num(sk) == 0) {
		free(buf);
		sk_X509_free(sk);
		return pvk_fail(e, PVK_E_FORMAT,
				"Cannot load certificate from '%s': no certificate in PEM or DER format",
				path);
	}
	for (int i = 0; i < sk_X509_num(sk); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(sk, i)) != 1) {
			free(buf);
			sk_X509_pop_free(sk, X509_free);
			return pvk_fail_ssl(e, "%s: cannot add the root CA to the trust store", path);
		}
	}
	sk_X509_pop_free(sk, X509_free);
	rc = 0;
	if (!pvk_crl_parse(buf, len, &crls, &ignored))
		rc = store_add_crls(store, crls, path, e);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	free(buf);
	return rc;
}

static int store_setup(const struct pvk_cert_opts *o, X509_STORE **out, struct pvk_err *e)
{
	X509_STORE *store = X509_STORE_new();
	X509_VERIFY_PARAM *param = X509_VERIFY_PARAM_new();
	unsigned long flags = X509_V_FLAG_X509_STRICT | X509_V_FLAG_CRL_CHECK |
			      X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_TRUSTED_FIRST |
			      X509_V_FLAG_CHECK_SS_SIGNATURE | X509_V_FLAG_POLICY_CHECK;

	*out = NULL;
	if (!store || !param) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto err;
	}
	if (o->root_ca) {
		if (load_root_ca(store, o->root_ca, e))
			goto err;
	} else if (X509_STORE_set_default_paths(store) != 1) {
		pvk_fail_ssl(e, "cannot load the system's default root CAs");
		goto err;
	}
	for (size_t i = 0; i < o->n_crls; i++)
		if (load_crl_file(store, o->crls[i], e))
			goto err;
	X509_VERIFY_PARAM_set_depth(param, CHAIN_DEPTH);
	X509_VERIFY_PARAM_set_auth_level(param, SECURITY_LEVEL);
	if (X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY) != 1 ||
	    X509_VERIFY_PARAM_set_flags(param, flags) != 1 || X509_STORE_set1_param(store, param) != 1) {
		pvk_fail_ssl(e, "cannot set the verification parameters");
		goto err;
	}
	X509_VERIFY_PARAM_free(param);
	*out = store;
	return 0;
err:
	X509_VERIFY_PARAM_free(param);
	X509_STORE_free(store);
	return -1;
}

/* OpenSSL chain verification of the signing key; the chain must have at least 2 certs. */
static int verify_chain(X509_STORE *store, STACK_OF(X509) *untrusted, X509 *sign_key,
			const char *path, const char *crl_failed, struct pvk_err *e)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc, err, depth;

	if (!ctx || X509_STORE_CTX_init(ctx, store, sign_key, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		return pvk_fail_ssl(e, "%s: The IBM Z signing key could not be verified.", path);
	}
	rc = X509_verify_cert(ctx);
	if (rc < 0) {
		X509_STORE_CTX_free(ctx);
		return pvk_fail_ssl(e, "%s: The IBM Z signing key could not be verified.", path);
	}
	if (rc == 1 && sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) < CHAIN_DEPTH) {
		/* one root and at least one intermediate are expected */
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
		rc = 0;
	}
	err = X509_STORE_CTX_get_error(ctx);
	depth = X509_STORE_CTX_get_error_depth(ctx);
	X509_STORE_CTX_free(ctx);
	if (rc == 1)
		return 0;
	/* a CRL that could not be downloaded is the likely cause: say which */
	if (crl_failed[0] && err == X509_V_ERR_UNABLE_TO_GET_CRL)
		return verify_fail(e, path,
				   "The IBM Z signing key could not be verified. Error occurred at "
				   "level %d (X509 verify error %d: %s; %s)", depth, err,
				   X509_verify_cert_error_string(err), crl_failed);
	return verify_fail(e, path,
			   "The IBM Z signing key could not be verified. Error occurred at level %d "
			   "(X509 verify error %d: %s)",
			   depth, err, X509_verify_cert_error_string(err));
}

struct cert_src {
	X509 *crt;
	const char *path;
};

/* The certificates of the --cert files, each with its file. */
struct cert_set {
	struct cert_src *all;
	size_t n;
	size_t empty;            /* files with CRLs only */
	const char *empty_path;
};

static void cert_set_free(struct cert_set *c)
{
	for (size_t i = 0; i < c->n; i++)
		X509_free(c->all[i].crt);
	free(c->all);
}

/* Append crt (taken over) from path; online, add the CRL its distribution point names. */
static int take_cert(struct pvk_hkd_verifier *v, const struct pvk_cert_opts *o,
		     struct cert_set *c, X509 *crt, const char *path, struct pvk_err *e)
{
	struct cert_src *nall = realloc(c->all, (c->n + 1) * sizeof(*c->all));
	STACK_OF(X509_CRL) *dl = NULL;
	int arc;

	if (!nall) {
		X509_free(crt);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	c->all = nall;
	c->all[c->n].crt = crt;
	c->all[c->n++].path = path;
	if (o->offline)
		return 0;
	if (pvk_crl_download_first(crt, &dl, o->log, o->log_ctx, v->crl_failed,
				   sizeof(v->crl_failed), e))
		return -1;
	arc = dl ? store_add_crls(v->store, dl, path, e) : 0;
	sk_X509_CRL_pop_free(dl, X509_CRL_free);
	return arc;
}

/* One --cert file, read once (it may be a pipe): its CRLs, then its certificates. */
static int load_cert_file(struct pvk_hkd_verifier *v, const struct pvk_cert_opts *o,
			  const char *path, struct cert_set *c, struct pvk_err *e)
{
	STACK_OF(X509) *sk;
	uint8_t *buf;
	size_t len;
	int prc, ncrl, rc = 0;

	if (pvk_file_read_all(path, CERT_FILE_MAX, &buf, &len, e))
		return -1;
	if (add_crls_from(v->store, buf, len, path, 0, &ncrl, e)) {
		free(buf);
		return -1;
	}
	prc = parse_certs(buf, len, 0, &sk);
	free(buf);
	if (prc < 0)
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	if (prc > 0)
		return pvk_fail(e, PVK_E_FORMAT,
				"Cannot load certificate from '%s': not in PEM or DER format", path);
	if (sk_X509_num(sk) == 0 && !ncrl) {
		/* Neither a certificate nor a CRL: surely not what was meant. */
		sk_X509_free(sk);
		return pvk_fail(e, PVK_E_FORMAT,
				"Cannot load certificate from '%s': the file holds no certificate",
				path);
	}
	if (sk_X509_num(sk) == 0) {
		c->empty++;
		c->empty_path = path;
	}
	while (!rc && sk_X509_num(sk) > 0)
		rc = take_cert(v, o, c, sk_X509_shift(sk), path, e);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* The error when no certificate is an IBM Z signing key, naming the files. */
static int no_signing_key(const struct pvk_cert_opts *o, const struct cert_set *c,
			  struct pvk_err *e)
{
	char files[PVK_ERR_MSG_MAX / 2] = "", extra[PVK_ERR_MSG_MAX / 4] = "";
	size_t used = 0;

	for (size_t i = 0; i < o->n_certs && used < sizeof(files); i++) {
		int w = snprintf(files + used, sizeof(files) - used, "%s'%s'", i ? ", " : "",
				 o->certs[i]);

		used += w > 0 ? (size_t)w : 0;
	}
	if (c->empty)
		snprintf(extra, sizeof(extra), "; '%s'%s holds no certificate", c->empty_path,
			 c->empty > 1 ? " and others" : "");
	return pvk_fail(e, PVK_E_VERIFY,
			VERIFY_PREFIX "Specify one IBM Z signing key (no certificate in %s has the "
			"subject of an IBM Z signing key%s)", files, extra);
}

/* Exactly one signing key; every other certificate is an untrusted intermediate. */
static int sort_certs(struct pvk_hkd_verifier *v, const struct pvk_cert_opts *o,
		      const struct cert_set *c, STACK_OF(X509) *untrusted, struct pvk_err *e)
{
	size_t n_sign = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (!pvk_hkd_is_signing_key(c->all[i].crt)) {
			if (!sk_X509_push(untrusted, c->all[i].crt))
				return pvk_fail(e, PVK_E_NOMEM, "out of memory");
			X509_up_ref(c->all[i].crt);
		} else if (++n_sign == 1) {
			X509_up_ref(c->all[i].crt);
			v->sign_key = c->all[i].crt;
			v->sign_path = strdup(c->all[i].path);
			if (!v->sign_path)
				return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		} else if (n_sign == 2) {
			return pvk_fail(e, PVK_E_VERIFY,
					VERIFY_PREFIX "Specify only one IBM Z signing key (found in '%s' "
					"and '%s')", v->sign_path, c->all[i].path);
		}
	}
	return n_sign ? 0 : no_signing_key(o, c, e);
}

int pvk_hkd_verifier_new(const struct pvk_cert_opts *o, struct pvk_hkd_verifier **out,
		     struct pvk_err *e)
{
	struct pvk_hkd_verifier *v = calloc(1, sizeof(*v));
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	struct cert_set c = { 0 };
	int rc = -1;

	*out = NULL;
	if (!v || !untrusted) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	v->offline = o->offline;
	v->log = o->log;
	v->log_ctx = o->log_ctx;
	if (store_setup(o, &v->store, e))
		goto out;
	for (size_t i = 0; i < o->n_certs; i++)
		if (load_cert_file(v, o, o->certs[i], &c, e))
			goto out;
	if (sort_certs(v, o, &c, untrusted, e) ||
	    verify_chain(v->store, untrusted, v->sign_key, v->sign_path, v->crl_failed, e))
		goto out;
	/* X509_check_akid() compares against the cached SKID: make sure it is cached. */
	(void)X509_get0_subject_key_id(v->sign_key);
	pvk_hkd_note(o->log, o->log_ctx, PVK_HKD_DEBUG, "The IBM Z signing key in '%s' is verified",
		 v->sign_path);
	*out = v;
	v = NULL;
	rc = 0;
out:
	cert_set_free(&c);
	sk_X509_pop_free(untrusted, X509_free);
	pvk_hkd_verifier_free(v);
	ERR_clear_error();
	return rc;
}

/* 0 = inside [notBefore, notAfter), -1 = before, 1 = after or undecidable. */
static int validity(const ASN1_TIME *from, const ASN1_TIME *to)
{
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	int rc = 1;

	if (!now || !from || !to)
		goto out;
	if (ASN1_TIME_compare(now, from) == -1) {
		rc = -1;
		goto out;
	}
	if (ASN1_TIME_compare(now, to) == -1)
		rc = 0;
out:
	ASN1_TIME_free(now);
	return rc;
}

static int akid_matches_crt(X509 *issuer, AUTHORITY_KEYID *akid)
{
	int ok = !akid || X509_check_akid(issuer, akid) == X509_V_OK;

	AUTHORITY_KEYID_free(akid);
	return ok;
}

/* A CRL counts only when current, its AKID (if any) names the signing key and it is signed
 * by it. */
static int crl_valid(X509_CRL *crl, X509 *issuer)
{
	EVP_PKEY *pk = X509_get0_pubkey(issuer);

	if (!X509_CRL_get0_nextUpdate(crl) ||
	    validity(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl)) != 0)
		return 0;
	if (!akid_matches_crt(issuer, X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
							   NULL)))
		return 0;
	return pk && X509_CRL_verify(crl, pk) == 1;
}

static STACK_OF(X509_CRL) *crls_by_name(X509_STORE_CTX *ctx, const X509_NAME *name)
{
	STACK_OF(X509_CRL) *sk = name ? X509_STORE_CTX_get1_crls(ctx, name) : NULL;

	ERR_clear_error();
	if (sk && sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_free(sk);
		sk = NULL;
	}
	return sk;
}

/* The name's attributes in the order C, O, OU, L, ST, CN (first entry of each). */
static X509_NAME *name_reordered(const X509_NAME *name)
{
	static const int order[] = { NID_countryName, NID_organizationName,
				     NID_organizationalUnitName, NID_localityName,
				     NID_stateOrProvinceName, NID_commonName };
	X509_NAME *res = X509_NAME_new();

	for (size_t i = 0; res && i < sizeof(order) / sizeof(order[0]); i++) {
		int idx = X509_NAME_get_index_by_NID(name, order[i], -1);

		if (idx >= 0 && X509_NAME_add_entry(res, X509_NAME_get_entry(name, idx), -1, 0) != 1) {
			X509_NAME_free(res);
			res = NULL;
		}
	}
	return res;
}

/* The name with L=Armonk replaced by L=Poughkeepsie; NULL when L is not Armonk. */
static X509_NAME *name_armonk_to_poughkeepsie(const X509_NAME *name)
{
	X509_NAME *res;

	if (!name_first_eq(name, NID_localityName, "Armonk"))
		return NULL;
	res = X509_NAME_new();
	for (int i = 0; res && i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, i);
		int ok;

		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(ent)) == NID_localityName)
			ok = X509_NAME_add_entry_by_NID(res, NID_localityName, MBSTRING_UTF8,
							(const unsigned char *)"Poughkeepsie", -1,
							-1, 0);
		else
			ok = X509_NAME_add_entry(res, ent, -1, 0);
		if (ok != 1) {
			X509_NAME_free(res);
			res = NULL;
		}
	}
	return res;
}

/*
 * CRLs in the store issued under the signing key's name; when there are none, try the
 * quirks of §3.3 step 5: L=Armonk read as L=Poughkeepsie, that name reordered, the
 * original name reordered.
 */
static STACK_OF(X509_CRL) *store_crls(struct pvk_hkd_verifier *v)
{
	const X509_NAME *subj = X509_get_subject_name(v->sign_key);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509_CRL) *sk = NULL;
	X509_NAME *fixed = NULL, *tmp;

	if (!ctx || X509_STORE_CTX_init(ctx, v->store, NULL, NULL) != 1)
		goto out;
	if ((sk = crls_by_name(ctx, subj)))
		goto out;
	fixed = name_armonk_to_poughkeepsie(subj);
	if (fixed) {
		pvk_hkd_note(v->log, v->log_ctx, PVK_HKD_DEBUG, "CRL lookup: trying L=Poughkeepsie");
		if ((sk = crls_by_name(ctx, fixed)))
			goto out;
		tmp = name_reordered(fixed);
		sk = crls_by_name(ctx, tmp);
		X509_NAME_free(tmp);
		if (sk)
			goto out;
	}
	pvk_hkd_note(v->log, v->log_ctx, PVK_HKD_DEBUG, "CRL lookup: trying the reordered name");
	tmp = name_reordered(subj);
	sk = crls_by_name(ctx, tmp);
	X509_NAME_free(tmp);
out:
	X509_NAME_free(fixed);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return sk ? sk : sk_X509_CRL_new_null();
}

/* Move the CRLs of all that are current and signed by the signing key into a new stack (each
 * signature checked once per run, not once per HKD); all is freed. */
static STACK_OF(X509_CRL) *keep_valid(struct pvk_hkd_verifier *v, STACK_OF(X509_CRL) *all)
{
	STACK_OF(X509_CRL) *ok = sk_X509_CRL_new_null();

	while (ok && all && sk_X509_CRL_num(all) > 0) {
		X509_CRL *crl = sk_X509_CRL_shift(all);

		if (!crl_valid(crl, v->sign_key) || !sk_X509_CRL_push(ok, crl))
			X509_CRL_free(crl);
	}
	sk_X509_CRL_pop_free(all, X509_CRL_free);
	return ok;
}

/* The CRLs from the HKD's distribution points, downloaded once for all HKDs naming them. */
static const struct crl_download *downloaded(struct pvk_hkd_verifier *v, X509 *hkd,
					     struct pvk_err *e)
{
	STACK_OF(X509_CRL) *dl = NULL;
	struct crl_download *d;
	char **uris, *key = NULL;
	size_t n, len = 1;
	int rc;

	if (pvk_crl_dist_uris(hkd, &uris, &n, e))
		return NULL;
	for (size_t i = 0; i < n; i++)
		len += strlen(uris[i]) + 1;
	key = calloc(1, len);
	for (size_t i = 0; key && i < n; i++)
		strcat(strcat(key, uris[i]), "\n");
	pvk_crl_uris_free(uris, n);
	if (!key) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		return NULL;
	}
	for (d = v->downloads; d; d = d->next)
		if (!strcmp(d->uris, key)) {
			free(key);
			return d;
		}
	d = calloc(1, sizeof(*d));
	if (!d) {
		free(key);
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		return NULL;
	}
	d->uris = key;
	rc = pvk_crl_download_first(hkd, &dl, v->log, v->log_ctx, d->failed, sizeof(d->failed), e);
	if (!rc && !(d->valid = keep_valid(v, dl)))
		rc = pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (rc) {
		free(d->uris);
		free(d);
		return NULL;
	}
	d->next = v->downloads;
	v->downloads = d;
	return d;
}

/* 1 if a CRL of crls revokes hkd; counts the CRLs looked at into *n. */
static int revoked_in(STACK_OF(X509_CRL) *crls, X509 *hkd, int *n)
{
	X509_REVOKED *rev;

	for (int i = 0; i < sk_X509_CRL_num(crls); i++, (*n)++)
		if (X509_CRL_get0_by_serial(sk_X509_CRL_value(crls, i), &rev,
					    X509_get0_serialNumber(hkd)) != 0)
			return 1;
	return 0;
}

int pvk_hkd_verify(struct pvk_hkd_verifier *v, X509 *hkd, const char *path, struct pvk_err *e)
{
	EVP_PKEY *pk = X509_get0_pubkey(hkd), *sign_pk = X509_get0_pubkey(v->sign_key);
	const struct crl_download *dl = NULL;
	int bits, when, n_valid = 0;

	if (!pk || !sign_pk)
		return verify_fail(e, path, "cannot read the public key (%s)", ssl_reason());
	bits = EVP_PKEY_get_security_bits(pk);
	if (bits < SECURITY_BITS)
		return verify_fail(e, path, "Not enough bits of security. (%d, %d expected)", bits,
				   SECURITY_BITS);
	when = validity(X509_get0_notBefore(hkd), X509_get0_notAfter(hkd));
	if (when < 0)
		return verify_fail(e, path, "Before validity period");
	if (when > 0)
		return verify_fail(e, path, "After validity period");
	if (!akid_matches_crt(v->sign_key, X509_get_ext_d2i(hkd, NID_authority_key_identifier, NULL,
							    NULL)))
		return verify_fail(e, path, "Authority Key Id mismatch");
	if (X509_verify(hkd, sign_pk) != 1)
		return verify_fail(e, path, "Signature verification failed");

	if (!v->store_valid && !(v->store_valid = keep_valid(v, store_crls(v))))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (!v->offline && !(dl = downloaded(v, hkd, e)))
		return -1;
	if (revoked_in(v->store_valid, hkd, &n_valid) || (dl && revoked_in(dl->valid, hkd, &n_valid)))
		return verify_fail(e, path, "Host-key document is revoked.");
	ERR_clear_error();
	if (!n_valid) {
		if (dl && dl->failed[0])
			return verify_fail(e, path, "No valid CRL found (%s)", dl->failed);
		return verify_fail(e, path, "No valid CRL found");
	}
	pvk_hkd_note(v->log, v->log_ctx, PVK_HKD_DEBUG, "HKD '%s': verified", path);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */

void pvk_hostkeys_free(EVP_PKEY **keys, size_t n)
{
	for (size_t i = 0; keys && i < n; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
}

int pvk_hostkeys_load_verified(const struct pvk_cert_opts *o, EVP_PKEY ***keys, size_t *n,
			   struct pvk_err *e)
{
	struct pvk_hkd_verifier *v = NULL;
	EVP_PKEY **res = NULL;
	size_t cnt = 0;

	*keys = NULL;
	*n = 0;
	if (pvk_cert_opts_check(o, e))
		return -1;
	if (!o->no_verify && pvk_hkd_verifier_new(o, &v, e))
		return -1;
	res = calloc(o->n_hkds, sizeof(*res));
	if (!res) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto err;
	}
	for (size_t i = 0; i < o->n_hkds; i++) {
		const char *path = o->hkds[i];
		X509 *crt;
		int lrc = pvk_hkd_load(path, &crt, e);

		if (lrc < 0)
			goto err;
		if (lrc > 0)
			pvk_hkd_note(o->log, o->log_ctx, PVK_HKD_WARN,
				 "The host-key document in '%s' contains more than one certificate!",
				 path);
		if ((v && pvk_hkd_verify(v, crt, path, e)) || pvk_hkd_check_key(crt, path, e)) {
			X509_free(crt);
			goto err;
		}
		res[cnt] = X509_get_pubkey(crt);
		X509_free(crt);
		if (!res[cnt]) {
			pvk_fail_ssl(e, "%s: cannot read the public key", path);
			goto err;
		}
		cnt++;
		pvk_hkd_note(o->log, o->log_ctx, PVK_HKD_INFO, "Use host-key document at '%s'", path);
	}
	pvk_hkd_verifier_free(v);
	*keys = res;
	*n = cnt;
	return 0;
err:
	pvk_hkd_verifier_free(v);
	pvk_hostkeys_free(res, cnt);
	return -1;
}

/* A certificate name as one line (RFC 2253). */
static json_object *name_json(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	json_object *o = NULL;
	char *p;
	long len;

	if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) >= 0)
		o = json_object_new_string_len(p, (int)len);
	BIO_free(b);
	return o;
}

/* An ASN.1 time as "YYYY-MM-DDTHH:MM:SSZ". */
static json_object *time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (!ASN1_TIME_to_tm(t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return NULL;
	return json_object_new_string(buf);
}

int pvk_hkd_describe(X509 *hkd, const char *path, struct json_object **out, struct pvk_err *e)
{
	uint8_t phkh[PVK_SHA256_LEN];
	json_object *o;
	BIGNUM *sn;
	char *hex;

	if (pvk_ec_phkh(X509_get0_pubkey(hkd), phkh, e))
		return pvk_wrap(e, "%s", path);
	sn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(hkd), NULL);
	hex = sn ? BN_bn2hex(sn) : NULL;
	BN_free(sn);
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(path));
	json_object_object_add(o, "subject", name_json(X509_get_subject_name(hkd)));
	json_object_object_add(o, "issuer", name_json(X509_get_issuer_name(hkd)));
	json_object_object_add(o, "serial", hex ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "not_before", time_json(X509_get0_notBefore(hkd)));
	json_object_object_add(o, "not_after", time_json(X509_get0_notAfter(hkd)));
	json_object_object_add(o, "phkh", pvk_json_hex(phkh, sizeof(phkh), 1));
	OPENSSL_free(hex);
	*out = o;
	return 0;
}
