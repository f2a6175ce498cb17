// SPDX-License-Identifier: MIT
#include <string.h>
#include <sys/socket.h>

#include "pvkit/bytes.h"
#include "pvkit/uvproto.h"

void pvk_uvproto_req_encode(const struct uvproto_req *r, uint8_t hdr[UVPROTO_REQ_HDR])
{
	memcpy(hdr, UVPROTO_MAGIC, 4);
	put_be32(hdr + 4, UVPROTO_VERSION);
	put_be32(hdr + 8, r->nr);
	put_be32(hdr + 12, r->flags);
	put_be32(hdr + 16, r->in_len);
	put_be32(hdr + 20, r->out_cap);
}

int pvk_uvproto_req_decode(const uint8_t hdr[UVPROTO_REQ_HDR], struct uvproto_req *r,
		       struct pvk_err *e)
{
	if (memcmp(hdr, UVPROTO_MAGIC, 4))
		return pvk_fail(e, PVK_E_FORMAT, "uvsim request: bad magic");
	if (get_be32(hdr + 4) != UVPROTO_VERSION)
		return pvk_fail(e, PVK_E_FORMAT, "uvsim request: unsupported version %u",
				get_be32(hdr + 4));
	r->nr = get_be32(hdr + 8);
	r->flags = get_be32(hdr + 12);
	r->in_len = get_be32(hdr + 16);
	r->out_cap = get_be32(hdr + 20);
	if (r->in_len > UVPROTO_MAX_BODY || r->out_cap > UVPROTO_MAX_BODY)
		return pvk_fail(e, PVK_E_FORMAT, "uvsim request: body too large");
	return 0;
}

void pvk_uvproto_rsp_encode(const struct uvproto_rsp *r, uint8_t hdr[UVPROTO_RSP_HDR])
{
	memcpy(hdr, UVPROTO_MAGIC, 4);
	put_be32(hdr + 4, r->err);
	put_be16(hdr + 8, r->uv_rc);
	put_be16(hdr + 10, r->uv_rrc);
	put_be32(hdr + 12, r->out_len);
}

int pvk_uvproto_rsp_decode(const uint8_t hdr[UVPROTO_RSP_HDR], struct uvproto_rsp *r,
		       struct pvk_err *e)
{
	if (memcmp(hdr, UVPROTO_MAGIC, 4))
		return pvk_fail(e, PVK_E_FORMAT, "uvsim response: bad magic");
	r->err = get_be32(hdr + 4);
	r->uv_rc = get_be16(hdr + 8);
	r->uv_rrc = get_be16(hdr + 10);
	r->out_len = get_be32(hdr + 12);
	if (r->out_len > UVPROTO_MAX_BODY)
		return pvk_fail(e, PVK_E_FORMAT, "uvsim response: body too large");
	return 0;
}
