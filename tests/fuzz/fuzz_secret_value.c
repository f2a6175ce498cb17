// SPDX-License-Identifier: MIT
/* Secret values: byte 0 picks the --secret input kind (plain, aes, aes-xts, hmac-sha, ec; 5:
 * a user-data certificate instead), bytes 1-2 a secret type for the retrieve output; the
 * rest is the file or the retrieved buffer. An encoded value must have the length the UV
 * expects for its type; plaintext must unwrap to the input. */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "fuzz_common.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/secret.h"

static void seed3(const char *name, uint8_t kind, uint16_t type, const void *d, size_t n)
{
	uint8_t *b = malloc(n + 3);

	b[0] = kind;
	put_be16(b + 1, type);
	memcpy(b + 3, d, n);
	fuzz_seed(name, b, n + 3);
	free(b);
}

static void seed_key(const char *name, EVP_PKEY *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (!bio || !k || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1)
		abort();
	n = BIO_get_mem_data(bio, &p);
	seed3(name, SECRET_IN_EC, SECRET_EC_P521, p, (size_t)n);
	BIO_free(bio);
}

static void write_seeds(void)
{
	uint8_t buf[128], *enc;
	size_t n;
	struct pvk_err e;
	EVP_PKEY *k;

	memset(buf, 0x61, sizeof(buf));
	seed3("plain", SECRET_IN_PLAIN, SECRET_PLAINTEXT, "hello", 5);
	seed3("aes", SECRET_IN_AES, SECRET_AES_256, buf, 32);
	seed3("xts", SECRET_IN_AES_XTS, SECRET_AES_XTS_256, buf, 64);
	seed3("hmac", SECRET_IN_HMAC_SHA, SECRET_HMAC_SHA_512, buf, 128);
	if (pvk_secret_encode_plaintext(buf, 20, &enc, &n, &e))
		abort();
	seed3("retrieved-plain", 0, SECRET_PLAINTEXT, enc, n);
	free(enc);
	seed_key("ec-p521", fuzz_key("pvkit-fuzz-user"));
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	seed_key("ec-p256", k);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	seed_key("ed25519", k);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	seed_key("ed448", k);
	EVP_PKEY_free(k);
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t kind, *out;
	uint16_t type, rtype;
	struct pvk_err e;
	size_t out_len, plen;
	char *pem, text[SECRET_ID_LEN], disp[SECRET_ID_DISPLAY_MAX];
	EVP_PKEY *key;

	if (size < 3)
		return 0;
	kind = data[0];
	rtype = get_be16(data + 1);
	data += 3;
	size -= 3;

	if (kind == 5) {
		if (!pvk_secret_load_cert_key(data, size, "cert", &key, &e)) {
			(void)pvk_asrcb_user_type_for_key(key, &e);
			EVP_PKEY_free(key);
		}
	} else if (!pvk_secret_encode_value((enum secret_input_kind)kind, data, size, "secret", &type,
					&out, &out_len, &e)) {
		FUZZ_CHECK(kind <= SECRET_IN_EC);
		if (type == SECRET_PLAINTEXT) {
			FUZZ_CHECK(out_len % 16 == 0 && pvk_secret_plaintext_unwrap(out, out_len, &plen));
			FUZZ_CHECK(plen == size && !memcmp(out + 2, data, size));
		} else {
			FUZZ_CHECK(pvk_secret_type_len(type) > 0 && (size_t)pvk_secret_type_len(type) == out_len);
		}
		pvk_buf_free_secret(out, out_len);
	}

	if (pvk_secret_plaintext_unwrap(data, size, &plen))
		FUZZ_CHECK(plen + 2 <= size && size - plen - 2 < 16);
	if (!pvk_secret_retrieved_pem(rtype, data, size, &pem, &out_len, &e)) {
		FUZZ_CHECK(strlen(pem) == out_len);
		free(pem);
	}
	if (size >= SECRET_ID_LEN) {
		if (pvk_secret_id_ascii(data, text))
			FUZZ_CHECK(strlen(text) < SECRET_ID_LEN);
		pvk_secret_id_display(data, disp);
	}
	return 0;
}
