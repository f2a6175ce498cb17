// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/keyslot.h"

static const uint8_t zero_iv[PVK_GCM_IV_LEN];

int pvk_keyslot_build(EVP_PKEY *cust_priv, EVP_PKEY *host_pub, const uint8_t prot_key[32],
		  uint8_t slot[PVK_KEYSLOT_LEN], struct pvk_err *e)
{
	uint8_t kek[32];
	int rc;

	if (pvk_ec_phkh(host_pub, slot + PVK_KEYSLOT_PHKH_OFF, e) ||
	    pvk_ecdh_slot_key(cust_priv, host_pub, kek, e))
		return -1;
	rc = pvk_gcm_encrypt(kek, zero_iv, NULL, 0, prot_key, 32, slot + PVK_KEYSLOT_WRPK_OFF,
			     slot + PVK_KEYSLOT_KST_OFF, e);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

int pvk_keyslot_unwrap(EVP_PKEY *host_priv, EVP_PKEY *cust_pub, const uint8_t slot[PVK_KEYSLOT_LEN],
		   uint8_t prot_key[32], struct pvk_err *e)
{
	uint8_t kek[32];
	int rc;

	if (pvk_ecdh_slot_key(host_priv, cust_pub, kek, e))
		return -1;
	rc = pvk_gcm_decrypt(kek, zero_iv, NULL, 0, slot + PVK_KEYSLOT_WRPK_OFF, 32, prot_key,
			     slot + PVK_KEYSLOT_KST_OFF, e);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (rc)
		return pvk_fail(e, PVK_E_AUTH, "key slot does not decrypt with this host key");
	return 0;
}

int pvk_keyslot_find(const uint8_t *slots, uint64_t nks, const uint8_t phkh[32])
{
	for (uint64_t i = 0; i < nks; i++)
		if (!memcmp(slots + i * PVK_KEYSLOT_LEN + PVK_KEYSLOT_PHKH_OFF, phkh, 32))
			return (int)i;
	return -1;
}

int pvk_keyslot_hashes_read(const char *path, uint8_t (**hashes)[32], size_t *n,
			    struct pvk_err *e)
{
	uint8_t *buf, (*h)[32];
	size_t len, cnt = 0;
	char *line, *save = NULL;
	int rc = 0;

	if (pvk_file_read_all(path, 1 << 20, &buf, &len, e))
		return -1;
	h = calloc(len / 64 + 1, 32);
	if (!h) {
		free(buf);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = 0;
		if (cnt > len / 64 || pvk_hex_decode(line, h[cnt], 32)) {
			rc = pvk_fail(e, PVK_E_FORMAT,
				      "%s: line %zu is not a 64-digit host-key hash", path, cnt + 1);
			break;
		}
		cnt++;
	}
	free(buf);
	if (!rc && cnt < 15)
		rc = pvk_fail(e, PVK_E_FORMAT, "%s: %zu host-key hashes, at least 15 lines expected",
			      path, cnt);
	if (rc) {
		free(h);
		return -1;
	}
	*hashes = h;
	*n = cnt;
	return 0;
}
