// SPDX-License-Identifier: MIT
/* pvattestd's request parsers on untrusted bytes (service/api.c): the first byte picks the
 * parser (register, challenge, attestation), the rest is the body. A body is taken with every
 * field within its limits, or refused with a reason; nothing leaks either way. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvattestd.h"
#include "pvkit/attest.h"
#include "pvkit/sehdr.h"

static const char seed_challenge[] = "{\"image\": \"web\", \"host\": "
	"\"b1c8da946f99daa642b0e9aa6324c77984fe516fc7a5289ad6bc27f47332460b\"}";
static const char seed_attestation[] = "{\"challenge\": \"0123456789abcdef0123456789abcdef\", "
	"\"response\": \"cHZhdHRlc3Q=\", \"agent_key\": "
	"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}";
static const char seed_register[] = "{\"header\": \"SUJNU2VjRXg=\", \"policy\": {\"hosts\": "
	"[\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"], "
	"\"additional_data\": [\"phkh-img\", \"secret-store-hash\"], \"secret_store\": {\"tags\": "
	"[\"00112233445566778899aabbccddeeff\"], \"locked\": true}, \"user_data\": \"agent-key\", "
	"\"challenge_ttl\": 60}, \"secrets\": [{\"name\": \"luks\", \"value\": \"c2VjcmV0\"}]}";

static void seed(const char *name, char kind, const char *body)
{
	size_t n = strlen(body);
	char *b = malloc(n + 1);

	FUZZ_CHECK(b);
	b[0] = kind;
	memcpy(b + 1, body, n);
	fuzz_seed(name, b, n + 1);
	free(b);
}

static void write_seeds(void)
{
	seed("register.json", 'r', seed_register);
	seed("challenge.json", 'c', seed_challenge);
	seed("attestation.json", 'a', seed_attestation);
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char why[300];

	if (!size)
		return 0;
	why[0] = 0;
	switch (data[0] % 3) {
	case 0: {
		struct api_register r;

		if (api_parse_register(body, len, &r, why, sizeof(why))) {
			FUZZ_CHECK(why[0] && !r.root && !r.header);
			return 0;
		}
		FUZZ_CHECK(r.root && r.header_len <= SEHDR_MAX_LEN);
		FUZZ_CHECK(r.n_hosts >= 1 && r.n_hosts <= PVATTESTD_MAX_LIST);
		for (size_t i = 0; i < r.n_hosts; i++)
			FUZZ_CHECK(strstr(r.hosts[i], "-----BEGIN CERTIFICATE-----"));
		FUZZ_CHECK(r.n_secrets <= PVATTESTD_MAX_LIST && r.n_store_tags <= PVATTESTD_MAX_LIST);
		for (size_t i = 0; i < r.n_secrets; i++)
			FUZZ_CHECK(pvk_release_name_ok(r.secret_names[i]) &&
				   r.secret_lens[i] <= PVK_RELEASE_VALUE_MAX);
		FUZZ_CHECK(r.challenge_ttl >= 0 && r.challenge_ttl <= 86400);
		api_register_free(&r);
		break;
	}
	case 1: {
		struct api_challenge r;

		if (api_parse_challenge(body, len, &r, why, sizeof(why))) {
			FUZZ_CHECK(why[0] && !r.root);
			return 0;
		}
		FUZZ_CHECK(r.image && strlen(r.image) <= 128);
		api_challenge_free(&r);
		break;
	}
	default: {
		struct api_attestation r;

		if (api_parse_attestation(body, len, &r, why, sizeof(why))) {
			FUZZ_CHECK(why[0] && !r.root && !r.response);
			return 0;
		}
		FUZZ_CHECK(r.challenge && strlen(r.challenge) <= 64);
		FUZZ_CHECK(r.response_len <= PVK_ATTEST_FILE_MAX);
		api_attestation_free(&r);
		break;
	}
	}
	return 0;
}
