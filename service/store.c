// SPDX-License-Identifier: MIT
/* The service's records and their schema. Every change a request makes is one transaction,
 * and a challenge is consumed by one conditional UPDATE, so two nodes (or two threads)
 * answering the same response concurrently consume it once: the loser sees it used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvkit/fileio.h"

#include "pvattestd.h"

/* A migration: its SQL for SQLite and for PostgreSQL (types differ, nothing else). */
struct migration {
	int version;
	const char *lite, *pg;
};

static const struct migration migrations[] = {
	{ 1,
	  "CREATE TABLE images (name TEXT PRIMARY KEY, tag BLOB NOT NULL, header BLOB NOT NULL,"
	  " policy TEXT NOT NULL, secrets BLOB NOT NULL, created_at INTEGER NOT NULL);"
	  "CREATE TABLE challenges (id TEXT PRIMARY KEY, image TEXT NOT NULL,"
	  " hosts TEXT NOT NULL, arpk BLOB NOT NULL, created_at INTEGER NOT NULL,"
	  " expires_at INTEGER NOT NULL, used_at INTEGER, idem BLOB, result_status INTEGER,"
	  " result BLOB);"
	  "CREATE TABLE attestations (id INTEGER PRIMARY KEY AUTOINCREMENT, challenge TEXT,"
	  " image TEXT NOT NULL, cuid TEXT, host TEXT, outcome TEXT NOT NULL, reason TEXT,"
	  " node TEXT, at INTEGER NOT NULL);",
	  "CREATE TABLE images (name TEXT PRIMARY KEY, tag BYTEA NOT NULL, header BYTEA NOT NULL,"
	  " policy TEXT NOT NULL, secrets BYTEA NOT NULL, created_at BIGINT NOT NULL);"
	  "CREATE TABLE challenges (id TEXT PRIMARY KEY, image TEXT NOT NULL,"
	  " hosts TEXT NOT NULL, arpk BYTEA NOT NULL, created_at BIGINT NOT NULL,"
	  " expires_at BIGINT NOT NULL, used_at BIGINT, idem BYTEA, result_status BIGINT,"
	  " result BYTEA);"
	  "CREATE TABLE attestations (id BIGSERIAL PRIMARY KEY, challenge TEXT,"
	  " image TEXT NOT NULL, cuid TEXT, host TEXT, outcome TEXT NOT NULL, reason TEXT,"
	  " node TEXT, at BIGINT NOT NULL);" },
	/* The audit report and the expiry sweep read by these. */
	{ 2,
	  "CREATE INDEX attestations_image ON attestations (image, cuid);"
	  "CREATE INDEX challenges_expiry ON challenges (expires_at) WHERE used_at IS NULL;",
	  "CREATE INDEX attestations_image ON attestations (image, cuid);"
	  "CREATE INDEX challenges_expiry ON challenges (expires_at) WHERE used_at IS NULL;" },
};

int store_schema_version(struct db *d, int *v, struct pvk_err *e)
{
	struct db_rows r;

	/* read only: /healthz asks this of every node, often */
	*v = 0;
	if (db_exec(d, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &r, e))
		return -1;
	if (r.nrows)
		*v = (int)db_int(&r, 0, 0);
	db_rows_free(&r);
	return 0;
}

/* One statement at a time: libpq's extended protocol takes one per call. */
static int exec_script(struct db *d, const char *script, struct pvk_err *e)
{
	char *s = strdup(script), *save = NULL;
	int rc = 0;

	if (!s)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	for (char *st = strtok_r(s, ";", &save); st && !rc; st = strtok_r(NULL, ";", &save))
		if (strspn(st, " \n\t") != strlen(st))
			rc = db_exec(d, st, NULL, 0, NULL, e);
	free(s);
	return rc;
}

int store_migrate(struct db *d, int *from, int *to, struct pvk_err *e)
{
	int v;

	if (db_begin(d, e))
		return -1;
	/* Nodes starting together: one migrates, the others wait and find it done. */
	if (db_kind(d) == DB_PG &&
	    db_exec(d, "SELECT pg_advisory_xact_lock(7305826)", NULL, 0, NULL, e))
		goto fail;
	if (db_exec(d, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
		    " applied_at BIGINT NOT NULL)", NULL, 0, NULL, e) ||
	    store_schema_version(d, &v, e))
		goto fail;
	*from = v;
	if (v > STORE_SCHEMA_VERSION) {
		db_rollback(d);
		return pvk_fail(e, PVK_E_FORMAT, "database: schema version %d is newer than this "
				"pvattestd's %d (downgrade refused)", v, STORE_SCHEMA_VERSION);
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		const struct migration *m = &migrations[i];
		struct db_val p[2] = { DB_INT(m->version), DB_INT((int64_t)time(NULL)) };

		if (m->version <= v)
			continue;
		if (exec_script(d, db_kind(d) == DB_SQLITE ? m->lite : m->pg, e) ||
		    db_exec(d, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
			    p, 2, NULL, e))
			goto fail;
	}
	*to = STORE_SCHEMA_VERSION;
	return db_commit(d, e);
fail:
	pvk_wrap(e, "schema migration");
	db_rollback(d);
	return -1;
}

int store_put_image(struct db *d, const struct store_image *im, struct pvk_err *e)
{
	struct db_val p[6] = {
		DB_TEXT(im->name), DB_BLOB(im->tag, 16), DB_BLOB(im->header, im->header_len),
		DB_TEXT(im->policy), DB_BLOB(im->secrets, im->secrets_len), DB_INT(im->created_at),
	};

	/* Registering a name again replaces its image and policy (one statement: atomic). */
	return db_exec(d, "INSERT INTO images (name, tag, header, policy, secrets, created_at) "
		       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
		       "tag = excluded.tag, header = excluded.header, policy = excluded.policy, "
		       "secrets = excluded.secrets, created_at = excluded.created_at",
		       p, 6, NULL, e);
}

static char *take(struct db_cell *c, size_t *n)
{
	char *p = (char *)c->p;

	if (n)
		*n = c->n;
	c->p = NULL;
	return p;
}

void store_image_free(struct store_image *im)
{
	free(im->name);
	free(im->header);
	free(im->policy);
	if (im->secrets)
		pvk_buf_free_secret(im->secrets, im->secrets_len);
	memset(im, 0, sizeof(*im));
}

int store_get_image(struct db *d, const char *name, struct store_image *im, struct pvk_err *e)
{
	struct db_val p[1] = { DB_TEXT(name) };
	struct db_rows r;
	int rc = 1;

	memset(im, 0, sizeof(*im));
	if (db_exec(d, "SELECT name, tag, header, policy, secrets, created_at FROM images "
		    "WHERE name = ?", p, 1, &r, e))
		return -1;
	if (r.nrows == 1 && db_cell(&r, 0, 1)->n == 16) {
		im->name = take((struct db_cell *)db_cell(&r, 0, 0), NULL);
		memcpy(im->tag, db_cell(&r, 0, 1)->p, 16);
		im->header = (uint8_t *)take((struct db_cell *)db_cell(&r, 0, 2), &im->header_len);
		im->policy = take((struct db_cell *)db_cell(&r, 0, 3), NULL);
		im->secrets = (uint8_t *)take((struct db_cell *)db_cell(&r, 0, 4), &im->secrets_len);
		im->created_at = db_int(&r, 0, 5);
		rc = 0;
	}
	db_rows_free(&r);
	return rc;
}

int store_list_images(struct db *d, struct db_rows *r, struct pvk_err *e)
{
	return db_exec(d, "SELECT name, tag, policy, created_at FROM images ORDER BY name", NULL, 0,
		       r, e);
}

int store_put_challenge(struct db *d, const struct store_challenge *c, struct pvk_err *e)
{
	struct db_val p[6] = {
		DB_TEXT(c->id), DB_TEXT(c->image), DB_TEXT(c->hosts), DB_BLOB(c->arpk, c->arpk_len),
		DB_INT(c->created_at), DB_INT(c->expires_at),
	};

	return db_exec(d, "INSERT INTO challenges (id, image, hosts, arpk, created_at, expires_at) "
		       "VALUES (?, ?, ?, ?, ?, ?)", p, 6, NULL, e);
}

void store_challenge_free(struct store_challenge *c)
{
	free(c->id);
	free(c->image);
	free(c->hosts);
	free(c->arpk);
	free(c->idem);
	free(c->result);
	memset(c, 0, sizeof(*c));
}

int store_get_challenge(struct db *d, const char *id, struct store_challenge *c,
			struct pvk_err *e)
{
	struct db_val p[1] = { DB_TEXT(id) };
	struct db_rows r;
	int rc = 1;

	memset(c, 0, sizeof(*c));
	if (db_exec(d, "SELECT id, image, hosts, arpk, created_at, expires_at, used_at, idem, "
		    "result_status, result FROM challenges WHERE id = ?", p, 1, &r, e))
		return -1;
	if (r.nrows == 1) {
		c->id = take((struct db_cell *)db_cell(&r, 0, 0), NULL);
		c->image = take((struct db_cell *)db_cell(&r, 0, 1), NULL);
		c->hosts = take((struct db_cell *)db_cell(&r, 0, 2), NULL);
		c->arpk = (uint8_t *)take((struct db_cell *)db_cell(&r, 0, 3), &c->arpk_len);
		c->created_at = db_int(&r, 0, 4);
		c->expires_at = db_int(&r, 0, 5);
		c->used = db_cell(&r, 0, 6)->p != NULL;
		c->used_at = db_int(&r, 0, 6);
		c->idem = (uint8_t *)take((struct db_cell *)db_cell(&r, 0, 7), &c->idem_len);
		c->result_status = (int)db_int(&r, 0, 8);
		c->result = (uint8_t *)take((struct db_cell *)db_cell(&r, 0, 9), &c->result_len);
		rc = 0;
	}
	db_rows_free(&r);
	return rc;
}

static int insert_record(struct db *d, const struct store_record *rec, struct pvk_err *e)
{
	struct db_val p[8] = {
		DB_TEXT(rec->challenge), DB_TEXT(rec->image), DB_TEXT(rec->cuid), DB_TEXT(rec->host),
		DB_TEXT(rec->outcome), DB_TEXT(rec->reason), DB_TEXT(rec->node), DB_INT(rec->at),
	};

	return db_exec(d, "INSERT INTO attestations (challenge, image, cuid, host, outcome, reason,"
		       " node, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, NULL, e);
}

int store_record(struct db *d, const struct store_record *rec, struct pvk_err *e)
{
	return insert_record(d, rec, e);
}

int store_finish_challenge(struct db *d, const char *id, const uint8_t *idem, size_t idem_len,
			   int status, const uint8_t *result, size_t result_len,
			   const struct store_record *rec, struct pvk_err *e)
{
	struct db_val p[5] = {
		DB_INT(rec->at), idem ? DB_BLOB(idem, idem_len) : DB_TEXT(NULL), DB_INT(status),
		DB_BLOB(result, result_len), DB_TEXT(id),
	};
	struct db_rows r;

	if (db_begin(d, e))
		return -1;
	if (db_exec(d, "UPDATE challenges SET used_at = ?, idem = ?, result_status = ?, "
		    "result = ? WHERE id = ? AND used_at IS NULL", p, 5, &r, e))
		goto fail;
	if (r.changes != 1) {
		/* Another request consumed it first: nothing recorded twice. */
		db_rows_free(&r);
		db_rollback(d);
		return 1;
	}
	db_rows_free(&r);
	if (insert_record(d, rec, e))
		goto fail;
	return db_commit(d, e);
fail:
	db_rollback(d);
	return -1;
}

int store_audit(struct db *d, const char *image, struct db_rows *r, struct pvk_err *e)
{
	struct db_val p[2] = { DB_TEXT(image), DB_TEXT(image) };

	/* Per image and guest: attestations, verified, refused, the last one and its reason. */
	return db_exec(d,
		       "SELECT a.image, COALESCE(a.cuid, ''), COUNT(*),"
		       " SUM(CASE WHEN a.outcome = 'verified' THEN 1 ELSE 0 END),"
		       " SUM(CASE WHEN a.outcome = 'verified' THEN 0 ELSE 1 END), MAX(a.at),"
		       " (SELECT b.outcome FROM attestations b WHERE b.image = a.image AND"
		       "  COALESCE(b.cuid, '') = COALESCE(a.cuid, '') ORDER BY b.id DESC LIMIT 1),"
		       " (SELECT COALESCE(b.reason, '') FROM attestations b WHERE b.image = a.image"
		       "  AND COALESCE(b.cuid, '') = COALESCE(a.cuid, '') ORDER BY b.id DESC LIMIT 1)"
		       " FROM attestations a WHERE (? IS NULL OR a.image = ?)"
		       " GROUP BY a.image, COALESCE(a.cuid, '') ORDER BY a.image, 2",
		       p, 2, r, e);
}

int store_audit_reasons(struct db *d, const char *image, struct db_rows *r, struct pvk_err *e)
{
	struct db_val p[2] = { DB_TEXT(image), DB_TEXT(image) };

	return db_exec(d, "SELECT image, COALESCE(cuid, ''), reason, COUNT(*) FROM attestations"
		       " WHERE outcome <> 'verified' AND (? IS NULL OR image = ?)"
		       " GROUP BY image, COALESCE(cuid, ''), reason ORDER BY 1, 2, 4 DESC",
		       p, 2, r, e);
}

int store_challenge_cuid(struct db *d, const char *id, char cuid[33], struct pvk_err *e)
{
	struct db_val p[1] = { DB_TEXT(id) };
	struct db_rows r;

	cuid[0] = 0;
	if (db_exec(d, "SELECT cuid FROM attestations WHERE challenge = ? AND cuid IS NOT NULL "
		    "ORDER BY id LIMIT 1", p, 1, &r, e))
		return -1;
	if (r.nrows == 1 && db_cell(&r, 0, 0)->p && db_cell(&r, 0, 0)->n == 32)
		memcpy(cuid, db_cell(&r, 0, 0)->p, 33);
	db_rows_free(&r);
	return 0;
}

int store_purge(struct db *d, int64_t before, long *n, struct pvk_err *e)
{
	struct db_val p[1] = { DB_INT(before) };
	struct db_rows r;

	if (db_exec(d, "DELETE FROM challenges WHERE expires_at < ?", p, 1, &r, e))
		return -1;
	*n = r.changes;
	db_rows_free(&r);
	return 0;
}
