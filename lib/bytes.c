// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "pvkit/bytes.h"

/* Hex through OpenSSL's helpers; the SE formats' texts (IBM's tools) use lowercase. */
void pvk_hex_encode(const uint8_t *in, size_t len, char *out)
{
	out[0] = '\0';
	if (!len || !OPENSSL_buf2hexstr_ex(out, 2 * len + 1, NULL, in, len, '\0'))
		return;
	for (size_t i = 0; i < 2 * len; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

int pvk_hex_decode(const char *in, uint8_t *out, size_t len)
{
	size_t got = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	if (strlen(in) != 2 * len)
		return -1;
	if (!len)
		return 0;
	/* A bad digit is our error to report: OpenSSL's own leaves the queue as it was. */
	ERR_set_mark();
	if (OPENSSL_hexstr2buf_ex(out, len, &got, in, '\0') && got == len) {
		ERR_clear_last_mark();
		return 0;
	}
	ERR_pop_to_mark();
	return -1;
}

int pvk_parse_u64_hex(const char *s, uint64_t *out)
{
	size_t n;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n == 0 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return -1;
	*out = strtoull(s, &end, 16);
	return *end ? -1 : 0;
}

char *pvk_b64_encode(const uint8_t *in, size_t len)
{
	char *out;

	if (len > (size_t)INT32_MAX / 2 || !(out = malloc(4 * ((len + 2) / 3) + 1)))
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

int pvk_b64_decode(const char *in, size_t n, uint8_t **out, size_t *len)
{
	size_t pad = 0;
	uint8_t *buf;
	int got;

	*out = NULL;
	if (n % 4 || n > (size_t)INT32_MAX / 2)
		return -1;
	/* EVP_DecodeBlock skips white space and counts padding as zero bytes: refuse the
	 * first, take the second off. */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)in[i]) && in[i] != '+' && in[i] != '/' &&
		    !(in[i] == '=' && i >= n - 2))
			return -1;
	if (n && in[n - 1] == '=')
		pad = in[n - 2] == '=' ? 2 : 1;
	if (n >= 2 && in[n - 2] == '=' && in[n - 1] != '=')
		return -1;
	if (!(buf = malloc(n / 4 * 3 + 1)))
		return -1;
	got = n ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = (size_t)got - pad;
	return 0;
}
