// SPDX-License-Identifier: MIT
/* pvapconfig's configuration, matching rule and algorithm (spec §7.4-7.6). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pvkit/apconfig.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/secret.h"
#include "pvkit/yamlin.h"

/* ---- the YAML file ---- */

enum field { F_NAME, F_DESCRIPTION, F_MODE, F_MKVP, F_SERIALNR, F_MINGEN, F_SECRETID, F_N };

static const char *const field_names[F_N] = {
	"name", "description", "mode", "mkvp", "serialnr", "mingen", "secretid",
};

/* An entry as read: the raw strings and the lines they are on. */
struct raw_entry {
	char *v[F_N];
	unsigned line[F_N];
	unsigned start;
};

struct reader {
	struct yin y;
	const char *fname;
	struct raw_entry *raw;
	size_t n, cap;
};

static int at(struct pvk_err *e, const char *fname, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int at(struct pvk_err *e, const char *fname, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[PVK_ERR_MSG_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pvk_fail(e, PVK_E_FORMAT, "%s:%zu:%zu: %s", fname, m->line + 1, m->column + 1, msg);
}

static int next_event(struct reader *r, yaml_event_t *ev, struct pvk_err *e)
{
	return pvk_yin_next(&r->y, ev, e);
}

static int is_null_scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *kind(yaml_event_type_t t)
{
	switch (t) {
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_MAPPING_START_EVENT: return "a mapping";
	default: return "a scalar";
	}
}

static void raw_free(struct raw_entry *re)
{
	for (int i = 0; i < F_N; i++)
		free(re->v[i]);
}

/* One mapping of the list (its MAPPING_START already read). */
static int read_entry(struct reader *r, struct raw_entry *re, struct pvk_err *e)
{
	for (;;) {
		yaml_event_t k, v;
		int f;

		if (next_event(r, &k, e))
			return -1;
		if (k.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&k);
			return 0;
		}
		if (k.type != YAML_SCALAR_EVENT) {
			at(e, r->fname, &k.start_mark, "AP config entry #%zu: a key must be a string",
			   r->n);
			yaml_event_delete(&k);
			return -1;
		}
		for (f = 0; f < F_N; f++)
			if (!strcmp((const char *)k.data.scalar.value, field_names[f]))
				break;
		if (f == F_N) {
			at(e, r->fname, &k.start_mark,
			   "AP config entry #%zu: unknown key '%s' (known keys: name, description, "
			   "mode, mkvp, serialnr, mingen, secretid)",
			   r->n, (const char *)k.data.scalar.value);
			yaml_event_delete(&k);
			return -1;
		}
		if (re->v[f]) {
			at(e, r->fname, &k.start_mark, "AP config entry #%zu: duplicate key '%s'",
			   r->n, field_names[f]);
			yaml_event_delete(&k);
			return -1;
		}
		re->line[f] = (unsigned)k.start_mark.line + 1;
		yaml_event_delete(&k);
		if (next_event(r, &v, e))
			return -1;
		if (v.type != YAML_SCALAR_EVENT) {
			at(e, r->fname, &v.start_mark,
			   "AP config entry #%zu: the value of '%s' must be a string, not %s",
			   r->n, field_names[f], kind(v.type));
			yaml_event_delete(&v);
			return -1;
		}
		re->v[f] = strdup(is_null_scalar(&v) ? "" : (const char *)v.data.scalar.value);
		yaml_event_delete(&v);
		if (!re->v[f])
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
}

static int read_list(struct reader *r, struct pvk_err *e)
{
	for (;;) {
		yaml_event_t ev;
		struct raw_entry *re;

		if (next_event(r, &ev, e))
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_MAPPING_START_EVENT) {
			at(e, r->fname, &ev.start_mark,
			   "AP config entry #%zu must be a mapping of keys (mode, mkvp, ...), not %s",
			   r->n + 1, kind(ev.type));
			yaml_event_delete(&ev);
			return -1;
		}
		if (r->n == APCFG_MAX_ENTRIES) {
			at(e, r->fname, &ev.start_mark, "more than %d AP config entries",
			   APCFG_MAX_ENTRIES);
			yaml_event_delete(&ev);
			return -1;
		}
		if (r->n == r->cap) {
			size_t cap = r->cap ? 2 * r->cap : 8;
			struct raw_entry *nr = realloc(r->raw, cap * sizeof(*nr));

			if (!nr) {
				yaml_event_delete(&ev);
				return pvk_fail(e, PVK_E_NOMEM, "out of memory");
			}
			r->raw = nr;
			r->cap = cap;
		}
		re = &r->raw[r->n];
		memset(re, 0, sizeof(*re));
		re->start = (unsigned)ev.start_mark.line + 1;
		yaml_event_delete(&ev);
		r->n++;
		if (read_entry(r, re, e))
			return -1;
	}
}

static int read_yaml(struct reader *r, struct pvk_err *e)
{
	yaml_event_t ev;
	int docs = 0;

	if (next_event(r, &ev, e))
		return -1;
	yaml_event_delete(&ev);  /* STREAM_START */
	for (;;) {
		if (next_event(r, &ev, e))
			return -1;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			return pvk_fail(e, PVK_E_FORMAT, "%s: malformed YAML", r->fname);
		}
		if (docs++) {
			at(e, r->fname, &ev.start_mark, "more than one YAML document");
			yaml_event_delete(&ev);
			return -1;
		}
		yaml_event_delete(&ev);
		if (next_event(r, &ev, e))
			return -1;
		if (ev.type == YAML_SEQUENCE_START_EVENT) {
			yaml_event_delete(&ev);
			if (read_list(r, e))
				return -1;
		} else if (ev.type == YAML_SCALAR_EVENT && is_null_scalar(&ev)) {
			yaml_event_delete(&ev);  /* an empty document: no entries */
		} else {
			at(e, r->fname, &ev.start_mark,
			   "the configuration must be a list of AP config entries (\"- mode: ...\"), "
			   "not %s",
			   kind(ev.type));
			yaml_event_delete(&ev);
			return -1;
		}
		if (next_event(r, &ev, e))
			return -1;
		yaml_event_delete(&ev);  /* DOCUMENT_END */
	}
}

/* ---- validation ---- */

static char *trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* (0x)?[0-9a-f]{n}: returns the digits, or NULL. */
static const char *hexdigits(const char *s, size_t n)
{
	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	if (strlen(s) != n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return NULL;
	return s;
}

struct vctx {
	const char *fname;
	const struct raw_entry *re;
	size_t i;
	const char *name;
	struct pvk_err *e;
};

static int bad(const struct vctx *v, enum field f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct vctx *v, enum field f, const char *fmt, ...)
{
	char msg[PVK_ERR_MSG_MAX - 128];
	unsigned line = (int)f < F_N && v->re->line[f] ? v->re->line[f] : v->re->start;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*v->name)
		return pvk_fail(v->e, PVK_E_FORMAT, "%s:%u: AP config entry #%zu '%.100s': %s",
				v->fname, line, v->i + 1, v->name, msg);
	return pvk_fail(v->e, PVK_E_FORMAT, "%s:%u: AP config entry #%zu: %s", v->fname, line,
			v->i + 1, msg);
}

static int valid_mingen(const char *g, int ep11)
{
	if (strlen(g) != 4 || strncmp(g, "cex", 3))
		return 0;
	return ep11 ? g[3] == '8' : g[3] >= '4' && g[3] <= '8';
}

static int validate(const struct vctx *v, struct raw_entry *re, struct apcfg_entry *out)
{
	const char *raw_mkvp;
	char *mode;

	if (!re->v[F_MODE])
		return bad(v, F_MODE, "Mode missing (ep11 or accel).");
	mode = trim(re->v[F_MODE]);
	lower(mode);
	if (!strcmp(mode, "accel"))
		out->mode = APCFG_MODE_ACCEL;
	else if (!strcmp(mode, "ep11"))
		out->mode = APCFG_MODE_EP11;
	else
		return bad(v, F_MODE, "Unknown or invalid mode '%s' (ep11 or accel).", mode);

	if (re->v[F_MINGEN]) {
		char *g = trim(re->v[F_MINGEN]);

		lower(g);
		if (*g && !valid_mingen(g, out->mode == APCFG_MODE_EP11))
			return bad(v, F_MINGEN, "Mingen value '%s' is not valid (%s).", g,
				   out->mode == APCFG_MODE_EP11 ? "only CEX8" : "CEX4 to CEX8");
		out->mingen = *g ? g[3] - '0' : 0;
	}
	if (out->mode == APCFG_MODE_ACCEL)
		return 0;  /* mkvp, serialnr, secretid are ignored */

	raw_mkvp = re->v[F_MKVP] ? trim(re->v[F_MKVP]) : "";
	{
		char m[160];
		const char *d;

		snprintf(m, sizeof(m), "%s", raw_mkvp);
		lower(m);
		if (!*m)
			return bad(v, F_MKVP, "Mkvp value missing (required for EP11).");
		if ((d = hexdigits(m, 64)) || (d = hexdigits(m, 32))) {
			memcpy(out->mkvp, d, 32);
			out->mkvp[32] = 0;
		} else {
			return bad(v, F_MKVP,
				   "Mkvp value '%.100s' is not valid (32 or 64 hex digits, optional "
				   "0x).",
				   raw_mkvp);
		}
	}
	if (re->v[F_SERIALNR]) {
		char *s = trim(re->v[F_SERIALNR]);
		size_t n = strlen(s);
		int ok = n == 0 || n == 16;

		for (size_t i = 0; ok && i < n; i++)
			if (isspace((unsigned char)s[i]))
				ok = 0;
		if (!ok)
			return bad(v, F_SERIALNR,
				   "Serialnr value '%.100s' is not valid (16 non-blank characters).",
				   s);
		memcpy(out->serialnr, s, n + 1);
	}
	if (re->v[F_SECRETID]) {
		char *s = trim(re->v[F_SECRETID]);
		const char *d;

		lower(s);
		if (*s) {
			if (!(d = hexdigits(s, 64)))
				return bad(v, F_SECRETID,
					   "Secretid value '%.100s' is not valid (64 hex digits, "
					   "optional 0x).",
					   s);
			memcpy(out->secretid, d, 65);
		}
	}
	if (!*out->secretid && !*out->name)
		return bad(v, F_SECRETID, "Neither secretid nor name given.");
	if (*out->name) {
		uint8_t h[32];
		char hex[65];

		pvk_sha256(out->name, strlen(out->name), h);
		pvk_hex_encode(h, 32, hex);
		if (*out->secretid && strcmp(out->secretid, hex))
			return bad(v, F_SECRETID,
				   "Mismatch between sha256(name) and secretid (sha256('%.100s') = "
				   "%s).",
				   out->name, hex);
		memcpy(out->secretid, hex, 65);
	}
	return 0;
}

void pvk_apcfg_free(struct apcfg *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].description);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int pvk_apcfg_parse(const char *buf, size_t len, const char *fname, struct apcfg *c,
		struct pvk_err *e)
{
	struct reader r = { .fname = fname };
	int rc = -1;

	c->v = NULL;
	c->n = 0;
	if (pvk_yin_open(&r.y, (const uint8_t *)buf, len, fname, e))
		return -1;
	if (read_yaml(&r, e))
		goto out;
	if (r.n) {
		c->v = calloc(r.n, sizeof(*c->v));
		if (!c->v) {
			pvk_fail(e, PVK_E_NOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < r.n; i++) {
		struct raw_entry *re = &r.raw[i];
		struct apcfg_entry *ent = &c->v[i];
		struct vctx v = { .fname = fname, .re = re, .i = i, .e = e };

		c->n = i + 1;
		ent->line = re->start;
		ent->name = strdup(re->v[F_NAME] ? trim(re->v[F_NAME]) : "");
		ent->description = strdup(re->v[F_DESCRIPTION] ? re->v[F_DESCRIPTION] : "");
		if (!ent->name || !ent->description) {
			pvk_fail(e, PVK_E_NOMEM, "out of memory");
			goto out;
		}
		v.name = ent->name;
		if (validate(&v, re, ent))
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < r.n; i++)
		raw_free(&r.raw[i]);
	free(r.raw);
	pvk_yin_close(&r.y);
	if (rc)
		pvk_apcfg_free(c);
	return rc;
}

int pvk_apcfg_load(const char *path, struct apcfg *c, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (pvk_file_read_all(path, APCFG_MAX_FILE, &buf, &len, e))
		return pvk_wrap(e, "cannot read the AP config file");
	rc = pvk_apcfg_parse((const char *)buf, len, path, c, e);
	free(buf);
	return rc;
}

const char *pvk_apcfg_entry_label(const struct apcfg *c, size_t i, char *buf, size_t len)
{
	if (*c->v[i].name)
		snprintf(buf, len, "#%zu '%s'", i + 1, c->v[i].name);
	else
		snprintf(buf, len, "#%zu", i + 1);
	return buf;
}

/* ---- matching ---- */

static const char *mode_word(enum apbus_mode m)
{
	switch (m) {
	case APBUS_MODE_ACCEL: return "accelerator";
	case APBUS_MODE_CCA: return "CCA coprocessor";
	case APBUS_MODE_EP11: return "EP11 coprocessor";
	default: return "unknown mode";
	}
}

int pvk_apcfg_match(const struct apcfg_entry *ent, const struct apcfg_apqn *q, char *why,
		size_t len)
{
	char dummy[8];

	if (!why) {
		why = dummy;
		len = sizeof(dummy);
	}
	*why = 0;
	if ((ent->mode == APCFG_MODE_ACCEL) != (q->mode == APBUS_MODE_ACCEL) ||
	    (ent->mode == APCFG_MODE_EP11) != (q->mode == APBUS_MODE_EP11)) {
		snprintf(why, len, "is an %s, the entry asks for %s", mode_word(q->mode),
			 ent->mode == APCFG_MODE_ACCEL ? "an accelerator" : "an EP11 coprocessor");
		return 0;
	}
	if (ent->mingen && q->gen < ent->mingen) {
		snprintf(why, len, "is a CEX%d, older than mingen CEX%d", q->gen, ent->mingen);
		return 0;
	}
	if (ent->mode == APCFG_MODE_ACCEL)
		return 1;
	if (!q->info) {
		snprintf(why, len, "has no EP11 information (serial number, MKVP) to match");
		return 0;
	}
	if (*ent->serialnr && strcmp(ent->serialnr, q->serialnr)) {
		snprintf(why, len, "is on adapter serial number %s, the entry asks for %s",
			 *q->serialnr ? q->serialnr : "(none)", ent->serialnr);
		return 0;
	}
	if (strcmp(ent->mkvp, q->mkvp)) {
		if (*q->mkvp)
			snprintf(why, len, "has MKVP %s, the entry asks for %s", q->mkvp, ent->mkvp);
		else
			snprintf(why, len, "has no valid wrapping key (MKVP), the entry asks for %s",
				 ent->mkvp);
		return 0;
	}
	return 1;
}

void pvk_apcfg_sort(struct apcfg_apqn *q, size_t n)
{
	/* insertion sort: stable, and n is small */
	for (size_t i = 1; i < n; i++) {
		struct apcfg_apqn t = q[i];
		size_t j = i;

		while (j > 0 && q[j - 1].gen < t.gen) {
			q[j] = q[j - 1];
			j--;
		}
		q[j] = t;
	}
}

int pvk_apcfg_check_mk(const struct apcfg_apqn *q, size_t n, struct pvk_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct apcfg_apqn *a = &q[i];

		if (a->mode != APBUS_MODE_EP11 || !a->info || !*a->mkvp)
			continue;
		for (size_t j = i + 1; j < n; j++) {
			const struct apcfg_apqn *b = &q[j];

			if (a->card == b->card && b->mode == APBUS_MODE_EP11 && b->info &&
			    !strcmp(a->mkvp, b->mkvp))
				return pvk_fail(e, PVK_E_FORMAT,
						"APQN %02x.%04x and APQN %02x.%04x have the same "
						"MKVP %s: domains of one adapter must not share a "
						"master key",
						a->card, a->dom, b->card, b->dom, a->mkvp);
		}
	}
	return 0;
}

/* ---- the UV's secret list ---- */

int pvk_apcfg_parse_secrets(const uint8_t *buf, size_t len, struct apcfg_secret **out, size_t *n,
			int *more, struct pvk_err *e)
{
	struct secret_list l;

	*out = NULL;
	*n = 0;
	*more = 0;
	if (pvk_secret_list_parse(buf, len, &l, e))
		return -1;
	*more = l.total > l.n;
	if (l.n) {
		*out = calloc(l.n, sizeof(**out));
		if (!*out) {
			pvk_secret_list_free(&l);
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < l.n; i++) {
		(*out)[i].index = l.entries[i].index;
		(*out)[i].type = l.entries[i].type;
		memcpy((*out)[i].id, l.entries[i].id, 32);
	}
	*n = l.n;
	pvk_secret_list_free(&l);
	return 0;
}

/* ---- the algorithm ---- */

struct runner {
	const struct apcfg *c;
	const struct apcfg_apqn *q;
	size_t nq;
	const struct apcfg_secret *s;
	size_t ns;
	const struct apcfg_ops *ops;
	struct apcfg_run *run;
	int *done;     /* per entry */
	int *used;     /* per APQN: entry index or -1 */
	long *assoc;   /* per APQN: association index it has/gets, or -1 */
};

static void logf_(const struct runner *r, enum apcfg_log lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(const struct runner *r, enum apcfg_log lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!r->run->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->run->log(r->run->log_ctx, lvl, msg);
}

/* The association secret (type 2) with the entry's ID, and index idx if idx >= 0. */
static const struct apcfg_secret *find_secret(const struct runner *r, const char *id_hex,
					      long idx)
{
	for (size_t i = 0; i < r->ns; i++) {
		char hex[65];

		if (r->s[i].type != 2 || (idx >= 0 && r->s[i].index != idx))
			continue;
		pvk_hex_encode(r->s[i].id, 32, hex);
		if (!strcmp(hex, id_hex))
			return &r->s[i];
	}
	return NULL;
}

static int pass_satisfied(struct runner *r, struct pvk_err *e)
{
	for (size_t ci = 0; ci < r->c->n; ci++) {
		const struct apcfg_entry *ent = &r->c->v[ci];
		char label[160];

		pvk_apcfg_entry_label(r->c, ci, label, sizeof(label));
		for (size_t ai = 0; ai < r->nq; ai++) {
			const struct apcfg_apqn *q = &r->q[ai];
			struct pvk_err le;

			if (r->used[ai] >= 0 || !pvk_apcfg_match(ent, q, NULL, 0))
				continue;
			if (q->mode == APBUS_MODE_ACCEL) {
				enum pvk_apbus_bind st;

				if (r->ops->bind_state(r->ops->ctx, q, &st, &le)) {
					logf_(r, APCFG_LOG_WARN,
					      "Failure reading the bind state of APQN %02x.%04x: %s",
					      q->card, q->dom, le.msg);
					continue;
				}
				if (st != APBUS_BIND_BOUND)
					continue;
				logf_(r, APCFG_LOG_INFO,
				      "Accelerator APQN %02x.%04x already satisfies AP config "
				      "entry %s.",
				      q->card, q->dom, label);
			} else {
				enum apbus_assoc st;
				unsigned idx = 0;

				if (r->ops->assoc_state(r->ops->ctx, q, &st, &idx, &le)) {
					logf_(r, APCFG_LOG_WARN,
					      "Failure reading the association state of APQN "
					      "%02x.%04x: %s",
					      q->card, q->dom, le.msg);
					continue;
				}
				if (st != APBUS_ASSOC_ASSOCIATED ||
				    !find_secret(r, ent->secretid, idx))
					continue;
				r->assoc[ai] = idx;
				logf_(r, APCFG_LOG_INFO,
				      "EP11 APQN %02x.%04x already satisfies AP config entry %s "
				      "(UV secret index %u).",
				      q->card, q->dom, label, idx);
			}
			r->done[ci] = 1;
			r->used[ai] = (int)ci;
			r->run->satisfied++;
			break;
		}
	}
	(void)e;
	return 0;
}

static int pass_unbind(struct runner *r, struct pvk_err *e)
{
	for (size_t ai = 0; ai < r->nq; ai++) {
		const struct apcfg_apqn *q = &r->q[ai];
		enum pvk_apbus_bind st;
		struct pvk_err le;

		if (r->used[ai] >= 0)
			continue;
		if (r->ops->bind_state(r->ops->ctx, q, &st, &le)) {
			logf_(r, APCFG_LOG_WARN,
			      "Failure reading the bind state of APQN %02x.%04x: %s", q->card,
			      q->dom, le.msg);
			continue;
		}
		if (st != APBUS_BIND_BOUND)
			continue;
		logf_(r, APCFG_LOG_ACTION,
		      "Unbind APQN %02x.%04x: it does not serve any AP config entry.", q->card,
		      q->dom);
		if (!r->run->dry_run && r->ops->unbind(r->ops->ctx, q, e))
			return pvk_wrap(e, "Failure unbinding APQN %02x.%04x", q->card, q->dom);
	}
	return 0;
}

/* The same association secret may not serve two queues of one adapter (firmware rule). */
static int secret_busy_on_card(const struct runner *r, size_t ai, unsigned idx)
{
	for (size_t j = 0; j < r->nq; j++)
		if (j != ai && r->q[j].card == r->q[ai].card && r->assoc[j] == (long)idx)
			return 1;
	return 0;
}

static void explain_unmatched(const struct runner *r, size_t ci, const char *label)
{
	const struct apcfg_entry *ent = &r->c->v[ci];
	size_t candidates = 0, busy = 0;

	for (size_t ai = 0; ai < r->nq; ai++) {
		char why[256];

		if (pvk_apcfg_match(ent, &r->q[ai], why, sizeof(why))) {
			candidates++;
			if (r->used[ai] >= 0)
				busy++;
			continue;
		}
		logf_(r, APCFG_LOG_INFO, "APQN %02x.%04x does not match AP config entry %s: it %s.",
		      r->q[ai].card, r->q[ai].dom, label, why);
	}
	if (candidates && candidates == busy)
		logf_(r, APCFG_LOG_WARN,
		      "AP config entry %s not applied: every matching APQN serves another entry.",
		      label);
	else if (candidates)
		logf_(r, APCFG_LOG_WARN,
		      "AP config entry %s not applied: the matching APQNs share an adapter with a "
		      "queue that uses the same association secret.",
		      label);
	else if (ent->mode == APCFG_MODE_EP11)
		logf_(r, APCFG_LOG_WARN,
		      "AP config entry %s not applied: no EP11 APQN with MKVP %s%s%s%s.", label,
		      ent->mkvp, *ent->serialnr ? " on adapter " : "", ent->serialnr,
		      ent->mingen ? " (mingen CEX8)" : "");
	else
		logf_(r, APCFG_LOG_WARN, "AP config entry %s not applied: no accelerator APQN%s.",
		      label, ent->mingen ? " of that generation (mingen)" : "");
}

static int pass_configure(struct runner *r, struct pvk_err *e)
{
	for (size_t ci = 0; ci < r->c->n; ci++) {
		const struct apcfg_entry *ent = &r->c->v[ci];
		const struct apcfg_secret *sec = NULL;
		char label[160];
		int gave_up = 0;

		if (r->done[ci])
			continue;
		pvk_apcfg_entry_label(r->c, ci, label, sizeof(label));
		for (size_t ai = 0; ai < r->nq && !gave_up; ai++) {
			const struct apcfg_apqn *q = &r->q[ai];

			if (r->used[ai] >= 0 || !pvk_apcfg_match(ent, q, NULL, 0))
				continue;
			if (q->mode == APBUS_MODE_ACCEL) {
				logf_(r, APCFG_LOG_ACTION,
				      "Bind APQN %02x.%04x to match AP config entry %s.", q->card,
				      q->dom, label);
				if (!r->run->dry_run && r->ops->bind(r->ops->ctx, q, e)) {
					struct pvk_err le;

					r->ops->unbind(r->ops->ctx, q, &le);
					return pvk_wrap(e, "Failure binding APQN %02x.%04x", q->card,
							q->dom);
				}
			} else {
				if (!sec && !(sec = find_secret(r, ent->secretid, -1))) {
					logf_(r, APCFG_LOG_WARN,
					      "Secret id '%s' of AP config entry %s is not in the UV's "
					      "list of association secrets.",
					      ent->secretid, label);
					gave_up = 1;
					break;
				}
				if (secret_busy_on_card(r, ai, sec->index)) {
					logf_(r, APCFG_LOG_INFO,
					      "APQN %02x.%04x skipped for AP config entry %s: UV secret "
					      "index %u serves another queue of adapter %02x.",
					      q->card, q->dom, label, sec->index, q->card);
					continue;
				}
				logf_(r, APCFG_LOG_ACTION,
				      "Bind APQN %02x.%04x to match AP config entry %s (step 1/2).",
				      q->card, q->dom, label);
				if (!r->run->dry_run && r->ops->bind(r->ops->ctx, q, e)) {
					struct pvk_err le;

					r->ops->unbind(r->ops->ctx, q, &le);
					return pvk_wrap(e, "Failure binding APQN %02x.%04x", q->card,
							q->dom);
				}
				logf_(r, APCFG_LOG_ACTION,
				      "Associate APQN %02x.%04x with UV secret index %u to match AP "
				      "config entry %s (step 2/2).",
				      q->card, q->dom, sec->index, label);
				if (!r->run->dry_run &&
				    r->ops->associate(r->ops->ctx, q, sec->index, e))
					return pvk_wrap(e, "Failure associating APQN %02x.%04x", q->card,
							q->dom);
				r->assoc[ai] = sec->index;
			}
			r->done[ci] = 1;
			r->used[ai] = (int)ci;
			r->run->satisfied++;
			break;
		}
		if (!r->done[ci] && !gave_up)
			explain_unmatched(r, ci, label);
	}
	return 0;
}

int pvk_apcfg_apply(const struct apcfg *c, const struct apcfg_apqn *q, size_t nq,
		const struct apcfg_secret *s, size_t ns, const struct apcfg_ops *ops,
		struct apcfg_run *run, struct pvk_err *e)
{
	struct runner r = { .c = c, .q = q, .nq = nq, .s = s, .ns = ns, .ops = ops, .run = run };
	int rc = -1;

	run->satisfied = 0;
	r.done = calloc(c->n ? c->n : 1, sizeof(*r.done));
	r.used = calloc(nq ? nq : 1, sizeof(*r.used));
	r.assoc = calloc(nq ? nq : 1, sizeof(*r.assoc));
	if (!r.done || !r.used || !r.assoc) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nq; i++) {
		r.used[i] = -1;
		r.assoc[i] = -1;
	}
	if (pass_satisfied(&r, e) || pass_unbind(&r, e) || pass_configure(&r, e))
		goto out;
	rc = 0;
out:
	free(r.done);
	free(r.used);
	free(r.assoc);
	return rc;
}

/* ---- the real AP bus ---- */

static int sys_bind_state(void *ctx, const struct apcfg_apqn *q, enum pvk_apbus_bind *st,
			  struct pvk_err *e)
{
	(void)ctx;
	return pvk_apbus_bind_state(q->card, q->dom, st, e);
}

static int sys_assoc_state(void *ctx, const struct apcfg_apqn *q, enum apbus_assoc *st,
			   unsigned *idx, struct pvk_err *e)
{
	(void)ctx;
	return pvk_apbus_assoc_state(q->card, q->dom, st, idx, e);
}

static int sys_bind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	(void)ctx;
	return pvk_apbus_bind(q->card, q->dom, APBUS_CFG_TIMEOUT_MS, e);
}

static int sys_unbind(void *ctx, const struct apcfg_apqn *q, struct pvk_err *e)
{
	(void)ctx;
	return pvk_apbus_unbind(q->card, q->dom, APBUS_CFG_TIMEOUT_MS, e);
}

static int sys_associate(void *ctx, const struct apcfg_apqn *q, unsigned idx,
			 struct pvk_err *e)
{
	(void)ctx;
	return pvk_apbus_associate(q->card, q->dom, idx, APBUS_CFG_TIMEOUT_MS, e);
}

const struct apcfg_ops pvk_apcfg_sysfs_ops = {
	.bind_state = sys_bind_state,
	.assoc_state = sys_assoc_state,
	.bind = sys_bind,
	.unbind = sys_unbind,
	.associate = sys_associate,
	.ctx = NULL,
};
