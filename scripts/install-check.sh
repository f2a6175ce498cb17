#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install pvkit as a packager would and use it from the installed files only (issue 11):
# configure a build with its own prefix, `meson install`, delete the build tree, then
#  - the install holds libpvkit.so.0 (soname, only pvk_* exported), headers, pvkit.pc,
#    man pages, completions, the boot loaders and the info schema;
#  - examples/mkimage.c builds with `pkg-config --cflags --libs pvkit` and runs;
#  - the installed pvimg (no PVKIT_BOOTLOADER_DIR) builds an image, uvsim boots it and
#    pvattest attests it: a short lifecycle.
# Prints "N passed, N failed"; exit 0 when nothing failed.
#
# Usage: scripts/install-check.sh [WORKDIR (default build-install)]
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
work=$(realpath -m "${1:-build-install}")
. tests/cli/lib.sh
T=120

rm -rf "$work"
mkdir -p "$work"
tmp=$work  # lib.sh's run writes the last output to $tmp/out
prefix=$work/prefix
bdir=$work/build
if ! meson setup "$bdir" --prefix "$prefix" -Dtests=false -Dwerror=true >"$work/setup.log" 2>&1 ||
	! ninja -C "$bdir" >"$work/build.log" 2>&1 ||
	! meson install -C "$bdir" --quiet >"$work/install.log" 2>&1; then
	fail "configure, build and install (logs in $work)"
	tail -n 20 "$work"/*.log
	finish
fi
pass "meson install into $prefix"
rm -rf "$bdir"
check "the build tree is gone" test ! -e "$bdir"
unset PVKIT_BOOTLOADER_DIR PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT

libdir=$(dirname "$(find "$prefix" -name 'libpvkit.so.0' | head -n 1)")
pc=$(find "$prefix" -name pvkit.pc | head -n 1)
check "libpvkit.so.0 installed" test -e "$libdir/libpvkit.so.0"
check "its soname is libpvkit.so.0" \
	bash -c "objdump -p '$libdir/libpvkit.so.0' | grep -qE 'SONAME +libpvkit.so.0$'"
exported=$(nm -D --defined-only "$libdir/libpvkit.so.0" | awk '$3 != "PVKIT_0" {print $3}')
check "it exports only pvk_* names ($(echo "$exported" | wc -l))" \
	test -z "$(echo "$exported" | grep -v '^pvk_')"
check "pvkit.pc installed" test -n "$pc"
check "headers installed" test -e "$prefix/include/pvkit/sehdr.h"
for f in share/pvkit/stage3a.bin share/pvkit/stage3b_reloc.bin \
	share/pvkit/schema/pvimg-info-v1.schema.json share/man/man1/pvimg.1 share/man/man1/pvinfo.1 \
	share/man/man3/libpvkit.3 \
	share/bash-completion/completions/pvimg share/bash-completion/completions/pvattest; do
	check "installed: $f" test -e "$prefix/$f"
done

# The example program, against the installed library only.
export PKG_CONFIG_PATH=$(dirname "$pc")
export LD_LIBRARY_PATH=$libdir
PATH=$prefix/bin:$PATH
cd "$work" || exit 1
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
if cc -Wall -Wextra -Werror -o mkimage "$top/examples/mkimage.c" $(pkg-config --cflags --libs pvkit) \
	2>cc.log; then
	pass "examples/mkimage.c builds with pkg-config"
else
	fail "examples/mkimage.c: $(head -c 2000 cc.log)"
fi
check "mkimage links the installed libpvkit.so.0" \
	bash -c "ldd ./mkimage | grep -qF '$libdir/libpvkit.so.0'"
fake_kernel vmlinuz
run "pvkit-testpki (installed)" 0 "" -- pvkit-testpki --dir pki --hosts 1
run "mkimage builds an image and reads it back" 0 "key slots:" -- ./mkimage vmlinuz pki/host1.crt ex.img
run "installed pvimg info reads it" 0 '"nks": 1' -- pvimg info --format json ex.img

# A short lifecycle from the installed files: image, boot, attestation.
S=$work/uvsim
cleanup() { timeout 60 uvsim --state "$S" stop --all >/dev/null 2>&1; }
installed_lifecycle "$S"
cleanup
finish
