// SPDX-License-Identifier: MIT
/*
 * The ultravisor's self-description in sysfs, as IBM's pvinfo reads and names it: flag
 * words (first line, hex), limits (first line, decimal), the guest/host bits. The bit names
 * are IBM's; a described bit without a name is "Reserved Bit-N".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvkit/fileio.h"
#include "pvkit/uvdev.h"
#include "pvkit/uvinfo.h"

struct bitname {
	int bit;
	const char *name;
};

static const struct bitname facilities_names[] = {
	{ 0, "Query Ultravisor Information" },
	{ 1, "Initialize Ultravisor" },
	{ 2, "Create Secure Configuration" },
	{ 3, "Destroy Secure Configuration" },
	{ 4, "Create Secure CPU" },
	{ 5, "Destroy Secure CPU" },
	{ 6, "Convert to Secure Storage" },
	{ 7, "Convert from Secure Storage" },
	{ 8, "Set Shared Access" },
	{ 9, "Remove Shared Access" },
	{ 11, "Set Secure Parameters" },
	{ 12, "Destroy Secure Storage" },
	{ 13, "Unpack Image" },
	{ 14, "Verify Image" },
	{ 15, "Perform CPU Reset" },
	{ 16, "Perform Initial CPU Reset" },
	{ 17, "Set CPU State" },
	{ 18, "Prepare for Reset" },
	{ 19, "Perform CPU Clear Reset" },
	{ 20, "Unshare All" },
	{ 21, "Pin Shared Storage" },
	{ 22, "Unpin Shared Storage" },
	{ 23, "Destroy Secure Configuration Fast" },
	{ 24, "Initiate Configuration Dump" },
	{ 25, "Dump Configuration Storage State" },
	{ 26, "Dump CPU State" },
	{ 27, "Complete Configuration Dump" },
	{ 28, "Retrieve Attestation Measurement" },
	{ 29, "Add Secret" },
	{ 30, "List Secrets" },
	{ 31, "Lock Secrets" },
	{ 32, "Verify Large Frame" },
	{ 33, "Retrieve Secret" },
	{ -1, NULL },
};
static const struct bitname features_names[] = {
	{ 1, "Adapter interrupt virtualization is supported" },
	{ 4, "AP passthrough is supported" },
	{ 5, "AP interpretion passthrough is supported" },
	{ -1, NULL },
};
static const struct bitname add_secret_pcf_names[] = {
	{ 0, "Disable dumping" },
	{ -1, NULL },
};
static const struct bitname att_pflags_names[] = {
	{ 1, "The attestation request contains an optional nonce" },
	{ 2, "Adding the SHA-256 hash of the public host key to the additional data area for measurement." },
	{ 3, "Adding the SHA-256 hash of the public host key for the Attestation request header to the additional data area for measurement." },
	{ 4, "The Add-secret Request Stream Flag (ARSF) is a SHA-512 hash of successful add-secret tags (in order), plus a byte indicating store lock status." },
	{ 5, "Adding the 320-byte firmware attestation measurement (FWCF) to the additional data area." },
	{ -1, NULL },
};
static const struct bitname se_hdr_pcf_names[] = {
	{ 34, "Dumping of the secure execution guest is allowed" },
	{ 35, "The decrypt image ultravisor command does not decrypt the content of the specified 4K-byte block of storage. The page-list digest, the address-list digest, and the tweak-list digest are still verified." },
	{ 56, "PCKMO encrypt-DEA/TDEA-key functions allowed" },
	{ 57, "PCKMO encrypt-AES-key functions allowed" },
	{ 58, "PCKMO encrypt-ECC-key functions allowed" },
	{ 62, "Temporary backup-host-key use allowed" },
	{ -1, NULL },
};
static const struct bitname secret_types_names[] = {
	{ 1, "Meta" },
	{ 2, "AP-association" },
	{ 3, "Plaintext" },
	{ 4, "AES 128" },
	{ 5, "AES 192" },
	{ 6, "AES 256" },
	{ 7, "AES 128 XTS" },
	{ 8, "AES 256 XTS" },
	{ 9, "HMAC SHA 256" },
	{ 10, "HMAC SHA 512" },
	{ 17, "ECDSA P256 private key" },
	{ 18, "ECDSA P384 private key" },
	{ 19, "ECDSA P521 private key" },
	{ 20, "EdDSA Ed25529 private key" },
	{ 21, "EdDSA Ed448 private key" },
	{ 22, "Update-CCK" },
	{ -1, NULL },
};


struct table {
	const char *file;
	const struct bitname *names;  /* NULL: a version word */
	int described;                /* bits 0..described-1 have a line in IBM's list */
};

static const struct table tables[UVINFO_N_TABLES] = {
	[UVINFO_FACILITIES] = { "facilities", facilities_names, 34 },
	[UVINFO_FEATURES] = { "feature_indications", features_names, 6 },
	[UVINFO_ATT_PFLAGS] = { "supp_att_pflags", att_pflags_names, 6 },
	[UVINFO_SECRET_TYPES] = { "supp_secret_types", secret_types_names, 23 },
	[UVINFO_SE_HDR_PCF] = { "supp_se_hdr_pcf", se_hdr_pcf_names, 64 },
	[UVINFO_ADD_SECRET_PCF] = { "supp_add_secret_pcf", add_secret_pcf_names, 1 },
	[UVINFO_SE_HDR_VER] = { "supp_se_hdr_ver", NULL, 0 },
	[UVINFO_ATT_REQ_VER] = { "supp_att_req_hdr_ver", NULL, 0 },
	[UVINFO_ADD_SECRET_REQ_VER] = { "supp_add_secret_req_ver", NULL, 0 },
};

const struct uvinfo_limit pvk_uvinfo_limits[6] = {
	{ "max_address", "Maximal Address for a SE-Guest" },
	{ "max_assoc_secrets", "Maximal number of associated secrets" },
	{ "max_cpus", "Maximal number of CPUs in one SE-Guest" },
	{ "max_guests", "Maximal number of SE-Guests" },
	{ "max_retr_secrets", "Maximal number of retrievable secrets" },
	{ "max_secrets", "Maximal number of secrets in the system" },
};

const char *pvk_uvinfo_file(enum uvinfo_table t)
{
	return tables[t].file;
}

static int msb0(uint64_t v, int bit)
{
	return (int)(v >> (63 - bit) & 1);
}

static const char *name_of(const struct bitname *names, int bit)
{
	for (; names->name; names++)
		if (names->bit == bit)
			return names->name;
	return NULL;
}

size_t pvk_uvinfo_lines(enum uvinfo_table t, uint64_t v, void (*emit)(void *ctx, const char *line),
		    void *ctx)
{
	const struct table *tb = &tables[t];
	char line[160];
	size_t n = 0;

	if (!tb->names) {
		for (int bit = 0; bit < 64; bit++) {
			if (!msb0(v, bit))
				continue;
			snprintf(line, sizeof(line), "version %x hex is supported", (bit + 1) * 0x100);
			emit(ctx, line);
			n++;
		}
		return n;
	}
	for (int bit = 0; bit < tb->described; bit++) {
		const char *name = name_of(tb->names, bit);

		if (!msb0(v, bit))
			continue;
		if (name) {
			emit(ctx, name);
		} else {
			snprintf(line, sizeof(line), "Reserved Bit-%d", bit);
			emit(ctx, line);
		}
		n++;
	}
	if (n || !v)
		return n;
	emit(ctx, "No matching messages. But these bits are ON:");
	for (int bit = 0; bit < 64; bit++) {
		if (!msb0(v, bit))
			continue;
		snprintf(line, sizeof(line), "- Bit %d is ON", bit);
		emit(ctx, line);
	}
	return n + 1;
}

const char *pvk_uvinfo_dir(char *buf, size_t len)
{
	return pvk_uvdev_sysfs_path("firmware/uv", buf, len);
}

/* The first line of a small sysfs file, trimmed; 0 and "" when it cannot be read. */
static int first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	char *nl;
	size_t n;

	out[0] = 0;
	if (!f)
		return -1;
	if (!fgets(out, (int)len, f))
		out[0] = 0;
	fclose(f);
	if ((nl = strchr(out, '\n')))
		*nl = 0;
	n = strlen(out);
	while (n && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
		out[--n] = 0;
	memmove(out, out + strspn(out, " \t"), strlen(out + strspn(out, " \t")) + 1);
	return 0;
}

static int parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	if (!*s || (base == 10 && strspn(s, "0123456789") != strlen(s)) ||
	    (base == 16 && (strlen(s) > 16 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

int pvk_uvinfo_read_hex(const char *dir, const char *file, uint64_t *v, struct pvk_err *e)
{
	char path[4200], line[128];
	const char *s = line;

	snprintf(path, sizeof(path), "%s/query/%s", dir, file);
	if (first_line(path, line, sizeof(line)) || !line[0])
		return 0;
	if (!strncmp(s, "0x", 2))
		s += 2;
	if (parse_u64(s, 16, v))
		return pvk_fail(e, PVK_E_FORMAT, "%s: '%s' is not a hex number of at most 16 digits",
				path, line);
	return *v ? 1 : 0;
}

int pvk_uvinfo_read_dec(const char *dir, const char *file, uint64_t *v, struct pvk_err *e)
{
	char path[4200], line[128];

	snprintf(path, sizeof(path), "%s/query/%s", dir, file);
	if (first_line(path, line, sizeof(line)) || !line[0])
		return 0;
	if (parse_u64(line, 10, v))
		return pvk_fail(e, PVK_E_FORMAT, "%s: '%s' is not a decimal number", path, line);
	return 1;
}

int pvk_uvinfo_read_bool(const char *dir, const char *name, int *v, struct pvk_err *e)
{
	char path[4200], line[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (first_line(path, line, sizeof(line)))
		return pvk_fail(e, PVK_E_IO, "%s: %s", path, strerror(errno));
	if (strcmp(line, "0") && strcmp(line, "1"))
		return pvk_fail(e, PVK_E_FORMAT, "%s: '%s' is neither 0 nor 1", path, line);
	*v = line[0] == '1';
	return 0;
}
