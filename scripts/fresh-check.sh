#!/usr/bin/env bash
# Run the test command (.ci/run) as a newcomer would: in a minimal Debian 12 root
# (debootstrap --variant=minbase, nothing added but git), on a fresh clone of this checkout's
# HEAD, with ../shared beside it (read-only) or without it. Everything else the build and the
# tests need must come from the project's own scripts/install-deps.sh inside the root.
#
# Usage: scripts/fresh-check.sh [--dir DIR] [--keep] [--no-shared] [--ref REF]
#   --dir DIR     where to build the root (default /var/tmp/pvkit-fresh); must not exist
#                 unless it is a root left by --keep (it is then removed first)
#   --keep        keep the root afterwards (unmounted)
#   --no-shared   run without ../shared, as in a user's clone (the vector tests skip)
#   --ref REF     the commit to clone (default HEAD)
# Needs root, network access to the Debian archive this machine's apt uses, and a few GB of
# disk. The minbase system is cached as a tarball in /var/cache/pvkit/ (the project's
# packages never are). Prints .ci/run's output, then its time; exits with its status.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=/var/tmp/pvkit-fresh
keep=0
shared=1
ref=HEAD
while [ $# -gt 0 ]; do
	case $1 in
	--dir) root=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--no-shared) shared=0; shift ;;
	--ref) ref=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "fresh-check.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-check.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
case $root in /|/work|/work/*|/usr*|/etc*|/var|/tmp) echo "fresh-check.sh: refusing --dir $root" >&2; exit 2 ;; esac
commit=$(git -C "$here" rev-parse --verify "$ref^{commit}")
shared_dir=$(cd "$here/.." && pwd)/shared

# The Debian mirror this machine's apt uses (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
if [ -z "$mirror" ]; then
	mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\(http[^[:space:]]*\/debian\)[[:space:]].*/\2/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

# Every mount below $root, deepest first.
mounts_below() {
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}
unmount_all() {
	local m
	for _ in 1 2 3; do
		for m in $(mounts_below); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
		[ -z "$(mounts_below)" ] && return 0
		sleep 1
	done
	[ -z "$(mounts_below)" ]
}
# Remove the root only when nothing is mounted inside it (a bind-mounted /dev or ../shared
# would be deleted with it).
remove_root() {
	[ -d "$root" ] || return 0
	if ! unmount_all; then
		echo "fresh-check.sh: still mounted below $root, not removing it:" >&2
		mounts_below >&2
		return 1
	fi
	rm -rf --one-file-system "$root"
}
cleanup() {
	local rc=$?
	unmount_all || true
	if [ $keep -eq 0 ]; then remove_root || true; fi
	exit $rc
}

if [ -e "$root" ]; then
	if [ -f "$root/.pvkit-fresh" ]; then
		remove_root
	else
		echo "fresh-check.sh: $root exists and is not a root this script made" >&2
		exit 2
	fi
fi
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

export DEBIAN_FRONTEND=noninteractive
if ! command -v debootstrap >/dev/null 2>&1; then
	apt-get update -qq </dev/null
	apt-get install -y -qq --no-install-recommends debootstrap </dev/null
fi

# The minbase system (plus git and the CA certificates git and apt need), cached.
cache=/var/cache/pvkit
tarball=$cache/bookworm-minbase-git.tgz
mkdir -p "$cache" "$root"
touch "$root/.pvkit-fresh"
start=$SECONDS
if [ ! -s "$tarball" ]; then
	echo "fresh-check.sh: debootstrap --variant=minbase bookworm from $mirror (cached as $tarball)"
	tmpball=$(mktemp "$cache/tarball.XXXXXX")
	rm -f "$tmpball"
	debootstrap --variant=minbase --include=git,ca-certificates --make-tarball="$tmpball" \
		bookworm "$root/.debootstrap-work" "$mirror" >/dev/null
	rm -rf --one-file-system "$root/.debootstrap-work"
	mv "$tmpball" "$tarball"
fi
debootstrap --variant=minbase --include=git,ca-certificates --unpack-tarball="$tarball" \
	bookworm "$root" "$mirror" >/dev/null
touch "$root/.pvkit-fresh"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "fresh-check.sh: minimal root ready in $((SECONDS - start)) s"

# A fresh clone of the commit, ../shared beside it.
mkdir -p "$root/work"
git clone -q --no-local "$here" "$root/work/pvkit"
git -C "$root/work/pvkit" checkout -q "$commit"
if [ $shared -eq 1 ]; then
	[ -d "$shared_dir" ] || { echo "fresh-check.sh: $shared_dir not found (use --no-shared)" >&2; exit 2; }
	mkdir -p "$root/work/shared"
	mount --bind "$shared_dir" "$root/work/shared"
	mount -o remount,bind,ro "$root/work/shared"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" 2>/dev/null ||
	mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"

echo "fresh-check.sh: running .ci/run on $commit ($([ $shared -eq 1 ] && echo "with" || echo "without") ../shared)"
run_start=$SECONDS
rc=0
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	bash -c 'cd /work/pvkit && bash .ci/run' </dev/null || rc=$?
echo "fresh-check.sh: .ci/run exited $rc after $((SECONDS - run_start)) s" \
	"($((SECONDS - start)) s with the root's set-up)"
exit $rc
