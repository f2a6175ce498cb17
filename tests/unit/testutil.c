// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "testutil.h"

const char *conf_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("PVKIT_CONFORMANCE_DIR");
	struct stat st;

	/* As in a user's clone without ../shared (scripts/test-all.sh's novectors stage). */
	if (getenv("PVKIT_TEST_NO_VECTORS"))
		return NULL;
	if (!dir || stat(dir, &st) || !S_ISDIR(st.st_mode))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return path;
}

void conf_require(void)
{
	if (!conf_path("")) {
		fprintf(stderr, "IBM conformance vectors not found (../shared absent): skipped\n");
		skip();
	}
}

uint8_t *conf_read(const char *rel, size_t *len)
{
	struct pvk_err e;
	uint8_t *buf;

	conf_require();
	if (pvk_file_read_all(conf_path(rel), 1 << 24, &buf, len, &e))
		fail_msg("%s", e.msg);
	return buf;
}

EVP_PKEY *conf_cert_pubkey(const char *rel)
{
	size_t len;
	uint8_t *buf = conf_read(rel, &len);
	const unsigned char *p = buf;
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *crt = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	EVP_PKEY *key;

	if (!crt)
		crt = d2i_X509(NULL, &p, (long)len);
	BIO_free(bio);
	free(buf);
	assert_non_null(crt);
	key = X509_get_pubkey(crt);
	X509_free(crt);
	assert_non_null(key);
	return key;
}

EVP_PKEY *conf_privkey(const char *rel)
{
	size_t len;
	uint8_t *buf = conf_read(rel, &len);
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	free(buf);
	assert_non_null(key);
	return key;
}

EVP_PKEY *conf_cust_key(void)
{
	struct pvk_err e;
	size_t len;
	uint8_t *raw = conf_read("rust/pv/tests/assets/keys/private_cust.bin", &len);
	EVP_PKEY *key;

	assert_int_equal(len, 80);
	if (pvk_ec_from_scalar(raw, len, &key, &e))
		fail_msg("%s", e.msg);
	free(raw);
	return key;
}

char *tmpdir_make(void)
{
	char *t = strdup("/tmp/pvkit-test.XXXXXX");

	assert_non_null(t);
	assert_non_null(mkdtemp(t));
	return t;
}

void rm_rf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", path);
}
