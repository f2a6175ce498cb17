// SPDX-License-Identifier: MIT
/* uvsim's state directory: the PKI, the simulated hosts and the guests (all 0600/0700). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/testpki.h"
#include "pvkit/uvdev.h"
#include "uvsim.h"

const char *uvsim_state_dir(const char *override)
{
	static char buf[4096];
	const char *env = getenv(UVSIM_STATE_ENV), *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (override && *override)
		return override;
	if (env && *env)
		return env;
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/pvkit/uvsim", xdg);
	else
		snprintf(buf, sizeof(buf), "%s/.local/state/pvkit/uvsim", home ? home : "/tmp");
	return buf;
}

int uvsim_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= UVSIM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' &&
		    name[i] != '.')
			return 0;
	return 1;
}

static int mkdir_p(const char *path, struct pvk_err *e)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return pvk_fail(e, PVK_E_IO, "%s: cannot create directory: %s", buf,
					strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create directory: %s", buf, strerror(errno));
	return 0;
}

int uvsim_state_lock(const char *state, struct pvk_err *e)
{
	char path[4200];
	int fd;

	if (mkdir_p(state, e))
		return -1;
	snprintf(path, sizeof(path), "%s/.lock", state);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open the state lock: %s", path,
				strerror(errno));
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			int err = errno;

			close(fd);
			return pvk_fail(e, PVK_E_IO, "%s: cannot lock the state: %s", path,
					strerror(err));
		}
	}
	return fd;
}

void uvsim_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Remove what a crashed state change left: under the state lock every "<dir>/.*.new-*"
 * temp directory belongs to a change that died. */
static void remove_temp_dirs(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		char path[4400];

		if (d->d_name[0] != '.' || !strstr(d->d_name, ".new-"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		pvk_path_remove_tree(path);
	}
	closedir(dp);
}

/* A fresh temp directory "<parent>/.<name>.new-XXXXXX" to build into, renamed into place. */
static int temp_dir(const char *parent, const char *name, char *out, size_t len,
		    struct pvk_err *e)
{
	if ((size_t)snprintf(out, len, "%s/.%s.new-XXXXXX", parent, name) >= len)
		return pvk_fail(e, PVK_E_IO, "%s: path too long", parent);
	if (!mkdtemp(out))
		return pvk_fail(e, PVK_E_IO, "%s: cannot create a directory: %s", out,
				strerror(errno));
	return 0;
}

/* Rename a finished temp directory to its name; never over an existing one. */
static int place_dir(const char *tmp, const char *dir, struct pvk_err *e)
{
	if (!renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE))
		return 0;
	if (errno == EEXIST || errno == ENOTEMPTY)
		return pvk_fail(e, PVK_E_USAGE, "%s exists already", dir);
	return pvk_fail(e, PVK_E_IO, "%s: cannot rename into place: %s", dir, strerror(errno));
}

/* With the state lock held. */
static int init_locked(const char *state, struct pvk_err *e)
{
	struct pvk_testpki_opts o = { 0 };
	char pki[4200], tmp[4300];
	struct stat st;

	remove_temp_dirs(state);
	snprintf(pki, sizeof(pki), "%s/pki", state);
	if (!stat(pki, &st))
		return 0;
	if (temp_dir(state, "pki", tmp, sizeof(tmp), e))
		return -1;
	o.dir = tmp;
	o.hosts = 1;
	o.days = 3650;
	if (pvk_testpki_generate(&o, e) || place_dir(tmp, pki, e)) {
		pvk_path_remove_tree(tmp);
		return -1;
	}
	return 0;
}

int uvsim_init(const char *state, struct pvk_err *e)
{
	int lock = uvsim_state_lock(state, e), rc;

	if (lock < 0)
		return -1;
	rc = init_locked(state, e);
	uvsim_state_unlock(lock);
	return rc;
}

/* The PEM private key (into *key) or, with key NULL, the PEM certificate (into *cert) in
 * path; NULL there on failure. */
static int read_pem(const char *path, EVP_PKEY **key, X509 **cert, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;

	if (key)
		*key = NULL;
	else
		*cert = NULL;
	if (pvk_file_read_all(path, 1 << 16, &buf, &len, e))
		return -1;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio && key)
		*key = PEM_read_bio_PrivateKey(bio, NULL, pvk_pem_no_password, NULL);
	else if (bio)
		*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	pvk_buf_free_secret(buf, len);
	if (key ? !*key : !*cert)
		return pvk_fail(e, PVK_E_FORMAT, "%s: not a PEM %s", path,
				key ? "private key" : "certificate");
	return 0;
}

static int write_text(const char *dir, const char *name, const char *text, struct pvk_err *e);
static int write_uv_query(const char *uv, struct pvk_err *e);

/* IBM Z machines with Secure Execution (the guide: z15 or later). */
static const struct { const char *type, *model, *name; } machines[] = {
	{ "8561", "T01", "IBM z15 T01" }, { "8562", "T02", "IBM z15 T02" },
	{ "3931", "A01", "IBM z16 A01" }, { "3932", "A02", "IBM z16 A02" },
	{ "9175", "ME1", "IBM z17 ME1" },
};

const char *uvsim_machine_name(const char *type)
{
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (!strcmp(machines[i].type, type))
			return machines[i].name;
	return NULL;
}

/* The host's own view, as the provider checks it (ch. 10): /proc/sysinfo with the machine
 * type and the Sequence Code whose five right-most digits are the serial number, the
 * host-key document under Resource Link's name HKD-<type>-<serial>.crt, the UV's sysfs with
 * prot_virt_host 1, and the boot message of the opt-in. */
static int write_host_view(const char *dir, const char *type, const char *serial,
			   const char *hkd_pem, size_t hkd_len, struct pvk_err *e)
{
	const char *model = NULL;
	char path[4400], buf[1024];

	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (!strcmp(machines[i].type, type))
			model = machines[i].model;
	snprintf(path, sizeof(path), "%s/proc", dir);
	if (mkdir_p(path, e))
		return -1;
	snprintf(buf, sizeof(buf),
		 "Manufacturer:         IBM\n"
		 "Type:                 %s\n"
		 "Model:                701              %s\n"
		 "Sequence Code:        0000000000%s\n"
		 "Plant:                02\n", type, model ? model : "", serial);
	if (write_text(path, "sysinfo", buf, e))
		return -1;
	snprintf(path, sizeof(path), "%s/HKD-%s-%s.crt", dir, type, serial);
	if (pvk_file_write_all(path, hkd_pem, hkd_len, OUTFILE_OVERWRITE, e))
		return -1;
	snprintf(path, sizeof(path), "%s/sys/firmware/uv", dir);
	if (mkdir_p(path, e) || write_uv_query(path, e) ||
	    write_text(path, "prot_virt_host", "1\n", e) ||
	    write_text(path, "prot_virt_guest", "0\n", e))
		return -1;
	return write_text(dir, "dmesg", "[    0.828273] prot_virt: Reserving 322MB as ultravisor "
			  "base storage\n", e);
}

int uvsim_host_valid_machine(const char *type, const char *serial, struct pvk_err *e)
{
	if (type && !uvsim_machine_name(type))
		return pvk_fail(e, PVK_E_USAGE, "machine type '%s': Secure Execution needs an IBM z15 "
				"or later (8561, 8562, 3931, 3932, 9175)", type);
	if (serial && (strlen(serial) != 5 || strspn(serial, "0123456789ABCDEF") != 5))
		return pvk_fail(e, PVK_E_USAGE, "serial number '%s': five digits (0-9, A-F), the "
				"right-most of the machine's Sequence Code", serial);
	return 0;
}

int uvsim_host_new(const char *state, const char *name, const char *type, const char *serial,
		   struct pvk_err *e)
{
	char dir[4200], tmp[4300], path[4400];
	EVP_PKEY *ibm_key = NULL, *host = NULL;
	X509 *ibm = NULL, *hkd = NULL;
	struct stat st;
	int rc = -1, lock;

	tmp[0] = 0;
	if (!uvsim_valid_name(name))
		return pvk_fail(e, PVK_E_USAGE, "'%s' is not a valid host name (letters, digits, - _ .)",
				name);
	/* One change of the state at a time; the host appears whole or not at all. */
	lock = uvsim_state_lock(state, e);
	if (lock < 0)
		return -1;
	if (init_locked(state, e))
		goto out;
	snprintf(dir, sizeof(dir), "%s/hosts", state);
	if (mkdir_p(dir, e))
		goto out;
	remove_temp_dirs(dir);
	snprintf(dir, sizeof(dir), "%s/hosts/%s", state, name);
	if (!stat(dir, &st)) {
		pvk_fail(e, PVK_E_USAGE, "host '%s' exists already", name);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/pki/ibm.key", state);
	if (read_pem(path, &ibm_key, NULL, e))
		goto out;
	snprintf(path, sizeof(path), "%s/pki/ibm.crt", state);
	if (read_pem(path, NULL, &ibm, e))
		goto out;
	if (pvk_testpki_keygen(TESTPKI_KEY_P521, 0, &host, e))
		goto out;
	{
		struct pvk_testpki_cert c = {
			.role = TESTPKI_HOST, .key = host, .issuer = ibm, .issuer_key = ibm_key,
			.crl_uri = "ibm.crl", .not_before_days = -1, .not_after_days = 3650,
		};

		if (pvk_testpki_cert(&c, &hkd, e))
			goto out;
	}
	snprintf(path, sizeof(path), "%s/hosts", state);
	if (temp_dir(path, name, tmp, sizeof(tmp), e))
		goto out;
	snprintf(path, sizeof(path), "%s/host.key", tmp);
	if (pvk_testpki_write_key(path, host, e))
		goto out;
	snprintf(path, sizeof(path), "%s/hkd.crt", tmp);
	if (pvk_testpki_write_pem(path, &hkd, 1, NULL, 0, e))
		goto out;
	{
		uint8_t *pem = NULL, r[4];
		size_t len = 0;
		char sn[6];

		if (!serial) {
			if (pvk_random(r, sizeof(r), e))
				goto out;
			snprintf(sn, sizeof(sn), "%05u", (unsigned)(get_be32(r) % 100000));
			serial = sn;
		}
		if (pvk_file_read_all(path, 1 << 20, &pem, &len, e))
			goto out;
		rc = write_host_view(tmp, type ? type : "3931", serial, (const char *)pem, len, e);
		free(pem);
		if (rc)
			goto out;
		rc = -1;
	}
	if (place_dir(tmp, dir, e))
		goto out;
	tmp[0] = 0;
	rc = 0;
out:
	if (tmp[0])
		pvk_path_remove_tree(tmp);
	uvsim_state_unlock(lock);
	EVP_PKEY_free(ibm_key);
	EVP_PKEY_free(host);
	X509_free(ibm);
	X509_free(hkd);
	return rc;
}

int uvsim_host_key(const char *state, const char *name, EVP_PKEY **key, struct pvk_err *e)
{
	char path[4300];
	struct stat st;

	if (!uvsim_valid_name(name))
		return pvk_fail(e, PVK_E_USAGE, "'%s' is not a valid host name", name);
	snprintf(path, sizeof(path), "%s/hosts/%s/host.key", state, name);
	if (stat(path, &st))
		return pvk_fail(e, PVK_E_USAGE, "no simulated host '%s' (create it with 'uvsim host new %s')",
				name, name);
	return read_pem(path, key, NULL, e);
}

/* ---- guest state (guest.json) ---- */

static void jset_hex(json_object *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (!s)
		return;
	pvk_hex_encode(p, n, s);
	json_object_object_add(o, k, json_object_new_string(s));
	OPENSSL_cleanse(s, 2 * n);
	free(s);
}

static int jget_hex(json_object *o, const char *k, uint8_t *p, size_t n)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	return pvk_hex_decode(json_object_get_string(v), p, n);
}

static void jset_u64(json_object *o, const char *k, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%016llx", (unsigned long long)v);
	json_object_object_add(o, k, json_object_new_string(s));
}

static int jget_u64(json_object *o, const char *k, uint64_t *v)
{
	uint8_t b[8];

	if (jget_hex(o, k, b, 8))
		return -1;
	*v = get_be64(b);
	return 0;
}

int uvsim_guest_save(const struct uvsim_guest *g, struct pvk_err *e)
{
	json_object *o = json_object_new_object(), *secrets = json_object_new_array();
	json_object *tags = json_object_new_array();
	char path[4200];
	const char *s;
	int rc;

	json_object_object_add(o, "id", json_object_new_string(g->id));
	json_object_object_add(o, "host", json_object_new_string(g->host));
	json_object_object_add(o, "image", json_object_new_string(g->image));
	jset_hex(o, "cuid", g->cuid, 16);
	jset_hex(o, "pld", g->pld, 64);
	jset_hex(o, "ald", g->ald, 64);
	jset_hex(o, "tld", g->tld, 64);
	jset_hex(o, "tag", g->tag, 16);
	jset_hex(o, "cck", g->cck, 32);
	jset_hex(o, "phkh", g->phkh, 32);
	jset_u64(o, "pcf", g->pcf);
	jset_u64(o, "scf", g->scf);
	json_object_object_add(o, "locked", json_object_new_boolean(g->locked));
	json_object_object_add(o, "dump_disabled", json_object_new_boolean(g->dump_disabled));
	if (g->ext_secret_set)
		jset_hex(o, "ext_secret", g->ext_secret, 32);
	for (uint32_t i = 0; i < g->n_secrets; i++) {
		const struct uvsim_secret *sec = &g->secrets[i];
		json_object *j = json_object_new_object();

		json_object_object_add(j, "index", json_object_new_int(sec->index));
		json_object_object_add(j, "type", json_object_new_int(sec->type));
		jset_hex(j, "id", sec->id, 32);
		jset_hex(j, "value", sec->value ? sec->value : (const uint8_t *)"", sec->len);
		json_object_array_add(secrets, j);
	}
	json_object_object_add(o, "secrets", secrets);
	for (uint32_t i = 0; i < g->n_tags; i++) {
		char h[33];

		pvk_hex_encode(g->secret_tags[i], 16, h);
		json_object_array_add(tags, json_object_new_string(h));
	}
	json_object_object_add(o, "secret_tags", tags);
	json_object_object_add(o, "pid", json_object_new_int64(g->pid));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	snprintf(path, sizeof(path), "%s/guest.json", g->dir);
	rc = pvk_file_write_all(path, s, strlen(s), OUTFILE_OVERWRITE | OUTFILE_SECRET, e);
	OPENSSL_cleanse((void *)s, strlen(s));
	json_object_put(o);
	return rc;
}

int uvsim_guest_load(const char *state, const char *id, struct uvsim_guest *g,
		     struct pvk_err *e)
{
	json_object *o = NULL, *v, *arr;
	char path[4300];
	uint8_t *buf;
	size_t len;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	if (!uvsim_valid_name(id))
		return pvk_fail(e, PVK_E_USAGE, "'%s' is not a valid guest id", id);
	snprintf(g->dir, sizeof(g->dir), "%s/guests/%s", state, id);
	snprintf(path, sizeof(path), "%s/guest.json", g->dir);
	if (pvk_file_read_all(path, 1 << 22, &buf, &len, e)) {
		if (e->code == PVK_E_IO)
			pvk_fail(e, PVK_E_USAGE, "no guest '%s' (see 'uvsim ls')", id);
		return -1;
	}
	o = json_tokener_parse((const char *)buf);
	pvk_buf_free_secret(buf, len);
	if (!o)
		return pvk_fail(e, PVK_E_FORMAT, "%s: not JSON", path);
	snprintf(g->id, sizeof(g->id), "%s", id);
	if (json_object_object_get_ex(o, "host", &v))
		snprintf(g->host, sizeof(g->host), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "image", &v))
		snprintf(g->image, sizeof(g->image), "%s", json_object_get_string(v));
	if (jget_hex(o, "cuid", g->cuid, 16) || jget_hex(o, "pld", g->pld, 64) ||
	    jget_hex(o, "ald", g->ald, 64) || jget_hex(o, "tld", g->tld, 64) ||
	    jget_hex(o, "tag", g->tag, 16) || jget_hex(o, "cck", g->cck, 32) ||
	    jget_hex(o, "phkh", g->phkh, 32) || jget_u64(o, "pcf", &g->pcf) ||
	    jget_u64(o, "scf", &g->scf)) {
		pvk_fail(e, PVK_E_FORMAT, "%s: missing or malformed fields", path);
		goto out;
	}
	g->locked = json_object_object_get_ex(o, "locked", &v) && json_object_get_boolean(v);
	g->dump_disabled = json_object_object_get_ex(o, "dump_disabled", &v) &&
			   json_object_get_boolean(v);
	g->ext_secret_set = !jget_hex(o, "ext_secret", g->ext_secret, 32);
	if (json_object_object_get_ex(o, "secrets", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);

		for (size_t i = 0; i < n && i < UVSIM_MAX_SECRETS; i++) {
			json_object *j = json_object_array_get_idx(arr, i), *x;
			struct uvsim_secret *sec = &g->secrets[g->n_secrets];
			const char *hex;

			if (!json_object_object_get_ex(j, "value", &x))
				continue;
			hex = json_object_get_string(x);
			sec->len = (uint32_t)(strlen(hex) / 2);
			sec->value = malloc(sec->len ? sec->len : 1);
			if (!sec->value || pvk_hex_decode(hex, sec->value, sec->len) ||
			    jget_hex(j, "id", sec->id, 32)) {
				free(sec->value);
				sec->value = NULL;
				pvk_fail(e, PVK_E_FORMAT, "%s: malformed secret", path);
				goto out;
			}
			if (json_object_object_get_ex(j, "index", &x))
				sec->index = (uint16_t)json_object_get_int(x);
			if (json_object_object_get_ex(j, "type", &x))
				sec->type = (uint16_t)json_object_get_int(x);
			g->n_secrets++;
		}
	}
	if (json_object_object_get_ex(o, "secret_tags", &arr) &&
	    json_object_is_type(arr, json_type_array)) {
		size_t n = json_object_array_length(arr);

		for (size_t i = 0; i < n && g->n_tags < UVSIM_MAX_SECRETS; i++)
			if (!pvk_hex_decode(json_object_get_string(json_object_array_get_idx(arr, i)),
					g->secret_tags[g->n_tags], 16))
				g->n_tags++;
	}
	if (json_object_object_get_ex(o, "pid", &v))
		g->pid = (long)json_object_get_int64(v);
	rc = 0;
out:
	json_object_put(o);
	if (rc)
		uvsim_guest_clear(g);
	return rc;
}

void uvsim_guest_clear(struct uvsim_guest *g)
{
	for (uint32_t i = 0; i < g->n_secrets; i++)
		pvk_buf_free_secret(g->secrets[i].value, g->secrets[i].len);
	g->n_secrets = 0;
	OPENSSL_cleanse(g->cck, sizeof(g->cck));
	OPENSSL_cleanse(g->ext_secret, sizeof(g->ext_secret));
}

static int write_text(const char *dir, const char *name, const char *text, struct pvk_err *e)
{
	char path[4400];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return pvk_fail(e, PVK_E_IO, "%s/%s: path too long", dir, name);
	return pvk_file_write_all(path, text, strlen(text), OUTFILE_OVERWRITE | OUTFILE_SECRET, e);
}

/* The UV's query data under uv/ (firmware/uv): the same on a host and in its guests. */
static int write_uv_query(const char *uv, struct pvk_err *e)
{
	char q[4300], buf[256];
	/* The UV's installed-calls list: MSB0 bits 0-33 (bit 10 is reserved), as the kernel
	 * prints the words; list-secrets (bit 30) is what pvapconfig looks for. Every word
	 * below is MSB0, as IBM's pvinfo reads them. */
	uint64_t facilities0 = 0xffdfffffc0000000ull;

	snprintf(q, sizeof(q), "%s/query", uv);
	if (mkdir_p(q, e))
		return -1;
	snprintf(buf, sizeof(buf), "%llx\n%llx\n%llx\n%llx\n", (unsigned long long)facilities0,
		 0ull, 0ull, 0ull);
	if (write_text(q, "facilities", buf, e) ||
	    /* adapter-interrupt virtualization, AP passthrough and AP interpretation */
	    write_text(q, "feature_indications", "4c00000000000000\n", e) ||
	    write_text(q, "max_address", "40000000000\n", e) ||
	    /* the guide (ch. 4): secure guests are limited to 247 virtual CPUs */
	    write_text(q, "max_cpus", "247\n", e) || write_text(q, "max_guests", "1024\n", e) ||
	    /* version 0x100 (bit 0) of the header, attestation and add-secret requests */
	    write_text(q, "supp_se_hdr_ver", "8000000000000000\n", e) ||
	    /* dump, no component encryption, PCKMO DEA/AES/ECC and HMAC, backup keys */
	    write_text(q, "supp_se_hdr_pcf", "300000f2\n", e) ||
	    write_text(q, "supp_att_req_hdr_ver", "8000000000000000\n", e) ||
	    write_text(q, "supp_att_pflags", "7c00000000000000\n", e) ||
	    write_text(q, "supp_add_secret_req_ver", "8000000000000000\n", e) ||
	    write_text(q, "supp_add_secret_pcf", "8000000000000000\n", e) ||
	    /* types 1-10 (meta ... HMAC-SHA-512) and 0x11-0x16 (EC keys, update-CCK) */
	    write_text(q, "supp_secret_types", "7fe07e0000000000\n", e))
		return -1;
	snprintf(buf, sizeof(buf), "%d\n", UVSIM_MAX_SECRETS);
	if (write_text(q, "max_secrets", buf, e))
		return -1;
	snprintf(buf, sizeof(buf), "%d\n", UVSIM_MAX_ASSOC);
	if (write_text(q, "max_assoc_secrets", buf, e))
		return -1;
	snprintf(buf, sizeof(buf), "%d\n", UVSIM_MAX_RETR);
	return write_text(q, "max_retr_secrets", buf, e);
}

int uvsim_guest_sysfs(const struct uvsim_guest *g, struct pvk_err *e)
{
	char uv[4200], k[4300], buf[2048], h[65];
	size_t n = 0;

	snprintf(uv, sizeof(uv), "%s/sys/firmware/uv", g->dir);
	snprintf(k, sizeof(k), "%s/keys", uv);
	if (mkdir_p(k, e) || write_uv_query(uv, e))
		return -1;
	if (write_text(uv, "prot_virt_guest", "1\n", e) || write_text(uv, "prot_virt_host", "0\n", e))
		return -1;
	/* keys/: the current host-key hash, no backup key, 13 unused slots (spec §2.9). */
	pvk_hex_encode(g->phkh, 32, h);
	snprintf(buf, sizeof(buf), "%s\n", h);
	if (write_text(k, "hash", buf, e) ||
	    write_text(k, "backup_hash", "0000000000000000000000000000000000000000000000000000000000000000\n", e))
		return -1;
	n = (size_t)snprintf(buf, sizeof(buf), "%s\n", h);
	for (int i = 0; i < 14; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%064d\n", 0);
	return write_text(k, "all", buf, e);
}

int uvsim_host_revoke(const char *state, const char *name, struct pvk_err *e)
{
	char path[4400];
	EVP_PKEY *ibm_key = NULL;
	X509 *hkd = NULL;
	X509_CRL *crl = NULL;
	X509_REVOKED *rv = NULL;
	ASN1_TIME *now = NULL;
	uint8_t *buf = NULL;
	size_t len;
	BIO *bio = NULL;
	int rc = -1, lock;

	if (!uvsim_valid_name(name))
		return pvk_fail(e, PVK_E_USAGE, "'%s' is not a valid host name", name);
	/* The CRL is replaced whole (temp file + rename) under the state lock. */
	lock = uvsim_state_lock(state, e);
	if (lock < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/hosts/%s/hkd.crt", state, name);
	if (access(path, F_OK)) {
		pvk_fail(e, PVK_E_USAGE, "no host '%s' (see 'uvsim host ls')", name);
		goto out;
	}
	if (read_pem(path, NULL, &hkd, e))
		goto out;
	snprintf(path, sizeof(path), "%s/pki/ibm.key", state);
	if (read_pem(path, &ibm_key, NULL, e))
		goto out;
	snprintf(path, sizeof(path), "%s/pki/ibm.crl", state);
	if (pvk_file_read_all(path, 1 << 20, &buf, &len, e))
		goto out;
	if (!(bio = BIO_new_mem_buf(buf, (int)len)) ||
	    !(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		pvk_fail(e, PVK_E_FORMAT, "%s: not a PEM CRL", path);
		goto out;
	}
	{
		X509_REVOKED *had = NULL;

		if (X509_CRL_get0_by_serial(crl, &had, X509_get0_serialNumber(hkd)) == 1) {
			rc = 0;  /* listed already */
			goto out;
		}
	}
	if (!(rv = X509_REVOKED_new()) || !(now = ASN1_TIME_set(NULL, time(NULL))) ||
	    !X509_REVOKED_set_serialNumber(rv, (ASN1_INTEGER *)X509_get0_serialNumber(hkd)) ||
	    !X509_REVOKED_set_revocationDate(rv, now) || !X509_CRL_add0_revoked(crl, rv)) {
		pvk_fail_ssl(e, "%s: cannot add the host", path);
		goto out;
	}
	rv = NULL;
	if (!X509_CRL_set1_lastUpdate(crl, now) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, ibm_key, EVP_sha512())) {
		pvk_fail_ssl(e, "%s: cannot sign the CRL", path);
		goto out;
	}
	rc = pvk_testpki_write_pem(path, NULL, 0, &crl, 1, e);
out:
	X509_REVOKED_free(rv);
	ASN1_TIME_free(now);
	BIO_free(bio);
	free(buf);
	X509_CRL_free(crl);
	X509_free(hkd);
	EVP_PKEY_free(ibm_key);
	uvsim_state_unlock(lock);
	return rc;
}
