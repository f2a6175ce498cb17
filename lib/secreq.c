// SPDX-License-Identifier: MIT
/* pvsecret create's request, from the user's files (IBM's order of checks and warnings). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/secret.h"
#include "pvkit/secreq.h"
#include "pvkit/sehdr.h"
#include "pvkit/yamlout.h"

#define POLICY_PATH_MAX 480
#define SECRET_FILE_MAX 0x100000   /* --secret inputs: far above any valid secret */
#define KEY_FILE_MAX 0x100000

struct ctx {
	const struct pvk_secreq_args *a;
	pvk_secreq_warn_fn warn;
	void *warn_ctx;
	struct asrcb_params p;
	EVP_PKEY *sign_key;
};

static void warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn(c->warn_ctx, msg);
}

/* A 32-byte secret value: read from path, or random without one. */
static int value32(const char *path, const char *what, struct pvk_secreq *r, struct pvk_err *e)
{
	r->value_len = 32;
	r->value = malloc(32);
	if (!r->value)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	return path ? pvk_file_read_exact(path, r->value, 32, what, e) : pvk_random(r->value, 32, e);
}

static int load_secret(struct ctx *c, struct pvk_secreq *r, struct pvk_err *e)
{
	const struct pvk_secreq_args *a = c->a;
	uint8_t *file = NULL;
	size_t file_len = 0;
	int rc = 0;

	switch (a->kind) {
	case PVK_SECREQ_META:
		c->p.secret_type = SECRET_NULL;
		break;
	case PVK_SECREQ_ASSOC:
		c->p.secret_type = SECRET_ASSOCIATION;
		rc = value32(a->input_secret, "the association secret", r, e);
		break;
	case PVK_SECREQ_RETR:
		rc = pvk_file_read_arg(a->secret, SECRET_FILE_MAX, &file, &file_len, e) ||
		     pvk_secret_encode_value(pvk_secret_input_kind_parse(a->type), file, file_len,
					     a->secret, &c->p.secret_type, &r->value, &r->value_len, e);
		pvk_buf_free_secret(file, file_len);
		break;
	case PVK_SECREQ_CCK:
		c->p.secret_type = SECRET_UPDATE_CCK;
		rc = value32(a->secret, "the new customer-communication key", r, e);
		break;
	}
	if (rc)
		return -1;
	if (a->name)
		pvk_secret_id_from_name(a->name, a->use_name, c->p.secret_id);
	c->p.value = r->value;
	c->p.value_len = (uint32_t)r->value_len;
	r->secret_type = c->p.secret_type;
	memcpy(r->secret_id, c->p.secret_id, 32);
	return 0;
}

/* The flags, the target image's digests and tag, its CUID, the extension secret. */
static int load_target(struct ctx *c, struct pvk_err *e)
{
	const struct pvk_secreq_args *a = c->a;
	uint8_t *hdr = NULL, cck[32];
	size_t hdr_len;
	uint64_t off;
	struct sehdr h;
	int rc = -1;

	if (a->pcf && pvk_parse_u64_hex(a->pcf, &c->p.flags))
		return pvk_fail(e, PVK_E_FORMAT, "--pcf: not a 64-bit hex number: '%s'", a->pcf);
	if (a->disable_dump)
		c->p.flags |= ASRCB_FLAG_DISABLE_DUMP;
	if (pvk_sehdr_read_file(a->hdr, &hdr, &hdr_len, &off, e))
		return -1;
	if (pvk_sehdr_parse(hdr, hdr_len, &h, e)) {
		pvk_wrap(e, "%s: the SE header is malformed", a->hdr);
		goto out;
	}
	memcpy(c->p.pld, h.pld, 64);
	memcpy(c->p.ald, h.ald, 64);
	memcpy(c->p.tld, h.tld, 64);
	memcpy(c->p.tag, h.tag, 16);
	if (a->cuid_hex && pvk_secret_cuid_parse_hex(a->cuid_hex, c->p.cuid)) {
		pvk_fail(e, PVK_E_FORMAT, "--cuid-hex: not 32 hex digits: '%s'", a->cuid_hex);
		goto out;
	}
	if (a->cuid) {
		uint8_t *cbuf;
		size_t clen;

		if (pvk_file_read_arg(a->cuid, 0x100000, &cbuf, &clen, e))
			goto out;
		rc = pvk_secret_cuid_from_file(cbuf, clen, c->p.cuid, e);
		free(cbuf);
		if (rc) {
			pvk_wrap(e, "%s", a->cuid);
			goto out;
		}
		rc = -1;
	}
	if (a->ext_secret &&
	    pvk_file_read_exact(a->ext_secret, c->p.ext_secret, 32, "the extension secret", e))
		goto out;
	if (a->cck && (pvk_file_read_exact(a->cck, cck, 32, "the customer-communication key", e) ||
		       pvk_asrcb_derive_ext_secret(cck, c->p.tag, c->p.ext_secret, e)))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(cck, sizeof(cck));
	free(hdr);
	return rc;
}

/* User data = SHA-256 of the policy file and its path as given. */
static int policy_reference(const char *path, uint8_t ud[ASRCB_USER_LEN], char hash_hex[65],
			    struct pvk_err *e)
{
	uint8_t *buf, h[32];
	size_t len, n = strlen(path);

	if (pvk_file_read_all(path, SIZE_MAX / 2, &buf, &len, e))
		return -1;
	pvk_sha256(buf, len, h);
	free(buf);
	memset(ud, 0, ASRCB_USER_LEN);
	memcpy(ud, h, 32);
	memcpy(ud + 32, path, n < POLICY_PATH_MAX ? n : POLICY_PATH_MAX);
	pvk_hex_encode(h, 32, hash_hex);
	return 0;
}

static int load_sign_key(struct ctx *c, struct pvk_err *e)
{
	const char *path = c->a->sign_key;
	uint8_t *kbuf;
	size_t klen;
	int t;

	if (pvk_file_read_arg(path, KEY_FILE_MAX, &kbuf, &klen, e))
		return -1;
	t = pvk_secret_load_private_key(kbuf, klen, path, &c->sign_key, e);
	pvk_buf_free_secret(kbuf, klen);
	if (t)
		return -1;
	t = pvk_asrcb_user_type_for_key(c->sign_key, e);
	if (t < 0)
		return pvk_wrap(e, "%s", path);
	c->p.user_type = (uint16_t)t;
	return 0;
}

static int load_user_data(struct ctx *c, struct pvk_secreq *r, struct pvk_err *e)
{
	const struct pvk_secreq_args *a = c->a;
	uint8_t ud[ASRCB_USER_LEN], *ubuf;
	size_t ulen, max;

	if (a->sign_key && load_sign_key(c, e))
		return -1;
	if (a->user_data) {
		if (!a->sign_key)
			c->p.user_type = ASRCB_USER_UNSIGNED;
		max = pvk_asrcb_user_data_max(c->p.user_type);
		if (pvk_file_read_arg(a->user_data, max, &ubuf, &ulen, e)) {
			if (e->code == PVK_E_FORMAT)
				pvk_fail(e, PVK_E_FORMAT,
					 "%s: Invalid %s user-data for signing provided. Max %zu bytes allowed",
					 a->user_data, pvk_asrcb_user_type_name(c->p.user_type), max);
			return -1;
		}
		if (!ulen)
			warn(c, "Added empty user-data file.");
		memcpy(c->p.user_data, ubuf, ulen);
		free(ubuf);
	} else if (a->policy) {
		if (policy_reference(a->policy, ud, r->policy_hash, e))
			return -1;
		/* As IBM: a signing key takes the user data; the reference is printed, not kept. */
		if (a->sign_key) {
			warn(c, "'--policy %s' is dropped: with '--user-sign-key' the user data holds "
			     "only the signature", a->policy);
		} else {
			memcpy(c->p.user_data, ud, sizeof(ud));
			c->p.user_type = ASRCB_USER_UNSIGNED;
		}
	}
	return 0;
}

int pvk_secreq_create(const struct pvk_secreq_args *a, pvk_secreq_warn_fn warn_fn, void *ctx,
		      struct pvk_secreq *r, struct pvk_err *e)
{
	struct ctx c = { .a = a, .warn = warn_fn, .warn_ctx = ctx };
	EVP_PKEY **keys = NULL;
	size_t nkeys = 0;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (load_secret(&c, r, e) || load_target(&c, e) || load_user_data(&c, r, e))
		goto out;
	if (a->certs.no_verify) {
		char w[128];

		warn(&c, "%s", pvk_hostkey_noverify_warning("add-secret request", w, sizeof(w)));
	}
	if (pvk_hostkeys_load_verified(&a->certs, &keys, &nkeys, e))
		goto out;
	c.p.hosts = keys;
	c.p.n_hosts = nkeys;
	if (pvk_ec_generate(&c.p.cust, e) || pvk_random(c.p.iv, 12, e) ||
	    pvk_random(c.p.prot_key, 32, e))
		goto out;
	rc = c.sign_key ? pvk_asrcb_build_signed(&c.p, c.sign_key, &r->req, &r->req_len, e)
			: pvk_asrcb_build(&c.p, &r->req, &r->req_len, e);
out:
	EVP_PKEY_free(c.p.cust);
	EVP_PKEY_free(c.sign_key);
	OPENSSL_cleanse(&c.p, sizeof(c.p));
	pvk_hostkeys_free(keys, nkeys);
	if (rc)
		pvk_secreq_free(r);
	return rc;
}

void pvk_secreq_free(struct pvk_secreq *r)
{
	pvk_buf_free_secret(r->value, r->value_len);
	free(r->req);
	memset(r, 0, sizeof(*r));
}

/* The directory part of path including its '/', or "" (current directory). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path + 1) : 0;
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, path, n);
		d[n] = 0;
	}
	return d;
}

char *pvk_secreq_desc_path(const char *out, const char *name)
{
	char *dir = dir_of(strcmp(out, "-") ? out : ""), *file = pvk_secret_desc_filename(name);
	char *p = NULL;

	if (dir && file && asprintf(&p, "%s%s", dir, file) < 0)
		p = NULL;
	free(dir);
	free(file);
	return p;
}

/* The table of contents with the request's tag appended, staged to be committed with the
 * request: a request that was not written never shows up in it. */
static int toc_stage(struct outfile *of, const char *path, const uint8_t tag[16],
		     struct pvk_err *e)
{
	uint8_t *old = NULL;
	size_t old_len = 0;
	char line[34];
	struct stat st;
	int rc;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    pvk_file_read_all(path, 64u << 20, &old, &old_len, e))
		return -1;
	pvk_hex_encode(tag, 16, line);
	line[32] = '\n';
	rc = pvk_outfile_open(of, path, OUTFILE_OVERWRITE, e) ||
	     pvk_outfile_write(of, old, old_len, e) || pvk_outfile_write(of, line, 33, e);
	free(old);
	return rc ? -1 : 0;
}

static int stage(struct outfile *of, const char *path, int flags, const void *buf, size_t len,
		 struct outfile **ofs, size_t *n, struct pvk_err *e)
{
	if (pvk_outfile_open(of, path, flags, e) || pvk_outfile_write(of, buf, len, e))
		return -1;
	ofs[(*n)++] = of;
	return 0;
}

/* Everything but the request, staged. */
static int stage_side_outputs(const struct pvk_secreq *r, const struct pvk_secreq_out *o,
			      char **desc_path, char **desc_yaml, struct outfile of[3],
			      struct outfile **ofs, size_t *n, struct pvk_err *e)
{
	size_t yaml_len = 0;

	if (o->name) {
		if (pvk_secret_desc_yaml(r->secret_type, o->name, r->secret_id, desc_yaml, &yaml_len,
					 e))
			return -1;
		if (o->desc_file) {
			*desc_path = pvk_secreq_desc_path(o->out, o->name);
			if (!*desc_path)
				return pvk_fail(e, PVK_E_NOMEM, "out of memory");
			if (stage(&of[0], *desc_path, OUTFILE_OVERWRITE, *desc_yaml, yaml_len, ofs, n,
				  e))
				return -1;
		}
	}
	if (o->output_secret &&
	    stage(&of[1], o->output_secret, OUTFILE_OVERWRITE | OUTFILE_SECRET, r->value, 32, ofs, n,
		  e))
		return -1;
	if (o->toc) {
		if (toc_stage(&of[2], o->toc, r->req + r->req_len - 16, e))
			return -1;
		ofs[(*n)++] = &of[2];
	}
	return 0;
}

int pvk_secreq_write(const struct pvk_secreq *r, const struct pvk_secreq_out *o,
		     char **desc_path, char **desc_yaml, struct pvk_err *e)
{
	struct outfile of[4] = { { 0 } }, *ofs[4];
	size_t n = 0;
	int rc = -1;

	*desc_path = NULL;
	*desc_yaml = NULL;
	if (stage_side_outputs(r, o, desc_path, desc_yaml, of, ofs, &n, e))
		goto out;
	if (strcmp(o->out, "-")) {
		if (stage(&of[3], o->out, OUTFILE_OVERWRITE, r->req, r->req_len, ofs, &n, e))
			goto out;
		rc = pvk_outfiles_commit(ofs, n, e);
	} else {
		rc = pvk_outfiles_commit(ofs, n, e) || pvk_file_write_arg("-", r->req, r->req_len, 0, e)
			     ? -1 : 0;
	}
out:
	for (size_t i = 0; i < 4; i++)
		pvk_outfile_abort(&of[i]);
	return rc;
}

int pvk_secreq_kind_parse(const char *s)
{
	if (!strcmp(s, "meta"))
		return PVK_SECREQ_META;
	if (!strcmp(s, "association"))
		return PVK_SECREQ_ASSOC;
	if (!strcmp(s, "retrievable") || !strcmp(s, "retr"))
		return PVK_SECREQ_RETR;
	if (!strcmp(s, "update-cck") || !strcmp(s, "cck"))
		return PVK_SECREQ_CCK;
	return -1;
}

int pvk_secreq_flags_parse(const char *arg, int *disable_dump)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int rc = 0;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "disable-dump"))
			*disable_dump = 1;
		else
			rc = -1;
	}
	free(dup);
	return rc;
}

/* What each kind needs and allows. */
static const char *kind_check(const struct pvk_secreq_args *a, const struct pvk_secreq_out *o)
{
	if (a->kind != PVK_SECREQ_ASSOC && (a->input_secret || o->output_secret))
		return "'--input-secret' and '--output-secret' are options of 'association'";
	if (a->kind != PVK_SECREQ_RETR && a->type)
		return "'--type' is an option of 'retrievable'";
	if (a->kind != PVK_SECREQ_RETR && a->kind != PVK_SECREQ_CCK && a->secret)
		return "'--secret' is an option of 'retrievable' and 'update-cck'";
	switch (a->kind) {
	case PVK_SECREQ_ASSOC:
		if (a->input_secret && o->output_secret)
			return "'--input-secret' cannot be used with '--output-secret'";
		break;
	case PVK_SECREQ_RETR:
		if (!a->secret)
			return "retrievable: the required option '--secret <FILE>' is missing";
		if (!a->type)
			return "retrievable: the required option '--type <TYPE>' is missing";
		if (pvk_secret_input_kind_parse(a->type) < 0)
			return "--type: plain, aes, aes-xts, hmac-sha or ec";
		break;
	case PVK_SECREQ_CCK:
		if (!a->secret)
			return "update-cck: the required option '--secret <FILE>' is missing";
		break;
	default:
		break;
	}
	return NULL;
}

/* The description file must not be one of the other outputs. */
static const char *desc_check(const struct pvk_secreq_out *o, char *buf, size_t len)
{
	char *f;
	const char *msg = NULL;

	if (!o->name || !o->desc_file)
		return NULL;
	f = pvk_secret_desc_filename(o->name);
	if (f && o->output_secret && !strcmp(o->output_secret, f))
		msg = "the secret output file and the secret description '%s' are the same";
	else if (f && !strcmp(o->out, f))
		msg = "the output file and the secret description '%s' are the same";
	if (msg)
		snprintf(buf, len, msg, f);
	free(f);
	return msg ? buf : NULL;
}

const char *pvk_secreq_args_check(const struct pvk_secreq_args *a,
				  const struct pvk_secreq_out *o, char *buf, size_t len)
{
	const char *msg;

	if (!a->hdr)
		return "the required option '--hdr <FILE>' is missing";
	if (!o->out)
		return "the required option '--output <FILE>' is missing";
	if (a->ext_secret && a->cck)
		return "'--extension-secret' cannot be used with '--cck'";
	if (a->cuid && a->cuid_hex)
		return "'--cuid' cannot be used with '--cuid-hex'";
	if (a->user_data && a->policy)
		return "'--policy' cannot be used with '--user-data'";
	msg = kind_check(a, o);
	return msg ? msg : desc_check(o, buf, len);
}

int pvk_secreq_describe_json(const uint8_t *req, size_t len, const uint8_t *user_data,
			     size_t user_len, char **out, size_t *out_len, struct pvk_err *e)
{
	char name[64];
	struct asrcb_view v;
	json_object *o;
	int rc;

	if (pvk_asrcb_parse(req, len, &v, e))
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "user_data_type",
			       json_object_new_string(pvk_asrcb_user_type_name(v.user_type)));
	json_object_object_add(o, "signed", json_object_new_boolean(v.user_type > ASRCB_USER_UNSIGNED));
	json_object_object_add(o, "user_data", pvk_json_hex(user_data, user_len, 1));
	json_object_object_add(o, "secret_type", json_object_new_string(
				       pvk_secret_type_name(v.secret_type, name, sizeof(name))));
	json_object_object_add(o, "secret_id", v.secret_id && v.secret_type != SECRET_UPDATE_CCK
				       ? pvk_json_hex(v.secret_id, SECRET_ID_LEN, 1) : NULL);
	json_object_object_add(o, "disable_dump",
			       json_object_new_boolean(!!(v.flags & ASRCB_FLAG_DISABLE_DUMP)));
	json_object_object_add(o, "cuid", pvk_json_hex(v.cuid, SECRET_CUID_LEN, 1));
	json_object_object_add(o, "se_header_tag", pvk_json_hex(v.tag, 16, 1));
	rc = pvk_json_text(o, 1, out, out_len, e);
	json_object_put(o);
	return rc;
}
