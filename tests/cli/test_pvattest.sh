#!/usr/bin/env bash
# pvattest create|perform|verify|check from the command line, following "Attesting a KVM
# guest" (seed 000, chapter 7) against the software ultravisor: a simulated host with an
# HKD signed by uvsim's test PKI, a guest booted from an SE image, the request created with
# full host-key verification, performed through the guest's UV device, verified against
# the image and its extracted header; then tampering, additional data, the policy checks
# (a local stand-in for IBM's firmware service), bad input and the man pages.
#
# Usage: test_pvattest.sh PVATTEST PVIMG UVSIM PVEXTRACT-HDR
set -u

PVATTEST=$(realpath "$1")
PVIMG=$(realpath -s "$2")
UVSIM=$(realpath "$3")
EXTRACT=$(realpath "$4")
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
make_tmp pvattest
S=$tmp/state
srv_pid=
# shellcheck disable=SC2317 # called on exit by lib.sh
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	fi
	timeout "$T" "$UVSIM" --state "$S" stop --all >/dev/null 2>&1
}
trap 'exit 130' INT TERM
cd "$tmp" || exit 1
# The firmware service stand-in listens on 127.0.0.1: no proxy in between.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
# Sanitizer builds: reports of every process, the detached uvsim endpoints too, into files.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/sanitizer"
SHOW_LINES=20

# none_left NAME FILE...: neither FILE nor a temporary FILE.pvkit-tmp-XXXXXX of it exists
none_left() {
	local name=$1 f left=
	shift
	for f in "$@"; do
		if [ -e "$f" ] || compgen -G "$f.pvkit-*" >/dev/null; then
			left="$left $f"
		fi
	done
	[ -z "$left" ] || { fail "$name: left behind:$left"; return 1; }
}

# refuse NAME PATTERN FILES -- COMMAND...: exit 1, exactly one error line, holding PATTERN;
# none of the (space-separated) FILES exists afterwards
refuse() {
	local name=$1 pattern=$2 files=$3 f
	shift 4
	for f in $files; do rm -f "$f"; done
	run_error "$name" 1 "$pattern" -- "$@" || return
	# shellcheck disable=SC2086
	none_left "$name" $files
}

uvsim() { timeout "$T" "$UVSIM" --state "$S" "$@"; }

# Helpers in Python: YAML with every scalar a string (PyYAML's BaseLoader if present, else
# the subset pvattest writes; a plain 0x... is an integer to YAML's resolvers), exchange
# files, byte flips.
cat >pvk.py <<'PY'
import hashlib, json, os, struct, sys

def load_yaml(path):
    text = open(path).read()
    try:
        import yaml
        return yaml.load(text, Loader=yaml.BaseLoader)
    except ImportError:
        pass
    def scalar(v):
        v = v.strip()
        if v[:1] in "'\"":
            return v[1:-1]
        return [] if v == "[]" else v
    root = {}
    stack = [(-1, root)]
    lines = [l for l in text.splitlines() if l.strip() and not l.startswith(("---", "..."))]
    for i, line in enumerate(lines):
        ind = len(line) - len(line.lstrip())
        body = line.strip()
        item = body.startswith("- ")
        # a block sequence may sit at its key's indentation
        while len(stack) > 1 and (stack[-1][0] > ind or (stack[-1][0] == ind and not (
                item and isinstance(stack[-1][1], list)))):
            stack.pop()
        cont = stack[-1][1]
        if item:
            cont.append(scalar(body[2:]))
            continue
        key, _, val = body.partition(":")
        if val.strip():
            cont[key] = scalar(val)
        else:
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            child = [] if nxt.strip().startswith("- ") else {}
            cont[key] = child
            stack.append((ind, child))
    return root

NAMES = ["arcb", "meas", "add", "user", "cuid"]

def entries(path):
    b = open(path, "rb").read()
    assert b[:8] == b"pvattest", "magic"
    ver, size = struct.unpack(">II", b[8:16])
    ent = {}
    for i, n in enumerate(NAMES):
        s, o = struct.unpack(">II", b[0x18 + 8 * i:0x20 + 8 * i])
        ent[n] = (s, o)
    return b, ver, size, ent

def item(path, name):
    b, _, _, ent = entries(path)
    s, o = ent[name]
    return b[o:o + s] if s and o else None
PY
export PYTHONPATH=$tmp

# flips FILE REGION STEP DIR: one copy of FILE per flipped byte (xor 0x01) of the response
# item REGION (arcb, meas, add, user, cuid), every STEP-th byte and the last; prints names
flips() {
	python3 - "$@" <<'PY'
import os, sys, pvk
path, region, step, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
b, _, _, ent = pvk.entries(path)
s, o = ent[region]
os.makedirs(d, exist_ok=True)
offs = sorted(set(list(range(0, s, step)) + [s - 1]))
for i in offs:
    t = bytearray(b)
    t[o + i] ^= 1
    name = os.path.join(d, "%s_%04d" % (region, i))
    open(name, "wb").write(t)
    print(name)
PY
}

######## Setup: a simulated IBM Z host, its HKD, an SE image ########
run "uvsim init" 0 "" -- "$UVSIM" --state "$S" init || exit 1
run "uvsim host new z16a" 0 "hkd.crt" -- "$UVSIM" --state "$S" host new z16a || exit 1
run "uvsim host new z16b" 0 "hkd.crt" -- "$UVSIM" --state "$S" host new z16b || exit 1
HKD=$(uvsim host hkd z16a)
HKD_B=$(uvsim host hkd z16b)
read -r -a VERIFY <<<"$(uvsim cert-opts)"
[ "${#VERIFY[@]}" -gt 4 ] || { echo "uvsim cert-opts printed nothing"; exit 1; }

fake_kernel vmlinuz
head -c 100000 /dev/urandom >initrd
echo "root=/dev/ram0 pvkit.marker=attest" >parmfile
run "pvimg create (the guest's image)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k "$HKD" "${VERIFY[@]}" -o se.img || exit 1
run "pvimg create (same inputs, another image)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k "$HKD" "${VERIFY[@]}" -o other.img
# Workload owner: extract the header for the attestation (seed ch. 5).
run "pvextract-hdr" 0 "" -- "$EXTRACT" -o hdr.bin se.img

######## Boot the guest ########
run "uvsim boot g1" 0 "CUID 0x" -- "$UVSIM" --state "$S" boot --host z16a --id g1 se.img || exit 1
CUID=$(sed -n 's/.*(CUID 0x\([0-9a-f]\{32\}\)).*/\1/p' out)
[ ${#CUID} -eq 32 ] && pass "boot prints the CUID" || fail "no CUID in: $(cat out)"
uvsim ls >ls.txt
LS_CUID=$(awk '$1 == "g1" { print $4 }' ls.txt)
[ "$LS_CUID" = "0x$CUID" ] && pass "uvsim ls shows the CUID" || fail "uvsim ls: '$LS_CUID' vs 0x$CUID"

######## 1. Trusted system: create the request (full host-key verification) ########
run "create -k HKD --cert ... --arpk -o" 0 "" -- \
	"$PVATTEST" create -k "$HKD" "${VERIFY[@]}" --arpk arp.key -o attreq.bin
[ "$(head -c 8 attreq.bin)" = pvattest ] && pass "request is an exchange file (magic pvattest)" ||
	fail "request magic: $(head -c 8 attreq.bin | od -An -c)"
[ "$(stat -c %s arp.key)" = 32 ] && pass "arpk is 32 bytes" || fail "arpk has $(stat -c %s arp.key) bytes"
[ "$(stat -c %a arp.key)" = 600 ] && pass "arpk mode 0600" || fail "arpk mode $(stat -c %a arp.key)"
python3 - attreq.bin <<'PY' && pass "request layout (ARCB at 0x40, 400 bytes; 64-byte measurement expected)" || fail "request layout"
import sys, pvk
b, ver, size, e = pvk.entries(sys.argv[1])
assert ver == 0x100 and size == len(b) == 0x40 + 400, (ver, size, len(b))
assert e["arcb"] == (400, 0x40) and e["meas"] == (64, 0), e
assert e["add"] == (0, 0) and e["user"] == (0, 0) and e["cuid"] == (0, 0), e
arcb = b[0x40:]
assert arcb[:8] == bytes(8) and int.from_bytes(arcb[8:12], "big") == 0x100
assert int.from_bytes(arcb[12:16], "big") == 400 and arcb[0x27] == 1
assert int.from_bytes(arcb[0x30:0x38], "big") == 0x4000000000000000  # nonce only
PY
run "a second create" 0 "" -- "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -a arp2.key -o attreq2.bin
cmp -s arp.key arp2.key && fail "two requests share the ARPK" || pass "every request has its own ARPK"

######## 2. In the guest: perform ########
eval "$(uvsim env g1)"
check "uvsim env sets PVKIT_UV_DEVICE" [ -n "${PVKIT_UV_DEVICE:-}" ]
head -c 256 /dev/urandom >user.bin
run "perform -i -o -u (256 bytes of user data)" 0 "" -- \
	"$PVATTEST" perform -i attreq.bin -o attresp.bin -u user.bin
run "perform IN OUT (positional, no user data)" 0 "" -- "$PVATTEST" perform attreq.bin attresp0.bin
python3 - attresp.bin user.bin <<'PY' && pass "response layout" || fail "response layout"
import sys, pvk
b, ver, size, e = pvk.entries(sys.argv[1])
assert size == len(b), (size, len(b))
assert e["arcb"] == (400, 0x40) and e["meas"] == (64, 0x1d0), e
assert e["add"] == (0, 0) and e["user"] == (256, 0x210) and e["cuid"] == (16, 0x310), e
assert pvk.item(sys.argv[1], "user") == open(sys.argv[2], "rb").read()
PY

######## 3. Trusted system: verify ########
run "verify against the extracted header" 0 "Attestation measurement verified" -- \
	"$PVATTEST" verify -i attresp.bin --arpk arp.key --hdr hdr.bin -o verify.yaml -u user.out
grep -qi "0x$CUID" out && pass "verify prints the CUID" || fail "verify does not print the CUID"
cmp -s user.bin user.out && pass "verify -u returns the user data" || fail "verify -u: user data differs"
python3 - verify.yaml "$CUID" user.bin <<'PY' && pass "verify YAML: cuid, user_data, nothing else" || fail "verify YAML"
import sys, pvk
d = pvk.load_yaml(sys.argv[1])
assert list(d) == ["cuid", "user_data"], list(d)
assert d["cuid"] == "0x" + sys.argv[2], d["cuid"]
assert d["user_data"] == "0x" + open(sys.argv[3], "rb").read().hex()
PY
run "verify against the image" 0 "Attestation measurement verified" -- \
	"$PVATTEST" verify -i attresp.bin --arpk arp.key --hdr se.img
run "verify --format json -o -" 0 "" -- \
	"$PVATTEST" verify -q -i attresp.bin -a arp.key --hdr se.img --format json -o -
python3 - out "$CUID" <<'PY' && pass "verify JSON" || fail "verify JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cuid"] == "0x" + sys.argv[2] and len(d["user_data"]) == 2 + 512, d
PY
run "verify INPUT positional, no user data" 0 "" -- \
	"$PVATTEST" verify attresp0.bin -a arp.key --hdr hdr.bin -o v0.yaml -u u0.out
grep -q "no user data" out && pass "verify -u without user data warns" || fail "no warning for -u without user data"
none_left "verify -u without user data writes no file" u0.out && pass "no empty user-data file"
run "verify -q is silent" 0 "" -- "$PVATTEST" verify -q -i attresp.bin -a arp.key --hdr hdr.bin
[ ! -s out ] && pass "verify -q prints nothing" || fail "verify -q printed: $(cat out)"

# The header of another image from the same inputs: other keys, other tags.
MISMATCH="Attestation measurement verification failed. Calculated and received attestation measurement are not equal."
rm -f bad.yaml bad.user
run "verify against another image's header: exit 2" 2 "$MISMATCH" -- \
	"$PVATTEST" verify -i attresp.bin -a arp.key --hdr other.img -o bad.yaml -u bad.user
none_left "mismatch writes no output" bad.yaml bad.user && pass "mismatch writes neither -o nor -u"
run "verify with the ARPK of another request: exit 1" 1 "does not decrypt" -- \
	"$PVATTEST" verify -i attresp.bin -a arp2.key --hdr se.img

######## Tampered responses ########
# The measurement, the CUID, the user data, the additional data: exit 2. The request (ARCB):
# it is authenticated by the ARPK (AES-GCM over all of it), so any flip is an error, exit 1.
run "create (all additional data)" 0 "" -- "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -a all.key \
	-o all.req --add-data phkh-img,phkh-att,secret-store-hash,firmware-state
run "perform (all additional data)" 0 "" -- "$PVATTEST" perform all.req all.resp -u user.bin
"$PVATTEST" verify -i all.resp -a all.key --hdr hdr.bin >verify.out 2>verify.err
# IBM's report on stderr: the config UID, the additional data whole and by field, user data
python3 - verify.err all.resp verify.out <<'PY' && pass "verify: IBM's additional-data breakdown on stderr" || fail "verify: breakdown: $(cat verify.err)"
import sys, pvk
lines = open(sys.argv[1]).read().split("\n")
add = pvk.item(sys.argv[2], "add")
exp = ["Attestation measurement verified",
       "Config UID:", "0x" + pvk.item(sys.argv[2], "cuid").hex(),
       "Additional-data:", "0x" + add.hex(),
       "Additional-data content:",
       "Image PHKH", "0x" + add[0:32].hex(),
       "Attestation PHKH", "0x" + add[32:64].hex(),
       "Secret store hash", "0x" + add[64:128].hex(),
       "Firmware state", "0x" + add[128:448].hex(), "",
       "user-data:", "0x" + pvk.item(sys.argv[2], "user").hex(), "", ""]
assert lines == exp, (lines, exp)
assert open(sys.argv[3]).read() == "", "stdout not empty"
PY
for spec in meas:1:2 cuid:1:2 user:8:2 add:8:2 arcb:1:1; do
	IFS=: read -r region step want <<<"$spec"
	n=0 bad=0 msgs=
	for f in $(flips all.resp "$region" "$step" flips); do
		timeout "$T" "$PVATTEST" verify -i "$f" -a all.key --hdr hdr.bin -o flip.yaml >flip.out 2>&1
		rc=$?
		n=$((n + 1))
		if [ "$rc" -ne "$want" ] || [ -e flip.yaml ]; then
			bad=$((bad + 1))
			[ "$bad" -le 3 ] && echo "    $f: exit $rc $(head -1 flip.out)"
			rm -f flip.yaml
		fi
		if [ "$want" = 2 ] && ! grep -qF "$MISMATCH" flip.out; then
			bad=$((bad + 1))
		fi
		[ "$region" = arcb ] && msgs="$msgs$(sed -n 's/.*error: [^:]*: //p' flip.out | sed 's/[0-9][0-9]*/N/g')
"
		rm -f "$f"
	done
	if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then
		pass "$n flipped bytes of the $region: exit $want, no output"
	else
		fail "flipped $region bytes: $bad of $n not exit $want"
	fi
	if [ "$region" = arcb ]; then
		echo "    ARCB flips, the errors:"
		printf '%s' "$msgs" | sort | uniq -c | sort -rn | sed 's/^/    /'
	fi
done

######## Additional data: each item alone and all together ########
PHKH=$("$PVIMG" info --format json se.img | python3 -c \
	'import json, sys; print(json.load(sys.stdin)["data"]["keyslots"][0]["phkh_hex"])')
# The host's key hash from its HKD: SHA-256 over X||Y, each padded to 80 bytes.
if command -v openssl >/dev/null; then
	HOST_PHKH=$(openssl x509 -in "$HKD" -noout -pubkey | openssl pkey -pubin -outform DER |
		python3 -c 'import sys, hashlib
p = sys.stdin.buffer.read()[-133:]
assert p[0] == 4
print(hashlib.sha256(bytes(14) + p[1:67] + bytes(14) + p[67:]).hexdigest())')
	[ "$HOST_PHKH" = "$PHKH" ] && pass "key slot phkh (pvimg info) = hash of the HKD's key" ||
		fail "phkh: pvimg info $PHKH, HKD $HOST_PHKH"
fi
for items in phkh-img phkh-att secret-store-hash firmware-state \
	phkh-img,phkh-att,secret-store-hash,firmware-state firmware-state,phkh-img; do
	rm -f ad.req ad.key ad.resp ad.yaml
	timeout "$T" "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -a ad.key -o ad.req --add-data "$items" \
		>out 2>&1 &&
		timeout "$T" "$PVATTEST" perform ad.req ad.resp >>out 2>&1 &&
		timeout "$T" "$PVATTEST" verify -i ad.resp -a ad.key --hdr hdr.bin -o ad.yaml >>out 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "--add-data $items: exit $rc"
		sed 's/^/    /' out
		continue
	fi
	python3 - ad.req ad.resp ad.yaml "$items" "$PHKH" "$CUID" <<'PY' &&
import hashlib, sys, pvk
req, resp, yml, items, phkh, cuid = sys.argv[1:]
items = items.split(",")
order = [("phkh-img", "image_phkh", 32), ("phkh-att", "attestation_phkh", 32),
         ("secret-store-hash", "secret_store_hash", 64), ("firmware-state", "firmware_state", 320)]
want = [(k, n) for i, k, n in order if i in items]
size = sum(n for _, n in want)
_, _, _, e = pvk.entries(req)
assert e["add"] == (size, 0), ("request add entry", e["add"])
add = pvk.item(resp, "add")
assert add is not None and len(add) == size, len(add or b"")
d = pvk.load_yaml(yml)
assert list(d) == ["cuid", "add", "add_fields"], list(d)
assert d["cuid"] == "0x" + cuid
assert d["add"] == "0x" + add.hex()
f = d["add_fields"]
assert list(f) == [k for k, _ in want], (list(f), want)
pos = 0
for k, n in want:
    assert f[k] == "0x" + add[pos:pos + n].hex(), k
    pos += n
for k in ("image_phkh", "attestation_phkh"):
    if k in f:
        assert f[k] == "0x" + phkh, (k, f[k], phkh)
if "secret_store_hash" in f:  # empty, unlocked store
    assert f["secret_store_hash"] == "0x" + hashlib.sha512(b"\0").hexdigest()
PY
		pass "--add-data $items: add_fields exactly as requested, values right" ||
		fail "--add-data $items"
done
# The last one: image hash and firmware state, no attestation hash.
cp ad.resp imgfw.resp
run "--add-data twice accumulates" 0 "" -- "$PVATTEST" create -k "$HKD" --no-verify -q \
	-a ad.key -o ad.req --add-data phkh-img --add-data phkh-att
python3 -c 'import pvk; assert pvk.entries("ad.req")[3]["add"] == (64, 0)' &&
	pass "two --add-data: 64 bytes expected" || fail "two --add-data"

# Two host keys, the guest's second: the UV takes its own slot; phkh-att is still its key.
run "create for z16b and z16a" 0 "" -- "$PVATTEST" create -k "$HKD_B,$HKD" "${VERIFY[@]}" -a two.key \
	-o two.req --add-data phkh-att
run "perform a two-host request" 0 "" -- "$PVATTEST" perform two.req two.resp
run "verify a two-host request" 0 "" -- "$PVATTEST" verify -i two.resp -a two.key --hdr hdr.bin -o two.yaml
python3 - two.yaml "$PHKH" <<'PY' && pass "two hosts: attestation_phkh is the guest host's" || fail "two hosts: attestation_phkh"
import sys, pvk
assert pvk.load_yaml(sys.argv[1])["add_fields"]["attestation_phkh"] == "0x" + sys.argv[2]
PY
# A request for another host only: the UV cannot decrypt it (rc 0x010c).
run "create for z16b only" 0 "" -- "$PVATTEST" create -k "$HKD_B" "${VERIFY[@]}" -a b.key -o b.req
refuse "perform a request for another host" "rc 0x010c" "b.resp" -- "$PVATTEST" perform b.req b.resp

######## check ########
run "check: all policies met" 0 "" -- "$PVATTEST" check all.resp check.yaml -k "$HKD" \
	--host-key-check att-key-hash,boot-key-hash -u user.bin --secret-store-locked false
python3 - check.yaml "$HKD" user.bin <<'PY' && pass "check YAML (successful: true)" || fail "check YAML"
import sys, pvk
d = pvk.load_yaml(sys.argv[1])
assert list(d) == ["successful", "image_host_key", "attest_host_key", "user_data", "secret_store"], list(d)
assert d["successful"] == "true"
for k in ("image_host_key", "attest_host_key"):
    assert d[k] == {"check_enforced": "true", "hash": sys.argv[2]}, d[k]
assert d["user_data"] == "0x" + open(sys.argv[3], "rb").read().hex()
assert d["secret_store"] == {"add_secret_requests": [], "locked": "false"}, d["secret_store"]
PY
run "check --format json: the same result" 0 "" -- "$PVATTEST" check all.resp check.json \
	--format json -k "$HKD" --host-key-check att-key-hash,boot-key-hash -u user.bin \
	--secret-store-locked false
python3 - check.json check.yaml <<'PY' && pass "check JSON: the YAML's members and values" || fail "check JSON"
import json, sys, pvk
j = json.load(open(sys.argv[1])); y = pvk.load_yaml(sys.argv[2])
norm = lambda v: {k: norm(x) for k, x in v.items()} if isinstance(v, dict) else \
    [norm(x) for x in v] if isinstance(v, list) else ("true" if v is True else "false" if v is False else v)
assert list(j) == list(y) and norm(j) == y, (j, y)
PY
run "check --format xml" 1 "--format: yaml or json" -- "$PVATTEST" check all.resp x.out --format xml
run "check -i -o, both HKDs (one matches)" 0 "" -- \
	"$PVATTEST" check -i all.resp -o check2.yaml -k "$HKD_B" -k "$HKD" --host-key-check boot-key-hash
run "check with no policy" 0 "" -- "$PVATTEST" check all.resp -
grep -qx "successful: true" out && pass "check -o - writes to stdout" || fail "check -o -: $(cat out)"

# check_fails NAME ISSUE -- ARGS: exit 2, 'successful: false', the issue in the YAML
check_fails() {
	local name=$1 issue=$2
	shift 3
	rm -f cf.yaml
	run "check rejects: $name" 2 "$issue" -- "$PVATTEST" check "$@" -o cf.yaml || return
	python3 - cf.yaml "$issue" <<'PY' || fail "check rejects: $name: YAML"
import sys, pvk
d = pvk.load_yaml(sys.argv[1])
assert d["successful"] == "false" and any(sys.argv[2] in i for i in d["issues"]), d
PY
}
check_fails "wrong HKD" "No given host-key document matches the given image public host-key hash" -- -i all.resp -k "$HKD_B"
check_fails "same HKD twice" "More than one given host-key document matches the given attestation public host-key hash" -- -i all.resp -k "$HKD" -k "$HKD"
check_fails "--host-key-check boot-key-hash, request without hashes" "The Attestation result does not contain an image public host-key hash, but checking was enabled." -- \
	-i attresp.bin -k "$HKD" --host-key-check boot-key-hash
check_fails "--host-key-check att-key-hash, request without it" "The Attestation result does not contain an attestation public host-key hash, but checking was enabled." -- \
	-i imgfw.resp -k "$HKD" --host-key-check att-key-hash
run "check: a hash absent and not required is no failure" 0 "" -- \
	"$PVATTEST" check attresp.bin ok.yaml -k "$HKD_B"
head -c 256 /dev/urandom >other_user.bin
check_fails "wrong user data" "The Provided user data does not match the user data from the attestation response." -- -i all.resp -u other_user.bin
check_fails "user data given, response has none" "The Provided user data does not match" -- -i attresp0.bin -u user.bin
check_fails "--secret-store-locked true on an unlocked store" "The calculated secret-store-hash does not match with the provided hash: the secret store is not locked" -- \
	-i all.resp --secret-store-locked true
# A request the store does not hold: named (beyond IBM's sentence); no secret_store block
python3 -c 'import os, sys; open(sys.argv[1], "wb").write(b"asrcbM" + bytes(0x422) + os.urandom(16))' fake.asrcb
check_fails "--secret not in the store" "The calculated secret-store-hash does not match with the provided hash: 'fake.asrcb' is not in the secret store" -- \
	-i all.resp --secret fake.asrcb --secret-store-locked false
python3 -c 'import pvk; assert "secret_store" not in pvk.load_yaml("cf.yaml")' &&
	pass "failed secret-store check: no secret_store block (as IBM)" || fail "secret_store block on failure: $(cat cf.yaml)"
grep -qxF "✘ The Attestation response does not fulfill all policies" out &&
	pass "check: IBM's closing line on failure" || fail "check: closing line: $(cat out)"
check_fails "secret-store check without the hash" "The Attestation response contains no secret-store-hash, but checking was enabled" -- \
	-i attresp.bin --secret-store-locked false
check_fails "--firmware without firmware state" "The Attestation response contains no firmware hash, but checking was enabled" -- -i attresp.bin --firmware
python3 -c 'import pvk; assert pvk.load_yaml("cf.yaml")["valid_firmware"] == "false"' &&
	pass "no firmware state: valid_firmware false" || fail "no firmware state: valid_firmware"
run "check --host-key-check without -k: usage (IBM: exit 1)" 1 "needs -k" -- \
	"$PVATTEST" check all.resp x.yaml --host-key-check att-key-hash
run "check --secret without --secret-store-locked: usage (IBM: exit 1)" 1 "--secret-store-locked" -- \
	"$PVATTEST" check all.resp x.yaml --secret all.req

# --firmware against a local stand-in for IBM's service (127.0.0.1 only).
cat >fwsrv.py <<'PY'
import http.server, json, os, sys
mode_file, log_file, port_file = sys.argv[1:4]
PATHS = ("/hmrs/firmware/attestation/v1/verify", "/hmrs/firmware/attestation/v2/verify")

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "ua": self.headers.get("User-Agent"),
                                "ct": self.headers.get("Content-Type"),
                                "cid": self.headers.get("x-client-id"),
                                "body": body.decode()}) + "\n")
        mode = open(mode_file).read().strip()
        if self.path.startswith("/moved/"):
            self.send_response(307)
            self.send_header("Location", self.path[len("/moved"):])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path not in PATHS or mode == "500":
            self.send_response(404 if self.path not in PATHS else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "garbage":
            out = b"<html>maintenance</html>"
        else:
            ans = {"version": "1.0", "valid": mode == "true", "referenceId": "pvkit-test"}
            if mode != "true":
                ans["reason"] = "pvkit test: not in the list"
            out = json.dumps(ans).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
echo true >fw.mode
python3 fwsrv.py fw.mode fw.log fw.port &
srv_pid=$!
for _ in $(seq 100); do [ -s fw.port ] && break; sleep 0.1; done
if [ -s fw.port ]; then
	URL=http://127.0.0.1:$(cat fw.port)
	run "check --firmware: valid" 0 "" -- \
		"$PVATTEST" check all.resp fw.yaml --firmware --firmware-verify-url "$URL"
	python3 - fw.yaml fw.log all.resp <<'PY' && pass "firmware check: the request and valid_firmware: true" || fail "firmware check request"
import base64, json, sys, pvk
d = pvk.load_yaml(sys.argv[1])
assert d["successful"] == "true" and d["valid_firmware"] == "true", d
r = json.loads(open(sys.argv[2]).read().splitlines()[-1])
assert r["path"] == "/hmrs/firmware/attestation/v1/verify", r["path"]
assert r["ua"] == "s390-tools-pvattest" and r["ct"] == "application/json" and r["cid"] == "X", r
body = json.loads(r["body"])
assert body["version"] == "1.0", body
add = pvk.item(sys.argv[3], "add")
assert base64.b64decode(body["payload"]) == add[-320:], "payload is not the firmware state"
PY
	run "check --fw-ver 2: valid" 0 "" -- \
		"$PVATTEST" check all.resp fw.yaml --firmware --fw-ver 2 --firmware-verify-url "$URL"
	tail -1 fw.log | grep -q '"/hmrs/firmware/attestation/v2/verify"' && pass "--fw-ver 2 uses v2" ||
		fail "--fw-ver 2 path: $(tail -1 fw.log)"
	run "check --firmware: redirect followed" 0 "" -- \
		"$PVATTEST" check all.resp fw.yaml --firmware --firmware-verify-url "$URL/moved"
	echo false >fw.mode
	check_fails "--firmware: not valid" "The firmware is not in a valid state
  Reason: pvkit test: not in the list
  ReferenceId: pvkit-test" -- \
		-i all.resp --firmware --firmware-check-version 1 --firmware-verify-url "$URL"
	python3 -c 'import pvk; assert pvk.load_yaml("cf.yaml")["valid_firmware"] == "false"' &&
		pass "valid_firmware: false" || fail "valid_firmware false"
	echo 500 >fw.mode
	refuse "--firmware: service answers HTTP 500" "responded with http response status code '500'" "fw1.yaml" -- \
		"$PVATTEST" check all.resp fw1.yaml --firmware --firmware-verify-url "$URL"
	echo garbage >fw.mode
	refuse "--firmware: service answers no JSON" "no 'valid'" "fw1.yaml" -- \
		"$PVATTEST" check all.resp fw1.yaml --firmware --firmware-verify-url "$URL"
else
	fail "the firmware service stand-in did not start"
fi
CLOSED=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
refuse "--firmware: service not reachable" "could not be reached" "fw1.yaml" -- \
	"$PVATTEST" check all.resp fw1.yaml --firmware --firmware-verify-url "http://127.0.0.1:$CLOSED"
grep -q "needs IBM's verification service" out && pass "the message says the service is needed" ||
	fail "unclear message: $(cat out)"

######## A locked secret store (a second guest) ########
run "uvsim boot g2 (same image)" 0 "CUID 0x" -- "$UVSIM" --state "$S" boot --host z16a --id g2 se.img
CUID2=$(sed -n 's/.*(CUID 0x\([0-9a-f]\{32\}\)).*/\1/p' out)
[ -n "$CUID2" ] && [ "$CUID2" != "$CUID" ] && pass "each boot has its own CUID" || fail "CUIDs $CUID $CUID2"
G2_DEV=$(bash -c "$(uvsim env g2)"'; echo "$PVKIT_UV_DEVICE"')
# TODO: use 'pvsecret lock' once pvsecret exists (and 'pvsecret add' to check --secret with
# added requests, in order); until then the lock request goes to the guest's UV device (the
# uvsim endpoint, wire format of include/pvkit/uvproto.h) directly.
python3 - "${G2_DEV#uvsim:}" <<'PY' >lock.out 2>&1 && pass "lock the secret store of g2" || fail "lock: $(cat lock.out)"
import socket, struct, sys
def call(nr):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sys.argv[1])
    s.sendall(b"PVUV" + struct.pack(">IIIII", 1, nr, 0, 0, 0))
    h = b""
    while len(h) < 16:
        c = s.recv(16 - len(h))
        assert c, "endpoint closed"
        h += c
    s.close()
    assert h[:4] == b"PVUV"
    return struct.unpack(">IHHI", h[4:])
assert call(4) == (0, 1, 0, 0)            # UVIO lock: rc 0x0001
assert call(4)[1] == 0x0102               # locked already
PY
awk '$1 == "g2" { print $6 }' <(uvsim ls) | grep -qx yes && pass "uvsim ls: g2 locked" || fail "uvsim ls: g2 not locked"
run "perform in g2" 0 "" -- env PVKIT_UV_DEVICE="$G2_DEV" "$PVATTEST" perform all.req g2.resp -u user.bin
run "verify g2's response" 0 "" -- "$PVATTEST" verify -i g2.resp -a all.key --hdr se.img -o g2.yaml
python3 - g2.yaml "$CUID2" <<'PY' && pass "g2: its CUID, secret_store_hash = SHA-512(0x01)" || fail "g2 YAML"
import hashlib, sys, pvk
d = pvk.load_yaml(sys.argv[1])
assert d["cuid"] == "0x" + sys.argv[2]
assert d["add_fields"]["secret_store_hash"] == "0x" + hashlib.sha512(b"\1").hexdigest()
PY
run "check --secret-store-locked true (locked store)" 0 "" -- \
	"$PVATTEST" check g2.resp g2c.yaml --secret-store-locked true
check_fails "--secret-store-locked false on a locked store" "does not match with the provided hash: the secret store is locked" -- \
	-i g2.resp --secret-store-locked false
# The same request answered in g1 and in g2: g1's response with g2's CUID does not verify.
python3 - all.resp g2.resp spliced.resp <<'PY'
import sys, pvk
b = bytearray(open(sys.argv[1], "rb").read())
s, o = pvk.entries(sys.argv[1])[3]["cuid"]
b[o:o + s] = pvk.item(sys.argv[2], "cuid")
open(sys.argv[3], "wb").write(b)
PY
run "g1's response with g2's CUID: exit 2" 2 "$MISMATCH" -- \
	"$PVATTEST" verify -i spliced.resp -a all.key --hdr se.img

######## Bad input ########
head -c 300 attreq.bin >trunc.req
refuse "perform: truncated request" "truncated" "x.resp" -- "$PVATTEST" perform trunc.req x.resp
head -c 40 attreq.bin >tiny.req
refuse "perform: request shorter than the header" "pvattest" "x.resp" -- "$PVATTEST" perform tiny.req x.resp
{ printf 'pvattesT'; tail -c +9 attreq.bin; } >garbled.req
refuse "perform: garbled magic" "magic" "x.resp" -- "$PVATTEST" perform garbled.req x.resp
refuse "perform: a non-exchange file" "magic" "x.resp" -- "$PVATTEST" perform se.img x.resp
head -c 900 all.resp >trunc.resp
refuse "verify: truncated response" "truncated" "x.yaml" -- \
	"$PVATTEST" verify -i trunc.resp -a all.key --hdr hdr.bin -o x.yaml
refuse "check: truncated response" "truncated" "x.yaml" -- "$PVATTEST" check trunc.resp x.yaml
{ printf 'PVATTEST'; tail -c +9 all.resp; } >garbled.resp
refuse "verify: garbled magic" "magic" "x.yaml" -- \
	"$PVATTEST" verify -i garbled.resp -a all.key --hdr hdr.bin -o x.yaml
refuse "verify: a request is no response" "not an attestation response" "x.yaml" -- \
	"$PVATTEST" verify -i all.req -a all.key --hdr hdr.bin -o x.yaml
head -c 32 /dev/urandom >wrong.key
refuse "verify: wrong ARPK" "does not decrypt" "x.yaml x.user" -- \
	"$PVATTEST" verify -i all.resp -a wrong.key --hdr hdr.bin -o x.yaml -u x.user
head -c 31 all.key >short.key
refuse "verify: ARPK of 31 bytes" "exactly 32 bytes" "x.yaml" -- \
	"$PVATTEST" verify -i all.resp -a short.key --hdr hdr.bin -o x.yaml
{ cat all.key; printf 'x'; } >long.key
refuse "verify: ARPK of 33 bytes" "exactly 32 bytes" "x.yaml" -- \
	"$PVATTEST" verify -i all.resp -a long.key --hdr hdr.bin -o x.yaml
refuse "verify: header file without SE header" "initrd" "x.yaml" -- \
	"$PVATTEST" verify -i all.resp -a all.key --hdr initrd -o x.yaml
refuse "verify: missing response" "nothere" "x.yaml" -- \
	"$PVATTEST" verify -i nothere -a all.key --hdr hdr.bin -o x.yaml
refuse "verify: output into a missing directory" "nodir/x.yaml" "nodir/x.yaml" -- \
	"$PVATTEST" verify -i all.resp -a all.key --hdr hdr.bin -o nodir/x.yaml
head -c 257 /dev/urandom >user257.bin
refuse "perform: user data of 257 bytes" "256 bytes" "x.resp" -- \
	"$PVATTEST" perform attreq.bin x.resp -u user257.bin
refuse "perform: no UV device (PVKIT_UV_DEVICE names nothing)" "cannot open the UV device" "x.resp" -- \
	env PVKIT_UV_DEVICE="$tmp/nowhere/uv" "$PVATTEST" perform attreq.bin x.resp
grep -q "Secure Execution guest" out && pass "the message says why" || fail "unclear: $(cat out)"
refuse "perform: uvsim endpoint not running" "cannot connect" "x.resp" -- \
	env PVKIT_UV_DEVICE="uvsim:$tmp/nowhere.sock" "$PVATTEST" perform attreq.bin x.resp
refuse "perform: output into a missing directory" "nodir/x.resp" "nodir/x.resp" -- \
	"$PVATTEST" perform attreq.bin nodir/x.resp
# create: neither file when it fails.
refuse "create: revoked HKD" "revoked" "c.req c.key" -- \
	"$PVATTEST" create -k "$S/pki/host_revoked.crt" "${VERIFY[@]}" -o c.req -a c.key
refuse "create: expired HKD" "validity" "c.req c.key" -- \
	"$PVATTEST" create -k "$S/pki/host_expired.crt" "${VERIFY[@]}" -o c.req -a c.key
timeout "$T" "$UVSIM" -q --state "$tmp/foreign" init && timeout "$T" "$UVSIM" -q --state "$tmp/foreign" host new x
refuse "create: HKD of a foreign PKI" "Host-key verification failed" "c.req c.key" -- \
	"$PVATTEST" create -k "$tmp/foreign/hosts/x/hkd.crt" "${VERIFY[@]}" -o c.req -a c.key
refuse "create: one good and one revoked HKD" "revoked" "c.req c.key" -- \
	"$PVATTEST" create -k "$HKD" -k "$S/pki/host_revoked.crt" "${VERIFY[@]}" -o c.req -a c.key
refuse "create: request into a missing directory" "nodir/c.req" "nodir/c.req c.key" -- \
	"$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o nodir/c.req -a c.key
refuse "create: arpk into a missing directory" "nodir/c.key" "c.req nodir/c.key" -- \
	"$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o c.req -a nodir/c.key
refuse "create: missing HKD" "nothere.crt" "c.req c.key" -- \
	"$PVATTEST" create -k nothere.crt "${VERIFY[@]}" -o c.req -a c.key
run "create --output-file (the guide's spelling) and -VV anywhere" 0 "WARNING: Use of deprecated flag '-V'" -- \
	"$PVATTEST" create -k "$HKD" --no-verify --output-file alias.req -a alias.key -VV
check "create --output-file wrote the request" test -s alias.req
run "create: unknown --add-data item: usage (IBM: exit 1)" 1 "unknown item 'phkh'" -- \
	"$PVATTEST" create -k "$HKD" --no-verify -o c.req -a c.key --add-data phkh
run "create: neither --cert nor --no-verify: usage (IBM: exit 1)" 1 "--no-verify" -- \
	"$PVATTEST" create -k "$HKD" -o c.req -a c.key
none_left "create usage errors write nothing" c.req c.key && pass "create usage errors write nothing"
run "create --no-verify warns" 0 "verification is disabled" -- \
	"$PVATTEST" create -k "$HKD" --no-verify -o c.req -a c.key
run "verify without --hdr: usage (IBM: exit 1)" 1 "--hdr" -- "$PVATTEST" verify -i all.resp -a all.key
run "the usage hint names the subcommand" 1 "Try 'pvattest verify --help' for more information." -- \
	"$PVATTEST" verify -i all.resp -a all.key
run "unknown command: usage (IBM: exit 1)" 1 "unknown command" -- "$PVATTEST" attest
run "--version" 0 "pvkit" -- "$PVATTEST" --version

######## --help and the man pages ########
# The options of a man page: the tags (.TP lines) of its OPTIONS section.
man_opts() {
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$1" | sed -n '/^\.TP/{n;p}' | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -oE -- '(^|[ ",])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[ ",]*//' | sort -u
}
help_opts() {
	grep -oE -- '(^|[ [(/|,])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[ [(/|,]*//' | sort -u
}
man_dir=${PVKIT_SOURCE_ROOT:-.}/man
if [ -f "$man_dir/pvattest.1" ]; then
	for cmd in "" create perform verify check; do
		page=$man_dir/pvattest${cmd:+-$cmd}.1
		if [ ! -f "$page" ]; then
			fail "no man page $page"
			continue
		fi
		# shellcheck disable=SC2086
		timeout "$T" "$PVATTEST" $cmd --help >help.txt 2>&1
		man_opts "$page" >man.opts
		help_opts <help.txt >help.opts
		[ -s man.opts ] || fail "no options found in $page"
		only_man=$(comm -23 man.opts help.opts | tr '\n' ' ')
		only_help=$(comm -13 man.opts help.opts | tr '\n' ' ')
		if [ -z "$only_man$only_help" ]; then
			pass "pvattest ${cmd:-(main)}: --help and the man page document the same options"
		else
			fail "pvattest ${cmd:-(main)}: only in the man page: $only_man; only in --help: $only_help"
		fi
	done
	if command -v groff >/dev/null; then
		warn=$(for p in "$man_dir"/pvattest*.1; do LC_ALL=C.UTF-8 groff -man -ww -z "$p" 2>&1; done)
		[ -z "$warn" ] && pass "man pages format without warnings" || fail "groff: $warn"
	fi
else
	echo "skip - man pages not found"
fi

run "uvsim stop --all" 0 "" -- "$UVSIM" --state "$S" stop --all
uvsim ls >ls.txt
[ "$(wc -l <ls.txt)" -eq 1 ] && pass "no guest left" || fail "guests left: $(cat ls.txt)"
if compgen -G "$tmp/sanitizer*" >/dev/null; then
	fail "sanitizer reports"
	head -50 "$tmp"/sanitizer* | sed 's/^/    /'
else
	pass "no sanitizer report"
fi

finish
