/* SPDX-License-Identifier: MIT */
/* What chzcrypt and lszcrypt share: their messages in the form of s390-tools' zcrypt tools
 * ("<prog>: <message>", no "error:"), and exit status EXIT_FAILURE. */
#ifndef PVKIT_TOOLS_ZCRYPT_H
#define PVKIT_TOOLS_ZCRYPT_H

/* Print "<prog>: <message>" to stderr; returns EXIT_FAILURE. */
int zcrypt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "Try '<prog> --help' for more information." to stderr; returns EXIT_FAILURE. */
int zcrypt_try_help(void);

#endif
