#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Dumps of secure guests (issue 14, the guide's ch. 6): uvsim dump of a guest whose image
# allows dumping (pvimg create --enable-dump --cck) writes the ELF dump of a protected guest;
# pvdump decrypts it with the CCK into a plain ELF dump whose memory is the guest's, with the
# kernel and initrd bytes at their load addresses; a wrong CCK or a changed dump is refused
# and writes nothing; a guest whose image does not allow dumping, or after a disable-dump
# add-secret request, cannot be dumped.
#
# Usage: test_pvdump.sh UVSIM PVIMG PVSECRET PVDUMP
# shellcheck disable=SC2015
set -u

[ $# -eq 4 ] || { echo "usage: test_pvdump.sh UVSIM PVIMG PVSECRET PVDUMP" >&2; exit 2; }
UVSIM=$(realpath "$1")
PVIMG=$(realpath "$2")
PVSECRET=$(realpath "$3")
PVDUMP=$(realpath "$4")
T=120
. "$(dirname "$0")/lib.sh"

uvsim_tmp pvdump
U=("$UVSIM" --state "$S")

run "uvsim host new" 0 "" -- "${U[@]}" host new z16
HKD=$S/hosts/z16/hkd.crt
fake_kernel vmlinuz
head -c $((3 << 20)) /dev/urandom >initrd
echo "console=ttysclp0 dump-test" >parmfile
head -c 32 /dev/urandom >cck.bin
if ! timeout "$T" "$PVIMG" create -i vmlinuz -r initrd -p parmfile -k "$HKD" --no-verify \
	--cck cck.bin --enable-dump -o dump.img >"$tmp/out" 2>&1; then
	grep -q stage3 "$tmp/out" && { echo "no boot loaders: skipped"; exit 77; }
	fail "pvimg create --enable-dump"
	sed 's/^/    /' "$tmp/out"
	finish
fi
pass "pvimg create --enable-dump --cck"
run "pvimg create without --enable-dump" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
	-k "$HKD" --no-verify --cck cck.bin -o nodump.img

# ---- a dump of a guest that allows it, decrypted
run "boot --keep-memory" 0 "booted" -- "${U[@]}" boot --host z16 --id g --keep-memory dump.img
run "uvsim dump" 0 "dump of guest g written to g.elf" -- "${U[@]}" dump g -o g.elf
check "the dump is 0600" test "$(stat -c %a g.elf)" = 600
run "readelf: an s390 core file" 0 "Core file" -- readelf -h g.elf
check "  for IBM S/390" grep -q "IBM S/390" "$tmp/out"
run "readelf: its sections" 0 "pv_mem_meta" -- readelf -S g.elf
check "  and pv_compl" grep -q pv_compl "$tmp/out"
run "readelf: a PV CPU note" 0 "" -- readelf -n g.elf
check "  (type 0x30e, LINUX)" grep -qiE "LINUX[[:space:]]+0x0+620[[:space:]]+(NT_S390_PV_CPU_DATA|Unknown note type: \(0x0+30e\))" "$tmp/out"
if python3 - g.elf initrd <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
r = open(sys.argv[2], "rb").read()
assert d.find(r[:4096]) < 0 and d.find(r[-4096:]) < 0
EOF
then pass "the initrd's bytes are not in the dump in the clear"; else fail "plaintext initrd in the dump"; fi
run "pvdump info" 0 "CPUs:              1" -- "$PVDUMP" info g.elf
check "  encrypted pages" grep -qE "^  encrypted: +[1-9][0-9]* pages" "$tmp/out"
check "  zero pages" grep -qE "^  zero: +[0-9]+ pages" "$tmp/out"
run "pvdump decrypt" 0 "Decrypted dump written to 'plain.elf'" -- \
	"$PVDUMP" decrypt --cck cck.bin -o plain.elf g.elf
check "the plain dump is 0600" test "$(stat -c %a plain.elf)" = 600
run "readelf -n: the CPU's registers as notes" 0 "NT_PRSTATUS" -- readelf -n plain.elf
check "  and its control registers" grep -q "NT_S390_CTRS" "$tmp/out"
run "readelf -l: one LOAD from address 0" 0 "LOAD" -- readelf -lW plain.elf
if python3 - plain.elf "$S/guests/g/mem.img" vmlinuz initrd parmfile dump.img <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack(">Q", d[32:40])
loads = []
for i in range(struct.unpack(">H", d[56:58])[0]):
    t, f, off, va, pa, fs, ms, al = struct.unpack(">IIQQQQQQ", d[phoff + 56 * i:phoff + 56 * i + 56])
    if t == 1:
        loads.append((off, va, fs))
assert len(loads) == 1 and loads[0][1] == 0, loads
off, _, size = loads[0]
mem = d[off:off + size]
kept = open(sys.argv[2], "rb").read()
assert mem == kept + b"\0" * (size - len(kept)), "memory differs from what the UV unpacked"
# the components at the addresses of the image's IPL parameters (IPIB)
img = open(sys.argv[6], "rb").read()
ipib = int.from_bytes(img[0xc014:0xc01c], "big")
n = int.from_bytes(img[ipib + 0x74:ipib + 0x78], "big")
comps = [int.from_bytes(img[ipib + 0x88 + 24 * i + 8:ipib + 0x88 + 24 * i + 16], "big") for i in range(n)]
for path, addr in zip(sys.argv[3:6], comps):
    want = open(path, "rb").read()
    assert mem[addr:addr + len(want)] == want, (path, hex(addr))
    print("%s at %#x" % (path, addr))
EOF
then pass "decrypted memory: the UV's, with kernel, initrd and parmline at their load addresses"
else fail "decrypted memory"; fi

# ---- refused: wrong key, changed dump, bad input; nothing written
head -c 32 /dev/urandom >wrong.bin
run_error "a wrong CCK" 1 "does not decrypt with this customer communication key" -- \
	"$PVDUMP" decrypt --cck wrong.bin -o wrong.elf g.elf
check "  nothing written" test ! -e wrong.elf
head -c 31 cck.bin >short.bin
run_error "a CCK of 31 bytes" 1 "short.bin" -- "$PVDUMP" decrypt --cck short.bin -o wrong.elf g.elf
COMPL=$(readelf -SW g.elf | sed -n 's/.* pv_compl  *PROGBITS  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p')
check "pv_compl's offset found" test -n "$COMPL"
cp g.elf t1.elf
printf '\x01' | dd of=t1.elf bs=1 seek=$((0x$COMPL + 200)) conv=notrunc status=none
check "  and changed" sh -c '! cmp -s g.elf t1.elf'
rm -f t.elf
run_error "a changed completion data" 1 "does not decrypt" -- "$PVDUMP" decrypt --cck cck.bin -o t.elf t1.elf
check "  nothing written" test ! -e t.elf
cp g.elf t2.elf
size=$(stat -c %s t2.elf)
python3 - t2.elf <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"LINUX\0\0\0")
b[i + 8 + 600] ^= 1           # inside the encrypted CPU state
open(sys.argv[1], "wb").write(b)
EOF
run_error "a changed CPU note" 1 "CPU 0: the CPU state does not decrypt" -- \
	"$PVDUMP" decrypt --cck cck.bin -o t.elf t2.elf
check "  nothing written" test ! -e t.elf
head -c $((size / 2)) g.elf >t3.elf
run_error "a truncated dump" 1 "t3.elf" -- "$PVDUMP" info t3.elf
head -c 4096 /dev/urandom >t4.elf
run_error "not ELF" 1 "not a big-endian ELF64 core file of IBM Z" -- "$PVDUMP" info t4.elf
run_error "a missing file" 1 "nothere.elf" -- "$PVDUMP" info nothere.elf
run "decrypt without --cck: usage error" 2 "--cck" -- "$PVDUMP" decrypt -o x.elf g.elf
run "info without a file: usage error" 2 "required" -- "$PVDUMP" info
run "pvdump --help" 0 "decrypt" -- "$PVDUMP" --help

# ---- refused by the UV: an image without dumping, a disable-dump secret; memory not kept
run "boot the image without --enable-dump" 0 "booted" -- "${U[@]}" boot --host z16 --id nd \
	--keep-memory nodump.img
run_error "uvsim dump: the image does not allow dumping" 1 "does not allow dumping" -- \
	"${U[@]}" dump nd -o nd.elf
check "  no dump written" test ! -e nd.elf
run "boot the dumpable image again" 0 "booted" -- "${U[@]}" boot --host z16 --id dd --keep-memory dump.img
run "pvsecret create --flags disable-dump meta" 0 "" -- "$PVSECRET" create -k "$HKD" --no-verify \
	--hdr dump.img -o disable.req --flags disable-dump meta
run "pvsecret add of it" 0 "" -- env $("${U[@]}" env dd | sed "s/^export //; s/'//g") \
	"$PVSECRET" add disable.req
run_error "uvsim dump after the disable-dump request" 1 "disable-dump" -- "${U[@]}" dump dd -o dd.elf
check "  no dump written" test ! -e dd.elf
run "uvsim ls: whether each guest may be dumped" 0 "DUMP" -- "${U[@]}" ls
check "  g: yes" test "$(awk '$1 == "g" { print $7 }' "$tmp/out")" = yes
check "  nd (image without --enable-dump): no" test "$(awk '$1 == "nd" { print $7 }' "$tmp/out")" = no
check "  dd (disable-dump secret): off" test "$(awk '$1 == "dd" { print $7 }' "$tmp/out")" = off
run "uvsim ls --format json: dump" 0 '"dump":"disabled"' -- sh -c "'$UVSIM' --state '$S' ls --format json | tr -d ' \n'"
run "boot without --keep-memory" 0 "booted" -- "${U[@]}" boot --host z16 --id nk dump.img
run "uvsim dump: the memory was not kept" 2 "--keep-memory" -- "${U[@]}" dump nk -o nk.elf
run "uvsim dump without -o: usage error" 2 "usage: uvsim dump" -- "${U[@]}" dump g
no_sanitizer_reports
finish
