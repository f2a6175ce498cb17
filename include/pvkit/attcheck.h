/* SPDX-License-Identifier: MIT */
/* pvattest check: policies on a verified attestation response, as IBM's pvattest checks
 * them, with its issue texts and YAML result document. */
#ifndef PVKIT_ATTCHECK_H
#define PVKIT_ATTCHECK_H

#include <stddef.h>

#include "pvkit/err.h"
#include "pvkit/hostkey.h"

#define PVK_ATTCHECK_MAX_SECRETS 64

/* What to check. Only what is given is checked. */
struct pvk_attcheck_args {
	const char *in;                 /* the verified response (exchange format); "-": stdin */
	const char *user;               /* a file the response's user data must equal, or NULL */
	struct pvk_cert_opts certs;     /* host-key documents: one must match each hash present */
	int need_att, need_boot;        /* the attestation / image host-key hash must be there */
	const char *secrets[PVK_ATTCHECK_MAX_SECRETS];  /* add-secret requests in the store */
	int n_secrets;
	int locked;                     /* the store's lock state; -1: no secret-store check */
	int firmware, fw_version;       /* ask IBM's service (v1 or v2) about the firmware state */
	const char *fw_url;             /* the service's base URL */
};

enum pvk_attcheck_note {
	PVK_ATTCHECK_FAILED,            /* a policy not met: the text */
	PVK_ATTCHECK_PASSED,            /* a policy met */
};
typedef void (*pvk_attcheck_log_fn)(void *ctx, enum pvk_attcheck_note kind, const char *msg);

/* Check the policies of a on the response in a->in; log (if not NULL) hears of each check
 * as it is made. On success *yaml (malloc'd, *yaml_len bytes) is the result document
 * (successful, issues, image_host_key, attest_host_key, user_data, secret_store,
 * valid_firmware) and the return is 0 when every policy is met, 2 when one is not; -1 with
 * e on an error (a file that cannot be read or parsed, the firmware service unreachable). */
int pvk_attcheck(struct pvk_attcheck_args *a, pvk_attcheck_log_fn log, void *log_ctx,
		 char **yaml, size_t *yaml_len, struct pvk_err *e);

/* pvk_attcheck with the result as JSON (the same members; pvkit's addition). */
int pvk_attcheck_json(struct pvk_attcheck_args *a, pvk_attcheck_log_fn log, void *log_ctx,
		      char **json, size_t *json_len, struct pvk_err *e);

/* --host-key-check: a comma-separated list of att-key-hash, boot-key-hash setting
 * *need_att and *need_boot; -1 for an unknown item. */
int pvk_attcheck_hkc_parse(const char *arg, int *need_att, int *need_boot);

#endif
