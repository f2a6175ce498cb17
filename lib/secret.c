// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <yaml.h>
#include <json-c/json.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/secret.h"
#include "pvkit/uvreq.h"
#include "pvkit/yamlin.h"
#include "pvkit/yamlout.h"

#define CUID_YAML_DEPTH 8
#define EC_SIG_MAX 139
#define EC_SIG_LEN_OFF 0x190   /* u16 signature length inside the user-data area */

/* ---------------------------------------------------------------------------------------- */
/* Secret IDs */

void pvk_secret_id_from_name(const char *name, int use_name, uint8_t id[SECRET_ID_LEN])
{
	size_t n = strlen(name);

	if (!use_name) {
		pvk_sha256(name, n, id);
		return;
	}
	memset(id, 0, SECRET_ID_LEN);
	memcpy(id, name, n < SECRET_ID_LEN - 1 ? n : SECRET_ID_LEN - 1);
}

/* Rust's is_ascii_whitespace: space, \t, \n, \f, \r (not \v). */
static int ascii_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

int pvk_secret_id_ascii(const uint8_t id[SECRET_ID_LEN], char out[SECRET_ID_LEN])
{
	size_t n = 0;

	while (n < SECRET_ID_LEN && id[n])
		n++;
	if (n == 0 || n == SECRET_ID_LEN)   /* empty, or no NUL at all */
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(ascii_ws(id[i]) || (id[i] >= 0x21 && id[i] <= 0x7e)))
			return 0;
	for (size_t i = n; i < SECRET_ID_LEN; i++)
		if (id[i])
			return 0;
	memcpy(out, id, n);
	out[n] = 0;
	return 1;
}

const char *pvk_secret_id_display(const uint8_t id[SECRET_ID_LEN], char buf[SECRET_ID_DISPLAY_MAX])
{
	char text[SECRET_ID_LEN], hex[2 * SECRET_ID_LEN + 1];

	pvk_hex_encode(id, SECRET_ID_LEN, hex);
	if (pvk_secret_id_ascii(id, text))
		snprintf(buf, SECRET_ID_DISPLAY_MAX, "%s | 0x%s", text, hex);
	else
		snprintf(buf, SECRET_ID_DISPLAY_MAX, "0x%s", hex);
	return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* Secret values */

int pvk_secret_input_kind_parse(const char *s)
{
	static const char *const names[] = { "plain", "aes", "aes-xts", "hmac-sha", "ec" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

int pvk_secret_encode_plaintext(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len,
			    struct pvk_err *e)
{
	size_t n;
	uint8_t *b;

	if (len > SECRET_PLAIN_MAX)
		return pvk_fail(e, PVK_E_FORMAT,
				"a plaintext secret holds at most %d bytes, not %zu", SECRET_PLAIN_MAX,
				len);
	n = (2 + len + 15) / 16 * 16;
	b = calloc(1, n);
	if (!b)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	put_be16(b, (uint16_t)len);
	if (len)
		memcpy(b + 2, data, len);
	*out = b;
	*out_len = n;
	return 0;
}

int pvk_secret_encode_ec_key(EVP_PKEY *key, uint16_t *type, uint8_t out[80], size_t *out_len,
			 struct pvk_err *e)
{
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_EC) {
		char group[64] = "";
		size_t glen = 0, want;
		BIGNUM *bn = NULL;
		int ok;

		if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &glen))
			group[0] = 0;
		if (!strcmp(group, SN_X9_62_prime256v1)) {
			*type = SECRET_EC_P256;
			want = 32;
		} else if (!strcmp(group, SN_secp384r1)) {
			*type = SECRET_EC_P384;
			want = 48;
		} else if (!strcmp(group, SN_secp521r1)) {
			*type = SECRET_EC_P521;
			want = 80;
		} else {
			ERR_clear_error();
			return pvk_fail(e, PVK_E_FORMAT,
					"unsupported EC curve '%s' (secp256r1, secp384r1, secp521r1, ed25519 or ed448)",
					group[0] ? group : "unknown");
		}
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn))
			return pvk_fail_ssl(e, "the EC key holds no private key");
		ok = BN_bn2binpad(bn, out, (int)want) == (int)want;
		BN_clear_free(bn);
		if (!ok)
			return pvk_fail(e, PVK_E_FORMAT, "invalid EC private key");
		*out_len = want;
		return 0;
	}
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
		size_t want = id == EVP_PKEY_ED25519 ? 32 : 64, raw = 0;

		if (!EVP_PKEY_get_raw_private_key(key, NULL, &raw) || raw > want)
			return pvk_fail_ssl(e, "cannot read the Edwards private key");
		memset(out, 0, want);
		if (!EVP_PKEY_get_raw_private_key(key, out + (want - raw), &raw)) {
			OPENSSL_cleanse(out, want);
			return pvk_fail_ssl(e, "cannot read the Edwards private key");
		}
		*type = id == EVP_PKEY_ED25519 ? SECRET_ED25519 : SECRET_ED448;
		*out_len = want;
		return 0;
	}
	return pvk_fail(e, PVK_E_FORMAT,
			"unsupported key type for an EC secret (secp256r1, secp384r1, secp521r1, ed25519 or ed448)");
}

int pvk_secret_encode_value(enum secret_input_kind kind, const uint8_t *data, size_t len,
			const char *what, uint16_t *type, uint8_t **out, size_t *out_len,
			struct pvk_err *e)
{
	uint8_t *b;

	switch (kind) {
	case SECRET_IN_PLAIN:
		*type = SECRET_PLAINTEXT;
		if (pvk_secret_encode_plaintext(data, len, out, out_len, e))
			return pvk_wrap(e, "%s", what);
		return 0;
	case SECRET_IN_AES:
		if (len == 16 || len == 24 || len == 32) {
			*type = len == 16 ? SECRET_AES_128 : len == 24 ? SECRET_AES_192 : SECRET_AES_256;
			break;
		}
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: an AES key has 16, 24 or 32 bytes (128, 192 or 256 bit), not %zu",
				what, len);
	case SECRET_IN_AES_XTS:
		if (len == 32 || len == 64) {
			*type = len == 32 ? SECRET_AES_XTS_128 : SECRET_AES_XTS_256;
			break;
		}
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: an AES-XTS key has 32 or 64 bytes (2 x 128 or 2 x 256 bit), not %zu",
				what, len);
	case SECRET_IN_HMAC_SHA:
		if (len == 64 || len == 128) {
			*type = len == 64 ? SECRET_HMAC_SHA_256 : SECRET_HMAC_SHA_512;
			break;
		}
		return pvk_fail(e, PVK_E_FORMAT,
				"%s: an HMAC-SHA key has 64 or 128 bytes (HMAC-SHA-256 or -512 block size), not %zu",
				what, len);
	case SECRET_IN_EC: {
		EVP_PKEY *key = NULL;
		uint8_t scalar[80];
		size_t n;
		int rc;

		if (pvk_secret_load_private_key(data, len, what, &key, e))
			return -1;
		rc = pvk_secret_encode_ec_key(key, type, scalar, &n, e);
		EVP_PKEY_free(key);
		if (rc)
			return pvk_wrap(e, "%s", what);
		b = malloc(n);
		if (!b) {
			OPENSSL_cleanse(scalar, sizeof(scalar));
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		}
		memcpy(b, scalar, n);
		OPENSSL_cleanse(scalar, sizeof(scalar));
		*out = b;
		*out_len = n;
		return 0;
	}
	default:
		return pvk_fail(e, PVK_E_USAGE, "unknown secret type");
	}
	b = malloc(len);
	if (!b)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(b, data, len);
	*out = b;
	*out_len = len;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The secret list */

int pvk_secret_list_format_parse(const char *s)
{
	if (!strcmp(s, "human"))
		return SECRET_LIST_HUMAN;
	if (!strcmp(s, "yaml"))
		return SECRET_LIST_YAML;
	if (!strcmp(s, "bin"))
		return SECRET_LIST_BIN;
	if (!strcmp(s, "json"))
		return SECRET_LIST_JSON;
	return -1;
}

int pvk_secret_list_parse(const uint8_t *buf, size_t len, struct secret_list *l, struct pvk_err *e)
{
	size_t n;

	memset(l, 0, sizeof(*l));
	if (len < SECRET_LIST_HDR)
		return pvk_fail(e, PVK_E_FORMAT, "secret list of %zu bytes (no header)", len);
	n = get_be16(buf);
	if (n > (len - SECRET_LIST_HDR) / SECRET_LIST_ENTRY)
		return pvk_fail(e, PVK_E_FORMAT, "secret list: %zu entries do not fit in %zu bytes", n,
				len);
	l->total = get_be16(buf + 2);
	l->next = get_be16(buf + 4);
	l->n = n;
	l->raw_len = SECRET_LIST_HDR + n * SECRET_LIST_ENTRY;
	l->raw = malloc(l->raw_len);
	l->entries = calloc(n ? n : 1, sizeof(*l->entries));
	if (!l->raw || !l->entries) {
		pvk_secret_list_free(l);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	memcpy(l->raw, buf, l->raw_len);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + SECRET_LIST_HDR + i * SECRET_LIST_ENTRY;

		l->entries[i].index = get_be16(p);
		l->entries[i].type = get_be16(p + 2);
		l->entries[i].len = get_be32(p + 4);
		memcpy(l->entries[i].id, p + 16, SECRET_ID_LEN);
	}
	return 0;
}

void pvk_secret_list_free(struct secret_list *l)
{
	free(l->entries);
	free(l->raw);
	memset(l, 0, sizeof(*l));
}

/* The YAML document's members as JSON (pretty, two spaces), ending in a newline. */
static int list_json(const struct secret_list *l, uint8_t **out, size_t *out_len,
		     struct pvk_err *e)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	const char *s;
	size_t n;

	json_object_object_add(root, "total_num_secrets", json_object_new_int64(l->total));
	for (size_t i = 0; i < l->n; i++) {
		json_object *o = json_object_new_object();
		char id[2 + 2 * SECRET_ID_LEN + 1] = "0x";

		pvk_hex_encode(l->entries[i].id, SECRET_ID_LEN, id + 2);
		json_object_object_add(o, "index", json_object_new_int64(l->entries[i].index));
		json_object_object_add(o, "stype", json_object_new_int64(l->entries[i].type));
		json_object_object_add(o, "len", json_object_new_int64(l->entries[i].len));
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "secrets", arr);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	n = s ? strlen(s) : 0;
	*out = s ? malloc(n + 2) : NULL;
	if (*out) {
		memcpy(*out, s, n);
		memcpy(*out + n, "\n", 2);  /* NUL-terminated, as the text formats are */
		*out_len = n + 1;
	}
	json_object_put(root);
	return *out ? 0 : pvk_fail(e, PVK_E_NOMEM, "out of memory");
}

/* The human list, as IBM's pvsecret list prints it. */
static int list_human(const struct secret_list *l, uint8_t **out, size_t *out_len,
		      struct pvk_err *e)
{
	char *p = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&p, &len);

	if (!f)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	fprintf(f, "Total number of secrets: %u\n", l->total);
	if (l->n)
		fputc('\n', f);
	for (size_t i = 0; i < l->n; i++) {
		char tbuf[32], idbuf[SECRET_ID_DISPLAY_MAX];

		fprintf(f, "%u %s:\n %s\n", l->entries[i].index,
			pvk_secret_type_name(l->entries[i].type, tbuf, sizeof(tbuf)),
			pvk_secret_id_display(l->entries[i].id, idbuf));
	}
	if (fclose(f)) {
		free(p);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	*out = (uint8_t *)p;
	*out_len = len;
	return 0;
}

int pvk_secret_list_render(const struct secret_list *l, enum secret_list_format f, uint8_t **out,
		       size_t *out_len, struct pvk_err *e)
{
	if (f == SECRET_LIST_JSON)
		return list_json(l, out, out_len, e);
	if (f == SECRET_LIST_BIN) {
		uint8_t *b = malloc(l->raw_len ? l->raw_len : 1);

		if (!b)
			return pvk_fail(e, PVK_E_NOMEM, "out of memory");
		memcpy(b, l->raw, l->raw_len);
		*out = b;
		*out_len = l->raw_len;
		return 0;
	}
	if (f == SECRET_LIST_YAML) {
		struct yout y;
		char *s;

		if (pvk_yout_begin(&y, e))
			return -1;
		pvk_yout_map_start(&y);
		pvk_yout_kv_int(&y, "total_num_secrets", l->total);
		pvk_yout_key(&y, "secrets");
		pvk_yout_seq_start(&y);
		for (size_t i = 0; i < l->n; i++) {
			pvk_yout_map_start(&y);
			pvk_yout_kv_int(&y, "index", l->entries[i].index);
			pvk_yout_kv_int(&y, "stype", l->entries[i].type);
			pvk_yout_kv_int(&y, "len", l->entries[i].len);
			pvk_yout_kv_hex(&y, "id", l->entries[i].id, SECRET_ID_LEN);
			pvk_yout_map_end(&y);
		}
		pvk_yout_seq_end(&y);
		pvk_yout_map_end(&y);
		if (pvk_yout_finish(&y, &s, out_len, e))
			return -1;
		*out = (uint8_t *)s;
		return 0;
	}
	return list_human(l, out, out_len, e);
}

const struct secret_entry *pvk_secret_list_find_id(const struct secret_list *l,
					       const uint8_t id[SECRET_ID_LEN], size_t *count)
{
	const struct secret_entry *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(l->entries[i].id, id, SECRET_ID_LEN)) {
			if (!first)
				first = &l->entries[i];
			n++;
		}
	if (count)
		*count = n;
	return first;
}

const struct secret_entry *pvk_secret_list_find_index(const struct secret_list *l, uint16_t index)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->entries[i].index == index)
			return &l->entries[i];
	return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* NAME.yaml */

char *pvk_secret_desc_filename(const char *name)
{
	size_t n = strlen(name);
	char *s = malloc(n + sizeof(".yaml"));

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = isspace((unsigned char)name[i]) || name[i] == '/' ? '_' : name[i];
	memcpy(s + n, ".yaml", sizeof(".yaml"));
	return s;
}

static int all_in(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

/* Would a YAML 1.2 reader take this plain scalar for something other than a string (null,
 * bool, integer, float)? Then it must be quoted, as serde_yaml does. */
static int yaml_ambiguous(const char *s)
{
	static const char *const words[] = {
		"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		".nan", ".NaN", ".NAN",
	};
	const char *p = s;
	char *end;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return 1;
	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return all_in(p + 2, "0123456789abcdefABCDEF");
	if (p[0] == '0' && p[1] == 'o')
		return all_in(p + 2, "01234567");
	if (p[0] == '0' && p[1] == 'b')
		return all_in(p + 2, "01");
	if (all_in(p, "0123456789"))
		return 1;
	if (strpbrk(s, "0123456789") && !strpbrk(s, "xXpP") && !strstr(s, "nan") &&
	    !strstr(s, "inf")) {
		(void)strtod(s, &end);
		if (*end == 0)
			return 1;
	}
	return 0;
}

int pvk_secret_desc_yaml(uint16_t type, const char *name, const uint8_t id[SECRET_ID_LEN],
		     char **out, size_t *out_len, struct pvk_err *e)
{
	char hex[2 + 2 * SECRET_ID_LEN + 1], kind[64], tbuf[32];
	struct yout y;

	if (type == SECRET_NULL || type == SECRET_UPDATE_CCK)
		return pvk_fail(e, PVK_E_USAGE, "no secret description for this secret type");
	memcpy(hex, "0x", 2);
	pvk_hex_encode(id, SECRET_ID_LEN, hex + 2);
	if (pvk_yout_begin(&y, e))
		return -1;
	pvk_yout_map_start_tagged(&y, type == SECRET_ASSOCIATION ? "!Association" : "!Retrievable");
	if (type != SECRET_ASSOCIATION) {
		snprintf(kind, sizeof(kind), "%u (%s)", type, pvk_secret_type_name(type, tbuf, sizeof(tbuf)));
		pvk_yout_kv_str(&y, "kind", kind);
	}
	pvk_yout_key(&y, "name");
	if (yaml_ambiguous(name))
		pvk_yout_str_quoted(&y, name);
	else
		pvk_yout_str(&y, name);
	pvk_yout_kv_str(&y, "id", hex);
	pvk_yout_map_end(&y);
	return pvk_yout_finish(&y, out, out_len, e);
}

/* YAML documents loaded as libyaml nodes through the one reader and its limits. */
static int yaml_load(const uint8_t *buf, size_t len, yaml_document_t *doc, const char *what,
		     struct pvk_err *e)
{
	return pvk_yin_load(buf, len, what, doc, e);
}

static const char *node_str(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = node_str(yaml_document_get_node(d, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static int parse_id_str(const char *s, uint8_t id[SECRET_ID_LEN])
{
	if (!s || strlen(s) != 2 + 2 * SECRET_ID_LEN || s[0] != '0' || s[1] != 'x')
		return -1;
	return pvk_hex_decode(s, id, SECRET_ID_LEN);
}

int pvk_secret_desc_parse(const uint8_t *buf, size_t len, uint16_t *type, uint8_t id[SECRET_ID_LEN],
		      struct pvk_err *e)
{
	yaml_document_t d;
	yaml_node_t *root, *body = NULL;
	const char *tag, *kind;
	int variant = 0; /* 1 association, 2 retrievable, 3 other */
	int rc = -1;

	if (yaml_load(buf, len, &d, "secret description", e))
		return -1;
	root = yaml_document_get_root_node(&d);
	tag = root->tag ? (const char *)root->tag : "";
	if (root->type == YAML_MAPPING_NODE && !strcmp(tag, "!Association")) {
		variant = 1;
		body = root;
	} else if (root->type == YAML_MAPPING_NODE && !strcmp(tag, "!Retrievable")) {
		variant = 2;
		body = root;
	} else if (root->type == YAML_MAPPING_NODE && tag[0] == '!') {
		variant = 3;
	} else if (root->type == YAML_MAPPING_NODE &&
		   root->data.mapping.pairs.top - root->data.mapping.pairs.start == 1) {
		/* The other enum encoding: a one-key mapping {Variant: {...}}. */
		yaml_node_pair_t *p = root->data.mapping.pairs.start;
		const char *k = node_str(yaml_document_get_node(&d, p->key));

		body = yaml_document_get_node(&d, p->value);
		variant = k && !strcmp(k, "Association") ? 1 : k && !strcmp(k, "Retrievable") ? 2 : 3;
	}
	if (!variant) {
		pvk_fail(e, PVK_E_FORMAT,
			 "not a secret description (a '!Association' or '!Retrievable' mapping)");
		goto out;
	}
	if (variant == 3) {
		pvk_fail(e, PVK_E_FORMAT, "not a secret description of an association or retrievable secret");
		goto out;
	}
	if (parse_id_str(node_str(map_get(&d, body, "id")), id)) {
		pvk_fail(e, PVK_E_FORMAT, "the secret description has no 'id' of 0x and 64 hex digits");
		goto out;
	}
	if (variant == 1) {
		*type = SECRET_ASSOCIATION;
	} else {
		char *end;
		unsigned long t;

		kind = node_str(map_get(&d, body, "kind"));
		t = kind ? strtoul(kind, &end, 10) : 0;
		if (!kind || end == kind || (*end && *end != ' ') || t < SECRET_PLAINTEXT ||
		    t > SECRET_ED448 || pvk_secret_type_len((uint16_t)t) == 0 ||
		    (t > SECRET_HMAC_SHA_512 && t < SECRET_EC_P256)) {
			pvk_fail(e, PVK_E_FORMAT,
				 "the secret description has no valid retrievable 'kind' (\"<number> (<name>)\")");
			goto out;
		}
		*type = (uint16_t)t;
	}
	rc = 0;
out:
	yaml_document_delete(&d);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* CUID */

int pvk_secret_cuid_parse_hex(const char *s, uint8_t cuid[SECRET_CUID_LEN])
{
	return pvk_hex_decode(s, cuid, SECRET_CUID_LEN);
}

static const char *find_cuid(yaml_document_t *d, yaml_node_t *n, int depth)
{
	yaml_node_t *v;

	if (depth >= CUID_YAML_DEPTH || !n || n->type != YAML_MAPPING_NODE)
		return NULL;
	v = map_get(d, n, "cuid");
	if (v)
		return node_str(v);
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *s = find_cuid(d, yaml_document_get_node(d, p->value), depth + 1);

		if (s)
			return s;
	}
	return NULL;
}

int pvk_secret_cuid_from_file(const uint8_t *buf, size_t len, uint8_t cuid[SECRET_CUID_LEN],
			  struct pvk_err *e)
{
	yaml_document_t d;
	yaml_node_t *root;
	const char *s;
	int rc = -1;

	if (len == SECRET_CUID_LEN) {
		memcpy(cuid, buf, SECRET_CUID_LEN);
		return 0;
	}
	if (yaml_load(buf, len, &d, "CUID file", e))
		return pvk_wrap(e, "the CUID file holds neither 16 bytes nor YAML with a 'cuid' entry");
	root = yaml_document_get_root_node(&d);
	s = root->type == YAML_SCALAR_NODE ? node_str(root) : find_cuid(&d, root, 0);
	if (!s)
		pvk_fail(e, PVK_E_FORMAT, "the CUID file has no 'cuid' entry");
	else if (s[0] != '0' || s[1] != 'x')
		pvk_fail(e, PVK_E_FORMAT, "the CUID value does not start with 0x");
	else if (strlen(s + 2) != 2 * SECRET_CUID_LEN)
		pvk_fail(e, PVK_E_FORMAT, "the CUID value has %zu hex digits, not 32", strlen(s + 2));
	else if (pvk_hex_decode(s, cuid, SECRET_CUID_LEN))
		pvk_fail(e, PVK_E_FORMAT, "the CUID value is not a hex number");
	else
		rc = 0;
	yaml_document_delete(&d);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* User data */

const char *pvk_asrcb_user_type_name(uint16_t type)
{
	switch (type) {
	case ASRCB_USER_NONE: return "None";
	case ASRCB_USER_UNSIGNED: return "unsigned";
	case ASRCB_USER_ECDSA_P521: return "ECDSA signed";
	case ASRCB_USER_RSA_2048: return "RSA 2048 signed";
	case ASRCB_USER_RSA_3072: return "RSA 3072 signed";
	default: return "unknown";
	}
}

size_t pvk_asrcb_user_data_max(uint16_t type)
{
	switch (type) {
	case ASRCB_USER_UNSIGNED: return 512;
	case ASRCB_USER_ECDSA_P521: return 256;
	case ASRCB_USER_RSA_2048: return 256;
	case ASRCB_USER_RSA_3072: return 128;
	default: return 0;
	}
}

/* 2/3/4 for a supported key, 0 otherwise. */
static int key_user_type(EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_EC) {
		char group[64] = "";
		size_t glen = 0;

		if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) &&
		    !strcmp(group, SN_secp521r1))
			return ASRCB_USER_ECDSA_P521;
		ERR_clear_error();
		return 0;
	}
	if (id == EVP_PKEY_RSA) {
		int bits = EVP_PKEY_get_bits(key);

		return bits == 2048 ? ASRCB_USER_RSA_2048 : bits == 3072 ? ASRCB_USER_RSA_3072 : 0;
	}
	return 0;
}

int pvk_asrcb_user_type_for_key(EVP_PKEY *key, struct pvk_err *e)
{
	int t = key_user_type(key);

	if (!t)
		return pvk_fail(e, PVK_E_FORMAT,
				"Unsupported user data signing key provided. Only EC(secp521r1) and RSA(2048 & 3072 bit) are supported");
	return t;
}

static int setup_pss(EVP_PKEY *key, EVP_PKEY_CTX *pctx, int saltlen)
{
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return 1;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha512()) > 0;
}

static int sign_msg(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig, size_t *sig_len,
		    struct pvk_err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t n = 0;
	int ok;

	ok = md && EVP_DigestSignInit(md, &pctx, EVP_sha512(), NULL, key) == 1 &&
	     setup_pss(key, pctx, RSA_PSS_SALTLEN_DIGEST) &&
	     EVP_DigestSign(md, NULL, &n, msg, len) == 1 && n <= *sig_len &&
	     EVP_DigestSign(md, sig, &n, msg, len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return pvk_fail_ssl(e, "cannot sign the add-secret request");
	*sig_len = n;
	return 0;
}

/* 1 valid, 0 invalid, -1 error. */
static int verify_msg(EVP_PKEY *key, const uint8_t *msg, size_t len, const uint8_t *sig,
		      size_t sig_len, struct pvk_err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc;

	if (!md || EVP_DigestVerifyInit(md, &pctx, EVP_sha512(), NULL, key) != 1 ||
	    !setup_pss(key, pctx, RSA_PSS_SALTLEN_AUTO)) {
		EVP_MD_CTX_free(md);
		return pvk_fail_ssl(e, "cannot set up the signature verification");
	}
	rc = EVP_DigestVerify(md, sig, sig_len, msg, len);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc == 1 ? 1 : 0;
}

int pvk_asrcb_build_signed(struct asrcb_params *p, EVP_PKEY *key, uint8_t **out, size_t *len,
		       struct pvk_err *e)
{
	size_t max = pvk_asrcb_user_data_max(p->user_type), sig_len = 512, n1, n2;
	uint8_t *r1 = NULL, *r2 = NULL, sig[512];
	int t = pvk_asrcb_user_type_for_key(key, e);

	if (t < 0)
		return -1;
	if (t != p->user_type)
		return pvk_fail(e, PVK_E_USAGE, "the user-data type does not match the signing key");
	memset(p->user_data + max, 0, ASRCB_USER_LEN - max);
	if (pvk_asrcb_build(p, &r1, &n1, e))
		return -1;
	if (t == ASRCB_USER_ECDSA_P521)
		sig_len = EC_SIG_MAX;
	else
		sig_len = ASRCB_USER_LEN - max;
	if (sign_msg(key, r1, n1 - 16, sig, &sig_len, e))
		goto fail;
	if (t != ASRCB_USER_ECDSA_P521 && sig_len != ASRCB_USER_LEN - max) {
		pvk_fail(e, PVK_E_CRYPTO, "RSA signature of %zu bytes", sig_len);
		goto fail;
	}
	memcpy(p->user_data + max, sig, sig_len);
	if (t == ASRCB_USER_ECDSA_P521)
		put_be16(p->user_data + EC_SIG_LEN_OFF, (uint16_t)sig_len);
	if (pvk_asrcb_build(p, &r2, &n2, e))
		goto fail;
	/* Same key and IV: the ciphertext must not have changed, or the signature is void. */
	if (n1 != n2 || memcmp(r1 + ASRCB_OFF_CUST, r2 + ASRCB_OFF_CUST, n1 - 16 - ASRCB_OFF_CUST)) {
		pvk_fail(e, PVK_E_CRYPTO, "the request changed between the two builds");
		goto fail;
	}
	free(r1);
	*out = r2;
	*len = n2;
	return 0;
fail:
	free(r1);
	free(r2);
	return -1;
}

static const char *key_desc(EVP_PKEY *key, char *buf, size_t len)
{
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_RSA)
		snprintf(buf, len, "RSA %d", EVP_PKEY_get_bits(key));
	else
		snprintf(buf, len, "%s", id == EVP_PKEY_EC ? "EC" : "Unknown");
	return buf;
}

int pvk_asrcb_verify_user_data(const uint8_t *req, size_t len, EVP_PKEY *cert_key,
			   uint8_t data[ASRCB_USER_LEN], size_t *data_len, struct pvk_err *e)
{
	uint32_t rql, sea;
	uint16_t type;
	uint8_t *msg;
	const uint8_t *area = req + ASRCB_OFF_USER;
	size_t max, sig_off, sig_len;
	char kb[32];
	int ok;

	*data_len = 0;
	if (len < 8 || memcmp(req, ASRCB_MAGIC, 6))
		return pvk_fail(e, PVK_E_FORMAT, "not an add-secret request (magic 'asrcbM' missing)");
	type = get_be16(req + 6);
	if (type > ASRCB_USER_RSA_3072)
		return pvk_fail(e, PVK_E_FORMAT, "unknown user-data type %u", type);
	if (len < UVREQ_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "add-secret request truncated (%zu bytes)", len);
	rql = get_be32(req + UVREQ_OFF_RQL);
	sea = get_be32(req + UVREQ_OFF_SEA);
	if (len > rql)
		return pvk_fail(e, PVK_E_FORMAT, "%zu bytes, longer than the request length %u", len,
				rql);
	if (len < rql)
		return pvk_fail(e, PVK_E_FORMAT, "truncated: %zu of %u bytes", len, rql);
	if ((uint64_t)sea + 16 > rql || rql - sea - 16 < UVREQ_HDR_LEN)
		return pvk_fail(e, PVK_E_FORMAT, "inconsistent request and encrypted-area sizes");
	if (get_be32(req + UVREQ_OFF_VERSION) != UVREQ_VERSION_V1)
		return pvk_fail(e, PVK_E_FORMAT, "Input does not contain an add-secret request version 1");
	if (rql < ASRCB_OFF_CUST + 16)
		return pvk_fail(e, PVK_E_FORMAT, "the request is too short for user data");

	/* A certificate asks "did its key sign this?": a request that carries no signature is
	 * a "no" (IBM's tool says yes here; pvkit deliberately does not, see pvsecret-verify(1)). */
	if (type == ASRCB_USER_NONE && cert_key)
		return pvk_fail(e, PVK_E_VERIFY,
				"the request carries no user data, so no signature of the certificate's key");
	if (type == ASRCB_USER_NONE)
		return 0;
	if (type == ASRCB_USER_UNSIGNED) {
		if (cert_key)
			return pvk_fail(e, PVK_E_VERIFY,
					"Provided user-data key type (%s) does not match with the user-data (%s)",
					key_desc(cert_key, kb, sizeof(kb)), pvk_asrcb_user_type_name(type));
		memcpy(data, area, ASRCB_USER_LEN);
		*data_len = ASRCB_USER_LEN;
		return 0;
	}
	if (!cert_key)
		return pvk_fail(e, PVK_E_VERIFY,
				"No user-key for verification provided and user-data is signed");
	if (key_user_type(cert_key) != type)
		return pvk_fail(e, PVK_E_VERIFY,
				"Provided user-data key type (%s) does not match with the user-data (%s)",
				key_desc(cert_key, kb, sizeof(kb)), pvk_asrcb_user_type_name(type));
	max = pvk_asrcb_user_data_max(type);
	sig_off = max;
	if (type == ASRCB_USER_ECDSA_P521) {
		sig_len = get_be16(area + EC_SIG_LEN_OFF);
		if (sig_len > EC_SIG_MAX)
			return pvk_fail(e, PVK_E_AUTH,
					"The user-defined request signature could not be verified with the provided certificate");
	} else {
		sig_len = ASRCB_USER_LEN - max;
	}
	msg = malloc(rql - 16);
	if (!msg)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	memcpy(msg, req, rql - 16);
	memset(msg + ASRCB_OFF_USER + max, 0, ASRCB_USER_LEN - max);
	ok = verify_msg(cert_key, msg, rql - 16, area + sig_off, sig_len, e);
	free(msg);
	if (ok < 0)
		return -1;
	if (!ok)
		return pvk_fail(e, PVK_E_AUTH,
				"The user-defined request signature could not be verified with the provided certificate");
	memcpy(data, area, max);
	*data_len = max;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Retrieved secrets */

int pvk_secret_plaintext_unwrap(const uint8_t *buf, size_t len, size_t *plen)
{
	size_t n;

	if (len < 2)
		return 0;
	n = get_be16(buf);
	if (n > SECRET_PLAIN_MAX || n + 2 > len || len - (n + 2) >= 16)
		return 0;
	for (size_t i = n + 2; i < len; i++)
		if (buf[i])
			return 0;
	*plen = n;
	return 1;
}

int pvk_secret_retrieved_pem(uint16_t type, const uint8_t *buf, size_t len, char **out,
			 size_t *out_len, struct pvk_err *e)
{
	const uint8_t *data = buf;
	size_t dlen = len;
	char header[64], tbuf[32];
	BIO *bio = BIO_new(BIO_s_secmem());
	BUF_MEM *mem = NULL;
	int ok;

	if (!bio)
		return pvk_fail_ssl(e, "cannot write PEM");
	if (type == SECRET_PLAINTEXT) {
		size_t n;

		if (pvk_secret_plaintext_unwrap(buf, len, &n)) {
			data = buf + 2;
			dlen = n;
		}
		ok = PEM_write_bio(bio, "PLAINTEXT SECRET", "", data, (long)dlen) > 0;
	} else {
		snprintf(header, sizeof(header), "kind: %s\n",
			 pvk_secret_type_name(type, tbuf, sizeof(tbuf)));
		ok = PEM_write_bio(bio, "IBM PROTECTED KEY", header, data, (long)dlen) > 0;
	}
	if (ok)
		BIO_get_mem_ptr(bio, &mem);
	if (!ok || !mem) {
		BIO_free(bio);
		return pvk_fail_ssl(e, "cannot write PEM");
	}
	*out = malloc(mem->length + 1);
	if (!*out) {
		BIO_free(bio);
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	}
	memcpy(*out, mem->data, mem->length);
	(*out)[mem->length] = 0;
	*out_len = mem->length;
	BIO_free(bio);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Keys and certificates */

int pvk_secret_load_private_key(const uint8_t *buf, size_t len, const char *what, EVP_PKEY **key,
			    struct pvk_err *e)
{
	const unsigned char *p = buf;
	EVP_PKEY *k;
	BIO *bio;

	*key = NULL;
	if (len > LONG_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "%s: too large", what);
	k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	if (!k) {
		ERR_clear_error();
		bio = BIO_new_mem_buf(buf, (int)(len > INT_MAX ? INT_MAX : len));
		k = bio ? PEM_read_bio_PrivateKey(bio, NULL, pvk_pem_no_password, NULL) : NULL;
		BIO_free(bio);
	}
	ERR_clear_error();
	if (!k)
		return pvk_fail(e, PVK_E_FORMAT, "%s: no private key in PEM or DER format", what);
	if (pvk_key_check_pair(k, what, e)) {
		EVP_PKEY_free(k);
		return -1;
	}
	*key = k;
	return 0;
}

int pvk_secret_load_cert_key(const uint8_t *buf, size_t len, const char *what, EVP_PKEY **key,
			 struct pvk_err *e)
{
	const unsigned char *p = buf;
	X509 *crt;
	BIO *bio;

	*key = NULL;
	if (len > LONG_MAX)
		return pvk_fail(e, PVK_E_FORMAT, "%s: too large", what);
	crt = d2i_X509(NULL, &p, (long)len);
	if (!crt) {
		ERR_clear_error();
		bio = BIO_new_mem_buf(buf, (int)(len > INT_MAX ? INT_MAX : len));
		crt = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	ERR_clear_error();
	if (!crt)
		return pvk_fail(e, PVK_E_FORMAT, "%s: File does not contain a X509 certificate", what);
	*key = X509_get_pubkey(crt);
	X509_free(crt);
	if (!*key)
		return pvk_fail_ssl(e, "%s: cannot read the certificate's public key", what);
	return 0;
}
