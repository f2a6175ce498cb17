// SPDX-License-Identifier: MIT
/* CRLs: parsing, distribution points and download (spec §3.3 steps 3 and 5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pvkit/hostkey.h"
#include "hkd_note.h"
#include "pvkit/http.h"

#define CRL_DOWNLOAD_TIMEOUT_S 3L
#define CRL_DOWNLOAD_MAX (16u << 20) /* a CRL larger than this is not a CRL we want */
#define CRL_USER_AGENT "s390-tools-pv-crl"

static pvk_crl_fetch_fn fetch_hook;
static void *fetch_hook_ctx;

void pvk_crl_set_fetcher(pvk_crl_fetch_fn fn, void *ctx)
{
	fetch_hook = fn;
	fetch_hook_ctx = ctx;
}

int pvk_crl_parse(const uint8_t *buf, size_t len, STACK_OF(X509_CRL) **out, struct pvk_err *e)
{
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	const unsigned char *p = buf;
	X509_CRL *crl;
	BIO *bio;

	*out = NULL;
	if (!sk)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (len > (size_t)INT32_MAX) {
		sk_X509_CRL_free(sk);
		return pvk_fail(e, PVK_E_FORMAT, "CRL data too large");
	}
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl) {
		if (!sk_X509_CRL_push(sk, crl)) {
			X509_CRL_free(crl);
			sk_X509_CRL_free(sk);
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
		*out = sk;
		ERR_clear_error();
		return 0;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		sk_X509_CRL_free(sk);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	/* Every CRL block; other PEM blocks are skipped; the end shows as "no start line". */
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		if (!sk_X509_CRL_push(sk, crl)) {
			X509_CRL_free(crl);
			BIO_free(bio);
			sk_X509_CRL_pop_free(sk, X509_CRL_free);
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
	}
	BIO_free(bio);
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		return pvk_fail_ssl(e, "not a CRL in PEM or DER format");
	}
	ERR_clear_error();
	*out = sk;
	return 0;
}

void pvk_crl_uris_free(char **uris, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(uris[i]);
	free(uris);
}

int pvk_crl_dist_uris(X509 *crt, char ***uris, size_t *n, struct pvk_err *e)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(crt, NID_crl_distribution_points, NULL, NULL);
	char **res = NULL;
	size_t cnt = 0;

	*uris = NULL;
	*n = 0;
	ERR_clear_error();
	for (int i = 0; dps && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const ASN1_IA5STRING *uri;
			char **nres;
			char *s;

			if (gn->type != GEN_URI)
				continue;
			uri = gn->d.uniformResourceIdentifier;
			nres = realloc(res, (cnt + 1) * sizeof(*res));
			s = nres ? strndup((const char *)ASN1_STRING_get0_data(uri),
					   (size_t)ASN1_STRING_length(uri)) : NULL;
			if (nres)
				res = nres;
			if (!s) {
				pvk_crl_uris_free(res, cnt);
				sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
				return pvk_fail(e, PVK_E_NOMEM, "out of memory");
			}
			res[cnt++] = s;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	*uris = res;
	*n = cnt;
	return 0;
}

/* GET uri into a fresh buffer; 0 on success, -1 (with a note in why) when it failed. */
static int fetch(const char *uri, uint8_t **buf, size_t *len, char *why, size_t why_len)
{
	const struct pvk_http_request req = {
		.url = uri, .user_agent = CRL_USER_AGENT, .timeout_s = CRL_DOWNLOAD_TIMEOUT_S,
		.max_redirects = 50, .max_size = CRL_DOWNLOAD_MAX,
	};
	struct pvk_http_response r;

	if (fetch_hook) {
		if (fetch_hook(fetch_hook_ctx, uri, buf, len)) {
			snprintf(why, why_len, "not available");
			return -1;
		}
		return 0;
	}
	if (pvk_http_request(&req, &r, why, why_len))
		return -1;
	if (r.status >= 400) {
		snprintf(why, why_len, "HTTP status %ld", r.status);
		free(r.data);
		return -1;
	}
	*buf = r.data;
	*len = r.len;
	return 0;
}

int pvk_crl_download_first(X509 *crt, STACK_OF(X509_CRL) **out, pvk_hkd_log_fn log,
		       void *log_ctx, char *failed, size_t failed_len, struct pvk_err *e)
{
	char why[512];
	char **uris;
	size_t n;

	*out = NULL;
	if (pvk_crl_dist_uris(crt, &uris, &n, e))
		return -1;
	for (size_t i = 0; i < n; i++) {
		STACK_OF(X509_CRL) *sk;
		struct pvk_err pe;
		uint8_t *buf;
		size_t len;

		if (fetch(uris[i], &buf, &len, why, sizeof(why))) {
			pvk_hkd_note(log, log_ctx, PVK_HKD_DEBUG, "Cannot download the CRL from '%s': %s",
				 uris[i], why);
			if (failed)
				snprintf(failed, failed_len, "the CRL download from '%s' failed: %s",
					 uris[i], why);
			continue;
		}
		if (pvk_crl_parse(buf, len, &sk, &pe)) {
			free(buf);
			pvk_hkd_note(log, log_ctx, PVK_HKD_DEBUG, "The data from '%s' is not a CRL", uris[i]);
			if (failed)
				snprintf(failed, failed_len, "the data downloaded from '%s' is not a CRL",
					 uris[i]);
			continue;
		}
		free(buf);
		if (sk_X509_CRL_num(sk) == 0) {
			sk_X509_CRL_free(sk);
			pvk_hkd_note(log, log_ctx, PVK_HKD_DEBUG, "The data from '%s' holds no CRL", uris[i]);
			if (failed)
				snprintf(failed, failed_len, "the data downloaded from '%s' holds no CRL",
					 uris[i]);
			continue;
		}
		pvk_hkd_note(log, log_ctx, PVK_HKD_DEBUG, "Downloaded the CRL from '%s'", uris[i]);
		*out = sk;
		break;
	}
	pvk_crl_uris_free(uris, n);
	return 0;
}
