// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "pvkit/crypto.h"

int pvk_random(uint8_t *buf, size_t len, struct pvk_err *e)
{
	if (len && RAND_bytes(buf, (int)len) != 1)
		return pvk_fail_ssl(e, "cannot get random bytes");
	return 0;
}

void pvk_sha256(const void *in, size_t len, uint8_t out[PVK_SHA256_LEN])
{
	EVP_Digest(in, len, out, NULL, EVP_sha256(), NULL);
}

void pvk_sha512(const void *in, size_t len, uint8_t out[PVK_SHA512_LEN])
{
	EVP_Digest(in, len, out, NULL, EVP_sha512(), NULL);
}

int pvk_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

static int gcm_run(int enc, const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16],
		   struct pvk_err *e)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, ok = 0;

	if (!ctx)
		return pvk_fail_ssl(e, "cannot create a cipher context");
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, PVK_GCM_IV_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PVK_GCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		if (!enc) {
			OPENSSL_cleanse(out, len);
			return pvk_fail(e, PVK_E_AUTH, "AES-GCM tag mismatch");
		}
		return pvk_fail_ssl(e, "AES-GCM encryption failed");
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PVK_GCM_TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return pvk_fail_ssl(e, "AES-GCM operation failed");
	return 0;
}

int pvk_gcm_encrypt(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16],
		    struct pvk_err *e)
{
	return gcm_run(1, key, iv, aad, aad_len, in, len, out, tag, e);
}

int pvk_gcm_decrypt(const uint8_t key[32], const uint8_t iv[12], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
		    const uint8_t tag[16], struct pvk_err *e)
{
	uint8_t t[PVK_GCM_TAG_LEN];

	memcpy(t, tag, sizeof(t));
	return gcm_run(0, key, iv, aad, aad_len, in, len, out, t, e);
}

int pvk_xts_init(struct pvk_xts *x, const uint8_t key[64], int enc, struct pvk_err *e)
{
	memset(x, 0, sizeof(*x));
	if (!memcmp(key, key + 32, 32))
		return pvk_fail(e, PVK_E_FORMAT, "invalid AES-XTS key: both halves are equal");
	x->cipher = EVP_CIPHER_fetch(NULL, "AES-256-XTS", NULL);
	x->ctx = EVP_CIPHER_CTX_new();
	x->enc = enc;
	if (!x->cipher || !x->ctx ||
	    EVP_CipherInit_ex(x->ctx, x->cipher, NULL, key, NULL, enc) != 1) {
		pvk_xts_free(x);
		return pvk_fail_ssl(e, "cannot set up AES-256-XTS");
	}
	return 0;
}

int pvk_xts_page(struct pvk_xts *x, const uint8_t tweak[16], const uint8_t *in, uint8_t *out,
		 size_t len, struct pvk_err *e)
{
	int n;

	if (EVP_CipherInit_ex(x->ctx, NULL, NULL, NULL, tweak, x->enc) != 1 ||
	    EVP_CipherUpdate(x->ctx, out, &n, in, (int)len) != 1)
		return pvk_fail_ssl(e, "AES-256-XTS failed");
	return 0;
}

void pvk_xts_free(struct pvk_xts *x)
{
	EVP_CIPHER_CTX_free(x->ctx);
	EVP_CIPHER_free(x->cipher);
	x->ctx = NULL;
	x->cipher = NULL;
}

int pvk_ec_generate(EVP_PKEY **out, struct pvk_err *e)
{
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	if (!*out)
		return pvk_fail_ssl(e, "cannot generate a P-521 key");
	return 0;
}

static int ec_fromdata(const uint8_t *pub, size_t pub_len, const BIGNUM *priv, EVP_PKEY **out,
		       struct pvk_err *e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = -1;

	*out = NULL;
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-521", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) ||
	    (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	if (rc)
		return pvk_fail_ssl(e, "invalid P-521 key");
	return 0;
}

int pvk_ec_from_scalar(const uint8_t *scalar, size_t len, EVP_PKEY **out, struct pvk_err *e)
{
	EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_secp521r1);
	EC_POINT *pt = NULL;
	BIGNUM *d = BN_bin2bn(scalar, (int)len, NULL);
	uint8_t pub[1 + 2 * PVK_P521_BYTES];
	int rc = -1;

	*out = NULL;
	if (!grp || !d)
		goto out;
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0) {
		rc = pvk_fail(e, PVK_E_FORMAT, "P-521 private scalar out of range");
		goto done;
	}
	pt = EC_POINT_new(grp);
	if (!pt || EC_POINT_mul(grp, pt, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL) !=
		    sizeof(pub))
		goto out;
	rc = ec_fromdata(pub, sizeof(pub), d, out, e);
	goto done;
out:
	pvk_fail_ssl(e, "cannot derive a P-521 public key");
done:
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	BN_clear_free(d);
	return rc;
}

int pvk_ec_from_coords(const uint8_t coords[PVK_EC_PUB_LEN], EVP_PKEY **out, struct pvk_err *e)
{
	static const uint8_t zero[PVK_EC_COORD_LEN - PVK_P521_BYTES];
	const size_t pad = sizeof(zero);
	uint8_t pub[1 + 2 * PVK_P521_BYTES];

	*out = NULL;
	if (memcmp(coords, zero, pad) || memcmp(coords + PVK_EC_COORD_LEN, zero, pad))
		return pvk_fail(e, PVK_E_FORMAT, "invalid P-521 coordinates (padding not zero)");
	pub[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(pub + 1, coords + pad, PVK_P521_BYTES);
	memcpy(pub + 1 + PVK_P521_BYTES, coords + PVK_EC_COORD_LEN + pad, PVK_P521_BYTES);
	return ec_fromdata(pub, sizeof(pub), NULL, out, e);
}

int pvk_key_check_pair(EVP_PKEY *key, const char *what, struct pvk_err *e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	int ok;

	if (!ctx)
		return pvk_fail_ssl(e, "%s: cannot check the key", what);
	/* A private part that does not belong to the public one signs what nobody can verify. */
	ok = EVP_PKEY_pairwise_check(ctx);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (ok == 1 || ok == -2)  /* -2: the key type has no such check */
		return 0;
	return pvk_fail(e, PVK_E_FORMAT,
			"%s: inconsistent private key (its private part does not match its public key)",
			what);
}

int pvk_ec_is_p521(EVP_PKEY *key)
{
	char name[64];

	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					   NULL) != 1)
		return 0;
	return !strcmp(name, "P-521") || !strcmp(name, "secp521r1");
}

int pvk_ec_coords(EVP_PKEY *key, uint8_t out[PVK_EC_PUB_LEN], struct pvk_err *e)
{
	BIGNUM *x = NULL, *y = NULL;
	int rc = -1;

	if (!pvk_ec_is_p521(key))
		return pvk_fail(e, PVK_E_FORMAT, "key is not an EC P-521 key");
	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, out, PVK_EC_COORD_LEN) != PVK_EC_COORD_LEN ||
	    BN_bn2binpad(y, out + PVK_EC_COORD_LEN, PVK_EC_COORD_LEN) != PVK_EC_COORD_LEN)
		pvk_fail_ssl(e, "cannot read the P-521 public key coordinates");
	else
		rc = 0;
	BN_free(x);
	BN_free(y);
	return rc;
}

int pvk_ec_scalar(EVP_PKEY *key, uint8_t out[PVK_EC_COORD_LEN], struct pvk_err *e)
{
	BIGNUM *d = NULL;
	int rc = 0;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, out, PVK_EC_COORD_LEN) != PVK_EC_COORD_LEN)
		rc = pvk_fail_ssl(e, "cannot read the P-521 private key");
	BN_clear_free(d);
	return rc;
}

int pvk_ecdh_slot_key(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t key[32], struct pvk_err *e)
{
	static const uint8_t counter[4] = { 0, 0, 0, 1 };
	uint8_t z[PVK_P521_BYTES + 4];
	size_t zlen = PVK_P521_BYTES;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	int ok;

	/* The peer is checked to be a point of the curve, not the point at infinity. OpenSSL's
	 * own peer check also multiplies it by the group order, which costs as much as the
	 * derivation and proves nothing more on P-521: its cofactor is 1, so every point of the
	 * curve is in the prime-order group. */
	ok = ctx && chk && EVP_PKEY_public_check_quick(chk) == 1 && EVP_PKEY_derive_init(ctx) == 1 &&
	     EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 && EVP_PKEY_derive(ctx, z, &zlen) == 1 &&
	     zlen == PVK_P521_BYTES;
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(z, sizeof(z));
		return pvk_fail_ssl(e, "ECDH key derivation failed");
	}
	memcpy(z + PVK_P521_BYTES, counter, sizeof(counter));
	pvk_sha256(z, sizeof(z), key);
	OPENSSL_cleanse(z, sizeof(z));
	return 0;
}

int pvk_ec_phkh(EVP_PKEY *key, uint8_t out[PVK_SHA256_LEN], struct pvk_err *e)
{
	uint8_t coords[PVK_EC_PUB_LEN];

	if (pvk_ec_coords(key, coords, e))
		return -1;
	pvk_sha256(coords, sizeof(coords), out);
	return 0;
}

int pvk_hkdf_sha512(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		    const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len,
		    struct pvk_err *e)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA512", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	if (!ok)
		return pvk_fail_ssl(e, "HKDF-SHA512 failed");
	return 0;
}

int pvk_pem_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}
