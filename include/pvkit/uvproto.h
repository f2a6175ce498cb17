/* SPDX-License-Identifier: MIT */
/* pvkit's wire format between the uvsim backend of the UV device layer and a uvsim guest
 * endpoint (a Unix stream socket). One request, one response, all fields big-endian:
 *
 *   request  "PVUV" | version u32 = 1 | nr u32 | flags u32 | in_len u32 | out_cap u32 | in
 *   response "PVUV" | err u32 (0 or an errno) | uv_rc u16 | uv_rrc u16 | out_len u32 | out
 *
 * err mirrors what the kernel driver returns before or instead of calling the UV (EINVAL for
 * bad lengths or flags, ENOTTY for unknown commands); uv_rc/uv_rrc are the UV's answer.
 * Per command (spec §6):
 *   INFO  in: -                                    out: supp_uvio u64, supp_uv u64
 *   ATT   in: arcb_len u32 | meas_len u32 | add_len u32 | user_len u16 | 0 u16 |
 *             user_data[256] | arcb                out: meas | add_ret u32 | add | cuid[16]
 *   ADD   in: request                              out: -
 *   LIST  in: buf_len u32                          out: buf_len bytes
 *   LOCK  in: -                                    out: -
 *   RETR  in: buffer (index in its first 2 bytes)  out: buffer
 *
 * Not a UV command: SYNC (nr UVPROTO_NR_SYNC, in: a 16-byte nonce, out_cap 16) is answered by
 * the endpoint itself with err 0, uv_rc 1, uv_rrc 0 and the nonce. A client sharing one long
 * stream with earlier clients (a virtio-serial port) sends it and skips everything up to the
 * 32 bytes of its answer: from there on, answers are to its own requests.
 */
#ifndef PVKIT_UVPROTO_H
#define PVKIT_UVPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"
#include "pvkit/fileio.h"

#define UVPROTO_MAGIC "PVUV"
#define UVPROTO_VERSION 1
#define UVPROTO_REQ_HDR 24
#define UVPROTO_RSP_HDR 16
#define UVPROTO_NR_SYNC 0x53594e43u   /* "SYNC" */
#define UVPROTO_SYNC_LEN 16
#define UVPROTO_ATT_FIXED (4 + 4 + 4 + 2 + 2 + 256)
/* Largest body either side sends: an ARCB or ASRCB of 1 MiB plus the fixed attest part. */
#define UVPROTO_MAX_BODY (0x100000u + UVPROTO_ATT_FIXED)

struct uvproto_req {
	uint32_t nr, flags, in_len, out_cap;
};

struct uvproto_rsp {
	uint32_t err;
	uint16_t uv_rc, uv_rrc;
	uint32_t out_len;
};

/* The fixed request and response headers of the uvsim wire protocol (encode, and decode
 * with their limits checked). */
void pvk_uvproto_req_encode(const struct uvproto_req *r, uint8_t hdr[UVPROTO_REQ_HDR]);
int pvk_uvproto_req_decode(const uint8_t hdr[UVPROTO_REQ_HDR], struct uvproto_req *r,
		       struct pvk_err *e);
void pvk_uvproto_rsp_encode(const struct uvproto_rsp *r, uint8_t hdr[UVPROTO_RSP_HDR]);
int pvk_uvproto_rsp_decode(const uint8_t hdr[UVPROTO_RSP_HDR], struct uvproto_rsp *r,
		       struct pvk_err *e);

/* Full reads and writes on a socket; read_full fails on EOF before len bytes. */

#endif
