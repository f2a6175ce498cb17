// SPDX-License-Identifier: MIT
/* The one YAML reader (lib/yamlin.c): the same nodes as libyaml's loader on ordinary input,
 * and every input refused or accepted in linear time: deep nesting, aliases, too many
 * nodes. Issue 9 #11: 200 KB of "[[[..." took 31 s through libyaml's loader. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvkit/secret.h"
#include "pvkit/yamlin.h"
#include "testutil.h"

static char *repeat(const char *unit, size_t n, const char *tail)
{
	size_t u = strlen(unit), t = strlen(tail);
	char *s = malloc(u * n + t + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	memcpy(s + u * n, tail, t + 1);
	return s;
}

static int load(const char *text, struct pvk_err *e)
{
	yaml_document_t d;

	pvk_err_clear(e);
	if (pvk_yin_load((const uint8_t *)text, strlen(text), "t.yaml", &d, e))
		return -1;
	yaml_document_delete(&d);
	return 0;
}

/* Walk two documents in step: same node kinds, tags, values and structure. */
static void same_node(yaml_document_t *a, yaml_node_t *x, yaml_document_t *b, yaml_node_t *y)
{
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(x->type, y->type);
	assert_string_equal((const char *)x->tag, (const char *)y->tag);
	if (x->type == YAML_SCALAR_NODE) {
		assert_int_equal(x->data.scalar.length, y->data.scalar.length);
		assert_memory_equal(x->data.scalar.value, y->data.scalar.value, x->data.scalar.length);
	} else if (x->type == YAML_SEQUENCE_NODE) {
		long n = x->data.sequence.items.top - x->data.sequence.items.start;

		assert_int_equal(n, y->data.sequence.items.top - y->data.sequence.items.start);
		for (long i = 0; i < n; i++)
			same_node(a, yaml_document_get_node(a, x->data.sequence.items.start[i]), b,
				  yaml_document_get_node(b, y->data.sequence.items.start[i]));
	} else {
		long n = x->data.mapping.pairs.top - x->data.mapping.pairs.start;

		assert_int_equal(n, y->data.mapping.pairs.top - y->data.mapping.pairs.start);
		for (long i = 0; i < n; i++) {
			same_node(a, yaml_document_get_node(a, x->data.mapping.pairs.start[i].key), b,
				  yaml_document_get_node(b, y->data.mapping.pairs.start[i].key));
			same_node(a, yaml_document_get_node(a, x->data.mapping.pairs.start[i].value), b,
				  yaml_document_get_node(b, y->data.mapping.pairs.start[i].value));
		}
	}
}

static void test_same_as_libyaml(void **s)
{
	static const char *docs[] = {
		"cuid: '0x0123456789abcdef0123456789abcdef'\n",
		"!Association\nname: my secret\nid: 0xb9d1\n",
		"a: [1, 2, {b: c}]\nd:\n  - e\n  - f: [g, h]\n  - ''\n",
		"- mode: ep11\n  mkvp: abc\n- mode: accel\n",
		"plain scalar\n",
		"{}\n",
	};
	struct pvk_err e;

	(void)s;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		yaml_document_t a, b;
		yaml_parser_t p;

		assert_int_equal(pvk_yin_load((const uint8_t *)docs[i], strlen(docs[i]), "t", &a, &e), 0);
		assert_true(yaml_parser_initialize(&p));
		yaml_parser_set_input_string(&p, (const uint8_t *)docs[i], strlen(docs[i]));
		assert_true(yaml_parser_load(&p, &b));
		yaml_parser_delete(&p);
		same_node(&a, yaml_document_get_root_node(&a), &b, yaml_document_get_root_node(&b));
		yaml_document_delete(&a);
		yaml_document_delete(&b);
	}
}

static void test_depth(void **s)
{
	struct pvk_err e;
	char *ok = repeat("[", YIN_MAX_DEPTH, ""), *deep;

	(void)s;
	/* 64 levels are fine, 65 are not, in flow and in block style. */
	free(ok);
	ok = malloc(3 * YIN_MAX_DEPTH + 1);
	assert_non_null(ok);
	memset(ok, '[', YIN_MAX_DEPTH);
	memset(ok + YIN_MAX_DEPTH, ']', YIN_MAX_DEPTH);
	ok[2 * YIN_MAX_DEPTH] = 0;
	assert_int_equal(load(ok, &e), 0);
	free(ok);
	deep = malloc(2 * (YIN_MAX_DEPTH + 1) + 1);
	assert_non_null(deep);
	memset(deep, '[', YIN_MAX_DEPTH + 1);
	memset(deep + YIN_MAX_DEPTH + 1, ']', YIN_MAX_DEPTH + 1);
	deep[2 * (YIN_MAX_DEPTH + 1)] = 0;
	assert_int_equal(load(deep, &e), -1);
	assert_non_null(strstr(e.msg, "t.yaml:1:65: YAML nested too deeply"));
	free(deep);
	{
		/* block mappings: "a:\n a:\n  a:\n ..." */
		size_t cap = 0, used = 0;
		char *b = NULL;

		for (int lvl = 0; lvl <= YIN_MAX_DEPTH; lvl++) {
			cap = used + (size_t)lvl + 8;
			b = realloc(b, cap);
			assert_non_null(b);
			memset(b + used, ' ', (size_t)lvl);
			used += (size_t)lvl;
			memcpy(b + used, "a:\n", 4);
			used += 3;
		}
		memcpy(b + used - 1, " x\n", 4);
		assert_int_equal(load(b, &e), -1);
		assert_non_null(strstr(e.msg, "nested too deeply"));
		free(b);
	}
}

/* The red-team inputs: 1 MiB of "[" and of "{a: " must be refused (they took minutes). */
static void test_huge_nesting_refused(void **s)
{
	static const char *units[] = { "[", "{a: ", "- ", "[{", "{[a]: " };
	struct pvk_err e;

	(void)s;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		char *t = repeat(units[i], (1u << 20) / strlen(units[i]), "");
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(load(t, &e), -1);
		clock_gettime(CLOCK_MONOTONIC, &b);
		print_message("  %-7s x 1 MiB: %.3f s: %s\n", units[i],
			      (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
			      e.msg);
		free(t);
	}
}

static void test_aliases_and_count(void **s)
{
	struct pvk_err e;
	char *many;

	(void)s;
	assert_int_equal(load("a: &x [1, 2]\nb: *x\n", &e), -1);
	assert_non_null(strstr(e.msg, "t.yaml:1:4: YAML anchors and aliases are not supported"));
	assert_int_equal(load("a: [1, 2]\nb: *x\n", &e), -1);
	assert_non_null(strstr(e.msg, "t.yaml:2:4: YAML anchors and aliases are not supported"));
	/* libyaml's loader refuses a duplicate anchor: no anchor is accepted at all. */
	assert_int_equal(load("a: &x 1\nb: &x 2\n", &e), -1);
	/* A billion laughs needs aliases: refused at the first one. */
	assert_int_equal(load("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", &e), -1);
	many = repeat("1, ", YIN_MAX_EVENTS, "1]");
	many[0] = '[';
	many[1] = ' ';
	assert_int_equal(load(many, &e), -1);
	assert_non_null(strstr(e.msg, "too many YAML nodes"));
	free(many);
	assert_int_equal(load("", &e), -1);
	assert_non_null(strstr(e.msg, "empty YAML document"));
	assert_int_equal(load("a: [\n", &e), -1);
	assert_non_null(strstr(e.msg, "malformed YAML"));
}

/* The readers of pvsecret (CUID, secret descriptions) go through it. */
static void test_readers_use_it(void **s)
{
	char *t = repeat("[", 200000, "");
	uint8_t cuid[16], id[32];
	uint16_t type;
	struct pvk_err e;

	(void)s;
	pvk_err_clear(&e);
	assert_int_equal(pvk_secret_cuid_from_file((uint8_t *)t, strlen(t), cuid, &e), -1);
	assert_non_null(strstr(e.msg, "nested too deeply"));
	pvk_err_clear(&e);
	assert_int_equal(pvk_secret_desc_parse((uint8_t *)t, strlen(t), &type, id, &e), -1);
	assert_non_null(strstr(e.msg, "nested too deeply"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_libyaml),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_huge_nesting_refused),
		cmocka_unit_test(test_aliases_and_count),
		cmocka_unit_test(test_readers_use_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
