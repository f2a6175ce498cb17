/* SPDX-License-Identifier: MIT */
/* Reading inputs and writing outputs: every output goes to a temp file renamed on success. */
#ifndef PVKIT_FILEIO_H
#define PVKIT_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>

#include "pvkit/err.h"
#include "pvkit/log.h"

/* Read a whole file of at most max bytes into a fresh buffer (NUL-terminated for convenience). */
int pvk_file_read_all(const char *path, size_t max, uint8_t **out, size_t *len, struct pvk_err *e);
/* pvk_file_read_all for a command-line input: "-" is standard input. */
int pvk_file_read_arg(const char *path, size_t max, uint8_t **out, size_t *len, struct pvk_err *e);
/* Read a file that must be exactly len bytes (keys, IVs); out is caller-owned. */
int pvk_file_read_exact(const char *path, uint8_t *out, size_t len, const char *what,
		    struct pvk_err *e);
/* read/write exactly len bytes (retrying on EINTR and short transfers); -1 on error or EOF. */
int pvk_fd_read_full(int fd, void *buf, size_t len);
int pvk_fd_write_full(int fd, const void *buf, size_t len);
/* pread exactly len bytes at off; -1 on error or end of file. */
int pvk_fd_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* An input read by offset. A pipe, FIFO or device is read once, in order, and what was read
 * is kept in an unnamed temp file so that a reader can go back: each input is read once
 * whatever the reader's order, and only as far as the reader needs. */
struct infile {
	const char *path;
	int fd;
	int spool;      /* the unnamed temp file, or -1 for a seekable input */
	uint64_t have;  /* bytes spooled so far */
	int eof;
};
int pvk_infile_open(struct infile *in, const char *path, struct pvk_err *e);
/* Exactly len bytes at off: 0; -1 at end of input or on a read error. */
int pvk_infile_pread(struct infile *in, void *buf, size_t len, uint64_t off);
/* Up to len bytes at off, fewer at the end of the input (*got says how many); -1 on a read
 * error. */
int pvk_infile_pread_upto(struct infile *in, void *buf, size_t len, uint64_t off, size_t *got);
void pvk_infile_close(struct infile *in);

/* Remove a file or a directory tree (not following symlinks); 0 also when nothing is there. */
int pvk_path_remove_tree(const char *path);

/* Free a buffer after wiping it (for anything that held key material). */
void pvk_buf_free_secret(void *p, size_t len);

/* An output written to "<path>.pvkit-tmp-XXXXXX" and renamed over <path> only on commit.
 * The outputs of one command are committed together (pvk_outfiles_commit): all of them are in
 * place afterwards, or none is and whatever was there before is still there. An existing
 * device or FIFO at <path> is never replaced: the output is staged in an unnamed temp file
 * and copied into it on commit. */
struct outfile {
	char *path;
	char *tmp;  /* NULL for a device output, and once committed or aborted */
	int fd;
	FILE *fp;   /* lazily opened stdio stream over fd */
	int flags;
	int device; /* <path> is a device or FIFO */
	int slot;   /* in the signal-cleanup table, or -1 */
};

enum outfile_flags {
	OUTFILE_OVERWRITE = 1, /* replace an existing file (else refuse, also at commit time) */
	OUTFILE_SECRET = 2,    /* mode 0600 (keys, secrets); else 0644 & ~umask */
};

#define OUTFILES_MAX 8

/* Start an output. Removes stale temp files of <path> left by writers that died. */
int pvk_outfile_open(struct outfile *of, const char *path, int flags, struct pvk_err *e);
int pvk_outfile_write(struct outfile *of, const void *buf, size_t len, struct pvk_err *e);
int pvk_outfile_pwrite(struct outfile *of, const void *buf, size_t len, uint64_t off,
		   struct pvk_err *e);
/* fsync all, then rename all into place (catchable signals held off meanwhile); on any
 * failure undo the renames already done. Afterwards every outfile is closed, either way. */
int pvk_outfiles_commit(struct outfile *const *ofs, size_t n, struct pvk_err *e);
int pvk_outfile_commit(struct outfile *of, struct pvk_err *e);
/* Remove the temp file; safe to call after commit, twice, or on a zeroed outfile
 * whose fd is -1. */
void pvk_outfile_abort(struct outfile *of);
/* Remove the live temp files on SIGINT, SIGTERM, SIGHUP and SIGQUIT, then die of the signal
 * as before. Only signals still at their default action are trapped. Commands call it once. */
void pvk_outfile_trap_signals(void);
/* pthread_create for a helper thread of a command that writes outputs: the thread never takes
 * the trapped signals, so the windows in which pvk_outfile_open and pvk_outfiles_commit hold them off
 * are closed for the whole process. */
int pvk_outfile_thread_create(pthread_t *t, void *(*fn)(void *), void *arg);

/* Write a whole small buffer to path via outfile (temp + rename). */
int pvk_file_write_all(const char *path, const void *buf, size_t len, int flags, struct pvk_err *e);
/* A lock file holding this process's PID, made exclusively: a second holder is refused with
 * who's message (whether the holder runs, died, or left no PID). One per process; it is
 * removed by pvk_pidlock_release and on SIGINT, SIGTERM and SIGHUP. */
int pvk_pidlock_acquire(const char *path, const char *who, const struct pvk_log *log,
			struct pvk_err *e);
void pvk_pidlock_release(void);

/* pvk_file_write_all, or standard output (flushed) when path is "-". */
int pvk_file_write_arg(const char *path, const void *buf, size_t len, int flags,
		       struct pvk_err *e);

#endif
