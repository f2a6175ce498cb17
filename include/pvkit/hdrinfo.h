/* SPDX-License-Identifier: MIT */
/* What `pvimg info` prints of an SE header: IBM's text layout (plain and full), its JSON
 * document (meta + data, schema "info-v1") and the schema itself. */
#ifndef PVKIT_HDRINFO_H
#define PVKIT_HDRINFO_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pvkit/err.h"
#include "pvkit/sehdr.h"

/* The three states of a printed header (the schema's oneOf). */
enum hdrinfo_state {
	HDRINFO_NOT_VERIFIED,  /* no header key: nothing authenticated */
	HDRINFO_VERIFIED,      /* authenticated with the header key, secrets not shown */
	HDRINFO_DECRYPTED,     /* authenticated, the encrypted area shown in plain */
};

/* Write the header as IBM's `pvimg info --format text` (full: text:full) does. sec is read
 * only in HDRINFO_DECRYPTED. Returns 0, or -1 with errno set by the stream. */
int pvk_hdrinfo_write_text(FILE *out, const struct sehdr *h, const struct sehdr_secrets *sec,
		       enum hdrinfo_state state, int full);

/* The metadata block of the JSON document. */
struct hdrinfo_meta {
	const char *version;  /* the tool's version */
	const char *host;     /* host name */
	time_t now;           /* time_epoch; time is printed as "%F %T%z" in UTC */
};

/* The JSON document, pretty (two-space indent, as serde_json) or minified, with no
 * escaped '/', ending in a newline. *out is malloc'd. */
int pvk_hdrinfo_json(const struct sehdr *h, const struct sehdr_secrets *sec, enum hdrinfo_state state,
		 const struct hdrinfo_meta *meta, int minify, char **out, struct pvk_err *e);

/* pvkit's JSON Schema of that document (draft-07), NUL-terminated. */
extern const char pvk_hdrinfo_schema_json[];

#endif
