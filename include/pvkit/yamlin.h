/* SPDX-License-Identifier: MIT */
/* The one YAML reader: libyaml's parser behind limits that keep every input linear. libyaml
 * scans nested flow collections in time quadratic in their depth, and a document may hold
 * aliases that multiply what a walk over it visits; pvkit's YAML files (secret descriptions,
 * attestation results, AP configurations) are small and shallow, so the reader refuses
 * nesting deeper than YIN_MAX_DEPTH, more than YIN_MAX_EVENTS events, anchors and aliases, each with
 * one error naming the file, line and column. */
#ifndef PVKIT_YAMLIN_H
#define PVKIT_YAMLIN_H

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "pvkit/err.h"

#define YIN_MAX_DEPTH 64
#define YIN_MAX_EVENTS 200000

struct yin {
	yaml_parser_t p;
	const char *what;     /* the file's name, for messages */
	unsigned depth;       /* open collections */
	size_t events;
};

/* Start reading buf (len bytes, not copied: it must outlive the reader). */
int pvk_yin_open(struct yin *r, const uint8_t *buf, size_t len, const char *what,
	     struct pvk_err *e);
/* The next event; on error nothing is left to delete. Refuses anchors, aliases, depth and
 * count. */
int pvk_yin_next(struct yin *r, yaml_event_t *ev, struct pvk_err *e);
void pvk_yin_close(struct yin *r);
/* Load a stream's first document as libyaml nodes, through pvk_yin_next (so within the limits).
 * An empty document is an error. The caller deletes *doc. */
int pvk_yin_load(const uint8_t *buf, size_t len, const char *what, yaml_document_t *doc,
	     struct pvk_err *e);

#endif
