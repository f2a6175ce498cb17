#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fetch Debian's current s390x kernel (the package linux-image-s390x points
# to) for qemu-linux.sh: extracts its boot/ directory into DIR, by default
# ${XDG_CACHE_HOME:-~/.cache}/pvkit/s390x-kernel, where the test looks.
# Needs the s390x architecture in apt: dpkg --add-architecture s390x && apt-get update
#
#   fetch-s390x-kernel.sh [DIR]
set -euo pipefail

dir=${1:-${PVKIT_S390X_KERNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit/s390x-kernel}}
if ! dpkg --print-foreign-architectures | grep -x s390x >/dev/null; then
	echo "fetch-s390x-kernel.sh: apt has no s390x packages;" \
		"run: dpkg --add-architecture s390x && apt-get update" >&2
	exit 1
fi
pkg=$(apt-cache depends linux-image-s390x:s390x |
	sed -n 's/^ *Depends: \(linux-image-[^ :]*-s390x\).*/\1/p' | sed -n 1p)
[ -n "$pkg" ] || { echo "fetch-s390x-kernel.sh: no linux-image-s390x:s390x in apt's lists" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "$pkg:s390x")
mkdir -p "$dir"
dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$dir" ./boot/
ls "$dir"/boot/vmlinuz-*
