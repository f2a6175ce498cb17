/* SPDX-License-Identifier: MIT */
/* Helpers shared by the cmocka tests: IBM's vectors from ../shared, skipped when absent. */
#ifndef PVKIT_TESTUTIL_H
#define PVKIT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>

/* Full path of a conformance file (relative to s390-tools-v2.40.0/), or NULL if the
 * conformance folder is absent. The returned string is static, valid until the next call. */
const char *conf_path(const char *rel);
/* Read a conformance file; calls cmocka skip() when the folder is absent. */
uint8_t *conf_read(const char *rel, size_t *len);
/* Skip the current test when IBM's vectors are absent (a user's fresh clone). */
void conf_require(void);
/* Load the certificate's public key (PEM or DER) from a conformance file. */
EVP_PKEY *conf_cert_pubkey(const char *rel);
/* Load a PEM private key from a conformance file. */
EVP_PKEY *conf_privkey(const char *rel);
/* The fixed customer key of IBM's vectors (keys/private_cust.bin). */
EVP_PKEY *conf_cust_key(void);
/* A fresh temporary directory for the test (removed by the caller with rm_rf). */
char *tmpdir_make(void);
void rm_rf(const char *path);

#endif
