// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include <json-c/json.h>

#include "pvkit/yamlout.h"

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
	struct yout *y = data;

	if (y->len + size + 1 > y->cap) {
		size_t cap = (y->len + size + 1) * 2;
		char *b = realloc(y->buf, cap);

		if (!b)
			return 0;
		y->buf = b;
		y->cap = cap;
	}
	memcpy(y->buf + y->len, buffer, size);
	y->len += size;
	y->buf[y->len] = 0;
	return 1;
}

static void emit(struct yout *y, yaml_event_t *ev, int ok)
{
	if (y->failed)
		return;
	if (!ok || !yaml_emitter_emit(&y->em, ev))
		y->failed = 1;
}

int pvk_yout_begin(struct yout *y, struct pvk_err *e)
{
	yaml_event_t ev;

	memset(y, 0, sizeof(*y));
	if (!yaml_emitter_initialize(&y->em))
		return pvk_fail(e, PVK_E_NOMEM, "cannot set up the YAML emitter");
	yaml_emitter_set_output(&y->em, write_handler, y);
	yaml_emitter_set_unicode(&y->em, 1);
	yaml_emitter_set_width(&y->em, -1); /* never fold long hex strings or messages */
	emit(y, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	emit(y, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	return 0;
}

void pvk_yout_map_start(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_MAPPING_STYLE));
}

void pvk_yout_map_start_tagged(struct yout *y, const char *tag)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)tag, 0,
							  YAML_BLOCK_MAPPING_STYLE));
}

void pvk_yout_map_end(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_mapping_end_event_initialize(&ev));
}

void pvk_yout_seq_start(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							   YAML_BLOCK_SEQUENCE_STYLE));
}

void pvk_yout_seq_end(struct yout *y)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void scalar(struct yout *y, const char *v, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v),
						  1, 1, style));
}

void pvk_yout_str(struct yout *y, const char *v)
{
	scalar(y, v, YAML_ANY_SCALAR_STYLE);
}

void pvk_yout_str_quoted(struct yout *y, const char *v)
{
	scalar(y, v, YAML_SINGLE_QUOTED_SCALAR_STYLE);
}

void pvk_yout_key(struct yout *y, const char *k)
{
	scalar(y, k, YAML_PLAIN_SCALAR_STYLE);
}

void pvk_yout_kv_str(struct yout *y, const char *k, const char *v)
{
	pvk_yout_key(y, k);
	pvk_yout_str(y, v);
}

void pvk_yout_kv_hex(struct yout *y, const char *k, const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 3);

	if (!s) {
		y->failed = 1;
		return;
	}
	s[0] = '0';
	s[1] = 'x';
	pvk_hex_encode(p, n, s + 2);
	pvk_yout_key(y, k);
	/* As serde_yaml writes them: a hex number of at most 128 bits is quoted (it would read
	 * back as an integer), a longer one is left plain. */
	scalar(y, s, n <= 16 ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE);
	free(s);
}

void pvk_yout_kv_bool(struct yout *y, const char *k, int v)
{
	pvk_yout_key(y, k);
	scalar(y, v ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
}

void pvk_yout_kv_int(struct yout *y, const char *k, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	pvk_yout_key(y, k);
	scalar(y, s, YAML_PLAIN_SCALAR_STYLE);
}

void pvk_yout_json(struct yout *y, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		pvk_yout_map_start(y);
		json_object_object_foreach(v, key, val) {
			pvk_yout_key(y, key);
			pvk_yout_json(y, val);
		}
		pvk_yout_map_end(y);
		break;
	case json_type_array:
		pvk_yout_seq_start(y);
		for (size_t i = 0; i < json_object_array_length(v); i++)
			pvk_yout_json(y, json_object_array_get_idx(v, i));
		pvk_yout_seq_end(y);
		break;
	case json_type_string:
		pvk_yout_str(y, json_object_get_string(v));
		break;
	case json_type_null:
		scalar(y, "null", YAML_PLAIN_SCALAR_STYLE);
		break;
	default:  /* numbers and booleans as JSON writes them */
		scalar(y, json_object_to_json_string(v), YAML_PLAIN_SCALAR_STYLE);
		break;
	}
}

int pvk_yout_finish(struct yout *y, char **out, size_t *len, struct pvk_err *e)
{
	yaml_event_t ev;

	emit(y, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(y, &ev, yaml_stream_end_event_initialize(&ev));
	yaml_emitter_delete(&y->em);
	if (y->failed || !y->buf) {
		free(y->buf);
		return pvk_fail(e, PVK_E_NOMEM, "cannot write YAML");
	}
	*out = y->buf;
	*len = y->len;
	return 0;
}

void pvk_yout_abort(struct yout *y)
{
	yaml_emitter_delete(&y->em);
	free(y->buf);
	y->buf = NULL;
}

struct json_object *pvk_json_hex(const uint8_t *p, size_t n, int prefix)
{
	size_t off = prefix ? 2 : 0, len = off + 2 * n + 1;
	char *s = malloc(len);
	json_object *o;

	if (!s)
		return NULL;
	memcpy(s, "0x", off);
	pvk_hex_encode(p, n, s + off);
	o = json_object_new_string(s);
	OPENSSL_cleanse(s, len);
	free(s);
	return o;
}

int pvk_json_text(struct json_object *v, int pretty, char **out, size_t *len,
		  struct pvk_err *e)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : 0);
	const char *s = json_object_to_json_string_ext(v, flags);

	if (!s || asprintf(out, "%s\n", s) < 0) {
		*out = NULL;
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	*len = strlen(*out);
	return 0;
}
