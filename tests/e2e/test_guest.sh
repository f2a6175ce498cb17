#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End to end, guest side inside the guest: pvkit's guest-side commands,
# cross-built for s390x (scripts/build-guest-tools.sh), are packed into the
# initramfs of an SE image built by pvimg; uvsim boots it under
# qemu-system-s390x with a simulated Crypto Express adapter, and the guest's
# job (tests/e2e/guest-job.sh, part of the measured image) reaches its UV over
# the virtio-serial port and its sysfs view over 9p:
#   - pvattest perform in the guest; the response verified on the host, which
#     then makes an association and a retrievable secret for the guest's CUID
#     and hands them in through the shared directory;
#   - pvsecret add / list / retrieve / lock in the guest, and seed 001's AP
#     procedure (pvapconfig, lszcrypt -V shows the queue usable);
#   - refused in the guest with the UV's rc/rrc, exactly as through uvsim env:
#     an attestation request for another host, a tampered add-secret request,
#     an add after lock;
#   - several guest processes using the port at once;
#   - uvsim's host-side view agrees (secrets, lock, AP state).
#
# Skips (77) without qemu-system-s390x, without the s390x cross compiler, or
# when the guest's kernel and busybox cannot be fetched.
#
# With PVATTESTD (the service is built), pvattestd runs on loopback and the guest's
# pvattest-agent attests to it over a virtio-serial port whose host end QEMU connects to
# the service (uvsim boot --forward): the guest has no network.
#
# Usage: test_guest.sh PVIMG PVATTEST PVSECRET UVSIM BUILDDIR [PVATTESTD]
# shellcheck disable=SC2015
set -u

[ $# -eq 5 ] || [ $# -eq 6 ] ||
	{ echo "usage: test_guest.sh PVIMG PVATTEST PVSECRET UVSIM BUILDDIR [PVATTESTD]" >&2; exit 2; }
PVATTESTD=
[ $# -eq 6 ] && PVATTESTD=$(realpath "$6")
PVIMG=$(realpath "$1")
PVATTEST=$(realpath "$2")
PVSECRET=$(realpath "$3")
UVSIM=$(realpath "$4")
BUILDDIR=$(realpath "$5")
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/../../scripts" && pwd)
SKIP=77
BOOT_TIMEOUT=300

command -v qemu-system-s390x >/dev/null 2>&1 ||
	{ echo "SKIP: qemu-system-s390x not found (scripts/install-deps.sh installs qemu-system-misc)"; exit $SKIP; }
for c in s390x-linux-gnu-gcc s390x-linux-gnu-readelf; do
	command -v $c >/dev/null 2>&1 ||
		{ echo "SKIP: $c not found (scripts/install-deps.sh installs gcc-s390x-linux-gnu)"; exit $SKIP; }
done
if ! cache=$("$scripts/fetch-guest.sh" --print-dir </dev/null); then
	echo "SKIP: no s390x kernel and busybox: scripts/fetch-guest.sh could not fetch them" \
		"(no network to the Debian archive?)"
	exit $SKIP
fi

tmp=$(mktemp -d /tmp/pvkit-e2e-guest.XXXXXX)
st=$tmp/state
U=("$UVSIM" --state "$st")
qpid=
spid=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null
	[ -z "$spid" ] || kill "$spid" 2>/dev/null
	"${U[@]}" stop --all >/dev/null 2>&1
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp" || exit 1
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT

passes=0
fails=0
pass() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
show() { sed 's/^/    | /' "$1"; }
finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit
}
# run NAME EXPECTED-EXIT COMMAND...: output in out; counts a failure on another exit
run() {
	local name=$1 want=$2 rc
	shift 2
	timeout 180 "$@" >out 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		show out
		return 1
	fi
	pass "$name"
}
# expect NAME FIXED-STRING [FILE]: FILE (default out) has a line containing FIXED-STRING
expect() {
	if grep -qF -- "$2" "${3:-out}"; then pass "$1"; else fail "$1: no '$2'"; show "${3:-out}"; fi
}
# the guest's step: the lines the job printed between "GUEST-STEP: NAME" and the next step
guest_step() {
	awk -v s="GUEST-STEP: $1" '$0 == s { on = 1; next } /^GUEST-STEP: / { on = 0 } on' console.txt
}
# gexpect NAME STEP FIXED-STRING: the guest's output of STEP has FIXED-STRING
gexpect() {
	guest_step "$2" >step.out
	if grep -qF -- "$3" step.out; then pass "guest: $1"; else fail "guest: $1: no '$3'"; show step.out; fi
}

# ---- the guest-side commands for s390x
start=$(date +%s)
if ! "$scripts/build-guest-tools.sh" --builddir "$BUILDDIR/guest-s390x" "$BUILDDIR/guest-s390x-root" \
	>build.out 2>&1; then
	fail "build-guest-tools.sh"
	show build.out
	finish
fi
pass "s390x guest tools built and staged ($(($(date +%s) - start)) s)"
file=$(od -An -tx1 -N 20 "$BUILDDIR/guest-s390x-root/usr/bin/pvattest" | tr -d ' \n' | cut -c1-12,37-40)
[ "$file" = 7f454c4602020016 ] && pass "pvattest in the guest is a big-endian s390x ELF" ||
	fail "pvattest in the guest: ELF ident $file"

# ---- hosts, image
run "uvsim init" 0 "${U[@]}" init
run "uvsim host new z16a" 0 "${U[@]}" host new z16a
run "uvsim host new z16b" 0 "${U[@]}" host new z16b
hkd_a=$("${U[@]}" host hkd z16a)
hkd_b=$("${U[@]}" host hkd z16b)
read -ra cert <<<"$("${U[@]}" cert-opts)"
run "make-initramfs --tools --job" 0 "$scripts/make-initramfs.sh" \
	--tools "$BUILDDIR/guest-s390x-root" --job "$here/guest-job.sh" initrd.cpio.gz
echo "console=ttysclp0 quiet" >parmfile
run "pvimg create" 0 "$PVIMG" create -i "$cache/vmlinuz" -r initrd.cpio.gz -p parmfile \
	-k "$hkd_a" "${cert[@]}" -o se.img || finish
run "pvextract-hdr" 0 "$(dirname "$PVIMG")/pvextract-hdr" -o hdr.bin se.img

# ---- what the trusted side hands the guest before boot
mkdir share
run "pvattest create" 0 "$PVATTEST" create -k "$hkd_a" "${cert[@]}" \
	--add-data phkh-img,secret-store-hash -o share/attest.req -a attest.arpk
run "pvattest create for the other host" 0 "$PVATTEST" create -k "$hkd_b" "${cert[@]}" \
	-o share/attest-b.req -a attest-b.arpk
printf 'e2e guest %s' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" >share/userdata
MK=db3c3b3c3f097dd55ec7eb0e7fdbcb93
MK2=4a27bb66520ac85f6073a7f678d262c0
SN=93AADFK719460083
AP=(--ap "card=03,type=CEX8P,serial=$SN,domains=0x2b:0x31,mkvp=0x$MK:0x$MK2")

# ---- the attestation service on loopback, the image registered with a secret
FWD=()
if [ -n "$PVATTESTD" ]; then
	cat >pvattestd.yaml <<EOT
listen: 127.0.0.1:0
node: e2e
connection_timeout: 600
trust:
  certs: [$st/pki/inter_ca.crt, $st/pki/ibm.crt]
  crls: [$st/pki/root_ca.crl, $st/pki/inter_ca.crl, $st/pki/ibm.crl]
  root_ca: $st/pki/root_ca.crt
  offline: true
EOT
	"$PVATTESTD" -c pvattestd.yaml -d "$tmp/service" --init --port-file port serve 2>service.log &
	spid=$!
	for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
	if [ -s port ]; then
		pass "pvattestd on 127.0.0.1:$(cat port)"
		printf 'the guest secret %s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >released.txt
		run "pvattestd register (z16a allowed, a secret)" 0 "$PVATTESTD" -d "$tmp/service" register e2e \
			--url "http://127.0.0.1:$(cat port)" --image se.img -k "$hkd_a" --secret disk=released.txt
		"$(dirname "$PVIMG")/pvverify" -k "$hkd_b" --no-verify --format json 2>/dev/null |
			python3 -c "import json,sys; print(json.load(sys.stdin)['host_key_documents'][0]['phkh'][2:])" \
				>share/host-b.phkh
		FWD=(--forward "org.pvkit.attest=127.0.0.1:$(cat port)")
		touch share/agent.go
	else
		fail "pvattestd did not start: $(tail -n 3 service.log)"
	fi
fi

# ---- boot; the host side answers the guest's attestation while it runs
"${U[@]}" boot --host z16a --id g "${AP[@]}" --qemu --timeout "$BOOT_TIMEOUT" \
	--share share "${FWD[@]}" se.img >console.raw 2>&1 &
qpid=$!
i=0
while [ ! -e share/attest.done ] && kill -0 "$qpid" 2>/dev/null && [ $i -lt $((BOOT_TIMEOUT * 10)) ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -e share/attest.done ]; then
	pass "the guest performed its attestation ($(($(date +%s) - start)) s since the start)"
	run "host: pvattest verify of the guest's response" 0 "$PVATTEST" verify \
		-i share/attest.resp --hdr hdr.bin -a attest.arpk -o attest.yaml &&
		grep -q "cuid" attest.yaml && pass "host: attest.yaml has the CUID"
	run "host: pvattest check (user data, image PHKH)" 0 "$PVATTEST" check share/attest.resp \
		check.yaml -k "$hkd_a" --host-key-check boot-key-hash -u share/userdata \
		--secret-store-locked false
	run "host: association secret for the guest's CUID" 0 "$PVSECRET" create -k "$hkd_a" \
		"${cert[@]}" --hdr hdr.bin --cuid attest.yaml -o share/assoc.req \
		association "e2e association" --output-secret assoc.bin
	echo "the guest's secret $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >plain.txt
	run "host: retrievable secret for the guest's CUID" 0 "$PVSECRET" create -k "$hkd_a" \
		"${cert[@]}" --hdr hdr.bin --cuid attest.yaml -o share/retr.req \
		retrievable e2e-key --secret plain.txt --type plain
	cp share/assoc.req share/tampered.req
	# one bit of the encrypted part (behind the 0x...-byte header) flipped
	off=$(($(stat -c %s share/tampered.req) - 20))
	printf '\x01' | dd of=share/tampered.req bs=1 seek=$off conv=notrunc status=none 2>/dev/null
	cmp -s share/assoc.req share/tampered.req && fail "tampering changed nothing"
	id=$(printf '%s' "e2e association" | sha256sum | cut -d' ' -f1)
	cat >share/apconfig.yaml <<EOF
- mode: EP11
  mkvp: 0x$MK
  serialnr: $SN
  secretid: 0x$id
EOF
	touch share/secret.ready
else
	fail "the guest never reported its attestation"
fi
wait "$qpid"
qrc=$?
qpid=
tr -d '\r' <console.raw >console.txt
echo "# the guest ran for $(($(date +%s) - start)) s since the start of the test (with the build)"
[ $qrc -eq 0 ] && pass "uvsim boot --qemu: exit 0" || fail "uvsim boot --qemu: exit $qrc"
expect "QEMU exited after poweroff" "--- qemu-system-s390x ended (exit 0) ---" console.txt
expect "guest: set-up done" "PVKIT-GUEST: ready" console.txt
expect "guest: the job ran to its end" "PVKIT-GUEST: job exit 0" console.txt

# ---- what the guest saw
gexpect "environment" env "PVKIT_UV_DEVICE=vport:org.pvkit.uv"
gexpect "its sysfs view" env "prot_virt_guest=1"
gexpect "pvinfo reads the UV's query" pvinfo "Secure Execution Guest"
gexpect "max CPUs as on a real machine (the guide's 247)" pvinfo "Maximal number of CPUs in one SE-Guest 247"
gexpect "pvattest perform" perform "rc=0"
gexpect "perform for another host refused" perform-b "rc=1"
gexpect "perform for another host: the UV's rc/rrc" perform-b "rc 0x"
if [ -n "$PVATTESTD" ]; then
	gexpect "pvattest-agent over the virtio channel: verified" agent "Attestation verified: image e2e"
	gexpect "pvattest-agent: exit 0" agent "rc=0"
	cmp -s released.txt share/released/disk && pass "the secret released in the guest is the registered one" ||
		fail "the guest's released secret differs from the registered one"
	gexpect "pvattest-agent for a host not in the policy: refused" agent-b "is not allowed by the policy"
	gexpect "pvattest-agent refused: exit 2" agent-b "rc=2"
	grep -q '"path":"/v1/attestations","status":200' service.log &&
		pass "the service verified the guest's attestation" || fail "no verified attestation in the service's log"
fi
gexpect "tampered add-secret request refused" add-tampered "rc=1"
gexpect "tampered add-secret request: the UV's rc/rrc" add-tampered "rc 0x"
gexpect "pvsecret add association" add-assoc "rc=0"
gexpect "pvsecret add retrievable" add-retr "rc=0"
gexpect "pvsecret list: two secrets" list "Total number of secrets: 2"
gexpect "pvsecret list: the association ID" list "$id"
gexpect "pvsecret retrieve" retrieve "rc=0"
cmp -s plain.txt share/retrieved.txt && pass "guest: the retrieved secret is the host's plaintext" ||
	fail "guest: the retrieved secret differs from plain.txt"
gexpect "lszcrypt -V before: unbound" lszcrypt-before "unbound"
gexpect "pvapconfig" pvapconfig "rc=0"
gexpect "lszcrypt -V after: 03.002b usable" lszcrypt-after "03.002b"
if guest_step lszcrypt-after | grep -E '^03\.002b ' | grep -q 'usable'; then
	pass "guest: lszcrypt -V shows 03.002b usable"
else
	fail "guest: 03.002b not usable"
	guest_step lszcrypt-after | show /dev/stdin
fi
gexpect "pvsecret lock" lock "rc=0"
gexpect "add after lock refused" add-locked "rc=1"
gexpect "add after lock: the UV's rc/rrc" add-locked "rc 0x"
gexpect "four processes at once: all answered" parallel "parallel ok=4"
gexpect "after garbage on the port: answered" raw-garbage "rc=0"
gexpect "after an oversized request on the port: answered" raw-oversized "rc=0"
gexpect "after a half-sent request on the port: answered" raw-half-sent "rc=0"
grep -q "uvsim endpoint" "$st/guests/g/log" 2>/dev/null || true

# ---- the same refusals through uvsim env (host side) give the same rc/rrc
eval "$("${U[@]}" env g)"
rcline() { grep -o 'rc 0x[0-9a-f]*, rrc 0x[0-9a-f]*' "$1" | head -n 1; }
guest_step perform-b >g.out
"$PVATTEST" perform -i share/attest-b.req -o host-b.resp >h.out 2>&1
[ -n "$(rcline g.out)" ] && [ "$(rcline g.out)" = "$(rcline h.out)" ] &&
	pass "perform for another host: same rc/rrc in the guest and via uvsim env ($(rcline g.out))" ||
	fail "perform-b: guest '$(rcline g.out)' host '$(rcline h.out)'"
guest_step add-locked >g.out
"$PVSECRET" add --force share/assoc.req >h.out 2>&1
[ -n "$(rcline g.out)" ] && [ "$(rcline g.out)" = "$(rcline h.out)" ] &&
	pass "add after lock: same rc/rrc in the guest and via uvsim env ($(rcline g.out))" ||
	fail "add-locked: guest '$(rcline g.out)' host '$(rcline h.out)'"

# ---- uvsim's host view agrees
run "host view: uvsim ls" 0 "${U[@]}" ls && grep -qE '^g +z16a ' out && pass "host view: guest g on z16a"
run "host view: pvsecret list via uvsim env" 0 "$PVSECRET" list && expect "host view: 2 secrets" \
	"Total number of secrets: 2"
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
[ "$(cat "$st/guests/g/sys/devices/ap/card03/03.002b/se_bind")" = bound ] &&
	pass "host view: 03.002b bound" || fail "host view: se_bind $(cat "$st/guests/g/sys/devices/ap/card03/03.002b/se_bind")"
grep -q "se_associate <- '0'" "$st/guests/g/log" && pass "uvsim log: the guest's association" ||
	fail "uvsim log: no association"
finish
