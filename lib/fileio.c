// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pvkit/fileio.h"

static int open_stage(const char *path, struct pvk_err *e);

int pvk_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len, struct pvk_err *e)
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
				pvk_buf_free_secret(buf, cap);
				close(fd);
				return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
			}
			if (buf)
				memcpy(nbuf, buf, used);
			pvk_buf_free_secret(buf, cap);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			pvk_buf_free_secret(buf, cap);
			close(fd);
			return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", path, strerror(err));
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			pvk_buf_free_secret(buf, cap);
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

int pvk_file_read_exact(const char *path, uint8_t *out, size_t len, const char *what,
		    struct pvk_err *e)
{
	uint8_t *buf;
	size_t n;

	if (pvk_file_read_all(path, len, &buf, &n, e)) {
		if (e->code == PVK_E_FORMAT)
			return pvk_fail(e, PVK_E_FORMAT, "%s: %s must be exactly %zu bytes, file is larger",
					path, what, len);
		return -1;
	}
	if (n != len) {
		pvk_buf_free_secret(buf, n);
		return pvk_fail(e, PVK_E_FORMAT, "%s: %s must be exactly %zu bytes, file has %zu",
				path, what, len, n);
	}
	memcpy(out, buf, len);
	pvk_buf_free_secret(buf, n);
	return 0;
}

int pvk_fd_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pvk_fd_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pvk_fd_pread_full(int fd, void *buf, size_t len, uint64_t off)
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

int pvk_infile_open(struct infile *in, const char *path, struct pvk_err *e)
{
	struct stat st;

	memset(in, 0, sizeof(*in));
	in->path = path;
	in->spool = -1;
	in->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(in->fd, &st)) {
		int err = errno;

		pvk_infile_close(in);
		return pvk_fail(e, PVK_E_IO, "%s: cannot read: %s", path, strerror(err));
	}
	if (S_ISDIR(st.st_mode)) {
		pvk_infile_close(in);
		return pvk_fail(e, PVK_E_IO, "%s: cannot read: is a directory", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		in->spool = open_stage(path, e);
		if (in->spool < 0) {
			pvk_infile_close(in);
			return -1;
		}
	}
	return 0;
}

/* Spool the stream up to end (or its end). */
static int spool_to(struct infile *in, uint64_t end)
{
	uint8_t buf[65536];

	while (in->have < end && !in->eof) {
		ssize_t n = read(in->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			in->eof = 1;
			break;
		}
		if (pwrite(in->spool, buf, (size_t)n, (off_t)in->have) != n)
			return -1;
		in->have += (uint64_t)n;
	}
	return 0;
}

int pvk_infile_pread(struct infile *in, void *buf, size_t len, uint64_t off)
{
	if (in->spool < 0)
		return pvk_fd_pread_full(in->fd, buf, len, off);
	if (off + len < off || spool_to(in, off + len) || in->have < off + len)
		return -1;
	return pvk_fd_pread_full(in->spool, buf, len, off);
}

int pvk_infile_pread_upto(struct infile *in, void *buf, size_t len, uint64_t off, size_t *got)
{
	int fd = in->fd;

	*got = 0;
	if (in->spool >= 0) {
		if (off + len < off || spool_to(in, off + len))
			return -1;
		if (in->have <= off)
			return 0;
		if (in->have < off + len)
			len = (size_t)(in->have - off);
		fd = in->spool;
	}
	while (*got < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + *got, len - *got, (off_t)(off + *got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

void pvk_infile_close(struct infile *in)
{
	if (in->fd >= 0)
		close(in->fd);
	if (in->spool >= 0)
		close(in->spool);
	in->fd = in->spool = -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int pvk_path_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

void pvk_buf_free_secret(void *p, size_t len)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* ---- outputs ----
 *
 * Every output is written to a temp file beside it, "<path>.pvkit-tmp-XXXXXX", and renamed
 * into place on commit; the outputs of one command are committed together. The writer holds
 * an flock on its temp file for its whole life, so a later run recognises the temp file of a
 * dead (SIGKILLed) writer as one it can take the lock of, and removes it. Catchable signals
 * remove the live temp files (pvk_outfile_trap_signals). An output that is a device or FIFO is
 * never replaced: it is staged in an unnamed temp file and copied into the device on commit,
 * as cp does. */

#define TMP_TAG ".pvkit-tmp-"
#define OLD_TAG ".pvkit-old-"
#define MAX_LIVE 32

/* The temp files to remove on a signal. A slot's path is written while its state is 1 and
 * read by the handler only in state 2, so the handler never sees a half-written path. */
static struct {
	volatile sig_atomic_t state;  /* 0 free, 1 being written, 2 live */
	char path[PATH_MAX];
} live[MAX_LIVE];

static int live_add(const char *path)
{
	size_t n = strlen(path);

	if (n >= PATH_MAX)
		return -1;
	for (int i = 0; i < MAX_LIVE; i++) {
		if (__sync_bool_compare_and_swap(&live[i].state, 0, 1)) {
			memcpy(live[i].path, path, n + 1);
			__sync_synchronize();
			live[i].state = 2;
			return i;
		}
	}
	return -1;  /* more live outputs than slots: still correct, only not signal-cleaned */
}

static void live_remove(int slot)
{
	if (slot >= 0 && slot < MAX_LIVE)
		live[slot].state = 0;
}

static void on_fatal_signal(int sig)
{
	int saved = errno;

	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i].state == 2)
			unlink(live[i].path);
	errno = saved;
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int trapped[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Hold off the trapped signals (while a temp file exists but is not registered yet, or while
 * outputs are renamed); restore with hold_signals_end. */
static void hold_signals(sigset_t *saved)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
		sigaddset(&set, trapped[i]);
	pthread_sigmask(SIG_BLOCK, &set, saved);
}

static void hold_signals_end(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void pvk_outfile_trap_signals(void)
{
	for (size_t i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++) {
		struct sigaction old, sa;

		/* Leave ignored signals (nohup) and a program's own handlers alone. */
		if (sigaction(trapped[i], NULL, &old) || old.sa_handler != SIG_DFL)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(trapped[i], &sa, NULL);
	}
}

int pvk_outfile_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t saved;
	int rc;

	/* The new thread inherits the mask: the trapped signals always reach the thread that
	 * registers and renames outputs, whose held windows then hold for the process. */
	hold_signals(&saved);
	rc = pthread_create(t, NULL, fn, arg);
	hold_signals_end(&saved);
	return rc;
}

/* Split path into its directory (malloc'd, "." for none) and its base name. */
static char *dir_of(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*base = path;
		return strdup(".");
	}
	*base = slash + 1;
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Remove "<base>.pvkit-tmp-XXXXXX" files whose writer is gone: a live writer holds the lock. */
static void remove_stale_temps(const char *path)
{
	const char *base;
	char *dir = dir_of(path, &base);
	size_t blen = strlen(base), tlen = strlen(TMP_TAG);
	struct dirent *d;
	DIR *dp;
	int dfd;

	if (!dir)
		return;
	dp = opendir(dir);
	free(dir);
	if (!dp)
		return;
	dfd = dirfd(dp);
	while ((d = readdir(dp))) {
		struct stat st;
		int fd;

		if (strlen(d->d_name) != blen + tlen + 6 || strncmp(d->d_name, base, blen) ||
		    strncmp(d->d_name + blen, TMP_TAG, tlen))
			continue;
		fd = openat(dfd, d->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    !flock(fd, LOCK_EX | LOCK_NB))
			unlinkat(dfd, d->d_name, 0);
		close(fd);
	}
	closedir(dp);
}

/* A temp file for a device or FIFO output: unnamed from the start, so nothing is ever left. */
static int open_stage(const char *path, struct pvk_err *e)
{
	const char *tmpdir = getenv("TMPDIR");
	char *name;
	int fd;

	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (asprintf(&name, "%s/pvkit-stage.XXXXXX", tmpdir) < 0)
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	fd = mkostemp(name, O_CLOEXEC);
	if (fd >= 0)
		unlink(name);
	free(name);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot create a staging file in %s: %s", path,
				tmpdir, strerror(errno));
	return fd;
}

int pvk_outfile_open(struct outfile *of, const char *path, int flags, struct pvk_err *e)
{
	sigset_t held;
	struct stat st;
	size_t n = strlen(path);
	int exists;

	memset(of, 0, sizeof(*of));
	of->fd = -1;
	of->slot = -1;
	of->flags = flags;
	exists = stat(path, &st) == 0;
	if (!exists && lstat(path, &st) == 0)
		exists = 1;  /* a dangling symlink: rename would replace it */
	if (exists && !(flags & OUTFILE_OVERWRITE))
		return pvk_fail(e, PVK_E_IO, "%s: output file exists (use --overwrite to replace it)",
				path);
	if (exists && S_ISDIR(st.st_mode))
		return pvk_fail(e, PVK_E_IO, "%s: cannot write output: is a directory", path);
	if (exists && S_ISSOCK(st.st_mode))
		return pvk_fail(e, PVK_E_IO, "%s: cannot write output: is a socket", path);
	of->path = strdup(path);
	if (!of->path)
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	if (exists && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))) {
		of->device = 1;
		of->fd = open_stage(path, e);
		if (of->fd < 0) {
			pvk_outfile_abort(of);
			return -1;
		}
		return 0;
	}
	remove_stale_temps(path);
	of->tmp = malloc(n + sizeof(TMP_TAG) + 6);
	if (!of->tmp) {
		pvk_outfile_abort(of);
		return pvk_fail(e, PVK_E_NOMEM, "%s: out of memory", path);
	}
	memcpy(of->tmp, path, n);
	memcpy(of->tmp + n, TMP_TAG "XXXXXX", sizeof(TMP_TAG) + 6);
	/* A signal between creating the temp file and registering it would leave it behind. */
	hold_signals(&held);
	of->fd = mkostemp(of->tmp, O_CLOEXEC);
	if (of->fd < 0) {
		int err = errno;

		hold_signals_end(&held);
		free(of->tmp);
		of->tmp = NULL;
		pvk_outfile_abort(of);
		return pvk_fail(e, PVK_E_IO, "%s: cannot create output file: %s", path,
				strerror(err));
	}
	/* Held until the file is renamed or removed: it tells later runs this writer lives. */
	flock(of->fd, LOCK_EX | LOCK_NB);
	of->slot = live_add(of->tmp);
	hold_signals_end(&held);
	if (!(flags & OUTFILE_SECRET)) {
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(of->fd, 0666 & ~mask)) {
			int err = errno;

			pvk_outfile_abort(of);
			return pvk_fail(e, PVK_E_IO, "%s: cannot set mode: %s", path, strerror(err));
		}
	}
	return 0;
}

int pvk_outfile_write(struct outfile *of, const void *buf, size_t len, struct pvk_err *e)
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

int pvk_outfile_pwrite(struct outfile *of, const void *buf, size_t len, uint64_t off,
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

/* Flush and fsync one staged output (the first phase of a commit). */
static int outfile_sync(struct outfile *of, struct pvk_err *e)
{
	if (of->fp && fflush(of->fp))
		return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
	if (fsync(of->fd) && errno != EINVAL)
		return pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
	return 0;
}

/* Copy a staged output into its device or FIFO, as cp would. */
static int copy_to_device(struct outfile *of, struct pvk_err *e)
{
	uint8_t buf[65536];
	uint64_t off = 0;
	int out, rc = 0;

	out = open(of->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (out < 0)
		return pvk_fail(e, PVK_E_IO, "%s: cannot open: %s", of->path, strerror(errno));
	for (;;) {
		ssize_t n = pread(of->fd, buf, sizeof(buf), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pvk_fail(e, PVK_E_IO, "%s: cannot read back the staged output: %s",
				      of->path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (pvk_fd_write_full(out, buf, (size_t)n)) {
			rc = pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
			break;
		}
		off += (uint64_t)n;
	}
	if (close(out) && !rc)
		rc = pvk_fail(e, PVK_E_IO, "%s: cannot write: %s", of->path, strerror(errno));
	return rc;
}

/* Rename of->tmp to of->path; without OUTFILE_OVERWRITE a file that appeared at the path
 * meanwhile is never replaced. */
static int place(struct outfile *of, struct pvk_err *e)
{
	if (of->flags & OUTFILE_OVERWRITE) {
		if (!rename(of->tmp, of->path))
			return 0;
	} else {
		if (!renameat2(AT_FDCWD, of->tmp, AT_FDCWD, of->path, RENAME_NOREPLACE))
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE on this file system: link() does not replace either. */
			if (!link(of->tmp, of->path)) {
				unlink(of->tmp);
				return 0;
			}
		}
		if (errno == EEXIST)
			return pvk_fail(e, PVK_E_IO,
					"%s: output file exists (created while this command ran; "
					"use --overwrite to replace it)", of->path);
	}
	return pvk_fail(e, PVK_E_IO, "%s: cannot rename output file into place: %s", of->path,
			strerror(errno));
}

/* Keep what a commit replaces, as a hard link "<path>.pvkit-old-XXXXXX", until the whole
 * commit succeeded: a failure puts it back. NULL when nothing is there (or no hard links). */
static char *keep_old(const char *path)
{
	size_t n = strlen(path);
	char *old;
	int fd;

	if (access(path, F_OK))
		return NULL;
	old = malloc(n + sizeof(OLD_TAG) + 6);
	if (!old)
		return NULL;
	memcpy(old, path, n);
	memcpy(old + n, OLD_TAG "XXXXXX", sizeof(OLD_TAG) + 6);
	/* Reserve a unique name, then replace it with the link. */
	fd = mkostemp(old, O_CLOEXEC);
	if (fd < 0) {
		free(old);
		return NULL;
	}
	close(fd);
	unlink(old);
	if (link(path, old)) {
		free(old);
		return NULL;
	}
	return old;
}

static void sync_dir_of(const char *path)
{
	const char *base;
	char *dir = dir_of(path, &base);
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int pvk_outfiles_commit(struct outfile *const *ofs, size_t n, struct pvk_err *e)
{
	char *old[OUTFILES_MAX] = { 0 };
	int placed[OUTFILES_MAX] = { 0 };
	sigset_t saved;
	int rc = 0;
	size_t i;

	if (n > OUTFILES_MAX) {
		rc = pvk_fail(e, PVK_E_USAGE, "too many outputs in one commit (%zu)", n);
		goto out;
	}
	for (i = 0; i < n && !rc; i++)
		rc = outfile_sync(ofs[i], e);
	if (rc)
		goto out;
	/* From here on a trapped signal waits until every output is in place or none is. */
	hold_signals(&saved);
	for (i = 0; i < n && !rc; i++) {
		struct outfile *of = ofs[i];

		if (of->device)
			continue;
		if (of->flags & OUTFILE_OVERWRITE)
			old[i] = keep_old(of->path);
		rc = place(of, e);
		if (!rc) {
			placed[i] = 1;
			live_remove(of->slot);
			of->slot = -1;
			free(of->tmp);
			of->tmp = NULL;
		}
	}
	/* Devices last: what went into a device cannot be taken back. */
	for (i = 0; i < n && !rc; i++)
		if (ofs[i]->device)
			rc = copy_to_device(ofs[i], e);
	for (i = 0; i < n; i++) {
		if (rc && placed[i]) {
			/* Undo: what was there before comes back; what was not is removed. */
			if (old[i])
				rename(old[i], ofs[i]->path);
			else
				unlink(ofs[i]->path);
		} else if (old[i]) {
			unlink(old[i]);
		}
		free(old[i]);
	}
	for (i = 0; i < n && !rc; i++)
		if (!ofs[i]->device)
			sync_dir_of(ofs[i]->path);
	hold_signals_end(&saved);
out:
	for (i = 0; i < n; i++)
		pvk_outfile_abort(ofs[i]);
	return rc;
}

int pvk_outfile_commit(struct outfile *of, struct pvk_err *e)
{
	return pvk_outfiles_commit(&of, 1, e);
}

void pvk_outfile_abort(struct outfile *of)
{
	if (!of->path)
		return;  /* never opened (zeroed), or already closed */
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
	live_remove(of->slot);
	of->slot = -1;
	of->tmp = NULL;
	free(of->path);
	of->path = NULL;
}

int pvk_file_write_all(const char *path, const void *buf, size_t len, int flags, struct pvk_err *e)
{
	struct outfile of;

	if (pvk_outfile_open(&of, path, flags, e))
		return -1;
	if (pvk_outfile_write(&of, buf, len, e)) {
		pvk_outfile_abort(&of);
		return -1;
	}
	return pvk_outfile_commit(&of, e);
}

int pvk_file_write_arg(const char *path, const void *buf, size_t len, int flags,
		       struct pvk_err *e)
{
	if (strcmp(path, "-"))
		return pvk_file_write_all(path, buf, len, flags, e);
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
		return pvk_fail(e, PVK_E_IO, "cannot write to standard output");
	return 0;
}

int pvk_file_read_arg(const char *path, size_t max, uint8_t **out, size_t *len, struct pvk_err *e)
{
	return pvk_file_read_all(strcmp(path, "-") ? path : "/dev/stdin", max, out, len, e);
}

/* The one PID lock of this process, removed on exit paths and catchable signals. */
static char pidlock_path[4096];
static volatile sig_atomic_t pidlock_held;

static void pidlock_on_signal(int sig)
{
	if (pidlock_held)
		unlink(pidlock_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Why path exists: its owner runs, died, or wrote no PID. */
static int pidlock_busy(const char *path, const char *who, struct pvk_err *e)
{
	char buf[64], *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	long pid;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = 0;
		pid = strtol(buf, &end, 10);
		if (pid > 0 && (*end == 0 || *end == '\n')) {
			if (!kill((pid_t)pid, 0) || errno == EPERM)
				return pvk_fail(e, PVK_E_IO,
						"another %s (PID %ld) is running: lock file %s exists.",
						who, pid, path);
			return pvk_fail(e, PVK_E_IO,
					"lock file %s exists, but its PID %ld is not running: a leftover "
					"of a %s that ended abnormally. Remove the file if no %s runs.",
					path, pid, who, who);
		}
	}
	return pvk_fail(e, PVK_E_IO,
			"lock file %s exists (without a PID): another %s may be running; remove the "
			"file if none is.", path, who);
}

int pvk_pidlock_acquire(const char *path, const char *who, const struct pvk_log *log,
			struct pvk_err *e)
{
	struct sigaction sa = { .sa_handler = pidlock_on_signal };
	char pidtxt[32];
	ssize_t n;
	int fd;

	snprintf(pidlock_path, sizeof(pidlock_path), "%s", path);
	fd = open(pidlock_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return pidlock_busy(pidlock_path, who, e);
	if (fd < 0)
		return pvk_fail(e, PVK_E_IO, "cannot create the lock file %s: %s", pidlock_path,
				strerror(errno));
	pidlock_held = 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	n = snprintf(pidtxt, sizeof(pidtxt), "%ld\n", (long)getpid());
	if (write(fd, pidtxt, (size_t)n) != n)
		pvk_log(log, PVK_LOG_WARN, "could not write the PID into the lock file %s",
			pidlock_path);
	close(fd);
	return 0;
}

void pvk_pidlock_release(void)
{
	if (pidlock_held) {
		unlink(pidlock_path);
		pidlock_held = 0;
	}
}
