// SPDX-License-Identifier: MIT
/* pvimg create from files and option values: the checks, flags and key files around
 * pvk_seimg_create (image.c). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/image.h"
#include "pvkit/sehdr.h"

void pvk_seimg_args_init(struct pvk_seimg_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < PVK_SEIMG_NFLAGS; i++)
		a->flags[i] = -1;
}

static int any_flag(const struct pvk_seimg_args *a)
{
	for (int i = 0; i < PVK_SEIMG_NFLAGS; i++)
		if (a->flags[i] >= 0)
			return 1;
	return 0;
}

/* The customer ECDH key: an 80- or 66-byte P-521 scalar, or a PEM private key. */
static int load_cust_key(const char *path, EVP_PKEY **out, struct pvk_err *e)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (pvk_file_read_all(path, 16384, &buf, &len, e))
		return -1;
	if (len == 80 || len == 66) {
		rc = pvk_ec_from_scalar(buf, len, out, e);
	} else {
		BIO *bio = BIO_new_mem_buf(buf, (int)len);

		*out = bio ? PEM_read_bio_PrivateKey(bio, NULL, pvk_pem_no_password, NULL) : NULL;
		BIO_free(bio);
		rc = *out && pvk_ec_is_p521(*out) ? 0 : -1;
		if (!rc && pvk_key_check_pair(*out, path, e)) {
			EVP_PKEY_free(*out);
			*out = NULL;
			rc = -1;
		} else if (rc) {
			EVP_PKEY_free(*out);
			*out = NULL;
			pvk_fail(e, PVK_E_FORMAT,
				 "%s: not a P-521 private key (80-byte scalar or PEM expected)", path);
		}
	}
	pvk_buf_free_secret(buf, len);
	if (rc && e->msg[0] && !strstr(e->msg, path))
		pvk_wrap(e, "%s", path);
	return rc;
}

static int check_args(struct pvk_seimg_args *a, struct pvk_err *e)
{
	const int *f = a->flags;

	if (!a->o.kernel)
		return pvk_fail(e, PVK_E_USAGE, "the kernel (-i/--kernel) is required");
	if (!a->o.output)
		return pvk_fail(e, PVK_E_USAGE, "the output file (-o/--output) is required");
	if (pvk_cert_opts_check(&a->certs, e))
		return -1;
	if ((a->xpcf || a->xscf) && any_flag(a))
		return pvk_fail(e, PVK_E_USAGE,
				"--x-pcf and --x-scf cannot be combined with --enable-*/--disable-* options");
	if (f[PVK_SEIMG_DUMP] == 1 && !a->cck && f[PVK_SEIMG_CCKUPD] != 1)
		return pvk_fail(e, PVK_E_USAGE, "--enable-dump requires --cck or --enable-cck-update");
	if (f[PVK_SEIMG_CCKEXT] == 1 && !a->cck)
		return pvk_fail(e, PVK_E_USAGE, "--enable-cck-extension-secret requires --cck");
	if (f[PVK_SEIMG_CCKEXT] == 1 && f[PVK_SEIMG_CCKUPD] == 1)
		return pvk_fail(e, PVK_E_USAGE,
				"--enable-cck-extension-secret conflicts with --enable-cck-update");
	if (a->image_key && f[PVK_SEIMG_ENC] == 0)
		return pvk_fail(e, PVK_E_USAGE, "--image-key conflicts with --disable-image-encryption");
	return 0;
}

/* The control flags from the switches, or the experimental raw values. */
static int control_flags(struct pvk_seimg_args *a, struct pvk_err *e)
{
	const int *f = a->flags;
	uint64_t pcf = PCF_PCKMO_DEFAULT;

	if (f[PVK_SEIMG_DUMP] == 1)
		pcf |= PCF_ALLOW_DUMP;
	if (f[PVK_SEIMG_PCKMO] == 0)
		pcf &= ~PCF_PCKMO_DEFAULT;
	if (f[PVK_SEIMG_PCKMO_HMAC] == 1)
		pcf |= PCF_PCKMO_HMAC;
	if (f[PVK_SEIMG_BACKUP] == 1)
		pcf |= PCF_BACKUP_KEYS;
	if (f[PVK_SEIMG_ENC] == 0)
		pcf |= PCF_NO_COMP_ENCRYPTION;
	a->o.pcf = pcf;
	a->o.scf = (f[PVK_SEIMG_CCKEXT] == 1 ? SCF_CCK_EXTENSION_SECRET : 0) |
		   (f[PVK_SEIMG_CCKUPD] == 1 ? SCF_CCK_UPDATE : 0);
	if (a->xpcf && pvk_parse_u64_hex(a->xpcf, &a->o.pcf))
		return pvk_fail(e, PVK_E_USAGE, "--x-pcf: '%s' is not a hex number of at most 16 digits",
				a->xpcf);
	if (a->xscf && pvk_parse_u64_hex(a->xscf, &a->o.scf))
		return pvk_fail(e, PVK_E_USAGE, "--x-scf: '%s' is not a hex number of at most 16 digits",
				a->xscf);
	return 0;
}

/* The experimental fixed values (PSW address, header IV, tweak bytes). */
static int fixed_values(struct pvk_seimg_args *a, uint8_t iv[12], uint8_t tweak[6],
			struct pvk_err *e)
{
	if (a->psw) {
		if (pvk_parse_u64_hex(a->psw, &a->o.psw_addr) || a->o.psw_addr > 0x7fffffff)
			return pvk_fail(e, PVK_E_USAGE, "--x-psw: '%s' is not a 31-bit hex address", a->psw);
		a->o.have_psw_addr = 1;
	}
	if (a->iv_hex) {
		if (pvk_hex_decode(a->iv_hex, iv, 12))
			return pvk_fail(e, PVK_E_USAGE, "--x-header-iv: 24 hex digits expected");
		a->o.hdr_iv = iv;
	}
	if (a->tweak_hex) {
		if (pvk_hex_decode(a->tweak_hex, tweak, 6))
			return pvk_fail(e, PVK_E_USAGE, "--x-tweak-bytes: 12 hex digits expected");
		a->o.tweak_bytes = tweak;
	}
	return 0;
}

/* The key files; keys holds cck (32), header key (32), image key (64). */
static int key_files(struct pvk_seimg_args *a, uint8_t keys[128], struct pvk_err *e)
{
	uint8_t *cck = keys, *hdr_key = keys + 32, *image_key = keys + 64;

	if (a->cck) {
		if (pvk_file_read_exact(a->cck, cck, 32, "the customer communication key", e))
			return -1;
		a->o.cck = cck;
	}
	if (a->hdr_key) {
		if (pvk_file_read_exact(a->hdr_key, hdr_key, 32, "the header key", e))
			return -1;
		a->o.hdr_key = hdr_key;
	}
	if (a->image_key) {
		if (pvk_file_read_exact(a->image_key, image_key, 64, "the image key", e))
			return -1;
		if (!memcmp(image_key, image_key + 32, 32))
			return pvk_fail(e, PVK_E_FORMAT, "%s: invalid AES-XTS key: both halves are equal",
					a->image_key);
		a->o.image_key = image_key;
	}
	if (a->cust_key && load_cust_key(a->cust_key, &a->o.cust_key, e))
		return -1;
	return 0;
}

int pvk_seimg_create_from_files(struct pvk_seimg_args *a, const struct pvk_log *log,
				struct pvk_err *e)
{
	uint8_t keys[128], iv[12], tweak[6];
	EVP_PKEY **hosts = NULL;
	size_t nhosts = 0;
	int rc = -1;

	if (check_args(a, e) || control_flags(a, e) || fixed_values(a, iv, tweak, e))
		return -1;
	if (key_files(a, keys, e))
		goto out;
	if (a->certs.no_verify) {
		char w[128];

		pvk_log(log, PVK_LOG_WARN, "%s", pvk_hostkey_noverify_warning("image", w, sizeof(w)));
	}
	if (pvk_hostkeys_load_verified(&a->certs, &hosts, &nhosts, e))
		goto out;
	a->o.hosts = hosts;
	a->o.n_hosts = nhosts;
	rc = pvk_seimg_create_progress(&a->o, a->progress, a->progress_ctx, e);
out:
	pvk_hostkeys_free(hosts, nhosts);
	EVP_PKEY_free(a->o.cust_key);
	a->o.cust_key = NULL;
	a->o.hosts = NULL;
	a->o.cck = a->o.hdr_key = a->o.image_key = NULL;
	OPENSSL_cleanse(keys, sizeof(keys));
	return rc;
}
