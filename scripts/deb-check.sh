#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages (issue 11), built and used as a distribution's user would:
#  - dpkg-buildpackage -b (tests off) from a copy of the source tree gives pvkit, libpvkit0
#    and libpvkit-dev; lintian --pedantic lists its tags (errors fail);
#  - none of their files, commands or man pages collides with Debian 12's s390-tools
#    (its .deb is fetched from the archive; the check skips when it cannot be);
#  - a clean Debian 12 chroot (debootstrap minbase, cached as a tarball and unpacked afresh
#    each run) installs the three .debs with apt and nothing else of the project, then runs a
#    short lifecycle from the installed files only: image build, uvsim boot, attestation.
# Prints "N passed, N failed"; exit 0 when nothing failed. Needs root (chroot, mounts).
#
# Usage: scripts/deb-check.sh [WORKDIR (default build-deb)]
#        scripts/deb-check.sh --lifecycle   (inside the chroot: the lifecycle alone)
# Environment: PVKIT_DEB_MIRROR (default http://deb.debian.org/debian),
#              PVKIT_CACHE (default ~/.cache/pvkit) holds the chroot tarball.
set -uo pipefail
T=120

# The part that runs inside the chroot, from the installed packages only.
lifecycle() {
	cd /root || exit 1
	. ./lib.sh
	tmp=$PWD
	unset PVKIT_BOOTLOADER_DIR PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
	check "pvimg is the package's" test "$(command -v pvimg)" = /usr/bin/pvimg
	check "no build tree: only /usr/share/pvkit has the loaders" \
		test -e /usr/share/pvkit/stage3a.bin -a ! -e /root/build
	fake_kernel vmlinuz
	S=$tmp/uvsim
	installed_lifecycle "$S"
	run "pvkit-lszcrypt is there under its package name" 0 "lszcrypt" -- pvkit-lszcrypt --help
	run "man pages are installed" 0 "" -- test -e /usr/share/man/man1/pvimg.1.gz
	timeout 60 uvsim --state "$S" stop --all >/dev/null 2>&1
	finish
}
if [ "${1:-}" = --lifecycle ]; then
	lifecycle
fi

cd "$(dirname "$0")/.." || exit 1
top=$PWD
. tests/cli/lib.sh
work=$(realpath -m "${1:-build-deb}")
mirror=${PVKIT_DEB_MIRROR:-http://deb.debian.org/debian}
cache=${PVKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit}
root=$work/chroot
tmp=$work

umount_chroot() {
	for m in dev/pts dev proc; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
}
umount_chroot
rm -rf "$work"
mkdir -p "$work"
trap umount_chroot EXIT

# 1. Build the packages from a copy of the tracked (and new, not ignored) files.
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
src=$work/pvkit-$version
mkdir -p "$src"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src"
if (cd "$src" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1); then
	pass "dpkg-buildpackage -b ($version)"
else
	fail "dpkg-buildpackage -b: $(tail -n 20 "$work/build.log")"
	finish
fi
debs=()
for p in pvkit libpvkit0 libpvkit-dev; do
	d=$(ls "$work/${p}_${version}_"*.deb 2>/dev/null | head -n 1)
	check "package $p built" test -n "$d"
	debs+=("$d")
done
pvattestd_deb=$(ls "$work/pvattestd_${version}_"*.deb 2>/dev/null | head -n 1)
check "package pvattestd built (the service, its unit and settings)" \
	bash -c "test -n '$pvattestd_deb' && dpkg-deb -c '$pvattestd_deb' | grep -q 'usr/sbin/pvattestd' &&
		dpkg-deb -c '$pvattestd_deb' | grep -q 'systemd/system/pvattestd.service' &&
		dpkg-deb --ctrl-tarfile '$pvattestd_deb' | tar -xO ./conffiles | grep -q /etc/pvattestd/pvattestd.yaml"
check "pvkit links libpvkit.so.0 (one copy of the library)" \
	bash -c "dpkg-deb -I '${debs[0]}' | grep -q 'Depends: libpvkit0 (= $version)'"
check "libpvkit0 depends on libcurl4 (loaded at run time, not linked)" \
	bash -c "dpkg-deb -I '${debs[1]}' | grep -q 'Depends:.*libcurl4'"
check "libpvkit0 carries a symbols file" \
	bash -c "dpkg-deb --ctrl-tarfile '${debs[1]}' | tar -t | grep -q symbols"

# 2. lintian: every tag is listed; errors fail.
lintian -I -E --pedantic "$work"/pvkit_"$version"_*.changes >"$work/lintian.txt" 2>&1
grep -v 'running with root privileges' "$work/lintian.txt" | sed 's/^/    lintian: /'
check "lintian reports no error" bash -c "! grep -q '^E:' '$work/lintian.txt'"

# 3. Beside Debian 12's s390-tools (s390x only): no path, command or man page in common.
s390tools=$work/s390-tools.deb
if curl -sSf -o "$s390tools" "$mirror/pool/main/s/s390-tools/s390-tools_2.16.0-2_s390x.deb" \
	2>"$work/curl.log"; then
	names() { for d in "$@"; do dpkg-deb -c "$d"; done | awk '{print $6}' |
		grep -E '/(s?bin|man[0-9])/.' | sed -E 's,.*/,,; s,\.gz$,,' | sort -u; }
	both=$(comm -12 <(names "${debs[@]}") <(names "$s390tools"))
	check "no command or man page shared with s390-tools 2.16 (${both:-none})" test -z "$both"
else
	echo "skip - s390-tools' .deb not fetched: $(head -c 300 "$work/curl.log")"
fi

# 4. A clean chroot with the packages installed, then the lifecycle inside it.
tarball=$cache/debian12-minbase.tar
if [ ! -s "$tarball" ]; then
	mkdir -p "$cache"
	rm -rf "$work/bootstrap"
	if debootstrap --variant=minbase bookworm "$work/bootstrap" "$mirror" \
		>"$work/debootstrap.log" 2>&1 &&
		tar -C "$work/bootstrap" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"; then
		pass "debootstrap a Debian 12 minbase (cached in $tarball)"
	else
		fail "debootstrap: $(tail -n 5 "$work/debootstrap.log")"
		finish
	fi
	rm -rf "$work/bootstrap"
fi
mkdir -p "$root"
tar -C "$root" -xf "$tarball"
check "the chroot has no pvkit before the install" test ! -e "$root/usr/bin/pvimg"
mount -t proc proc "$root/proc" && mount --bind /dev "$root/dev" &&
	mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/root/debs"
cp "${debs[@]}" "$root/root/debs/"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }
if in_root apt-get update -qq >"$work/apt.log" 2>&1 &&
	in_root bash -c 'apt-get install -y -qq --no-install-recommends /root/debs/*.deb' \
		>>"$work/apt.log" 2>&1; then
	pass "apt-get install of the three .debs in the clean chroot"
else
	fail "apt-get install: $(tail -n 10 "$work/apt.log")"
	finish
fi
check "dpkg knows pvkit, libpvkit0, libpvkit-dev" \
	bash -c "chroot \"$root\" dpkg-query -W pvkit libpvkit0 libpvkit-dev >/dev/null"
check "pvkit.pc is installed by libpvkit-dev" \
	test -e "$root/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/pkgconfig/pvkit.pc"
cp tests/cli/lib.sh "$root/root/lib.sh"
cp "$top/scripts/deb-check.sh" "$root/root/deb-check.sh"
out=$(in_root timeout 600 bash /root/deb-check.sh --lifecycle 2>&1)
echo "$out" | sed '$d'
read -r p f < <(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' |
	tail -n 1) || true
passes=$((passes + ${p:-0}))
fails=$((fails + ${f:-1}))
cd "$top" || exit 1
finish
