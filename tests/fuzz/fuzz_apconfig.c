// SPDX-License-Identifier: MIT
/* pvapconfig's YAML (pvk_apcfg_parse); a configuration that parses is checked against what the
 * validator promises, matched against a fixed set of APQNs and applied to an in-memory AP
 * bus (pass 1, unbind, pass 2), once for real and once as a dry run. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pvkit/apconfig.h"
#include "pvkit/crypto.h"

#define MKVP1 "0123456789abcdef0123456789abcdef"
#define MKVP2 "fedcba9876543210fedcba9876543210"

static const struct apcfg_apqn apqns[] = {
	{ .card = 0, .dom = 0, .gen = 8, .mode = APBUS_MODE_EP11, .info = 1,
	  .serialnr = "SERIAL0000000001", .mkvp = MKVP1 },
	{ .card = 0, .dom = 1, .gen = 8, .mode = APBUS_MODE_EP11, .info = 1,
	  .serialnr = "SERIAL0000000001", .mkvp = MKVP2 },
	{ .card = 1, .dom = 0, .gen = 7, .mode = APBUS_MODE_EP11, .info = 0 },
	{ .card = 2, .dom = 5, .gen = 7, .mode = APBUS_MODE_ACCEL },
	{ .card = 3, .dom = 5, .gen = 5, .mode = APBUS_MODE_ACCEL },
	{ .card = 4, .dom = 6, .gen = 8, .mode = APBUS_MODE_CCA },
};
#define NQ (sizeof(apqns) / sizeof(apqns[0]))

struct bus {
	enum pvk_apbus_bind bind[NQ];
	enum apbus_assoc assoc[NQ];
	unsigned idx[NQ];
	unsigned calls;
};

static size_t pos(const struct apcfg_apqn *q)
{
	for (size_t i = 0; i < NQ; i++)
		if (apqns[i].card == q->card && apqns[i].dom == q->dom)
			return i;
	fuzz_fail(__FILE__, __LINE__, "unknown APQN");
}

/* Every seventh call fails, so the error paths run too. */
static int flaky(struct bus *b, struct pvk_err *e)
{
	if (++b->calls % 7 == 0)
		return pvk_fail(e, PVK_E_IO, "simulated sysfs failure");
	return 0;
}

static int bind_state(void *ctx, const struct apcfg_apqn *q, enum pvk_apbus_bind *st,
		      struct pvk_err *e)
{
	struct bus *b = ctx;

	*st = b->bind[pos(q)];
	return flaky(b, e);
}

static int assoc_state(void *ctx, const struct apcfg_apqn *q, enum apbus_assoc *st,
		       unsigned *idx, struct pvk_err *e)
{
	struct bus *b = ctx;

	*st = b->assoc[pos(q)];
	*idx = b->idx[pos(q)];
	return flaky(b, e);
}

static int do_bind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	struct bus *b = ctx;

	b->bind[pos(q)] = APBUS_BIND_BOUND;
	return flaky(b, e);
}

static int do_unbind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	struct bus *b = ctx;

	b->bind[pos(q)] = APBUS_BIND_UNBOUND;
	b->assoc[pos(q)] = APBUS_ASSOC_UNASSOCIATED;
	return flaky(b, e);
}

static int do_associate(void *ctx, const struct apcfg_apqn *q, unsigned idx, struct pvk_err *e)
{
	struct bus *b = ctx;

	FUZZ_CHECK(b->bind[pos(q)] == APBUS_BIND_BOUND);
	b->assoc[pos(q)] = APBUS_ASSOC_ASSOCIATED;
	b->idx[pos(q)] = idx;
	return flaky(b, e);
}

static void logger(void *ctx, enum apcfg_log level, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(level <= APCFG_LOG_WARN);
	fuzz_touch(msg, strlen(msg));
}

#define SEED(name, text) fuzz_seed(name, text, strlen(text))

static void write_seeds(void)
{
	SEED("ep11-accel.yaml",
		  "# pvapconfig\n"
		  "- name: ep11 one\n"
		  "  description: first EP11\n"
		  "  mode: EP11\n"
		  "  mkvp: 0x" MKVP1 MKVP1 "\n"
		  "  serialnr: SERIAL0000000001\n"
		  "  mingen: CEX8\n"
		  "- mode: accel\n"
		  "  mingen: cex6\n"
		  "- mode: ep11\n"
		  "  mkvp: " MKVP2 "\n"
		  "  name: 'ep11 two'\n");
	SEED("secretid.yaml",
		  "---\n"
		  "- mode: ep11\n"
		  "  mkvp: " MKVP2 "\n"
		  "  secretid: 0x8d4a0b9a5b5c2bde0dfb1bfe8a5b3d3c6a3a6b1e0f2a6b9d4c6f8e1a2b3c4d5e\n"
		  "  serialnr: ~\n"
		  "...\n");
	SEED("empty.yaml", "");
	SEED("flow.yaml", "[{mode: accel, name: \"a\\tb\"}, {mode: accel}]\n");
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apcfg_secret secrets[3];
	struct apcfg_run run;
	struct apcfg_ops ops;
	struct pvk_err e;
	struct apcfg c;
	struct bus b;
	char label[160], why[256];

	if (pvk_apcfg_parse((const char *)data, size, "fuzz.yaml", &c, &e)) {
		FUZZ_CHECK(e.code == PVK_E_FORMAT && e.msg[0]);
		FUZZ_CHECK(c.n == 0 && c.v == NULL);
		return 0;
	}
	FUZZ_CHECK(c.n <= APCFG_MAX_ENTRIES);
	for (size_t i = 0; i < c.n; i++) {
		const struct apcfg_entry *ent = &c.v[i];

		FUZZ_CHECK(ent->mode == APCFG_MODE_ACCEL || ent->mode == APCFG_MODE_EP11);
		FUZZ_CHECK(ent->mingen == 0 || (ent->mingen >= 4 && ent->mingen <= 8));
		if (ent->mode == APCFG_MODE_EP11) {
			FUZZ_CHECK(strlen(ent->mkvp) == 32 && strlen(ent->secretid) == 64);
			FUZZ_CHECK(strlen(ent->serialnr) == 0 || strlen(ent->serialnr) == 16);
		}
		pvk_apcfg_entry_label(&c, i, label, sizeof(label));
		for (size_t k = 0; k < NQ; k++)
			if (!pvk_apcfg_match(ent, &apqns[k], why, sizeof(why)))
				FUZZ_CHECK(why[0]);
	}

	memset(secrets, 0, sizeof(secrets));
	secrets[0] = (struct apcfg_secret){ .index = 0, .type = 2 };
	pvk_sha256("ep11 one", 8, secrets[0].id);
	secrets[1] = (struct apcfg_secret){ .index = 1, .type = 3 };
	pvk_sha256("ep11 two", 8, secrets[1].id);
	secrets[2] = (struct apcfg_secret){ .index = 2, .type = 2 };
	pvk_sha256("ep11 two", 8, secrets[2].id);
	ops = (struct apcfg_ops){ bind_state, assoc_state, do_bind, do_unbind, do_associate, &b };
	for (int dry = 0; dry <= 1; dry++) {
		memset(&b, 0, sizeof(b));
		b.bind[0] = b.bind[3] = APBUS_BIND_BOUND;
		b.assoc[0] = APBUS_ASSOC_ASSOCIATED;
		b.calls = (unsigned)size % 7;
		memset(&run, 0, sizeof(run));
		run.dry_run = dry;
		run.log = logger;
		if (pvk_apcfg_apply(&c, apqns, NQ, secrets, 3, &ops, &run, &e))
			FUZZ_CHECK(!dry && e.msg[0]);
		FUZZ_CHECK(run.satisfied <= c.n);
	}
	pvk_apcfg_free(&c);
	return 0;
}
