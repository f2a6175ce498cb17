#!/usr/bin/env bash
# pvsecret from the command line: create (every kind, extension secrets, CUIDs, flags, signed
# and unsigned user data, policies), verify, and the guest commands (add, list, lock,
# retrieve) against guests booted on uvsim, following the procedures of the user's guide:
# association secrets with --output-secret/--input-secret, simple and CCK-derived extension
# secrets, CUID binding from 'pvattest verify' YAML, signed requests, disable-dump, and
# retrievable secrets. Errors: one error line, exit 1 (2 for usage), no output left behind,
# and the UV's rc/rrc where the ultravisor refuses.
#
# Usage: test_pvsecret.sh PVSECRET PVIMG UVSIM PVATTEST PVEXTRACT-HDR
# pass/fail never fail: "test && pass || fail" is fine here.
# shellcheck disable=SC2015
set -u

[ $# -eq 5 ] || { echo "usage: test_pvsecret.sh PVSECRET PVIMG UVSIM PVATTEST PVEXTRACT-HDR" >&2; exit 2; }
PVSECRET=$(realpath "$1")
PVIMG=$(realpath -s "$2")
UVSIM_BIN=$(realpath "$3")
PVATTEST=$(realpath "$4")
EXTRACT=$(realpath "$5")
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "openssl not found: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
make_tmp pvsecret
STATE=$tmp/uvsim
# shellcheck disable=SC2317 # called on exit by lib.sh
cleanup() {
	timeout 30 "$UVSIM_BIN" --state "$STATE" stop --all >/dev/null 2>&1
}
cd "$tmp" || exit 1
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT

# refuse NAME EXIT PATTERN -- COMMAND...: exit EXIT, exactly one error line with PATTERN,
# nothing written to req.out or its NAME.yaml
refuse() {
	local name=$1
	rm -f req.out req.out.* ./*.yaml.* refused.yaml
	run_error "$@" || return
	if ls req.out* refused.yaml >/dev/null 2>&1; then
		fail "$name: output file left behind"
	fi
}

# Two helpers as commands (so that run and timeout can start them):
#   uvsim ARGS...      uvsim on this test's state directory
#   guest ID CMD...    CMD with guest ID's /dev/uv and /sys
mkdir bin
cat >bin/uvsim <<EOF
#!/bin/sh
exec "$UVSIM_BIN" --state "$STATE" "\$@"
EOF
cat >bin/guest <<EOF
#!/bin/sh
id=\$1
shift
PVKIT_UV_DEVICE="uvsim:$STATE/guests/\$id/uv.sock" PVKIT_SYSFS_ROOT="$STATE/guests/\$id/sys" exec "\$@"
EOF
chmod +x bin/uvsim bin/guest
PATH=$tmp/bin:$PATH

# ---- the simulated host, its HKD, two SE images ----
timeout "$T" uvsim init >/dev/null && timeout "$T" uvsim host new z16 >/dev/null || { echo "uvsim init failed"; exit 1; }
HKD=$(timeout "$T" uvsim host hkd z16)
read -r -a VERIFY <<<"$(timeout "$T" uvsim cert-opts)"
CERTS=(-k "$HKD" "${VERIFY[@]}")

fake_kernel vmlinuz
echo "root=/dev/ram0" >parmfile
head -c 32 /dev/urandom >cck
for img in se other; do
	timeout "$T" "$PVIMG" create -i vmlinuz -p parmfile "${CERTS[@]}" -o $img.img >/dev/null 2>&1 ||
		{ echo "pvimg create failed"; exit 1; }
done
timeout "$T" "$PVIMG" create -i vmlinuz -p parmfile "${CERTS[@]}" --cck cck \
	--enable-cck-extension-secret -o cckext.img >/dev/null 2>&1 || { echo "pvimg create (cck) failed"; exit 1; }
run "pvextract-hdr" 0 "" -- "$EXTRACT" -o se.hdr se.img

# ---- create: the seed's association procedure (offline) ----
run "create association (verified HKD)" 0 "Successfully generated the request" -- \
	"$PVSECRET" create "${CERTS[@]}" --hdr se.hdr -o assoc.req association "my secret" \
	--output-secret my_random_secret
[ "$(stat -c %s assoc.req)" = 1416 ] && pass "association request is 1416 bytes" ||
	fail "association request is $(stat -c %s assoc.req) bytes"
[ "$(stat -c %a my_random_secret)" = 600 ] && [ "$(stat -c %s my_random_secret)" = 32 ] &&
	pass "--output-secret: 32 bytes, mode 0600" || fail "--output-secret file wrong"
ID_MY_SECRET=$(printf 'my secret' | openssl dgst -sha256 -r | cut -c1-64)
printf '!Association\nname: my secret\nid: 0x%s\n' "$ID_MY_SECRET" >expect.yaml
cmp -s my_secret.yaml expect.yaml && pass "my_secret.yaml (name, SHA-256 id)" ||
	{ fail "my_secret.yaml differs"; diff my_secret.yaml expect.yaml; }
python3 - <<'PY' && pass "request layout (magic, version, rql, nks, secret header)" || fail "request layout"
import hashlib
r = open("assoc.req", "rb").read()
assert r[:6] == b"asrcbM" and r[6:8] == b"\0\0"
assert int.from_bytes(r[8:12], "big") == 0x100 and int.from_bytes(r[12:16], "big") == len(r)
assert r[0x27] == 1 and int.from_bytes(r[0x2c:0x30], "big") == 64
shdr = r[0x4b8 + 80: 0x4b8 + 80 + 48]
assert shdr[:4] == b"\0\0\0\2" and int.from_bytes(shdr[4:8], "big") == 32
assert shdr[16:] == hashlib.sha256(b"my secret").digest()
assert r[0x108:0x118] == bytes(16) and r[0x30:0x38] == bytes(8)
PY
run "create with the image instead of the header (--se-hdr alias)" 0 "" -- \
	"$PVSECRET" create "${CERTS[@]}" --se-hdr se.img -o assoc2.req association "my secret" \
	--input-secret my_random_secret --stdout
grep -qx "id: 0x$ID_MY_SECRET" out && pass "--stdout prints the description" || fail "--stdout output"
cmp -s assoc.req assoc2.req && fail "two requests identical" || pass "requests are randomised"
mkdir sub
run "create association: options after the kind (seed order), -o in a directory" 0 "" -- \
	"$PVSECRET" create association -k "$HKD" "${VERIFY[@]}" --hdr se.hdr -o sub/seed.req "my secret" \
	--output-secret sub/seed_secret
cmp -s sub/my_secret.yaml my_secret.yaml && [ -s sub/seed.req ] && [ -s sub/seed_secret ] &&
	pass "NAME.yaml written beside the -o file" || fail "NAME.yaml beside -o"
run "create meta --flags disable-dump" 0 "" -- \
	"$PVSECRET" create "${CERTS[@]}" --hdr se.img -o nodump.req --flags disable-dump meta
python3 -c '
r = open("nodump.req", "rb").read()
assert len(r) == 1352 and r[0x30:0x38] == bytes.fromhex("8000000000000000")' &&
	pass "meta request: 1352 bytes, disable-dump flag" || fail "meta request layout"
run "create meta for another image" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr other.img -o other.req meta
run "create --pcf" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o pcf.req --pcf 0x8000000000000000 meta
cmp -s <(head -c 64 pcf.req | tail -c 16) <(head -c 64 nodump.req | tail -c 16) &&
	pass "--pcf sets the raw flags" || fail "--pcf flags"
run "create --use-name" 0 "" -- "$PVSECRET" create -k "$HKD" --no-verify --hdr se.img -o un.req \
	--use-name association "Fancy secret ID"
python3 -c '
r = open("un.req", "rb").read()
assert r[0x4b8 + 80 + 16: 0x4b8 + 80 + 48] == b"Fancy secret ID" + bytes(17)' &&
	pass "--use-name ID = name, zero-padded" || fail "--use-name ID"
grep -q 'id: 0x46616e6379207365637265742049440000000000000000000000000000000000' Fancy_secret_ID.yaml &&
	pass "Fancy_secret_ID.yaml" || fail "Fancy_secret_ID.yaml"
grep -q 'Host-key document verification is disabled' out && pass "--no-verify warns" || fail "--no-verify warning"

# Retrievable secrets, every input kind.
printf 'the plaintext secret' >plain.txt
head -c 32 /dev/urandom >aes256.key
head -c 24 /dev/urandom >aes192.key
head -c 64 /dev/urandom >xts.key
head -c 128 /dev/urandom >hmac.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -outform DER -out ed25519.der 2>/dev/null
for spec in "plain plain.txt 3 PLAINTEXT" "aes aes256.key 6 AES-256-KEY" "aes aes192.key 5 AES-192-KEY" \
	"aes-xts xts.key 8 AES-XTS-256-KEY" "hmac-sha hmac.key 10 HMAC-SHA-512-KEY" \
	"ec p384.pem 18 EC-SECP384R1-PRIVATE-KEY" "ec ed25519.der 20 EC-ED25519-PRIVATE-KEY"; do
	read -r type file num name <<<"$spec"
	run "create retrievable --type $type ($file)" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
		-o "retr_$file.req" retr "r $file" --secret "$file" --type "$type"
	grep -qx "kind: $num ($name)" "r_$file.yaml" && head -1 "r_$file.yaml" | grep -qx '!Retrievable' &&
		pass "r_$file.yaml kind $num ($name)" || { fail "r_$file.yaml"; cat "r_$file.yaml"; }
done
python3 - <<'PY' && pass "value lengths in the secret headers (plaintext padded, P-384 48)" || fail "value lengths"
def slen(f):
    r = open(f, "rb").read()
    return int.from_bytes(r[0x4b8 + 80 + 4: 0x4b8 + 80 + 8], "big")
assert slen("retr_plain.txt.req") == 32     # 2 + 20 -> 32
assert slen("retr_p384.pem.req") == 48 and slen("retr_ed25519.der.req") == 32
assert slen("retr_hmac.key.req") == 128 and slen("retr_xts.key.req") == 64
PY

# ---- create: bad input ----
head -c 17 /dev/urandom >aes17.key
refuse "retrievable aes of 17 bytes" 1 "16, 24 or 32 bytes" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out retr refused --secret aes17.key --type aes
head -c 8191 /dev/zero >big.txt
refuse "plaintext of 8191 bytes" 1 "at most 8190 bytes" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out retr refused --secret big.txt --type plain
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k1.pem 2>/dev/null
refuse "ec secp256k1" 1 "secp256k1" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out retr refused --secret k1.pem --type ec
refuse "unknown --type (usage, IBM: exit 1)" 1 "--type" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out retr refused --secret aes256.key --type des
head -c 31 /dev/urandom >short
refuse "extension secret of 31 bytes" 1 "exactly 32 bytes" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out --extension-secret short meta
refuse "--cck and --extension-secret (usage, IBM: exit 1)" 1 "--cck" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out --extension-secret cck --cck cck meta
refuse "--cuid-hex of 31 digits" 1 "--cuid-hex" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out --cuid-hex 0x0123456789abcdef0123456789abcde meta
refuse "--input-secret with --output-secret (usage, IBM: exit 1)" 1 "--input-secret" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out association refused --input-secret cck --output-secret x
refuse "header of no SE image" 1 "vmlinuz" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr vmlinuz -o req.out meta
refuse "missing --hdr (usage, IBM: exit 1)" 1 "--hdr" -- "$PVSECRET" create "${CERTS[@]}" -o req.out meta
refuse "unknown kind (usage, IBM: exit 1)" 1 "null" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o req.out null
refuse "association without NAME (usage, IBM: exit 1)" 1 "NAME" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
	-o req.out association
refuse "unverifiable HKD (no CRLs)" 1 "" -- "$PVSECRET" create -k "$HKD" --cert "$STATE/pki/ibm.crt" \
	--offline --hdr se.img -o req.out meta
refuse "output equals NAME.yaml (usage, IBM: exit 1)" 1 "are the same" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
	-o refused.yaml association refused
refuse "--flags unknown (usage, IBM: exit 1)" 1 "--flags" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o req.out \
	--flags enable-dump meta
printf '%0600d' 0 >ud600
refuse "unsigned user data of 600 bytes" 1 "Max 512 bytes" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out --user-data ud600 meta

# ---- user data, signing, verify ----
for k in rsa2048 rsa3072 ec521 rsa4096; do
	case $k in
	rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${k#rsa}" -out $k.key 2>/dev/null ;;
	ec521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp521r1 -out $k.key 2>/dev/null ;;
	esac
	openssl req -x509 -key $k.key -subj "/CN=pvsecret test $k" -days 2 -out $k.crt 2>/dev/null
done
openssl pkey -in rsa3072.key -outform DER -out rsa3072.der 2>/dev/null
openssl x509 -in ec521.crt -outform DER -out ec521.der 2>/dev/null
printf 'owner: test user data\n' >user_data
for spec in "rsa2048 rsa2048.key rsa2048.crt 3 256" "rsa3072 rsa3072.der rsa3072.crt 4 128" \
	"ec521 ec521.key ec521.der 2 256"; do
	read -r k key crt type dlen <<<"$spec"
	run "create --user-sign-key $key --user-data" 0 "" -- "$PVSECRET" create "${CERTS[@]}" \
		--hdr se.img -o "signed_$k.req" --user-sign-key "$key" --user-data user_data association "signed $k"
	python3 -c "import sys; r=open('signed_$k.req','rb').read(); sys.exit(0 if int.from_bytes(r[6:8],'big') == $type else 1)" &&
		pass "$k: user-data type $type" || fail "$k: user-data type"
	rm -f "ud_$k.out"
	run "verify --user-cert $crt" 0 "Successfully verified the request." -- "$PVSECRET" verify \
		--user-cert "$crt" -o "ud_$k.out" "signed_$k.req"
	[ "$(stat -c %s "ud_$k.out")" = "$dlen" ] && cmp -s <(head -c "$(stat -c %s user_data)" "ud_$k.out") user_data &&
		pass "$k: user data written ($dlen bytes)" || fail "$k: user data output"
done
run "verify to standard output (positional)" 0 "owner: test user data" -- "$PVSECRET" verify \
	--user-cert rsa2048.crt signed_rsa2048.req
cp signed_ec521.req bad_sig.req
printf 'X' | dd of=bad_sig.req bs=1 seek=$((0x218 + 256 + 10)) conv=notrunc status=none
refuse "verify: bad EC signature" 1 "could not be verified" -- "$PVSECRET" verify --user-cert ec521.crt bad_sig.req
cp signed_rsa2048.req bad_data.req
printf 'Y' | dd of=bad_data.req bs=1 seek=$((0x218)) conv=notrunc status=none
refuse "verify: changed user data" 1 "could not be verified" -- "$PVSECRET" verify --user-cert rsa2048.crt bad_data.req
refuse "verify: wrong key type" 1 "does not match" -- "$PVSECRET" verify --user-cert rsa3072.crt signed_rsa2048.req
refuse "verify: signed, no certificate" 1 "No user-key" -- "$PVSECRET" verify signed_rsa2048.req
refuse "verify: not a request" 1 "asrcbM" -- "$PVSECRET" verify vmlinuz
head -c 1000 assoc.req >trunc.req
refuse "verify: truncated request" 1 "trunc.req" -- "$PVSECRET" verify trunc.req
refuse "--user-sign-key RSA 4096" 1 "Only EC(secp521r1) and RSA(2048 & 3072 bit)" -- "$PVSECRET" create \
	"${CERTS[@]}" --hdr se.img -o req.out --user-sign-key rsa4096.key meta
printf '%0300d' 0 >ud300
refuse "signed EC user data of 300 bytes" 1 "Max 256 bytes" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr se.img -o req.out --user-sign-key ec521.key --user-data ud300 meta
run "create --user-data (unsigned)" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o ud.req \
	--user-data user_data meta
rm -f ud.out
run "verify unsigned user data" 0 "" -- "$PVSECRET" verify -i ud.req -o ud.out
[ "$(stat -c %s ud.out)" = 512 ] && pass "unsigned: 512 bytes written" || fail "unsigned user-data output"
refuse "verify unsigned with a certificate" 1 "does not match" -- "$PVSECRET" verify --user-cert rsa2048.crt ud.req
rm -f none.out
run "verify: no user data" 0 "Successfully verified" -- "$PVSECRET" verify nodump.req none.out
[ ! -e none.out ] && pass "no user data: nothing written" || fail "no user data: output written"
# A certificate asks for a signature: a request without user data must not pass (issue 9 #2).
refuse "verify --user-cert: no user data" 1 "carries no user data" -- "$PVSECRET" verify \
	--user-cert rsa2048.crt nodump.req none.out
[ ! -e none.out ] && pass "no user data with a cert: nothing written" || fail "output written"
# --format json (pvkit's addition): the request described, checked field by field.
run "verify --format json (signed)" 0 "" -- "$PVSECRET" verify --format json \
	--user-cert rsa2048.crt -o signed.json signed_rsa2048.req
python3 - signed.json signed_rsa2048.req user_data <<'PY' && pass "verify json: signed request" || fail "verify json: signed request"
import hashlib, json, sys
d = json.load(open(sys.argv[1])); r = open(sys.argv[2], "rb").read()
ud = open(sys.argv[3], "rb").read()
assert d["signed"] is True and d["user_data_type"] != "", d
assert bytes.fromhex(d["user_data"][2:]).startswith(ud), d["user_data"]
assert d["secret_id"] == "0x" + hashlib.sha256(b"signed rsa2048").hexdigest(), d["secret_id"]
assert d["se_header_tag"] == "0x" + r[0xf8:0x108].hex() and d["cuid"] == "0x" + r[0x108:0x118].hex()
assert d["disable_dump"] is False and "ssociation" in d["secret_type"], d
PY
run "verify --format json (meta, disable-dump)" 0 '"disable_dump": true' -- "$PVSECRET" verify \
	--format json nodump.req
check "verify json: a meta request has no secret ID" grep -q '"secret_id": null' out
check "verify json: unsigned" grep -q '"signed": false' out
refuse "verify --format yaml" 1 "--format: json" -- "$PVSECRET" verify --format yaml nodump.req
printf 'policy: v1\n' >policy.yaml
run "create --policy --toc-policy" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o pol.req \
	--policy policy.yaml --toc-policy toc.txt meta
PH=$(openssl dgst -sha256 -r policy.yaml | cut -c1-64)
grep -qx "$PH" out && pass "--policy prints the policy hash" || fail "--policy hash not printed"
python3 - "$PH" <<'PY' && pass "policy reference in the user data" || fail "policy reference"
import sys
r = open("pol.req", "rb").read()
u = r[0x218:0x418]
assert r[6:8] == b"\0\1" and u[:32].hex() == sys.argv[1] and u[32:32 + 11] == b"policy.yaml"
assert u[43:] == bytes(512 - 43)
PY
[ "$(cat toc.txt)" = "$(tail -c 16 pol.req | od -An -tx1 | tr -d ' \n')" ] &&
	pass "--toc-policy appends the request tag" || fail "--toc-policy content"
# IBM accepts --policy with --user-sign-key, prints the policy hash and drops the reference:
# the user data holds only the signature (issue 10 #15)
run "create --policy --user-sign-key" 0 "is dropped" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
	-o polsig.req --policy policy.yaml --user-sign-key ec521.key meta
grep -qx "$PH" out && pass "--policy --user-sign-key prints the policy hash" || fail "hash not printed"
python3 - <<'PY' && pass "--policy --user-sign-key: signed, no policy reference" || fail "policy with a signing key: user data"
r = open("polsig.req", "rb").read()
assert int.from_bytes(r[6:8], "big") == 2, "not EC-signed user data"
assert b"policy.yaml" not in r[0x218:0x418]
PY

# ---- on the guest ----
run "boot g1" 0 "CUID" -- uvsim boot --host z16 --id g1 se.img
eval "$(timeout "$T" uvsim env g1)"
refuse "create inside an SE guest" 1 "-f" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
	-o req.out meta
run "create -f inside an SE guest" 0 "Secure Execution guest" -- "$PVSECRET" create -f "${CERTS[@]}" \
	--hdr se.img -o forced.req meta
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT

run "list: empty store" 0 "Total number of secrets: 0" -- guest g1 "$PVSECRET" list
[ "$(cat out)" = "Total number of secrets: 0" ] && pass "empty list: one line" || fail "empty list output"
run "add the association request" 0 "Successfully added the secret" -- guest g1 "$PVSECRET" add assoc.req
run "list (human)" 0 "" -- guest g1 "$PVSECRET" list
printf 'Total number of secrets: 1\n\n0 Association:\n 0x%s\n' "$ID_MY_SECRET" >expect.txt
cmp -s out expect.txt && pass "list human output" || { fail "list human output"; diff out expect.txt; }
run "list --format yaml -o" 0 "Successfully wrote the list" -- guest g1 "$PVSECRET" list --format yaml -o list.yaml
printf 'total_num_secrets: 1\nsecrets:\n- index: 0\n  stype: 2\n  len: 32\n  id: 0x%s\n' "$ID_MY_SECRET" >expect.yaml
cmp -s list.yaml expect.yaml && pass "list yaml output" || { fail "list yaml output"; diff list.yaml expect.yaml; }
run "list --format json" 0 "" -- guest g1 "$PVSECRET" list --format json
python3 - out "$ID_MY_SECRET" <<'PY' && pass "list json: the YAML document's members" || fail "list json: $(cat out)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"total_num_secrets": 1,
             "secrets": [{"index": 0, "stype": 2, "len": 32, "id": "0x" + sys.argv[2]}]}, d
PY
run "list --format bin (positional OUTPUT)" 0 "" -- guest g1 "$PVSECRET" list --format bin list.bin
python3 - "$ID_MY_SECRET" <<'PY' && pass "list bin output" || fail "list bin output"
import sys
b = open("list.bin", "rb").read()
assert len(b) == 16 + 48 and b[:4] == bytes.fromhex("00010001")
assert b[16:24] == bytes.fromhex("0000000200000020") and b[32:].hex() == sys.argv[1]
PY
refuse "add a duplicate ID" 1 "duplicated IDs" -- guest g1 "$PVSECRET" add assoc2.req
grep -q 'already a secret in the secret store with that id' out && pass "duplicate ID warned" || fail "duplicate warning"
refuse "add a duplicate ID with --force: the UV refuses" 1 "rc 0x010c" -- guest g1 "$PVSECRET" add --force assoc2.req
refuse "add a request for another image" 1 "rc 0x0101, rrc 0x0001" -- guest g1 "$PVSECRET" add other.req
grep -q 'not allowed to modify the secret store' out && pass "rc meaning printed" || fail "rc meaning"
refuse "add: not a request" 1 "asrcbM" -- guest g1 "$PVSECRET" add vmlinuz
run "add --flags disable-dump meta from standard input" 0 "Successfully added" -- guest g1 sh -c \
	"'$PVSECRET' add - <nodump.req"
run "meta secrets are not listed" 0 "Total number of secrets: 1" -- guest g1 "$PVSECRET" list
# Signed requests: verify in the guest, then add.
run "verify the signed request in the guest" 0 "" -- guest g1 "$PVSECRET" verify --user-cert rsa3072.crt \
	-o ud_guest.out signed_rsa3072.req
run "add the verified signed request" 0 "" -- guest g1 "$PVSECRET" add signed_rsa3072.req
run "add the EC-signed request" 0 "" -- guest g1 "$PVSECRET" add -i signed_ec521.req

# Retrievable secrets.
run "add retrievable plain" 0 "" -- guest g1 "$PVSECRET" add retr_plain.txt.req
run "add retrievable aes" 0 "" -- guest g1 "$PVSECRET" add retr_aes256.key.req
run "add retrievable ec" 0 "" -- guest g1 "$PVSECRET" add retr_p384.pem.req
run "retrieve plain (yaml, pem)" 0 "" -- guest g1 "$PVSECRET" retrieve r_plain.txt.yaml
printf -- '-----BEGIN PLAINTEXT SECRET-----\n%s\n-----END PLAINTEXT SECRET-----\n' \
	"$(base64 -w0 plain.txt)" >expect.pem
cmp -s out expect.pem && pass "plaintext PEM" || { fail "plaintext PEM"; cat out; }
rm -f plain.out
run "retr plain --inform name --outform bin -o" 0 "" -- guest g1 "$PVSECRET" retr --inform name \
	--outform bin -o plain.out "r plain.txt"
cmp -s plain.out plain.txt && pass "plaintext bin equals the input" || fail "plaintext bin"
[ "$(stat -c %a plain.out)" = 600 ] && pass "retrieved secret mode 0600" || fail "retrieved secret mode"
run "retrieve aes (yaml, pem -o)" 0 "" -- guest g1 "$PVSECRET" retrieve -i r_aes256.key.yaml -o aes.pem
head -1 aes.pem | grep -qx -- '-----BEGIN IBM PROTECTED KEY-----' && sed -n 2p aes.pem | grep -qx 'kind: AES-256-KEY' &&
	sed -n 3p aes.pem | grep -qx '' && pass "protected-key PEM header" || { fail "protected-key PEM"; cat aes.pem; }
ID_AES=$(printf 'r aes256.key' | openssl dgst -sha256 -r | cut -c1-64)
run "retrieve aes --inform hex --outform bin" 0 "" -- guest g1 "$PVSECRET" retrieve --inform hex \
	--outform bin "0x$ID_AES" aes.bin
base64 -d <(sed -n '4,$p' aes.pem | grep -v -- '-----') >aes_pem.bin 2>/dev/null
cmp -s aes.bin aes_pem.bin && pass "bin equals the PEM payload" || fail "bin vs PEM payload"
[ "$(stat -c %s aes.bin)" -gt 32 ] && ! cmp -s <(head -c 32 aes.bin) aes256.key &&
	pass "a protected key, not the clear key" || fail "the AES key came back in clear"
IDX=$(guest g1 "$PVSECRET" list --format yaml | python3 -c '
import sys
idx = None
for line in sys.stdin:
    line = line.strip()
    if line.startswith("- index:"): idx = line.split()[-1]
    if line.startswith("stype:") and line.split()[-1] == "18": print(idx)')
run "retrieve ec --inform idx" 0 "kind: EC-SECP384R1-PRIVATE-KEY" -- guest g1 "$PVSECRET" retrieve --inform idx "$IDX"
refuse "retrieve an association secret by yaml" 1 "not retrievable" -- guest g1 "$PVSECRET" retrieve my_secret.yaml
refuse "retrieve the association by index: the UV refuses" 1 "rc 0x0111" -- guest g1 "$PVSECRET" retrieve --inform idx 0
refuse "retrieve an unknown index" 1 "no secret with the index 99" -- guest g1 "$PVSECRET" retr --inform idx 99
refuse "retrieve an unknown name" 1 "no secret" -- guest g1 "$PVSECRET" retr --inform name nothere
refuse "retrieve: bad hex" 1 "0x and 64 hex digits" -- guest g1 "$PVSECRET" retr --inform hex 0x12
refuse "retrieve: bad --outform (usage, IBM: exit 1)" 1 "--outform" -- guest g1 "$PVSECRET" retr --outform der r_aes256.key.yaml

# Association: --output-secret then --input-secret for an updated image (seed procedure).
run "create for the updated image with --input-secret" 0 "" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr other.img -o updated.req association "my secret" --input-secret my_random_secret
run "boot g2 from the updated image" 0 "" -- uvsim boot --host z16 --id g2 other.img
run "add the --input-secret request" 0 "" -- guest g2 "$PVSECRET" add updated.req
run "same ID in the new guest" 0 "$ID_MY_SECRET" -- guest g2 "$PVSECRET" list

# Lock.
run "lock" 0 "Successfully locked secret store" -- guest g1 "$PVSECRET" lock
refuse "add after lock" 1 "rc 0x0102" -- guest g1 "$PVSECRET" add -f signed_rsa2048.req
grep -q 'secret store is locked' out && pass "locked store named" || fail "locked store meaning"
refuse "lock twice" 1 "rc 0x0102" -- guest g1 "$PVSECRET" lock

# Simple extension secret: the first request primes it.
head -c 32 /dev/urandom >ext1
head -c 32 /dev/urandom >ext2
run "boot g3" 0 "" -- uvsim boot --host z16 --id g3 se.img
for n in a b c; do
	run "create ext secret request $n" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
		-o ext_$n.req --extension-secret "$([ $n = c ] && echo ext2 || echo ext1)" association "ext $n"
done
run "add with extension secret (primes it)" 0 "" -- guest g3 "$PVSECRET" add ext_a.req
run "add with the same extension secret" 0 "" -- guest g3 "$PVSECRET" add ext_b.req
refuse "add with another extension secret" 1 "rc 0x0101, rrc 0x0003" -- guest g3 "$PVSECRET" add ext_c.req
refuse "add without extension secret" 1 "rc 0x0101, rrc 0x0003" -- guest g3 "$PVSECRET" add nodump.req

# CCK-derived extension secret.
run "boot g4 (cck extension secret image)" 0 "" -- uvsim boot --host z16 --id g4 cckext.img
run "create --cck" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr cckext.img -o cck.req --cck cck \
	association "cck secret"
run "create simple ext secret for the CCK image" 0 "" -- "$PVSECRET" create "${CERTS[@]}" \
	--hdr cckext.img -o cckbad.req --extension-secret ext1 association "not cck"
refuse "simple extension secret refused on a CCK image" 1 "rc 0x0101, rrc 0x0003" -- guest g4 "$PVSECRET" add cckbad.req
run "add the CCK-derived request" 0 "" -- guest g4 "$PVSECRET" add cck.req

# CUID binding with the CUID from 'pvattest verify -o' YAML.
run "pvattest create" 0 "" -- "$PVATTEST" create "${CERTS[@]}" -o att.req -a att.arpk
run "pvattest perform (g3)" 0 "" -- guest g3 "$PVATTEST" perform att.req att.resp
run "pvattest verify -o cuid.yaml" 0 "" -- "$PVATTEST" verify -i att.resp --hdr se.img -a att.arpk \
	--format yaml -o cuid.yaml
run "create --cuid cuid.yaml" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o cuid.req \
	--extension-secret ext1 --cuid cuid.yaml association "cuid secret"
python3 - <<'PY' && pass "CUID from the YAML at 0x108" || fail "CUID in the request"
import re
cuid = re.search(r"cuid: '?0x([0-9a-f]{32})", open("cuid.yaml").read()).group(1)
assert open("cuid.req", "rb").read()[0x108:0x118].hex() == cuid
PY
printf 'outer:\n  inner:\n    cuid: "0x%s"\n' "$(python3 -c '
print(open("cuid.req","rb").read()[0x108:0x118].hex())')" >nested.yaml
run "create --cuid nested YAML" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o cuid2.req \
	--extension-secret ext1 --cuid nested.yaml association "cuid nested"
cmp -s <(head -c $((0x118)) cuid.req | tail -c 16) <(head -c $((0x118)) cuid2.req | tail -c 16) &&
	pass "nested cuid key found" || fail "nested cuid"
head -c $((0x118)) cuid.req | tail -c 16 >cuid.raw
run "create --cuid (16 raw bytes)" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o cuid3.req \
	--extension-secret ext1 --cuid cuid.raw association "cuid raw"
printf 'nothing: here\n' >nocuid.yaml
refuse "--cuid YAML without cuid" 1 "cuid" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o req.out \
	--cuid nocuid.yaml meta
run "create --cuid-hex (wrong CUID)" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o cuidbad.req \
	--extension-secret ext1 --cuid-hex 0x000102030405060708090a0b0c0d0e0f association "wrong cuid"
refuse "add with a wrong CUID" 1 "rc 0x0101, rrc 0x0002" -- guest g3 "$PVSECRET" add cuidbad.req
run "add bound to this guest's CUID" 0 "" -- guest g3 "$PVSECRET" add cuid.req
run "boot g5" 0 "" -- uvsim boot --host z16 --id g5 se.img
refuse "CUID-bound request in another guest" 1 "rc 0x0101, rrc 0x0002" -- guest g5 "$PVSECRET" add cuid2.req

# Update the CCK: only images that allow it.
head -c 32 /dev/urandom >newcck
timeout "$T" "$PVIMG" create -i vmlinuz -p parmfile "${CERTS[@]}" --cck cck --enable-cck-update \
	-o cckupd.img >/dev/null 2>&1 || fail "pvimg create --enable-cck-update"
for img in cckupd se; do
	run "create update-cck for $img.img" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr $img.img \
		-o upd_$img.req update-cck --secret newcck
done
python3 -c '
r = open("upd_se.req", "rb").read()
assert len(r) == 1416 and r[0x4b8 + 80: 0x4b8 + 80 + 48] == bytes.fromhex("0000001600000020") + bytes(40)' &&
	pass "update-cck request: type 0x16, 32 bytes, no ID" || fail "update-cck request layout"
run "boot g6 (CCK update allowed)" 0 "" -- uvsim boot --host z16 --id g6 cckupd.img
run "add update-cck" 0 "Successfully added" -- guest g6 "$PVSECRET" add upd_cckupd.req
run "update-cck is not listed" 0 "Total number of secrets: 0" -- guest g6 "$PVSECRET" list
refuse "update-cck on an image without CCK update" 1 "rc 0x0101, rrc 0x0004" -- guest g5 "$PVSECRET" add upd_se.req
refuse "update-cck without --secret (usage, IBM: exit 1)" 1 "--secret" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img \
	-o req.out cck

# Secret IDs shown as text: --use-name.
run "create --use-name retrievable" 0 "" -- "$PVSECRET" create "${CERTS[@]}" --hdr se.img -o name.req \
	--extension-secret ext1 --use-name retr "Fancy secret ID" --secret aes192.key --type aes
run "add the --use-name request" 0 "" -- guest g3 "$PVSECRET" add name.req
run "list shows the text ID" 0 " Fancy secret ID | 0x46616e6379207365637265742049440000000000000000000000000000000000" -- \
	guest g3 "$PVSECRET" list
run "retrieve --inform name (ID = name)" 0 "kind: AES-192-KEY" -- guest g3 "$PVSECRET" retrieve \
	--inform name "Fancy secret ID"

# Guest commands without a device.
refuse "list without a UV device" 1 "list" -- env PVKIT_UV_DEVICE=/nonexistent/uv "$PVSECRET" list

# Usage and help.
for c in create add lock list verify retrieve; do
	run "$c --help" 0 "Usage: pvsecret $c" -- "$PVSECRET" $c --help
done
run "version" 0 "pvsecret" -- "$PVSECRET" --version
run "the usage hint names the subcommand" 1 "Try 'pvsecret list --help' for more information." -- \
	"$PVSECRET" list --frobnicate
refuse "unknown command (usage, IBM: exit 1)" 1 "unknown command" -- "$PVSECRET" frobnicate

# --help and the man pages name the same options (the Options part of --help, the OPTIONS
# section of the man page).
opts() { grep -oE -- '(^|[^a-zA-Z0-9-])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u; }
MAN_DIR=${PVKIT_SOURCE_ROOT:-}/man
if [ -n "${PVKIT_SOURCE_ROOT:-}" ] && [ -f "$MAN_DIR/pvsecret.1" ]; then
	for c in create add lock list verify retrieve; do
		man=$MAN_DIR/pvsecret-$c.1
		"$PVSECRET" $c --help | sed -n '/^Options:/,$p' | opts >help_opts
		sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man" | sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' |
			opts >man_opts
		if cmp -s help_opts man_opts; then
			pass "pvsecret-$c.1 and --help list the same options"
		else
			fail "pvsecret-$c.1 vs --help"
			diff help_opts man_opts | sed 's/^/    /'
		fi
	done
	"$PVSECRET" --help | sed -n '/^Options:/,$p' | opts >help_opts
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN_DIR/pvsecret.1" | sed -n '/^\.SH OPTIONS/,/^\.SH [^O]/p' |
		opts >man_opts
	cmp -s help_opts man_opts && pass "pvsecret.1 and --help list the same options" ||
		{ fail "pvsecret.1 vs --help"; diff help_opts man_opts | sed 's/^/    /'; }
	for c in create add lock list verify retrieve; do
		grep -q "^\.B $c\|^\.BR $c" "$MAN_DIR/pvsecret.1" && pass "pvsecret.1 names $c" ||
			fail "pvsecret.1 lacks $c"
	done
fi

finish
