#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build the test guest's initramfs: a newc cpio with Debian's static s390x
# busybox (/bin/busybox and applet links), /dev, /proc and an /init that
# prints one line on the console and powers off, so that QEMU exits:
#
#   PVKIT-GUEST: marker=<value of MARKER-KEY=> cmdline=[<the kernel command line>]
#
# MARKER-KEY defaults to pvkit.marker (a parameter with a dot is not passed to
# /init as an argument or environment variable, only /proc/cmdline shows it).
# OUT ending in .gz is gzip-compressed. The archive is reproducible: sorted
# names, owner 0:0, every mtime 0, gzip without name or time stamp.
#
# Usage: scripts/make-initramfs.sh OUT [MARKER-KEY]
# Environment: PVKIT_BUSYBOX (default: busybox in scripts/fetch-guest.sh's
# cache, fetched when missing), PVKIT_GUEST_CACHE.
set -euo pipefail

die() {
	echo "make-initramfs.sh: $*" >&2
	exit 1
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	die "usage: make-initramfs.sh OUT [MARKER-KEY]"
fi
out=$1
key=${2:-pvkit.marker}
[[ $key =~ ^[A-Za-z0-9_.-]+$ ]] || die "invalid MARKER-KEY '$key'"
command -v cpio >/dev/null 2>&1 || die "cpio not found"

here=$(cd "$(dirname "$0")" && pwd)
busybox=${PVKIT_BUSYBOX:-}
if [ -z "$busybox" ]; then
	cache=$("$here/fetch-guest.sh" --print-dir) || die "no s390x busybox (scripts/fetch-guest.sh failed)"
	busybox=$cache/busybox
fi
[ -f "$busybox" ] || die "$busybox: no such file"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rd=$tmp/rd
mkdir -p "$rd/bin" "$rd/dev" "$rd/proc" "$rd/sys" "$rd/tmp"
cp "$busybox" "$rd/bin/busybox"
chmod 755 "$rd/bin/busybox"
for a in sh ash cat echo ls mkdir mount umount poweroff reboot halt sleep sync uname \
	dmesg grep sed tr cut head tail wc dd od hexdump stat test true false env printf; do
	ln -s busybox "$rd/bin/$a"
done
ln -s bin "$rd/sbin"

# The kernel starts /init with no open descriptors when the archive has no
# /dev/console (a device node needs root to create): mount devtmpfs first.
cat >"$rd/init" <<EOF
#!/bin/sh
# pvkit test guest: report the command line and power off.
export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys 2>/dev/null
cmdline=\$(cat /proc/cmdline)
marker=
for arg in \$cmdline; do
	case "\$arg" in
	$key=*) marker=\${arg#$key=} ;;
	esac
done
echo "PVKIT-GUEST: marker=\$marker cmdline=[\$cmdline]"
sync
poweroff -f
# Not reached unless poweroff failed: ask the kernel directly, never let init exit.
echo o >/proc/sysrq-trigger
while :; do sleep 60; done
EOF
chmod 755 "$rd/init"

# Fixed modes (whatever the umask), owner and time stamps; sorted names.
chmod 755 "$rd" "$rd/bin" "$rd/dev" "$rd/proc" "$rd/sys"
chmod 1777 "$rd/tmp"
find "$rd" -exec touch -h -d @0 {} +
repro=
cpio --help 2>/dev/null | grep -q -- --reproducible && repro=--reproducible
(cd "$rd" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 $repro --quiet) >"$tmp/initramfs.cpio"
case "$out" in
*.gz) gzip -n -9 <"$tmp/initramfs.cpio" >"$tmp/out" ;;
*) mv "$tmp/initramfs.cpio" "$tmp/out" ;;
esac
mv -f "$tmp/out" "$out"
