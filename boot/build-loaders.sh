#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Build one of pvkit's s390x boot loaders with the cross toolchain.
# Used by boot/meson.build and by the reproducibility test, so that both run
# exactly the same commands.
#
#   build-loaders.sh [--cc CC] [--objcopy OBJCOPY] [--stage3b BIN] SRCDIR WORKDIR TARGET OUTPUT
#
# SRCDIR is boot/ of the source tree (../include is used too). TARGET is
# stage3a, stage3b or stage3b_reloc. stage3b_reloc embeds stage3b.bin:
# the one given with --stage3b, else one built on the way. WORKDIR holds the
# intermediate files; OUTPUT (the .bin) is replaced atomically.
set -euo pipefail

CC=s390x-linux-gnu-gcc
OBJCOPY=s390x-linux-gnu-objcopy
STAGE3B=
while [ $# -gt 0 ]; do
	case $1 in
	--cc) CC=$2; shift 2 ;;
	--objcopy) OBJCOPY=$2; shift 2 ;;
	--stage3b) STAGE3B=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "build-loaders.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -ne 4 ]; then
	echo "usage: build-loaders.sh [--cc CC] [--objcopy OBJCOPY] [--stage3b BIN] SRCDIR WORKDIR TARGET OUTPUT" >&2
	exit 2
fi
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
WORK=$(cd "$2" && pwd)
TARGET=$3
OUTPUT=$4

# Compiler headers only (stddef.h, stdint.h): the result must not depend on
# whichever s390x libc headers happen to be installed.
GCC_INCLUDE=$("$CC" -print-file-name=include)

# Flags as IBM builds its loaders (SE-FORMATS.md §1.12), plus what makes the
# output independent of the toolchain's defaults and of the build paths.
CFLAGS=(-std=gnu17 -m64 -mzarch -march=z196 -mtune=z196 -fno-pie -Os
	-mpacked-stack -mstack-size=4096 -mstack-guard=128 -msoft-float
	-ffreestanding -fno-builtin -fno-common -fno-stack-protector
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident
	-fno-delete-null-pointer-checks -fno-tree-loop-distribute-patterns
	-Wall -Wextra -Werror
	-nostdinc -isystem "$GCC_INCLUDE" -I"$SRC" -I"$SRC/../include"
	"-ffile-prefix-map=$SRC=boot" "-ffile-prefix-map=$WORK=.")
# shellcheck disable=SC2054 # the commas belong to -Wl options
LDFLAGS=(-m64 -nostdlib -static -no-pie -Wl,--build-id=none
	-Wl,--orphan-handling=error -Wl,-z,noexecstack -Wl,--fatal-warnings)
# The loaders are flat images that are both code and data. (No grep -q: with
# pipefail, ld dying of SIGPIPE would make the test fail at random.)
if "$("$CC" -print-prog-name=ld)" --help 2>/dev/null | grep -- --no-warn-rwx-segments >/dev/null; then
	LDFLAGS+=("-Wl,--no-warn-rwx-segments")
fi

compile() { # source object
	"$CC" "${CFLAGS[@]}" -c "$SRC/$1" -o "$WORK/$2"
}

lds() { # name
	"$CC" -E -P -undef -x assembler-with-cpp -I"$SRC" "$SRC/$1.lds.S" -o "$WORK/$1.lds"
}

link() { # name objects...
	local name=$1 o objs=()
	shift
	lds "$name"
	for o in "$@"; do
		objs+=("$WORK/$o")
	done
	"$CC" "${LDFLAGS[@]}" -Wl,-T,"$WORK/$name.lds" "${objs[@]}" -o "$WORK/$name.elf"
	"$OBJCOPY" -O binary "$WORK/$name.elf" "$WORK/$name.bin"
}

common() {
	compile cpu.S cpu.o
	compile lib.c lib.o
	compile console.c console.o
}

build_stage3b() {
	common
	compile stage3b_head.S stage3b_head.o
	compile stage3b.c stage3b.o
	link stage3b stage3b_head.o stage3b.o console.o lib.o cpu.o
}

case $TARGET in
stage3a)
	common
	compile pv_rc.c pv_rc.o
	compile stage3a_head.S stage3a_head.o
	compile stage3a.c stage3a.o
	link stage3a stage3a_head.o stage3a.o pv_rc.o console.o lib.o cpu.o
	;;
stage3b)
	build_stage3b
	;;
stage3b_reloc)
	if [ -n "$STAGE3B" ]; then
		cp "$STAGE3B" "$WORK/stage3b.bin.tmp"
		mv -f "$WORK/stage3b.bin.tmp" "$WORK/stage3b.bin"
	else
		build_stage3b
	fi
	# .incbin looks for stage3b.bin in the work directory.
	CFLAGS+=("-Wa,-I$WORK")
	compile stage3b_reloc.S stage3b_reloc.o
	link stage3b_reloc stage3b_reloc.o
	;;
*)
	echo "build-loaders.sh: unknown target $TARGET" >&2
	exit 2
	;;
esac

# Data files, not programs (objcopy keeps the ELF's execute bits).
cp "$WORK/$TARGET.bin" "$OUTPUT.tmp"
chmod 644 "$OUTPUT.tmp"
mv -f "$OUTPUT.tmp" "$OUTPUT"
