/* SPDX-License-Identifier: MIT */
/* pvattest-agent's side of pvattestd's API (service/openapi.yaml), inside a secure guest:
 * ask for a challenge for this guest's image, have the UV perform it with user data binding
 * a fresh X25519 key, post the response, open the released secrets with that key.
 * Transport failures and 503s are retried until the deadline; the response is posted with
 * one Idempotency-Key for all its tries, so a retry after a lost answer gets that answer
 * instead of a refusal as a replay. */
#ifndef PVKIT_AGENT_H
#define PVKIT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"
#include "pvkit/log.h"
#include "pvkit/release.h"

struct pvk_agent_opts {
	const char *url;         /* the service's base URL (http://HOST:PORT) */
	const char *via;         /* NULL, or the virtio-serial port to reach it (pvk_vport_open) */
	const char *image;       /* the image's registered name */
	const uint8_t *host;     /* the host's 32-byte public host-key hash, or NULL: any host
				  * of the policy */
	long timeout_s;          /* for the whole run (0: 60) */
};

struct pvk_agent_result {
	char *attestation;       /* the attestation's id (the challenge's) */
	char *cuid;              /* the guest's configuration unique ID (hex) */
	char *token;             /* the signed attestation token (JWT) */
	struct pvk_release_secret *secrets;
	size_t n_secrets;
	int refused_status;      /* the HTTP status of a refusal */
};

/* 0 verified (r filled; free with pvk_agent_result_free), 1 refused by the service (e says
 * why, r->refused_status how), -1 an error (the UV, the channel, a malformed answer). */
int pvk_agent_attest(const struct pvk_agent_opts *o, struct pvk_agent_result *r,
		     const struct pvk_log *log, struct pvk_err *e);
void pvk_agent_result_free(struct pvk_agent_result *r);

#endif
