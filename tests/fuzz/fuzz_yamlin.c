// SPDX-License-Identifier: MIT
/* The one YAML reader (lib/yamlin.c). Properties: what it accepts, libyaml's own loader
 * loads to the same tree, never deeper than YIN_MAX_DEPTH; what it refuses is a format error
 * with a message. Seeds: deep flow and block nesting around the limit, aliases. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/yamlin.h"

static char *nest(const char *open, const char *close, int n)
{
	size_t o = strlen(open), c = strlen(close);
	char *s = malloc((o + c) * (size_t)n + 2);
	size_t k = 0;

	if (!s)
		abort();
	for (int i = 0; i < n; i++, k += o)
		memcpy(s + k, open, o);
	s[k++] = 'x';
	for (int i = 0; i < n; i++, k += c)
		memcpy(s + k, close, c);
	s[k] = 0;
	return s;
}

static void seed_nest(const char *name, const char *open, const char *close, int n)
{
	char *s = nest(open, close, n);

	fuzz_seed(name, s, strlen(s));
	free(s);
}

static void write_seeds(void)
{
	static const char *plain[][2] = {
		{ "map", "a: 1\nb: [x, y, {c: d}]\ne:\n  - f\n  - g: h\n" },
		{ "tagged", "!Association\nname: s\nid: 0x00\n" },
		{ "alias", "a: &x [1, 2]\nb: *x\n" },
		{ "laughs", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n" },
		{ "multi-doc", "--- a\n--- b\n" },
		{ "block-deep", "a:\n b:\n  c:\n   d:\n    e:\n     f: g\n" },
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		fuzz_seed(plain[i][0], plain[i][1], strlen(plain[i][1]));
	seed_nest("flow-seq-64", "[", "]", YIN_MAX_DEPTH);
	seed_nest("flow-seq-65", "[", "]", YIN_MAX_DEPTH + 1);
	seed_nest("flow-map-64", "{a: ", "}", YIN_MAX_DEPTH);
	seed_nest("flow-map-65", "{a: ", "}", YIN_MAX_DEPTH + 1);
	seed_nest("flow-mixed-1000", "[{k: ", "}]", 1000);
	seed_nest("block-seq-200", "- ", "", 200);
	seed_nest("flow-open-2000", "[", "", 2000);
}

FUZZ_INIT_SEEDS(write_seeds)

static unsigned depth_of(yaml_document_t *d, yaml_node_t *n)
{
	unsigned m = 0, k;

	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
			if ((k = depth_of(d, yaml_document_get_node(d, *i))) > m)
				m = k;
		return m + 1;
	}
	if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			if ((k = depth_of(d, yaml_document_get_node(d, p->key))) > m)
				m = k;
			if ((k = depth_of(d, yaml_document_get_node(d, p->value))) > m)
				m = k;
		}
		return m + 1;
	}
	return 0;
}

static int same(yaml_document_t *a, yaml_node_t *x, yaml_document_t *b, yaml_node_t *y)
{
	if (!x || !y || x->type != y->type || strcmp((char *)x->tag, (char *)y->tag))
		return 0;
	if (x->type == YAML_SCALAR_NODE)
		return x->data.scalar.length == y->data.scalar.length &&
		       !memcmp(x->data.scalar.value, y->data.scalar.value, x->data.scalar.length);
	if (x->type == YAML_SEQUENCE_NODE) {
		long n = x->data.sequence.items.top - x->data.sequence.items.start;

		if (n != y->data.sequence.items.top - y->data.sequence.items.start)
			return 0;
		for (long i = 0; i < n; i++)
			if (!same(a, yaml_document_get_node(a, x->data.sequence.items.start[i]), b,
				  yaml_document_get_node(b, y->data.sequence.items.start[i])))
				return 0;
		return 1;
	}
	{
		long n = x->data.mapping.pairs.top - x->data.mapping.pairs.start;

		if (n != y->data.mapping.pairs.top - y->data.mapping.pairs.start)
			return 0;
		for (long i = 0; i < n; i++) {
			yaml_node_pair_t *p = x->data.mapping.pairs.start + i;
			yaml_node_pair_t *q = y->data.mapping.pairs.start + i;

			if (!same(a, yaml_document_get_node(a, p->key), b, yaml_document_get_node(b, q->key)) ||
			    !same(a, yaml_document_get_node(a, p->value), b,
				  yaml_document_get_node(b, q->value)))
				return 0;
		}
		return 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	yaml_document_t a, b;
	yaml_parser_t p;
	struct pvk_err e;

	if (pvk_yin_load(data, size, "fuzz.yaml", &a, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT || e.code == PVK_E_NOMEM);
		FUZZ_CHECK(e.msg[0] != 0);
		return 0;
	}
	FUZZ_CHECK(depth_of(&a, yaml_document_get_root_node(&a)) <= YIN_MAX_DEPTH);
	/* Accepted input is shallow and alias-free: libyaml's loader is cheap on it. */
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, data, size);
	FUZZ_CHECK(yaml_parser_load(&p, &b));
	FUZZ_CHECK(yaml_document_get_root_node(&b) != NULL);
	FUZZ_CHECK(same(&a, yaml_document_get_root_node(&a), &b, yaml_document_get_root_node(&b)));
	yaml_document_delete(&b);
	yaml_parser_delete(&p);
	yaml_document_delete(&a);
	return 0;
}
