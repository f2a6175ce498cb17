// SPDX-License-Identifier: MIT
/* Secrets and attestation-request protection keys at rest: AES-256-GCM under the
 * key-encryption key, with the row they belong to as AAD, so a sealed value copied into
 * another row does not open. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "pvkit/crypto.h"
#include "pvkit/fileio.h"

#include "pvattestd.h"

int kek_load(const char *path, struct kek *k, struct pvk_err *e)
{
	struct stat st;

	if (stat(path, &st))
		return pvk_fail(e, PVK_E_IO, "%s: cannot read the key-encryption key: %s", path,
				strerror(errno));
	if (st.st_mode & 077)
		return pvk_fail(e, PVK_E_USAGE, "%s: the key-encryption key is readable by others "
				"(mode %04o; chmod 600)", path, (unsigned)(st.st_mode & 07777));
	return pvk_file_read_exact(path, k->key, sizeof(k->key), "key-encryption key", e);
}

void kek_wipe(struct kek *k)
{
	OPENSSL_cleanse(k->key, sizeof(k->key));
}

int kek_seal(const struct kek *k, const char *aad, const uint8_t *in, size_t len, uint8_t **out,
	     size_t *out_len, struct pvk_err *e)
{
	uint8_t *o = malloc(len + 28);

	if (!o)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (pvk_random(o, 12, e) ||
	    pvk_gcm_encrypt(k->key, o, (const uint8_t *)aad, strlen(aad), in, len, o + 12,
			    o + 12 + len, e)) {
		free(o);
		return -1;
	}
	*out = o;
	*out_len = len + 28;
	return 0;
}

int kek_open(const struct kek *k, const char *aad, const uint8_t *in, size_t len, uint8_t **out,
	     size_t *out_len, struct pvk_err *e)
{
	uint8_t *o;

	if (len < 28)
		return pvk_fail(e, PVK_E_FORMAT, "%s: the sealed value is truncated", aad);
	if (!(o = malloc(len - 28 + 1)))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (pvk_gcm_decrypt(k->key, in, (const uint8_t *)aad, strlen(aad), in + 12, len - 28, o,
			    in + len - 16, e)) {
		free(o);
		return pvk_fail(e, PVK_E_AUTH, "%s: the sealed value does not open with this "
				"key-encryption key (another KEK, or a changed row)", aad);
	}
	*out = o;
	*out_len = len - 28;
	return 0;
}
