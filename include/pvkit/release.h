/* SPDX-License-Identifier: MIT */
/* Secret release by pvattestd (service/): the secrets a verified guest receives, encrypted to
 * an ephemeral X25519 key of the guest's agent, and the attestation user data that binds that
 * key to the measurement. Both ends of the envelope are here: the service seals, the agent
 * opens.
 *
 * User data (40 bytes): "PVKAGNT1" || SHA-256(the agent's raw 32-byte X25519 public key).
 * Envelope (a JSON object): {"alg": "X25519-HKDF-SHA512-A256GCM", "epk": b64(service's
 * ephemeral public key), "iv": b64(12), "ct": b64, "tag": b64(16)}. The key is
 * HKDF-SHA512(ikm = X25519 shared secret, salt = agent pub || epk, info = "pvattestd release
 * v1" || context) and the context (the challenge's id) is also the GCM AAD, so an envelope
 * opens only for the attestation it was made for. The plaintext is "PVKREL01", a big-endian
 * u32 count, then per secret a u16 name length, the name, a u32 value length, the value. */
#ifndef PVKIT_RELEASE_H
#define PVKIT_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"

#define PVK_RELEASE_ALG "X25519-HKDF-SHA512-A256GCM"
#define PVK_RELEASE_PUB_LEN 32
#define PVK_RELEASE_BIND_LEN 40
#define PVK_RELEASE_MAX_SECRETS 64
#define PVK_RELEASE_NAME_MAX 64
#define PVK_RELEASE_VALUE_MAX 65536

struct json_object;

struct pvk_release_secret {
	char *name;      /* [A-Za-z0-9._-], 1..64 characters */
	uint8_t *value;  /* wiped by pvk_release_secrets_free */
	size_t len;
};

/* A fresh X25519 key of the agent and its raw public key. */
int pvk_release_keygen(EVP_PKEY **key, uint8_t pub[PVK_RELEASE_PUB_LEN], struct pvk_err *e);
/* The user data that binds pub. */
void pvk_release_binding(const uint8_t pub[PVK_RELEASE_PUB_LEN],
			 uint8_t out[PVK_RELEASE_BIND_LEN]);
/* 1 if user (len bytes) is the binding of pub (compared in constant time), else 0. */
int pvk_release_is_bound(const uint8_t *user, size_t len,
			 const uint8_t pub[PVK_RELEASE_PUB_LEN]);
/* 1 if name is a valid secret name. */
int pvk_release_name_ok(const char *name);
/* Seal n secrets to pub for context ctx: *env is a new JSON object (put it). */
int pvk_release_seal(const uint8_t pub[PVK_RELEASE_PUB_LEN], const char *ctx,
		     const struct pvk_release_secret *s, size_t n, struct json_object **env,
		     struct pvk_err *e);
/* Open env with the agent's key for context ctx: *s is a malloc'd array of *n secrets.
 * PVK_E_AUTH when it does not decrypt, PVK_E_FORMAT when malformed; name is used in
 * messages. */
int pvk_release_open(EVP_PKEY *key, const char *ctx, struct json_object *env, const char *name,
		     struct pvk_release_secret **s, size_t *n, struct pvk_err *e);
void pvk_release_secrets_free(struct pvk_release_secret *s, size_t n);

#endif
