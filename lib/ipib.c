// SPDX-License-Identifier: MIT
/* The IPL parameter block of type PV (spec §1.9), written after stage3b. */
#include <string.h>

#include "pvkit/bytes.h"
#include "pvkit/image.h"

size_t pvk_ipib_size(uint32_t n)
{
	return IPIB_HDR_LEN + (size_t)IPIB_COMP_LEN * n;
}

void pvk_ipib_encode(const struct seimg_ipib *ip, uint8_t *out)
{
	size_t len = pvk_ipib_size(ip->num_comp);

	memset(out, 0, len);
	put_be32(out, (uint32_t)len);
	out[7] = 1;                           /* IPL parameter block version */
	put_be32(out + 0x08, (uint32_t)(len - 8));
	out[0x0c] = IPIB_PBT_PV;
	out[0x6f] = 1;                        /* PV block version */
	put_be32(out + IPIB_OFF_NUM_COMP, ip->num_comp);
	put_be64(out + IPIB_OFF_HDR_ADDR, ip->hdr_addr);
	put_be64(out + IPIB_OFF_HDR_SIZE, ip->hdr_size);
	for (uint32_t i = 0; i < ip->num_comp; i++) {
		uint8_t *c = out + IPIB_OFF_COMPS + (size_t)i * IPIB_COMP_LEN;

		put_be64(c, ip->comps[i].tweak_pref);
		put_be64(c + 8, ip->comps[i].addr);
		put_be64(c + 16, ip->comps[i].len);
	}
}

int pvk_ipib_decode(const uint8_t *buf, size_t len, struct seimg_ipib *ip, struct pvk_err *e)
{
	uint32_t total, n;

	memset(ip, 0, sizeof(*ip));
	if (len < IPIB_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "IPIB truncated");
	total = get_be32(buf);
	n = get_be32(buf + IPIB_OFF_NUM_COMP);
	if (buf[0x0c] != IPIB_PBT_PV)
		return pvk_fail(e, PVK_E_FORMAT, "IPIB is not of type PV (pbt %u)", buf[0x0c]);
	if (n == 0 || n > IPIB_MAX_COMPS)
		return pvk_fail(e, PVK_E_FORMAT, "IPIB lists %u components", n);
	if (total < pvk_ipib_size(n) || len < pvk_ipib_size(n))
		return pvk_fail(e, PVK_E_FORMAT, "IPIB length %u too small for %u components", total, n);
	ip->num_comp = n;
	ip->hdr_addr = get_be64(buf + IPIB_OFF_HDR_ADDR);
	ip->hdr_size = get_be64(buf + IPIB_OFF_HDR_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *c = buf + IPIB_OFF_COMPS + (size_t)i * IPIB_COMP_LEN;

		ip->comps[i].tweak_pref = get_be64(c);
		ip->comps[i].addr = get_be64(c + 8);
		ip->comps[i].len = get_be64(c + 16);
	}
	return 0;
}
