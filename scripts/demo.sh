#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pvkit's main job, start to end, on any x86 Linux machine (the README's first command):
#   1. install what is missing and build;
#   2. make a test PKI (root CA, intermediate, IBM Z signing key, two hosts, CRLs);
#   3. take a sample s390x kernel (Debian's), an initrd and a parmfile;
#   4. build an SE image for both hosts with full host-key verification;
#   5. show pvimg info of it, test it against the hosts and extract its header.
# Later issues add the software ultravisor: unpack and boot, attestation, secrets.
#
# Usage: scripts/demo.sh [WORKDIR (default build/demo)]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
work=${1:-$top/build/demo}

step() { printf '\n=== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Install dependencies and build"
./scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
bin=$top/build/tools

rm -rf "$work"
mkdir -p "$work"
cd "$work"

step "A test PKI with two hosts (host keys stay in pki/, as a simulated ultravisor's would)"
show "$bin/pvkit-testpki" --dir pki --hosts 2 --verbose

step "Sample components: Debian's s390x kernel, an initrd, a parmfile"
kernel=
if dpkg --print-foreign-architectures | grep -qx s390x || {
	dpkg --add-architecture s390x && apt-get update -qq
}; then
	"$top/tests/boot/fetch-s390x-kernel.sh" "$work/kernel" >/dev/null 2>&1 || true
	kernel=$(ls "$work"/kernel/boot/vmlinuz-*-s390x 2>/dev/null | sort -V | tail -n1 || true)
fi
if [ -z "$kernel" ]; then
	# Offline fallback: a stand-in with the marks pvimg checks (not bootable).
	echo "(Debian's s390x kernel could not be fetched: using a stand-in kernel)"
	kernel=$work/vmlinuz
	head -c $((4 * 1024 * 1024)) /dev/urandom >"$kernel"
	printf 'S390EP' | dd of="$kernel" bs=1 seek=$((0x10008)) conv=notrunc status=none
fi
mkdir -p initramfs
printf '#!/bin/sh\necho "hello from a pvkit secure guest"\n' >initramfs/init
chmod +x initramfs/init
(cd initramfs && find . | cpio -o -H newc --quiet | gzip -9) >initrd.img
echo "console=ttyS0 loglevel=4 swiotlb=262144 pvkit.demo=1" >parmfile
ls -l "$kernel" initrd.img parmfile

step "Build the SE image with full host-key verification"
show "$bin/pvimg" -v create -i "$kernel" -r initrd.img -p parmfile \
	-k pki/host1.crt -k pki/host2.crt \
	--cert pki/inter_ca.crt --cert pki/ibm.crt \
	--crl pki/root_ca.crl --crl pki/inter_ca.crl --crl pki/ibm.crl \
	--root-ca pki/root_ca.crt --offline \
	--hdr-key <(head -c 32 /dev/urandom | tee hdr.key) -o secure-linux
ls -l secure-linux

step "pvimg info"
show "$bin/pvimg" info --format text secure-linux
step "pvimg info, authenticated with the header key"
show "$bin/pvimg" info --format text --hdr-key hdr.key secure-linux | head -n 3

step "Can it run on the hosts?"
show "$bin/pvimg" test -k pki/host1.crt secure-linux
"$bin/pvkit-testpki" --dir other --hosts 1 >/dev/null
show "$bin/pvimg" test -k other/host1.crt secure-linux || echo "(exit $?: as expected, another machine)"

step "Extract the SE header for attestation and add-secret requests"
show "$bin/pvextract-hdr" -o sehdr.bin secure-linux

step "Refused: a revoked host-key document"
show "$bin/pvimg" create -i "$kernel" -k pki/host_revoked.crt \
	--cert pki/inter_ca.crt --cert pki/ibm.crt \
	--crl pki/root_ca.crl --crl pki/inter_ca.crl --crl pki/ibm.crl \
	--root-ca pki/root_ca.crt --offline -o refused.img || echo "(exit $?: as expected)"

printf '\nDone: %s\n' "$work"
