/* SPDX-License-Identifier: MIT */
/* The guest's secret store, through a UV device (spec §6.4-6.6): what pvsecret add, list,
 * lock and retrieve do, with the ultravisor's refusals turned into errors that name the
 * command and say what the return code means. */
#ifndef PVKIT_SECSTORE_H
#define PVKIT_SECSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "pvkit/err.h"
#include "pvkit/log.h"
#include "pvkit/secret.h"
#include "pvkit/uvdev.h"

enum pvk_secstore_cmd {
	PVK_SECSTORE_ADD,
	PVK_SECSTORE_LIST,
	PVK_SECSTORE_LOCK,
	PVK_SECSTORE_RETRIEVE,
};

/* What the ultravisor's return code rc means for cmd ("unknown return code" if nothing). */
const char *pvk_secstore_rc_text(enum pvk_secstore_cmd cmd, uint16_t rc);

/* Read the store's list into *l (free with pvk_secret_list_free): four pages, one page on a
 * device that takes only one (an info note says so); a list longer than that is a warning.
 * cmd ("list", "add", ...) starts the error message. */
int pvk_secstore_list(struct uvdev *d, const char *cmd, const struct pvk_log *log,
		      struct secret_list *l, struct pvk_err *e);

/* Submit the add-secret request read from path ("-": standard input). A secret with the same
 * ID already in the store is refused unless force (a warning either way). */
int pvk_secstore_add(struct uvdev *d, const char *path, int force, const struct pvk_log *log,
		     struct pvk_err *e);

/* Lock the store: the ultravisor refuses every later add-secret request. */
int pvk_secstore_lock(struct uvdev *d, struct pvk_err *e);

/* How pvsecret retrieve's INPUT names a secret. */
enum pvk_secstore_by {
	PVK_SECSTORE_BY_YAML,   /* a secret description file (NAME.yaml) */
	PVK_SECSTORE_BY_HEX,    /* 0x and 64 hex digits */
	PVK_SECSTORE_BY_NAME,   /* the name (its SHA-256, or the name itself as the ID) */
	PVK_SECSTORE_BY_IDX,    /* the index in the store */
};
/* "yaml", "hex", "name", "idx"; -1 for anything else. */
int pvk_secstore_by_parse(const char *s);

/* The entry of l that input names (a warning lists the indices when several have its ID).
 * *out points into l. */
int pvk_secstore_find(const struct secret_list *l, enum pvk_secstore_by by, const char *input,
		      const struct pvk_log *log, const struct secret_entry **out,
		      struct pvk_err *e);

/* Retrieve entry s of the store: as PEM, or raw (bin; a plaintext secret without its length
 * prefix). *out is malloc'd secret material: free it with pvk_buf_free_secret(*out, *len). */
int pvk_secstore_retrieve(struct uvdev *d, const struct secret_entry *s, int bin,
			  const struct pvk_log *log, uint8_t **out, size_t *len,
			  struct pvk_err *e);

#endif
