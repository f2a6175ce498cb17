/* SPDX-License-Identifier: MIT */
/* What the two files of pvsecret share: the option codes and the trusted-side commands. */
#ifndef PVKIT_TOOLS_PVSECRET_H
#define PVKIT_TOOLS_PVSECRET_H

enum {
	OPT_HDR = 0x7000, OPT_EXT_SECRET, OPT_CCK, OPT_CUID_HEX, OPT_CUID, OPT_PCF, OPT_FLAGS,
	OPT_USER_DATA, OPT_POLICY, OPT_TOC, OPT_SIGN_KEY, OPT_USE_NAME, OPT_STDOUT,
	OPT_INPUT_SECRET, OPT_OUTPUT_SECRET, OPT_SECRET, OPT_TYPE, OPT_USER_CERT, OPT_FORMAT,
	OPT_INFORM, OPT_OUTFORM,
};

/* pvsecret create and verify (pvsecret-create.c). */
int pvsecret_create(int argc, char **argv);
int pvsecret_verify(int argc, char **argv);

#endif
