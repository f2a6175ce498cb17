/* SPDX-License-Identifier: MIT */
/* pvsecret create: an add-secret request from the user's files (the secret, the target
 * image's header, CUID, extension secret, user data or policy, host-key documents). */
#ifndef PVKIT_SECREQ_H
#define PVKIT_SECREQ_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"
#include "pvkit/hostkey.h"

enum pvk_secreq_kind {
	PVK_SECREQ_META,      /* no secret: flags only */
	PVK_SECREQ_ASSOC,     /* a 32-byte association secret (random unless input_secret) */
	PVK_SECREQ_RETR,      /* a retrievable secret of the given type, from secret */
	PVK_SECREQ_CCK,       /* a new customer-communication key (32 bytes) from secret */
};

/* The inputs; paths are read, "-" is standard input where a file is read whole. */
struct pvk_secreq_args {
	struct pvk_cert_opts certs;   /* host-key documents and their verification */
	enum pvk_secreq_kind kind;
	const char *name;             /* the secret's name (association, retrievable) */
	int use_name;                 /* the ID is the name itself, not its SHA-256 */
	const char *hdr;              /* the target SE image or header */
	const char *input_secret;     /* association: the secret's file (else random) */
	const char *secret, *type;    /* retrievable/update-cck: the secret's file; its type */
	const char *ext_secret, *cck; /* the extension secret, or a CCK to derive it from */
	const char *cuid_hex, *cuid;  /* the target guest's CUID: hex, or a file that holds it */
	const char *pcf;              /* raw plaintext flags (hex) */
	int disable_dump;
	const char *user_data, *policy, *sign_key;
};

/* The request and what its outputs need. */
struct pvk_secreq {
	uint8_t *req;                 /* the request (malloc'd) */
	size_t req_len;
	uint8_t *value;               /* the secret (association: 32 bytes), or NULL */
	size_t value_len;
	uint16_t secret_type;
	uint8_t secret_id[32];
	char policy_hash[65];         /* SHA-256 of the policy file in hex, or "" */
};

typedef void (*pvk_secreq_warn_fn)(void *ctx, const char *msg);

/* Build the request a describes; warn (if not NULL) hears IBM's warnings (empty user data,
 * a dropped policy, no host-key verification). On success *r owns its buffers: free them
 * with pvk_secreq_free (which wipes the secret). */
int pvk_secreq_create(const struct pvk_secreq_args *a, pvk_secreq_warn_fn warn, void *ctx,
		      struct pvk_secreq *r, struct pvk_err *e);
void pvk_secreq_free(struct pvk_secreq *r);

/* Where pvk_secreq_write puts a request and what goes with it. */
struct pvk_secreq_out {
	const char *out;            /* the request; "-": standard output, after the others */
	const char *name;           /* association/retrievable: the secret's name (its
	                               description is made), else NULL */
	int desc_file;              /* write the description to NAME.yaml beside out */
	const char *output_secret;  /* the association secret's file (mode 0600), or NULL */
	const char *toc;            /* a file the request's tag (hex) is appended to, or NULL */
};

/* "meta", "association", "retrievable"/"retr", "update-cck"/"cck": the kind; -1 for
 * anything else. */
int pvk_secreq_kind_parse(const char *s);
/* A comma-separated list of request flags ("disable-dump"): 0, or -1 for an unknown one. */
int pvk_secreq_flags_parse(const char *arg, int *disable_dump);
/* The combinations pvsecret create refuses (spec §10.3), named by its options: a message
 * (a constant, or formatted into buf) or NULL when a and o go together. */
const char *pvk_secreq_args_check(const struct pvk_secreq_args *a,
				  const struct pvk_secreq_out *o, char *buf, size_t len);

/* What pvsecret verify --format json prints of a request whose user data (user_data,
 * user_len bytes) was verified: its user-data type, whether it is signed, the user data, the
 * secret's type and ID (null for none), the disable-dump flag, the CUID it is bound to (zero:
 * any guest) and the tag of the SE header it is for. *out is malloc'd. */
int pvk_secreq_describe_json(const uint8_t *req, size_t len, const uint8_t *user_data,
			     size_t user_len, char **out, size_t *out_len, struct pvk_err *e);

/* The description file's path for a request written to out: NAME.yaml in out's directory
 * (malloc'd; NULL when out of memory). */
char *pvk_secreq_desc_path(const char *out, const char *name);

/* Write the request and its companions all together or none of them (an earlier file of the
 * same name stays as it was). *desc_yaml gets the secret description (when o->name) and
 * *desc_path the file it went to (when o->desc_file); both malloc'd, else NULL. */
int pvk_secreq_write(const struct pvk_secreq *r, const struct pvk_secreq_out *o,
		     char **desc_path, char **desc_yaml, struct pvk_err *e);

#endif
