/* SPDX-License-Identifier: MIT */
/* Private to lib/hostkey.c and lib/crl.c: format a note for the caller's log sink. */
#ifndef PVKIT_LIB_HKD_NOTE_H
#define PVKIT_LIB_HKD_NOTE_H

#include "pvkit/hostkey.h"

void pvk_hkd_note(pvk_hkd_log_fn log, void *ctx, enum pvk_hkd_log level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
