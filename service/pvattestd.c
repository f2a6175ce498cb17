// SPDX-License-Identifier: MIT
/* pvattestd: attestation and secret release for a fleet of secure guests (pvattestd(8)).
 * The commands are thin: the service is api.c over store.c, served by server.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/http.h"
#include "pvkit/release.h"
#include "pvkit/sehdr.h"

#include "pvattestd.h"

#define STATE_DIR_DEFAULT "/var/lib/pvattestd"

static const char help[] =
	"Usage: pvattestd [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Attestation and secret release for a fleet of IBM Secure Execution guests: images\n"
	"are registered with a policy, guests attest with pvattest-agent, the service\n"
	"verifies them and releases their secrets. Nodes keep no state: SQLite by default,\n"
	"PostgreSQL for several nodes.\n"
	"\n"
	"Commands:\n"
	"  serve                         Run the service (the default command)\n"
	"  init                          Make the state directory's keys (KEK, token key,\n"
	"                                admin token; mode 0600) and the database schema\n"
	"  migrate                       Bring the database schema up to date\n"
	"  register NAME                 Register an image and its policy (pvattestd\n"
	"                                register --help)\n"
	"  audit                         Print the fleet's audit report (pvattestd audit\n"
	"                                --help)\n"
	"  purge                         Delete challenges expired more than a day ago\n"
	"                                (pvattestd purge --help)\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE             Read the settings from FILE (YAML)\n"
	"  -d, --state-dir DIR           Keys and the SQLite database in DIR (default\n"
	"                                " STATE_DIR_DEFAULT ")\n"
	"      --listen ADDR             Listen on HOST:PORT or unix:PATH (serve)\n"
	"      --port-file FILE          Write the port listened on to FILE (serve; for\n"
	"                                --listen 127.0.0.1:0)\n"
	"      --init                    Run init first when keys or schema are missing\n"
	"                                (serve)\n"
	"  -v, --verbose                 Say more\n"
	"  -q, --quiet                   Errors only\n"
	"      --version                 Print version information and exit\n"
	"  -h, --help                    Print this help and exit\n";

static const char register_help[] =
	"Usage: pvattestd register [OPTIONS] NAME --image FILE -k HKD...\n"
	"\n"
	"Register the SE image FILE (an image or its header) as NAME with a policy: the\n"
	"hosts allowed (their host-key documents, verified by the service with its chain\n"
	"of trust and CRLs at every challenge), the additional data to request, the\n"
	"secret store expected, and the secrets to release to a verified guest. Registering\n"
	"NAME again replaces its image and policy.\n"
	"\n"
	"Options:\n"
	"      --url URL                 The service (default http://127.0.0.1:8470)\n"
	"      --admin-token FILE        The admin bearer token (default STATE-DIR/admin-token)\n"
	"      --image FILE              The SE image or header (required)\n"
	"  -k, --host-key-document FILE  A host allowed to run the guest (repeatable;\n"
	"                                comma-separated lists accepted; required)\n"
	"      --add-data LIST           Also request phkh-img, secret-store-hash,\n"
	"                                firmware-state (phkh-att is always requested)\n"
	"      --expect-secret FILE      The add-secret request FILE must be in the guest's\n"
	"                                secret store (repeatable, in the store's order)\n"
	"      --expect-locked           The guest's secret store must be locked\n"
	"      --no-user-data-binding    Do not require the agent's key in the user data\n"
	"      --challenge-ttl SECONDS   Challenges of this image expire after SECONDS\n"
	"      --secret NAME=FILE        Release FILE's bytes as NAME (repeatable)\n"
	"  -v, --verbose                 Say more\n"
	"  -q, --quiet                   Errors only\n"
	"  -h, --help                    Print this help and exit\n";

static const char purge_help[] =
	"Usage: pvattestd purge [--older-than SECONDS]\n"
	"\n"
	"Delete the challenges that expired more than SECONDS ago (default 86400), used or\n"
	"not, with the answers stored for their retries; the audit trail is kept. Run it\n"
	"from a timer on one node.\n"
	"\n"
	"Options:\n"
	"      --older-than SECONDS      Expired more than SECONDS ago (default 86400)\n"
	"  -h, --help                    Print this help and exit\n";

static const char audit_help[] =
	"Usage: pvattestd audit [OPTIONS]\n"
	"\n"
	"Print the audit report of the fleet: per image and guest (CUID) the attestations,\n"
	"how many were verified and refused, the last result and the refusal reasons.\n"
	"\n"
	"Options:\n"
	"      --url URL                 The service (default http://127.0.0.1:8470)\n"
	"      --admin-token FILE        The admin bearer token (default STATE-DIR/admin-token)\n"
	"      --image NAME              Only this image\n"
	"      --format table|json       A table (default) or the JSON document\n"
	"  -v, --verbose                 Say more\n"
	"  -q, --quiet                   Errors only\n"
	"  -h, --help                    Print this help and exit\n";

enum {
	OPT_VERSION = 0x5001, OPT_LISTEN, OPT_PORT_FILE, OPT_INIT, OPT_URL, OPT_ADMIN, OPT_IMAGE,
	OPT_ADD, OPT_EXPECT, OPT_LOCKED, OPT_NOBIND, OPT_TTL, OPT_SECRET, OPT_FORMAT,
};

static const char *config_path, *state_dir = STATE_DIR_DEFAULT, *listen_arg, *port_file;
static int want_init;

/* ---- init ---- */

static int exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The three key files that are missing, made and committed together. */
static int make_keys(const struct pvattestd_config *c, struct pvk_err *e)
{
	struct outfile of[3], *ofs[3];
	size_t n = 0;
	uint8_t kek[32], tok[32];
	char hx[65];
	EVP_PKEY *k = NULL;
	int rc = -1;

	memset(of, 0, sizeof(of));
	/* interrupted: none of the key files left half-made */
	pvk_outfile_trap_signals();
	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return pvk_fail(e, PVK_E_IO, "%s: cannot make the state directory: %s", state_dir,
				strerror(errno));
	if (!exists(c->kek_file)) {
		ofs[n] = &of[n];
		if (pvk_random(kek, 32, e) ||
		    pvk_outfile_open(&of[n++], c->kek_file, OUTFILE_SECRET, e) ||
		    pvk_outfile_write(&of[n - 1], kek, 32, e))
			goto out;
	}
	if (!exists(c->token_key_file)) {
		ofs[n] = &of[n];
		if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
			pvk_fail_ssl(e, "cannot make the token key");
			goto out;
		}
		if (pvk_outfile_open(&of[n++], c->token_key_file, OUTFILE_SECRET, e))
			goto out;
		{
			BIO *b = BIO_new(BIO_s_mem());
			char *data;
			long len;

			if (!b || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
			    (len = BIO_get_mem_data(b, &data)) <= 0 ||
			    pvk_outfile_write(&of[n - 1], data, (size_t)len, e)) {
				if (b)
					pvk_fail_ssl(e, "cannot write the token key");
				BIO_free(b);
				goto out;
			}
			BIO_free(b);
		}
	}
	if (!exists(c->admin_token_file)) {
		ofs[n] = &of[n];
		if (pvk_random(tok, 32, e))
			goto out;
		pvk_hex_encode(tok, 32, hx);
		if (pvk_outfile_open(&of[n++], c->admin_token_file, OUTFILE_SECRET, e) ||
		    pvk_outfile_write(&of[n - 1], hx, 64, e) || pvk_outfile_write(&of[n - 1], "\n", 1, e))
			goto out;
	}
	if (n && pvk_outfiles_commit(ofs, n, e))
		goto out;
	n = 0;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		pvk_outfile_abort(&of[i]);
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(hx, sizeof(hx));
	EVP_PKEY_free(k);
	return rc;
}

static int migrate(const struct pvattestd_config *c, struct pvk_err *e)
{
	struct db *d;
	int from, to, rc;

	if (db_open(c->database, &d, e))
		return -1;
	rc = store_migrate(d, &from, &to, e);
	db_close(d);
	if (!rc && from != to)
		cli_info("database schema: version %d -> %d", from, to);
	return rc;
}

static int load_config(struct pvattestd_config *c, struct pvk_err *e)
{
	if (pvattestd_config_load(config_path, state_dir, c, e))
		return -1;
	if (listen_arg && (free(c->listen), !(c->listen = strdup(listen_arg))))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	return 0;
}

static int cmd_init(void)
{
	struct pvattestd_config c;
	struct pvk_err e;
	int rc;

	pvk_err_clear(&e);
	rc = load_config(&c, &e) || make_keys(&c, &e) || migrate(&c, &e);
	pvattestd_config_free(&c);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

static int cmd_migrate(void)
{
	struct pvattestd_config c;
	struct pvk_err e;
	int rc;

	pvk_err_clear(&e);
	rc = load_config(&c, &e) || migrate(&c, &e);
	pvattestd_config_free(&c);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

/* Challenges expired more than SECONDS ago are deleted (their stored answers with them: a
 * retry that late is refused as unknown); the audit trail stays. */
static int cmd_purge(int argc, char **argv)
{
	struct pvattestd_config c;
	struct pvk_err e;
	struct db *d = NULL;
	long older = 86400, n = 0;
	char *end;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--older-than")) {
		older = strtol(argv[2], &end, 10);
		if (*end || end == argv[2] || older < 0)
			return cli_usage_error("--older-than: seconds, not '%s'", argv[2]);
	} else if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(purge_help, stdout);
		return PVK_EXIT_OK;
	} else if (argc != 1) {
		return cli_usage_error("usage: pvattestd purge [--older-than SECONDS]");
	}
	pvk_err_clear(&e);
	rc = load_config(&c, &e) || db_open(c.database, &d, &e) ||
	     store_purge(d, (int64_t)time(NULL) - older, &n, &e);
	db_close(d);
	pvattestd_config_free(&c);
	if (rc)
		return cli_error(&e);
	cli_note("%ld challenge(s) purged", n);
	return PVK_EXIT_OK;
}

static int read_admin_token(const char *path, char *out, size_t len, struct pvk_err *e)
{
	uint8_t *buf;
	size_t n;

	if (pvk_file_read_all(path, len - 1, &buf, &n, e))
		return -1;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	memcpy(out, buf, n);
	out[n] = 0;
	pvk_buf_free_secret(buf, n);
	if (n < 16)
		return pvk_fail(e, PVK_E_FORMAT, "%s: the admin token is shorter than 16 characters",
				path);
	return 0;
}

static int cmd_serve(void)
{
	struct pvattestd_config c;
	struct service s;
	struct pvk_err e;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	pvk_err_clear(&e);
	if (load_config(&c, &e))
		return cli_error(&e);
	s.cfg = &c;
	if ((want_init && (make_keys(&c, &e) || migrate(&c, &e))) ||
	    kek_load(c.kek_file, &s.kek, &e) || token_signer_load(c.token_key_file, &s.signer, &e) ||
	    read_admin_token(c.admin_token_file, s.admin_token, sizeof(s.admin_token), &e))
		goto out;
	if (!want_init) {
		/* the schema must be there and current: nodes never serve a half-migrated one */
		struct db *d;
		int v;

		if (db_open(c.database, &d, &e))
			goto out;
		rc = store_schema_version(d, &v, &e);
		db_close(d);
		if (rc) {
			pvk_fail(&e, PVK_E_FORMAT, "%s: no pvattestd schema (run pvattestd migrate, or "
				 "serve --init)", c.database);
			goto out;
		}
		rc = -1;
		if (v != STORE_SCHEMA_VERSION) {
			pvk_fail(&e, PVK_E_FORMAT, "database: schema version %d, this pvattestd needs %d "
				 "(run pvattestd migrate)", v, STORE_SCHEMA_VERSION);
			goto out;
		}
	}
	if (c.no_verify)
		cli_warn("trust.no_verify is set: host-key documents are not verified (tests only)");
	if (!(s.m = metrics_new())) {
		pvk_fail(&e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	rc = server_run(&s, port_file, &e);
out:
	metrics_free(s.m);
	token_signer_free(s.signer);
	kek_wipe(&s.kek);
	OPENSSL_cleanse(s.admin_token, sizeof(s.admin_token));
	pvattestd_config_free(&c);
	return rc ? cli_error(&e) : PVK_EXIT_OK;
}

/* ---- the admin client ---- */

static int admin_call(const char *url, const char *token_file, const char *method_put_path,
		      const char *body, char **answer, long *status, struct pvk_err *e)
{
	char tok[160], auth[200], full[2048], why[512];
	const char *hdrs[3] = { auth, body ? "Content-Type: application/json" : NULL, NULL };
	struct pvk_http_response rs;
	struct pvk_http_request rq = {
		.url = full, .body = body, .body_len = body ? strlen(body) : 0, .headers = hdrs,
		.user_agent = "pvattestd", .timeout_s = 60, .max_size = 64 * 1024 * 1024,
	};
	int rc;

	if (read_admin_token(token_file, tok, sizeof(tok), e))
		return -1;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	snprintf(full, sizeof(full), "%s%s", url, method_put_path);
	rc = pvk_http_request(&rq, &rs, why, sizeof(why));
	OPENSSL_cleanse(auth, sizeof(auth));
	if (rc)
		return pvk_fail(e, PVK_E_IO, "%s: %s", full, why);
	*answer = (char *)rs.data;
	*status = rs.status;
	return 0;
}

static int answer_error(const char *answer, long status, const char *what)
{
	json_object *o = json_tokener_parse(answer);
	json_object *r;

	fprintf(stderr, "%s: error: %s refused (HTTP %ld): %s\n", cli_prog, what, status,
		o && json_object_object_get_ex(o, "reason", &r) ? json_object_get_string(r) : answer);
	json_object_put(o);
	return PVK_EXIT_ERROR;
}

static char *admin_default(void)
{
	char *p;

	return asprintf(&p, "%s/admin-token", state_dir) < 0 ? NULL : p;
}

static int add_file_b64(json_object *o, const char *k, const char *path, size_t max, int secret,
			struct pvk_err *e)
{
	uint8_t *buf;
	size_t n;
	char *b;

	if (pvk_file_read_all(path, max, &buf, &n, e))
		return -1;
	b = pvk_b64_encode(buf, n);
	if (secret)
		pvk_buf_free_secret(buf, n);
	else
		free(buf);
	if (!b)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	json_object_object_add(o, k, json_object_new_string(b));
	if (secret)
		pvk_buf_free_secret(b, strlen(b));
	else
		free(b);
	return 0;
}

/* A host-key document (PEM or DER, as pvattest takes them) as the PEM the API takes. */
static int add_hkd(json_object *hosts, const char *path, struct pvk_err *e)
{
	X509 *crt;
	BIO *b;
	char *data;
	long n;

	if (pvk_hkd_load(path, &crt, e) < 0)
		return -1;
	if (!(b = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(b, crt) ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		BIO_free(b);
		X509_free(crt);
		return pvk_fail_ssl(e, "%s: cannot write the host-key document", path);
	}
	json_object_array_add(hosts, json_object_new_string_len(data, (int)n));
	BIO_free(b);
	X509_free(crt);
	return 0;
}

static int cmd_register(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "admin-token", required_argument, NULL, OPT_ADMIN },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "host-key-document", required_argument, NULL, 'k' },
		{ "add-data", required_argument, NULL, OPT_ADD },
		{ "expect-secret", required_argument, NULL, OPT_EXPECT },
		{ "expect-locked", no_argument, NULL, OPT_LOCKED },
		{ "no-user-data-binding", no_argument, NULL, OPT_NOBIND },
		{ "challenge-ttl", required_argument, NULL, OPT_TTL },
		{ "secret", required_argument, NULL, OPT_SECRET },
		CLI_COMMON_LONGOPTS,
	};
	const char *url = "http://127.0.0.1:8470", *image = NULL;
	char *admin = NULL, *answer = NULL, *end, path[256];
	json_object *body = json_object_new_object(), *pol = json_object_new_object(),
		    *hosts = json_object_new_array(), *add = json_object_new_array(),
		    *secrets = json_object_new_array(), *tags = NULL;
	int c, locked = 0, ret = PVK_EXIT_ERROR;
	uint8_t *hdr = NULL;
	size_t hdr_len;
	uint64_t hdr_off;
	long status, ttl = 0;
	struct pvk_err e;

	pvk_err_clear(&e);
	json_object_object_add(body, "policy", pol);
	json_object_object_add(pol, "hosts", hosts);
	optind = 0;  /* GNU getopt: start over (the global options were parsed with '+') */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL: url = optarg; break;
		case OPT_ADMIN: free(admin); admin = strdup(optarg); break;
		case OPT_IMAGE: image = optarg; break;
		case 'k': {
			char *dup = strdup(optarg), *save = NULL;

			for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (add_hkd(hosts, t, &e)) {
					free(dup);
					goto fail;
				}
			free(dup);
			break;
		}
		case OPT_ADD: {
			char *dup = strdup(optarg), *save = NULL;

			for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
				json_object_array_add(add, json_object_new_string(t));
			free(dup);
			break;
		}
		case OPT_EXPECT: {
			uint8_t *buf;
			size_t n;
			char hx[33];

			if (pvk_file_read_all(optarg, 1024 * 1024, &buf, &n, &e))
				goto fail;
			if (n < 16 + 0x418 || memcmp(buf, "asrcbM", 6)) {
				free(buf);
				pvk_fail(&e, PVK_E_FORMAT, "%s: not an add-secret request", optarg);
				goto fail;
			}
			pvk_hex_encode(buf + n - 16, 16, hx);
			free(buf);
			if (!tags)
				tags = json_object_new_array();
			json_object_array_add(tags, json_object_new_string(hx));
			break;
		}
		case OPT_LOCKED: locked = 1; break;
		case OPT_NOBIND:
			json_object_object_add(pol, "user_data", json_object_new_string("none"));
			break;
		case OPT_TTL:
			ttl = strtol(optarg, &end, 10);
			if (*end || end == optarg || ttl < 1 || ttl > 86400) {
				ret = cli_usage_error("--challenge-ttl: 1 to 86400 seconds");
				goto out;
			}
			break;
		case OPT_SECRET: {
			char *eq = strchr(optarg, '=');
			json_object *s = json_object_new_object();

			if (!eq || eq == optarg) {
				json_object_put(s);
				ret = cli_usage_error("--secret: NAME=FILE, not '%s'", optarg);
				goto out;
			}
			json_object_object_add(s, "name", json_object_new_string_len(optarg,
										     (int)(eq - optarg)));
			json_object_array_add(secrets, s);
			if (add_file_b64(s, "value", eq + 1, 65536, 1, &e))
				goto fail;
			break;
		}
		case 'h': fputs(register_help, stdout); ret = PVK_EXIT_OK; goto out;
		case ':':
			ret = cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
			goto out;
		default:
			if (cli_common_opt(c))
				break;
			ret = cli_usage_error("unexpected option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind + 1 != argc || !image || !json_object_array_length(hosts)) {
		ret = cli_usage_error("usage: pvattestd register NAME --image FILE -k HKD...");
		goto out;
	}
	if (json_object_array_length(add))
		json_object_object_add(pol, "additional_data", json_object_get(add));
	if (tags || locked) {
		json_object *ss = json_object_new_object();

		json_object_object_add(ss, "tags", tags ? tags : json_object_new_array());
		tags = NULL;
		json_object_object_add(ss, "locked", json_object_new_boolean(locked));
		json_object_object_add(pol, "secret_store", ss);
	}
	if (ttl)
		json_object_object_add(pol, "challenge_ttl", json_object_new_int64(ttl));
	if (json_object_array_length(secrets))
		json_object_object_add(body, "secrets", json_object_get(secrets));
	if (pvk_sehdr_read_file(image, &hdr, &hdr_len, &hdr_off, &e))
		goto fail;
	{
		char *b = pvk_b64_encode(hdr, hdr_len);

		json_object_object_add(body, "header", json_object_new_string(b ? b : ""));
		free(b);
	}
	if (!admin && !(admin = admin_default())) {
		pvk_fail(&e, PVK_E_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(path, sizeof(path), "/v1/images/%s", argv[optind]);
	if (admin_call(url, admin, path, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
		       &answer, &status, &e))
		goto fail;
	if (status != 201) {
		ret = answer_error(answer, status, "the registration was");
		goto out;
	}
	cli_note("Registered image %s: %s", argv[optind], answer);
	ret = PVK_EXIT_OK;
	goto out;
fail:
	ret = cli_error(&e);
out:
	/* the request held the secrets */
	if (json_object_array_length(secrets)) {
		const char *t = json_object_to_json_string(body);

		OPENSSL_cleanse((char *)t, strlen(t));
	}
	json_object_put(body);
	json_object_put(add);
	json_object_put(secrets);
	json_object_put(tags);
	free(hdr);
	free(admin);
	free(answer);
	return ret;
}

static void print_table(json_object *doc)
{
	json_object *g;

	printf("%-24s %-32s %6s %8s %7s  %-8s  %s\n", "IMAGE", "GUEST (CUID)", "ATTEST", "VERIFIED",
	       "REFUSED", "LAST", "REASONS");
	if (!json_object_object_get_ex(doc, "guests", &g))
		return;
	for (size_t i = 0; i < json_object_array_length(g); i++) {
		json_object *x = json_object_array_get_idx(g, i), *v, *rs;
		const char *f[2] = { "image", "cuid" };
		const char *s[2];
		int64_t n[3];
		const char *cnt[3] = { "attestations", "verified", "refused" };
		int first = 1;

		for (int k = 0; k < 2; k++)
			s[k] = json_object_object_get_ex(x, f[k], &v) ? json_object_get_string(v) : "";
		for (int k = 0; k < 3; k++)
			n[k] = json_object_object_get_ex(x, cnt[k], &v) ? json_object_get_int64(v) : 0;
		printf("%-24s %-32s %6lld %8lld %7lld  %-8s  ", s[0], *s[1] ? s[1] : "-",
		       (long long)n[0], (long long)n[1], (long long)n[2],
		       json_object_object_get_ex(x, "last_result", &v) ? json_object_get_string(v) : "");
		if (json_object_object_get_ex(x, "refusals", &rs)) {
			json_object_object_foreach(rs, reason, count) {
				printf("%s%lldx %s", first ? "" : "; ", (long long)json_object_get_int64(count),
				       reason);
				first = 0;
			}
		}
		printf("%s\n", first ? "-" : "");
	}
}

static int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "admin-token", required_argument, NULL, OPT_ADMIN },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_COMMON_LONGOPTS,
	};
	const char *url = "http://127.0.0.1:8470", *image = NULL;
	char *admin = NULL, *answer = NULL, path[512];
	int c, json = 0, ret = PVK_EXIT_ERROR;
	long status;
	struct pvk_err e;
	json_object *doc;

	pvk_err_clear(&e);
	optind = 0;  /* GNU getopt: start over (the global options were parsed with '+') */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL: url = optarg; break;
		case OPT_ADMIN: free(admin); admin = strdup(optarg); break;
		case OPT_IMAGE:
			if (!pvk_release_name_ok(optarg)) {
				free(admin);
				return cli_usage_error("--image: not an image name: '%s'", optarg);
			}
			image = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				json = 1;
			else if (strcmp(optarg, "table")) {
				free(admin);
				return cli_usage_error("--format: table or json, not '%s'", optarg);
			}
			break;
		case 'h': fputs(audit_help, stdout); free(admin); return PVK_EXIT_OK;
		case ':':
			free(admin);
			return cli_usage_error("the option '%s' requires a value", argv[optind - 1]);
		default:
			if (cli_common_opt(c))
				break;
			free(admin);
			return cli_usage_error("unexpected option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc) {
		free(admin);
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	}
	if (!admin && !(admin = admin_default()))
		return PVK_EXIT_ERROR;
	snprintf(path, sizeof(path), "/v1/audit%s%s", image ? "?image=" : "", image ? image : "");
	if (admin_call(url, admin, path, NULL, &answer, &status, &e)) {
		ret = cli_error(&e);
		goto out;
	}
	if (status != 200) {
		ret = answer_error(answer, status, "the audit report was");
		goto out;
	}
	if (!(doc = json_tokener_parse(answer))) {
		fprintf(stderr, "%s: error: %s: the audit report is not JSON\n", cli_prog, url);
		goto out;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_table(doc);
	json_object_put(doc);
	ret = PVK_EXIT_OK;
out:
	free(admin);
	free(answer);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = 0, quiet = 0;
	const char *cmd;

	cli_init(argv[0], "pvattestd");
	/* the database and its journal hold sealed secrets: nobody else reads them */
	umask(077);
	opterr = 0;
	/* the global options come before the command word */
	while ((c = getopt_long(argc, argv, "+:c:d:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'd': state_dir = optarg; break;
		case OPT_LISTEN: listen_arg = optarg; break;
		case OPT_PORT_FILE: port_file = optarg; break;
		case OPT_INIT: want_init = 1; break;
		case 'v': verbose++; break;
		case 'q': quiet++; break;
		case OPT_VERSION: cli_version(); return PVK_EXIT_OK;
		case 'h': fputs(help, stdout); return PVK_EXIT_OK;
		default:
			return cli_getopt_error(c, argv);
		}
	}
	if (verbose && quiet)
		return cli_usage_error("the options '--verbose' and '--quiet' cannot be used together");
	cli_verbosity = quiet ? -1 : verbose;
	cmd = optind < argc ? argv[optind] : "serve";
	if (!strcmp(cmd, "serve") || !strcmp(cmd, "init") || !strcmp(cmd, "migrate")) {
		if (optind + 1 < argc)
			return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
		return !strcmp(cmd, "serve") ? cmd_serve() : !strcmp(cmd, "init") ? cmd_init()
										 : cmd_migrate();
	}
	if (!strcmp(cmd, "register"))
		return cmd_register(argc - optind, argv + optind);
	if (!strcmp(cmd, "audit"))
		return cmd_audit(argc - optind, argv + optind);
	if (!strcmp(cmd, "purge"))
		return cmd_purge(argc - optind, argv + optind);
	return cli_usage_error("unknown command '%s' (serve, init, migrate, register, audit, purge)",
			       cmd);
}
