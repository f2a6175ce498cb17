/* SPDX-License-Identifier: MIT */
/* The crypto primitives of the SE formats, over OpenSSL 3 EVP. */
#ifndef PVKIT_CRYPTO_H
#define PVKIT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define PVK_AES256_KEY_LEN 32
#define PVK_XTS_KEY_LEN 64
#define PVK_GCM_IV_LEN 12
#define PVK_GCM_TAG_LEN 16
#define PVK_XTS_TWEAK_LEN 16
#define PVK_SHA256_LEN 32
#define PVK_SHA512_LEN 64
#define PVK_EC_COORD_LEN 80           /* one P-521 coordinate, left-padded to 80 bytes */
#define PVK_EC_PUB_LEN (2 * PVK_EC_COORD_LEN) /* X || Y */
#define PVK_P521_BYTES 66

/* len bytes from OpenSSL's DRBG; the digests of in. */
int pvk_random(uint8_t *buf, size_t len, struct pvk_err *e);
void pvk_sha256(const void *in, size_t len, uint8_t out[PVK_SHA256_LEN]);
void pvk_sha512(const void *in, size_t len, uint8_t out[PVK_SHA512_LEN]);
/* Constant-time equality (tags, digests, measurements). 1 if equal. */
int pvk_ct_equal(const void *a, const void *b, size_t len);

/* AES-256-GCM, 12-byte IV, 16-byte tag. in and out may be the same buffer. */
int pvk_gcm_encrypt(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16],
		    struct pvk_err *e);
/* Fails with PVK_E_AUTH when the tag does not verify; out is wiped then. */
int pvk_gcm_decrypt(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
		    const uint8_t tag[16], struct pvk_err *e);

/* AES-256-XTS for 4096-byte pages; one context reused for every page. */
struct pvk_xts {
	EVP_CIPHER_CTX *ctx;
	EVP_CIPHER *cipher;
	int enc;
};
int pvk_xts_init(struct pvk_xts *x, const uint8_t key[64], int enc, struct pvk_err *e);
int pvk_xts_page(struct pvk_xts *x, const uint8_t tweak[16], const uint8_t *in, uint8_t *out,
		 size_t len, struct pvk_err *e);
void pvk_xts_free(struct pvk_xts *x);

/* P-521 keys. */
int pvk_ec_generate(EVP_PKEY **out, struct pvk_err *e);
/* Private key from an 80-byte (or 66-byte) big-endian scalar; derives the public point. */
int pvk_ec_from_scalar(const uint8_t *scalar, size_t len, EVP_PKEY **out, struct pvk_err *e);
/* Public key from the 160-byte X||Y coordinate encoding. */
int pvk_ec_from_coords(const uint8_t coords[PVK_EC_PUB_LEN], EVP_PKEY **out, struct pvk_err *e);
/* The 160-byte X||Y coordinate encoding of a P-521 key. */
int pvk_ec_coords(EVP_PKEY *key, uint8_t out[PVK_EC_PUB_LEN], struct pvk_err *e);
/* 1 if key is an EC key on P-521. */
int pvk_ec_is_p521(EVP_PKEY *key);
/* Refuse a private key whose private and public parts do not match (PVK_E_FORMAT, naming
 * what). */
int pvk_key_check_pair(EVP_PKEY *key, const char *what, struct pvk_err *e);
/* The 80-byte private scalar (for state files of the simulator). */
int pvk_ec_scalar(EVP_PKEY *key, uint8_t out[PVK_EC_COORD_LEN], struct pvk_err *e);
/* ECDH(priv, peer) then SHA-256(Z || 00 00 00 01): the slot key of §2.3. */
int pvk_ecdh_slot_key(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t key[32], struct pvk_err *e);
/* SHA-256 over the coordinate encoding: the public host-key hash (phkh). */
int pvk_ec_phkh(EVP_PKEY *key, uint8_t out[PVK_SHA256_LEN], struct pvk_err *e);

/* A PEM password callback that never prompts: encrypted keys fail instead of reading the
 * terminal (tools run unattended in scripts). */
int pvk_pem_no_password(char *buf, int size, int rwflag, void *u);

/* HKDF-SHA512 (RFC 5869). */
int pvk_hkdf_sha512(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len,
		    struct pvk_err *e);

#endif
