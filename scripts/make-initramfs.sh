#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build the test guest's initramfs: a newc cpio with Debian's static s390x
# busybox (/bin/busybox and applet links), /dev, /proc and an /init that
# prints one line on the console, runs the job if there is one, and powers
# off, so that QEMU exits:
#
#   PVKIT-GUEST: marker=<value of MARKER-KEY=> cmdline=[<the kernel command line>]
#
# MARKER-KEY defaults to pvkit.marker (a parameter with a dot is not passed to
# /init as an argument or environment variable, only /proc/cmdline shows it).
# OUT ending in .gz is gzip-compressed. The archive is reproducible: sorted
# names, owner 0:0, every mtime 0, gzip without name or time stamp.
#
# With --tools DIR the guest is a uvsim QEMU guest that reaches its UV: DIR is
# a root tree of s390x programs and their libraries (scripts/build-guest-tools.sh
# makes one) copied into the archive, and the kernel modules of
# scripts/fetch-guest.sh's cache (modules/order) are loaded first. /init then
# mounts the 9p shares uvsim boot --qemu offers (pvkit.sys on /run/pvkit/sys,
# pvkit.share on /run/pvkit/share), waits for the port org.pvkit.uv, exports
#
#   PVKIT_UV_DEVICE=vport:org.pvkit.uv  PVKIT_SYSFS_ROOT=/run/pvkit/sys
#
# and prints "PVKIT-GUEST: ready". --job FILE becomes /etc/pvkit/job, run as
# a shell script after that; its output goes to the console, followed by
# "PVKIT-GUEST: job exit N". The job is part of the image (measured with it).
#
# Usage: scripts/make-initramfs.sh [--tools DIR] [--job FILE] OUT [MARKER-KEY]
# Environment: PVKIT_BUSYBOX (default: busybox in scripts/fetch-guest.sh's
# cache, fetched when missing), PVKIT_GUEST_CACHE.
set -euo pipefail

die() {
	echo "make-initramfs.sh: $*" >&2
	exit 1
}
tools=
job=
while [ $# -gt 0 ]; do
	case "$1" in
	--tools) [ $# -ge 2 ] || die "--tools needs a directory"; tools=$2; shift 2 ;;
	--job) [ $# -ge 2 ] || die "--job needs a file"; job=$2; shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	die "usage: make-initramfs.sh [--tools DIR] [--job FILE] OUT [MARKER-KEY]"
fi
out=$1
key=${2:-pvkit.marker}
[[ $key =~ ^[A-Za-z0-9_.-]+$ ]] || die "invalid MARKER-KEY '$key'"
command -v cpio >/dev/null 2>&1 || die "cpio not found"
[ -z "$tools" ] || [ -d "$tools" ] || die "$tools: not a directory"
[ -z "$job" ] || [ -f "$job" ] || die "$job: no such file"

here=$(cd "$(dirname "$0")" && pwd)
busybox=${PVKIT_BUSYBOX:-}
cache=
if [ -z "$busybox" ] || [ -n "$tools" ]; then
	cache=$("$here/fetch-guest.sh" --print-dir) || die "no s390x guest files (scripts/fetch-guest.sh failed)"
	[ -n "$busybox" ] || busybox=$cache/busybox
fi
[ -f "$busybox" ] || die "$busybox: no such file"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rd=$tmp/rd
mkdir -p "$rd/bin" "$rd/dev" "$rd/proc" "$rd/sys" "$rd/tmp"
cp "$busybox" "$rd/bin/busybox"
chmod 755 "$rd/bin/busybox"
for a in sh ash cat echo ls mkdir mount umount poweroff reboot halt sleep sync uname \
	dmesg grep sed tr cut head tail wc dd od hexdump stat test true false env printf \
	insmod rm mv cp ln touch basename dirname cmp xxd sha256sum seq date expr [; do
	ln -s busybox "$rd/bin/$a"
done
ln -s bin "$rd/sbin"

guest_setup=
if [ -n "$tools" ]; then
	# The s390x programs and their libraries, as a root tree.
	(cd "$tools" && find . -mindepth 1 -print0 | cpio -0 -pdm --quiet "$rd") ||
		die "cannot copy $tools"
	mkdir -p "$rd/lib/modules/pvkit" "$rd/run" "$rd/etc/pvkit"
	while read -r m; do
		cp "$cache/modules/$m" "$rd/lib/modules/pvkit/$m"
	done <"$cache/modules/order"
	cp "$cache/modules/order" "$rd/lib/modules/pvkit/order"
	guest_setup=$(cat <<'SETUP'
for m in $(cat /lib/modules/pvkit/order); do
	insmod /lib/modules/pvkit/$m || echo "PVKIT-GUEST: insmod $m failed"
done
mkdir -p /run/pvkit/sys /run/pvkit/share
if mount -t 9p -o trans=virtio,version=9p2000.L pvkit.sys /run/pvkit/sys; then
	export PVKIT_SYSFS_ROOT=/run/pvkit/sys
else
	echo "PVKIT-GUEST: no sysfs view (9p share pvkit.sys)"
fi
mount -t 9p -o trans=virtio,version=9p2000.L pvkit.share /run/pvkit/share 2>/dev/null
i=0
while [ $i -lt 100 ] && ! grep -qx org.pvkit.uv /sys/class/virtio-ports/*/name 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
export PVKIT_UV_DEVICE=vport:org.pvkit.uv PATH=/usr/bin:/bin
echo "PVKIT-GUEST: ready"
SETUP
)
fi
if [ -n "$job" ]; then
	mkdir -p "$rd/etc/pvkit"
	cp "$job" "$rd/etc/pvkit/job"
	chmod 755 "$rd/etc/pvkit/job"
fi

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
$guest_setup
if [ -f /etc/pvkit/job ]; then
	sh /etc/pvkit/job
	echo "PVKIT-GUEST: job exit \$?"
fi
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
