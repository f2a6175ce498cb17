// SPDX-License-Identifier: MIT
/* pvapconfig's model: the YAML configuration (validation, errors with their lines), the
 * matching rule, the UV secret list, the algorithm over a test double of the AP bus; and
 * the AP bus reader (lib/apbus.c) over a sysfs tree in a temporary directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pvkit/apbus.h"
#include "pvkit/apconfig.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "testutil.h"

#define MKVP1 "db3c3b3c3f097dd55ec7eb0e7fdbcb93"
#define MKVP2 "4a27bb66520ac85f6073a7f678d262c0"
#define SID1 "546869732069732061207665727920736563726574207365637265742069642e"

static int parse(const char *text, struct apcfg *c, struct pvk_err *e)
{
	pvk_err_clear(e);
	return pvk_apcfg_parse(text, strlen(text), "cfg.yaml", c, e);
}

static void expect_error(const char *text, const char *needle)
{
	struct apcfg c;
	struct pvk_err e;

	if (parse(text, &c, &e) == 0) {
		pvk_apcfg_free(&c);
		fail_msg("accepted:\n%s", text);
	}
	assert_int_equal(c.n, 0);
	assert_null(c.v);
	if (!strstr(e.msg, needle))
		fail_msg("error '%s' lacks '%s'", e.msg, needle);
}

static void test_good(void **state)
{
	struct apcfg c;
	struct pvk_err e;
	uint8_t h[32];
	char hex[65];

	(void)state;
	assert_int_equal(parse("# accelerators\n"
			       "- name: my Accelerator\n"
			       "  mode: AcCel\n"
			       "  mingen: Cex7\n"
			       "- name: accel 2\n"
			       "  description: Accelerator entry with description\n"
			       "  mode: Accel\n"
			       "  mkvp: ignored for accelerators\n"
			       "  serialnr: x\n"
			       "  secretid: nonsense\n"
			       "- name: '  My EP11  '\n"
			       "  mode: \" Ep11 \"\n"
			       "  mkvp:  0xDB3C3B3C3F097DD55EC7EB0E7FDBCB93\n"
			       "  serialnr: 93AADFK719460083\n"
			       "- mode: EP11\n"
			       "  mkvp: " MKVP1 MKVP2 "\n"
			       "  secretid: 0x" SID1 "\n"
			       "  mingen: CEX8\n",
			       &c, &e),
			 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.v[0].mode, APCFG_MODE_ACCEL);
	assert_int_equal(c.v[0].mingen, 7);
	assert_int_equal(c.v[0].line, 2);
	assert_string_equal(c.v[0].name, "my Accelerator");
	assert_string_equal(c.v[1].mkvp, "");
	assert_string_equal(c.v[1].serialnr, "");
	assert_string_equal(c.v[1].secretid, "");
	assert_string_equal(c.v[1].description, "Accelerator entry with description");
	assert_int_equal(c.v[1].mingen, 0);
	/* name trimmed; secretid = SHA-256(name) */
	assert_string_equal(c.v[2].name, "My EP11");
	assert_int_equal(c.v[2].mode, APCFG_MODE_EP11);
	assert_string_equal(c.v[2].mkvp, MKVP1);
	assert_string_equal(c.v[2].serialnr, "93AADFK719460083");
	pvk_sha256("My EP11", 7, h);
	pvk_hex_encode(h, 32, hex);
	assert_string_equal(c.v[2].secretid, hex);
	assert_int_equal(c.v[2].line, 11);
	/* 64 hex digits: the leftmost 16 bytes count */
	assert_string_equal(c.v[3].mkvp, MKVP1);
	assert_string_equal(c.v[3].secretid, SID1);
	assert_int_equal(c.v[3].mingen, 8);
	pvk_apcfg_free(&c);

	/* name and secretid that agree; SHA-256("Hello") */
	assert_int_equal(parse("- mode: ep11\n  name: Hello\n  mkvp: " MKVP1 "\n"
			       "  secretid: 0x185F8DB32271FE25F561A6FC938B2E264306EC304EDA518007D1764826381969\n",
			       &c, &e),
			 0);
	assert_string_equal(c.v[0].secretid,
			    "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969");
	pvk_apcfg_free(&c);
}

static void test_empty(void **state)
{
	static const char *const empty[] = { "", "# only a comment\n", "[]\n", "---\n", "~\n" };
	struct apcfg c;
	struct pvk_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		assert_int_equal(parse(empty[i], &c, &e), 0);
		assert_int_equal(c.n, 0);
		pvk_apcfg_free(&c);
	}
}

static void test_bad(void **state)
{
	(void)state;
	expect_error("- name: x\n  mkvp: " MKVP1 "\n", "cfg.yaml:1: AP config entry #1 'x': Mode missing");
	expect_error("- name: x\n  mode: CCA\n  mkvp: " MKVP1 "\n",
		     "cfg.yaml:2: AP config entry #1 'x': Unknown or invalid mode 'cca'");
	expect_error("- mode: Accel\n  mingen: Cex3\n", "Mingen value 'cex3' is not valid");
	expect_error("- mode: Accel\n  mingen: CEX9\n", "Mingen value 'cex9' is not valid");
	expect_error("- name: x\n  mode: EP11\n  serialnr: 93AADHZU42082261\n", "Mkvp value missing");
	expect_error("- name: x\n  mode: EP11\n  mkvp: 0xabcdefghijklmnopqqponmlkjihgfedcba\n",
		     "Mkvp value '0xabcdefghijklmnopqqponmlkjihgfedcba' is not valid");
	expect_error("- name: x\n  mode: EP11\n  mkvp: 0x" MKVP1 "aa\n", "is not valid");
	expect_error("- name: x\n  mode: EP11\n  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb\n",
		     "is not valid");
	expect_error("- name: x\n  mode: EP11\n  mingen: CEX7\n  mkvp: " MKVP1 "\n",
		     "cfg.yaml:3: AP config entry #1 'x': Mingen value 'cex7' is not valid (only CEX8)");
	expect_error("- name: x\n  mode: EP11\n  mkvp: " MKVP1 "\n  serialnr: 93AADHZU4208226\n",
		     "cfg.yaml:4: AP config entry #1 'x': Serialnr value '93AADHZU4208226'");
	expect_error("- name: x\n  mode: EP11\n  mkvp: " MKVP1 "\n  serialnr: 93AAD ZU42082261\n",
		     "Serialnr value '93AAD ZU42082261' is not valid");
	expect_error("- name: bad test 12\n  mode: EP11\n  mkvp: " MKVP1 "\n"
		     "  secretid: 0x2ca853f959fc5ce5f1888cb48dae39514a27bb66520ac85f6073a7f678d262c0\n",
		     "cfg.yaml:4: AP config entry #1 'bad test 12': Mismatch between sha256(name) and secretid");
	expect_error("- mode: EP11\n  mkvp: " MKVP1 "\n", "Neither secretid nor name given");
	expect_error("- mode: EP11\n  mkvp: " MKVP1 "\n  secretid: 0x1234\n",
		     "Secretid value '0x1234' is not valid");
	/* the second entry is the one named */
	expect_error("- mode: accel\n- mode: ep11\n  name: y\n", "cfg.yaml:2: AP config entry #2 'y'");
}

static void test_structure(void **state)
{
	(void)state;
	/* unknown keys are errors: IBM's accelerator example has "mingent" */
	expect_error("# A configuration file for an accelerator\n"
		     "- name: my Accelerator\n"
		     "  mode: Accel\n"
		     "  mingent: CEX8\n",
		     "cfg.yaml:4:3: AP config entry #1: unknown key 'mingent'");
	expect_error("- name: de-serialize failure 1\n  type: EP11\n", "unknown key 'type'");
	expect_error("- mode: accel\n  mode: ep11\n", "cfg.yaml:2:3: AP config entry #1: duplicate key 'mode'");
	expect_error("/*\ntotal nonsense\n */\n", "must be a list");
	expect_error("mode: accel\n", "cfg.yaml:1:1: the configuration must be a list");
	expect_error("- accel\n", "AP config entry #1 must be a mapping");
	expect_error("- mode: [accel]\n", "the value of 'mode' must be a string, not a list");
	expect_error("- mode: accel\n  name: {a: b}\n", "not a mapping");
	expect_error("- &a {mode: accel}\n- *a\n", "aliases are not supported");
	expect_error("- mode: accel\n---\n- mode: accel\n", "more than one YAML document");
	/* malformed YAML: libyaml's problem with its line */
	expect_error("- mode: accel\n  name: x\n - mode: ep11\n", "cfg.yaml:3:2: malformed YAML");
	expect_error("- mode: \"accel\n", "malformed YAML");
	expect_error("- mode: accel\n\tname: x\n", "cfg.yaml:2:1: malformed YAML");
}

static void test_ibm_examples(void **state)
{
	struct apcfg c;
	struct pvk_err e;

	(void)state;
	assert_int_equal(parse("# A configuration file for an EP11\n"
			       "- mode: EP11\n"
			       "  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93\n"
			       "  serialnr: 93AADFK719460083\n"
			       "  secretid: 0x" SID1 "\n",
			       &c, &e),
			 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].secretid, SID1);
	pvk_apcfg_free(&c);
	/* the backup pair names its entries, but its secretid is no SHA-256 of the names */
	expect_error("# A configuration file for a backup pair\n"
		     "- name: my EP11 APQN 1\n"
		     "  mode: EP11\n"
		     "  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93\n"
		     "  serialnr: 93AADFK719460083\n"
		     "  secretid: 0x" SID1 "\n",
		     "cfg.yaml:6: AP config entry #1 'my EP11 APQN 1': Mismatch between sha256(name) and secretid");
}

static void test_load(void **state)
{
	char *dir = tmpdir_make(), path[4200];
	struct apcfg c;
	struct pvk_err e;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	assert_int_equal(pvk_apcfg_load(path, &c, &e), -1);
	assert_non_null(strstr(e.msg, "cannot read the AP config file"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("- mode: accel\n  mingen: cex6\n", f);
	fclose(f);
	assert_int_equal(pvk_apcfg_load(path, &c, &e), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].mingen, 6);
	pvk_apcfg_free(&c);
	rm_rf(dir);
	free(dir);
}

/* ---- matching ---- */

static struct apcfg_apqn apqn(unsigned card, unsigned dom, int gen, enum apbus_mode mode,
			      const char *serial, const char *mkvp)
{
	struct apcfg_apqn q;

	memset(&q, 0, sizeof(q));
	q.card = card;
	q.dom = dom;
	q.gen = gen;
	q.mode = mode;
	if (serial) {
		q.info = 1;
		snprintf(q.serialnr, sizeof(q.serialnr), "%s", serial);
		snprintf(q.mkvp, sizeof(q.mkvp), "%s", mkvp);
	}
	return q;
}

static void test_match(void **state)
{
	struct apcfg c;
	struct pvk_err e;
	struct apcfg_apqn a8 = apqn(1, 5, 8, APBUS_MODE_ACCEL, NULL, NULL);
	struct apcfg_apqn a7 = apqn(2, 5, 7, APBUS_MODE_ACCEL, NULL, NULL);
	struct apcfg_apqn p8 = apqn(3, 0x2b, 8, APBUS_MODE_EP11, "93AADFK719460083", MKVP1);
	struct apcfg_apqn p8b = apqn(4, 0x2b, 8, APBUS_MODE_EP11, "93AADHZU42082261", MKVP1);
	struct apcfg_apqn p8x = apqn(3, 0x31, 8, APBUS_MODE_EP11, "93AADFK719460083", MKVP2);
	struct apcfg_apqn p8n = apqn(3, 0x32, 8, APBUS_MODE_EP11, "93AADFK719460083", "");
	struct apcfg_apqn p8i = apqn(3, 0x33, 8, APBUS_MODE_EP11, NULL, NULL);
	struct apcfg_apqn p7 = apqn(5, 1, 7, APBUS_MODE_EP11, "93AADFK719460083", MKVP1);
	char why[256];

	(void)state;
	assert_int_equal(parse("- mode: accel\n"
			       "- mode: accel\n  mingen: cex8\n"
			       "- mode: ep11\n  name: a\n  mkvp: " MKVP1 "\n  serialnr: 93AADFK719460083\n"
			       "- mode: ep11\n  name: b\n  mkvp: " MKVP1 "\n"
			       "- mode: ep11\n  name: c\n  mkvp: " MKVP1 "\n  mingen: cex8\n",
			       &c, &e),
			 0);
	assert_true(pvk_apcfg_match(&c.v[0], &a8, NULL, 0));
	assert_true(pvk_apcfg_match(&c.v[0], &a7, NULL, 0));
	assert_false(pvk_apcfg_match(&c.v[0], &p8, why, sizeof(why)));
	assert_non_null(strstr(why, "EP11 coprocessor"));
	/* mingen is the minimal generation: CEX8 and newer */
	assert_true(pvk_apcfg_match(&c.v[1], &a8, NULL, 0));
	assert_false(pvk_apcfg_match(&c.v[1], &a7, why, sizeof(why)));
	assert_string_equal(why, "is a CEX7, older than mingen CEX8");
	assert_true(pvk_apcfg_match(&c.v[4], &p8, NULL, 0));
	assert_false(pvk_apcfg_match(&c.v[4], &p7, NULL, 0));
	assert_true(pvk_apcfg_match(&c.v[3], &p7, NULL, 0));
	/* serialnr (if given) and mkvp */
	assert_true(pvk_apcfg_match(&c.v[2], &p8, NULL, 0));
	assert_false(pvk_apcfg_match(&c.v[2], &p8b, why, sizeof(why)));
	assert_non_null(strstr(why, "serial number 93AADHZU42082261"));
	assert_true(pvk_apcfg_match(&c.v[3], &p8b, NULL, 0));
	assert_false(pvk_apcfg_match(&c.v[2], &p8x, why, sizeof(why)));
	assert_non_null(strstr(why, "has MKVP " MKVP2));
	assert_false(pvk_apcfg_match(&c.v[2], &p8n, why, sizeof(why)));
	assert_non_null(strstr(why, "no valid wrapping key"));
	assert_false(pvk_apcfg_match(&c.v[3], &p8i, why, sizeof(why)));
	assert_non_null(strstr(why, "no EP11 information"));
	assert_false(pvk_apcfg_match(&c.v[3], &a8, NULL, 0));
	pvk_apcfg_free(&c);
}

static void test_sort_mk(void **state)
{
	struct apcfg_apqn q[5] = {
		apqn(1, 1, 7, APBUS_MODE_ACCEL, NULL, NULL),
		apqn(2, 1, 8, APBUS_MODE_EP11, "S", MKVP1),
		apqn(2, 2, 8, APBUS_MODE_EP11, "S", MKVP2),
		apqn(3, 1, 5, APBUS_MODE_ACCEL, NULL, NULL),
		apqn(4, 1, 8, APBUS_MODE_EP11, "T", MKVP1),
	};
	struct pvk_err e;

	(void)state;
	pvk_apcfg_sort(q, 5);
	assert_int_equal(q[0].card, 2);
	assert_int_equal(q[0].dom, 1);
	assert_int_equal(q[1].card, 2);
	assert_int_equal(q[1].dom, 2);
	assert_int_equal(q[2].card, 4);
	assert_int_equal(q[3].card, 1);
	assert_int_equal(q[4].card, 3);
	assert_int_equal(pvk_apcfg_check_mk(q, 5, &e), 0);   /* same MKVP on two adapters: fine */
	snprintf(q[1].mkvp, sizeof(q[1].mkvp), MKVP1);
	assert_int_equal(pvk_apcfg_check_mk(q, 5, &e), -1);
	assert_non_null(strstr(e.msg, "APQN 02.0001 and APQN 02.0002 have the same MKVP"));
	q[0].mkvp[0] = q[1].mkvp[0] = 0;                 /* no WK: not compared */
	assert_int_equal(pvk_apcfg_check_mk(q, 5, &e), 0);
}

static void test_secrets(void **state)
{
	uint8_t buf[4096];
	struct apcfg_secret *s;
	struct pvk_err e;
	size_t n;
	int more;

	(void)state;
	memset(buf, 0, sizeof(buf));
	put_be16(buf, 2);
	put_be16(buf + 2, 3);
	put_be16(buf + 16, 0);
	put_be16(buf + 18, 2);
	memset(buf + 32, 0x11, 32);
	put_be16(buf + 64, 7);
	put_be16(buf + 66, 3);
	memset(buf + 80, 0x22, 32);
	assert_int_equal(pvk_apcfg_parse_secrets(buf, sizeof(buf), &s, &n, &more, &e), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(s[0].index, 0);
	assert_int_equal(s[0].type, 2);
	assert_int_equal(s[0].id[31], 0x11);
	assert_int_equal(s[1].index, 7);
	assert_int_equal(s[1].type, 3);
	free(s);
	/* the count must fit in the buffer */
	put_be16(buf, 1000);
	assert_int_equal(pvk_apcfg_parse_secrets(buf, 16 + 48, &s, &n, &more, &e), -1);
	assert_int_equal(pvk_apcfg_parse_secrets(buf, 8, &s, &n, &more, &e), -1);
	put_be16(buf, 0);
	put_be16(buf + 2, 0);
	assert_int_equal(pvk_apcfg_parse_secrets(buf, sizeof(buf), &s, &n, &more, &e), 0);
	assert_int_equal(n, 0);
	assert_null(s);
}

/* ---- the algorithm over a double of the AP bus ---- */

struct fake_q {
	enum pvk_apbus_bind bind;
	enum apbus_assoc assoc;
	unsigned idx;
	int fail_bind;
};

struct fake {
	struct fake_q q[8];
	const struct apcfg_apqn *base;
	char log[4096];
	char warn[4096];
};

static struct fake_q *fq(void *ctx, const struct apcfg_apqn *q)
{
	struct fake *f = ctx;

	return &f->q[q - f->base];
}

static void act(struct fake *f, const char *fmt, const struct apcfg_apqn *q, unsigned idx)
{
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, fmt, q->card, q->dom, idx);
}

static int f_bind_state(void *ctx, const struct apcfg_apqn *q, enum pvk_apbus_bind *st,
			struct pvk_err *e)
{
	(void)e;
	*st = fq(ctx, q)->bind;
	return 0;
}

static int f_assoc_state(void *ctx, const struct apcfg_apqn *q, enum apbus_assoc *st,
			 unsigned *idx, struct pvk_err *e)
{
	(void)e;
	*st = fq(ctx, q)->assoc;
	*idx = fq(ctx, q)->idx;
	return 0;
}

static int f_bind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	act(ctx, "bind %02x.%04x;", q, 0);
	if (fq(ctx, q)->fail_bind)
		return pvk_fail(e, PVK_E_IO, "refused");
	fq(ctx, q)->bind = APBUS_BIND_BOUND;
	return 0;
}

static int f_unbind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	(void)e;
	act(ctx, "unbind %02x.%04x;", q, 0);
	fq(ctx, q)->bind = APBUS_BIND_UNBOUND;
	fq(ctx, q)->assoc = APBUS_ASSOC_UNASSOCIATED;
	return 0;
}

static int f_associate(void *ctx, const struct apcfg_apqn *q, unsigned idx, struct pvk_err *e)
{
	(void)e;
	act(ctx, "assoc %02x.%04x %u;", q, idx);
	fq(ctx, q)->assoc = APBUS_ASSOC_ASSOCIATED;
	fq(ctx, q)->idx = idx;
	return 0;
}

static void f_log(void *ctx, enum apcfg_log level, const char *msg)
{
	struct fake *f = ctx;
	size_t n = strlen(f->warn);

	if (level == APCFG_LOG_WARN)
		snprintf(f->warn + n, sizeof(f->warn) - n, "%s\n", msg);
}

static struct apcfg_secret secret(uint16_t idx, uint16_t type, const char *name)
{
	struct apcfg_secret s;

	s.index = idx;
	s.type = type;
	pvk_sha256(name, strlen(name), s.id);
	return s;
}

static int apply(const char *cfgtext, const struct apcfg_apqn *q, size_t nq, struct fake *f,
		 const struct apcfg_secret *s, size_t ns, int dry, size_t *sat, struct pvk_err *e)
{
	struct apcfg_ops ops = { f_bind_state, f_assoc_state, f_bind, f_unbind, f_associate, f };
	struct apcfg_run run = { .dry_run = dry, .log = f_log, .log_ctx = f };
	struct apcfg c;
	int rc;

	assert_int_equal(parse(cfgtext, &c, e), 0);
	f->base = q;
	f->log[0] = f->warn[0] = 0;
	rc = pvk_apcfg_apply(&c, q, nq, s, ns, &ops, &run, e);
	*sat = run.satisfied;
	pvk_apcfg_free(&c);
	return rc;
}

#define CFG_EP11(name, mkvp, extra) "- mode: ep11\n  name: " name "\n  mkvp: " mkvp "\n" extra

static void test_apply(void **state)
{
	struct apcfg_apqn q[4] = {
		apqn(3, 0x2b, 8, APBUS_MODE_EP11, "SERIAL0000000003", MKVP1),
		apqn(3, 0x31, 8, APBUS_MODE_EP11, "SERIAL0000000003", MKVP2),
		apqn(4, 0x2b, 8, APBUS_MODE_EP11, "SERIAL0000000004", MKVP1),
		apqn(5, 0x05, 8, APBUS_MODE_ACCEL, NULL, NULL),
	};
	struct apcfg_secret s[3] = { secret(0, 2, "s0"), secret(1, 3, "retr"), secret(2, 2, "s2") };
	struct fake f;
	struct pvk_err e;
	size_t sat;

	(void)state;
	/* fresh: bind the accelerator, bind + associate the EP11 queue */
	memset(&f, 0, sizeof(f));
	for (int i = 0; i < 4; i++)
		f.q[i].bind = APBUS_BIND_UNBOUND;
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000003\n") "- mode: accel\n",
			       q, 4, &f, s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 2);
	assert_string_equal(f.log, "bind 03.002b;assoc 03.002b 0;bind 05.0005;");
	assert_string_equal(f.warn, "");

	/* again: everything already satisfied, nothing done */
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000003\n") "- mode: accel\n",
			       q, 4, &f, s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 2);
	assert_string_equal(f.log, "");

	/* the accelerator dropped from the file: unbound */
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000003\n"), q, 4, &f, s,
			       3, 0, &sat, &e), 0);
	assert_int_equal(sat, 1);
	assert_string_equal(f.log, "unbind 05.0005;");

	/* associated with another secret: unbound, bound, associated anew */
	assert_int_equal(apply(CFG_EP11("s2", MKVP1, "  serialnr: SERIAL0000000003\n"), q, 4, &f, s,
			       3, 0, &sat, &e), 0);
	assert_int_equal(sat, 1);
	assert_string_equal(f.log, "unbind 03.002b;bind 03.002b;assoc 03.002b 2;");

	/* dry run: only state reads */
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "") "- mode: accel\n", q, 4, &f, s, 3, 1,
			       &sat, &e), 0);
	assert_int_equal(sat, 2);
	assert_string_equal(f.log, "");
	assert_int_equal(f.q[0].idx, 2);

	/* a secret not in the UV (or not an association secret): warned, not satisfied */
	assert_int_equal(apply(CFG_EP11("retr", MKVP2, "") CFG_EP11("nothere", MKVP1, ""), q, 4, &f,
			       s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 0);
	assert_non_null(strstr(f.warn, "of AP config entry #1 'retr' is not in the UV's list"));
	assert_non_null(strstr(f.warn, "of AP config entry #2 'nothere' is not in the UV's list"));
	assert_string_equal(f.log, "unbind 03.002b;");

	/* a wrong MKVP: no APQN, said so */
	assert_int_equal(apply(CFG_EP11("s0", "00112233445566778899aabbccddeeff", ""), q, 4, &f, s,
			       3, 0, &sat, &e), 0);
	assert_int_equal(sat, 0);
	assert_non_null(strstr(f.warn, "#1 's0' not applied: no EP11 APQN with MKVP 00112233"));

	/* the backup pair: one secret, same MKVP, two adapters */
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000003\n")
			       CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000004\n"),
			       q, 4, &f, s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 2);
	assert_string_equal(f.log, "bind 03.002b;assoc 03.002b 0;bind 04.002b;assoc 04.002b 0;");

	/* one secret for two queues of one adapter: the firmware refuses it, so the second
	 * entry is not applied (and nothing is tried) */
	for (int i = 0; i < 4; i++)
		f.q[i].bind = APBUS_BIND_UNBOUND, f.q[i].assoc = APBUS_ASSOC_UNASSOCIATED;
	assert_int_equal(apply(CFG_EP11("s0", MKVP1, "  serialnr: SERIAL0000000003\n")
			       CFG_EP11("s0", MKVP2, ""),
			       q, 4, &f, s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 1);
	assert_string_equal(f.log, "bind 03.002b;assoc 03.002b 0;");
	assert_non_null(strstr(f.warn, "#2 's0' not applied: the matching APQNs share an adapter"));

	/* both entries match the same queue only: the second finds it taken */
	for (int i = 0; i < 4; i++)
		f.q[i].bind = APBUS_BIND_UNBOUND, f.q[i].assoc = APBUS_ASSOC_UNASSOCIATED;
	assert_int_equal(apply("- mode: accel\n- mode: accel\n", q, 4, &f, s, 3, 0, &sat, &e), 0);
	assert_int_equal(sat, 1);
	assert_non_null(strstr(f.warn, "#2 not applied: every matching APQN serves another entry"));

	/* a refused bind ends the run with an error (the queue is reset) */
	f.q[3].fail_bind = 1;
	f.q[3].bind = APBUS_BIND_UNBOUND;
	assert_int_equal(apply("- mode: accel\n", q, 4, &f, s, 3, 0, &sat, &e), -1);
	assert_non_null(strstr(e.msg, "Failure binding APQN 05.0005"));
	assert_string_equal(f.log, "bind 05.0005;unbind 05.0005;");
}

/* ---- lib/apbus.c over a sysfs tree ---- */

static void put(const char *root, const char *rel, const char *text)
{
	char path[4300], cmd[4400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_apbus_parse(void **state)
{
	char mk[33];
	unsigned c, d, idx = 99;
	int gen;
	enum apbus_mode m;

	(void)state;
	assert_int_equal(pvk_apbus_parse_type("CEX8P", &gen, &m), 0);
	assert_int_equal(gen, 8);
	assert_int_equal(m, APBUS_MODE_EP11);
	assert_int_equal(pvk_apbus_parse_type("CEX4A", &gen, &m), 0);
	assert_int_equal(m, APBUS_MODE_ACCEL);
	assert_int_equal(pvk_apbus_parse_type("CEX7C", &gen, &m), 0);
	assert_int_equal(m, APBUS_MODE_CCA);
	assert_int_equal(pvk_apbus_parse_type("CEX9P", &gen, &m), -1);
	assert_int_equal(pvk_apbus_parse_type("CEX2A", &gen, &m), -1);
	assert_int_equal(pvk_apbus_parse_type("CEX8X", &gen, &m), -1);
	assert_int_equal(pvk_apbus_parse_type("CEX8PP", &gen, &m), -1);
	assert_int_equal(pvk_apbus_parse_apqn("03.002b", &c, &d), 0);
	assert_int_equal(c, 3);
	assert_int_equal(d, 0x2b);
	assert_int_equal(pvk_apbus_parse_apqn("3.002b", &c, &d), -1);
	assert_int_equal(pvk_apbus_parse_apqn("03.2b", &c, &d), -1);
	assert_int_equal(pvk_apbus_parse_apqn("03-002b", &c, &d), -1);
	assert_int_equal(pvk_apbus_parse_bind("bound"), APBUS_BIND_BOUND);
	assert_int_equal(pvk_apbus_parse_bind("unbound"), APBUS_BIND_UNBOUND);
	assert_int_equal(pvk_apbus_parse_bind("-"), APBUS_BIND_UNSUPPORTED);
	assert_int_equal(pvk_apbus_parse_bind("1"), APBUS_BIND_OTHER);
	assert_int_equal(pvk_apbus_parse_assoc("associated 17", &idx), APBUS_ASSOC_ASSOCIATED);
	assert_int_equal(idx, 17);
	assert_int_equal(pvk_apbus_parse_assoc("associated 65536", &idx), APBUS_ASSOC_OTHER);
	assert_int_equal(pvk_apbus_parse_assoc("associated x", &idx), APBUS_ASSOC_OTHER);
	assert_int_equal(pvk_apbus_parse_assoc("association pending", NULL), APBUS_ASSOC_PENDING);
	assert_int_equal(pvk_apbus_parse_assoc("unassociated", NULL), APBUS_ASSOC_UNASSOCIATED);
	assert_int_equal(pvk_apbus_parse_assoc("-", NULL), APBUS_ASSOC_UNSUPPORTED);
	assert_int_equal(pvk_apbus_parse_mkvp("WK CUR: valid 0xDB3C3B3C3F097DD55EC7EB0E7FDBCB93865a772e6aac79d243e270bc5d965b47\n"
					  "WK NEW: empty -\n", "WK", mk), 0);
	assert_string_equal(mk, MKVP1);
	assert_int_equal(pvk_apbus_parse_mkvp("WK CUR: invalid -\nWK NEW: empty -\n", "WK", mk), 0);
	assert_string_equal(mk, "");
	assert_int_equal(pvk_apbus_parse_mkvp("WK CUR: - -\n", "WK", mk), 0);
	assert_string_equal(mk, "");
	assert_int_equal(pvk_apbus_parse_mkvp("AES CUR: valid 0x0011223344556677\nAPKA CUR: valid 0x8899\n",
					  "APKA", mk), 0);
	assert_string_equal(mk, "8899");
	assert_int_equal(pvk_apbus_parse_mkvp("garbage\n", "WK", mk), -1);
	assert_int_equal(pvk_apbus_parse_mkvp("WK CUR: valid\n", "WK", mk), -1);
}

static int check_never(const char *v, void *ctx)
{
	(void)v;
	(void)ctx;
	return 0;
}

static int check_refused(const char *v, void *ctx)
{
	(void)ctx;
	return strcmp(v, "unassociated") ? 0 : -1;
}

static int check_done(const char *v, void *ctx)
{
	(void)ctx;
	return !strcmp(v, "unassociated");
}

static void test_apbus_sysfs(void **state)
{
	char *root = tmpdir_make(), buf[256], p[4200];
	unsigned ids[8], idx;
	size_t n;
	struct pvk_err e;
	enum pvk_apbus_bind b;
	enum apbus_assoc a;
	unsigned long f;
	struct pvk_apbus_wait w = { 20, 100, check_never, NULL };

	(void)state;
	setenv("PVKIT_SYSFS_ROOT", root, 1);
	assert_false(pvk_apbus_present());
	assert_false(pvk_apbus_has_feature("APSB"));
	assert_int_equal(pvk_apbus_bindings_complete(&e), -1);
	put(root, "bus/ap/features", "APSC APXA APSBX\n");
	put(root, "bus/ap/bindings", "complete (3/3)\n");
	assert_true(pvk_apbus_present());
	assert_false(pvk_apbus_has_feature("APSB"));
	assert_true(pvk_apbus_has_feature("APSC"));
	assert_int_equal(pvk_apbus_bindings_complete(&e), 1);
	put(root, "bus/ap/features", "APSC APSB\n");
	assert_true(pvk_apbus_has_feature("APSB"));
	put(root, "devices/ap/card0a/type", "CEX8P\n");
	put(root, "devices/ap/card03/type", "CEX8A\n");
	put(root, "devices/ap/cardzz/type", "x\n");
	put(root, "devices/ap/card03/03.0031/se_bind", "bound\n");
	put(root, "devices/ap/card03/03.002b/se_bind", "unbound\n");
	put(root, "devices/ap/card03/03.002b/se_associate", "associated 5\n");
	put(root, "devices/ap/card03/03.002b/ap_functions", "0x06804000\n");
	put(root, "devices/ap/card03/04.0001/se_bind", "bound\n");   /* not card 03's */
	assert_int_equal(pvk_apbus_cards(ids, 8, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 10);
	assert_int_equal(pvk_apbus_queues(3, ids, 8, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 0x2b);
	assert_int_equal(ids[1], 0x31);
	assert_int_equal(pvk_apbus_queues(9, ids, 8, &n, &e), -1);
	assert_true(pvk_apbus_queue_exists(3, 0x2b));
	assert_false(pvk_apbus_queue_exists(3, 0x2c));
	assert_int_equal(pvk_apbus_read_card(10, "type", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "CEX8P");
	assert_int_equal(pvk_apbus_bind_state(3, 0x31, &b, &e), 0);
	assert_int_equal(b, APBUS_BIND_BOUND);
	assert_int_equal(pvk_apbus_assoc_state(3, 0x2b, &a, &idx, &e), 0);
	assert_int_equal(a, APBUS_ASSOC_ASSOCIATED);
	assert_int_equal(idx, 5);
	assert_int_equal(pvk_apbus_queue_functions(3, 0x2b, &f, &e), 0);
	assert_int_equal(APBUS_BS(f), APBUS_BS_BOUND);
	/* writes reach the file (the kernel or uvsim answers them) */
	assert_int_equal(pvk_apbus_write_queue(3, 0x2b, "se_bind", "1", &e), 0);
	assert_int_equal(pvk_apbus_read_queue(3, 0x2b, "se_bind", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "1");
	assert_int_equal(pvk_apbus_bind_state(3, 0x2b, &b, &e), -1);
	assert_non_null(strstr(e.msg, "unknown bind state '1'"));
	assert_int_equal(pvk_apbus_write_queue(3, 0x2c, "se_bind", "1", &e), -1);
	/* a write nobody answers: timeout */
	assert_int_equal(pvk_apbus_bind(3, 0x2b, 100, &e), -1);
	assert_non_null(strstr(e.msg, "timeout"));
	put(root, "devices/ap/card03/03.0031/se_associate", "unassociated\n");
	assert_int_equal(pvk_apbus_associate(3, 0x31, 4, 100, &e), -1);
	assert_non_null(strstr(e.msg, "timeout after 1 s (se_associate reads '4')"));
	assert_int_equal(pvk_apbus_wait(3, 0x2b, "se_bind", &w, buf, sizeof(buf), &e), -1);
	assert_non_null(strstr(e.msg, "timeout"));
	/* an answer that settles elsewhere (uvsim's refusal): an error at once */
	put(root, "devices/ap/card03/03.0031/se_associate", "unassociated\n");
	w.check = check_refused;
	w.timeout_ms = 60000;
	assert_int_equal(pvk_apbus_wait(3, 0x31, "se_associate", &w, buf, sizeof(buf), &e), -1);
	assert_string_equal(e.msg, "queue 03.0031: se_associate reads 'unassociated'");
	w.check = check_done;
	assert_int_equal(pvk_apbus_wait(3, 0x31, "se_associate", &w, buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "unassociated");
	assert_int_equal(pvk_apbus_associate(3, 0x31, 0x10000, 100, &e), -1);
	pvk_apbus_path(p, sizeof(p), "bus/ap/%s", "x");
	assert_int_equal(strncmp(p, root, strlen(root)), 0);
	unsetenv("PVKIT_SYSFS_ROOT");
	rm_rf(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_ibm_examples),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_sort_mk),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apbus_parse),
		cmocka_unit_test(test_apbus_sysfs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
