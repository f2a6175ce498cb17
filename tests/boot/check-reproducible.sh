#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The loaders' bytes enter every SE image's PLD, so images are reproducible
# only if the loaders are. Rebuild them twice with the same script Meson uses,
# from copies of the sources (boot/ and the uvrc.h it uses) at other paths,
# with other work directories, time zone and umask, and compare every byte
# with the loaders Meson built.
#
#   check-reproducible.sh BUILD_SCRIPT BOOT_SRCDIR CC OBJCOPY STAGE3A_BIN STAGE3B_BIN STAGE3B_RELOC_BIN
set -euo pipefail
# shellcheck source=tests/boot/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 7 ] || fail "usage: check-reproducible.sh BUILD_SCRIPT BOOT_SRCDIR CC OBJCOPY STAGE3A STAGE3B STAGE3B_RELOC"
script=$1
src=$2
cc=$3
objcopy=$4
declare -A built=([stage3a]=$5 [stage3b]=$6 [stage3b_reloc]=$7)

tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
passed=0

# rebuild NAME TZ UMASK: sources copied to $tmp/NAME/<deeper path>, outputs in $tmp/NAME/out.
rebuild() {
	local dir=$tmp/$1/some/other/path t
	mkdir -p "$dir/boot" "$dir/include/pvkit" "$tmp/$1/out"
	cp -p "$src"/* "$dir/boot/"
	cp -p "$src/../include/pvkit/uvrc.h" "$dir/include/pvkit/"
	for t in stage3a stage3b stage3b_reloc; do
		# stage3b_reloc builds its own stage3b here instead of taking Meson's.
		(umask "$3" && TZ=$2 "$script" --cc "$cc" --objcopy "$objcopy" \
			"$dir/boot" "$tmp/$1/work-$t" $t "$tmp/$1/out/$t.bin")
	done
}

rebuild first UTC0 022
rebuild second Pacific/Kiritimati 077
for run in first second; do
	for t in stage3a stage3b stage3b_reloc; do
		if cmp "${built[$t]}" "$tmp/$run/out/$t.bin"; then
			echo "ok: $t.bin identical ($run rebuild)"
			passed=$((passed + 1))
		else
			fail "$t.bin differs between the Meson build and the $run rebuild"
		fi
	done
done
echo "$passed passed, 0 failed"
