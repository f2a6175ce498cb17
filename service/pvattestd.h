/* SPDX-License-Identifier: MIT */
/* pvattestd's parts (see pvattestd(8) and openapi.yaml). The nodes keep no state of their
 * own: everything an answer depends on is in the database, so any node answers any step. */
#ifndef PVATTESTD_H
#define PVATTESTD_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "pvkit/err.h"
#include "pvkit/hostkey.h"
#include "pvkit/release.h"

#define PVATTESTD_MAX_BODY_DEFAULT (1024 * 1024)
#define PVATTESTD_MAX_LIST 64

/* ---- config.c: the configuration file (YAML) and its defaults ---- */
struct pvattestd_config {
	char *path;               /* the file read, or NULL for the defaults */
	char *listen;             /* "HOST:PORT" (loopback or any) or "unix:PATH" */
	char *database;           /* "sqlite:PATH" or a libpq URI "postgresql://..." */
	char *kek_file;           /* 32 bytes: the key-encryption key of secrets and ARPKs */
	char *token_key_file;     /* EC P-256 private key (PEM): signs the tokens (ES256) */
	char *admin_token_file;   /* the bearer token of the admin API */
	char *issuer;             /* the tokens' iss */
	char *node;               /* this node's name in logs and the audit trail */
	long token_ttl;           /* seconds */
	long challenge_ttl;       /* seconds, unless a policy says otherwise */
	long threads;
	long max_body;
	long conn_timeout;        /* seconds a connection may idle or trickle */
	long max_connections;
	int log_json;             /* structured (JSON lines) logs; else text */
	/* Host-key verification: the chain of trust of pvattest create. */
	char *certs[8];
	size_t n_certs;
	char *crls[8];
	size_t n_crls;
	char *root_ca;
	int offline;
	int no_verify;            /* tests without a PKI only: logged at start */
};
/* Defaults, then the file (NULL: none) on top; relative paths are relative to state_dir. */
int pvattestd_config_load(const char *path, const char *state_dir, struct pvattestd_config *c,
			  struct pvk_err *e);
void pvattestd_config_free(struct pvattestd_config *c);
/* The certificate options of the trust section (strings borrowed from c). */
void pvattestd_config_certs(const struct pvattestd_config *c, struct pvk_cert_opts *o);

/* ---- db.c: one connection to SQLite or PostgreSQL, the same SQL for both ('?' params) ---- */
enum db_kind { DB_SQLITE, DB_PG };
enum db_type { DV_NULL, DV_INT, DV_TEXT, DV_BLOB };
struct db_val {
	enum db_type t;
	int64_t i;
	const void *p;   /* text (NUL-terminated) or blob */
	size_t n;        /* blob length */
};
#define DB_INT(v) ((struct db_val){ .t = DV_INT, .i = (v) })
#define DB_TEXT(s) ((struct db_val){ .t = (s) ? DV_TEXT : DV_NULL, .p = (s) })
#define DB_BLOB(b, l) ((struct db_val){ .t = DV_BLOB, .p = (b), .n = (l) })
/* A result: rows x cols cells, each a malloc'd copy (NULL for SQL NULL) of len bytes. */
struct db_cell {
	uint8_t *p;
	size_t n;
};
struct db_rows {
	int nrows, ncols;
	struct db_cell *c;
	long changes;    /* rows changed by an INSERT/UPDATE/DELETE */
};
struct db;
int db_open(const char *url, struct db **out, struct pvk_err *e);
void db_close(struct db *d);
enum db_kind db_kind(const struct db *d);
/* Run one statement; rows (may be NULL) receives its result. A lost PostgreSQL connection
 * is reset once and the statement retried when no transaction is open. */
int db_exec(struct db *d, const char *sql, const struct db_val *params, int n,
	    struct db_rows *rows, struct pvk_err *e);
void db_rows_free(struct db_rows *r);
const struct db_cell *db_cell(const struct db_rows *r, int row, int col);
int64_t db_int(const struct db_rows *r, int row, int col);
/* Transactions: db_begin takes the write lock at once (SQLite: BEGIN IMMEDIATE). */
int db_begin(struct db *d, struct pvk_err *e);
int db_commit(struct db *d, struct pvk_err *e);
void db_rollback(struct db *d);

/* ---- store.c: the schema, its migrations and the service's records ---- */
#define STORE_SCHEMA_VERSION 2
int store_migrate(struct db *d, int *from, int *to, struct pvk_err *e);
int store_schema_version(struct db *d, int *v, struct pvk_err *e);
struct store_image {
	char *name;
	uint8_t tag[16];
	uint8_t *header;          /* the SE header as registered */
	size_t header_len;
	char *policy;             /* JSON, without the secrets */
	uint8_t *secrets;         /* sealed under the KEK ("image:<name>") */
	size_t secrets_len;
	int64_t created_at;
};
/* Registering a name again replaces it. */
int store_put_image(struct db *d, const struct store_image *im, struct pvk_err *e);
/* 0 found, 1 not there, -1 error. */
int store_get_image(struct db *d, const char *name, struct store_image *im, struct pvk_err *e);
void store_image_free(struct store_image *im);
int store_list_images(struct db *d, struct db_rows *r, struct pvk_err *e);
struct store_challenge {
	char *id;
	char *image;
	char *hosts;              /* JSON array of the hex phkh the request was made for */
	uint8_t *arpk;            /* sealed under the KEK ("challenge:<id>") */
	size_t arpk_len;
	int64_t created_at, expires_at;
	int used;
	int64_t used_at;
	uint8_t *idem;            /* SHA-256 of the Idempotency-Key that consumed it */
	size_t idem_len;
	int result_status;        /* the answer given then (sealed: "result:<id>") */
	uint8_t *result;
	size_t result_len;
};
int store_put_challenge(struct db *d, const struct store_challenge *c, struct pvk_err *e);
int store_get_challenge(struct db *d, const char *id, struct store_challenge *c,
			struct pvk_err *e);
void store_challenge_free(struct store_challenge *c);
/* A line of the audit trail. */
struct store_record {
	const char *challenge, *image, *cuid, *host, *outcome, *reason, *node;
	int64_t at;
};
int store_record(struct db *d, const struct store_record *rec, struct pvk_err *e);
/* The guest (CUID, hex) whose response consumed challenge id, or "" when none verified. */
int store_challenge_cuid(struct db *d, const char *id, char cuid[33], struct pvk_err *e);
/* Consume the challenge id with its answer and record rec, in one transaction: 0 done, 1 the
 * challenge was consumed already (nothing changed), -1 error. */
int store_finish_challenge(struct db *d, const char *id, const uint8_t *idem, size_t idem_len,
			   int status, const uint8_t *result, size_t result_len,
			   const struct store_record *rec, struct pvk_err *e);
/* The audit report's rows (image NULL: all): image, cuid, attestations, verified, refused,
 * last time, last outcome, last reason; and the refusal reasons with their counts. */
int store_audit(struct db *d, const char *image, struct db_rows *r, struct pvk_err *e);
int store_audit_reasons(struct db *d, const char *image, struct db_rows *r, struct pvk_err *e);
/* Delete the challenges that expired before the time before; *n says how many. */
int store_purge(struct db *d, int64_t before, long *n, struct pvk_err *e);

/* ---- kek.c: secrets and ARPKs at rest, AES-256-GCM under the KEK, bound to their row ---- */
struct kek {
	uint8_t key[32];
};
int kek_load(const char *path, struct kek *k, struct pvk_err *e);
/* Seal len bytes for context aad ("table:id"): *out = iv || ct || tag. */
int kek_seal(const struct kek *k, const char *aad, const uint8_t *in, size_t len, uint8_t **out,
	     size_t *out_len, struct pvk_err *e);
int kek_open(const struct kek *k, const char *aad, const uint8_t *in, size_t len, uint8_t **out,
	     size_t *out_len, struct pvk_err *e);
void kek_wipe(struct kek *k);

/* ---- token.c: the attestation token (JWT, ES256, libjwt) ---- */
struct token_signer;
int token_signer_load(const char *path, struct token_signer **out, struct pvk_err *e);
void token_signer_free(struct token_signer *s);
/* The public key (PEM) relying parties verify tokens with. */
const char *token_signer_public_pem(const struct token_signer *s);
/* Sign the claims (a JSON object; iat, exp and iss are added): *jwt malloc'd. */
int token_sign(struct token_signer *s, json_object *claims, const char *issuer, long ttl,
	       char **jwt, struct pvk_err *e);

/* ---- api.c: requests parsed, answered; no HTTP here (server.c) ---- */
/* A parsed request body. Strings point into the JSON object (kept in req->root). */
struct api_register {
	json_object *root;
	uint8_t *header;          /* the SE header, decoded */
	size_t header_len;
	const char *hosts[PVATTESTD_MAX_LIST];     /* PEM host-key documents */
	size_t n_hosts;
	uint64_t paf;             /* additional data requested */
	int store_check;          /* a secret-store expectation is given */
	uint8_t store_tags[PVATTESTD_MAX_LIST][16];
	size_t n_store_tags;
	int store_locked;
	int bind_user_data;       /* the agent's key must be bound in the user data */
	long challenge_ttl;       /* 0: the service's */
	const char *secret_names[PVATTESTD_MAX_LIST];
	uint8_t *secret_values[PVATTESTD_MAX_LIST];
	size_t secret_lens[PVATTESTD_MAX_LIST];
	size_t n_secrets;
};
struct api_challenge {
	json_object *root;
	const char *image;
	int has_host;
	uint8_t host[32];
};
struct api_attestation {
	json_object *root;
	const char *challenge;
	uint8_t *response;
	size_t response_len;
	int has_key;
	uint8_t agent_key[32];
};
/* Parse a body (len bytes, not NUL-terminated): 0, or -1 with a message for a 400. */
int api_parse_register(const char *body, size_t len, struct api_register *r, char *why,
		       size_t why_len);
void api_register_free(struct api_register *r);
int api_parse_challenge(const char *body, size_t len, struct api_challenge *r, char *why,
			size_t why_len);
void api_challenge_free(struct api_challenge *r);
int api_parse_attestation(const char *body, size_t len, struct api_attestation *r, char *why,
			  size_t why_len);
void api_attestation_free(struct api_attestation *r);

/* What a node shares between its threads: read-only after start (or atomic counters). */
struct metrics;
struct service {
	struct pvattestd_config *cfg;
	struct kek kek;
	struct token_signer *signer;
	char admin_token[128];
	struct metrics *m;
};
/* One request to the API, answered: status and a JSON body (malloc'd). The caller's db is
 * this thread's connection. idem is the Idempotency-Key header or NULL; admin says whether
 * the request carried the admin token; q_image is the ?image= of GET /v1/audit. */
struct api_answer {
	int status;
	char *body;
	const char *event;        /* for the log: what happened */
	char reason[1280];        /* for the log and the metrics: why refused */
};
void api_handle(struct service *s, struct db *d, const char *method, const char *path,
		const char *body, size_t len, const char *idem, int admin, const char *q_image,
		struct api_answer *a);

/* ---- metrics.c: Prometheus counters of this node ---- */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_count_request(struct metrics *m, int status, double seconds);
void metrics_count_event(struct metrics *m, const char *event, const char *outcome);
char *metrics_render(struct metrics *m);

/* ---- server.c ---- */
int server_run(struct service *s, const char *port_file, struct pvk_err *e);

#endif
