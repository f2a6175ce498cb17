/* SPDX-License-Identifier: MIT */
/* What uvsim.c and boot.c, the two files of the uvsim command, share. */
#ifndef PVKIT_UVSIM_CMD_H
#define PVKIT_UVSIM_CMD_H

extern const char uvsim_help[];
/* The state directory of this run. */
extern const char *state;
/* The marker of the boot in progress (see claim_guest_dir in boot.c): closed in the endpoint
 * process, so that only the boot itself holds its lock. */
extern int booting_fd;

/* A guest directory appears with a ".booting" marker that its boot holds an flock on, and
 * loses the marker when the boot is complete. A marker nobody holds, or a directory with
 * neither marker nor guest.json (only seen under the state lock), is a boot that died. */
#define BOOTING_MARK ".booting"

enum guest_state { GUEST_NONE, GUEST_BOOTING, GUEST_STALE, GUEST_PRESENT };
enum guest_state guest_state(const char *id);
/* End the guest's endpoint (if it runs) and remove its directory. */
void remove_guest(const char *id);
void remove_guest_dir(const char *dir);
/* The process pid runs (and is a uvsim endpoint). */
int alive(long pid);

int cmd_boot(int argc, char **argv);

#endif
