/* SPDX-License-Identifier: MIT */
/* Ultravisor return / reason codes of image unpacking (spec §1.7) as the UV reports them
 * and stage3a prints them. Codes marked pvkit are our choice where IBM documents none. */
#ifndef PVKIT_UVRC_H
#define PVKIT_UVRC_H

#define UV_RC_OK 0x0001

#define UV_RC_DIGEST 0x0102          /* unpack verify: a digest or the page count differ */
#define UV_RRC_ALD 0x001a
#define UV_RRC_PLD 0x001b
#define UV_RRC_TLD 0x001c
#define UV_RRC_NEP 0x001d

#define UV_RC_HDR_VERSION 0x0104
#define UV_RRC_HDR_VERSION 0x0001

#define UV_RC_PCF 0x0106
#define UV_RRC_PCF 0x0030

#define UV_RC_HOSTKEY 0x0108
#define UV_RRC_HOSTKEY_HASH 0x0005
#define UV_RRC_CUST_KEY 0x000b
#define UV_RRC_BACKUP_HASH 0x0034

#define UV_RC_SCF 0x0109
#define UV_RRC_SCF 0x0000

#define UV_RC_HDR 0x010a
#define UV_RRC_HDR_LEN 0x0031
#define UV_RRC_SEA 0x0039
#define UV_RRC_NO_KEYSLOT 0x0040
/* pvkit: the header's GCM tag does not verify (the UV's code is not public). */
#define UV_RRC_HDR_TAG 0x0041
/* pvkit: the IPIB lists components out of order, overlapping or unaligned. */
#define UV_RRC_COMPONENTS 0x0042

#endif
