/* SPDX-License-Identifier: MIT */
/* Errors travel up as values: a code and one message naming the file and the field. */
#ifndef PVKIT_ERR_H
#define PVKIT_ERR_H

#include <stdarg.h>
#include <stdint.h>

#define PVK_ERR_MSG_MAX 1024

/* Error classes; tools map them onto exit codes (see exitcode.h). */
enum pvk_errc {
	PVK_OK = 0,
	PVK_E_IO,        /* open/read/write/rename failed */
	PVK_E_FORMAT,    /* input malformed: truncated, oversized, wrong magic/version */
	PVK_E_CRYPTO,    /* an OpenSSL operation failed */
	PVK_E_AUTH,      /* a tag, signature or digest did not verify */
	PVK_E_VERIFY,    /* certificate / host-key verification failed */
	PVK_E_USAGE,     /* invalid argument combination */
	PVK_E_NOMEM,
	PVK_E_UV,        /* the ultravisor refused: see uv_rc/uv_rrc */
	PVK_E_MISMATCH,  /* a check ran and gave "no" (pvimg test, attestation verify) */
};

struct pvk_err {
	enum pvk_errc code;
	uint16_t uv_rc;  /* ultravisor return / reason code when code == PVK_E_UV */
	uint16_t uv_rrc;
	int sys_errno;   /* the errno of a refused device call (PVK_E_IO from uvdev), else 0 */
	char msg[PVK_ERR_MSG_MAX];
};

/* Record an error and return -1, so callers can write `return pvk_fail(e, ...)`. */
int pvk_fail(struct pvk_err *e, enum pvk_errc code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pvk_vfail(struct pvk_err *e, enum pvk_errc code, const char *fmt, va_list ap);
/* Like pvk_fail, appending the first queued OpenSSL error reason. */
int pvk_fail_ssl(struct pvk_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like pvk_fail with PVK_E_UV, carrying the UV's rc/rrc. */
int pvk_fail_uv(struct pvk_err *e, uint16_t rc, uint16_t rrc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Prefix an existing message with context ("<ctx>: <old message>"). */
int pvk_wrap(struct pvk_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pvk_err_clear(struct pvk_err *e);

#endif
