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

/* pvimg info --format: text, text:full, json (= json:pretty), json:minify. */
enum pvk_hdrinfo_format {
	PVK_HDRINFO_TEXT,
	PVK_HDRINFO_TEXT_FULL,
	PVK_HDRINFO_JSON,
	PVK_HDRINFO_JSON_MINIFY,
};
/* IBM's KIND[:VARIANT], both case-insensitive (":default" is the kind's default); -1 for
 * anything else. */
int pvk_hdrinfo_format_parse(const char *arg, enum pvk_hdrinfo_format *out);

/* Read the SE header of path (an image or a header) into *h, whose pointers point into
 * *raw (free it after use). With key_path, authenticate and decrypt it with the 32-byte
 * header key in that file into *sec (wipe it after use) and set *state (HDRINFO_DECRYPTED
 * when show, else HDRINFO_VERIFIED); without, *state is HDRINFO_NOT_VERIFIED. Errors name
 * path. */
int pvk_hdrinfo_open(const char *path, const char *key_path, int show, uint8_t **raw,
		     struct sehdr *h, struct sehdr_secrets *sec, enum hdrinfo_state *state,
		     struct pvk_err *e);

/* Write the header to out in fmt (the JSON metadata from meta). */
int pvk_hdrinfo_write(FILE *out, const struct sehdr *h, const struct sehdr_secrets *sec,
		      enum hdrinfo_state state, enum pvk_hdrinfo_format fmt,
		      const struct hdrinfo_meta *meta, struct pvk_err *e);

/* pvkit's JSON Schema of that document (draft-07), NUL-terminated. */
extern const char pvk_hdrinfo_schema_json[];

#endif
