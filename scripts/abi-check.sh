#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libpvkit's ABI against the baseline committed in abi/ (libabigail): a removed or changed
# function or a changed public struct or enum fails, until it is made on purpose with a
# soname bump (soversion in lib/meson.build) and a new baseline; added functions pass, with
# a note to record them.
#
#   scripts/abi-check.sh LIBPVKIT.so.N            check
#   scripts/abi-check.sh LIBPVKIT.so.N --update   write the baseline from LIB
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lib=$1
for t in abidw abidiff objdump; do
	command -v "$t" >/dev/null || { echo "abi-check: $t not found (apt-get install abigail-tools): skipped"; exit 77; }
done
# the baseline is per soname: a bump starts a new one
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
baseline=$top/abi/${soname:-$(basename "$lib")}.abi
dump() {
	abidw --headers-dir "$top/include/pvkit" --no-corpus-path --no-show-locs --out-file "$1" "$lib"
}
if [ "${2:-}" = --update ]; then
	mkdir -p "$top/abi"
	dump "$baseline" && echo "abi-check: baseline written: $baseline"
	exit
fi
if [ ! -f "$baseline" ]; then
	echo "abi-check: no baseline $baseline (a new soname?): write it with --update"
	exit 1
fi
# Opaque structs (declared without members in the headers) may change inside.
suppr=(--suppressions "$top/abi/libpvkit.suppr")
cur=$(mktemp)
trap 'rm -f "$cur"' EXIT
dump "$cur" || { echo "abi-check: abidw failed on $lib"; exit 1; }
# Added functions and variables are compatible: judged without them first.
abidiff --no-show-locs --no-added-syms "${suppr[@]}" "$baseline" "$cur"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	echo "abi-check: abidiff failed (exit $rc)"
	exit 1
elif [ $((rc & 12)) -ne 0 ]; then
	# libabigail flags removals as incompatible (8) and changed types and functions as
	# changes (4): both break programs built against the baseline.
	echo "abi-check: FAIL - the ABI changed against $(basename "$baseline"): bump the soname"
	echo "(soversion in lib/meson.build) and write a new baseline with --update, or undo the change"
	exit 1
fi
if ! abidiff --no-show-locs "${suppr[@]}" "$baseline" "$cur" >/dev/null; then
	echo "abi-check: ok - compatible additions; record them: scripts/abi-check.sh $lib --update"
	exit 0
fi
echo "abi-check: ok - the ABI equals the baseline"
