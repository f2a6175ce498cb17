#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pvkit's main job, start to end, on any x86 Linux machine (the README's first command):
#   1. install what is missing (with Debian's s390x kernel and busybox) and build;
#   2. a software ultravisor (uvsim) with its test PKI and two simulated IBM Z hosts;
#   3. the components: Debian's s390x kernel, a busybox initramfs, a parmfile;
#   4. an SE image for the first host with full host-key verification;
#   5. pvimg info, pvimg test against both hosts, pvextract-hdr;
#   6. the image unpacked by uvsim as the ultravisor does and booted under QEMU with a
#      simulated Crypto Express adapter; inside the guest its own s390x tools (in the
#      initramfs, with the job scripts/demo-guest-job.sh) perform the attestation, which
#      the trusted side verifies and answers with an association secret for the guest's
#      CUID; the guest adds and lists it, binds and associates its AP queue (pvapconfig,
#      lszcrypt -V), locks the store and attests again; then its pvattest-agent attests to
#      pvattestd (on loopback; the guest reaches it over a virtio-serial port, it has no
#      network) and receives the disk key registered for its image; uvsim ls;
#   7. the provider's side: the host's view, the guest's libvirt domain made and checked
#      (pvdomcheck), a dump of the guest decrypted with the owner's CCK (pvdump);
#   8. refused: the image on the other host, a revoked host-key document;
#   9. uvsim stop.
# Without the s390x guest tools (no cross compiler) the guest side runs on this machine
# through 'uvsim env'; without QEMU or the Debian guest the image is only unpacked.
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
svc_pid=
trap 'uvsim stop --all >/dev/null 2>&1 || true; [ -z "$svc_pid" ] || kill $svc_pid 2>/dev/null || true' EXIT

step "The software ultravisor: its test PKI and two simulated IBM Z hosts (host keys stay in $PVKIT_UVSIM_STATE)"
show uvsim init
show uvsim host new z16a
show uvsim host new z16b
show uvsim host ls
hkd_a=$(uvsim host hkd z16a)
hkd_b=$(uvsim host hkd z16b)
read -ra verify <<<"$(uvsim cert-opts)"
echo "full host-key verification: ${verify[*]}"

step "The guest side, cross-built for s390x: pvattest, pvsecret, pvinfo, pvapconfig, lszcrypt, chzcrypt"
bootable=1
in_guest=1
if ! cache=$("$top/scripts/fetch-guest.sh" --print-dir); then
	echo "(Debian's s390x kernel and busybox could not be fetched: stand-ins, no boot)"
	bootable=0
elif ! command -v qemu-system-s390x >/dev/null 2>&1; then
	echo "(no qemu-system-s390x: unpack only, no boot)"
	bootable=0
fi
if [ $bootable -eq 1 ] && "$top/scripts/build-guest-tools.sh" --builddir "$builddir/guest-s390x" \
	"$builddir/guest-s390x-root"; then
	show ls "$builddir/guest-s390x-root/usr/bin"
else
	echo "(no s390x guest tools: the guest side runs on this machine through 'uvsim env')"
	in_guest=0
fi
lifecycle_start=$(date +%s)

step "Components: Debian's s390x kernel, an initramfs with the guest tools and the guest's job, a parmfile"
if [ $bootable -eq 1 ]; then
	kernel=$cache/vmlinuz
	echo "kernel: $(tr '\n' ' ' <"$cache/packages")"
	if [ $in_guest -eq 1 ]; then
		show "$top/scripts/make-initramfs.sh" --tools "$builddir/guest-s390x-root" \
			--job "$top/scripts/demo-guest-job.sh" initramfs.cpio.gz pvkit.marker
	else
		show "$top/scripts/make-initramfs.sh" initramfs.cpio.gz pvkit.marker
	fi
else
	# Offline fallback: a stand-in with the marks pvimg checks (not bootable).
	kernel=$work/vmlinuz
	head -c $((4 * 1024 * 1024)) /dev/urandom >"$kernel"
	printf 'S390EP' | dd of="$kernel" bs=1 seek=$((0x10008)) conv=notrunc status=none
	mkdir -p initramfs
	printf '#!/bin/sh\necho "hello from a pvkit secure guest"\n' >initramfs/init
	chmod +x initramfs/init
	(cd initramfs && find . | cpio -o -H newc --quiet | gzip -9) >initramfs.cpio.gz
fi
marker=demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
echo "console=ttysclp0 quiet pvkit.marker=$marker" >parmfile
show cat parmfile
ls -l "$kernel" initramfs.cpio.gz parmfile

step "Build the SE image for host z16a with full host-key verification (dumps allowed, for the owner's CCK)"
head -c 32 /dev/urandom >cck.bin
show "$bin/pvimg" -v create -i "$kernel" -r initramfs.cpio.gz -p parmfile \
	-k "$hkd_a" "${verify[@]}" --cck cck.bin --enable-dump \
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

step "On the trusted side: the attestation requests the guest gets before boot"
mkdir share
show "$bin/pvattest" create -k "$hkd_a" "${verify[@]}" --add-data phkh-img,secret-store-hash \
	-o share/attest.req -a attest.arpk
show "$bin/pvattest" create -k "$hkd_a" "${verify[@]}" --add-data secret-store-hash \
	-o share/attest2.req -a attest2.arpk
printf 'report of the demo guest' >share/userdata
# seed 001: a CEX8P in EP11 mode passed through, two domains with their master keys
MK1=db3c3b3c3f097dd55ec7eb0e7fdbcb93
MK2=4a27bb66520ac85f6073a7f678d262c0
SN=93AADFK719460083
ap=(--ap "card=03,type=CEX8P,serial=$SN,domains=0x2b:0x31,mkvp=0x$MK1:0x$MK2")
echo "the guest's adapter: ${ap[*]}"

# The trusted side's answer to the guest's attestation: verify and check it, then make the
# association secret for its CUID and the AP configuration, and hand them in.
answer_guest() {
	show "$bin/pvattest" verify -i share/attest.resp --hdr sehdr.bin -a attest.arpk -o attest.yaml
	show cat attest.yaml
	show "$bin/pvattest" check share/attest.resp check.yaml -k "$hkd_a" \
		--host-key-check boot-key-hash -u share/userdata --secret-store-locked false
	show cat check.yaml
	show "$bin/pvsecret" create -k "$hkd_a" "${verify[@]}" --hdr sehdr.bin --cuid attest.yaml \
		-o share/secret.req association demo-association --output-secret association.bin
	printf -- '- mode: EP11\n  mkvp: 0x%s\n  serialnr: %s\n  secretid: 0x%s\n' "$MK1" "$SN" \
		"$(printf '%s' demo-association | sha256sum | cut -d' ' -f1)" >share/apconfig.yaml
	show cat share/apconfig.yaml
	touch share/secret.ready
}

# pvattestd on loopback (SQLite, state in the work directory), the image registered with its
# policy and a disk key to release to a guest that attests.
step "The attestation service: pvattestd on 127.0.0.1, the image registered with a disk key for its guests"
svc=$builddir/service/pvattestd
fwd=()
if [ -x "$svc" ]; then
	printf 'listen: 127.0.0.1:0\nnode: demo\nlog_format: text\ntrust:\n  certs: [%s, %s]\n  crls: [%s, %s, %s]\n  root_ca: %s\n  offline: true\n' \
		"$PVKIT_UVSIM_STATE/pki/inter_ca.crt" "$PVKIT_UVSIM_STATE/pki/ibm.crt" \
		"$PVKIT_UVSIM_STATE/pki/root_ca.crl" "$PVKIT_UVSIM_STATE/pki/inter_ca.crl" \
		"$PVKIT_UVSIM_STATE/pki/ibm.crl" "$PVKIT_UVSIM_STATE/pki/root_ca.crt" >pvattestd.yaml
	"$svc" -c pvattestd.yaml -d "$work/pvattestd" --init --port-file pvattestd.port serve 2>pvattestd.log &
	svc_pid=$!
	for _ in $(seq 100); do [ -s pvattestd.port ] && break; sleep 0.1; done
	svc_url=http://127.0.0.1:$(cat pvattestd.port)
	echo "pvattestd serves on $svc_url"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >disk.key
	show "$svc" -d "$work/pvattestd" register demo --url "$svc_url" --image secure-linux -k "$hkd_a" \
		--add-data phkh-img --secret disk=disk.key
	fwd=(--forward "org.pvkit.attest=127.0.0.1:$(cat pvattestd.port)")
	touch share/agent.go
else
	echo "(pvattestd is not built: its dependencies are missing)"
fi

if [ $in_guest -eq 1 ]; then
	step "Boot it on host z16a: uvsim unpacks it as the ultravisor does, QEMU (TCG) runs it, and the guest's side runs inside"
	echo "(guest lines are the QEMU console's; the trusted side's commands start with '\$ ')"
	"$uvsim_bin" boot --host z16a --id demo "${ap[@]}" --qemu --timeout 240 --share share --keep-memory \
		"${fwd[@]}" secure-linux 2>&1 | sed -u -e 's/\r$//' -e '/^\[/d' | tee console.txt &
	qemu_pid=$!
	i=0
	while [ ! -e share/attest.done ] && [ $i -lt 2400 ] && kill -0 $qemu_pid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e share/attest.done ] || { echo "the guest did not perform its attestation" >&2; exit 1; }
	echo "--- on the trusted side, while the guest waits"
	answer_guest
	wait $qemu_pid
	grep -qF "PVKIT-GUEST: marker=$marker " console.txt ||
		{ echo "(the guest's marker line did not appear on the console)" >&2; exit 1; }
	grep -qF "PVKIT-GUEST: job exit 0" console.txt ||
		{ echo "(the guest's job did not run to its end)" >&2; exit 1; }
	echo "(the guest read marker $marker from the image's parmline and ran its side inside)"
	if [ -e share/agent.go ]; then
		cmp -s disk.key share/released/disk ||
			{ echo "(the disk key the guest received is not the registered one)" >&2; exit 1; }
		echo "(the disk key the guest received over its virtio-serial port is the one registered)"
	fi
else
	step "Boot it on host z16a: uvsim unpacks it as the ultravisor does"
	if [ $bootable -eq 1 ]; then
		show timeout 150 "$uvsim_bin" boot --host z16a --id demo "${ap[@]}" --qemu --timeout 120 --keep-memory \
			secure-linux | tr -d '\r' | tee console.txt
	else
		show uvsim boot --host z16a --id demo "${ap[@]}" --keep-memory secure-linux
	fi
	(
		# The guest side on this machine through the environment (uvsim env).
		eval "$(uvsim env demo)"
		show "$bin/pvattest" perform -i share/attest.req -o share/attest.resp -u share/userdata
	)
	answer_guest
	(
		eval "$(uvsim env demo)"
		show "$bin/pvsecret" add share/secret.req
		show "$bin/pvsecret" list
		show "$bin/pvsecret" lock
		show "$bin/pvattest" perform share/attest2.req share/attest2.resp
		if [ -e share/agent.go ]; then
			mkdir -p share/released
			show "$bin/pvattest-agent" --url "$svc_url" --image demo -o share/released
		fi
	)
fi
if [ -e share/agent.go ]; then
	step "The service's audit report: every attestation, verified or refused, per image and guest"
	show "$svc" -d "$work/pvattestd" audit --url "$svc_url"
fi

step "The host's view of the guest"
show uvsim ls
show uvsim env demo

step "Attest again: the secret store now holds the association secret and is locked"
show "$bin/pvattest" verify -i share/attest2.resp --hdr sehdr.bin -a attest2.arpk
show "$bin/pvattest" check share/attest2.resp check2.yaml --secret share/secret.req \
	--secret-store-locked true
show cat check2.yaml
echo "(the lifecycle, from the guest tools to here, took $(($(date +%s) - lifecycle_start)) s)"

step "The cloud provider's side (ch. 10): the host as it checks it, and the guest's libvirt domain checked"
show uvsim host show z16a
show uvsim domxml demo -o secguest.xml
show cat secguest.xml
show "$bin/pvdomcheck" -v secguest.xml
sed -e 's/<memballoon model="none"\/>/<memballoon model="virtio"\/>/' secguest.xml >balloon.xml
show "$bin/pvdomcheck" balloon.xml || echo "(exit $?: as expected, a balloon is not allowed)"

step "A dump of the guest (ch. 6): the host gets it encrypted, the owner decrypts it with the CCK"
show uvsim dump demo -o demo-dump.elf
show "$bin/pvdump" info demo-dump.elf
show "$bin/pvdump" decrypt --cck cck.bin -o demo-plain.elf demo-dump.elf
if grep -qF "pvkit.marker=$marker" demo-plain.elf && ! grep -qF "pvkit.marker=$marker" demo-dump.elf; then
	echo "(the parmline with marker $marker is in the decrypted dump, not in the encrypted one)"
else
	echo "(the decrypted dump does not hold the parmline)" >&2
	exit 1
fi

step "Refused: the image on host z16b (the ultravisor finds no key slot for its host key)"
show uvsim boot --host z16b secure-linux || echo "(exit $?: as expected)"

step "Refused: a revoked host-key document"
show "$bin/pvimg" create -i "$kernel" -k "$PVKIT_UVSIM_STATE/pki/host_revoked.crt" \
	"${verify[@]}" -o refused.img || echo "(exit $?: as expected)"

step "Stop the guest"
show uvsim stop demo
show uvsim ls

printf '\nDone: %s\n' "$work"
