#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pvkit's main job, start to end, on any x86 Linux machine (the README's first command):
#   1. install what is missing (with Debian's s390x kernel and busybox) and build;
#   2. a software ultravisor (uvsim) with its test PKI and two simulated IBM Z hosts;
#   3. the components: Debian's s390x kernel, a busybox initramfs, a parmfile;
#   4. an SE image for the first host with full host-key verification;
#   5. pvimg info, pvimg test against both hosts, pvextract-hdr;
#   6. the image unpacked by uvsim as the ultravisor does and booted under QEMU: the
#      guest's /init prints the marker of the parmline and powers off; uvsim ls;
#   7. refused: the image on the other host, a revoked host-key document;
#   8. uvsim stop.
# Later issues add attestation and secrets.
#
# Usage: scripts/demo.sh [WORKDIR (default BUILDDIR/demo)]
# Environment: PVKIT_NATIVE_BUILDDIR (default build), PVKIT_SKIP_DEPS=1 skips
# scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
builddir=${PVKIT_NATIVE_BUILDDIR:-build}
case "$builddir" in /*) ;; *) builddir=$top/$builddir ;; esac
work=${1:-$builddir/demo}

step() { printf '\n=== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Install dependencies (and the s390x guest: Debian's kernel, busybox) and build"
[ "${PVKIT_SKIP_DEPS:-0}" = 1 ] || ./scripts/install-deps.sh
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" >/dev/null
bin=$builddir/tools
uvsim_bin=$builddir/uvsim/uvsim
# the uninstalled tools use this build's boot loaders (as under 'meson devenv')
export PVKIT_BOOTLOADER_DIR=${PVKIT_BOOTLOADER_DIR:-$(cd "$builddir" && pwd)/boot}
uvsim() { "$uvsim_bin" "$@"; }

rm -rf "$work"
mkdir -p "$work"
cd "$work"
export PVKIT_UVSIM_STATE=$work/uvsim
# Never leave a guest endpoint running behind, whatever happens.
trap 'uvsim stop --all >/dev/null 2>&1 || true' EXIT

step "The software ultravisor: its test PKI and two simulated IBM Z hosts (host keys stay in $PVKIT_UVSIM_STATE)"
show uvsim init
show uvsim host new z16a
show uvsim host new z16b
show uvsim host ls
hkd_a=$(uvsim host hkd z16a)
hkd_b=$(uvsim host hkd z16b)
read -ra verify <<<"$(uvsim cert-opts)"
echo "full host-key verification: ${verify[*]}"

step "Components: Debian's s390x kernel, a busybox initramfs, a parmfile"
bootable=1
if cache=$("$top/scripts/fetch-guest.sh" --print-dir) &&
	"$top/scripts/make-initramfs.sh" initramfs.cpio.gz pvkit.marker; then
	kernel=$cache/vmlinuz
	echo "kernel: $(tr '\n' ' ' <"$cache/packages")"
else
	# Offline fallback: a stand-in with the marks pvimg checks (not bootable).
	echo "(Debian's s390x kernel and busybox could not be fetched: using stand-ins, no boot)"
	bootable=0
	kernel=$work/vmlinuz
	head -c $((4 * 1024 * 1024)) /dev/urandom >"$kernel"
	printf 'S390EP' | dd of="$kernel" bs=1 seek=$((0x10008)) conv=notrunc status=none
	mkdir -p initramfs
	printf '#!/bin/sh\necho "hello from a pvkit secure guest"\n' >initramfs/init
	chmod +x initramfs/init
	(cd initramfs && find . | cpio -o -H newc --quiet | gzip -9) >initramfs.cpio.gz
fi
marker=demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
echo "console=ttysclp0 pvkit.marker=$marker" >parmfile
show cat parmfile
ls -l "$kernel" initramfs.cpio.gz parmfile

step "Build the SE image for host z16a with full host-key verification"
show "$bin/pvimg" -v create -i "$kernel" -r initramfs.cpio.gz -p parmfile \
	-k "$hkd_a" "${verify[@]}" \
	--hdr-key <(head -c 32 /dev/urandom | tee hdr.key) -o secure-linux
ls -l secure-linux

step "pvimg info"
show "$bin/pvimg" info --format text secure-linux
step "pvimg info, authenticated with the header key"
show "$bin/pvimg" info --format text --hdr-key hdr.key secure-linux | head -n 3

step "Can it run on the hosts?"
show "$bin/pvimg" test -k "$hkd_a" secure-linux
show "$bin/pvimg" test -k "$hkd_b" secure-linux || echo "(exit $?: as expected, not built for z16b)"

step "Extract the SE header for attestation and add-secret requests"
show "$bin/pvextract-hdr" -o sehdr.bin secure-linux

step "Boot it on host z16a: uvsim unpacks it as the ultravisor does, QEMU (TCG) runs the guest"
if [ $bootable -eq 1 ] && command -v qemu-system-s390x >/dev/null 2>&1; then
	show timeout 150 "$uvsim_bin" boot --host z16a --id demo --qemu --timeout 120 secure-linux |
		tr -d '\r' | tee console.txt
	if grep -qF "PVKIT-GUEST: marker=$marker " console.txt; then
		echo "(the guest's /init read marker $marker from the image's parmline: kernel, initrd and parmline arrived)"
	else
		echo "(the guest's marker line did not appear on the console)" >&2
		exit 1
	fi
else
	echo "(no bootable kernel or no qemu-system-s390x: unpack only, no QEMU)"
	show uvsim boot --host z16a --id demo secure-linux
fi
show uvsim ls
show uvsim env demo

step "Attest the guest: create the request on the trusted side, perform it in the guest, verify"
show "$bin/pvattest" create -k "$hkd_a" "${verify[@]}" --add-data phkh-img,secret-store-hash \
	-o attest.req -a attest.arpk
printf 'report of the demo guest' >userdata
(
	# Inside the guest: the tools reach the (simulated) /dev/uv through the environment.
	eval "$(uvsim env demo)"
	show "$bin/pvattest" perform -i attest.req -o attest.resp -u userdata
)
show "$bin/pvattest" verify -i attest.resp --hdr sehdr.bin -a attest.arpk -o attest.yaml
show cat attest.yaml
show "$bin/pvattest" check attest.resp check.yaml -k "$hkd_a" --host-key-check boot-key-hash \
	-u userdata --secret-store-locked false
show cat check.yaml

step "Send the guest a secret: the add-secret request is made on the trusted side, bound to this guest's CUID"
show "$bin/pvsecret" create -k "$hkd_a" "${verify[@]}" --hdr sehdr.bin --cuid attest.yaml \
	-o secret.req association demo-association --output-secret association.bin
(
	eval "$(uvsim env demo)"
	show "$bin/pvsecret" add secret.req
	show "$bin/pvsecret" list
	show "$bin/pvsecret" lock
	show "$bin/pvsecret" add --force secret.req || echo "(exit $?: as expected, the store is locked)"
)

step "Attest again: the secret store now holds that request and is locked"
show "$bin/pvattest" create -k "$hkd_a" "${verify[@]}" --add-data secret-store-hash \
	-o attest2.req -a attest2.arpk
(
	eval "$(uvsim env demo)"
	show "$bin/pvattest" perform attest2.req attest2.resp
)
show "$bin/pvattest" verify -i attest2.resp --hdr sehdr.bin -a attest2.arpk
show "$bin/pvattest" check attest2.resp check2.yaml --secret secret.req --secret-store-locked true
show cat check2.yaml

step "Refused: the image on host z16b (the ultravisor finds no key slot for its host key)"
show uvsim boot --host z16b secure-linux || echo "(exit $?: as expected)"

step "Refused: a revoked host-key document"
show "$bin/pvimg" create -i "$kernel" -k "$PVKIT_UVSIM_STATE/pki/host_revoked.crt" \
	"${verify[@]}" -o refused.img || echo "(exit $?: as expected)"

step "Stop the guest"
show uvsim stop demo
show uvsim ls

printf '\nDone: %s\n' "$work"
