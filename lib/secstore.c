// SPDX-License-Identifier: MIT
/* The guest's secret store through a UV device: add, list, lock, retrieve (spec §6.4-6.6). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/fileio.h"
#include "pvkit/secstore.h"

#define LIST_PAGES 4
#define DESC_FILE_MAX 0x100000

const char *pvk_secstore_rc_text(enum pvk_secstore_cmd cmd, uint16_t rc)
{
	switch (rc) {
	case 0x0000: return "invalid return code";
	case 0x0002: return "invalid UV command, the facility is missing";
	case 0x0005: return "the request has an invalid size";
	case 0x0030: return "address-space problem, stop using this guest";
	case 0x0031: return "translation problem, stop using this guest";
	case 0x0032: return "invalid address, stop using this guest";
	default: break;
	}
	if (cmd == PVK_SECSTORE_ADD) {
		switch (rc) {
		case 0x0101: return "not allowed to modify the secret store";
		case 0x0102: return "the secret store is locked";
		case 0x0103: return "access exception on the request";
		case 0x0104: return "unsupported request version";
		case 0x0105: return "invalid request size";
		case 0x0106: return "invalid number of host keys";
		case 0x0107: return "unsupported flags";
		case 0x0108: return "cannot decrypt the request";
		case 0x0109: return "unsupported secret type";
		case 0x010a: return "invalid length for the secret type";
		case 0x010b: return "the secret store is full";
		case 0x010c: return "unable to add the secret";
		case 0x010d: return "dump in progress, try again";
		default: break;
		}
	} else if (cmd == PVK_SECSTORE_LOCK) {
		switch (rc) {
		case 0x0101: return "not allowed to lock the secret store";
		case 0x0102: return "the secret store is already locked";
		default: break;
		}
	} else if (cmd == PVK_SECSTORE_RETRIEVE) {
		switch (rc) {
		case 0x0009: return "the buffer is too small";
		case 0x0102: return "access exception on the output area";
		case 0x010f: return "the secret store is empty";
		case 0x0110: return "no secret with that index";
		case 0x0111: return "the secret is not retrievable";
		default: break;
		}
	}
	return "unknown return code";
}

static int refused(enum pvk_secstore_cmd cmd, const char *what, struct uvdev_rc rc,
		   struct pvk_err *e)
{
	static const char *const names[] = { "add", "list", "lock", "retrieve" };

	/* pvk_fail_uv appends " (rc 0x…, rrc 0x…)". */
	return pvk_fail_uv(e, rc.rc, rc.rrc, "%s: the ultravisor refused %s: %s", names[cmd], what,
			   pvk_secstore_rc_text(cmd, rc.rc));
}

int pvk_secstore_list(struct uvdev *d, const char *cmd, const struct pvk_log *log,
		      struct secret_list *l, struct pvk_err *e)
{
	uint32_t len = LIST_PAGES * UVIO_LIST_PAGE;
	uint8_t *buf = calloc(1, len);
	struct uvdev_rc rc;
	int ret;

	if (!buf)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	ret = pvk_uvdev_list_secrets(d, buf, len, &rc, e);
	if (ret && e->code == PVK_E_IO && e->sys_errno == EINVAL) {
		/* Kernels before 6.x take one page only. */
		pvk_log(log, PVK_LOG_INFO,
			"The UV device does not support longer lists; falling back to one page.");
		len = UVIO_LIST_PAGE;
		memset(buf, 0, len);
		pvk_err_clear(e);
		ret = pvk_uvdev_list_secrets(d, buf, len, &rc, e);
	}
	if (ret) {
		free(buf);
		return pvk_wrap(e, "%s: cannot list the secrets", cmd);
	}
	if (rc.rc == UVC_RC_MORE_DATA) {
		pvk_log(log, PVK_LOG_WARN,
			"The secret list contains more data but the uvdevice cannot show all.");
	} else if (rc.rc != UVC_RC_SUCCESS) {
		free(buf);
		return refused(PVK_SECSTORE_LIST, "to list the secrets", rc, e);
	}
	ret = pvk_secret_list_parse(buf, len, l, e);
	free(buf);
	return ret ? pvk_wrap(e, "%s", cmd) : 0;
}

/* A duplicate ID is refused unless force. Only listable secrets have an ID: it is in the
 * secret header after the key slots, and the update-CCK header holds 32 zero bytes. */
static int check_duplicate(struct uvdev *d, const struct asrcb_view *v, int force,
			   const struct pvk_log *log, struct pvk_err *e)
{
	struct secret_list l = { 0 };
	int dup;

	if (!v->secret_id || v->secret_type == SECRET_UPDATE_CCK)
		return 0;
	if (pvk_secstore_list(d, "add", log, &l, e))
		return -1;
	dup = pvk_secret_list_find_id(&l, v->secret_id, NULL) != NULL;
	pvk_secret_list_free(&l);
	if (!dup)
		return 0;
	pvk_log(log, PVK_LOG_WARN, "There is already a secret in the secret store with that id.");
	if (!force)
		return pvk_fail(e, PVK_E_MISMATCH,
				"add: unable to add the secret due to duplicated IDs (use --force to add it anyway)");
	pvk_log(log, PVK_LOG_WARN, "'--force' specified: Adding the secret anyways.");
	return 0;
}

int pvk_secstore_add(struct uvdev *d, const char *path, int force, const struct pvk_log *log,
		     struct pvk_err *e)
{
	struct asrcb_view v;
	struct uvdev_rc rc;
	uint8_t *req = NULL;
	size_t len = 0;
	int ret = -1;

	if (pvk_file_read_arg(path, ASRCB_MAX_LEN, &req, &len, e))
		return -1;
	if (len < 6 || memcmp(req, ASRCB_MAGIC, 6)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: not an add-secret request (magic 'asrcbM' missing)",
			 path);
		goto out;
	}
	if (pvk_asrcb_parse(req, len, &v, e)) {
		pvk_wrap(e, "%s", path);
		goto out;
	}
	if (check_duplicate(d, &v, force, log, e))
		goto out;
	if (pvk_uvdev_add_secret(d, req, (uint32_t)len, &rc, e)) {
		pvk_wrap(e, "add");
		goto out;
	}
	if (rc.rc != UVC_RC_SUCCESS) {
		char what[4200];

		snprintf(what, sizeof(what), "the add-secret request '%s'", path);
		refused(PVK_SECSTORE_ADD, what, rc, e);
		goto out;
	}
	ret = 0;
out:
	free(req);
	return ret;
}

int pvk_secstore_lock(struct uvdev *d, struct pvk_err *e)
{
	struct uvdev_rc rc;

	if (pvk_uvdev_lock_secrets(d, &rc, e))
		return pvk_wrap(e, "lock");
	if (rc.rc != UVC_RC_SUCCESS)
		return refused(PVK_SECSTORE_LOCK, "to lock the secret store", rc, e);
	return 0;
}

int pvk_secstore_by_parse(const char *s)
{
	static const char *const names[] = { "yaml", "hex", "name", "idx" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

static int find_index(const struct secret_list *l, const char *input,
		      const struct secret_entry **out, struct pvk_err *e)
{
	char *end;
	unsigned long idx = strtoul(input, &end, 10);

	if (!*input || *end || input[0] == '-' || idx > 0xffff)
		return pvk_fail(e, PVK_E_FORMAT, "Invalid index value '%s'", input);
	*out = pvk_secret_list_find_index(l, (uint16_t)idx);
	if (!*out)
		return pvk_fail(e, PVK_E_MISMATCH,
				"The UV secret-store has no secret with the index %lu", idx);
	return 0;
}

/* The ID that input names (BY_YAML, BY_HEX; BY_NAME: the SHA-256 of the name). */
static int input_id(enum pvk_secstore_by by, const char *input, uint8_t id[SECRET_ID_LEN],
		    struct pvk_err *e)
{
	if (by == PVK_SECSTORE_BY_YAML) {
		uint8_t *buf;
		size_t len;
		uint16_t type;
		int rc;

		if (pvk_file_read_arg(input, DESC_FILE_MAX, &buf, &len, e))
			return -1;
		rc = pvk_secret_desc_parse(buf, len, &type, id, e);
		free(buf);
		if (rc)
			return pvk_wrap(e, "%s", input);
		if (type == SECRET_ASSOCIATION)
			return pvk_fail(e, PVK_E_FORMAT,
					"%s: The file contains a Association-secret, which is not retrievable.",
					input);
	} else if (by == PVK_SECSTORE_BY_HEX) {
		if (strlen(input) != 2 + 2 * SECRET_ID_LEN || input[0] != '0' || input[1] != 'x' ||
		    pvk_hex_decode(input, id, SECRET_ID_LEN))
			return pvk_fail(e, PVK_E_FORMAT,
					"Cannot parse the secret ID '%s' (0x and 64 hex digits)", input);
	} else {
		pvk_secret_id_from_name(input, 1, id);
	}
	return 0;
}

static int printable_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 0x21 && *s <= 0x7e) || strchr(" \t\n\f\r", *s)))
			return 0;
	return 1;
}

static void warn_same_id(const struct secret_list *l, const uint8_t id[SECRET_ID_LEN],
			 const struct pvk_log *log)
{
	char idx[512] = "";
	size_t pos = 0;

	for (size_t i = 0; i < l->n && pos < sizeof(idx) - 16; i++)
		if (!memcmp(l->entries[i].id, id, SECRET_ID_LEN))
			pos += (size_t)snprintf(idx + pos, sizeof(idx) - pos, "%s%u",
						pos ? ", " : "", l->entries[i].index);
	pvk_log(log, PVK_LOG_WARN,
		"There are multiple secrets in the secret store with that id. Indices: %s", idx);
}

int pvk_secstore_find(const struct secret_list *l, enum pvk_secstore_by by, const char *input,
		      const struct pvk_log *log, const struct secret_entry **out,
		      struct pvk_err *e)
{
	const struct secret_entry *s;
	uint8_t id[SECRET_ID_LEN];
	char shown[SECRET_ID_DISPLAY_MAX];
	size_t count = 0;

	if (by == PVK_SECSTORE_BY_IDX)
		return find_index(l, input, out, e);
	if (input_id(by, input, id, e))
		return -1;
	s = pvk_secret_list_find_id(l, id, &count);
	/* A name is its SHA-256 first, then (as IBM's pvsecret does) the name itself. */
	if (!s && by == PVK_SECSTORE_BY_NAME && printable_name(input)) {
		pvk_secret_id_from_name(input, 0, id);
		s = pvk_secret_list_find_id(l, id, &count);
	}
	if (!s)
		return pvk_fail(e, PVK_E_MISMATCH, "The UV secret-store has no secret with the ID %s",
				pvk_secret_id_display(id, shown));
	if (count > 1)
		warn_same_id(l, id, log);
	*out = s;
	return 0;
}

/* The retrieved value as the caller wants it, in place of buf. */
static int retrieved_output(uint16_t type, uint8_t *buf, size_t len, int bin, uint8_t **out,
			    size_t *out_len, struct pvk_err *e)
{
	char *pem = NULL;
	size_t plen;

	if (!bin) {
		if (pvk_secret_retrieved_pem(type, buf, len, &pem, &plen, e))
			return -1;
		*out = (uint8_t *)pem;
		*out_len = plen;
		pvk_buf_free_secret(buf, len);
		return 0;
	}
	if (type == SECRET_PLAINTEXT && pvk_secret_plaintext_unwrap(buf, len, &plen)) {
		memmove(buf, buf + 2, plen);
		OPENSSL_cleanse(buf + plen, len - plen);
		len = plen;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int pvk_secstore_retrieve(struct uvdev *d, const struct secret_entry *s, int bin,
			  const struct pvk_log *log, uint8_t **out, size_t *out_len,
			  struct pvk_err *e)
{
	size_t len = s->len > UVIO_RETR_MIN ? s->len : UVIO_RETR_MIN;
	uint8_t *buf;
	struct uvdev_rc rc;

	pvk_log(log, PVK_LOG_INFO, "Try to retrieve secret at index: %u", s->index);
	buf = calloc(1, len);
	if (!buf)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	put_be16(buf, s->index);
	if (pvk_uvdev_retrieve_secret(d, buf, (uint32_t)len, &rc, e)) {
		pvk_buf_free_secret(buf, len);
		return pvk_wrap(e, "retrieve");
	}
	if (rc.rc != UVC_RC_SUCCESS) {
		char what[64];

		pvk_buf_free_secret(buf, len);
		snprintf(what, sizeof(what), "to retrieve the secret at index %u", s->index);
		return refused(PVK_SECSTORE_RETRIEVE, what, rc, e);
	}
	if (s->type < SECRET_PLAINTEXT || s->type > SECRET_ED448)
		pvk_log(log, PVK_LOG_WARN,
			"Retrieved an unretrievable Secret! Will continue; interpreting it as a protected key.");
	if (retrieved_output(s->type, buf, len, bin, out, out_len, e)) {
		pvk_buf_free_secret(buf, len);
		return -1;
	}
	return 0;
}
