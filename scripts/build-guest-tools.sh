#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Cross-build pvkit's guest-side commands for s390x and stage them, with the
# shared libraries they load, as a root tree for the test guest's initramfs
# (scripts/make-initramfs.sh --tools DIR):
#
#   DIR/usr/bin/{pvattest,pvsecret,pvinfo,pvapconfig,lszcrypt,chzcrypt,pvattest-agent}
#   DIR/lib/ld64.so.1, DIR/lib/s390x-linux-gnu/*.so.*   (from the s390x sysroot)
#
# The sysroot and the Meson cross file come from scripts/s390x-sysroot.sh; the
# build directory is kept (default build-guest/ in the source tree), so a
# second run only relinks what changed. libcurl, which libpvkit loads when it is first
# needed (dlopen), is staged with its libraries for pvattest-agent's HTTP.
#
# Usage: scripts/build-guest-tools.sh [--builddir DIR] OUTDIR
# Exit status: 0 staged, 1 failed (the reason on standard error).
set -euo pipefail

die() {
	echo "build-guest-tools.sh: $*" >&2
	exit 1
}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$top/build-guest
while [ $# -gt 0 ]; do
	case "$1" in
	--builddir) [ $# -ge 2 ] || die "--builddir needs a directory"; builddir=$2; shift 2 ;;
	-h | --help) sed -n '4,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: build-guest-tools.sh [--builddir DIR] OUTDIR"
out=$1
TOOLS="pvattest pvsecret pvinfo pvapconfig lszcrypt chzcrypt pvattest-agent"
readelf=s390x-linux-gnu-readelf
command -v $readelf >/dev/null 2>&1 || die "$readelf not found (apt-get install binutils-s390x-linux-gnu)"

# One build at a time in one build directory (tests may run in parallel).
mkdir -p "$builddir"
exec 9>"$builddir/.pvkit-lock"
flock 9

cross=$("$top/scripts/s390x-sysroot.sh") || die "no s390x sysroot (scripts/s390x-sysroot.sh failed)"
sysroot=$(sed -n "s/^sys_root = '\(.*\)'$/\1/p" "$cross")
[ -d "$sysroot" ] || die "$cross names no sys_root"
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" "$top" --cross-file "$cross" -Dboot=disabled -Dtests=false \
		--buildtype=release >"$builddir/pvkit-setup.log" 2>&1 ||
		die "meson setup failed (see $builddir/pvkit-setup.log)"
fi
targets=()
for t in $TOOLS; do targets+=("tools/$t"); done
ninja -C "$builddir" "${targets[@]}" >"$builddir/pvkit-build.log" 2>&1 ||
	die "the s390x build failed (see $builddir/pvkit-build.log)"

tmp=$(mktemp -d "${out%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/usr/bin" "$tmp/lib/s390x-linux-gnu"

# The library a NEEDED name resolves to in the sysroot (Debian's multiarch dirs).
find_lib() {
	local d
	for d in lib/s390x-linux-gnu usr/lib/s390x-linux-gnu lib usr/lib; do
		[ -e "$sysroot/$d/$1" ] && { printf '%s\n' "$sysroot/$d/$1"; return 0; }
	done
	return 1
}
needed() { $readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

declare -A seen=()
queue=()
for t in $TOOLS; do
	install -m 755 "$builddir/tools/$t" "$tmp/usr/bin/$t"
	queue+=("$tmp/usr/bin/$t")
done
# loaded with dlopen, so no NEEDED entry names it
seen[libcurl.so.4]=1
lib=$(find_lib libcurl.so.4) || die "libcurl.so.4 is not in the sysroot $sysroot"
cp -L "$lib" "$tmp/lib/s390x-linux-gnu/libcurl.so.4"
queue+=("$tmp/lib/s390x-linux-gnu/libcurl.so.4")
while [ ${#queue[@]} -gt 0 ]; do
	f=${queue[0]}
	queue=("${queue[@]:1}")
	for n in $(needed "$f"); do
		[ -z "${seen[$n]:-}" ] || continue
		seen[$n]=1
		lib=$(find_lib "$n") || die "$n (needed by ${f##*/}) is not in the sysroot $sysroot"
		# Copy the file, not the link: the archive holds plain files.
		cp -L "$lib" "$tmp/lib/s390x-linux-gnu/$n"
		queue+=("$tmp/lib/s390x-linux-gnu/$n")
	done
done
interp=$($readelf -l "$tmp/usr/bin/pvattest" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
[ -n "$interp" ] || die "pvattest names no program interpreter"
mkdir -p "$tmp$(dirname "$interp")"
cp -L "$sysroot$interp" "$tmp$interp" 2>/dev/null ||
	cp -L "$(find_lib "$(basename "$interp")")" "$tmp$interp" ||
	die "the program interpreter $interp is not in the sysroot"
s390x-linux-gnu-strip --strip-unneeded "$tmp/usr/bin/"* "$tmp/lib/s390x-linux-gnu/"* 2>/dev/null || true

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
