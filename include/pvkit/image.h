/* SPDX-License-Identifier: MIT */
/* The SE boot image (spec §1): layout, IPIB, metadata block, builder and the UV's unpack. */
#ifndef PVKIT_IMAGE_H
#define PVKIT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pvkit/err.h"
#include "pvkit/hostkey.h"
#include "pvkit/log.h"
#include "pvkit/sehdr.h"

#define SEIMG_PAGE 4096
#define SEIMG_META_ADDR 0xc000
#define SEIMG_META_MAGIC "SeImgLnx"
#define SEIMG_META_LEN 28
#define SEIMG_META_VERSION 1
#define SEIMG_STAGE3A_ADDR 0x10000
#define SEIMG_STAGE3A_ENTRY 0x11000
#define SEIMG_STAGE3A_MAX 0x3000
#define SEIMG_STAGE3A_ARGS_LEN 24
#define SEIMG_STAGE3B_ARGS_LEN 64
#define SEIMG_HDR_ADDR_MIN 0x14000
#define SEIMG_KERNEL_ENTRY 0x10000
#define SEIMG_KERNEL_MIN_SIZE 0x10000
#define SEIMG_KERNEL_S390EP_OFF 0x10008
#define SEIMG_KERNEL_MAX_CMDLINE_OFF 0x10430
#define SEIMG_LEGACY_CMDLINE_MAX 896
#define SEIMG_PSW_SHORT_BIT12 0x0008000000000000ull

/* Component tweak prefixes of the Rust pvimg (spec §2.6). */
enum seimg_comp_kind {
	SEIMG_COMP_KERNEL = 40,
	SEIMG_COMP_RAMDISK = 50,
	SEIMG_COMP_CMDLINE = 60,
	SEIMG_COMP_STAGE3B = 70,
};

/* IPIB of type PV (spec §1.9). */
#define IPIB_HDR_LEN 136
#define IPIB_COMP_LEN 24
#define IPIB_OFF_NUM_COMP 0x74
#define IPIB_OFF_HDR_ADDR 0x78
#define IPIB_OFF_HDR_SIZE 0x80
#define IPIB_OFF_COMPS 0x88
#define IPIB_PBT_PV 5
#define IPIB_MAX_COMPS 16

struct seimg_comp {
	uint64_t tweak_pref;   /* first 8 bytes of the initial tweak, BE */
	uint64_t addr;
	uint64_t len;          /* padded length */
};

struct seimg_ipib {
	uint64_t hdr_addr, hdr_size;
	uint32_t num_comp;
	struct seimg_comp comps[IPIB_MAX_COMPS];
};

/* The IPL parameter block of the image (spec §2.3): its size for n components, and its
 * big-endian encoding and checked decoding. */
size_t pvk_ipib_size(uint32_t n);
void pvk_ipib_encode(const struct seimg_ipib *ip, uint8_t *out);
int pvk_ipib_decode(const uint8_t *buf, size_t len, struct seimg_ipib *ip, struct pvk_err *e);

/* Options of `pvimg create`. Every random input can be fixed for reproducible builds. */
struct seimg_create_opts {
	const char *kernel, *ramdisk, *parmfile, *output;
	EVP_PKEY *const *hosts;
	size_t n_hosts;
	const char *bootloader_dir;    /* NULL: $PVKIT_BOOTLOADER_DIR, else the installed ones */
	int overwrite;
	int no_component_check;
	uint64_t pcf, scf;
	int have_psw_addr;
	uint64_t psw_addr;
	const uint8_t *hdr_key;        /* 32 bytes or NULL (random) */
	const uint8_t *image_key;      /* 64 bytes or NULL (random) */
	const uint8_t *cck;            /* 32 bytes or NULL (random) */
	/* Deterministic mode (expert): */
	EVP_PKEY *cust_key;            /* fixed customer ECDH key or NULL (fresh) */
	const uint8_t *hdr_iv;         /* 12 bytes or NULL (random) */
	const uint8_t *tweak_bytes;    /* 6 bytes, the random part of every tweak, or NULL */
};

/* Build the SE image o->output from o's kernel, ramdisk and parmfile for o's hosts,
 * streaming page by page; the output appears only when complete (an earlier file stays
 * unless o->overwrite). */
int pvk_seimg_create(const struct seimg_create_opts *o, struct pvk_err *e);

/* Progress of an image build: done of total bytes of components encrypted and written. */
typedef void (*pvk_seimg_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/* pvk_seimg_create, calling fn (when not NULL) as the components stream through. */
int pvk_seimg_create_progress(const struct seimg_create_opts *o, pvk_seimg_progress_fn fn,
			      void *ctx, struct pvk_err *e);

/* The --enable-X/--disable-X switches of pvimg create. */
enum pvk_seimg_flag {
	PVK_SEIMG_DUMP,          /* allow dumping (needs a CCK or CCK update) */
	PVK_SEIMG_CCKEXT,        /* CCK extension secret */
	PVK_SEIMG_CCKUPD,        /* CCK update */
	PVK_SEIMG_PCKMO,         /* PCKMO for DEA/TDEA/AES/ECC (on by default) */
	PVK_SEIMG_PCKMO_HMAC,    /* PCKMO for HMAC */
	PVK_SEIMG_BACKUP,        /* backup host keys */
	PVK_SEIMG_ENC,           /* component encryption (on by default) */
	PVK_SEIMG_NFLAGS,
};

/* pvimg create's inputs as files and option values. */
struct pvk_seimg_args {
	struct seimg_create_opts o;    /* kernel, ramdisk, parmfile, output, overwrite, ... */
	struct pvk_cert_opts certs;    /* host-key documents and their verification */
	const char *cck, *hdr_key, *image_key, *cust_key;   /* key files, or NULL (random) */
	const char *iv_hex, *tweak_hex, *psw, *xpcf, *xscf; /* experimental values (hex) */
	int flags[PVK_SEIMG_NFLAGS];   /* 1 enabled, 0 disabled, -1 not given */
	pvk_seimg_progress_fn progress; /* or NULL */
	void *progress_ctx;
};

/* Zero a and set every switch to "not given". */
void pvk_seimg_args_init(struct pvk_seimg_args *a);

/* Check the combination (PVK_E_USAGE, named by pvimg's options), read the key files, load
 * and verify the host keys (certs->no_verify logs IBM's warning), then build the image as
 * pvk_seimg_create. Key material read here is wiped before it returns. */
int pvk_seimg_create_from_files(struct pvk_seimg_args *a, const struct pvk_log *log,
				struct pvk_err *e);

/* What the UV learns from an unpack. */
struct seimg_unpacked {
	uint64_t hdr_off;
	struct sehdr_secrets sec;
	uint64_t pcf;
	uint64_t nep;
	struct seimg_ipib ipib;
};

/* The UV's unpack (spec §1, §2): read the IPIB and header, unwrap the header key with
 * host_priv, authenticate the header, decrypt and digest every component page, compare
 * PLD/ALD/TLD/NEP. Refusals are PVK_E_UV with the UV's rc/rrc. If mem_out is set, the
 * decrypted guest memory (the image with every component decrypted in place and a short PSW
 * at 0 pointing at the header's PSW address) is written there. */
int pvk_seimg_unpack(const char *image, EVP_PKEY *host_priv, const char *mem_out,
		 struct seimg_unpacked *res, struct pvk_err *e);

/* The machine's path to the same unpack, as uvsim boots (spec §1.4, §1.7): the image is
 * loaded as guest memory of mem_size bytes (zeros after the file); the short PSW at 0 must
 * start stage3a, stage3a's code must be pvkit's stage3a.bin, and the IPIB and header come
 * from stage3a's arguments, with the header's address and size stored into the IPIB and the
 * IPIB checked as the hypervisor's diag 308 subcode 8 does. What stops the machine before the
 * UV is reached is PVK_E_FORMAT naming the image and what the machine would do (stage3a's
 * console message where it prints one); the UV's refusals are PVK_E_UV as in pvk_seimg_unpack.
 * The image metadata at 0xc000 is not read. */
int pvk_seimg_boot(const char *image, EVP_PKEY *host_priv, const char *mem_out, uint64_t mem_size,
	       struct seimg_unpacked *res, struct pvk_err *e);

/* Find the directory holding stage3a.bin and stage3b_reloc.bin. */
const char *pvk_seimg_bootloader_dir(const char *override);

#endif
