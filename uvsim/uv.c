// SPDX-License-Identifier: MIT
/* The ultravisor's answers to a guest's /dev/uv requests, with the kernel driver's checks in
 * front (spec §6): an errno where the driver would refuse, else the UV's rc/rrc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvkit/bytes.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvproto.h"
#include "uvsim.h"

#define LIST_HDR 16
#define LIST_ENTRY 48
#define UV_RC_LOCKED 0x0102

uint64_t uvsim_supported_cmds(void)
{
	return 1ull << UVIO_NR_INFO | 1ull << UVIO_NR_LIST_SECRETS | 1ull << UVIO_NR_LOCK_SECRETS;
}

static void answer_rc(struct uvsim_answer *a, uint16_t rc, uint16_t rrc)
{
	a->rc = rc;
	a->rrc = rrc;
}

static int answer_alloc(struct uvsim_answer *a, uint32_t len)
{
	a->out = calloc(1, len ? len : 1);
	if (!a->out) {
		a->err = ENOMEM;
		return -1;
	}
	a->out_len = len;
	return 0;
}

static void do_info(const uint8_t *in, uint32_t in_len, uint32_t out_cap, struct uvsim_answer *a)
{
	(void)in;
	if (in_len || out_cap < 16) {
		a->err = EINVAL;
		return;
	}
	if (answer_alloc(a, 16))
		return;
	put_be64(a->out, uvsim_supported_cmds());
	put_be64(a->out + 8, uvsim_supported_cmds());
	answer_rc(a, UVC_RC_SUCCESS, 0);
}

static void do_list(struct uvsim_guest *g, const uint8_t *in, uint32_t in_len, uint32_t out_cap,
		    struct uvsim_answer *a)
{
	uint32_t len, fit, n;

	if (in_len != 4) {
		a->err = EINVAL;
		return;
	}
	len = get_be32(in);
	if (!len || len % UVIO_LIST_PAGE || len > out_cap || len > UVPROTO_MAX_BODY) {
		a->err = EINVAL;
		return;
	}
	if (answer_alloc(a, len))
		return;
	fit = (len - LIST_HDR) / LIST_ENTRY;
	n = g->n_secrets < fit ? g->n_secrets : fit;
	put_be16(a->out, (uint16_t)n);
	put_be16(a->out + 2, (uint16_t)g->n_secrets);
	put_be16(a->out + 4, (uint16_t)(n < g->n_secrets ? g->secrets[n].index : 0));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = a->out + LIST_HDR + i * LIST_ENTRY;

		put_be16(p, g->secrets[i].index);
		put_be16(p + 2, g->secrets[i].type);
		put_be32(p + 4, g->secrets[i].len);
		memcpy(p + 16, g->secrets[i].id, 32);
	}
	answer_rc(a, n < g->n_secrets ? UVC_RC_MORE_DATA : UVC_RC_SUCCESS, 0);
}

static void do_lock(struct uvsim_guest *g, uint32_t in_len, struct uvsim_answer *a)
{
	if (in_len) {
		a->err = EINVAL;
		return;
	}
	if (g->locked) {
		answer_rc(a, UV_RC_LOCKED, 0);
		return;
	}
	g->locked = 1;
	a->changed = 1;
	answer_rc(a, UVC_RC_SUCCESS, 0);
}

void uvsim_handle(struct uvsim_guest *g, uint32_t nr, uint32_t flags, const uint8_t *in,
		  uint32_t in_len, uint32_t out_cap, struct uvsim_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (nr > 63 || !(uvsim_supported_cmds() & (1ull << nr))) {
		a->err = ENOTTY;
		return;
	}
	if (flags) {
		a->err = EINVAL;
		return;
	}
	switch (nr) {
	case UVIO_NR_INFO:
		do_info(in, in_len, out_cap, a);
		break;
	case UVIO_NR_LIST_SECRETS:
		do_list(g, in, in_len, out_cap, a);
		break;
	case UVIO_NR_LOCK_SECRETS:
		do_lock(g, in_len, a);
		break;
	default:
		a->err = ENOTTY;
	}
}
