// SPDX-License-Identifier: MIT
/*
 * Golden SE headers: every field fixed (keys from fixed scalars, IV, digests, flags), so
 * that `pvimg info` and `pvimg test` give the same output on every run and machine.
 *
 *   mkhdr DIR
 *
 * writes DIR/hdr2.bin (two key slots, dump allowed, CCK update, an unknown PCF bit),
 * DIR/hdr0.bin (the same header with no key slot and no flags: a viewer prints it, the UV
 * would refuse it), DIR/hdr-sea.bin (hdr2 with a 96-byte encrypted area, the same), DIR/hdr.key (its header key), DIR/host1.pem and DIR/host2.pem (the
 * hosts' keys, for certificates made with openssl) and DIR/keys_all (a UV key-hash list:
 * host 2 as backup key, host 1 on line 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/keyslot.h"
#include "pvkit/sehdr.h"

static EVP_PKEY *key_of(uint8_t fill)
{
	uint8_t scalar[66];
	struct pvk_err e;
	EVP_PKEY *k;

	memset(scalar, fill, sizeof(scalar));
	scalar[0] = 0;  /* below the order */
	pvk_err_clear(&e);
	if (pvk_ec_from_scalar(scalar, sizeof(scalar), &k, &e)) {
		fprintf(stderr, "mkhdr: %s\n", e.msg);
		exit(1);
	}
	return k;
}

static void put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void put_pem(const char *dir, const char *name, EVP_PKEY *k)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	EVP_PKEY *hosts[2] = { key_of(0x21), key_of(0x42) };
	struct sehdr_params p;
	uint8_t *hdr, phkh[2][32];
	char line[66], list[15 * 65 + 1] = "";
	struct pvk_err e;
	size_t len, cut;

	if (argc != 2) {
		fprintf(stderr, "usage: mkhdr DIR\n");
		return 2;
	}
	pvk_err_clear(&e);
	memset(&p, 0, sizeof(p));
	p.cust = key_of(0x17);
	p.hosts = hosts;
	p.n_hosts = 2;
	for (int i = 0; i < 12; i++)
		p.iv[i] = (uint8_t)i;
	memset(p.hdr_key, 0x5a, sizeof(p.hdr_key));
	p.nep = 4711;
	p.pcf = PCF_ALLOW_DUMP | PCF_PCKMO_DEFAULT | (1ull << (63 - 40));
	for (int i = 0; i < 64; i++) {
		p.pld[i] = (uint8_t)i;
		p.ald[i] = (uint8_t)(0x40 + i);
		p.tld[i] = (uint8_t)(0x80 + i);
	}
	memset(p.sec.cck, 0xcc, 32);
	for (int i = 0; i < 64; i++)
		p.sec.xts_key[i] = (uint8_t)(0xa0 + (i & 0x1f) + (i >= 32));
	p.sec.psw_mask = PSW_MASK_DEFAULT;
	p.sec.psw_addr = 0x10000;
	p.sec.scf = SCF_CCK_UPDATE;
	if (pvk_sehdr_build(&p, &hdr, &len, &e)) {
		fprintf(stderr, "mkhdr: %s\n", e.msg);
		return 1;
	}
	put(argv[1], "hdr2.bin", hdr, len);
	{
		/* the encrypted area cut to 96 bytes (the tag kept at the end) */
		uint8_t *small = malloc(len - 32);

		if (!small)
			return 1;
		memcpy(small, hdr, len - 48);
		memcpy(small + len - 48, hdr + len - 16, 16);
		put_be32(small + SEHDR_OFF_SEHS, (uint32_t)(len - 32));
		put_be64(small + SEHDR_OFF_SEA, SEHDR_SEA_V1 - 32);
		put(argv[1], "hdr-sea.bin", small, len - 32);
		free(small);
	}
	put(argv[1], "hdr.key", p.hdr_key, 32);
	put_pem(argv[1], "host1.pem", hosts[0]);
	put_pem(argv[1], "host2.pem", hosts[1]);

	/* No key slot, no flags: the slots cut out, sizes fixed up (the tag no longer fits). */
	cut = 2 * PVK_KEYSLOT_LEN;
	memmove(hdr + SEHDR_OFF_KEYSLOTS, hdr + SEHDR_OFF_KEYSLOTS + cut,
		len - SEHDR_OFF_KEYSLOTS - cut);
	put_be32(hdr + SEHDR_OFF_SEHS, (uint32_t)(len - cut));
	put_be64(hdr + SEHDR_OFF_NKS, 0);
	put_be64(hdr + SEHDR_OFF_PCF, 0);
	put(argv[1], "hdr0.bin", hdr, len - cut);
	free(hdr);

	for (int i = 0; i < 2; i++)
		if (pvk_ec_phkh(hosts[i], phkh[i], &e)) {
			fprintf(stderr, "mkhdr: %s\n", e.msg);
			return 1;
		}
	for (int i = 0; i < 15; i++) {
		if (i == 1 || i == 4)
			pvk_hex_encode(phkh[i == 1 ? 1 : 0], 32, line);
		else
			memset(line, '0', 64);
		line[64] = '\n';
		line[65] = 0;
		strcat(list, line);
	}
	put(argv[1], "keys_all", list, strlen(list));
	EVP_PKEY_free(p.cust);
	EVP_PKEY_free(hosts[0]);
	EVP_PKEY_free(hosts[1]);
	return 0;
}
