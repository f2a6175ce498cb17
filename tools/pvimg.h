/* SPDX-License-Identifier: MIT */
/* What the two files of pvimg share: the option codes and create. */
#ifndef PVKIT_TOOLS_PVIMG_H
#define PVKIT_TOOLS_PVIMG_H

enum {
	OPT_NO_COMP_CHECK = 0x5000, OPT_OVERWRITE, OPT_CCK, OPT_HDR_KEY, OPT_IMAGE_KEY,
	OPT_EN_DUMP, OPT_DIS_DUMP, OPT_EN_CCKEXT, OPT_DIS_CCKEXT, OPT_EN_CCKUPD, OPT_DIS_CCKUPD,
	OPT_EN_PCKMO, OPT_DIS_PCKMO, OPT_EN_PCKMO_HMAC, OPT_DIS_PCKMO_HMAC, OPT_EN_BACKUP,
	OPT_DIS_BACKUP, OPT_EN_ENC, OPT_DIS_ENC, OPT_X_BOOTDIR, OPT_X_PSW, OPT_X_PCF, OPT_X_SCF,
	OPT_X_CUST, OPT_X_IV, OPT_X_TWEAK, OPT_VERSION, OPT_HELP_ALL, OPT_HELP_EXP, OPT_FORMAT,
	OPT_SHOW_SECRETS, OPT_KEY_HASHES, OPT_PRINT_SCHEMA,
};

/* The --enable-X/--disable-X options: which switch, which value. */

/* pvimg create; legacy: as genprotimg (pvimg-create.c). */
int pvimg_create(int argc, char **argv, int legacy);

#endif
