// SPDX-License-Identifier: MIT
/* pvattestd's configuration: a YAML mapping (pvattestd(8) lists the keys), read through
 * pvkit's one YAML reader; unknown keys are refused so a typo is not a silent default. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "pvkit/fileio.h"
#include "pvkit/yamlin.h"

#include "pvattestd.h"

/* path relative to dir unless absolute (or dir is NULL). */
static char *in_dir(const char *dir, const char *path)
{
	char *out;

	if (!dir || path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -1;
}

static int defaults(struct pvattestd_config *c, const char *dir, struct pvk_err *e)
{
	char host[256] = "pvattestd", *db = NULL;

	memset(c, 0, sizeof(*c));
	gethostname(host, sizeof(host) - 1);
	if (asprintf(&db, "sqlite:%s/pvattestd.db", dir) < 0)
		db = NULL;
	c->database = db;
	c->listen = strdup("127.0.0.1:8470");
	c->kek_file = in_dir(dir, "kek");
	c->token_key_file = in_dir(dir, "token-key.pem");
	c->admin_token_file = in_dir(dir, "admin-token");
	c->issuer = strdup("pvattestd");
	c->node = strdup(host);
	c->token_ttl = 3600;
	c->challenge_ttl = 300;
	c->threads = 8;
	c->max_body = PVATTESTD_MAX_BODY_DEFAULT;
	c->conn_timeout = 30;
	c->max_connections = 1024;
	c->log_json = 1;
	if (!c->database || !c->listen || !c->kek_file || !c->token_key_file ||
	    !c->admin_token_file || !c->issuer || !c->node)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	return 0;
}

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	(void)d;
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int num(const char *file, const char *key, const char *v, long lo, long hi, long *out,
	       struct pvk_err *e)
{
	char *end;
	long x;

	errno = 0;
	x = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || *end || end == v || x < lo || x > hi)
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s: expected a number from %ld to %ld", file,
				key, lo, hi);
	*out = x;
	return 0;
}

static int boolean(const char *file, const char *key, const char *v, int *out,
		   struct pvk_err *e)
{
	if (v && (!strcmp(v, "true") || !strcmp(v, "yes")))
		*out = 1;
	else if (v && (!strcmp(v, "false") || !strcmp(v, "no")))
		*out = 0;
	else
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s: expected true or false", file, key);
	return 0;
}

static int list(const char *file, const char *dir, const char *key, yaml_document_t *d,
		yaml_node_t *n, char **out, size_t *cnt, struct pvk_err *e)
{
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s: expected a list of files", file, key);
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		const char *v = scalar(d, yaml_document_get_node(d, *i));

		if (!v)
			return pvk_fail(e, PVK_E_FORMAT, "%s: %s: expected a list of files", file, key);
		if (*cnt == 8)
			return pvk_fail(e, PVK_E_FORMAT, "%s: %s: at most 8 files", file, key);
		if (!(out[(*cnt)++] = in_dir(dir, v)))
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	return 0;
}

static int trust(struct pvattestd_config *c, const char *dir, yaml_document_t *d,
		 yaml_node_t *n, struct pvk_err *e)
{
	const char *f = c->path;

	if (n->type != YAML_MAPPING_NODE)
		return pvk_fail(e, PVK_E_FORMAT, "%s: trust: expected a mapping", f);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *k = scalar(d, yaml_document_get_node(d, p->key));
		yaml_node_t *vn = yaml_document_get_node(d, p->value);
		const char *v = scalar(d, vn);
		int rc;

		if (!k)
			return pvk_fail(e, PVK_E_FORMAT, "%s: trust: keys must be names", f);
		if (!strcmp(k, "certs"))
			rc = list(f, dir, "trust.certs", d, vn, c->certs, &c->n_certs, e);
		else if (!strcmp(k, "crls"))
			rc = list(f, dir, "trust.crls", d, vn, c->crls, &c->n_crls, e);
		else if (!strcmp(k, "root_ca"))
			rc = v ? ((c->root_ca = in_dir(dir, v)) ? 0 : -1)
			       : pvk_fail(e, PVK_E_FORMAT, "%s: trust.root_ca: expected a file", f);
		else if (!strcmp(k, "offline"))
			rc = boolean(f, "trust.offline", v, &c->offline, e);
		else if (!strcmp(k, "no_verify"))
			rc = boolean(f, "trust.no_verify", v, &c->no_verify, e);
		else
			rc = pvk_fail(e, PVK_E_FORMAT, "%s: trust: unknown key '%s'", f, k);
		if (rc)
			return -1;
	}
	return 0;
}

static int item(struct pvattestd_config *c, const char *dir, const char *k, const char *v,
		struct pvk_err *e)
{
	const char *f = c->path;
	char **file = !strcmp(k, "kek") ? &c->kek_file :
		      !strcmp(k, "token_key") ? &c->token_key_file :
		      !strcmp(k, "admin_token") ? &c->admin_token_file : NULL;
	char **str = !strcmp(k, "listen") ? &c->listen : !strcmp(k, "issuer") ? &c->issuer :
		     !strcmp(k, "node") ? &c->node : NULL;

	if (!v)
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s: expected a value", f, k);
	if (file) {
		free(*file);
		return (*file = in_dir(dir, v)) ? 0 : pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	if (str)
		return set_str(str, v) ? pvk_fail(e, PVK_E_NOMEM, "out of memory") : 0;
	if (!strcmp(k, "database")) {
		char *db = NULL;

		/* sqlite:RELATIVE is relative to the state directory too */
		if (!strncmp(v, "sqlite:", 7) && v[7] != '/' && asprintf(&db, "sqlite:%s/%s", dir, v + 7) < 0)
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		free(c->database);
		c->database = db ? db : strdup(v);
		return c->database ? 0 : pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	if (!strcmp(k, "token_ttl"))
		return num(f, k, v, 1, 86400 * 366, &c->token_ttl, e);
	if (!strcmp(k, "challenge_ttl"))
		return num(f, k, v, 1, 86400, &c->challenge_ttl, e);
	if (!strcmp(k, "threads"))
		return num(f, k, v, 1, 256, &c->threads, e);
	if (!strcmp(k, "max_body"))
		return num(f, k, v, 4096, 64L * 1024 * 1024, &c->max_body, e);
	if (!strcmp(k, "connection_timeout"))
		return num(f, k, v, 1, 3600, &c->conn_timeout, e);
	if (!strcmp(k, "max_connections"))
		return num(f, k, v, 4, 100000, &c->max_connections, e);
	if (!strcmp(k, "log_format")) {
		if (strcmp(v, "json") && strcmp(v, "text"))
			return pvk_fail(e, PVK_E_FORMAT, "%s: log_format: expected json or text", f);
		c->log_json = !strcmp(v, "json");
		return 0;
	}
	return pvk_fail(e, PVK_E_FORMAT, "%s: unknown key '%s'", f, k);
}

int pvattestd_config_load(const char *path, const char *dir, struct pvattestd_config *c,
			  struct pvk_err *e)
{
	yaml_document_t doc;
	yaml_node_t *root;
	uint8_t *buf;
	size_t len;
	int rc = -1;

	if (defaults(c, dir, e))
		return -1;
	if (!path)
		return 0;
	if (!(c->path = strdup(path)))
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (pvk_file_read_all(path, 1024 * 1024, &buf, &len, e))
		return -1;
	if (pvk_yin_load(buf, len, path, &doc, e)) {
		free(buf);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		pvk_fail(e, PVK_E_FORMAT, "%s: expected a mapping of settings", path);
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(&doc, yaml_document_get_node(&doc, p->key));
		yaml_node_t *vn = yaml_document_get_node(&doc, p->value);

		if (!k) {
			pvk_fail(e, PVK_E_FORMAT, "%s: keys must be names", path);
			goto out;
		}
		if (!strcmp(k, "trust") ? trust(c, dir, &doc, vn, e) : item(c, dir, k, scalar(&doc, vn), e))
			goto out;
	}
	rc = 0;
out:
	yaml_document_delete(&doc);
	free(buf);
	return rc;
}

void pvattestd_config_free(struct pvattestd_config *c)
{
	free(c->path);
	free(c->listen);
	free(c->database);
	free(c->kek_file);
	free(c->token_key_file);
	free(c->admin_token_file);
	free(c->issuer);
	free(c->node);
	for (size_t i = 0; i < c->n_certs; i++)
		free(c->certs[i]);
	for (size_t i = 0; i < c->n_crls; i++)
		free(c->crls[i]);
	free(c->root_ca);
	memset(c, 0, sizeof(*c));
}

void pvattestd_config_certs(const struct pvattestd_config *c, struct pvk_cert_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->certs = (const char **)c->certs;
	o->n_certs = c->n_certs;
	o->crls = (const char **)c->crls;
	o->n_crls = c->n_crls;
	o->root_ca = c->root_ca;
	o->offline = c->offline;
	o->no_verify = c->no_verify;
}
