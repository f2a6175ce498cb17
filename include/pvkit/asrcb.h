/* SPDX-License-Identifier: MIT */
/* The add-secret request control block (ASRCB v1, spec §5): the request envelope with the
 * target image's tags, a CUID, user data, a secret header and the encrypted secret. */
#ifndef PVKIT_ASRCB_H
#define PVKIT_ASRCB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"
#include "pvkit/uvreq.h"

#define ASRCB_MAGIC "asrcbM"
#define ASRCB_OFF_FLAGS 0x030
#define ASRCB_OFF_PLD 0x038
#define ASRCB_OFF_ALD 0x078
#define ASRCB_OFF_TLD 0x0b8
#define ASRCB_OFF_TAG 0x0f8
#define ASRCB_OFF_CUID 0x108
#define ASRCB_OFF_USER 0x218
#define ASRCB_USER_LEN 512
#define ASRCB_OFF_CUST 0x418
#define ASRCB_MAX_LEN 0x100000
#define ASRCB_EXT_SECRET_LEN 32
#define ASRCB_FLAG_DISABLE_DUMP (1ull << 63)

enum asrcb_user_type {
	ASRCB_USER_NONE = 0,
	ASRCB_USER_UNSIGNED = 1,
	ASRCB_USER_ECDSA_P521 = 2,
	ASRCB_USER_RSA_2048 = 3,
	ASRCB_USER_RSA_3072 = 4,
};

enum secret_type {
	SECRET_NULL = 0x0001,
	SECRET_ASSOCIATION = 0x0002,
	SECRET_PLAINTEXT = 0x0003,
	SECRET_AES_128 = 0x0004,
	SECRET_AES_192 = 0x0005,
	SECRET_AES_256 = 0x0006,
	SECRET_AES_XTS_128 = 0x0007,
	SECRET_AES_XTS_256 = 0x0008,
	SECRET_HMAC_SHA_256 = 0x0009,
	SECRET_HMAC_SHA_512 = 0x000a,
	SECRET_EC_P256 = 0x0011,
	SECRET_EC_P384 = 0x0012,
	SECRET_EC_P521 = 0x0013,
	SECRET_ED25519 = 0x0014,
	SECRET_ED448 = 0x0015,
	SECRET_UPDATE_CCK = 0x0016,
};

/* "Association", "PLAINTEXT", "AES-256-KEY", ...; types 0, 1 and 0x16 show as Invalid(0x000N). */
const char *pvk_secret_type_name(uint16_t type, char *buf, size_t len);
/* The value length the UV expects for a type, or -1 when variable (plaintext) or unknown. */
int pvk_secret_type_len(uint16_t type);

struct asrcb_params {
	EVP_PKEY *cust;
	EVP_PKEY *const *hosts;
	size_t n_hosts;
	uint8_t iv[12];
	uint8_t prot_key[32];
	uint64_t flags;
	uint8_t pld[64], ald[64], tld[64], tag[16];   /* of the target image's SE header */
	uint8_t cuid[16];                             /* all zero: any guest of the image */
	uint16_t user_type;
	uint8_t user_data[ASRCB_USER_LEN];
	uint16_t secret_type;
	uint8_t secret_id[32];                        /* listable secrets and update-CCK */
	const uint8_t *value;                         /* encoded per type (spec §5.2) */
	uint32_t value_len;
	uint8_t ext_secret[ASRCB_EXT_SECRET_LEN];
};

/* Build and encrypt an add-secret request (spec §5) for p's hosts, unsigned; *out is
 * malloc'd (*len bytes). pvk_asrcb_build_signed signs the user data. */
int pvk_asrcb_build(const struct asrcb_params *p, uint8_t **out, size_t *len, struct pvk_err *e);

/* The plaintext view of a request. */
struct asrcb_view {
	struct uvreq r;
	uint16_t user_type;
	uint64_t flags;
	const uint8_t *pld, *ald, *tld, *tag, *cuid, *user_data;
	uint16_t secret_type;
	uint32_t secret_len;
	const uint8_t *secret_id;                     /* NULL for the null secret */
	size_t secret_hdr_len;
};
/* Checks magic, user-data type, the envelope rules, version and rql >= 0x418 + ... */
int pvk_asrcb_parse(const uint8_t *buf, size_t len, struct asrcb_view *v, struct pvk_err *e);

/* HKDF-SHA512(CCK, salt = SE-header tag, "IBM Z Ultravisor Add-Secret"): spec §5.4. */
int pvk_asrcb_derive_ext_secret(const uint8_t cck[32], const uint8_t tag[16], uint8_t out[32],
			    struct pvk_err *e);

#endif
