// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "pvkit/err.h"
#include "pvkit/log.h"

int pvk_vfail(struct pvk_err *e, enum pvk_errc code, const char *fmt, va_list ap)
{
	if (!e)
		return -1;
	e->code = code;
	e->sys_errno = 0;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int pvk_fail(struct pvk_err *e, enum pvk_errc code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pvk_vfail(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

int pvk_fail_ssl(struct pvk_err *e, const char *fmt, ...)
{
	unsigned long ssl = ERR_peek_last_error();
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	pvk_vfail(e, PVK_E_CRYPTO, fmt, ap);
	va_end(ap);
	if (e && ssl) {
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, " (OpenSSL: %s)", ERR_reason_error_string(ssl) ?
			 ERR_reason_error_string(ssl) : "unknown reason");
	}
	ERR_clear_error();
	return -1;
}

int pvk_fail_uv(struct pvk_err *e, uint16_t rc, uint16_t rrc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	pvk_vfail(e, PVK_E_UV, fmt, ap);
	va_end(ap);
	if (e) {
		e->uv_rc = rc;
		e->uv_rrc = rrc;
		n = strlen(e->msg);
		snprintf(e->msg + n, sizeof(e->msg) - n, " (rc 0x%04x, rrc 0x%04x)", rc, rrc);
	}
	return -1;
}

int pvk_wrap(struct pvk_err *e, const char *fmt, ...)
{
	char old[PVK_ERR_MSG_MAX], pre[PVK_ERR_MSG_MAX];
	size_t n, len;
	va_list ap;

	if (!e)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	/* Truncation is acceptable: the message stays a readable prefix. */
	n = strlen(pre);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, pre, n);
	memcpy(e->msg + n, ": ", 2);
	n += 2;
	len = strlen(old);
	if (len > sizeof(e->msg) - 1 - n)
		len = sizeof(e->msg) - 1 - n;
	memcpy(e->msg + n, old, len);
	e->msg[n + len] = '\0';
	return -1;
}

void pvk_err_clear(struct pvk_err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

void pvk_log(const struct pvk_log *log, enum pvk_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log || !log->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->ctx, level, msg);
}
