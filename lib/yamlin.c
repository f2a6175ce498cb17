// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "pvkit/yamlin.h"

int pvk_yin_open(struct yin *r, const uint8_t *buf, size_t len, const char *what,
	     struct pvk_err *e)
{
	memset(r, 0, sizeof(*r));
	r->what = what;
	if (!yaml_parser_initialize(&r->p))
		return pvk_fail(e, PVK_E_NOMEM, "%s: cannot set up the YAML parser", what);
	yaml_parser_set_input_string(&r->p, buf, len);
	return 0;
}

void pvk_yin_close(struct yin *r)
{
	yaml_parser_delete(&r->p);
}

static int refuse(struct yin *r, yaml_event_t *ev, const char *why, struct pvk_err *e)
{
	pvk_fail(e, PVK_E_FORMAT, "%s:%zu:%zu: %s", r->what, ev->start_mark.line + 1,
		 ev->start_mark.column + 1, why);
	yaml_event_delete(ev);
	return -1;
}

int pvk_yin_next(struct yin *r, yaml_event_t *ev, struct pvk_err *e)
{
	if (!yaml_parser_parse(&r->p, ev)) {
		const char *what = r->p.problem ? r->p.problem : "syntax error";

		if (r->p.context)
			return pvk_fail(e, PVK_E_FORMAT,
					"%s:%zu:%zu: malformed YAML: %s %s (line %zu)", r->what,
					r->p.problem_mark.line + 1, r->p.problem_mark.column + 1,
					what, r->p.context, r->p.context_mark.line + 1);
		return pvk_fail(e, PVK_E_FORMAT, "%s:%zu:%zu: malformed YAML: %s", r->what,
				r->p.problem_mark.line + 1, r->p.problem_mark.column + 1, what);
	}
	if (++r->events > YIN_MAX_EVENTS)
		return refuse(r, ev, "too many YAML nodes", e);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return refuse(r, ev, "YAML anchors and aliases are not supported", e);
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor)
			return refuse(r, ev, "YAML anchors and aliases are not supported", e);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		/* Anchors serve only aliases; refusing both keeps one document one tree. */
		if ((ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
							     : ev->data.mapping_start.anchor))
			return refuse(r, ev, "YAML anchors and aliases are not supported", e);
		if (++r->depth > YIN_MAX_DEPTH)
			return refuse(r, ev, "YAML nested too deeply (more than 64 levels)", e);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		r->depth--;
		break;
	default:
		break;
	}
	return 0;
}

/* The non-specific tag "!" means the default tag, as in libyaml's own loader. */
static yaml_char_t *tag_of(yaml_char_t *tag)
{
	return tag && strcmp((const char *)tag, "!") ? tag : NULL;
}

/* Add the node an event starts to doc. */
static int add_node(yaml_document_t *doc, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return yaml_document_add_scalar(doc, tag_of(ev->data.scalar.tag),
						ev->data.scalar.value, (int)ev->data.scalar.length,
						ev->data.scalar.style);
	case YAML_SEQUENCE_START_EVENT:
		return yaml_document_add_sequence(doc, tag_of(ev->data.sequence_start.tag),
						  ev->data.sequence_start.style);
	case YAML_MAPPING_START_EVENT:
		return yaml_document_add_mapping(doc, tag_of(ev->data.mapping_start.tag),
						 ev->data.mapping_start.style);
	default:
		return 0;
	}
}

int pvk_yin_load(const uint8_t *buf, size_t len, const char *what, yaml_document_t *doc,
	     struct pvk_err *e)
{
	/* The open collections: node id, and for a mapping the pending key (0: none). */
	struct { int id, key; } stack[YIN_MAX_DEPTH + 1];
	int top = -1, root = 0, done = 0, rc = -1;
	struct yin r;

	memset(doc, 0, sizeof(*doc));
	if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", what);
	if (pvk_yin_open(&r, buf, len, what, e)) {
		yaml_document_delete(doc);
		return -1;
	}
	while (!done) {
		yaml_event_t ev;
		int id = 0;

		if (pvk_yin_next(&r, &ev, e))
			goto out;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			id = add_node(doc, &ev);
			if (!id) {
				yaml_event_delete(&ev);
				pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", what);
				goto out;
			}
			if (top < 0) {
				root = id;
			} else if (doc->nodes.start[stack[top].id - 1].type == YAML_SEQUENCE_NODE) {
				if (!yaml_document_append_sequence_item(doc, stack[top].id, id))
					id = 0;
			} else if (!stack[top].key) {
				stack[top].key = id;
			} else {
				if (!yaml_document_append_mapping_pair(doc, stack[top].id, stack[top].key,
								       id))
					id = 0;
				stack[top].key = 0;
			}
			if (!id) {
				yaml_event_delete(&ev);
				pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", what);
				goto out;
			}
			if (ev.type != YAML_SCALAR_EVENT) {
				/* pvk_yin_next keeps the depth within the stack. */
				top++;
				stack[top].id = id;
				stack[top].key = 0;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			top--;
			break;
		default:  /* stream and document start */
			break;
		}
		yaml_event_delete(&ev);
	}
	if (!root) {
		pvk_fail(e, PVK_E_FORMAT, "%s: empty YAML document", what);
		goto out;
	}
	rc = 0;
out:
	pvk_yin_close(&r);
	if (rc)
		yaml_document_delete(doc);
	return rc;
}
