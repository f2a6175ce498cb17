/* SPDX-License-Identifier: MIT */
/* The 80-byte key slot shared by the SE header, the ARCB and the ASRCB (spec §2.2). */
#ifndef PVKIT_KEYSLOT_H
#define PVKIT_KEYSLOT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define PVK_KEYSLOT_LEN 80
#define PVK_KEYSLOT_PHKH_OFF 0
#define PVK_KEYSLOT_WRPK_OFF 32
#define PVK_KEYSLOT_KST_OFF 64

/* Wrap the 32-byte protection key for host: phkh || GCM(slot key, 0-IV, key) || tag. */
int pvk_keyslot_build(EVP_PKEY *cust_priv, EVP_PKEY *host_pub, const uint8_t prot_key[32],
		  uint8_t slot[PVK_KEYSLOT_LEN], struct pvk_err *e);
/* The UV side: unwrap with the host private key and the request's customer public key. */
int pvk_keyslot_unwrap(EVP_PKEY *host_priv, EVP_PKEY *cust_pub, const uint8_t slot[PVK_KEYSLOT_LEN],
		   uint8_t prot_key[32], struct pvk_err *e);
/* Index of the slot whose phkh equals phkh, or -1. */
int pvk_keyslot_find(const uint8_t *slots, uint64_t nks, const uint8_t phkh[32]);

/* Read a host-key hashes file (the UV's /sys/firmware/uv/keys/all: at least 15 lines of 64
 * hex digits; line 1 the host key, line 2 the backup key). *hashes (malloc'd, *n entries)
 * is set only on success. */
int pvk_keyslot_hashes_read(const char *path, uint8_t (**hashes)[32], size_t *n,
			    struct pvk_err *e);

#endif
