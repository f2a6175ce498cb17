#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Layout contract of the built loaders with the image builder (SE-FORMATS.md
# §1.7, §1.8, §1.12).
#
#   check-structure.sh STAGE3A_BIN STAGE3B_BIN STAGE3B_RELOC_BIN
set -euo pipefail
# shellcheck source=tests/boot/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || fail "usage: check-structure.sh STAGE3A_BIN STAGE3B_BIN STAGE3B_RELOC_BIN"
s3a=$1
s3b=$2
reloc=$3
passed=0
failed=0

check() { # description command...
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
		passed=$((passed + 1))
	else
		echo "not ok: $what"
		failed=$((failed + 1))
	fi
}

# lhi %r1,1; sigp %r1,%r0,0x12 (set architecture z/Arch); sam64
SET_ARCH=a7180001ae10001201 # 9 bytes, then 0e
starts_set_arch() { # file offset
	[ "$(hex_bytes "$1" "$2" 10)" = "${SET_ARCH}0e" ]
}

a=$(file_size "$s3a")
b=$(file_size "$s3b")
r=$(file_size "$reloc")
printf 'stage3a.bin %d (0x%x) bytes, stage3b.bin %d (0x%x), stage3b_reloc.bin %d (0x%x)\n' \
	"$a" "$a" "$b" "$b" "$r" "$r"

# stage3a: init stub at 0, main code at 0x1000, at most 0x3000 bytes in all.
check "stage3a.bin has main code past 0x1000" test "$a" -gt $((0x1000))
check "stage3a.bin is at most 0x3000 bytes (ends below 0x13000)" test "$a" -le $((0x3000))
check "stage3a.bin size is a multiple of 8 (aligned args)" test $((a % 8)) -eq 0
check "stage3a init stub starts with set-arch + sam64" starts_set_arch "$s3a" 0
check "stage3a main entry (+0x1000) starts with set-arch + sam64" starts_set_arch "$s3a" $((0x1000))
check "stage3a leaves zipl's parm area (+0x400..+0xfff) empty" is_zero "$s3a" $((0x400)) $((0xc00))
check "stage3a_args (last 24 bytes) are zero" is_zero "$s3a" $((a - 24)) 24

# stage3b: runs at 0xA000, must end below 0xF000 (stack) with its args last.
check "stage3b.bin size is a multiple of 8" test $((b % 8)) -eq 0
check "stage3b_args (last 64 bytes of stage3b.bin) are zero" is_zero "$s3b" $((b - 64)) 64

# stage3b_reloc: relocator + stage3b.bin, so its last 64 bytes are stage3b's args.
check "stage3b_reloc.bin ends with stage3b.bin" cmp -s <(tail -c "$b" "$reloc") "$s3b"
check "relocator is small (< 256 bytes before stage3b)" test $((r - b)) -gt 0 -a $((r - b)) -lt 256
check "stage3b part of stage3b_reloc.bin < 0xF000 - 0xA000" test "$b" -lt $((0xf000 - 0xa000))
check "stage3b_args (last 64 bytes of stage3b_reloc.bin) are zero" is_zero "$reloc" $((r - 64)) 64
check "relocator starts with set-arch + sam64" starts_set_arch "$reloc" 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
