#!/bin/bash
# SPDX-License-Identifier: MIT
# Golden outputs of `pvimg info` (text, text:full, json; not verified, verified, decrypted)
# and `pvimg test`, from headers whose every field is fixed (mkhdr), in the layout of IBM's
# pvimg 2.43 (its Display and serde output); and every JSON output validated against the
# schema `pvimg info --print-schema json` prints.
#
#   test_golden.sh PVIMG MKHDR
#
# PVKIT_GOLDEN_UPDATE=1 rewrites the golden files from the current outputs (review the diff).
set -u
PVIMG=$(realpath -s "$1") MKHDR=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
G=$HERE/golden
# shellcheck source=../cli/lib.sh
. "$HERE/../cli/lib.sh"
T=30
make_tmp golden
cd "$tmp" || exit 1
unset PVKIT_SYSFS_ROOT

"$MKHDR" . || { echo "FAIL - mkhdr"; exit 1; }
for h in host1 host2; do
	openssl req -x509 -key $h.pem -subj "/CN=golden $h" -days 2 -out $h.crt 2>/dev/null
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp521r1 -out other.pem 2>/dev/null
openssl req -x509 -key other.pem -subj "/CN=golden other" -days 2 -out other.crt 2>/dev/null

# The metadata that changes with the run: host, time, version.
mask_meta() {
	sed -E 's/("host": ?)"[^"]*"/\1"HOST"/; s/("time_epoch": ?)[0-9]+/\1EPOCH/;
		s/("time": ?)"[^"]*"/\1"TIME"/; s/("version": ?)"[0-9][^"]*"/\1"VERSION"/'
}

# golden NAME WANT-EXIT STREAM -- COMMAND...: the command's STREAM (stdout or stderr) equals
# golden/NAME; the other stream is kept in $tmp/NAME.other
golden() {
	local name=$1 want=$2 stream=$3 rc
	shift 4
	timeout "$T" "$@" >"$name.stdout" 2>"$name.stderr"
	rc=$?
	if [ "$stream" = stdout ]; then cp "$name.stdout" "$name.out"; else cp "$name.stderr" "$name.out"; fi
	case $name in *.json) mask_meta <"$name.out" >"$name.masked" && mv "$name.masked" "$name.out" ;; esac
	if [ "${PVKIT_GOLDEN_UPDATE:-}" = 1 ]; then
		cp "$name.out" "$G/$name"
	fi
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want: $(head -c 300 "$name.stderr")"
	elif ! diff -u "$G/$name" "$name.out" >"$name.diff"; then
		fail "$name: differs from golden/$name"
		head -n 40 "$name.diff" | sed 's/^/    /'
	else
		pass "$name"
	fi
}

NOTVER="WARNING: The Secure Execution header integrity and authenticity was not verified. Specify '--hdr-key' to authenticate it. Do not trust the data without verification."

# ---- pvimg info: text ----
golden info-text.txt 0 stdout -- "$PVIMG" info --format text hdr2.bin
check "info: IBM's not-verified warning on stderr" test "$(cat info-text.txt.stderr)" = "$NOTVER"
golden info-text-full.txt 0 stdout -- "$PVIMG" info --format text:full hdr2.bin
golden info-text-verified.txt 0 stdout -- "$PVIMG" info --format text --hdr-key hdr.key hdr2.bin
check "info --hdr-key: no warning" test ! -s info-text-verified.txt.stderr
golden info-text-full-verified.txt 0 stdout -- "$PVIMG" info --format text:full --key hdr.key hdr2.bin
golden info-text-decrypted.txt 0 stdout -- \
	"$PVIMG" info --format text --hdr-key hdr.key --show-secrets hdr2.bin
golden info-text-full-decrypted.txt 0 stdout -- \
	"$PVIMG" info --format text:full --hdr-key hdr.key --show-secrets hdr2.bin
golden info-text-zero-slots.txt 0 stdout -- "$PVIMG" info --format text:full hdr0.bin
# a viewer: an encrypted area of another size than V1's 128 bytes is printed (IBM's is too)
golden info-text-sea96.txt 0 stdout -- "$PVIMG" info --format text:full hdr-sea.bin
golden info-q.txt 0 stderr -- "$PVIMG" info -q --format text hdr2.bin

# ---- pvimg info: json ----
golden info.json 0 stdout -- "$PVIMG" info --format json hdr2.bin
golden info-verified.json 0 stdout -- "$PVIMG" info --format json --hdr-key hdr.key hdr2.bin
golden info-decrypted.json 0 stdout -- \
	"$PVIMG" info --format json:pretty --hdr-key hdr.key --show-secrets hdr2.bin
golden info-minify.json 0 stdout -- "$PVIMG" info --format json:minify hdr2.bin
golden info-zero-slots.json 0 stdout -- "$PVIMG" info --format json hdr0.bin
golden info-sea96.json 0 stdout -- "$PVIMG" info --format json hdr-sea.bin
# not a terminal: json by default
golden info-default.json 0 stdout -- "$PVIMG" info hdr2.bin

# --format: KIND:default and any case (IBM's parser lowercases both parts)
for spec in "text:default info-text.txt" "TEXT info-text.txt" "Text:Full info-text-full.txt" \
	"json:default info.json" "JSON:Pretty info.json" "Json:MINIFY info-minify.json"; do
	read -r fmt ref <<<"$spec"
	timeout "$T" "$PVIMG" info --format "$fmt" hdr2.bin 2>/dev/null | mask_meta >fmt.out
	if cmp -s fmt.out "$G/$ref"; then pass "--format $fmt = $ref"; else fail "--format $fmt differs from $ref"; fi
done
run "--format text:minify is refused" 2 "invalid value 'text:minify' for '--format <FORMAT>'" -- \
	"$PVIMG" info --format text:minify hdr2.bin
run "--format yaml is refused" 2 "invalid value 'yaml'" -- "$PVIMG" info --format yaml hdr2.bin

# meta: time is "%F %T%z" of time_epoch in UTC; '/' in base64 is not escaped
python3 - info.json.stdout <<'PY' && pass "meta.time is time_epoch as %F %T%z; no escaped '/'" || fail "meta.time / slashes"
import datetime, json, sys
raw = open(sys.argv[1]).read()
m = json.loads(raw)["meta"]
t = datetime.datetime.fromtimestamp(m["time_epoch"], datetime.timezone.utc)
assert m["time"] == t.strftime("%Y-%m-%d %H:%M:%S+0000"), m
assert "\\/" not in raw and "/" in json.loads(raw)["data"]["cipher_data_b64"]
PY

# ---- the schema ----
run "--print-schema json" 0 '"$schema": "http://json-schema.org/draft-07/schema#"' -- \
	"$PVIMG" info --print-schema json
cp out schema.json
if cmp -s schema.json "$HERE/../../lib/schema/pvimg-info-v1.schema.json"; then
	pass "--print-schema json prints lib/schema/pvimg-info-v1.schema.json"
else
	fail "--print-schema json differs from the schema file"
fi
run "--print-schema text" 0 "No schema for human-readable format available!" -- \
	"$PVIMG" info --print-schema text
run "--print-schema with an INPUT is refused" 2 "--print-schema" -- \
	"$PVIMG" info --print-schema json hdr2.bin
for j in info.json info-verified.json info-decrypted.json info-minify.json info-zero-slots.json \
	info-sea96.json; do
	if python3 - schema.json "$j.stdout" <<'PY'; then pass "$j validates against the schema"; else fail "$j: schema"; fi
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))
PY
done
# ... and the schema is no rubber stamp: it refuses documents pvimg must never print
python3 - schema.json info.json.stdout info-decrypted.json.stdout <<'PY' && pass "the schema refuses wrong documents" || fail "the schema accepts wrong documents"
import copy, json, sys, jsonschema
v = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
nv, dec = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
bad = []
d = copy.deepcopy(nv); d["data"]["cck_hex"] = "00"; bad.append(d)          # secret, not verified
d = copy.deepcopy(dec); d["data"]["verified"] = False; bad.append(d)       # decrypted, unverified
d = copy.deepcopy(dec); d["data"]["cipher_data_b64"] = "AA=="; bad.append(d)
d = copy.deepcopy(nv); d["meta"]["time"] = "2026-12-03T08:53:38Z"; bad.append(d)
d = copy.deepcopy(nv); d["data"]["pcf_hex"] = "e0"; bad.append(d)
d = copy.deepcopy(nv); del d["data"]["tag_hex"]; bad.append(d)
d = copy.deepcopy(nv); d["data"]["extra"] = 1; bad.append(d)
for b in bad:
    assert not v.is_valid(b), b
PY

# ---- pvimg test ----
golden test-k.txt 0 stderr -- "$PVIMG" test -k host1.crt -k other.crt hdr2.bin
check "test: nothing on stdout" test ! -s test-k.txt.stdout
golden test-k-none.txt 1 stderr -- "$PVIMG" test -k other.crt hdr2.bin
golden test-hashes.txt 0 stderr -- "$PVIMG" test --key-hashes=keys_all hdr2.bin
sed -i '2s/.*/'"$(printf '0%.0s' {1..64})"'/; 5s/.*/'"$(printf '0%.0s' {1..64})"'/' keys_all
golden test-hashes-none.txt 1 stderr -- "$PVIMG" test --key-hashes=keys_all hdr2.bin
golden test-q.txt 0 stderr -- "$PVIMG" test -q -k host1.crt hdr2.bin
run "test -k with --key-hashes is refused" 2 "cannot be used with" -- \
	"$PVIMG" test -k host1.crt --key-hashes=keys_all hdr2.bin
# without FILE: the UV's list below $PVKIT_SYSFS_ROOT (a uvsim guest's view), else /sys
mkdir -p sys/firmware/uv/keys
mkdir mk2 && "$MKHDR" mk2
cp mk2/keys_all sys/firmware/uv/keys/all
PVKIT_SYSFS_ROOT=$tmp/sys golden test-hashes-sysfs.txt 0 stderr -- \
	"$PVIMG" test --key-hashes hdr2.bin
PVKIT_SYSFS_ROOT=/nonexistent-pvkit-sysfs golden test-hashes-unavailable.txt 1 stderr -- \
	"$PVIMG" test --key-hashes hdr2.bin

finish
