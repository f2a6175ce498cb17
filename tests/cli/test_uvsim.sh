#!/usr/bin/env bash
# uvsim from the command line: state directory, simulated hosts, booting SE images built by
# pvimg (the UV's unpack and its refusals), the guest's endpoint and sysfs view, ls/env/stop,
# file modes, and the host private key never leaving hosts/.
#
# Usage: test_uvsim.sh UVSIM PVIMG PVKIT-TESTPKI [PVATTEST]
# With PVATTEST, an attestation goes through the guest's endpoint process (the one that
# holds the host key) from the environment 'uvsim env' prints.
set -u

UVSIM=$(realpath "$1")
PVIMG=$(realpath -s "$2")
TESTPKI=$(realpath "$3")
PVATTEST=${4:+$(realpath "$4")}
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
make_tmp uvsim
ST=$tmp/state
# shellcheck disable=SC2317 # called on exit by lib.sh
cleanup() {
	# never leave endpoint processes behind
	"$UVSIM" --state "$ST" stop --all >/dev/null 2>&1
}
cd "$tmp" || exit 1
U=("$UVSIM" --state "$ST")
RUN_LOG=$tmp/all.out # all output, for the host key check

json() { # json FILE KEY: a top-level field of a JSON file
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# alive PID: the process exists and is not a zombie waiting for its reaper
alive() {
	local s
	kill -0 "$1" 2>/dev/null || return 1
	# The state field of /proc/PID/stat (after the command name in parentheses): no ps needed.
	s=$(sed -n 's/.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
	case "$s" in Z*|X*|"") return 1 ;; esac
	return 0
}

# gone PID: not alive within 5 s
gone() {
	for _ in $(seq 50); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# ---- state directory and hosts ----

run "init" 0 "uvsim state in $ST" -- "${U[@]}" init
run "init again" 0 "" -- "${U[@]}" init
run "host new A" 0 "$ST/hosts/A/hkd.crt" -- "${U[@]}" host new A
run "host new B" 0 "" -- "${U[@]}" host new B
run "duplicate host refused" 2 "exists already" -- "${U[@]}" host new A
for bad in "" "a/b" "../x" ".hidden" "-x" "a b" "a*" \
	"$(printf 'h%.0s' {1..64})"; do
	run "invalid host name '$bad' refused" 2 "not a valid host name" -- "${U[@]}" host new "$bad"
done
check "no host directory for refused names" \
	test "$(ls "$ST/hosts" | tr '\n' ' ')" = "A B "
run "host ls" 0 "$ST/hosts/B/hkd.crt" -- "${U[@]}" host ls
run "host hkd" 0 "$ST/hosts/A/hkd.crt" -- "${U[@]}" host hkd A
run "host hkd of an unknown host" 2 "no simulated host" -- "${U[@]}" host hkd C
# the host's view (issue 14, the guide's ch. 10): the example of /proc/sysinfo and the HKD's name
run "host new --type --serial" 0 "$ST/hosts/Z/hkd.crt" -- "${U[@]}" host new --type 3931 --serial 12345 Z
check "host view: /proc/sysinfo as the guide shows it" \
	grep -qx "Sequence Code:        000000000012345" "$ST/hosts/Z/proc/sysinfo"
check "host view: Type 3931" grep -qx "Type:                 3931" "$ST/hosts/Z/proc/sysinfo"
check "host view: the HKD under Resource Link's name HKD-3931-12345.crt" \
	cmp -s "$ST/hosts/Z/hkd.crt" "$ST/hosts/Z/HKD-3931-12345.crt"
check "host view: prot_virt_host 1" test "$(cat "$ST/hosts/Z/sys/firmware/uv/prot_virt_host")" = 1
run "host show" 0 "Serial number:     12345 (the five right-most digits of Sequence Code 000000000012345)" -- \
	"${U[@]}" host show Z
check "host show: machine" grep -q "Machine type:      3931 (IBM z16 A01)" "$tmp/out"
check "host show: the opt-in's boot message" grep -q "Reserving 322MB as ultravisor base storage" "$tmp/out"
check "host show: the UV's limits" grep -qE "^  max_cpus +247$" "$tmp/out"
run "host show --format json" 0 "" -- "${U[@]}" host show Z --format json
check "host show --format json: fields" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["machine_type"] == "3931" and d["serial"] == "12345" and d["prot_virt_host"] is True
assert d["host_key_document"].endswith("/hosts/Z/HKD-3931-12345.crt")
assert d["uv_query"]["max_guests"] == "1024" and d["uv_query"]["max_cpus"] == "247"' "$tmp/out"
run "host env" 0 "export PVKIT_SYSFS_ROOT='$ST/hosts/Z/sys'" -- "${U[@]}" host env Z
run "host new --type=8561 --serial=0A1B2 (z15)" 0 "" -- "${U[@]}" host new --type=8561 --serial=0A1B2 Y
check "host view: a z15's HKD name" test -f "$ST/hosts/Y/HKD-8561-0A1B2.crt"
run "host new --type 3906 (z14): refused" 2 "needs an IBM z15 or later" -- "${U[@]}" host new --type 3906 X
run "host new --serial 1234: refused" 2 "five digits" -- "${U[@]}" host new --serial 1234 X
run "host new --type without a value" 2 "requires a value" -- "${U[@]}" host new X --type
check "no host for refused machines" test ! -e "$ST/hosts/X"
run "host show of an unknown host" 2 "no simulated host" -- "${U[@]}" host show C
rm -rf "$ST/hosts/Y" "$ST/hosts/Z"
run "cert-opts" 0 "--root-ca $ST/pki/root_ca.crt" -- "${U[@]}" cert-opts
read -r -a CERT_OPTS <out
run "state from \$PVKIT_UVSIM_STATE" 0 "$ST/hosts/A/hkd.crt" -- \
	env PVKIT_UVSIM_STATE="$ST" "$UVSIM" host ls
run "unknown command" 2 "" -- "${U[@]}" frobnicate
run "no command" 2 "" -- "${U[@]}"

# ---- an SE image for host A ----

fake_kernel vmlinuz
head -c 100000 /dev/urandom >initrd
echo "root=/dev/ram0 pvkit.marker=uvsim" >parmfile
if ! run "pvimg create for host A (verified HKD)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k "$ST/hosts/A/hkd.crt" \
	"${CERT_OPTS[@]}" -o se.img && grep -q 'stage3' out; then
	echo "pvimg has no boot loaders (built with -Dboot=disabled?): skipped"
	exit 77
fi
run "pvimg create for host B (--no-verify)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -k "$ST/hosts/B/hkd.crt" --no-verify -o seB.img
"$PVIMG" info --format json se.img >info.json 2>/dev/null
PHKH=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"]["keyslots"][0]["phkh_hex"])' info.json)
check "key slot hash read" test "${#PHKH}" -eq 64

# ---- boot ----

run "boot --host A" 0 "booted on host A" -- "${U[@]}" boot --host A se.img
ID=$(sed -n 's/^guest \([^ ]*\) booted on host A (CUID 0x\([0-9a-f]\{32\}\))$/\1/p' out)
CUID=$(sed -n 's/^guest \([^ ]*\) booted on host A (CUID 0x\([0-9a-f]\{32\}\))$/\2/p' out)
check "boot prints the guest id and CUID" test -n "$ID" -a "${#CUID}" -eq 32
GDIR=$ST/guests/$ID
check "guest.json holds the CUID" test "$(json "$GDIR/guest.json" cuid)" = "$CUID"
PID=$(json "$GDIR/guest.json" pid)
check "the endpoint process runs" alive "$PID"
check "the endpoint listens" test -S "$GDIR/uv.sock"

# A client that trickles a request one byte every 2 s is cut off within the endpoint's
# 10-second request deadline, and the endpoint keeps answering others meanwhile.
python3 - "$GDIR/uv.sock" >trickle.out <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
start = time.monotonic()
try:
    for b in b"PVUV\0\0\0\1" + bytes(16):
        s.send(bytes([b]))
        time.sleep(2)
        if time.monotonic() - start > 20:
            break
    s.settimeout(5)
    closed = s.recv(16) == b""
except OSError:
    closed = True
print("closed" if closed and time.monotonic() - start < 16 else "held", round(time.monotonic() - start))
PY
trickle=$!
sleep 1
info_rc() { # the UV-info answer's rc, asked over the socket directly
	python3 - "$1" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"PVUV" + struct.pack(">IIIII", 1, 0, 0, 0, 16))
rsp = b""
while len(rsp) < 32:
    chunk = s.recv(32 - len(rsp))
    if not chunk:
        break
    rsp += chunk
print(struct.unpack(">H", rsp[8:10])[0] if rsp[:4] == b"PVUV" else -1)
PY
}
check "served while a client trickles" test "$(info_rc "$GDIR/uv.sock")" = 1
wait "$trickle"
check "a trickling client is cut off by the request deadline" grep -q '^closed' trickle.out

run "env" 0 "export PVKIT_UV_DEVICE='uvsim:$GDIR/uv.sock'" -- "${U[@]}" env "$ID"
check "env sets PVKIT_SYSFS_ROOT" grep -qxF "export PVKIT_SYSFS_ROOT='$GDIR/sys'" out
SYSFS=$( (eval "$(cat out)"; echo "$PVKIT_SYSFS_ROOT") )
check "env output evaluates" test "$SYSFS" = "$GDIR/sys"
run "env of an unknown guest" 2 "no guest" -- "${U[@]}" env nosuch
run "env with an invalid id" 2 "" -- "${U[@]}" env ../x

check "sysfs: prot_virt_guest = 1" test "$(cat "$SYSFS/firmware/uv/prot_virt_guest")" = 1
check "sysfs: keys/all has 15 lines" test "$(wc -l <"$SYSFS/firmware/uv/keys/all")" -eq 15
check "sysfs: keys/all starts with the key slot's hash" \
	test "$(head -n 1 "$SYSFS/firmware/uv/keys/all")" = "$PHKH"
check "sysfs: keys/hash is the host key hash" \
	test "$(cat "$SYSFS/firmware/uv/keys/hash")" = "$PHKH"
check "sysfs: 14 unused slots" \
	test "$(tail -n 14 "$SYSFS/firmware/uv/keys/all" | sort -u)" = "$(printf '0%.0s' {1..64})"
check "sysfs: query/max_secrets" test -s "$SYSFS/firmware/uv/query/max_secrets"
run "pvimg test --key-hashes (the guest's keys/all)" 0 " ✓ Host key hash 0x" -- \
	"$PVIMG" test --key-hashes="$SYSFS/firmware/uv/keys/all" se.img
run "pvimg test --key-hashes: host B's image" 1 " ✘ None of the key hashes is included" -- \
	"$PVIMG" test --key-hashes="$SYSFS/firmware/uv/keys/all" seB.img
# without FILE, inside the guest's environment: the guest's view, not the machine's /sys
run "pvimg test --key-hashes (no FILE) in the guest's environment" 0 " ✓ Host key hash 0x" -- \
	env PVKIT_SYSFS_ROOT="$SYSFS" "$PVIMG" test --key-hashes se.img

if [ -n "$PVATTEST" ]; then
	run "pvattest create for host A" 0 "" -- "$PVATTEST" create -k "$ST/hosts/A/hkd.crt" \
		"${CERT_OPTS[@]}" -o att.req -a att.arpk --add-data phkh-img
	echo "uvsim cli test" >user.data
	run "pvattest perform in the guest's environment" 0 "" -- \
		bash -c 'eval "$1" && exec "$2" perform att.req att.resp -u user.data' _ \
		"$("${U[@]}" env "$ID")" "$PVATTEST"
	run "pvattest verify: the guest's CUID" 0 "0x$CUID" -- \
		"$PVATTEST" verify -i att.resp --hdr se.img -a att.arpk
	run "pvattest perform without the environment" 1 "" -- \
		env PVKIT_UV_DEVICE="uvsim:$tmp/nothere.sock" "$PVATTEST" perform att.req x.resp
fi

run "ls" 0 "$ID" -- "${U[@]}" ls
check "ls: running on host A with the CUID" \
	grep -qE "^$ID +A +running +0x$CUID +0 +no +no +$tmp/se.img\$" out

# ---- refusals ----

nguests() { ls "$ST/guests" | wc -l; }
run "boot with another host" 1 "rc 0x0108, rrc 0x0005" -- "${U[@]}" boot --host B se.img
"$TESTPKI" --dir other --hosts 1 >/dev/null 2>&1
run "pvimg create for a host of another PKI" 0 "" -- \
	"$PVIMG" create -i vmlinuz -k other/host1.crt --no-verify -o seX.img
run "boot an image for an unknown host key" 1 "rc 0x0108" -- "${U[@]}" boot --host A seX.img
cp se.img tampered.img
# the kernel is the first component, at 0x15000 (one key slot: spec §1.3)
python3 - tampered.img <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0x15000 + 1000)
    b = f.read(1)[0]
    f.seek(0x15000 + 1000)
    f.write(bytes([b ^ 0x01]))
PY
run "boot a tampered image" 1 "rc 0x0102" -- "${U[@]}" boot --host A tampered.img
# The machine's path (issue 9 #15): the IPL PSW, stage3a's code, the IPIB's type, a component
# beyond the file; and the metadata at 0xc000, which the machine never reads.
# patch FILE OFFSET HEX: overwrite bytes
patch() { printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none; }
IPIB_OFF=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(int.from_bytes(b[0xc014:0xc01c],"big"))' se.img)
cp se.img t1.img; patch t1.img 0 0008000180010000
run "boot: an IPL PSW that does not start stage3a" 1 "the IPL PSW 0x0008000180010000 does not start stage3a" -- \
	"${U[@]}" boot --host A t1.img
cp se.img t2.img; patch t2.img 0x11008 ff
run "boot: stage3a's code changed" 1 "stage3a differs from pvkit's stage3a.bin at 0x11008" -- \
	"${U[@]}" boot --host A t2.img
cp se.img t3.img; patch t3.img $((IPIB_OFF + 12)) 04
run "boot: an IPIB of another type" 1 "Setting the Secure Execution IPL parameters failed: rc 0402" -- \
	"${U[@]}" boot --host A t3.img
NCOMP=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); o=int(sys.argv[2]); print(int.from_bytes(b[o+0x74:o+0x78],"big"))' se.img "$IPIB_OFF")
# the last component's address: 32 MiB, inside the guest's memory, beyond the file
cp se.img t4.img; patch t4.img $((IPIB_OFF + 0x88 + (NCOMP - 1) * 24 + 8)) 0000000002000000
run "boot: a component beyond the file" 1 "rc 0x0102" -- "${U[@]}" boot --host A t4.img
cp se.img t5.img; patch t5.img 0xc000 0000000000000000
run "boot: the image metadata wiped (the machine never reads it)" 0 "booted" -- \
	"${U[@]}" boot --host A --id nometa t5.img
run "stop it" 0 "" -- "${U[@]}" stop nometa
run "boot: unknown host" 2 "no simulated host" -- "${U[@]}" boot --host C se.img
run "boot: missing image" 1 "nothere.img" -- "${U[@]}" boot --host A nothere.img
run "boot: no --host" 2 "" -- "${U[@]}" boot se.img
run "boot: invalid id" 2 "not a valid guest id" -- "${U[@]}" boot --host A --id ../x se.img
run "boot: --timeout not a number" 2 "not a number" -- "${U[@]}" boot --host A --timeout 5x se.img
run "boot: existing id" 2 "exists already" -- "${U[@]}" boot --host A --id "$ID" se.img
run "boot: --share without --qemu" 2 "--share needs --qemu" -- "${U[@]}" boot --host A --share . se.img
run "boot: --share of no directory" 2 "--share: 'nosuchdir' is not a directory" -- \
	"${U[@]}" boot --host A --qemu --share nosuchdir se.img
check "refused boots leave no guest behind" test "$(nguests)" -eq 1

# ---- a second guest, stop ----

run "boot a second guest with --id" 0 "guest second booted on host A" -- \
	"${U[@]}" boot --host A --id second se.img
PID2=$(json "$ST/guests/second/guest.json" pid)
check "two endpoints" test "$PID" != "$PID2"
run "ls shows both" 0 "second" -- "${U[@]}" ls
check "ls: both running" test "$(grep -c ' running ' out)" -eq 2
run "ls --format json" 0 '"id": "second"' -- "${U[@]}" ls --format json
check "ls --format json: the text listing's guests and members" python3 -c '
import json, sys
g = {x["id"]: x for x in json.load(open("out"))}
assert g["second"]["host"] == "A" and g["second"]["state"] == "running", g
assert g["second"]["cuid"].startswith("0x") and len(g["second"]["cuid"]) == 34
assert g["second"]["secrets"] == 0 and g["second"]["locked"] is False
assert g["second"]["image"].endswith("se.img") and len(g) == 2, g'
run "ls --format yaml: a usage error" 2 "usage: uvsim ls" -- "${U[@]}" ls --format yaml

# modes: files 0600, directories 0700 (sockets excluded); hosts' keys included
bad_modes=$(find "$ST" \( -type d ! -perm 700 \) -o \( -type f ! -perm 600 \) -print)
check "state files 0600, directories 0700" test -z "$bad_modes"
[ -z "$bad_modes" ] || echo "$bad_modes" | sed 's/^/    /'
check "sockets 0600" test -z "$(find "$ST" -type s ! -perm 600)"

# the host private key stays in hosts/: its PEM body appears in no guest file nor any output
grep -v -- '-----' "$ST/hosts/A/host.key" | grep -v '^$' >keybody
check "host key PEM body read" test "$(wc -l <keybody)" -ge 2
leak=$(grep -rlF -f keybody "$ST/guests" 2>/dev/null)
check "host key in no file under guests/" test -z "$leak"
[ -z "$leak" ] && ! grep -qF -f keybody all.out && pass "host key in no output" ||
	fail "host key in an output"

check "the endpoint logged nothing (no errors, no sanitizer reports)" test ! -s "$GDIR/log"
[ -s "$GDIR/log" ] && sed 's/^/    /' "$GDIR/log"
run "stop" 0 "" -- "${U[@]}" stop "$ID"
check "stop ends the endpoint" gone "$PID"
check "stop removes the guest" test ! -e "$GDIR"
run "stop an unknown guest" 2 "no guest" -- "${U[@]}" stop "$ID"
run "ls after stop" 0 "second" -- "${U[@]}" ls
check "ls no longer lists the stopped guest" test "$(grep -c "^$ID " out)" -eq 0

run "boot a third guest" 0 "booted on host B" -- "${U[@]}" boot --host B --id third seB.img
PID3=$(json "$ST/guests/third/guest.json" pid)
run "stop --all" 0 "" -- "${U[@]}" stop --all
check "stop --all ends every endpoint" gone "$PID2"
check "stop --all ends every endpoint (2)" gone "$PID3"
check "stop --all removes every guest" test "$(nguests)" -eq 0
run "ls when empty" 0 "ID" -- "${U[@]}" ls
check "ls lists nothing" test "$(wc -l <out)" -eq 1
run "ls --format json when empty" 0 "[" -- "${U[@]}" ls --format json
check "ls --format json: an empty array" python3 -c 'import json; assert json.load(open("out")) == []'
run "stop without ids" 2 "" -- "${U[@]}" stop

# the endpoint of a guest whose process died is reported stopped, and stop still cleans up
run "boot a fourth guest" 0 "" -- "${U[@]}" boot --host A --id fourth se.img
PID4=$(json "$ST/guests/fourth/guest.json" pid)
kill -KILL "$PID4"
gone "$PID4"
run "ls: a killed endpoint is stopped" 0 "" -- "${U[@]}" ls
check "ls: killed endpoint shown stopped" grep -qE "^fourth +A +stopped " out
run "stop a dead guest" 0 "" -- "${U[@]}" stop fourth
check "dead guest removed" test "$(nguests)" -eq 0


# ---- uvsim env quotes for eval (issue 9 #10): a state path with a quote, $(...), spaces and
# a newline sets exactly that path and runs nothing ----
# (short: the guest's socket path must fit in sun_path)
Q="$tmp/q'\$(touch pw)\`touch pw2\` \"\\
n"
run "init a state whose path needs quoting" 0 "" -- "$UVSIM" --state "$Q" init
run "host new there" 0 "" -- "$UVSIM" --state "$Q" host new A
run "pvimg create for that host" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
	-k "$Q/hosts/A/hkd.crt" --no-verify -o seQ.img
run "boot there" 0 "" -- "$UVSIM" --state "$Q" boot --host A --id q1 seQ.img
"$UVSIM" --state "$Q" env q1 >env.out 2>&1
( unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
  eval "$(cat env.out)"
  [ "$PVKIT_SYSFS_ROOT" = "$Q/guests/q1/sys" ] && [ "$PVKIT_UV_DEVICE" = "uvsim:$Q/guests/q1/uv.sock" ] ) &&
	pass "uvsim env: eval sets the exact paths" || { fail "uvsim env: wrong values"; cat env.out; }
[ ! -e "$tmp/pw" ] && [ ! -e "$tmp/pw2" ] && pass "uvsim env: eval runs nothing of the path" ||
	fail "uvsim env: eval ran code from the state path"
run "stop there" 0 "" -- "$UVSIM" --state "$Q" stop --all

finish
