// SPDX-License-Identifier: MIT
/* The attestation token: a JWT signed with ES256 by libjwt. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"

#include "pvattestd.h"

struct token_signer {
	uint8_t *pem;     /* the private key as libjwt takes it */
	size_t pem_len;
	char *pub_pem;
};

int token_signer_load(const char *path, struct token_signer **out, struct pvk_err *e)
{
	struct token_signer *s = calloc(1, sizeof(*s));
	EVP_PKEY *k = NULL;
	BIO *b = NULL, *pb = NULL;
	char *data;
	long n;
	int rc = -1;

	*out = NULL;
	if (!s)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (pvk_file_read_all(path, 65536, &s->pem, &s->pem_len, e))
		goto out;
	/* Checked here, so a wrong key stops the start, not the first attestation. */
	if (!(b = BIO_new_mem_buf(s->pem, (int)s->pem_len)) ||
	    !(k = PEM_read_bio_PrivateKey(b, NULL, pvk_pem_no_password, NULL))) {
		pvk_fail(e, PVK_E_FORMAT, "%s: not a PEM private key", path);
		goto out;
	}
	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256) {
		pvk_fail(e, PVK_E_FORMAT, "%s: the token key must be EC P-256 (ES256)", path);
		goto out;
	}
	if (!(pb = BIO_new(BIO_s_mem())) || !PEM_write_bio_PUBKEY(pb, k) ||
	    (n = BIO_get_mem_data(pb, &data)) <= 0 || !(s->pub_pem = strndup(data, (size_t)n))) {
		pvk_fail_ssl(e, "%s: cannot write the public key", path);
		goto out;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	EVP_PKEY_free(k);
	BIO_free(b);
	BIO_free(pb);
	token_signer_free(s);
	return rc;
}

void token_signer_free(struct token_signer *s)
{
	if (!s)
		return;
	if (s->pem)
		pvk_buf_free_secret(s->pem, s->pem_len);
	free(s->pub_pem);
	free(s);
}

const char *token_signer_public_pem(const struct token_signer *s)
{
	return s->pub_pem;
}

int token_sign(struct token_signer *s, json_object *claims, const char *issuer, long ttl,
	       char **out, struct pvk_err *e)
{
	time_t now = time(NULL);
	jwt_t *j = NULL;
	int rc = -1;

	*out = NULL;
	json_object_object_add(claims, "iss", json_object_new_string(issuer));
	json_object_object_add(claims, "iat", json_object_new_int64((int64_t)now));
	json_object_object_add(claims, "exp", json_object_new_int64((int64_t)now + ttl));
	if (jwt_new(&j) || jwt_add_grants_json(j, json_object_to_json_string_ext(claims,
			   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) ||
	    jwt_set_alg(j, JWT_ALG_ES256, s->pem, (int)s->pem_len) || !(*out = jwt_encode_str(j))) {
		pvk_fail(e, PVK_E_CRYPTO, "cannot sign the attestation token");
		goto out;
	}
	rc = 0;
out:
	jwt_free(j);
	return rc;
}
