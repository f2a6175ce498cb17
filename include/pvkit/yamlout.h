/* SPDX-License-Identifier: MIT */
/* A small YAML writer over libyaml's emitter, into a memory buffer (written out atomically
 * by the caller). Errors stick: check pvk_yout_finish's result once. */
#ifndef PVKIT_YAMLOUT_H
#define PVKIT_YAMLOUT_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "pvkit/err.h"

struct yout {
	yaml_emitter_t em;
	char *buf;
	size_t len, cap;
	int failed;
};

/* Start a document; then maps, sequences and scalars in order, as libyaml events. */
int pvk_yout_begin(struct yout *y, struct pvk_err *e);
void pvk_yout_map_start(struct yout *y);
/* A mapping with a local tag ("!Association"), written before it. */
void pvk_yout_map_start_tagged(struct yout *y, const char *tag);
void pvk_yout_map_end(struct yout *y);
void pvk_yout_seq_start(struct yout *y);
void pvk_yout_seq_end(struct yout *y);
void pvk_yout_str(struct yout *y, const char *v);
/* A string in single quotes (one that would read back as another type). */
void pvk_yout_str_quoted(struct yout *y, const char *v);
void pvk_yout_key(struct yout *y, const char *k);
void pvk_yout_kv_str(struct yout *y, const char *k, const char *v);
void pvk_yout_kv_hex(struct yout *y, const char *k, const uint8_t *p, size_t n); /* "0x" + hex */
void pvk_yout_kv_bool(struct yout *y, const char *k, int v);
void pvk_yout_kv_int(struct yout *y, const char *k, long long v);
/* A json-c value as YAML, members in their order: objects as maps, arrays as sequences,
 * strings, numbers, booleans, null as "null". */
struct json_object;
void pvk_yout_json(struct yout *y, struct json_object *v);
/* Ends the document; on success *out (NUL-terminated, malloc'd) and *len. */
int pvk_yout_finish(struct yout *y, char **out, size_t *len, struct pvk_err *e);
void pvk_yout_abort(struct yout *y);

/* JSON beside the YAML: a byte string as a json-c string of hex digits ("0x" first when
 * prefix), its text buffer wiped (it may be key material); NULL when out of memory. */
struct json_object *pvk_json_hex(const uint8_t *p, size_t n, int prefix);
/* The document as text, pretty (two-space indent) or not, with no escaped '/' and a final
 * newline; *out malloc'd. Takes no reference: the caller still owns v. */
int pvk_json_text(struct json_object *v, int pretty, char **out, size_t *len,
		  struct pvk_err *e);

#endif
