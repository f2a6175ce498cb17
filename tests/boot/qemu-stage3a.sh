#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot stage3a.bin under QEMU TCG the way an SE image is laid out: short PSW at
# 0, stage3a at 0x10000, a fake SE header at 0x14000 and a fake IPIB after it.
# TCG has no unpack facility (161), so stage3a must first rewrite the IPIB's
# header address/size from its args, then print the message (on the ASCII and
# the line-mode console) and stop in a disabled wait.
#
#   qemu-stage3a.sh STAGE3A_BIN
set -euo pipefail
# shellcheck source=tests/boot/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || fail "usage: qemu-stage3a.sh STAGE3A_BIN"
stage3a=$1
find_qemu

tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
img=$tmp/image

hdr=0x14000
hdr_size=0x280
ipib=0x16000
len=$(file_size "$stage3a")
args=$((0x10000 + len - 24))

: >"$img"
put_bytes "$img" 0 '\x00\x08\x00\x01\x80\x01\x10\x00'
put_file "$img" $((0x10000)) "$stage3a"
put_u64 "$img" $args $((hdr - args))
put_u64 "$img" $((args + 8)) $hdr_size
put_u64 "$img" $((args + 16)) $((ipib - args))
put_bytes "$img" $((hdr)) 'IBMSecEx'
fill "$img" $((hdr + 8)) $((hdr_size - 8)) 5a
# IPIB: length, version 1, PV block with pbt 5, stale header address/size.
put_bytes "$img" $((ipib)) '\x00\x00\x00\x88\x00\x00\x00\x01\x00\x00\x00\x80\x05'
put_u64 "$img" $((ipib + 0x78)) 0xdeadbeefdeadbeef
put_u64 "$img" $((ipib + 0x80)) 0xdeadbeefdeadbeef

msg='Secure unpack facility is not available'
if ! run_qemu "$tmp" "$img" 20 "$msg" "xp /2gx $(printf 0x%x $((ipib + 0x78)))"; then
	cat "$tmp/console.log" "$tmp/qemu.err" >&2
	fail "console did not show '$msg'"
fi
echo "console: $(tr -d '\r' <"$tmp/console.log")"

got=$(mem_u64 "$tmp" $((ipib + 0x78)))
[ "$got" = "$(printf '0x%016x' $hdr)" ] || fail "IPIB pv_hdr_addr is '$got', want $hdr"
got=$(mem_u64 "$tmp" $((ipib + 0x80)))
[ "$got" = "$(printf '0x%016x' $hdr_size)" ] || fail "IPIB pv_hdr_size is '$got', want $hdr_size"
echo "IPIB pv_hdr_addr/pv_hdr_size rewritten: $hdr $hdr_size"

psw=$(wait_psw "$tmp")
[ "$psw" = 0x0000000000003a02 ] || fail "disabled-wait PSW address is '$psw', want 0x3a02"
echo "disabled wait, PSW address $psw"

# The same text must also reach a line-mode (EBCDIC message event) console,
# what the HMC and z/VM show; QEMU converts it back to ASCII.
# shellcheck disable=SC2034,SC2054 # used by run_qemu; commas are QEMU syntax
QEMU_EXTRA=(-chardev "file,id=lm,path=$tmp/linemode.log" -device "sclplmconsole,chardev=lm")
run_qemu "$tmp" "$img" 20 "$msg" || fail "second boot: console did not show '$msg'"
grep -qF "$msg" "$tmp/linemode.log" || fail "line-mode console did not show '$msg'"
echo "line-mode console: $(tr -d '\n' <"$tmp/linemode.log")"
echo "2 passed, 0 failed"
