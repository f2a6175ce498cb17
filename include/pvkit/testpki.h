/* SPDX-License-Identifier: MIT */
/*
 * A test PKI shaped like IBM's host-key PKI (spec §3.1): root CA → intermediate CA → IBM Z
 * signing key → P-521 host-key documents, with CRLs at every level. For tests, and for the
 * software ultravisor, which needs a host key and its HKD. Nothing here is for production.
 */
#ifndef PVKIT_TESTPKI_H
#define PVKIT_TESTPKI_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pvkit/err.h"

enum pvk_testpki_keytype {
	TESTPKI_KEY_P521,
	TESTPKI_KEY_P256,
	TESTPKI_KEY_RSA, /* bits given separately */
};
int pvk_testpki_keygen(enum pvk_testpki_keytype type, unsigned int rsa_bits, EVP_PKEY **out,
		   struct pvk_err *e);

enum pvk_testpki_role {
	TESTPKI_ROOT_CA,  /* self-signed CA */
	TESTPKI_INTER_CA, /* CA */
	TESTPKI_SIGNING,  /* the IBM Z signing key: not a CA, digitalSignature, codeSigning */
	TESTPKI_HOST,     /* an HKD: keyAgreement (critical) */
};

/*
 * Subject C=US, O=<IBM>, CN=<IBM>, ST=New York, L=<locality>, OU=<ou> (the order of IBM's
 * certificates); reordered != 0 gives IBM's alternative CRL-issuer order C, O, OU, L, ST, CN.
 */
X509_NAME *pvk_testpki_name(const char *locality, const char *ou, int reordered);

struct pvk_testpki_cert {
	enum pvk_testpki_role role;
	const char *locality;   /* NULL: Armonk (Poughkeepsie for TESTPKI_SIGNING) */
	const char *ou;         /* NULL: the role's default (signing: "IBM Z Host Key Signing
				 * Service", host: "IBM Z Host Key") */
	EVP_PKEY *key;          /* the subject's key (public part used) */
	X509 *issuer;           /* NULL: self-signed */
	EVP_PKEY *issuer_key;   /* signs the certificate */
	const char *crl_uri;    /* CRL distribution point; NULL: none */
	long not_before_days;   /* validity relative to now */
	long not_after_days;
	int no_akid;            /* leave out the AuthorityKeyIdentifier */
};
int pvk_testpki_cert(const struct pvk_testpki_cert *p, X509 **out, struct pvk_err *e);

struct pvk_testpki_crl {
	X509 *issuer;                 /* its key id goes into the CRL's AKID */
	EVP_PKEY *issuer_key;         /* signs the CRL */
	const X509_NAME *issuer_name; /* NULL: issuer's subject */
	X509 *const *revoked;         /* certificates whose serials are listed */
	size_t n_revoked;
	long last_update_days;        /* relative to now */
	long next_update_days;
};
int pvk_testpki_crl(const struct pvk_testpki_crl *p, X509_CRL **out, struct pvk_err *e);

/* PEM output through temp file + rename; keys with mode 0600. */
int pvk_testpki_write_key(const char *path, EVP_PKEY *key, struct pvk_err *e);
/* One or more certificates and CRLs concatenated into one PEM file. */
int pvk_testpki_write_pem(const char *path, X509 *const *crts, size_t n_crts,
		      X509_CRL *const *crls, size_t n_crls, struct pvk_err *e);

/*
 * Generate a whole PKI into dir (created if missing; files in it are replaced):
 *   root_ca.{key,crt,crl}, root_ca.chained.crt (certificate + CRL, for --root-ca)
 *   inter_ca.{key,crt,crl}                         (inter_ca.crl: the signing key's CRL)
 *   ibm.{key,crt,crl}                              (ibm.crl: the HKDs' CRL)
 *   ibm_armonk.crt                 the signing key with L=Armonk (same key)
 *   ibm_reordered.crl              ibm.crl with the issuer RDNs reordered
 *   host<I>.{key,crt}, I = 1..hosts   valid P-521 HKDs (revoked if listed in revoke)
 *   host_revoked  host_expired  host_future  host_rsa (RSA-2048)  host_p256
 *   host_weak (RSA-1024)  host_wrong_signer (no AKID, signed by the intermediate's key)
 * CRL distribution points: <crl_url_base>/<file>.crl (bare file names when NULL).
 */
struct pvk_testpki_opts {
	const char *dir;
	unsigned int hosts;        /* valid HKDs; 0 means 1 */
	const char *crl_url_base;  /* e.g. "http://127.0.0.1:8000" */
	unsigned int days;         /* validity of certificates and CRLs; 0 means 365 */
	const unsigned int *revoke; /* 1-based host numbers to list in ibm.crl */
	size_t n_revoke;
	unsigned int ca_rsa_bits;  /* 0: EC P-521 CA and signing keys; else RSA of that size */
};
int pvk_testpki_generate(const struct pvk_testpki_opts *o, struct pvk_err *e);

#endif
