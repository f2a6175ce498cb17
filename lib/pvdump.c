// SPDX-License-Identifier: MIT
/* Protected dumps of Secure Execution guests: made (as the UV and QEMU make them) and
 * decrypted with the CCK (see pvkit/pvdump.h for the format). */
#include <elf.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pvkit/bytes.h"
#include "pvkit/crypto.h"
#include "pvkit/fileio.h"
#include "pvkit/pvdump.h"

#define EHDR 64u
#define PHDR 56u
#define SHDR 64u
#define NHDR 12u
#define MIB (1u << 20)
#define MAX_NOTES (16u << 20)          /* a PT_NOTE larger than this is refused */
#define MAX_SECTIONS 64u

/* Completion data (pv_compl), version 1: the AAD, then the encrypted part, then the tag. */
#define CPL_AAD 96u
#define CPL_OFF_SEED 16u
#define CPL_OFF_IV 80u
#define CPL_CONF 176u
#define CPL_OFF_NONCE 96u
#define CPL_OFF_KEY 112u
#define CPL_OFF_TAG 272u
/* CPU data (NT_S390_PV_CPU_DATA), version 1. */
#define CPU_AAD 32u
#define CPU_OFF_IV 8u
#define CPU_CONF 1520u
#define CPU_OFF_TAG 1552u
/* Offsets in the CPU's confidential area. */
#define C_GPRS 0u
#define C_PSW 128u
#define C_PREFIX 152u
#define C_FPC 156u
#define C_TODPREG 164u
#define C_TIMER 168u
#define C_TODCMP 176u
#define C_ACRS 192u
#define C_CTRS 256u
#define C_VRS 384u                     /* 16 x 16 bytes; an FPR is the left half of its VR */

/* A page's tweak component: 0xffffffff in the first word marks a page that is not
 * encrypted, with its kind in the last byte. */
#define SPECIAL 0xffffffffu
#define SP_MAPPED 0x04u
#define SP_SHARED 0x02u
#define SP_ZERO 0x01u

/* The plain dump's notes, per CPU. */
#define PRSTATUS_LEN 336u
#define FPREGSET_LEN 136u

static const uint8_t shstrtab[] = "\0pv_mem_meta\0pv_compl\0.shstrtab";
#define SH_NAME_META 1u
#define SH_NAME_COMPL 13u
#define SH_NAME_STRTAB 22u

static int dump_key(const uint8_t cck[32], const uint8_t seed[64], uint8_t key[32],
		    struct pvk_err *e)
{
	return pvk_hkdf_sha512(cck, 32, seed, 64, (const uint8_t *)PVDUMP_HKDF_INFO,
			       strlen(PVDUMP_HKDF_INFO), key, 32, e);
}

static size_t note_size(size_t namesz, size_t descsz)
{
	return NHDR + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
}

/* Append a note at p; returns its size. */
static size_t put_note(uint8_t *p, const char *name, uint32_t type, const uint8_t *desc,
		       size_t len)
{
	size_t namesz = strlen(name) + 1, n = note_size(namesz, len);

	memset(p, 0, n);
	put_be32(p, (uint32_t)namesz);
	put_be32(p + 4, (uint32_t)len);
	put_be32(p + 8, type);
	memcpy(p + NHDR, name, namesz);
	if (len)
		memcpy(p + NHDR + ((namesz + 3) & ~3u), desc, len);
	return n;
}

static void put_ehdr(uint8_t *h, uint16_t phnum, uint64_t shoff, uint16_t shnum)
{
	memset(h, 0, EHDR);
	memcpy(h, ELFMAG, SELFMAG);
	h[EI_CLASS] = ELFCLASS64;
	h[EI_DATA] = ELFDATA2MSB;
	h[EI_VERSION] = EV_CURRENT;
	put_be16(h + 16, ET_CORE);
	put_be16(h + 18, EM_S390);
	put_be32(h + 20, EV_CURRENT);
	put_be64(h + 32, EHDR);          /* e_phoff */
	put_be64(h + 40, shoff);
	put_be16(h + 52, EHDR);
	put_be16(h + 54, PHDR);
	put_be16(h + 56, phnum);
	put_be16(h + 58, SHDR);
	put_be16(h + 60, shnum);
	put_be16(h + 62, shnum ? shnum - 1 : 0);  /* .shstrtab is the last section */
}

static void put_phdr(uint8_t *p, uint32_t type, uint64_t off, uint64_t len)
{
	memset(p, 0, PHDR);
	put_be32(p, type);
	put_be32(p + 4, type == PT_LOAD ? PF_R | PF_W | PF_X : 0);
	put_be64(p + 8, off);
	put_be64(p + 32, len);           /* p_filesz */
	put_be64(p + 40, len);           /* p_memsz */
	put_be64(p + 48, type == PT_LOAD ? PVDUMP_PAGE : 4);
}

static void put_shdr(uint8_t *s, uint32_t name, uint32_t type, uint64_t off, uint64_t len)
{
	memset(s, 0, SHDR);
	put_be32(s, name);
	put_be32(s + 4, type);
	put_be64(s + 24, off);
	put_be64(s + 32, len);
	put_be64(s + 48, 1);
}

/* ---- making a dump ---- */

static void cpu_conf(const struct pvk_pvdump_cpu *c, uint8_t conf[CPU_CONF])
{
	memset(conf, 0, CPU_CONF);
	for (int i = 0; i < 16; i++) {
		put_be64(conf + C_GPRS + 8 * i, c->gprs[i]);
		put_be32(conf + C_ACRS + 4 * i, c->acrs[i]);
		put_be64(conf + C_CTRS + 8 * i, c->ctrs[i]);
		put_be64(conf + C_VRS + 16 * i, c->fprs[i]);
	}
	put_be64(conf + C_PSW, c->psw[0]);
	put_be64(conf + C_PSW + 8, c->psw[1]);
	put_be32(conf + C_PREFIX, c->prefix);
	put_be32(conf + C_FPC, c->fpc);
	put_be32(conf + C_TODPREG, c->todpreg);
	put_be64(conf + C_TIMER, c->timer);
	put_be64(conf + C_TODCMP, c->todcmp);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int pvk_pvdump_write(const char *mem, uint64_t mem_len, const uint8_t cck[32],
		     const struct pvk_pvdump_cpu *cpus, unsigned ncpus, const char *out,
		     struct pvk_err *e)
{
	uint8_t cpl[PVDUMP_COMPL_LEN], key[32], xts_key[64], nonce[16], *notes = NULL;
	uint8_t hdr[EHDR + 2 * PHDR], shdrs[4 * SHDR], page[PVDUMP_PAGE], ct[PVDUMP_PAGE];
	uint8_t comps[16 * 256];
	uint64_t pages = mem_len / PVDUMP_PAGE, meta_off, compl_off, str_off, mem_off, sh_off;
	size_t notes_len = 0, per_cpu = note_size(5, PRSTATUS_LEN) + note_size(5, FPREGSET_LEN) +
				       note_size(6, PVDUMP_CPU_LEN);
	struct pvk_xts xts = { 0 };
	struct outfile of;
	struct infile in;
	int rc = -1, have_in = 0, have_out = 0;

	if (!mem_len || mem_len % MIB)
		return pvk_fail(e, PVK_E_USAGE, "%s: guest memory of %llu bytes is not a multiple "
				"of 1 MiB", mem, (unsigned long long)mem_len);
	if (!ncpus || ncpus > PVDUMP_MAX_CPUS)
		return pvk_fail(e, PVK_E_USAGE, "a dump needs 1 to %u CPUs", PVDUMP_MAX_CPUS);
	/* The UV's secrets of this dump: seed, IV, tweak nonce and page key. The nonce's right
	 * half stays zero: it is where a page's component puts the page's number. */
	memset(cpl, 0, sizeof(cpl));
	put_be32(cpl, 1);
	put_be32(cpl + 4, PVDUMP_COMPL_LEN);
	if (pvk_random(cpl + CPL_OFF_SEED, 64, e) || pvk_random(cpl + CPL_OFF_IV, 12, e) ||
	    pvk_random(nonce, 8, e) || pvk_random(xts_key, 64, e))
		goto out;
	memset(nonce + 8, 0, 8);
	if (dump_key(cck, cpl + CPL_OFF_SEED, key, e))
		goto out;
	memcpy(cpl + CPL_OFF_NONCE, nonce, 16);
	memcpy(cpl + CPL_OFF_KEY, xts_key, 64);
	if (pvk_gcm_encrypt(key, cpl + CPL_OFF_IV, cpl, CPL_AAD, cpl + CPL_AAD, CPL_CONF,
			    cpl + CPL_AAD, cpl + CPL_OFF_TAG, e))
		goto out;
	/* Notes: per CPU what the hypervisor knows (nothing of a secure CPU) and the UV's data. */
	notes = calloc(ncpus, per_cpu);
	if (!notes) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < ncpus; i++) {
		uint8_t prs[PRSTATUS_LEN] = { 0 }, fpr[FPREGSET_LEN] = { 0 }, cpu[PVDUMP_CPU_LEN];

		put_be32(prs + 32, i + 1);
		memset(cpu, 0, sizeof(cpu));
		put_be32(cpu, 1);
		put_be32(cpu + 4, PVDUMP_CPU_LEN);
		if (pvk_random(cpu + CPU_OFF_IV, 12, e))
			goto out;
		cpu_conf(&cpus[i], cpu + CPU_AAD);
		if (pvk_gcm_encrypt(key, cpu + CPU_OFF_IV, cpu, CPU_AAD, cpu + CPU_AAD, CPU_CONF,
				    cpu + CPU_AAD, cpu + CPU_OFF_TAG, e))
			goto out;
		notes_len += put_note(notes + notes_len, "CORE", NT_PRSTATUS, prs, sizeof(prs));
		notes_len += put_note(notes + notes_len, "CORE", NT_FPREGSET, fpr, sizeof(fpr));
		notes_len += put_note(notes + notes_len, "LINUX", PVDUMP_NT_PV_CPU_DATA, cpu,
				      sizeof(cpu));
	}
	/* Headers and notes, the sections' data, the memory (page-aligned), section headers. */
	meta_off = EHDR + 2 * PHDR + notes_len;
	compl_off = meta_off + pages * 16;
	str_off = compl_off + PVDUMP_COMPL_LEN;
	mem_off = round_up_page(str_off + sizeof(shstrtab));
	sh_off = mem_off + mem_len;
	put_ehdr(hdr, 2, sh_off, 4);
	put_phdr(hdr + EHDR, PT_NOTE, EHDR + 2 * PHDR, notes_len);
	put_phdr(hdr + EHDR + PHDR, PT_LOAD, mem_off, mem_len);
	memset(shdrs, 0, SHDR);
	put_shdr(shdrs + SHDR, SH_NAME_META, SHT_PROGBITS, meta_off, pages * 16);
	put_shdr(shdrs + 2 * SHDR, SH_NAME_COMPL, SHT_PROGBITS, compl_off, PVDUMP_COMPL_LEN);
	put_shdr(shdrs + 3 * SHDR, SH_NAME_STRTAB, SHT_STRTAB, str_off, sizeof(shstrtab));
	if (pvk_infile_open(&in, mem, e))
		goto out;
	have_in = 1;
	if (pvk_outfile_open(&of, out, OUTFILE_OVERWRITE | OUTFILE_SECRET, e))
		goto out;
	have_out = 1;
	if (pvk_xts_init(&xts, xts_key, 1, e) ||
	    pvk_outfile_pwrite(&of, hdr, sizeof(hdr), 0, e) ||
	    pvk_outfile_pwrite(&of, notes, notes_len, EHDR + 2 * PHDR, e) ||
	    pvk_outfile_pwrite(&of, cpl, sizeof(cpl), compl_off, e) ||
	    pvk_outfile_pwrite(&of, shstrtab, sizeof(shstrtab), str_off, e) ||
	    pvk_outfile_pwrite(&of, shdrs, sizeof(shdrs), sh_off, e))
		goto out;
	/* Memory, page by page: a page never written is a zero page, the others encrypted with
	 * the tweak nonce | page number. Its component goes into pv_mem_meta. */
	for (uint64_t i = 0; i < pages; i++) {
		uint8_t *comp = comps + 16 * (i % 256), tweak[16];
		size_t got;

		if (pvk_infile_pread_upto(&in, page, sizeof(page), i * PVDUMP_PAGE, &got)) {
			pvk_fail(e, PVK_E_IO, "%s: cannot read", mem);
			goto out;
		}
		memset(page + got, 0, sizeof(page) - got);
		memset(comp, 0, 16);
		if (all_zero(page, sizeof(page))) {
			put_be32(comp, SPECIAL);
			comp[15] = SP_ZERO | SP_MAPPED;
			memset(ct, 0, sizeof(ct));
		} else {
			put_be64(comp + 8, i);
			for (int k = 0; k < 16; k++)
				tweak[k] = comp[k] | nonce[k];
			if (pvk_xts_page(&xts, tweak, page, ct, sizeof(page), e))
				goto out;
		}
		if (pvk_outfile_pwrite(&of, ct, sizeof(ct), mem_off + i * PVDUMP_PAGE, e))
			goto out;
		/* The components of 256 pages (1 MiB) at a time. */
		if ((i % 256 == 255 || i + 1 == pages) &&
		    pvk_outfile_pwrite(&of, comps, 16 * (i % 256 + 1), meta_off + (i - i % 256) * 16, e))
			goto out;
	}
	if (pvk_outfile_commit(&of, e)) {
		have_out = 0;
		goto out;
	}
	have_out = 0;
	rc = 0;
out:
	if (have_out)
		pvk_outfile_abort(&of);
	if (have_in)
		pvk_infile_close(&in);
	pvk_xts_free(&xts);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(xts_key, sizeof(xts_key));
	OPENSSL_cleanse(cpl, sizeof(cpl));
	OPENSSL_cleanse(page, sizeof(page));
	if (notes)
		OPENSSL_cleanse(notes, ncpus * per_cpu);
	free(notes);
	return rc;
}

/* ---- reading a dump ---- */

struct dump {
	const char *name;
	struct infile in;
	uint64_t size;
	uint64_t notes_off, notes_len, mem_off, mem_len, meta_off, compl_off;
	unsigned cpus;
};

static int bad(struct dump *d, struct pvk_err *e, const char *what)
{
	return pvk_fail(e, PVK_E_FORMAT, "%s: not a protected guest dump: %s", d->name, what);
}

static int within(const struct dump *d, uint64_t off, uint64_t len)
{
	return off <= d->size && len <= d->size - off;
}

static int read_at(struct dump *d, void *buf, size_t len, uint64_t off, struct pvk_err *e)
{
	if (!within(d, off, len) || pvk_infile_pread(&d->in, buf, len, off))
		return pvk_fail(e, PVK_E_FORMAT, "%s: truncated (%zu bytes at %llu)", d->name, len,
				(unsigned long long)off);
	return 0;
}

/* Walk the notes; for each PV CPU note call fn (may be NULL) with its descriptor. */
static int walk_notes(struct dump *d, int (*fn)(void *ctx, const uint8_t *cpu, struct pvk_err *e),
		      void *ctx, struct pvk_err *e)
{
	uint8_t *buf = malloc(d->notes_len ? d->notes_len : 1);
	uint64_t p = 0;
	int rc = -1;

	if (!buf)
		return pvk_fail(e, PVK_E_NOMEM, "out of memory");
	if (read_at(d, buf, d->notes_len, d->notes_off, e))
		goto out;
	d->cpus = 0;
	while (p + NHDR <= d->notes_len) {
		uint32_t namesz = get_be32(buf + p), descsz = get_be32(buf + p + 4);
		uint32_t type = get_be32(buf + p + 8);
		uint64_t desc = p + NHDR + (((uint64_t)namesz + 3) & ~3ull);
		uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ull);

		if (next > d->notes_len) {
			bad(d, e, "a note runs past its segment");
			goto out;
		}
		if (type == PVDUMP_NT_PV_CPU_DATA) {
			if (descsz != PVDUMP_CPU_LEN || get_be32(buf + desc) != 1) {
				bad(d, e, "a CPU note of another size or version");
				goto out;
			}
			if (++d->cpus > PVDUMP_MAX_CPUS) {
				bad(d, e, "more CPU notes than a guest has CPUs");
				goto out;
			}
			if (fn && fn(ctx, buf + desc, e))
				goto out;
		}
		p = next;
	}
	if (!d->cpus) {
		bad(d, e, "no CPU note (NT_S390_PV_CPU_DATA)");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

static int open_dump(struct dump *d, const char *path, struct pvk_err *e)
{
	uint8_t eh[EHDR], ph[PHDR], sh[SHDR], strtab[PVDUMP_PAGE];
	uint64_t phoff, shoff, str_off = 0, str_len = 0, meta_len = 0, compl_len = 0;
	uint16_t phnum, shnum, shstrndx;
	int loads = 0, notes = 0;

	memset(d, 0, sizeof(*d));
	d->name = path;
	if (pvk_infile_open(&d->in, path, e))
		return -1;
	{
		/* A pipe is spooled into a temp file (all of it, by a read past its end): its
		 * size is that file's then. */
		struct stat st;
		uint8_t probe;
		size_t got;

		if (d->in.spool >= 0 &&
		    pvk_infile_pread_upto(&d->in, &probe, 1, UINT64_MAX / 4, &got)) {
			pvk_fail(e, PVK_E_IO, "%s: cannot read", path);
			goto fail;
		}
		if (fstat(d->in.spool >= 0 ? d->in.spool : d->in.fd, &st)) {
			pvk_fail(e, PVK_E_IO, "%s: cannot stat: %s", path, strerror(errno));
			goto fail;
		}
		d->size = (uint64_t)st.st_size;
	}
	if (read_at(d, eh, EHDR, 0, e))
		goto fail;
	if (memcmp(eh, ELFMAG, SELFMAG) || eh[EI_CLASS] != ELFCLASS64 || eh[EI_DATA] != ELFDATA2MSB ||
	    get_be16(eh + 16) != ET_CORE || get_be16(eh + 18) != EM_S390) {
		bad(d, e, "not a big-endian ELF64 core file of IBM Z (s390x)");
		goto fail;
	}
	phoff = get_be64(eh + 32);
	shoff = get_be64(eh + 40);
	phnum = get_be16(eh + 56);
	shnum = get_be16(eh + 60);
	shstrndx = get_be16(eh + 62);
	if (get_be16(eh + 54) != PHDR || get_be16(eh + 58) != SHDR || !phnum || phnum > 64 ||
	    !shnum || shnum > MAX_SECTIONS || shstrndx >= shnum) {
		bad(d, e, "program or section headers of another size or number (no sections: "
		       "the dump was not made of a protected guest)");
		goto fail;
	}
	for (unsigned i = 0; i < phnum; i++) {
		if (read_at(d, ph, PHDR, phoff + (uint64_t)i * PHDR, e))
			goto fail;
		if (get_be32(ph) == PT_LOAD) {
			loads++;
			d->mem_off = get_be64(ph + 8);
			d->mem_len = get_be64(ph + 32);
			if (get_be64(ph + 16) != 0 || d->mem_len % PVDUMP_PAGE ||
			    !within(d, d->mem_off, d->mem_len)) {
				bad(d, e, "the memory segment does not start at 0, is not whole pages "
				       "or runs past the end of the file");
				goto fail;
			}
		} else if (get_be32(ph) == PT_NOTE) {
			notes++;
			d->notes_off = get_be64(ph + 8);
			d->notes_len = get_be64(ph + 32);
			if (d->notes_len > MAX_NOTES || !within(d, d->notes_off, d->notes_len)) {
				bad(d, e, "the note segment is too large or runs past the end of the file");
				goto fail;
			}
		}
	}
	if (loads != 1 || notes != 1) {
		bad(d, e, "not one memory segment and one note segment");
		goto fail;
	}
	if (read_at(d, sh, SHDR, shoff + (uint64_t)shstrndx * SHDR, e))
		goto fail;
	str_off = get_be64(sh + 24);
	str_len = get_be64(sh + 32);
	if (str_len > sizeof(strtab) || read_at(d, strtab, (size_t)str_len, str_off, e)) {
		bad(d, e, "section names (.shstrtab) missing or too long");
		goto fail;
	}
	for (unsigned i = 0; i < shnum; i++) {
		uint32_t nm;

		if (read_at(d, sh, SHDR, shoff + (uint64_t)i * SHDR, e))
			goto fail;
		nm = get_be32(sh);
		if (nm >= str_len || !memchr(strtab + nm, 0, (size_t)(str_len - nm)))
			continue;
		if (!strcmp((const char *)strtab + nm, "pv_mem_meta")) {
			d->meta_off = get_be64(sh + 24);
			meta_len = get_be64(sh + 32);
		} else if (!strcmp((const char *)strtab + nm, "pv_compl")) {
			d->compl_off = get_be64(sh + 24);
			compl_len = get_be64(sh + 32);
		}
	}
	if (!compl_len || !meta_len) {
		bad(d, e, "no pv_compl or pv_mem_meta section (a dump of a guest that is not "
		       "protected, or whose owner disabled dumping)");
		goto fail;
	}
	if (compl_len < PVDUMP_COMPL_LEN || !within(d, d->compl_off, PVDUMP_COMPL_LEN) ||
	    meta_len / 16 < d->mem_len / PVDUMP_PAGE || !within(d, d->meta_off, meta_len)) {
		bad(d, e, "pv_compl or pv_mem_meta too short for the memory");
		goto fail;
	}
	return 0;
fail:
	pvk_infile_close(&d->in);
	return -1;
}

/* A page's kind from its component: 'E' encrypted, 'Z' zero, 'S' shared, 0 invalid. */
static char page_kind(const uint8_t comp[16])
{
	uint8_t f = comp[15];

	if (get_be32(comp) != SPECIAL)
		return 'E';
	if (!all_zero(comp + 4, 11) || (f & ~(SP_ZERO | SP_SHARED | SP_MAPPED)) ||
	    !(f & (SP_ZERO | SP_SHARED | SP_MAPPED)))
		return 0;
	return (f & SP_ZERO) ? 'Z' : (f & SP_SHARED) ? 'S' : 'M';
}

static int count_pages(struct dump *d, struct pvk_pvdump_info *info, struct pvk_err *e)
{
	uint8_t comps[16 * 256];

	for (uint64_t i = 0, n = d->mem_len / PVDUMP_PAGE; i < n; i += 256) {
		size_t k = n - i < 256 ? (size_t)(n - i) : 256;

		if (read_at(d, comps, 16 * k, d->meta_off + i * 16, e))
			return -1;
		for (size_t j = 0; j < k; j++) {
			switch (page_kind(comps + 16 * j)) {
			case 'E': info->encrypted++; break;
			case 'Z': info->zero++; break;
			case 'S': info->shared++; break;
			case 'M': info->shared++; break;
			default:
				return pvk_fail(e, PVK_E_FORMAT, "%s: pv_mem_meta: page %llu has an "
						"invalid state", d->name, (unsigned long long)(i + j));
			}
		}
	}
	return 0;
}

int pvk_pvdump_inspect(const char *in, struct pvk_pvdump_info *info, struct pvk_err *e)
{
	struct dump d;
	uint8_t cpl[PVDUMP_COMPL_LEN];
	int rc;

	memset(info, 0, sizeof(*info));
	if (open_dump(&d, in, e))
		return -1;
	rc = read_at(&d, cpl, sizeof(cpl), d.compl_off, e);
	if (!rc && (get_be32(cpl) != 1 || get_be32(cpl + 4) != PVDUMP_COMPL_LEN))
		rc = bad(&d, e, "completion data of another version");
	if (!rc)
		rc = walk_notes(&d, NULL, NULL, e);
	if (!rc)
		rc = count_pages(&d, info, e);
	info->mem_len = d.mem_len;
	info->cpus = d.cpus;
	pvk_infile_close(&d.in);
	return rc;
}

struct decrypt_ctx {
	const char *name;
	const uint8_t *key;
	uint8_t *notes;
	size_t len;
	unsigned cpu;
};

/* One CPU note: decrypt and write its plain notes. */
static int plain_cpu_notes(void *arg, const uint8_t *cpu, struct pvk_err *e)
{
	struct decrypt_ctx *c = arg;
	uint8_t conf[CPU_CONF], prs[PRSTATUS_LEN] = { 0 }, fpr[FPREGSET_LEN] = { 0 };

	if (pvk_gcm_decrypt(c->key, cpu + CPU_OFF_IV, cpu, CPU_AAD, cpu + CPU_AAD, CPU_CONF, conf,
			    cpu + CPU_OFF_TAG, e))
		return pvk_fail(e, PVK_E_AUTH, "%s: CPU %u: the CPU state does not decrypt (a "
				"changed dump)", c->name, c->cpu);
	c->cpu++;
	put_be32(prs + 32, c->cpu);
	memcpy(prs + 112, conf + C_PSW, 16);
	memcpy(prs + 128, conf + C_GPRS, 128);
	memcpy(prs + 256, conf + C_ACRS, 64);
	memcpy(fpr, conf + C_FPC, 4);
	for (int i = 0; i < 16; i++)
		memcpy(fpr + 8 + 8 * i, conf + C_VRS + 16 * i, 8);
	c->len += put_note(c->notes + c->len, "CORE", NT_PRSTATUS, prs, sizeof(prs));
	c->len += put_note(c->notes + c->len, "CORE", NT_FPREGSET, fpr, sizeof(fpr));
	c->len += put_note(c->notes + c->len, "LINUX", NT_S390_PREFIX, conf + C_PREFIX, 4);
	c->len += put_note(c->notes + c->len, "LINUX", NT_S390_CTRS, conf + C_CTRS, 128);
	c->len += put_note(c->notes + c->len, "LINUX", NT_S390_TIMER, conf + C_TIMER, 8);
	c->len += put_note(c->notes + c->len, "LINUX", NT_S390_TODCMP, conf + C_TODCMP, 8);
	c->len += put_note(c->notes + c->len, "LINUX", NT_S390_TODPREG, conf + C_TODPREG, 4);
	OPENSSL_cleanse(conf, sizeof(conf));
	OPENSSL_cleanse(prs, sizeof(prs));
	OPENSSL_cleanse(fpr, sizeof(fpr));
	return 0;
}

#define PLAIN_PER_CPU                                                                      \
	(note_size(5, PRSTATUS_LEN) + note_size(5, FPREGSET_LEN) + note_size(6, 4) +       \
	 note_size(6, 128) + 2 * note_size(6, 8) + note_size(6, 4))

int pvk_pvdump_decrypt(const char *in, const uint8_t cck[32], const char *out,
		       struct pvk_pvdump_info *info, struct pvk_err *e)
{
	uint8_t cpl[PVDUMP_COMPL_LEN], conf[CPL_CONF], key[32], hdr[EHDR + 2 * PHDR];
	uint8_t comps[16 * 16], page[PVDUMP_PAGE], pt[PVDUMP_PAGE];
	struct decrypt_ctx c = { .name = in, .key = key };
	struct pvk_xts xts = { 0 };
	struct outfile of;
	struct dump d;
	uint64_t mem_off;
	size_t notes_cap = 0;
	int rc = -1, have_out = 0;

	memset(info, 0, sizeof(*info));
	memset(conf, 0, sizeof(conf));
	memset(key, 0, sizeof(key));
	if (open_dump(&d, in, e))
		return -1;
	if (read_at(&d, cpl, sizeof(cpl), d.compl_off, e))
		goto out;
	if (get_be32(cpl) != 1 || get_be32(cpl + 4) != PVDUMP_COMPL_LEN) {
		bad(&d, e, "completion data of another version");
		goto out;
	}
	if (dump_key(cck, cpl + CPL_OFF_SEED, key, e))
		goto out;
	if (pvk_gcm_decrypt(key, cpl + CPL_OFF_IV, cpl, CPL_AAD, cpl + CPL_AAD, CPL_CONF, conf,
			    cpl + CPL_OFF_TAG, e)) {
		pvk_fail(e, PVK_E_AUTH, "%s: the completion data does not decrypt with this "
			 "customer communication key (a wrong CCK, or a changed dump)", in);
		goto out;
	}
	if (walk_notes(&d, NULL, NULL, e))
		goto out;
	notes_cap = d.cpus * PLAIN_PER_CPU;
	c.notes = calloc(d.cpus, PLAIN_PER_CPU);
	if (!c.notes) {
		pvk_fail(e, PVK_E_NOMEM, "out of memory");
		goto out;
	}
	if (walk_notes(&d, plain_cpu_notes, &c, e) || pvk_xts_init(&xts, conf + (CPL_OFF_KEY - CPL_AAD), 0, e))
		goto out;
	mem_off = round_up_page(EHDR + 2 * PHDR + c.len);
	put_ehdr(hdr, 2, 0, 0);
	put_phdr(hdr + EHDR, PT_NOTE, EHDR + 2 * PHDR, c.len);
	put_phdr(hdr + EHDR + PHDR, PT_LOAD, mem_off, d.mem_len);
	if (pvk_outfile_open(&of, out, OUTFILE_OVERWRITE | OUTFILE_SECRET, e))
		goto out;
	have_out = 1;
	if (pvk_outfile_pwrite(&of, hdr, sizeof(hdr), 0, e) ||
	    pvk_outfile_pwrite(&of, c.notes, c.len, EHDR + 2 * PHDR, e))
		goto out;
	for (uint64_t i = 0, n = d.mem_len / PVDUMP_PAGE; i < n; i++) {
		const uint8_t *comp = comps + 16 * (i % 16);
		uint8_t tweak[16];

		if (i % 16 == 0 &&
		    read_at(&d, comps, 16 * (n - i < 16 ? (size_t)(n - i) : 16), d.meta_off + i * 16, e))
			goto out;
		if (read_at(&d, page, sizeof(page), d.mem_off + i * PVDUMP_PAGE, e))
			goto out;
		switch (page_kind(comp)) {
		case 'E':
			for (int k = 0; k < 16; k++)
				tweak[k] = comp[k] | conf[CPL_OFF_NONCE - CPL_AAD + k];
			if (pvk_xts_page(&xts, tweak, page, pt, sizeof(page), e))
				goto out;
			info->encrypted++;
			break;
		case 'Z':
			memset(pt, 0, sizeof(pt));
			info->zero++;
			break;
		case 'S':
		case 'M':
			memcpy(pt, page, sizeof(page));
			info->shared++;
			break;
		default:
			pvk_fail(e, PVK_E_FORMAT, "%s: pv_mem_meta: page %llu has an invalid state",
				 in, (unsigned long long)i);
			goto out;
		}
		if (pvk_outfile_pwrite(&of, pt, sizeof(pt), mem_off + i * PVDUMP_PAGE, e))
			goto out;
	}
	have_out = 0;
	if (pvk_outfile_commit(&of, e))
		goto out;
	info->mem_len = d.mem_len;
	info->cpus = d.cpus;
	rc = 0;
out:
	if (have_out)
		pvk_outfile_abort(&of);
	pvk_xts_free(&xts);
	pvk_infile_close(&d.in);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(conf, sizeof(conf));
	OPENSSL_cleanse(pt, sizeof(pt));
	if (c.notes)
		OPENSSL_cleanse(c.notes, notes_cap);
	free(c.notes);
	return rc;
}
