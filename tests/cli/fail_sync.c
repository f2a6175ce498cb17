// SPDX-License-Identifier: MIT
/* LD_PRELOAD shim for test_durable.sh: the call PVKIT_FAIL_SYNC names (fdatasync or fsync)
 * fails once with EIO, as the first flush after a failed write-back does, and succeeds after
 * that, as the kernel then has nothing more to report. The test checks the error is not lost. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int failed;

static int fail_once(const char *name)
{
	const char *which = getenv("PVKIT_FAIL_SYNC");

	if (!which || strcmp(which, name) || atomic_exchange(&failed, 1))
		return 0;
	errno = EIO;
	return -1;
}

int fdatasync(int fd)
{
	(void)fd;
	return fail_once("fdatasync");
}

int fsync(int fd)
{
	(void)fd;
	return fail_once("fsync");
}
