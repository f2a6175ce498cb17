/* SPDX-License-Identifier: MIT */
/* The generic UV request envelope shared by the attestation request (ARCB) and the
 * add-secret request (ASRCB), spec §4.1: a 48-byte header, request-specific AAD with the
 * customer public key and one key slot per host, the AES-GCM encrypted area and its tag. */
#ifndef PVKIT_UVREQ_H
#define PVKIT_UVREQ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define UVREQ_HDR_LEN 0x30
#define UVREQ_OFF_VERSION 0x08
#define UVREQ_OFF_RQL 0x0c
#define UVREQ_OFF_IV 0x10
#define UVREQ_OFF_NKS 0x27
#define UVREQ_OFF_SEA 0x2c
#define UVREQ_VERSION_V1 0x00000100u
#define UVREQ_MAX_KEYSLOTS 255

struct uvreq_params {
	uint8_t magic[8];
	uint32_t version;
	uint8_t iv[12];
	uint8_t prot_key[32];        /* the request protection key (ARPK for attestation) */
	EVP_PKEY *cust;              /* customer key pair */
	EVP_PKEY *const *hosts;
	size_t n_hosts;
	const uint8_t *aad_pre;      /* request AAD between the header and the customer key */
	size_t aad_pre_len;
	const uint8_t *aad_post;     /* request AAD after the key slots */
	size_t aad_post_len;
	const uint8_t *conf;         /* confidential data, encrypted */
	size_t conf_len;
};

/* Build and seal a request; *out is malloc'd. */
int pvk_uvreq_build(const struct uvreq_params *p, uint8_t **out, size_t *len, struct pvk_err *e);

/* A parsed request: plaintext header fields, pointers into the caller's buffer. */
struct uvreq {
	const uint8_t *raw;
	uint32_t version, rql, sea;
	uint8_t nks;
	uint8_t iv[12];
	size_t aad_len;              /* rql - sea - 16 */
	const uint8_t *cust_pub;     /* at cust_off */
	const uint8_t *keyslots;
	const uint8_t *enc;
	const uint8_t *tag;
};

/* Sanity rules of §4.1 (len == rql, sea + 16 <= rql, AAD >= 48) and the key-slot area at
 * cust_off (customer key) + 160 must fit inside the AAD. */
int pvk_uvreq_parse(const uint8_t *buf, size_t len, size_t cust_off, struct uvreq *r,
		struct pvk_err *e);
/* Owner side: authenticate and decrypt with the request protection key (out: sea bytes). */
int pvk_uvreq_decrypt(const struct uvreq *r, const uint8_t prot_key[32], uint8_t *out,
		  struct pvk_err *e);
/* UV side: unwrap the protection key from the slot of host_priv and decrypt. Returns the
 * slot index used in *slot. PVK_E_AUTH when no slot opens. */
int pvk_uvreq_decrypt_host(const struct uvreq *r, EVP_PKEY *host_priv, uint8_t *out, int *slot,
		       struct pvk_err *e);
/* The same with the host key's hash (pvk_ec_phkh) computed once by a caller that opens many
 * requests with one key. */
int pvk_uvreq_decrypt_with(const struct uvreq *r, EVP_PKEY *host_priv, const uint8_t phkh[32],
			   uint8_t *out, int *slot, struct pvk_err *e);

#endif
