// SPDX-License-Identifier: MIT
/* The secret-release envelope of pvattestd (release.h has the layout). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/release.h"

static const char bind_magic[8] = "PVKAGNT1";
static const char pt_magic[8] = "PVKREL01";
static const char info_prefix[] = "pvattestd release v1";

int pvk_release_keygen(EVP_PKEY **key, uint8_t pub[PVK_RELEASE_PUB_LEN], struct pvk_err *e)
{
	size_t len = PVK_RELEASE_PUB_LEN;

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (!*key)
		return pvk_fail_ssl(e, "cannot make an X25519 key");
	if (!EVP_PKEY_get_raw_public_key(*key, pub, &len) || len != PVK_RELEASE_PUB_LEN) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return pvk_fail_ssl(e, "cannot read the X25519 public key");
	}
	return 0;
}

void pvk_release_binding(const uint8_t pub[PVK_RELEASE_PUB_LEN],
			 uint8_t out[PVK_RELEASE_BIND_LEN])
{
	memcpy(out, bind_magic, 8);
	pvk_sha256(pub, PVK_RELEASE_PUB_LEN, out + 8);
}

int pvk_release_is_bound(const uint8_t *user, size_t len,
			 const uint8_t pub[PVK_RELEASE_PUB_LEN])
{
	uint8_t want[PVK_RELEASE_BIND_LEN];

	if (!user || len != PVK_RELEASE_BIND_LEN)
		return 0;
	pvk_release_binding(pub, want);
	return pvk_ct_equal(user, want, PVK_RELEASE_BIND_LEN);
}

int pvk_release_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PVK_RELEASE_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* X25519(mine, peer) through HKDF-SHA512 to the AES key. */
static int derive(EVP_PKEY *mine, const uint8_t peer_raw[32], const uint8_t agent_pub[32],
		  const uint8_t epk[32], const char *ctx, uint8_t key[32], struct pvk_err *e)
{
	uint8_t z[32], salt[64], *info;
	size_t zlen = sizeof(z), clen = strlen(ctx), ilen = sizeof(info_prefix) - 1 + clen;
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_raw, 32);
	EVP_PKEY_CTX *dc = NULL;
	int rc = -1;

	if (!peer)
		return pvk_fail_ssl(e, "not an X25519 public key");
	if (!(info = malloc(ilen))) {
		EVP_PKEY_free(peer);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	memcpy(info, info_prefix, sizeof(info_prefix) - 1);
	memcpy(info + sizeof(info_prefix) - 1, ctx, clen);
	memcpy(salt, agent_pub, 32);
	memcpy(salt + 32, epk, 32);
	if (!(dc = EVP_PKEY_CTX_new(mine, NULL)) || EVP_PKEY_derive_init(dc) <= 0 ||
	    EVP_PKEY_derive_set_peer(dc, peer) <= 0 || EVP_PKEY_derive(dc, z, &zlen) <= 0 ||
	    zlen != 32) {
		pvk_fail_ssl(e, "X25519 key agreement failed");
		goto out;
	}
	rc = pvk_hkdf_sha512(z, 32, salt, 64, info, ilen, key, 32, e);
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(peer);
	free(info);
	return rc;
}

static void add_b64(json_object *o, const char *k, const uint8_t *p, size_t n)
{
	char *b = pvk_b64_encode(p, n);

	json_object_object_add(o, k, json_object_new_string(b ? b : ""));
	free(b);
}

int pvk_release_seal(const uint8_t pub[PVK_RELEASE_PUB_LEN], const char *ctx,
		     const struct pvk_release_secret *s, size_t n, json_object **env,
		     struct pvk_err *e)
{
	uint8_t key[32], iv[12], tag[16], epk[32], *pt = NULL;
	size_t len = 12, off;
	EVP_PKEY *eph = NULL;
	int rc = -1;

	*env = NULL;
	if (n > PVK_RELEASE_MAX_SECRETS)
		return pvk_fail(e, PVK_E_FORMAT, "more than %d secrets", PVK_RELEASE_MAX_SECRETS);
	for (size_t i = 0; i < n; i++)
		len += 6 + strlen(s[i].name) + s[i].len;
	if (!(pt = malloc(len)))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(pt, pt_magic, 8);
	put_be32(pt + 8, (uint32_t)n);
	off = 12;
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(s[i].name);

		put_be16(pt + off, (uint16_t)nl);
		memcpy(pt + off + 2, s[i].name, nl);
		put_be32(pt + off + 2 + nl, (uint32_t)s[i].len);
		memcpy(pt + off + 6 + nl, s[i].value, s[i].len);
		off += 6 + nl + s[i].len;
	}
	if (pvk_release_keygen(&eph, epk, e) || derive(eph, pub, pub, epk, ctx, key, e) ||
	    pvk_random(iv, sizeof(iv), e) ||
	    pvk_gcm_encrypt(key, iv, (const uint8_t *)ctx, strlen(ctx), pt, len, pt, tag, e))
		goto out;
	*env = json_object_new_object();
	json_object_object_add(*env, "alg", json_object_new_string(PVK_RELEASE_ALG));
	add_b64(*env, "epk", epk, 32);
	add_b64(*env, "iv", iv, 12);
	add_b64(*env, "ct", pt, len);
	add_b64(*env, "tag", tag, 16);
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	pvk_buf_free_secret(pt, len);
	EVP_PKEY_free(eph);
	return rc;
}

/* A base64 member of exactly want bytes (want 0: any length up to max). */
static int get_b64(json_object *env, const char *k, size_t want, size_t max, uint8_t **out,
		   size_t *len, const char *name, struct pvk_err *e)
{
	json_object *v;

	if (!json_object_object_get_ex(env, k, &v) || !json_object_is_type(v, json_type_string))
		return pvk_fail(e, PVK_E_FORMAT, "%s: the secrets envelope has no '%s'", name, k);
	if (pvk_b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), out,
			   len) ||
	    (want && *len != want) || *len > max) {
		free(*out);
		*out = NULL;
		return pvk_fail(e, PVK_E_FORMAT, "%s: the secrets envelope's '%s' is not %s", name,
				k, want ? "the right size" : "valid base64");
	}
	return 0;
}

/* The plaintext's secrets, every length checked against what is left. */
static int parse_plain(const uint8_t *p, size_t len, struct pvk_release_secret **s, size_t *n,
		       const char *name, struct pvk_err *e)
{
	size_t off = 12, cnt;

	if (len < 12 || memcmp(p, pt_magic, 8) || (cnt = get_be32(p + 8)) > PVK_RELEASE_MAX_SECRETS)
		return pvk_fail(e, PVK_E_FORMAT, "%s: the secrets are not in pvkit's release format",
				name);
	if (!(*s = calloc(cnt + 1, sizeof(**s))))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	*n = 0;
	for (size_t i = 0; i < cnt; i++) {
		size_t nl, vl;
		struct pvk_release_secret *x = &(*s)[i];

		if (len - off < 2 || len - off - 2 < (nl = get_be16(p + off)) ||
		    len - off - 2 - nl < 4 ||
		    len - off - 6 - nl < (vl = get_be32(p + off + 2 + nl)))
			goto bad;
		if (!(x->name = strndup((const char *)p + off + 2, nl)) ||
		    !(x->value = malloc(vl ? vl : 1))) {
			*n = i + 1;
			pvk_release_secrets_free(*s, *n);
			*s = NULL;
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
		*n = i + 1;
		memcpy(x->value, p + off + 6 + nl, vl);
		x->len = vl;
		if (strlen(x->name) != nl || !pvk_release_name_ok(x->name))
			goto bad;
		off += 6 + nl + vl;
	}
	if (off == len)
		return 0;
bad:
	pvk_release_secrets_free(*s, *n);
	*s = NULL;
	*n = 0;
	return pvk_fail(e, PVK_E_FORMAT, "%s: the released secrets are malformed", name);
}

int pvk_release_open(EVP_PKEY *key, const char *ctx, json_object *env, const char *name,
		     struct pvk_release_secret **s, size_t *n, struct pvk_err *e)
{
	uint8_t *epk = NULL, *iv = NULL, *ct = NULL, *tag = NULL, k[32], pub[32];
	size_t l1, l2, ctlen = 0, l4, plen = sizeof(pub);
	json_object *alg;
	int rc = -1;

	*s = NULL;
	*n = 0;
	if (!json_object_is_type(env, json_type_object) ||
	    !json_object_object_get_ex(env, "alg", &alg) ||
	    strcmp(json_object_get_string(alg) ? json_object_get_string(alg) : "", PVK_RELEASE_ALG))
		return pvk_fail(e, PVK_E_FORMAT, "%s: the secrets envelope is not %s", name,
				PVK_RELEASE_ALG);
	if (get_b64(env, "epk", 32, 32, &epk, &l1, name, e) ||
	    get_b64(env, "iv", 12, 12, &iv, &l2, name, e) ||
	    get_b64(env, "ct", 0, 16 * 1024 * 1024, &ct, &ctlen, name, e) ||
	    get_b64(env, "tag", 16, 16, &tag, &l4, name, e))
		goto out;
	if (!EVP_PKEY_get_raw_public_key(key, pub, &plen)) {
		pvk_fail_ssl(e, "not an X25519 key");
		goto out;
	}
	if (derive(key, epk, pub, epk, ctx, k, e))
		goto out;
	if (pvk_gcm_decrypt(k, iv, (const uint8_t *)ctx, strlen(ctx), ct, ctlen, ct, tag, e)) {
		pvk_fail(e, PVK_E_AUTH, "%s: the secrets do not decrypt with this agent's key", name);
		goto out;
	}
	rc = parse_plain(ct, ctlen, s, n, name, e);
out:
	OPENSSL_cleanse(k, sizeof(k));
	if (ct)
		pvk_buf_free_secret(ct, ctlen);
	free(epk);
	free(iv);
	free(tag);
	return rc;
}

void pvk_release_secrets_free(struct pvk_release_secret *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		if (s[i].value)
			pvk_buf_free_secret(s[i].value, s[i].len);
	}
	free(s);
}
