#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fetch the s390x guest that the demo and the end-to-end tests boot: Debian's
# current s390x kernel (the linux-image-*-s390x package that
# linux-image-s390x:s390x depends on) and busybox-static:s390x. The cache dir
# then holds:
#
#   vmlinuz          the kernel image
#   busybox          the static s390x busybox
#   kernel-release   the kernel's release (e.g. 6.1.0-50-s390x)
#   modules/         the kernel's modules a uvsim QEMU guest loads, and modules/order
#                    (their insmod order): virtio_console (the UV port), 9p over virtio
#                    (the sysfs view and the shared directory) and their dependencies
#   packages         the packages and versions both came from
#
# Idempotent and silent when both files are cached. Adds the s390x architecture
# to dpkg and runs apt-get update only when apt has no s390x package lists
# (that step needs root; sudo is used when available). The download itself
# (apt-get download) runs as the calling user.
#
# Usage: scripts/fetch-guest.sh [--update] [--print-dir]
#   --update     fetch again even when cached (picks up a newer Debian kernel)
#   --print-dir  print the cache dir on standard output when done
# Environment: PVKIT_GUEST_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/pvkit/guest)
# Exit status: 0 the guest is in the cache, 1 it could not be fetched.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

update=0
print_dir=0
for arg in "$@"; do
	case "$arg" in
	--update) update=1 ;;
	--print-dir) print_dir=1 ;;
	-h | --help)
		sed -n '4,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "fetch-guest.sh: unknown option $arg (try --help)" >&2
		exit 2
		;;
	esac
done

cache=${PVKIT_GUEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-$(cd ~ && pwd)}/.cache}/pvkit/guest}
die() {
	echo "fetch-guest.sh: $*" >&2
	exit 1
}
done_ok() {
	[ $print_dir -eq 0 ] || printf '%s\n' "$cache"
	exit 0
}
# Dependencies first (modinfo depends of Debian's 6.1 kernel).
MODULES="fs/netfs/netfs.ko fs/fscache/fscache.ko net/9p/9pnet.ko net/9p/9pnet_virtio.ko
fs/9p/9p.ko drivers/char/virtio_console.ko"
cached() { [ -s "$cache/vmlinuz" ] && [ -x "$cache/busybox" ] && [ -s "$cache/modules/order" ]; }

[ $update -eq 1 ] || ! cached || done_ok

mkdir -p "$cache"
# One fetch at a time (tests may run in parallel).
exec 9>"$cache/.lock"
flock 9
[ $update -eq 1 ] || ! cached || done_ok

for c in apt-get apt-cache dpkg dpkg-deb tar; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (a Debian-based system is needed)"
done

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
	# apt's sandbox user cannot write into our private temp dir: download as root.
	APT_DL=(apt-get -o APT::Sandbox::User=root)
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo DEBIAN_FRONTEND=noninteractive)
	[ -t 0 ] || SUDO=(sudo -n DEBIAN_FRONTEND=noninteractive)
	APT_DL=(apt-get)
else
	SUDO=(false)
	APT_DL=(apt-get)
fi

need_update=0
if ! dpkg --print-foreign-architectures | grep -qx s390x; then
	[ "$(dpkg --print-architecture)" = s390x ] || {
		"${SUDO[@]}" dpkg --add-architecture s390x ||
			die "cannot add the s390x architecture (run as root: dpkg --add-architecture s390x && apt-get update)"
		need_update=1
	}
fi
apt_knows() { # (apt-cache show succeeds when any of several packages is known: one at a time)
	local p
	for p in linux-image-s390x:s390x busybox-static:s390x; do
		apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || return 1
	done
}
apt_knows || need_update=1
if [ $need_update -eq 1 ]; then
	echo "fetch-guest.sh: apt-get update (for the s390x package lists)" >&2
	"${SUDO[@]}" apt-get update -qq </dev/null >&2 || die "apt-get update failed"
	apt_knows || die "apt has no linux-image-s390x:s390x or busybox-static:s390x after apt-get update"
fi

kpkg=$(apt-cache depends linux-image-s390x:s390x |
	sed -n 's/^ *Depends: \(linux-image-[^ :]*-s390x\).*/\1/p' | sed -n 1p)
[ -n "$kpkg" ] || die "linux-image-s390x:s390x depends on no linux-image-*-s390x"
release=${kpkg#linux-image-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-guest.sh: downloading $kpkg and busybox-static (s390x) into $cache" >&2
(cd "$tmp" && "${APT_DL[@]}" download -qq "$kpkg:s390x" busybox-static:s390x </dev/null) >&2 ||
	die "apt-get download failed (no network to the Debian archive?)"
kdeb=$(ls "$tmp"/linux-image-*_s390x.deb)
bdeb=$(ls "$tmp"/busybox-static_*_s390x.deb)

dpkg-deb --fsys-tarfile "$kdeb" | tar -x -O "./boot/vmlinuz-$release" >"$tmp/vmlinuz" ||
	die "$kdeb has no ./boot/vmlinuz-$release"
dpkg-deb --fsys-tarfile "$bdeb" | tar -x -O ./bin/busybox >"$tmp/busybox" ||
	die "$bdeb has no ./bin/busybox"
# Sanity: an s390x Linux image ("S390EP" at 0x10008) and a big-endian s390x ELF (e_machine 22).
[ "$(dd if="$tmp/vmlinuz" bs=1 skip=$((0x10008)) count=6 status=none)" = S390EP ] ||
	die "$kpkg: boot/vmlinuz-$release is not an s390x kernel image"
[ "$(od -An -tx1 -N 20 "$tmp/busybox" | tr -d ' \n' | cut -c1-12,37-40)" = 7f454c4602020016 ] ||
	die "busybox-static: bin/busybox is not an s390x ELF"
mkdir "$tmp/modules"
for m in $MODULES; do
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -O "./lib/modules/$release/kernel/$m" \
		>"$tmp/modules/${m##*/}" || die "$kpkg has no lib/modules/$release/kernel/$m"
	printf '%s\n' "${m##*/}" >>"$tmp/modules/order"
done
chmod 644 "$tmp/vmlinuz" "$tmp/modules"/*
chmod 755 "$tmp/busybox"
printf '%s\n' "$release" >"$tmp/kernel-release"
for deb in "$kdeb" "$bdeb"; do
	# shellcheck disable=SC2016 # dpkg-deb's fields, not shell's
	dpkg-deb -W --showformat='${Package}:${Architecture} ${Version}\n' "$deb"
done >"$tmp/packages"
rm -rf "$cache/modules"
for f in kernel-release packages vmlinuz busybox modules; do
	mv -f "$tmp/$f" "$cache/$f"
done
done_ok
