/* SPDX-License-Identifier: MIT */
/* Attestation as pvattest does it (spec §4): a request and its protection key made on a
 * trusted system, performed by the UV inside the guest, the response verified against the
 * SE header and reported. The formats are arcb.h and exchange.h; the check policy is
 * attcheck.h. */
#ifndef PVKIT_ATTEST_H
#define PVKIT_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"
#include "pvkit/exchange.h"
#include "pvkit/hostkey.h"
#include "pvkit/log.h"

/* The largest exchange file a reader takes (all items at their maximum). */
#define PVK_ATTEST_FILE_MAX (EXCH_HDR_LEN + EXCH_MAX_ARCB + EXCH_MAX_MEAS + EXCH_MAX_ADD + 256 + 16)

/* --add-data: a comma-separated list of phkh-img, phkh-att, secret-store-hash,
 * firmware-state, OR'ed into *paf as ARCB_PAF_* flags. An unknown item is PVK_E_USAGE. */
int pvk_attest_add_data_parse(const char *arg, uint64_t *paf, struct pvk_err *e);

/* Make an attestation request for the hosts of certs (verified unless certs->no_verify,
 * which logs IBM's warning) asking for the additional data paf, and write it (exchange
 * format) to out and its 32-byte protection key to arpk_path (mode 0600): both files or
 * neither. */
int pvk_attest_request_create(struct pvk_cert_opts *certs, uint64_t paf, const char *out,
			      const char *arpk_path, const struct pvk_log *log,
			      struct pvk_err *e);

/* pvk_attest_request_create in memory, for host keys the caller has verified: the request
 * (exchange format, *file malloc'd) asking for the additional data paf and its protection
 * key. What a service keeps instead of files. */
int pvk_attest_request_make(EVP_PKEY *const *hosts, size_t n_hosts, uint64_t paf,
			    uint8_t **file, size_t *file_len, uint8_t arpk[32], struct pvk_err *e);

/* Inside the guest: have the UV (the default device, or PVKIT_UV_DEVICE) perform the request
 * in the file in ("-": standard input) with the user data in user_path (at most 256 bytes;
 * NULL for none), and write the response to out ("-": standard output). */
int pvk_attest_perform(const char *in, const char *user_path, const char *out,
		       struct pvk_err *e);

/* pvk_attest_perform on buffers: the request (exchange format) and user_len bytes of user
 * data (at most 256) in, the response (*resp malloc'd) out; name is used in messages. */
int pvk_attest_perform_buf(const char *name, const uint8_t *req, size_t req_len,
			   const uint8_t *user, size_t user_len, uint8_t **resp,
			   size_t *resp_len, struct pvk_err *e);

/* A verified response: the exchange items (pointing into file) and the additional-data
 * flags of its request. */
struct pvk_attest_result {
	uint8_t *file;
	size_t file_len;
	struct exch x;
	uint64_t paf;
};

/* Verify the response in in against the SE header of hdr_path (an image or a header) with
 * the request's protection key in arpk_path. Returns 0 when the measurement verifies (*r
 * filled; free it with pvk_attest_result_free), 1 when it does not (nothing to free), -1 on
 * an error (unreadable or malformed input, wrong key: the message names the file). */
int pvk_attest_verify(const char *in, const char *hdr_path, const char *arpk_path,
		      struct pvk_attest_result *r, struct pvk_err *e);
/* pvk_attest_verify on buffers: the response (copied into r), an SE header (as
 * pvextract-hdr writes it) and the protection key; name is used in messages. Same returns. */
int pvk_attest_verify_buf(const char *name, const uint8_t *resp, size_t resp_len,
			  const uint8_t *hdr, size_t hdr_len, const uint8_t arpk[32],
			  struct pvk_attest_result *r, struct pvk_err *e);
void pvk_attest_result_free(struct pvk_attest_result *r);

/* The result as pvattest verify -o writes it: YAML (IBM's), or JSON (json != 0). *out is
 * malloc'd text. */
int pvk_attest_result_render(const struct pvk_attest_result *r, int json, char **out,
			     size_t *len, struct pvk_err *e);
/* The report IBM's pvattest verify prints on success ("Attestation measurement verified",
 * the config UID, the additional data and its fields, the user data), malloc'd. */
char *pvk_attest_result_report(const struct pvk_attest_result *r);

#endif
