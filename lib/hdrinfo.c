// SPDX-License-Identifier: MIT
/*
 * `pvimg info` output of an SE header. The text follows the layout of IBM's pvimg (its
 * Display of the header: two-space indentation per level, " - " list items, flag names as
 * IBM prints them); the JSON follows IBM's document (serde field order and names, pretty
 * print as serde_json's, '/' unescaped) and validates against pvk_hdrinfo_schema_json.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hdrinfo.h"
#include "pvkit/keyslot.h"
#include "pvkit/yamlout.h"

struct flagname {
	uint64_t bit;
	const char *name;
};

/* In IBM's order (MSB0 bit number ascending). */
static const struct flagname pcf_names[] = {
	{ PCF_ALLOW_DUMP, "allow dumping" },
	{ PCF_NO_COMP_ENCRYPTION, "no component encryption" },
	{ PCF_PCKMO_DEA_TDEA, "DEA and TDEA PCKMO support" },
	{ PCF_PCKMO_AES, "AES PCKMO support" },
	{ PCF_PCKMO_ECC, "ECC PCKMO support" },
	{ PCF_PCKMO_HMAC, "HMAC PCKMO support" },
	{ PCF_BACKUP_KEYS, "backup target keys support" },
	{ 0, NULL },
};

static const struct flagname scf_names[] = {
	{ SCF_CCK_EXTENSION_SECRET, "CCK extension secret enforced" },
	{ SCF_CCK_UPDATE, "CCK update allowed" },
	{ 0, NULL },
};

static void put_hex(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

static void put_b64(FILE *out, const uint8_t *p, size_t n)
{
	unsigned char *b64 = malloc(4 * ((n + 2) / 3) + 1);

	if (!b64)
		return;
	EVP_EncodeBlock(b64, p, (int)n);
	fputs((char *)b64, out);
	free(b64);
}

/* "<ind> - name" per known flag set, then the unknown rest as a 64-digit binary number; an
 * empty list is one line holding only the indentation (IBM indents an empty line). */
static void put_flags(FILE *out, const char *ind, uint64_t v, const struct flagname *names)
{
	uint64_t known = 0;
	int any = 0;

	for (const struct flagname *f = names; f->name; f++) {
		known |= f->bit;
		if (v & f->bit) {
			fprintf(out, "%s - %s\n", ind, f->name);
			any = 1;
		}
	}
	if (v & ~known) {
		fprintf(out, "%s - unknown flags 0b", ind);
		for (int b = 63; b >= 0; b--)
			fputc((v & ~known) >> b & 1 ? '1' : '0', out);
		fputc('\n', out);
		any = 1;
	}
	if (!any)
		fprintf(out, "%s\n", ind);
}

static void put_aad(FILE *out, const struct sehdr *h, int full)
{
	if (full) {
		fprintf(out, "  size: %u bytes\n", h->sehs);
		fprintf(out, "  number of key slots: %llu\n", (unsigned long long)h->nks);
	}
	fputs("  key slots:\n", out);
	for (uint64_t i = 0; i < h->nks; i++) {
		fputs("   - target key hash: ", out);
		put_hex(out, h->keyslots + i * PVK_KEYSLOT_LEN, 32);
		fputc('\n', out);
	}
	if (full) {
		fputs("  customer public key:\n    coordinate: ", out);
		put_b64(out, h->cust_pub, PVK_EC_PUB_LEN);
		fprintf(out, "\n  number of component pages: %llu\n", (unsigned long long)h->nep);
		fputs("  components content hash: ", out);
		put_hex(out, h->pld, 64);
		fputs("\n  components address hash: ", out);
		put_hex(out, h->ald, 64);
		fputs("\n  components tweak hash: ", out);
		put_hex(out, h->tld, 64);
		fputc('\n', out);
	}
	fputs("  plaintext control flags:\n", out);
	put_flags(out, "  ", h->pcf, pcf_names);
}

int pvk_hdrinfo_write_text(FILE *out, const struct sehdr *h, const struct sehdr_secrets *sec,
		       enum hdrinfo_state state, int full)
{
	if (state == HDRINFO_DECRYPTED) {
		fputs("decrypted, integrity and authenticity verified Secure Execution header:\n", out);
	} else {
		fprintf(out, "%sSecure Execution header\n",
			state == HDRINFO_VERIFIED ? "integrity and authenticity verified " : "");
	}
	fputs("  version: 1\n", out);
	put_aad(out, h, full);
	if (state == HDRINFO_DECRYPTED) {
		fputs("  secret control flags:\n", out);
		put_flags(out, "  ", sec->scf, scf_names);
		if (full) {
			fputs("  CCK: ", out);
			put_hex(out, sec->cck, 32);
			fputs("\n  XTS key: ", out);
			put_hex(out, sec->xts_key, 64);
			/* {:#016x}: "0x" and 14 digits at least */
			fprintf(out, "\n  PSW:\n    address: 0x%014llx\n    mask: 0x%014llx\n",
				(unsigned long long)sec->psw_addr, (unsigned long long)sec->psw_mask);
		}
	} else if (full) {
		fputs("  encrypted data: ", out);
		put_b64(out, h->enc, h->sea);
		fputc('\n', out);
	}
	if (full) {
		fputs("  GCM tag: ", out);
		put_hex(out, h->tag, 16);
		fputc('\n', out);
	}
	return fflush(out) || ferror(out) ? -1 : 0;
}

/* ---- JSON ---- */

static json_object *jhex64(uint64_t v)
{
	char s[17];

	snprintf(s, sizeof(s), "%016llx", (unsigned long long)v);
	return json_object_new_string(s);
}

/* serde_json prints an empty array as "[]"; json-c's pretty printer would break it. */
static int print_empty_array(json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)o;
	(void)level;
	(void)flags;
	return printbuf_strappend(pb, "[]");
}

static json_object *json_meta(const struct hdrinfo_meta *m)
{
	json_object *meta = json_object_new_object();
	char when[64];
	struct tm tm;

	gmtime_r(&m->now, &tm);
	strftime(when, sizeof(when), "%F %T%z", &tm);
	json_object_object_add(meta, "api_level", json_object_new_int(1));
	json_object_object_add(meta, "version", json_object_new_string(m->version));
	json_object_object_add(meta, "host", json_object_new_string(m->host));
	json_object_object_add(meta, "time_epoch", json_object_new_int64((int64_t)m->now));
	json_object_object_add(meta, "time", json_object_new_string(when));
	return meta;
}

static void json_aad(json_object *d, const struct sehdr *h)
{
	json_object *slots = json_object_new_array(), *cust = json_object_new_object();

	json_object_object_add(d, "magic_hex", pvk_json_hex(h->raw, SEHDR_MAGIC_LEN, 0));
	json_object_object_add(d, "version", json_object_new_string("V1"));
	json_object_object_add(d, "sehs", json_object_new_int64(h->sehs));
	json_object_object_add(d, "iv_hex", pvk_json_hex(h->iv, 12, 0));
	json_object_object_add(d, "nks", json_object_new_int64((int64_t)h->nks));
	json_object_object_add(d, "sea", json_object_new_int64((int64_t)h->sea));
	json_object_object_add(d, "nep", json_object_new_int64((int64_t)h->nep));
	json_object_object_add(d, "pcf_hex", jhex64(h->pcf));
	json_object_object_add(cust, "coord_hex", pvk_json_hex(h->cust_pub, PVK_EC_PUB_LEN, 0));
	json_object_object_add(d, "cust_pub_key", cust);
	json_object_object_add(d, "pld_hex", pvk_json_hex(h->pld, 64, 0));
	json_object_object_add(d, "ald_hex", pvk_json_hex(h->ald, 64, 0));
	json_object_object_add(d, "tld_hex", pvk_json_hex(h->tld, 64, 0));
	for (uint64_t i = 0; i < h->nks; i++) {
		const uint8_t *s = h->keyslots + i * PVK_KEYSLOT_LEN;
		json_object *slot = json_object_new_object();

		json_object_object_add(slot, "phkh_hex", pvk_json_hex(s, 32, 0));
		json_object_object_add(slot, "wrpk_hex", pvk_json_hex(s + 32, 32, 0));
		json_object_object_add(slot, "kst_hex", pvk_json_hex(s + 64, 16, 0));
		json_object_array_add(slots, slot);
	}
	if (!h->nks)
		json_object_set_serializer(slots, print_empty_array, NULL, NULL);
	json_object_object_add(d, "keyslots", slots);
}

static json_object *json_data(const struct sehdr *h, const struct sehdr_secrets *sec,
			      enum hdrinfo_state state)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "kind", json_object_new_string(
		state == HDRINFO_DECRYPTED ? "decrypted_se_hdr" : "se_hdr"));
	json_object_object_add(d, "verified", json_object_new_boolean(state != HDRINFO_NOT_VERIFIED));
	json_aad(d, h);
	if (state == HDRINFO_DECRYPTED) {
		json_object *psw = json_object_new_object();

		json_object_object_add(d, "cck_hex", pvk_json_hex(sec->cck, 32, 0));
		json_object_object_add(d, "xts_hex", pvk_json_hex(sec->xts_key, 64, 0));
		json_object_object_add(psw, "mask_hex", jhex64(sec->psw_mask));
		json_object_object_add(psw, "addr_hex", jhex64(sec->psw_addr));
		json_object_object_add(d, "psw", psw);
		json_object_object_add(d, "scf_hex", jhex64(sec->scf));
	} else {
		unsigned char *b64 = malloc(4 * ((h->sea + 2) / 3) + 1);

		if (b64) {
			EVP_EncodeBlock(b64, h->enc, (int)h->sea);
			json_object_object_add(d, "cipher_data_b64",
					       json_object_new_string((char *)b64));
			free(b64);
		}
	}
	json_object_object_add(d, "tag_hex", pvk_json_hex(h->tag, 16, 0));
	return d;
}

int pvk_hdrinfo_json(const struct sehdr *h, const struct sehdr_secrets *sec, enum hdrinfo_state state,
		 const struct hdrinfo_meta *meta, int minify, char **out, struct pvk_err *e)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (minify ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	json_object *root = json_object_new_object();
	const char *s;
	size_t n;

	*out = NULL;
	if (!root)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	json_object_object_add(root, "meta", json_meta(meta));
	json_object_object_add(root, "data", json_data(h, sec, state));
	s = json_object_to_json_string_ext(root, flags);
	n = s ? strlen(s) : 0;
	*out = s ? malloc(n + 2) : NULL;
	if (*out) {
		memcpy(*out, s, n);
		memcpy(*out + n, "\n", 2);
	}
	/* the printed buffer may hold the CCK and the image key */
	if (s)
		OPENSSL_cleanse((void *)s, n);
	json_object_put(root);
	return *out ? 0 : pvk_fail(e, PVK_E_NOMEM, "out of memory");
}

int pvk_hdrinfo_format_parse(const char *arg, enum pvk_hdrinfo_format *out)
{
	const char *colon = strchr(arg, ':');
	size_t klen = colon ? (size_t)(colon - arg) : strlen(arg);
	const char *variant = colon ? colon + 1 : "default";
	int json;

	if (klen == 4 && !strncasecmp(arg, "text", 4))
		json = 0;
	else if (klen == 4 && !strncasecmp(arg, "json", 4))
		json = 1;
	else
		return -1;
	if (!strcasecmp(variant, "default"))
		*out = json ? PVK_HDRINFO_JSON : PVK_HDRINFO_TEXT;
	else if (!json && !strcasecmp(variant, "full"))
		*out = PVK_HDRINFO_TEXT_FULL;
	else if (json && !strcasecmp(variant, "pretty"))
		*out = PVK_HDRINFO_JSON;
	else if (json && !strcasecmp(variant, "minify"))
		*out = PVK_HDRINFO_JSON_MINIFY;
	else
		return -1;
	return 0;
}

int pvk_hdrinfo_open(const char *path, const char *key_path, int show, uint8_t **raw,
		     struct sehdr *h, struct sehdr_secrets *sec, enum hdrinfo_state *state,
		     struct pvk_err *e)
{
	uint8_t key[32];
	uint64_t off;
	size_t len;
	int rc = 0;

	*raw = NULL;
	*state = HDRINFO_NOT_VERIFIED;
	memset(sec, 0, sizeof(*sec));
	if (pvk_sehdr_read_file(path, raw, &len, &off, e) || pvk_sehdr_parse_view(*raw, len, h, e))
		return strstr(e->msg, path) ? -1 : pvk_wrap(e, "%s", path);
	if (!key_path)
		return 0;
	if (pvk_file_read_exact(key_path, key, 32, "the header key", e))
		rc = -1;
	else if (pvk_sehdr_decrypt(h, key, sec, e))
		rc = pvk_wrap(e, "%s", path);
	else
		*state = show ? HDRINFO_DECRYPTED : HDRINFO_VERIFIED;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int pvk_hdrinfo_write(FILE *out, const struct sehdr *h, const struct sehdr_secrets *sec,
		      enum hdrinfo_state state, enum pvk_hdrinfo_format fmt,
		      const struct hdrinfo_meta *meta, struct pvk_err *e)
{
	char *json = NULL;
	int rc;

	if (fmt == PVK_HDRINFO_TEXT || fmt == PVK_HDRINFO_TEXT_FULL) {
		if (pvk_hdrinfo_write_text(out, h, sec, state, fmt == PVK_HDRINFO_TEXT_FULL))
			return pvk_fail(e, PVK_E_IO, "standard output: %s", strerror(errno));
		return 0;
	}
	if (pvk_hdrinfo_json(h, sec, state, meta, fmt == PVK_HDRINFO_JSON_MINIFY, &json, e))
		return -1;
	rc = fputs(json, out) < 0 || fflush(out) ? -1 : 0;
	OPENSSL_cleanse(json, strlen(json));
	free(json);
	return rc ? pvk_fail(e, PVK_E_IO, "standard output: %s", strerror(errno)) : 0;
}
