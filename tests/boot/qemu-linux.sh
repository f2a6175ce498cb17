#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Optional end-to-end check of stage3b with a real Linux kernel: lay out a
# memory image the way an unpacked SE image looks (short PSW at 0 pointing at
# the relocator, kernel, initrd, command line and stage3b_reloc at page-aligned
# addresses from 0x15000 on, as pvimg places them) and boot it under QEMU TCG.
# Passes when the kernel prints our command line and the initrd's /init
# reports it back. Skips (77) without the kernel (see scripts/fetch-guest.sh),
# QEMU, cpio or a static s390x libc.
#
#   qemu-linux.sh STAGE3B_RELOC_BIN [CC]
set -euo pipefail
# shellcheck source=tests/boot/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || fail "usage: qemu-linux.sh STAGE3B_RELOC_BIN [CC]"
reloc=$1
cc=${2:-s390x-linux-gnu-gcc}
here=$(cd "$(dirname "$0")" && pwd)
find_qemu

kdir=${PVKIT_S390X_KERNEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit/s390x-kernel}
kernel=${PVKIT_S390X_VMLINUZ:-}
if [ -z "$kernel" ]; then
	for f in "$kdir"/boot/vmlinuz-*-s390x; do
		[ -f "$f" ] && kernel=$f # the glob sorts; the last is fine
	done
fi
# scripts/fetch-guest.sh's cache (scripts/install-deps.sh fills it).
if [ -z "$kernel" ]; then
	f=${PVKIT_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit/guest}/vmlinuz
	[ -f "$f" ] && kernel=$f
fi
if [ -z "$kernel" ] || [ ! -f "$kernel" ]; then
	echo "SKIP: no s390x kernel (run scripts/fetch-guest.sh or tests/boot/fetch-s390x-kernel.sh, or set PVKIT_S390X_VMLINUZ)"
	exit "$SKIP"
fi
command -v cpio >/dev/null 2>&1 || { echo "SKIP: cpio not found"; exit "$SKIP"; }

tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

mkdir -p "$tmp/rd/dev" "$tmp/rd/proc"
if ! "$cc" -static -Os -o "$tmp/rd/init" "$here/linux-init.c" 2>"$tmp/cc.err"; then
	cat "$tmp/cc.err"
	echo "SKIP: cannot build a static s390x /init (libc6-dev-s390x-cross missing?)"
	exit "$SKIP"
fi
(cd "$tmp/rd" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/initrd"

page_up() { echo $(((($1) + 4095) / 4096 * 4096)); }

cmdline="console=ttysclp0 pvkit_marker=$$"
printf '%s\0' "$cmdline" >"$tmp/cmdline"
ksize=$(file_size "$kernel")
isize=$(file_size "$tmp/initrd")
csize=$(file_size "$tmp/cmdline")
rsize=$(file_size "$reloc")
kaddr=$((0x15000))
iaddr=$(page_up $((kaddr + ksize)))
caddr=$(page_up $((iaddr + isize)))
raddr=$(page_up $((caddr + csize)))
args=$((raddr + rsize - 64))

img=$tmp/image
: >"$img"
put_u64 "$img" 0 $((0x0008000180000000 | raddr))
put_file "$img" "$kaddr" "$kernel"
put_file "$img" "$iaddr" "$tmp/initrd"
put_file "$img" "$caddr" "$tmp/cmdline"
put_file "$img" "$raddr" "$reloc"
put_u64 "$img" $args "$kaddr"
put_u64 "$img" $((args + 8)) "$ksize"
put_u64 "$img" $((args + 16)) "$caddr"
put_u64 "$img" $((args + 24)) "$csize"
put_u64 "$img" $((args + 32)) "$iaddr"
put_u64 "$img" $((args + 40)) "$isize"
put_u64 "$img" $((args + 48)) 0x0000000180000000
put_u64 "$img" $((args + 56)) 0x10000
printf 'kernel %#x+%#x, initrd %#x+%#x, cmdline %#x+%#x, stage3b_reloc %#x\n' \
	$kaddr "$ksize" "$iaddr" "$isize" "$caddr" "$csize" "$raddr"

start=$(date +%s.%N)
timeout 120 "$QEMU" -machine s390-ccw-virtio -cpu max -m 1024 -nographic -no-reboot \
	-kernel "$img" </dev/null >"$tmp/console.log" 2>&1 || true
end=$(date +%s.%N)
tr -d '\r' <"$tmp/console.log" >"$tmp/console.txt"
echo "QEMU ran $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"

check() { # description fixed-string
	if grep -qF -- "$2" "$tmp/console.txt"; then
		echo "ok: $1: $(grep -m1 -F -- "$2" "$tmp/console.txt")"
	else
		sed 's/^/  | /' "$tmp/console.txt" >&2
		fail "$1: no '$2' on the console"
	fi
}
check "kernel started at 0x10000" "Linux version"
check "command line from 0x10480" "Kernel command line: $cmdline"
check "initrd from 0x10408/0x10410 ran /init" "PVKIT-INIT-OK cmdline=[$cmdline]"
echo "1 passed, 0 failed"
