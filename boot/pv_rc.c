// SPDX-License-Identifier: MIT
#include <stddef.h>

#include "pv_rc.h"
#include "pvkit/uvrc.h"

struct pv_rc_text {
	uint16_t rc;
	uint16_t rrc;
	const char *text;
};

/*
 * The ultravisor codes a user can act on (spec §1.7); anything else is printed
 * raw. pvkit's own simulator codes are left out: a real UV never returns them.
 */
static const struct pv_rc_text pv_rc_texts[] = {
	{ UV_RC_DIGEST, UV_RRC_ALD, "Address list digest (ALD) mismatch" },
	{ UV_RC_DIGEST, UV_RRC_PLD, "Page list digest (PLD) mismatch" },
	{ UV_RC_DIGEST, UV_RRC_TLD, "Tweak list digest (TLD) mismatch" },
	{ UV_RC_DIGEST, UV_RRC_NEP, "Number of encrypted pages (NEP) mismatch" },
	{ UV_RC_HDR_VERSION, UV_RRC_HDR_VERSION, "Secure Execution header version mismatch" },
	{ UV_RC_PCF, UV_RRC_PCF, "Unsupported plaintext control flag (PCF) bit set" },
	{ UV_RC_HOSTKEY, UV_RRC_HOSTKEY_HASH,
	  "Host-key hash mismatch: the image was not built for a key of this host" },
	{ UV_RC_HOSTKEY, UV_RRC_CUST_KEY,
	  "Invalid customer ECDH public key in the Secure Execution header" },
	{ UV_RC_HOSTKEY, UV_RRC_BACKUP_HASH,
	  "Backup host-key hash mismatch: the image was not built for a key of this host" },
	{ UV_RC_SCF, UV_RRC_SCF, "Unsupported secret control flag (SCF) bit set" },
	{ UV_RC_HDR, UV_RRC_HDR_LEN, "Secure Execution header length mismatch" },
	{ UV_RC_HDR, UV_RRC_SEA, "Invalid size of the encrypted area of the Secure Execution header" },
	{ UV_RC_HDR, UV_RRC_NO_KEYSLOT, "No host-key slot in the Secure Execution header" },
};

struct pv_unpack_result pv_unpack_result_split(uint64_t reg)
{
	struct pv_unpack_result r = {
		.pv_cmd = (uint16_t)(reg >> 48),
		.pv_rrc = (uint16_t)(reg >> 32),
		.pv_rc = (uint16_t)(reg >> 16),
		.diag_rc = (uint16_t)reg,
	};

	return r;
}

const char *pv_rc_message(uint16_t pv_rc, uint16_t pv_rrc)
{
	size_t i;

	for (i = 0; i < sizeof(pv_rc_texts) / sizeof(pv_rc_texts[0]); i++)
		if (pv_rc_texts[i].rc == pv_rc && pv_rc_texts[i].rrc == pv_rrc)
			return pv_rc_texts[i].text;
	return NULL;
}

const char *pv_cmd_name(uint16_t pv_cmd)
{
	switch (pv_cmd) {
	case 2:
		return "KVM_PV_SET_SEC_PARMS";
	case 3:
		return "KVM_PV_UNPACK";
	case 4:
		return "KVM_PV_VERIFY";
	default:
		return "unknown command";
	}
}
