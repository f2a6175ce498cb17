// SPDX-License-Identifier: MIT
/* The machine's limits that bench/run measures pvkit against: what any program doing the
 * same job must spend, with the same OpenSSL, on the same cores.
 *
 *   floor exec                        start a process that loads libcrypto and its config
 *   floor sha512 FILE...              one SHA-512 pass over the files (1 MiB reads, as the
 *                                     image builder's hasher takes them)
 *   floor hkd N HKD SIGNING-CERT      N times the crypto one host-key document needs: its
 *                                     signature checked with the signing key, one ECDH P-521
 *   floor ecdh SECONDS THREADS        ECDH P-521 derivations (the UV's work per attestation)
 *                                     on THREADS threads; prints "ops N, per_s R"
 *
 * Not installed: a tool of the benchmarks only. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "floor: %s\n", what);
	return 1;
}

static int sha512_pass(int n, char **files)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *buf = malloc(CHUNK), out[64];

	if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1)
		return die("cannot set up SHA-512");
	for (int i = 0; i < n; i++) {
		int fd = open(files[i], O_RDONLY);
		ssize_t got;

		if (fd < 0)
			return die(files[i]);
		while ((got = read(fd, buf, CHUNK)) > 0)
			EVP_DigestUpdate(md, buf, (size_t)got);
		close(fd);
		if (got < 0)
			return die(files[i]);
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	free(buf);
	return 0;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *gen_p521(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
}

/* One ECDH P-521 derivation with the peer checked as pvkit checks it. */
static int ecdh(EVP_PKEY *priv, EVP_PKEY *peer)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	unsigned char z[66];
	size_t zlen = sizeof(z);
	int ok = ctx && chk && EVP_PKEY_public_check_quick(chk) == 1 &&
		 EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
		 EVP_PKEY_derive(ctx, z, &zlen) == 1;

	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int hkd_work(int n, const char *hkd_path, const char *sign_path)
{
	X509 *hkd = read_cert(hkd_path), *sign = read_cert(sign_path);
	EVP_PKEY *eph = gen_p521();

	if (!hkd || !sign || !eph)
		return die("cannot read the certificates");
	for (int i = 0; i < n; i++)
		if (X509_verify(hkd, X509_get0_pubkey(sign)) != 1 ||
		    ecdh(eph, X509_get0_pubkey(hkd)))
			return die("HKD crypto failed");
	X509_free(hkd);
	X509_free(sign);
	EVP_PKEY_free(eph);
	return 0;
}

static double deadline;
static EVP_PKEY *host, *peer;

static void *ecdh_loop(void *arg)
{
	long *ops = arg;

	while (now() < deadline)
		if (!ecdh(host, peer))
			(*ops)++;
	return NULL;
}

static int ecdh_rate(double secs, int nt)
{
	pthread_t t[64];
	long ops[64] = { 0 }, total = 0;
	double t0;

	if (nt < 1 || nt > 64)
		return die("THREADS: 1 to 64");
	host = gen_p521();
	peer = gen_p521();
	if (!host || !peer)
		return die("cannot make keys");
	t0 = now();
	deadline = t0 + secs;
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, ecdh_loop, &ops[i]);
	for (int i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		total += ops[i];
	}
	printf("ops %ld, per_s %.0f\n", total, (double)total / (now() - t0));
	return 0;
}

/* The crypto of one pvattestd release: an X25519 key and agreement (the secrets sealed to
 * the agent's key) and an ES256 signature (the token). */
static EVP_PKEY *sig_key;

static int release_once(void)
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), *peer_x = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t z[32], sig[128], msg[600] = { 0 };
	size_t zl = sizeof(z), sl = sizeof(sig);
	int rc = -1;

	peer_x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (eph && peer_x && md && (c = EVP_PKEY_CTX_new(eph, NULL)) && EVP_PKEY_derive_init(c) > 0 &&
	    EVP_PKEY_derive_set_peer(c, peer_x) > 0 && EVP_PKEY_derive(c, z, &zl) > 0 &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, sig_key) > 0 &&
	    EVP_DigestSign(md, sig, &sl, msg, sizeof(msg)) > 0)
		rc = 0;
	EVP_PKEY_CTX_free(c);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer_x);
	return rc;
}

static void *release_loop(void *arg)
{
	long *ops = arg;

	while (now() < deadline)
		if (!release_once())
			(*ops)++;
	return NULL;
}

static int release_rate(double secs, int nt)
{
	pthread_t t[64];
	long ops[64] = { 0 }, total = 0;
	double t0;

	if (nt < 1 || nt > 64)
		return die("THREADS: 1 to 64");
	if (!(sig_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
		return die("cannot make keys");
	t0 = now();
	deadline = t0 + secs;
	for (int i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, release_loop, &ops[i]);
	for (int i = 0; i < nt; i++) {
		pthread_join(t[i], NULL);
		total += ops[i];
	}
	printf("ops %ld, per_s %.0f\n", total, (double)total / (now() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		return die("cannot initialise OpenSSL");
	if (argc == 2 && !strcmp(argv[1], "exec"))
		return 0;
	if (argc >= 3 && !strcmp(argv[1], "sha512"))
		return sha512_pass(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "hkd"))
		return hkd_work(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "ecdh"))
		return ecdh_rate(atof(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "release"))
		return release_rate(atof(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: floor exec | sha512 FILE... | hkd N HKD SIGNING-CERT | ecdh SECONDS THREADS"
		" | release SECONDS THREADS\n");
	return 2;
}
