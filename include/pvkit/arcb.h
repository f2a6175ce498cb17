/* SPDX-License-Identifier: MIT */
/* The attestation request control block (ARCB v1, spec §4.2), the attestation measurement
 * and additional data (§4.4, §4.5). */
#ifndef PVKIT_ARCB_H
#define PVKIT_ARCB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"
#include "pvkit/uvreq.h"

#define ARCB_OFF_PAF 0x30
#define ARCB_OFF_MAI 0x38
#define ARCB_OFF_CUST 0x40
#define ARCB_MAI_HMAC_SHA512 1
#define ARCB_MEAS_KEY_LEN 64
#define ARCB_NONCE_LEN 16
#define ARCB_MEAS_LEN 64            /* HMAC-SHA512 */
#define ARCB_MAX_LEN 0x100000

/* Plaintext attestation flags (MSB0). */
#define ARCB_PAF_NONCE (1ull << (63 - 1))
#define ARCB_PAF_PHKH_IMG (1ull << (63 - 2))
#define ARCB_PAF_PHKH_ATT (1ull << (63 - 3))
#define ARCB_PAF_SECRET_STORE_HASH (1ull << (63 - 4))
#define ARCB_PAF_FIRMWARE_STATE (1ull << (63 - 5))
#define ARCB_PAF_ADD_DATA (ARCB_PAF_PHKH_IMG | ARCB_PAF_PHKH_ATT | ARCB_PAF_SECRET_STORE_HASH | \
			   ARCB_PAF_FIRMWARE_STATE)
#define ARCB_PAF_KNOWN (ARCB_PAF_NONCE | ARCB_PAF_ADD_DATA)

#define ATTEST_PHKH_LEN 32
#define ATTEST_SSH_LEN 64
#define ATTEST_FW_STATE_LEN 320

struct arcb_params {
	EVP_PKEY *cust;
	EVP_PKEY *const *hosts;
	size_t n_hosts;
	uint8_t iv[12];
	uint8_t arpk[32];
	uint8_t meas_key[ARCB_MEAS_KEY_LEN];
	uint8_t nonce[ARCB_NONCE_LEN];
	uint64_t paf;               /* ARCB_PAF_NONCE set: the nonce is included */
};

/* What the request carries, once opened. */
struct arcb_content {
	uint64_t paf;
	uint32_t mai;
	uint8_t meas_key[ARCB_MEAS_KEY_LEN];
	uint8_t nonce[ARCB_NONCE_LEN];
	int has_nonce;
	int slot;                   /* key slot used (UV side) */
};

/* Build and encrypt an attestation request control block (spec §4.1) for p's hosts;
 * *out is malloc'd (*len bytes). */
int pvk_arcb_build(const struct arcb_params *p, uint8_t **out, size_t *len, struct pvk_err *e);
/* Envelope checks and the plaintext fields. */
int pvk_arcb_parse(const uint8_t *buf, size_t len, struct uvreq *r, uint64_t *paf, uint32_t *mai,
	       struct pvk_err *e);
/* Owner side: open with the ARPK. */
int pvk_arcb_open(const uint8_t *buf, size_t len, const uint8_t arpk[32], struct arcb_content *c,
	      struct pvk_err *e);

/* Size of the additional data the flags ask for. */
size_t pvk_attest_add_size(uint64_t paf);

/* The items of §4.4 and their HMAC-SHA512. */
struct attest_items {
	const uint8_t *pld, *ald, *tld, *tag;   /* 64, 64, 64, 16 bytes from the SE header */
	const uint8_t *cuid;                    /* 16 */
	const uint8_t *user;
	size_t user_len;                        /* 0..256 */
	const uint8_t *nonce;                   /* 16 or NULL */
	const uint8_t *add;
	size_t add_len;
};
int pvk_attest_measure(const uint8_t key[ARCB_MEAS_KEY_LEN], const struct attest_items *it,
		   uint8_t out[ARCB_MEAS_LEN], struct pvk_err *e);

/* The additional data split by the flags, in the order of §4.5. */
struct attest_add_fields {
	const uint8_t *image_phkh, *att_phkh, *secret_store_hash, *firmware_state;
	const uint8_t *unrecognized;
	size_t unrecognized_len;
};
void pvk_attest_split_add(uint64_t paf, const uint8_t *add, size_t len, struct attest_add_fields *f);
/* SHA-512(tag_1 || ... || tag_n || locked). */
void pvk_attest_secret_store_hash(const uint8_t (*tags)[16], size_t n, int locked, uint8_t out[64]);

#endif
