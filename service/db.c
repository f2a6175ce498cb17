// SPDX-License-Identifier: MIT
/* One database connection, SQLite or PostgreSQL, behind one small interface: the service's
 * SQL is written once with '?' parameters (turned into $1.. for libpq). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "pvattestd.h"

struct db {
	enum db_kind kind;
	sqlite3 *lite;
	PGconn *pg;
	int in_tx;
	char *url;
};

/* libpq prints the server's notices on stderr; the service logs its own lines only. */
static void pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int fail_lite(struct db *d, struct pvk_err *e, const char *what)
{
	return pvk_fail(e, PVK_E_IO, "database: %s: %s", what, sqlite3_errmsg(d->lite));
}

int db_open(const char *url, struct db **out, struct pvk_err *e)
{
	struct db *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d || !(d->url = strdup(url))) {
		free(d);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	if (!strncmp(url, "sqlite:", 7)) {
		d->kind = DB_SQLITE;
		if (sqlite3_open_v2(url + 7, &d->lite,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				    NULL) != SQLITE_OK) {
			pvk_fail(e, PVK_E_IO, "%s: cannot open the database: %s", url + 7,
				 d->lite ? sqlite3_errmsg(d->lite) : "out of memory");
			db_close(d);
			return -1;
		}
		/* WAL: readers never wait for the writer; NORMAL: a commit is durable once the
		 * WAL is synced at checkpoints (a crash loses no committed-and-checkpointed row,
		 * and never leaves half a transaction). */
		sqlite3_busy_timeout(d->lite, 10000);
		if (sqlite3_exec(d->lite, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
			fail_lite(d, e, url + 7);
			db_close(d);
			return -1;
		}
	} else if (!strncmp(url, "postgresql:", 11) || !strncmp(url, "postgres:", 9)) {
		d->kind = DB_PG;
		d->pg = PQconnectdb(url);
		if (!d->pg || PQstatus(d->pg) != CONNECTION_OK) {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s", d->pg ? PQerrorMessage(d->pg) : "out of memory");
			msg[strcspn(msg, "\n")] = 0;
			db_close(d);
			/* the URL may hold a password: not in the message */
			return pvk_fail(e, PVK_E_IO, "database: cannot connect to PostgreSQL: %s", msg);
		}
		PQsetNoticeProcessor(d->pg, pg_quiet, NULL);
	} else {
		db_close(d);
		return pvk_fail(e, PVK_E_USAGE, "database: '%s' is neither sqlite:PATH nor a "
				"postgresql:// URI", url);
	}
	*out = d;
	return 0;
}

void db_close(struct db *d)
{
	if (!d)
		return;
	if (d->lite)
		sqlite3_close(d->lite);
	if (d->pg)
		PQfinish(d->pg);
	free(d->url);
	free(d);
}

enum db_kind db_kind(const struct db *d)
{
	return d->kind;
}

void db_rows_free(struct db_rows *r)
{
	if (!r)
		return;
	for (int i = 0; r->c && i < r->nrows * r->ncols; i++)
		free(r->c[i].p);
	free(r->c);
	memset(r, 0, sizeof(*r));
}

const struct db_cell *db_cell(const struct db_rows *r, int row, int col)
{
	return &r->c[row * r->ncols + col];
}

int64_t db_int(const struct db_rows *r, int row, int col)
{
	const struct db_cell *c = db_cell(r, row, col);

	return c->p ? strtoll((const char *)c->p, NULL, 10) : 0;
}

static int cell_set(struct db_cell *c, const void *p, size_t n)
{
	if (!(c->p = malloc(n + 1)))
		return -1;
	memcpy(c->p, p, n);
	c->p[n] = 0;
	c->n = n;
	return 0;
}

static int exec_lite(struct db *d, const char *sql, const struct db_val *v, int n,
		     struct db_rows *rows, struct pvk_err *e)
{
	sqlite3_stmt *st;
	int rc, cap = 0;

	if (sqlite3_prepare_v2(d->lite, sql, -1, &st, NULL) != SQLITE_OK)
		return fail_lite(d, e, "prepare");
	for (int i = 0; i < n; i++) {
		switch (v[i].t) {
		case DV_NULL: rc = sqlite3_bind_null(st, i + 1); break;
		case DV_INT: rc = sqlite3_bind_int64(st, i + 1, v[i].i); break;
		case DV_TEXT: rc = sqlite3_bind_text(st, i + 1, v[i].p, -1, SQLITE_STATIC); break;
		default: rc = sqlite3_bind_blob(st, i + 1, v[i].p, (int)v[i].n, SQLITE_STATIC); break;
		}
		if (rc != SQLITE_OK) {
			sqlite3_finalize(st);
			return fail_lite(d, e, "bind");
		}
	}
	if (rows)
		rows->ncols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!rows)
			continue;
		if (rows->nrows == cap) {
			struct db_cell *nc;

			cap = cap ? 2 * cap : 4;
			nc = realloc(rows->c, (size_t)cap * (size_t)rows->ncols * sizeof(*nc));
			if (!nc)
				goto nomem;
			rows->c = nc;
		}
		for (int c = 0; c < rows->ncols; c++) {
			struct db_cell *cell = &rows->c[rows->nrows * rows->ncols + c];
			int t = sqlite3_column_type(st, c);

			memset(cell, 0, sizeof(*cell));
			if (t == SQLITE_NULL)
				continue;
			if (t == SQLITE_BLOB) {
				const void *b = sqlite3_column_blob(st, c);

				if (cell_set(cell, b ? b : "", (size_t)sqlite3_column_bytes(st, c)))
					goto nomem;
			} else {
				const unsigned char *s = sqlite3_column_text(st, c);

				if (cell_set(cell, s, (size_t)sqlite3_column_bytes(st, c)))
					goto nomem;
			}
		}
		rows->nrows++;
	}
	if (rc != SQLITE_DONE) {
		fail_lite(d, e, "step");
		sqlite3_finalize(st);
		return -1;
	}
	if (rows)
		rows->changes = sqlite3_changes(d->lite);
	sqlite3_finalize(st);
	return 0;
nomem:
	sqlite3_finalize(st);
	return pvk_fail(e, PVK_E_NOMEM, "out of memory");
}

/* '?' → $1, $2, ... (the service's SQL has no '?' in literals). */
static char *pg_sql(const char *sql)
{
	size_t n = strlen(sql), q = 0, o = 0;
	char *out;
	int k = 0;

	for (size_t i = 0; i < n; i++)
		q += sql[i] == '?';
	if (!(out = malloc(n + 4 * q + 1)))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (sql[i] == '?')
			o += (size_t)sprintf(out + o, "$%d", ++k);
		else
			out[o++] = sql[i];
	}
	out[o] = 0;
	return out;
}

static int exec_pg_once(struct db *d, const char *sql, const struct db_val *v, int n,
			struct db_rows *rows, struct pvk_err *e, int *lost)
{
	const char *vals[64];
	int lens[64], fmts[64];
	char ibuf[64][24];
	PGresult *res;
	ExecStatusType st;

	*lost = 0;
	if (n > 64)
		return pvk_fail(e, PVK_E_USAGE, "database: too many parameters");
	for (int i = 0; i < n; i++) {
		fmts[i] = 0;
		lens[i] = 0;
		switch (v[i].t) {
		case DV_NULL: vals[i] = NULL; break;
		case DV_INT:
			snprintf(ibuf[i], sizeof(ibuf[i]), "%lld", (long long)v[i].i);
			vals[i] = ibuf[i];
			break;
		case DV_TEXT: vals[i] = v[i].p; break;
		default:
			vals[i] = v[i].n ? v[i].p : "";
			lens[i] = (int)v[i].n;
			fmts[i] = 1;
			break;
		}
	}
	res = PQexecParams(d->pg, sql, n, NULL, vals, lens, fmts, 0);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(d->pg));
		msg[strcspn(msg, "\n")] = 0;
		*lost = PQstatus(d->pg) != CONNECTION_OK;
		PQclear(res);
		return pvk_fail(e, PVK_E_IO, "database: %s", msg);
	}
	if (rows) {
		rows->nrows = PQntuples(res);
		rows->ncols = PQnfields(res);
		rows->changes = strtol(PQcmdTuples(res), NULL, 10);
		if (rows->nrows &&
		    !(rows->c = calloc((size_t)rows->nrows * (size_t)rows->ncols, sizeof(*rows->c)))) {
			PQclear(res);
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
		for (int r = 0; r < rows->nrows; r++)
			for (int c = 0; c < rows->ncols; c++) {
				struct db_cell *cell = &rows->c[r * rows->ncols + c];
				const char *s;

				if (PQgetisnull(res, r, c))
					continue;
				s = PQgetvalue(res, r, c);
				if (PQftype(res, c) == 17 /* bytea */) {
					size_t bl;
					unsigned char *b = PQunescapeBytea((const unsigned char *)s, &bl);

					if (!b || cell_set(cell, b, bl)) {
						PQfreemem(b);
						PQclear(res);
						return pvk_fail(e, PVK_E_NOMEM, "out of memory");
					}
					PQfreemem(b);
				} else if (cell_set(cell, s, (size_t)PQgetlength(res, r, c))) {
					PQclear(res);
					return pvk_fail(e, PVK_E_NOMEM, "out of memory");
				}
			}
	}
	PQclear(res);
	return 0;
}

int db_exec(struct db *d, const char *sql, const struct db_val *v, int n, struct db_rows *rows,
	    struct pvk_err *e)
{
	char *s;
	int rc, lost;

	if (rows)
		memset(rows, 0, sizeof(*rows));
	if (d->kind == DB_SQLITE) {
		rc = exec_lite(d, sql, v, n, rows, e);
		if (rc && rows)
			db_rows_free(rows);
		return rc;
	}
	if (!(s = pg_sql(sql)))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	rc = exec_pg_once(d, s, v, n, rows, e, &lost);
	if (rc && lost && !d->in_tx) {
		/* The server restarted or a proxy dropped us: one new connection, one retry
		 * (only outside a transaction, whose earlier statements are gone with it). */
		if (rows)
			db_rows_free(rows);
		PQreset(d->pg);
		if (PQstatus(d->pg) == CONNECTION_OK)
			rc = exec_pg_once(d, s, v, n, rows, e, &lost);
	}
	if (rc && rows)
		db_rows_free(rows);
	free(s);
	return rc;
}

int db_begin(struct db *d, struct pvk_err *e)
{
	if (db_exec(d, d->kind == DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0, NULL, e))
		return -1;
	d->in_tx = 1;
	return 0;
}

int db_commit(struct db *d, struct pvk_err *e)
{
	int rc = db_exec(d, "COMMIT", NULL, 0, NULL, e);

	if (rc)
		db_rollback(d);
	d->in_tx = 0;
	return rc;
}

void db_rollback(struct db *d)
{
	struct pvk_err e;

	if (d->kind == DB_PG && PQstatus(d->pg) != CONNECTION_OK) {
		d->in_tx = 0;
		return;
	}
	db_exec(d, "ROLLBACK", NULL, 0, NULL, &e);
	d->in_tx = 0;
}
