// SPDX-License-Identifier: MIT
/*
 * libpvkit example: build an IBM Secure Execution image for one host and read its header
 * back. Builds against the installed library:
 *
 *   cc -o mkimage mkimage.c $(pkg-config --cflags --libs pvkit)
 *   ./mkimage KERNEL HOST-KEY-DOCUMENT OUTPUT
 *
 * The host-key document is used without verification here (pvimg create --cert does it with
 * pvk_hostkeys_load_verified and the IBM chain).
 */
#include <stdio.h>
#include <stdlib.h>

#include <pvkit/hdrinfo.h>
#include <pvkit/hostkey.h>
#include <pvkit/image.h>
#include <pvkit/sehdr.h>

int main(int argc, char **argv)
{
	const char *hkds[1];
	struct pvk_cert_opts certs = { .hkds = hkds, .n_hkds = 1, .no_verify = 1 };
	struct seimg_create_opts o = { 0 };
	EVP_PKEY **keys = NULL;
	struct pvk_err e;
	struct sehdr h;
	uint8_t *raw = NULL;
	uint64_t off;
	size_t n = 0, len;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: %s KERNEL HOST-KEY-DOCUMENT OUTPUT\n", argv[0]);
		return 2;
	}
	pvk_err_clear(&e);
	hkds[0] = argv[2];
	if (pvk_hostkeys_load_verified(&certs, &keys, &n, &e))
		goto out;
	o.kernel = argv[1];
	o.output = argv[3];
	o.hosts = keys;
	o.n_hosts = n;
	o.overwrite = 1;
	o.pcf = PCF_PCKMO_DEFAULT;
	if (pvk_seimg_create(&o, &e))
		goto out;
	/* read it back: the header, as `pvimg info --format text` prints it */
	if (pvk_sehdr_read_file(argv[3], &raw, &len, &off, &e) || pvk_sehdr_parse(raw, len, &h, &e))
		goto out;
	printf("%s: SE header at 0x%llx, %llu key slot(s)\n", argv[3], (unsigned long long)off,
	       (unsigned long long)h.nks);
	rc = pvk_hdrinfo_write_text(stdout, &h, NULL, HDRINFO_NOT_VERIFIED, 0) ? 1 : 0;
out:
	if (rc && e.msg[0])
		fprintf(stderr, "mkimage: %s\n", e.msg);
	free(raw);
	pvk_hostkeys_free(keys, n);
	return rc;
}
