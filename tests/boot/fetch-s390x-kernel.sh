#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Fetch Debian's current s390x kernel (the package linux-image-s390x points
# to) for qemu-linux.sh and put it into DIR/boot/vmlinuz-RELEASE, by default
# ${XDG_CACHE_HOME:-~/.cache}/pvkit/s390x-kernel, where the test looks. The
# download is scripts/fetch-guest.sh's (it adds the s390x architecture to apt
# when needed and caches the kernel and busybox in PVKIT_GUEST_CACHE, which
# qemu-linux.sh also searches).
#
#   fetch-s390x-kernel.sh [DIR]
set -euo pipefail

dir=${1:-${PVKIT_S390X_KERNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit/s390x-kernel}}
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=$("$top/scripts/fetch-guest.sh" --print-dir)
release=$(cat "$cache/kernel-release")
mkdir -p "$dir/boot"
cp "$cache/vmlinuz" "$dir/boot/vmlinuz-$release.part"
mv -f "$dir/boot/vmlinuz-$release.part" "$dir/boot/vmlinuz-$release"
ls "$dir"/boot/vmlinuz-*
