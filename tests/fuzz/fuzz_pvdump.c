// SPDX-License-Identifier: MIT
/* The protected-dump reader on untrusted bytes: pvk_pvdump_inspect and pvk_pvdump_decrypt
 * (with the seeds' CCK, so the decryption paths run) read the file or refuse it with a format
 * or authentication error; a decrypted dump's page counts add up to its memory. The seed is
 * a dump pvk_pvdump_write made of 1 MiB of memory with some pages zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pvkit/pvdump.h"

static const uint8_t cck[32] = { 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
				  0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
				  0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a };

/* A file holding data, named by its /proc path. */
static int memfile(const void *data, size_t len, char *path, size_t plen)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		return -1;
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

static void write_seeds(void)
{
	static uint8_t mem[1 << 20];
	struct pvk_pvdump_cpu cpu = { .psw = { 0x0000000180000000ull, 0x10000 }, .prefix = 0x2000 };
	char mpath[64], dpath[64];
	struct pvk_err e;
	int mfd, dfd;
	FILE *f;
	static uint8_t dump[2 << 20];
	size_t n;

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = (i / 4096) % 3 ? (uint8_t)(i * 7) : 0;
	mfd = memfile(mem, sizeof(mem), mpath, sizeof(mpath));
	/* The writer makes its output beside the file (a temp file renamed): a real path. */
	snprintf(dpath, sizeof(dpath), "/tmp/pvkit-fuzz-pvdump.XXXXXX");
	dfd = mkstemp(dpath);
	FUZZ_CHECK(mfd >= 0 && dfd >= 0);
	FUZZ_CHECK(pvk_pvdump_write(mpath, sizeof(mem), cck, &cpu, 1, dpath, &e) == 0);
	f = fopen(dpath, "rb");
	FUZZ_CHECK(f != NULL);
	n = fread(dump, 1, sizeof(dump), f);
	fclose(f);
	fuzz_seed("pvdump-1mib.elf", dump, n);
	close(mfd);
	close(dfd);
	unlink(dpath);
}

FUZZ_INIT_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvk_pvdump_info info;
	struct pvk_err e;
	char path[64];
	int fd = memfile(data, size, path, sizeof(path)), rc;

	FUZZ_CHECK(fd >= 0);
	rc = pvk_pvdump_inspect(path, &info, &e);
	FUZZ_CHECK(rc == 0 || e.code == PVK_E_FORMAT || e.code == PVK_E_IO);
	if (!rc) {
		FUZZ_CHECK(info.cpus >= 1 && info.cpus <= PVDUMP_MAX_CPUS);
		FUZZ_CHECK(info.encrypted + info.zero + info.shared == info.mem_len / PVDUMP_PAGE);
		rc = pvk_pvdump_decrypt(path, cck, "/dev/null", &info, &e);
		FUZZ_CHECK(rc == 0 || e.code == PVK_E_FORMAT || e.code == PVK_E_AUTH ||
			   e.code == PVK_E_IO);
		if (!rc)
			FUZZ_CHECK(info.encrypted + info.zero + info.shared ==
				   info.mem_len / PVDUMP_PAGE);
	}
	close(fd);
	return 0;
}
