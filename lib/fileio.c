// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/fileio.h"

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len, struct pvk_err *e)
{
	uint8_t *buf = NULL;
	size_t used = 0, cap = 0;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", path, strerror(errno));
	for (;;) {
		ssize_t n;

		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nbuf;

			if (cap > max + 1)
				break;
			nbuf = malloc(ncap + 1);
			if (!nbuf) {
				buf_free_secret(buf, cap);
				close(fd);
				return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
			}
			if (buf)
				memcpy(nbuf, buf, used);
			buf_free_secret(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			buf_free_secret(buf, cap);
			close(fd);
			return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", path, strerror(err));
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			buf_free_secret(buf, cap);
			close(fd);
			return pvk_fail(e, PVK_E_FORMAT, "%s: file too large (more than %zu bytes)",
					path, max);
		}
	}
	close(fd);
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	}
	buf[used] = 0;
	*out = buf;
	*len = used;
	return 0;
}

int file_read_exact(const char *path, uint8_t *out, size_t len, const char *what,
		    struct pvk_err *e)
{
	uint8_t *buf;
	size_t n;

	if (file_read_all(path, len, &buf, &n, e)) {
		if (e->code == PVK_E_FORMAT)
			return pvk_fail(e, PVK_E_FORMAT, "%s: %s must be exactly %zu bytes, file is larger",
					path, what, len);
		return -1;
	}
	if (n != len) {
		buf_free_secret(buf, n);
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s must be exactly %zu bytes, file has %zu",
				path, what, len, n);
	}
	memcpy(out, buf, len);
	buf_free_secret(buf, n);
	return 0;
}

int fd_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

void buf_free_secret(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

int outfile_open(struct outfile *of, const char *path, int flags, struct pvk_err *e)
{
	struct stat st;
	size_t n = strlen(path);

	memset(of, 0, sizeof(*of));
	of->fd = -1;
	if (!(flags & OUTFILE_OVERWRITE) && lstat(path, &st) == 0)
		return pvk_fail(e, PVK_E_IO, "%s: output file exists (use --overwrite to replace it)",
				path);
	of->path = strdup(path);
	of->tmp = malloc(n + 8);
	if (!of->path || !of->tmp) {
		outfile_abort(of);
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	}
	memcpy(of->tmp, path, n);
	memcpy(of->tmp + n, ".XXXXXX", 8);
	of->fd = mkostemp(of->tmp, O_CLOEXEC);
	if (of->fd < 0) {
		int err = errno;

		free(of->tmp);
		of->tmp = NULL;
		outfile_abort(of);
		return pvk_fail(e, PVK_E_IO, "%s: cannot create output file: %s", path,
				strerror(err));
	}
	if (!(flags & OUTFILE_SECRET)) {
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(of->fd, 0666 & ~mask)) {
			int err = errno;

			outfile_abort(of);
			return pvk_fail(e, PVK_E_IO, "%s: cannot set mode: %s", path, strerror(err));
		}
	}
	return 0;
}

int outfile_write(struct outfile *of, const void *buf, size_t len, struct pvk_err *e)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(of->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int outfile_pwrite(struct outfile *of, const void *buf, size_t len, uint64_t off,
		   struct pvk_err *e)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(of->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int outfile_commit(struct outfile *of, struct pvk_err *e)
{
	int rc = 0;

	if (of->fp) {
		if (fflush(of->fp))
			rc = pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
	}
	if (!rc && fsync(of->fd) && errno != EINVAL)
		rc = pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
	if (of->fp)
		fclose(of->fp);
	else
		close(of->fd);
	of->fp = NULL;
	of->fd = -1;
	if (!rc && rename(of->tmp, of->path))
		rc = pvk_fail(e, PVK_E_IO, "%s: cannot rename output file into place: %s", of->path,
			      strerror(errno));
	if (!rc) {
		free(of->tmp);
		of->tmp = NULL;
	}
	outfile_abort(of);
	return rc;
}

void outfile_abort(struct outfile *of)
{
	if (of->fp)
		fclose(of->fp);
	else if (of->fd >= 0)
		close(of->fd);
	of->fp = NULL;
	of->fd = -1;
	if (of->tmp) {
		unlink(of->tmp);
		free(of->tmp);
	}
	of->tmp = NULL;
	free(of->path);
	of->path = NULL;
}

int file_write_all(const char *path, const void *buf, size_t len, int flags, struct pvk_err *e)
{
	struct outfile of;

	if (outfile_open(&of, path, flags, e))
		return -1;
	if (outfile_write(&of, buf, len, e)) {
		outfile_abort(&of);
		return -1;
	}
	return outfile_commit(&of, e);
}
