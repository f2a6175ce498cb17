// SPDX-License-Identifier: MIT
/* Test helper for test_pvapconfig.sh: an add-secret request for an association secret with
 * any 32-byte ID (pvsecret derives IDs from names; IBM's example configuration files use
 * the ID "This is a very secret secret id.", which no name gives).
 *
 * Usage: ap_assoc_req HKD IMAGE ID-HEX OUTPUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "pvkit/asrcb.h"
#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/hostkey.h"
#include "pvkit/sehdr.h"

int main(int argc, char **argv)
{
	struct asrcb_params p;
	struct pvk_err e;
	struct sehdr h;
	EVP_PKEY *host = NULL, *cust = NULL;
	X509 *crt = NULL;
	uint8_t *hdr = NULL, *req = NULL, value[32];
	size_t hlen = 0, rlen = 0;
	uint64_t off;
	int rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: ap_assoc_req HKD IMAGE ID-HEX OUTPUT\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	pvk_err_clear(&e);
	if (strlen(argv[3]) != 64 || pvk_hex_decode(argv[3], p.secret_id, 32)) {
		fprintf(stderr, "ap_assoc_req: the ID must be 64 hex digits\n");
		return 2;
	}
	if (pvk_hkd_load(argv[1], &crt, &e) < 0 || !(host = X509_get_pubkey(crt)) ||
	    pvk_sehdr_read_file(argv[2], &hdr, &hlen, &off, &e) || pvk_sehdr_parse(hdr, hlen, &h, &e) ||
	    pvk_ec_generate(&cust, &e) || pvk_random(p.iv, 12, &e) ||
	    pvk_random(p.prot_key, 32, &e) || pvk_random(value, 32, &e))
		goto out;
	p.cust = cust;
	p.hosts = &host;
	p.n_hosts = 1;
	memcpy(p.pld, h.pld, 64);
	memcpy(p.ald, h.ald, 64);
	memcpy(p.tld, h.tld, 64);
	memcpy(p.tag, h.tag, 16);
	p.secret_type = SECRET_ASSOCIATION;
	p.value = value;
	p.value_len = 32;
	if (pvk_asrcb_build(&p, &req, &rlen, &e) ||
	    pvk_file_write_all(argv[4], req, rlen, OUTFILE_OVERWRITE, &e))
		goto out;
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "ap_assoc_req: %s\n", e.msg);
	free(req);
	free(hdr);
	EVP_PKEY_free(host);
	EVP_PKEY_free(cust);
	X509_free(crt);
	return rc;
}
