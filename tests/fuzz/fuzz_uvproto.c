// SPDX-License-Identifier: MIT
/* uvsim's wire format: the first 24 input bytes as a request header, the next 16 as a
 * response header (zero-padded). A decoded header must encode to the same bytes. */
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/uvproto.h"

static void write_seeds(void)
{
	struct uvproto_req rq = { .nr = 1, .flags = 0, .in_len = 0x1000, .out_cap = 0x2000 };
	struct uvproto_rsp rs = { .err = 0, .uv_rc = 1, .uv_rrc = 0, .out_len = 0x100 };
	uint8_t buf[UVPROTO_REQ_HDR + UVPROTO_RSP_HDR];

	pvk_uvproto_req_encode(&rq, buf);
	pvk_uvproto_rsp_encode(&rs, buf + UVPROTO_REQ_HDR);
	fuzz_seed("req-rsp", buf, sizeof(buf));
	rq.in_len = UVPROTO_MAX_BODY;
	rs.err = 22;
	rs.out_len = UVPROTO_MAX_BODY;
	pvk_uvproto_req_encode(&rq, buf);
	pvk_uvproto_rsp_encode(&rs, buf + UVPROTO_REQ_HDR);
	fuzz_seed("req-rsp-max", buf, sizeof(buf));
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[UVPROTO_REQ_HDR + UVPROTO_RSP_HDR], enc[UVPROTO_REQ_HDR];
	struct uvproto_req rq;
	struct uvproto_rsp rs;
	struct pvk_err e;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	if (!pvk_uvproto_req_decode(buf, &rq, &e)) {
		FUZZ_CHECK(rq.in_len <= UVPROTO_MAX_BODY && rq.out_cap <= UVPROTO_MAX_BODY);
		pvk_uvproto_req_encode(&rq, enc);
		FUZZ_CHECK(!memcmp(enc, buf, UVPROTO_REQ_HDR));
	} else {
		FUZZ_CHECK(e.code == PVK_E_FORMAT);
	}
	if (!pvk_uvproto_rsp_decode(buf + UVPROTO_REQ_HDR, &rs, &e)) {
		FUZZ_CHECK(rs.out_len <= UVPROTO_MAX_BODY);
		pvk_uvproto_rsp_encode(&rs, enc);
		FUZZ_CHECK(!memcmp(enc, buf + UVPROTO_REQ_HDR, UVPROTO_RSP_HDR));
	} else {
		FUZZ_CHECK(e.code == PVK_E_FORMAT);
	}
	return 0;
}
