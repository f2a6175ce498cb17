/* SPDX-License-Identifier: MIT */
/* The one exit-code enum of every pvkit command; the man pages document it (EXIT STATUS). */
#ifndef PVKIT_EXITCODE_H
#define PVKIT_EXITCODE_H

enum pvk_exit {
	PVK_EXIT_OK = 0,       /* success; "pass" for pvimg test */
	PVK_EXIT_ERROR = 1,    /* any error; "fail" for pvimg test */
	PVK_EXIT_USAGE = 2,    /* bad command line (as clap does in s390-tools) */
	PVK_EXIT_MISMATCH = 2, /* pvattest verify/check: measurement or policy not met */
	PVK_EXIT_LOGGER = 3,   /* the logger could not be set up (kept for compatibility) */
};

#endif
