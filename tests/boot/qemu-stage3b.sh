#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run stage3b_reloc.bin under QEMU TCG as the UV would start it after an
# unpack: short PSW at 0 pointing at the relocator, decrypted components in
# memory. The "kernel" is 64 KiB of junk followed by stage3a.bin: once stage3b
# has dropped the first 64 KiB and jumped to 0x10000, stage3a runs and prints
# its message, which proves relocation, the kernel move and the PSW. Monitor
# reads then check the command line, the initrd fields and stage3a's IPIB
# update. Further cases check stage3b's refusals.
#
#   qemu-stage3b.sh STAGE3A_BIN STAGE3B_RELOC_BIN
set -euo pipefail
# shellcheck source=tests/boot/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || fail "usage: qemu-stage3b.sh STAGE3A_BIN STAGE3B_RELOC_BIN"
stage3a=$1
reloc=$2
find_qemu

tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

reloc_addr=0x20000
s3a_len=$(file_size "$stage3a")
reloc_len=$(file_size "$reloc")
cmdline='pvkit stage3b test'
initrd=0x51000
initrd_size=0x1234
hdr=0x60000
ipib=0x61000
passed=0

# build_image IMAGE KERNEL_ADDR KERNEL_SIZE CMDLINE_SIZE MAX_CMDLINE [PSW_MASK PSW_ADDR]
#   stage3b args: kernel {KERNEL_ADDR, KERNEL_SIZE}, cmdline {0x50000,
#   CMDLINE_SIZE}, initrd {0x51000, 0x1234}, PSW {EA|BA, 0x10000} unless given.
#   MAX_CMDLINE != 0 is stored where the kernel keeps its limit (0x10430 after the move).
build_image() {
	local img=$1 kaddr=$(($2)) ksize=$(($3)) csize=$(($4)) max=$(($5))
	local psw_mask=${6:-0x0000000180000000} psw_addr=${7:-0x10000}
	local args=$((reloc_addr + reloc_len - 64))
	local s3a=$((kaddr + 0x10000)) s3a_args=$((0x10000 + s3a_len - 24))

	: >"$img"
	put_bytes "$img" 0 '\x00\x08\x00\x01\x80\x02\x00\x00'
	# Kernel: junk that stage3b must drop, then stage3a as the "kernel proper".
	fill "$img" $kaddr $((0x10000)) aa
	put_file "$img" $s3a "$stage3a"
	# stage3a args, relative to where stage3a will run (0x10000).
	put_u64 "$img" $((s3a + s3a_len - 24)) $((hdr - s3a_args))
	put_u64 "$img" $((s3a + s3a_len - 16)) 0x280
	put_u64 "$img" $((s3a + s3a_len - 8)) $((ipib - s3a_args))
	[ $max -eq 0 ] || put_u64 "$img" $((s3a + 0x430)) $max
	put_bytes "$img" $((0x50000)) "$cmdline\\0"
	fill "$img" $((initrd)) $((initrd_size)) 11
	put_bytes "$img" $((hdr)) 'IBMSecEx'
	put_bytes "$img" $((ipib)) '\x00\x00\x00\x88\x00\x00\x00\x01\x00\x00\x00\x80\x05'
	# The relocator with its args, last (its component may overlap nothing above).
	put_file "$img" $((reloc_addr)) "$reloc"
	put_u64 "$img" $args $kaddr
	put_u64 "$img" $((args + 8)) $ksize
	put_u64 "$img" $((args + 16)) 0x50000
	put_u64 "$img" $((args + 24)) $csize
	put_u64 "$img" $((args + 32)) $initrd
	put_u64 "$img" $((args + 40)) $initrd_size
	put_u64 "$img" $((args + 48)) "$psw_mask"
	put_u64 "$img" $((args + 56)) "$psw_addr"
}

expect_u64() { # what address want
	local got
	got=$(mem_u64 "$tmp" "$2")
	[ "$got" = "$(printf '0x%016x' $(($3)))" ] || {
		cat "$tmp/monitor.log" >&2
		fail "$1: memory at $2 is '$got', want $3"
	}
}

expect_wait() { # what code
	local psw
	psw=$(wait_psw "$tmp")
	[ "$psw" = "$(printf '0x%016x' $(($2)))" ] || fail "$1: disabled-wait PSW address '$psw', want $2"
}

# boot_ok NAME KERNEL_ADDR: full success path, kernel placed at KERNEL_ADDR.
boot_ok() {
	local name=$1 kaddr=$2 csize=$((${#cmdline} + 1))
	local msg='Secure unpack facility is not available'

	build_image "$tmp/image" "$kaddr" $((0x10000 + s3a_len)) $csize 0
	run_qemu "$tmp" "$tmp/image" 20 "$msg" \
		"xp /1gx 0x10000" "xp /2gx 0x10408" "xp /4gx 0x10480" \
		"xp /2gx $(printf 0x%x $((ipib + 0x78)))" || {
		cat "$tmp/console.log" "$tmp/qemu.err" >&2
		fail "$name: stage3a did not run after stage3b (no '$msg')"
	}
	# stage3a's first instruction (lhi %r1,1; sigp) at the kernel entry: junk dropped.
	expect_u64 "$name: kernel at 0x10000" 0x10000 0xa7180001ae100012
	expect_u64 "$name: INITRD_START" 0x10408 $initrd
	expect_u64 "$name: INITRD_SIZE" 0x10410 $initrd_size
	# "pvkit stage3b test\0" at COMMAND_LINE.
	expect_u64 "$name: cmdline" 0x10480 0x70766b6974207374
	expect_u64 "$name: cmdline" 0x10488 0x6167653362207465
	expect_u64 "$name: cmdline" 0x10490 0x7374000000000000
	expect_u64 "$name: IPIB header address" $((ipib + 0x78)) $hdr
	expect_wait "$name" 0x3a02
	echo "ok: $name"
	passed=$((passed + 1))
}

# boot_refused NAME MESSAGE WAIT KERNEL_SIZE CMDLINE_SIZE MAX_CMDLINE
boot_refused() {
	local name=$1 msg=$2 code=$3

	build_image "$tmp/image" 0x30000 "$4" "$5" "$6"
	run_qemu "$tmp" "$tmp/image" 20 "$msg" || {
		cat "$tmp/console.log" "$tmp/qemu.err" >&2
		fail "$name: console did not show '$msg'"
	}
	expect_wait "$name" "$code"
	echo "ok: $name"
	passed=$((passed + 1))
}

boot_ok "kernel above the loaders" 0x30000
# Kernel right after the lowcore: the 64 KiB move overlaps its own source.
boot_ok "overlapping kernel move" 0x1000

full=$((0x10000 + s3a_len))
nul=$((${#cmdline} + 1))

# stage3b must load exactly the PSW of its args: a disabled-wait PSW shows it.
build_image "$tmp/image" 0x30000 $full $nul 0 0x0002000180000000 0x4242
run_qemu "$tmp" "$tmp/image" 20 'never printed' "xp /2gx 0x10408" || true
grep -q '^PSW: 0x0002000180000000 0x0000000000004242' "$tmp/qemu.log" ||
	fail "PSW from the args: QEMU reported '$(grep '^PSW:' "$tmp/qemu.log" || true)'"
expect_u64 "PSW from the args: INITRD_START" 0x10408 $initrd
echo "ok: PSW from the args loaded as is"
passed=$((passed + 1))
boot_refused "kernel < 64 KiB" 'Invalid kernel' 0x3b02 0xffff $nul 0
boot_refused "cmdline > 896 (legacy limit)" 'command line is too long' 0x3b04 $full 897 0
boot_refused "cmdline > limit in kernel" 'command line is too long' 0x3b04 $full $nul 8
boot_refused "cmdline without NUL" 'not NUL-terminated' 0x3b04 $full $((nul - 1)) 0

echo "$passed passed, 0 failed"
