#!/usr/bin/env bash
# Install the Debian 12 (bookworm) packages pvkit needs to build and test.
# Idempotent and silent when everything is already installed; runs apt-get update
# only when something is missing. Needs root (uses sudo when available).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# Package groups: later work adds to these lists.
PKGS_BUILD="meson ninja-build pkg-config gcc libc6-dev libssl-dev libcurl4-openssl-dev libjson-c-dev libyaml-dev libxml2-dev libcmocka-dev"
# pvattestd and its tests: the HTTP server, the databases, the tokens, the load balancer
PKGS_SERVICE="libmicrohttpd-dev libsqlite3-dev libpq-dev libjwt-dev postgresql-15 haproxy"
PKGS_BOOT="gcc-s390x-linux-gnu binutils-s390x-linux-gnu libc6-dev-s390x-cross"
PKGS_QEMU="qemu-system-misc qemu-user-static"
PKGS_TEST="valgrind strace binutils libvirt-clients abigail-tools python3 python3-yaml python3-jsonschema bash-completion openssl xxd cpio time procps groff-base"
# libFuzzer and the sanitizer runtimes for scripts/fuzz.sh (Debian 12's clang 14).
PKGS_FUZZ="clang libclang-rt-14-dev"
# The deb stage (scripts/deb-check.sh): package build, lintian, a clean chroot.
# script(1) (bsdutils) for the progress-line test; mount/umount/mountpoint for the chroot.
PKGS_DEB="debhelper dpkg-dev fakeroot lintian debootstrap curl bsdutils mount"

ALL_PKGS="$PKGS_BUILD $PKGS_SERVICE $PKGS_BOOT $PKGS_QEMU $PKGS_TEST $PKGS_FUZZ $PKGS_DEB ${PKGS_EXTRA:-}"

missing=()
for p in $ALL_PKGS; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		missing+=("$p")
	fi
done

# The s390x test guest that demo.sh and the e2e test boot (Debian's kernel and static
# busybox, apt-get download into the user's cache; silent when cached). Not being able to
# fetch it only warns: the tests that need it skip.
fetch_guest() {
	"$(dirname "$0")/fetch-guest.sh" ||
		echo "install-deps.sh: warning: scripts/fetch-guest.sh could not fetch the s390x" \
			"guest (kernel, busybox); the tests that boot it will skip" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
	fetch_guest
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo DEBIAN_FRONTEND=noninteractive)
else
	echo "install-deps.sh: missing packages (${missing[*]}) and not root, no sudo" >&2
	exit 1
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -qq </dev/null >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
fetch_guest
