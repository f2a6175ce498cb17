#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Throughput of `pvimg create` on a large random initrd, against this machine's limit for the
# job: one SHA-512 pass over the inputs (the PLD is SHA-512 over every page) or one plain copy
# of the inputs to an output file (every byte is read once and written once), whichever is
# slower. Target: ratio >= 0.85, peak RSS <= 64 MiB whatever the input size.
# Usage: bench/bench-create.sh [SIZE_MIB (default 1024)] [BUILDDIR (default build)]
set -euo pipefail
size_mib=${1:-1024}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${2:-$top/build}
pvimg=$builddir/tools/pvimg
testpki=$builddir/tools/pvkit-testpki
[ -x "$pvimg" ] || { echo "bench: build first (meson setup build && ninja -C build)" >&2; exit 1; }
export PVKIT_BOOTLOADER_DIR=${PVKIT_BOOTLOADER_DIR:-$builddir/boot}

work=$(mktemp -d "${TMPDIR:-/tmp}/pvkit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Inputs: a fake s390x kernel (S390EP at 0x10008), a random initrd, a parmfile.
head -c $((8 * 1024 * 1024)) /dev/urandom >"$work/vmlinuz"
printf 'S390EP' | dd of="$work/vmlinuz" bs=1 seek=$((0x10008)) conv=notrunc status=none
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/initrd"
echo "root=/dev/ram0" >"$work/parmfile"
"$testpki" --dir "$work/pki" --hosts 1 >/dev/null
hkd=$(ls "$work"/pki/host*.crt | head -n 1)

now() { date +%s.%N; }
# Warm the page cache so every run reads from memory, as the comparison runs do.
cat "$work/vmlinuz" "$work/initrd" >/dev/null

t0=$(now)
openssl dgst -sha512 "$work/vmlinuz" "$work/initrd" >/dev/null
t1=$(now)
cat "$work/vmlinuz" "$work/initrd" >"$work/copy.out"
sync "$work/copy.out"
t2=$(now)
rm -f "$work/copy.out"

/usr/bin/env time -f '%M' -o "$work/rss" "$pvimg" -q create -i "$work/vmlinuz" -r "$work/initrd" \
	-p "$work/parmfile" -k "$hkd" --no-verify -o "$work/se.img" 2>/dev/null
t3=$(now)

python3 - "$t0" "$t1" "$t2" "$t3" "$(cat "$work/rss")" "$size_mib" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
rss_kib, size = int(sys.argv[5]), int(sys.argv[6])
sha, copy, wall = t1 - t0, t2 - t1, t3 - t2
limit = max(sha, copy)
print(f"input: {size} MiB initrd + 8 MiB kernel")
print(f"sha512 pass: {sha:.2f} s   plain copy: {copy:.2f} s   limit: {limit:.2f} s")
print(f"pvimg create: {wall:.2f} s   ratio limit/wall: {limit / wall:.2f} (target >= 0.85)")
print(f"peak RSS: {rss_kib / 1024:.1f} MiB (target <= 64 MiB)")
PY
