/* SPDX-License-Identifier: MIT */
/* The SE header v1 ("IBMSecEx", spec §2): builder, parser, decryption and locator. */
#ifndef PVKIT_SEHDR_H
#define PVKIT_SEHDR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define SEHDR_MAGIC "IBMSecEx"
#define SEHDR_MAGIC_LEN 8
#define SEHDR_VERSION_V1 0x00000100u
#define SEHDR_FIXED_LEN 0x1a0   /* magic .. tld: everything before the key slots */
#define SEHDR_SEA_V1 128        /* encrypted area without optional items */
#define SEHDR_TAG_LEN 16
#define SEHDR_MAX_LEN 8192      /* two pages: what the UV accepts for v1 */
#define SEHDR_MAX_KEYSLOTS 95   /* (8192 - 560) / 80 */
#define SEHDR_READ_MAX (1024 * 4096) /* readers' DoS guard */

/* Offsets of the plaintext fields. */
#define SEHDR_OFF_VERSION 0x08
#define SEHDR_OFF_SEHS 0x0c
#define SEHDR_OFF_IV 0x10
#define SEHDR_OFF_NKS 0x20
#define SEHDR_OFF_SEA 0x28
#define SEHDR_OFF_NEP 0x30
#define SEHDR_OFF_PCF 0x38
#define SEHDR_OFF_CUST_PUB 0x40
#define SEHDR_OFF_PLD 0xe0
#define SEHDR_OFF_ALD 0x120
#define SEHDR_OFF_TLD 0x160
#define SEHDR_OFF_KEYSLOTS 0x1a0

/* Plaintext control flags (PCF), MSB0 bit numbers of spec §2.5. */
#define PCF_ALLOW_DUMP (1ull << (63 - 34))
#define PCF_NO_COMP_ENCRYPTION (1ull << (63 - 35))
#define PCF_PCKMO_DEA_TDEA (1ull << (63 - 56))
#define PCF_PCKMO_AES (1ull << (63 - 57))
#define PCF_PCKMO_ECC (1ull << (63 - 58))
#define PCF_PCKMO_HMAC (1ull << (63 - 59))
#define PCF_BACKUP_KEYS (1ull << (63 - 62))
#define PCF_PCKMO_DEFAULT (PCF_PCKMO_DEA_TDEA | PCF_PCKMO_AES | PCF_PCKMO_ECC)
#define PCF_KNOWN (PCF_ALLOW_DUMP | PCF_NO_COMP_ENCRYPTION | PCF_PCKMO_DEFAULT | \
		   PCF_PCKMO_HMAC | PCF_BACKUP_KEYS)
/* Secret control flags (SCF). */
#define SCF_CCK_EXTENSION_SECRET (1ull << (63 - 1))
#define SCF_CCK_UPDATE (1ull << (63 - 2))
#define SCF_KNOWN (SCF_CCK_EXTENSION_SECRET | SCF_CCK_UPDATE)

#define PSW_MASK_EA 0x0000000100000000ull
#define PSW_MASK_BA 0x0000000080000000ull
#define PSW_MASK_DEFAULT (PSW_MASK_EA | PSW_MASK_BA)

/* The confidential part (encrypted area, spec §2.4). */
struct sehdr_secrets {
	uint8_t cck[32];
	uint8_t xts_key[64];
	uint64_t psw_mask;
	uint64_t psw_addr;
	uint64_t scf;
	uint32_t noi;
};

/* Everything the builder needs; every random input is explicit so tests can fix it. */
struct sehdr_params {
	EVP_PKEY *cust;           /* customer key pair (fresh per header) */
	EVP_PKEY *const *hosts;   /* host public keys, one key slot each */
	size_t n_hosts;
	uint8_t iv[12];
	uint8_t hdr_key[32];      /* header protection key */
	uint64_t nep;
	uint64_t pcf;
	uint8_t pld[64], ald[64], tld[64];
	struct sehdr_secrets sec;
};

/* A parsed header: plaintext fields and pointers into the caller's buffer. */
struct sehdr {
	const uint8_t *raw;
	uint32_t version;
	uint32_t sehs;
	uint8_t iv[12];
	uint64_t nks, sea, nep, pcf;
	const uint8_t *cust_pub;  /* 160 bytes */
	const uint8_t *pld, *ald, *tld;
	const uint8_t *keyslots;  /* nks * 80 bytes */
	const uint8_t *enc;       /* sea bytes */
	const uint8_t *tag;       /* 16 bytes */
};

/* The size of a header with n_hosts key slots. */
size_t pvk_sehdr_size(size_t n_hosts);
/* Build and encrypt a header; *out is malloc'd (pvk_sehdr_size bytes). */
int pvk_sehdr_build(const struct sehdr_params *p, uint8_t **out, size_t *len, struct pvk_err *e);
/* Parse and sanity-check the plaintext part of a header of len bytes (len >= sehs). */
int pvk_sehdr_parse(const uint8_t *buf, size_t len, struct sehdr *h, struct pvk_err *e);
/* pvk_sehdr_parse for viewers: also takes 0 key slots and an encrypted area of any size up to
 * the header's (IBM's pvimg info prints those); only sizes that do not add up are refused. */
int pvk_sehdr_parse_view(const uint8_t *buf, size_t len, struct sehdr *h, struct pvk_err *e);
/* Authenticate and decrypt the encrypted area with the header protection key. */
int pvk_sehdr_decrypt(const struct sehdr *h, const uint8_t hdr_key[32], struct sehdr_secrets *out,
		  struct pvk_err *e);
/* The UV side: find the key slot of host_priv and unwrap the header protection key.
 * Fails with PVK_E_UV and the UV's rc/rrc (no slot, invalid customer key). */
int pvk_sehdr_unwrap_key(const struct sehdr *h, EVP_PKEY *host_priv, uint8_t hdr_key[32],
		     struct pvk_err *e);

/* Locate a header in a file (spec §2.8): metadata block at 0xC000, else the magic at each
 * page start up to 0x14000. On success *buf holds sehs bytes (malloc'd), *off the file offset. */
int pvk_sehdr_read_file(const char *path, uint8_t **buf, size_t *len, uint64_t *off,
		    struct pvk_err *e);

#endif
