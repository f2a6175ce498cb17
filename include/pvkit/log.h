/* SPDX-License-Identifier: MIT */
/* Where the library's notes go: a caller's sink, called with one finished line (no newline).
 * The library never prints; a NULL sink drops the notes. */
#ifndef PVKIT_LOG_H
#define PVKIT_LOG_H

enum pvk_log_level {
	PVK_LOG_WARN,   /* something the user should know even when it goes on */
	PVK_LOG_NOTE,   /* what IBM's tools print at their default level (progress, results) */
	PVK_LOG_INFO,   /* detail shown with --verbose */
};

struct pvk_log {
	void (*fn)(void *ctx, enum pvk_log_level level, const char *msg);
	void *ctx;
};

/* Format a note and hand it to log (nothing when log or log->fn is NULL). */
void pvk_log(const struct pvk_log *log, enum pvk_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
