# SPDX-License-Identifier: MIT
# The guest's part of tests/e2e/test_guest.sh, run by the test guest's /init
# (scripts/make-initramfs.sh --job) inside the booted s390x guest. Each step
# prints "GUEST-STEP: NAME", its output, and "rc=N"; the files to and from the
# host are in the 9p share /run/pvkit/share.
S=/run/pvkit/share
step() { echo "GUEST-STEP: $1"; }
rc() { echo "rc=$?"; }
# wait_for FILE: the host hands a file in (at most 240 s)
wait_for() {
	i=0
	while [ ! -e "$S/$1" ] && [ $i -lt 2400 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$S/$1" ]
}

step env
echo "PVKIT_UV_DEVICE=$PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT=$PVKIT_SYSFS_ROOT"
echo "prot_virt_guest=$(cat "$PVKIT_SYSFS_ROOT/firmware/uv/prot_virt_guest")"
uname -m

step pvinfo
pvinfo
rc

step perform
pvattest perform -i "$S/attest.req" -o "$S/attest.resp" -u "$S/userdata"
rc
# pvattestd over the virtio-serial port the host forwards (no network in the guest)
if [ -e "$S/agent.go" ]; then
	step agent
	mkdir -p "$S/released"
	pvattest-agent -v --via org.pvkit.attest --url http://127.0.0.1 --image e2e -o "$S/released" \
		--timeout 120
	rc
	step agent-b
	pvattest-agent --via org.pvkit.attest --url http://127.0.0.1 --image e2e \
		--host-key-hash "$(cat "$S/host-b.phkh")" --timeout 60
	rc
fi
step perform-b
pvattest perform -i "$S/attest-b.req" -o "$S/attest-b.resp"
rc
touch "$S/attest.done"

step wait
wait_for secret.ready
rc

step add-tampered
pvsecret add "$S/tampered.req"
rc
step add-assoc
pvsecret add "$S/assoc.req"
rc
step add-retr
pvsecret add "$S/retr.req"
rc
step list
pvsecret list
rc
step retrieve
pvsecret retrieve --inform name --outform bin -o "$S/retrieved.txt" e2e-key
rc

step lszcrypt-before
lszcrypt -V
rc
step pvapconfig
mkdir -p /run/lock
pvapconfig -c "$S/apconfig.yaml"
rc
step lszcrypt-after
lszcrypt -V
rc

step lock
pvsecret lock
rc
step add-locked
pvsecret add --force "$S/assoc.req"
rc

# Raw bytes on the port, as a broken or killed process would leave them: the endpoint
# drops the connection (QEMU reconnects), and the next command still gets its answers.
port=
for d in /sys/class/virtio-ports/*; do
	[ "$(cat "$d/name")" = org.pvkit.uv ] && port=/dev/${d##*/}
done
hdr() { # hdr NR IN_LEN (octal escapes of 4 bytes each, big-endian)
	printf 'PVUV\0\0\0\1%b\0\0\0\0%b\0\0\0\20' "$1" "$2"
}
step raw-garbage
printf 'this is not a uvsim request at all, not even its magic' >"$port"
pvinfo >/dev/null
rc
step raw-oversized
hdr '\0\0\0\1' '\177\377\377\377' >"$port"
pvsecret list >/dev/null
rc
step raw-half-sent
{ hdr '\0\0\0\0' '\0\0\0\100'; printf 'only8byt'; } >"$port"
pvsecret list >/dev/null
rc

step parallel
for n in 1 2 3 4; do
	(pvattest perform -i "$S/attest.req" -o "/tmp/p$n.resp" >"/tmp/p$n.out" 2>&1 &&
		pvsecret list >>"/tmp/p$n.out" 2>&1 && echo ok >"/tmp/p$n.ok") &
done
wait
ok=0
for n in 1 2 3 4; do
	if [ -e "/tmp/p$n.ok" ]; then ok=$((ok + 1)); else cat "/tmp/p$n.out"; fi
done
echo "parallel ok=$ok"
step end
