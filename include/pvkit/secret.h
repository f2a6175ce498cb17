/* SPDX-License-Identifier: MIT */
/*
 * Everything about guest secrets that is not the ASRCB envelope itself (spec §5): secret IDs,
 * value encodings, the UV's secret list and its three output forms, the NAME.yaml secret
 * description, CUID files, signed user data, and retrieved secrets as PEM.
 */
#ifndef PVKIT_SECRET_H
#define PVKIT_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/asrcb.h"
#include "pvkit/err.h"

#define SECRET_ID_LEN 32
#define SECRET_PLAIN_MAX 8190          /* plaintext payload: the retrieve buffer minus u16 */
#define SECRET_CUID_LEN 16
/* "<ascii> | 0x<64 hex>": 31 + 3 + 66 + NUL */
#define SECRET_ID_DISPLAY_MAX 104

/* ---- secret IDs (§5.3) ---- */

/* SHA-256 of the name, or with use_name the name's first 31 bytes, zero-padded. */
void pvk_secret_id_from_name(const char *name, int use_name, uint8_t id[SECRET_ID_LEN]);
/* If the ID is printable ASCII (graphic or whitespace, at least one character) followed by
 * at least one NUL and only NULs, copy that text into out (32 bytes) and return 1; else 0. */
int pvk_secret_id_ascii(const uint8_t id[SECRET_ID_LEN], char out[SECRET_ID_LEN]);
/* "<ascii> | 0x<hex>" when pvk_secret_id_ascii() holds, else "0x<hex>". */
const char *pvk_secret_id_display(const uint8_t id[SECRET_ID_LEN], char buf[SECRET_ID_DISPLAY_MAX]);

/* ---- secret values (§5.2) ---- */

enum secret_input_kind {
	SECRET_IN_PLAIN,
	SECRET_IN_AES,
	SECRET_IN_AES_XTS,
	SECRET_IN_HMAC_SHA,
	SECRET_IN_EC,
};

/* "plain", "aes", "aes-xts", "hmac-sha", "ec"; -1 when unknown. */
int pvk_secret_input_kind_parse(const char *s);
/* u16 BE length || data, zero-padded to a multiple of 16 (len <= 8190). */
int pvk_secret_encode_plaintext(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len,
			    struct pvk_err *e);
/* The private scalar of an EC key left-padded to 32/48/80 bytes (P-256/384/521) or the raw
 * Ed25519/Ed448 key left-padded to 32/64; *type is the secret type. out: 80 bytes. */
int pvk_secret_encode_ec_key(EVP_PKEY *key, uint16_t *type, uint8_t out[80], size_t *out_len,
			 struct pvk_err *e);
/*
 * Encode the content of a --secret file as a secret value of the given input kind: the
 * secret type follows from the size (AES, AES-XTS, HMAC) or the key (EC, a PEM or DER private
 * key). *out is malloc'd; wipe it with pvk_buf_free_secret(). what names the file in messages.
 */
int pvk_secret_encode_value(enum secret_input_kind kind, const uint8_t *data, size_t len,
			const char *what, uint16_t *type, uint8_t **out, size_t *out_len,
			struct pvk_err *e);

/* ---- the UV's secret list (§5.8, §6.5) ---- */

#define SECRET_LIST_HDR 16
#define SECRET_LIST_ENTRY 48

struct secret_entry {
	uint16_t index, type;
	uint32_t len;
	uint8_t id[SECRET_ID_LEN];
};

struct secret_list {
	uint16_t total;                /* total_num_secrets */
	uint16_t next;                 /* next_secret_idx */
	size_t n;                      /* entries in this buffer (num_secrets_stored) */
	struct secret_entry *entries;
	uint8_t *raw;                  /* header and the n entries as the UV gave them */
	size_t raw_len;
};

enum secret_list_format {
	SECRET_LIST_HUMAN,
	SECRET_LIST_YAML,
	SECRET_LIST_BIN,
	SECRET_LIST_JSON,         /* pvkit's addition: the YAML document's members as JSON */
};

/* "human", "yaml", "bin"; -1 when unknown. */
int pvk_secret_list_format_parse(const char *s);
/* Parse a list buffer of len bytes (the header's count must fit in it). */
int pvk_secret_list_parse(const uint8_t *buf, size_t len, struct secret_list *l, struct pvk_err *e);
void pvk_secret_list_free(struct secret_list *l);
/* Render the list; *out is malloc'd (NUL-terminated for the text forms). */
int pvk_secret_list_render(const struct secret_list *l, enum secret_list_format f, uint8_t **out,
		       size_t *out_len, struct pvk_err *e);
/* The first entry with this ID (NULL if none); *count = how many entries have it. */
const struct secret_entry *pvk_secret_list_find_id(const struct secret_list *l,
					       const uint8_t id[SECRET_ID_LEN], size_t *count);
const struct secret_entry *pvk_secret_list_find_index(const struct secret_list *l, uint16_t index);

/* ---- create's NAME.yaml (§5.10) ---- */

/* "<name with whitespace (and '/') replaced by '_'>.yaml"; malloc'd, NULL on OOM. */
char *pvk_secret_desc_filename(const char *name);
/* "!Association\nname: …\nid: 0x…\n" or "!Retrievable\nkind: N (NAME)\nname: …\nid: 0x…\n". */
int pvk_secret_desc_yaml(uint16_t type, const char *name, const uint8_t id[SECRET_ID_LEN],
		     char **out, size_t *out_len, struct pvk_err *e);
/* Parse a NAME.yaml: *type is SECRET_ASSOCIATION, or the retrievable type of the kind
 * (0 if the kind is missing), id the secret ID. */
int pvk_secret_desc_parse(const uint8_t *buf, size_t len, uint16_t *type, uint8_t id[SECRET_ID_LEN],
		      struct pvk_err *e);

/* ---- CUID (§5.5) ---- */

/* Exactly 32 hex digits, an optional 0x prefix. */
int pvk_secret_cuid_parse_hex(const char *s, uint8_t cuid[SECRET_CUID_LEN]);
/* A --cuid file: exactly 16 raw bytes, or YAML whose "cuid" key (up to 8 mapping levels
 * deep; or the whole document as one string) is 0x + 32 hex digits. */
int pvk_secret_cuid_from_file(const uint8_t *buf, size_t len, uint8_t cuid[SECRET_CUID_LEN],
			  struct pvk_err *e);

/* ---- user data (§5.6, §5.7) ---- */

/* "None", "unsigned", "ECDSA signed", "RSA 2048 signed", "RSA 3072 signed". */
const char *pvk_asrcb_user_type_name(uint16_t type);
/* How many data bytes fit for a user-data type: 0, 512, 256, 256, 128. */
size_t pvk_asrcb_user_data_max(uint16_t type);
/* The user-data type a signing key gives: EC secp521r1, RSA 2048 or 3072; else -1 with
 * PVK_E_FORMAT. */
int pvk_asrcb_user_type_for_key(EVP_PKEY *key, struct pvk_err *e);
/*
 * Build a request whose user data is signed with key (spec §5.6): p->user_type must be the
 * key's type and p->user_data hold the data (the signature region zero). Builds with the
 * signature region zeroed, signs request[0 : rql - 16] (SHA-512; ECDSA DER, or RSA-PSS with
 * MGF1-SHA-512 and a 64-byte salt), inserts the signature (and for EC its length) into
 * p->user_data and builds again: the same key and IV give the same ciphertext, a new tag.
 */
int pvk_asrcb_build_signed(struct asrcb_params *p, EVP_PKEY *key, uint8_t **out, size_t *len,
		       struct pvk_err *e);
/*
 * pvsecret verify (spec §5.7): check the request's envelope (magic, user-data type, length
 * rules, version, room for the user data) without the GCM key, then by user-data type:
 * none: *data_len = 0 without cert, PVK_E_VERIFY with one (a cert asks for a signature: a
 * deliberate difference from IBM's tool); unsigned without cert: the 512 bytes; signed: cert
 * (its public key) must match the type and verify the signature; the data part (256/256/128 bytes) is
 * returned. data: 512 bytes. PVK_E_AUTH when the signature does not verify, PVK_E_VERIFY for
 * a missing or mismatching key, PVK_E_FORMAT for a malformed request.
 */
int pvk_asrcb_verify_user_data(const uint8_t *req, size_t len, EVP_PKEY *cert_key,
			   uint8_t data[ASRCB_USER_LEN], size_t *data_len, struct pvk_err *e);

/* ---- retrieved secrets (§5.9) ---- */

/* Plaintext as the UV returns it: if well formed (length <= 8190, fewer than 16 padding
 * bytes, padding zero) return 1 with the payload's offset 2 and *plen; else 0. */
int pvk_secret_plaintext_unwrap(const uint8_t *buf, size_t len, size_t *plen);
/* PEM of a retrieved secret: "PLAINTEXT SECRET" (payload unwrapped when well formed) for
 * plaintext, else "IBM PROTECTED KEY" with the header line "kind: <type name>". */
int pvk_secret_retrieved_pem(uint16_t type, const uint8_t *buf, size_t len, char **out,
			 size_t *out_len, struct pvk_err *e);

/* ---- keys and certificates from files ---- */

/* A private key in DER or PEM (what names it in messages). */
int pvk_secret_load_private_key(const uint8_t *buf, size_t len, const char *what, EVP_PKEY **key,
			    struct pvk_err *e);
/* The public key of the first X.509 certificate (DER or PEM) in buf. */
int pvk_secret_load_cert_key(const uint8_t *buf, size_t len, const char *what, EVP_PKEY **key,
			 struct pvk_err *e);

#endif
