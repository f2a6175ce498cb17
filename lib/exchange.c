// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "pvkit/bytes.h"
#include "pvkit/exchange.h"

static const uint32_t exch_max[EXCH_N] = { EXCH_MAX_ARCB, EXCH_MAX_MEAS, EXCH_MAX_ADD,
					   EXCH_MAX_USER, EXCH_CUID_LEN };
static const char *const exch_name[EXCH_N] = { "attestation request", "measurement",
					       "additional data", "user data", "CUID" };

int pvk_exch_write(const struct exch *x, uint8_t **out, size_t *len, struct pvk_err *e)
{
	size_t total = EXCH_HDR_LEN, off;
	uint8_t *b;

	*out = NULL;
	for (int i = 0; i < EXCH_N; i++) {
		if (x->it[i].size > exch_max[i])
			return pvk_fail(e, PVK_E_USAGE, "%s of %u bytes (at most %u)", exch_name[i],
					x->it[i].size, exch_max[i]);
		if (x->it[i].data)
			total += x->it[i].size;
	}
	b = calloc(1, total);
	if (!b)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(b, EXCH_MAGIC, 8);
	put_be32(b + 8, EXCH_VERSION_V1);
	put_be32(b + 12, (uint32_t)total);
	off = EXCH_HDR_LEN;
	for (int i = 0; i < EXCH_N; i++) {
		uint8_t *ent = b + 0x18 + 8 * i;

		put_be32(ent, x->it[i].size);
		if (x->it[i].data && x->it[i].size) {
			put_be32(ent + 4, (uint32_t)off);
			memcpy(b + off, x->it[i].data, x->it[i].size);
			off += x->it[i].size;
		}
	}
	*out = b;
	*len = total;
	return 0;
}

int pvk_exch_parse(const uint8_t *buf, size_t len, struct exch *x, struct pvk_err *e)
{
	uint32_t size, version;

	memset(x, 0, sizeof(*x));
	if (len < EXCH_HDR_LEN || memcmp(buf, EXCH_MAGIC, 8))
		return pvk_fail(e, PVK_E_FORMAT, "not a pvattest exchange file (magic 'pvattest' missing)");
	version = get_be32(buf + 8);
	if (version != EXCH_VERSION_V1)
		return pvk_fail(e, PVK_E_FORMAT, "unsupported exchange format version 0x%08x", version);
	size = get_be32(buf + 12);
	if (size > len || size < EXCH_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "exchange file truncated: header says %u bytes, file has %zu",
				size, len);
	for (int i = 0; i < EXCH_N; i++) {
		uint32_t s = get_be32(buf + 0x18 + 8 * i), o = get_be32(buf + 0x1c + 8 * i);

		if (s > exch_max[i])
			return pvk_fail(e, PVK_E_FORMAT, "exchange file: %s of %u bytes (at most %u)",
					exch_name[i], s, exch_max[i]);
		x->it[i].size = s;
		if (!s || !o)
			continue;
		if ((uint64_t)o + s > size || o < EXCH_HDR_LEN)
			return pvk_fail(e, PVK_E_FORMAT, "exchange file: %s at 0x%x+%u outside the file",
					exch_name[i], o, s);
		x->it[i].data = buf + o;
	}
	if (!x->it[EXCH_ARCB].data)
		return pvk_fail(e, PVK_E_FORMAT, "exchange file holds no attestation request");
	return 0;
}

int pvk_exch_check_response(const struct exch *x, struct pvk_err *e)
{
	if (!x->it[EXCH_MEAS].data)
		return pvk_fail(e, PVK_E_FORMAT, "exchange file holds no measurement: not an attestation response");
	if (!x->it[EXCH_CUID].data || x->it[EXCH_CUID].size != EXCH_CUID_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "exchange file holds no 16-byte CUID: not an attestation response");
	return 0;
}
