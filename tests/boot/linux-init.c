// SPDX-License-Identifier: MIT
/*
 * /init of the initramfs that qemu-linux.sh boots through stage3b: prints a
 * marker with the kernel command line it received, then powers off so that
 * QEMU exits. Built statically with the s390x cross compiler.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	char cmdline[1024] = "";
	ssize_t n = -1;
	int fd;

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	fd = open("/dev/console", O_WRONLY);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0)
		n = read(fd, cmdline, sizeof(cmdline) - 1);
	if (n > 0) {
		cmdline[n] = '\0';
		cmdline[strcspn(cmdline, "\n")] = '\0';
	}
	printf("PVKIT-INIT-OK cmdline=[%s]\n", cmdline);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
