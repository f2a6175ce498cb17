/* SPDX-License-Identifier: MIT */
/*
 * Host-key documents (HKDs): loading, the certificate options every request-creating tool
 * shares, and the full verification of spec §3 (chain of trust to the IBM Z signing key,
 * CRLs from files or downloaded, per-HKD validity/AKID/signature/revocation checks).
 */
#ifndef PVKIT_HOSTKEY_H
#define PVKIT_HOSTKEY_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pvkit/err.h"

/* Notes the library passes up instead of printing (only a tool's main prints). */
enum pvk_hkd_log {
	PVK_HKD_WARN,  /* e.g. "contains more than one certificate" */
	PVK_HKD_INFO,  /* e.g. "Use host-key document at '…'" */
	PVK_HKD_DEBUG, /* CRL downloads, lookups */
};
typedef void (*pvk_hkd_log_fn)(void *ctx, enum pvk_hkd_log level, const char *msg);

/*
 * The certificate options of spec §3.4. Strings are borrowed. A struct filled by
 * pvk_cert_opts_add() owns its arrays and strings: release it with pvk_cert_opts_free(). A struct
 * filled by hand (static arrays) must not be passed to pvk_cert_opts_add()/pvk_cert_opts_free().
 */
struct pvk_cert_opts {
	const char **hkds;
	size_t n_hkds;
	const char **certs;
	size_t n_certs;
	const char **crls;
	size_t n_crls;
	const char *root_ca;
	int offline;
	int no_verify;
	/* Optional: receives warnings and notes; NULL drops them. */
	pvk_hkd_log_fn log;
	void *log_ctx;
	/* Private: strings allocated by pvk_cert_opts_add(). */
	char **owned_;
	size_t n_owned_;
};

/* getopt_long ids of the certificate options ('k' and 'C' double as short options). */
enum pvk_cert_opt_id {
	PVK_OPT_HKD = 'k',
	PVK_OPT_CERT = 'C',
	PVK_OPT_CRL = 0x4801,
	PVK_OPT_ROOT_CA,
	PVK_OPT_OFFLINE,
	PVK_OPT_NO_VERIFY,
};

/* Short options to put into the tool's optstring. */
#define PVK_CERT_SHORTOPTS "k:C:"
/* The struct option entries, for the tool's longopts array (no terminator). */
#define PVK_CERT_LONGOPTS                                                   \
	{ "host-key-document", required_argument, NULL, PVK_OPT_HKD },      \
	{ "cert", required_argument, NULL, PVK_OPT_CERT },                  \
	{ "crt", required_argument, NULL, PVK_OPT_CERT },                   \
	{ "crl", required_argument, NULL, PVK_OPT_CRL },                    \
	{ "root-ca", required_argument, NULL, PVK_OPT_ROOT_CA },            \
	{ "offline", no_argument, NULL, PVK_OPT_OFFLINE },                  \
	{ "no-verify", no_argument, NULL, PVK_OPT_NO_VERIFY }

/* The --help lines of the certificate options (same wording as the man pages). */
#define PVK_CERT_HELP                                                                       \
	"  -k, --host-key-document FILE  Use FILE as a host-key document; repeatable, and a\n" \
	"                                comma-separated list is accepted (required)\n"         \
	"      --no-verify               Disable the host-key document verification\n"          \
	"  -C, --cert FILE               Use FILE as a certificate to verify the host-key\n"     \
	"                                documents (the IBM Z signing key and the\n"             \
	"                                intermediate CA certificate); alias --crt\n"            \
	"      --crl FILE                Use FILE as a certificate revocation list (CRL)\n"      \
	"      --offline                 Make no attempt to download CRLs\n"                     \
	"      --root-ca FILE            Use FILE as the root-CA certificate instead of the\n"   \
	"                                system-wide root CAs\n"

/*
 * Handle one option from the tool's getopt_long loop. Returns 1 when opt_id was a
 * certificate option (taken), 0 when it is not one (the tool handles it), -1 on error
 * (PVK_E_USAGE / PVK_E_NOMEM). -k, --cert and --crl split comma-separated lists.
 */
int pvk_cert_opts_add(struct pvk_cert_opts *o, int opt_id, const char *arg, struct pvk_err *e);
/* The combination rules of §3.4; PVK_E_USAGE on violation. */
int pvk_cert_opts_check(const struct pvk_cert_opts *o, struct pvk_err *e);
void pvk_cert_opts_free(struct pvk_cert_opts *o);

/* "Host-key document verification is disabled. The <thing> may not be protected." */
const char *pvk_hostkey_noverify_warning(const char *thing, char *buf, size_t len);

/*
 * Load a host-key document (PEM or DER). Returns 0 if the file holds exactly one
 * certificate, 1 if it holds several (the first is returned; warn the user), -1 on error.
 */
int pvk_hkd_load(const char *path, X509 **crt, struct pvk_err *e);
/* 0 if the HKD's public key is EC P-521, else -1 with a message naming path and the key. */
int pvk_hkd_check_key(X509 *hkd, const char *path, struct pvk_err *e);
/* What pvverify --format json shows of a host-key document read from path: file, subject,
 * issuer (RFC 2253), serial (hex), not_before/not_after (UTC, ISO 8601) and phkh, the
 * SHA-256 of its public key that SE headers and the UV's key list hold ("0x" + hex). *out
 * is a new json-c object the caller puts. */
struct json_object;
int pvk_hkd_describe(X509 *hkd, const char *path, struct json_object **out, struct pvk_err *e);
/* 1 if crt's subject is that of an IBM Z signing key (§3.2), else 0. */
int pvk_hkd_is_signing_key(X509 *crt);

/* The chain of trust, built once from the options, used for every HKD. */
struct pvk_hkd_verifier;
/*
 * Load --cert/--crl/--root-ca, download CRLs unless offline, find the one IBM Z signing key
 * and verify it with OpenSSL. Failures are PVK_E_VERIFY ("Host-key verification failed: …"),
 * PVK_E_IO / PVK_E_FORMAT for unreadable files.
 */
int pvk_hkd_verifier_new(const struct pvk_cert_opts *o, struct pvk_hkd_verifier **out,
		     struct pvk_err *e);
/* The per-HKD checks of §3.3; path names the HKD in messages. PVK_E_VERIFY on failure. */
int pvk_hkd_verify(struct pvk_hkd_verifier *v, X509 *hkd, const char *path, struct pvk_err *e);
void pvk_hkd_verifier_free(struct pvk_hkd_verifier *v);

/*
 * Load every -k document and, unless o->no_verify, verify it; every key must be EC P-521.
 * On success *keys is an array of *n public keys (free with pvk_hostkeys_free).
 */
int pvk_hostkeys_load_verified(const struct pvk_cert_opts *o, EVP_PKEY ***keys, size_t *n,
			   struct pvk_err *e);
void pvk_hostkeys_free(EVP_PKEY **keys, size_t n);

/* --- CRLs (lib/crl.c) --- */

/* Parse CRLs from a buffer: DER (one CRL), else every PEM CRL. Empty stack if none. */
int pvk_crl_parse(const uint8_t *buf, size_t len, STACK_OF(X509_CRL) **out, struct pvk_err *e);
/* The URIs of crt's CRL distribution points, in order. Free with pvk_crl_uris_free. */
int pvk_crl_dist_uris(X509 *crt, char ***uris, size_t *n, struct pvk_err *e);
void pvk_crl_uris_free(char **uris, size_t n);
/*
 * Download the CRLs of the first distribution point of crt that can be fetched and parsed
 * (libcurl GET, redirects followed, 3 s timeout, user agent "s390-tools-pv-crl").
 * *out is NULL when no distribution point gave a CRL; -1 only on unexpected errors. A
 * distribution point that failed is described in failed (if not NULL), for the error that a
 * missing CRL may cause later: which URL, and why.
 */
int pvk_crl_download_first(X509 *crt, STACK_OF(X509_CRL) **out, pvk_hkd_log_fn log,
		       void *log_ctx, char *failed, size_t failed_len, struct pvk_err *e);

/*
 * Tests only: replace the download of a URI (return 0 and a malloc'd buffer, or -1).
 * NULL restores libcurl. Not thread-safe; set it before building a verifier.
 */
typedef int (*pvk_crl_fetch_fn)(void *ctx, const char *uri, uint8_t **buf, size_t *len);
void pvk_crl_set_fetcher(pvk_crl_fetch_fn fn, void *ctx);

#endif
