#!/usr/bin/env bash
# A malformed-input corpus over every command that reads a file (issue 9): valid inputs are
# made first (an SE image and its header, host-key documents of a test PKI, attestation
# requests and responses from a uvsim guest, add-secret requests, YAML files), then broken
# systematically (truncated at many lengths, single bytes flipped in every structural field,
# wrong sizes and versions, garbage, empty, a directory, a missing file, a pipe, expired,
# revoked and wrongly signed certificates, deep nesting) and fed to every command and option
# that reads them. Every case must give the command's documented exit code, exactly one
# line on standard error naming the file, no output file or temp file, no sanitizer report,
# and end within 5 s. The corpus is generated here, at test time, and counted (>= 300).
#
# Usage: test_malformed.sh BUILD-TOOLS-DIR UVSIM
set -u

TOOLS=$(realpath -s "$1")
UVSIM=$(realpath "$2")
PVIMG=$TOOLS/pvimg
GENPROTIMG=$TOOLS/genprotimg
EXTRACT=$TOOLS/pvextract-hdr
PVVERIFY=$TOOLS/pvverify
PVATTEST=$TOOLS/pvattest
PVSECRET=$TOOLS/pvsecret
PVAPCONFIG=$TOOLS/pvapconfig
T=60
CASE_T=5
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
uvsim_tmp malformed
mkdir in o
IN=$tmp/in

######## valid inputs ########
uvsim() { timeout "$T" "$UVSIM" --state "$S" "$@"; }
run "uvsim init" 0 "" -- "$UVSIM" --state "$S" init || exit 1
run "uvsim host new" 0 "" -- "$UVSIM" --state "$S" host new z || exit 1
HKD=$(uvsim host hkd z)
read -r -a VERIFY <<<"$(uvsim cert-opts)"
PKI=$S/pki
fake_kernel "$IN/vmlinuz"
head -c 20000 /dev/urandom >"$IN/initrd"
echo "root=/dev/ram0" >"$IN/parmfile"
head -c 32 /dev/urandom >"$IN/hdr.key"
run "pvimg create" 0 "" -- "$PVIMG" create -i "$IN/vmlinuz" -r "$IN/initrd" -p "$IN/parmfile" \
	-k "$HKD" "${VERIFY[@]}" --hdr-key "$IN/hdr.key" -o "$IN/se.img" || exit 1
run "pvextract-hdr" 0 "" -- "$EXTRACT" -o "$IN/se.hdr" "$IN/se.img" || exit 1
run "pvattest create" 0 "" -- "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o "$IN/att.req" \
	-a "$IN/att.arpk" || exit 1
run "uvsim boot" 0 "" -- "$UVSIM" --state "$S" boot --host z --id g \
	--ap "card=03,type=CEX8P,serial=93AADFK719460083,domains=0x2b" "$IN/se.img" || exit 1
eval "$(uvsim env g)"
GUEST_DEV=$PVKIT_UV_DEVICE GUEST_SYS=$PVKIT_SYSFS_ROOT
unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
# guest CMD...: CMD with the guest's /dev/uv and /sys (a script, so that timeout can run it)
mkdir bin
printf '#!/bin/sh\nPVKIT_UV_DEVICE=%s PVKIT_SYSFS_ROOT=%s exec "$@"\n' \
	"'$GUEST_DEV'" "'$GUEST_SYS'" >bin/guest
chmod +x bin/guest
guest() { "$tmp/bin/guest" "$@"; }
GUEST=$tmp/bin/guest
run "pvattest perform" 0 "" -- "$GUEST" "$PVATTEST" perform "$IN/att.req" "$IN/att.resp" || exit 1
run "pvattest verify" 0 "" -- "$PVATTEST" verify -i "$IN/att.resp" --hdr "$IN/se.hdr" \
	-a "$IN/att.arpk" -o "$IN/att.yaml" || exit 1
run "pvsecret create" 0 "" -- "$PVSECRET" create -k "$HKD" "${VERIFY[@]}" --hdr "$IN/se.hdr" \
	-o "$IN/sec.req" association s1 || exit 1
mv s1.yaml "$IN/s1.yaml"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp521r1 -out "$IN/ec.key" 2>/dev/null
openssl req -x509 -key "$IN/ec.key" -subj "/CN=malformed" -days 2 -out "$IN/ec.crt" 2>/dev/null
echo "signed user data" >"$IN/ud"
run "pvsecret create (signed)" 0 "" -- "$PVSECRET" create -k "$HKD" "${VERIFY[@]}" \
	--hdr "$IN/se.hdr" -o "$IN/signed.req" --user-data "$IN/ud" --user-sign-key "$IN/ec.key" \
	association s2 || exit 1
rm -f s2.yaml
cat >"$IN/ap.yaml" <<'EOF2'
- name: my secret
  mode: ep11
  mkvp: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
EOF2
printf 'not a certificate\n' >"$IN/garbage.crt"
mkdir "$IN/adir"

######## the corpus ########
# Each case: NAME EXPECTED-EXIT FILE -- COMMAND...; FILE is the malformed input the error
# line must name. The command runs in the empty directory o/ (outputs go there).
ncases=0
declare -A per_cmd
bad_case() {
	local name=$1 want=$2 file=$3 rc t0 t1 ms lines base errs
	shift 4
	ncases=$((ncases + 1))
	per_cmd[${name%%:*}]=$((${per_cmd[${name%%:*}]:-0} + 1))
	t0=$(date +%s%N)
	(cd o && timeout "$CASE_T" "$@" >../stdout 2>../stderr </dev/null)
	rc=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	base=${file##*/}
	lines=$(wc -l <stderr)
	errs=$(grep -c 'error' stderr)
	if [ "$rc" = 124 ]; then
		fail "$name: did not end within ${CASE_T} s"
	elif [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, expected $want"; sed 's/^/    /' stderr | head -3
	elif { [ "$errs" != 1 ] && [ "$want" != 2 ]; } ||
		[ "$((lines - $(grep -ci 'warning' stderr)))" != 1 ]; then
		fail "$name: not exactly one error line"; sed 's/^/    /' stderr | head -5
	elif ! grep -qF -- "$base" stderr; then
		fail "$name: the error does not name $base"; sed 's/^/    /' stderr
	elif [ -n "$(ls -A o)" ]; then
		fail "$name: left $(ls -A o | tr '\n' ' ')"; rm -rf o; mkdir o
	else
		pass "$name (${ms} ms)"
	fi
}

# mutate SRC DIR KIND ARGS...: write mutated copies of SRC into DIR, print their paths
#   trunc N...      the first N bytes
#   flip OFF...     byte OFF xor 0x01 (negative: from the end)
#   set OFF HEX     the bytes at OFF replaced by HEX
#   extend N        N bytes of zeros appended
mutate() {
	python3 - "$@" <<'PY'
import os, sys
src, d, kind, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
b = open(src, "rb").read()
os.makedirs(d, exist_ok=True)
base = os.path.basename(src)
def out(tag, data):
    p = os.path.join(d, "%s.%s" % (base, tag))
    open(p, "wb").write(data)
    print(p)
if kind == "trunc":
    for n in args:
        n = int(n, 0)
        if n < len(b):
            out("trunc%d" % n, b[:n])
elif kind == "flip":
    for o in args:
        o = int(o, 0) % len(b)
        t = bytearray(b); t[o] ^= 1
        out("flip%d" % o, bytes(t))
elif kind == "set":
    o, h = int(args[0], 0), bytes.fromhex(args[1])
    t = bytearray(b); t[o:o + len(h)] = h
    out("set%d_%s" % (o, args[1]), bytes(t))
elif kind == "extend":
    out("ext%s" % args[0], b + bytes(int(args[0], 0)))
PY
}
M=$tmp/m
garbage() { head -c "$2" /dev/urandom >"$M/$1"; echo "$M/$1"; }
mkdir -p "$M"
: >"$M/empty"

# -- headers and images: pvimg info, pvimg test, pvextract-hdr, pvsecret create --hdr,
#    pvattest verify --hdr
HDR_LEN=$(stat -c %s "$IN/se.hdr")
mapfile -t hdr_trunc < <(mutate "$IN/se.hdr" "$M" trunc 0 1 8 15 16 31 64 100 200 300 400 500 \
	$((HDR_LEN - 17)) $((HDR_LEN - 1)))
for f in "${hdr_trunc[@]}"; do
	bad_case "pvimg info: truncated header ${f##*.}" 1 "$f" -- "$PVIMG" info "$f"
	bad_case "pvsecret create --hdr: truncated header ${f##*.}" 1 "$f" -- "$PVSECRET" create \
		-k "$HKD" --no-verify --hdr "$f" -o req meta
done
# Every flip in the header fails its tag with the header key.
mapfile -t hdr_flip < <(mutate "$IN/se.hdr" "$M" flip $(seq 0 23 $((HDR_LEN - 1))) -1)
for f in "${hdr_flip[@]}"; do
	bad_case "pvimg info --hdr-key: flipped header ${f##*.}" 1 "$f" -- \
		"$PVIMG" info --hdr-key "$IN/hdr.key" "$f"
done
for f in "$(mutate "$IN/se.hdr" "$M" set 0 00000000)" "$(mutate "$IN/se.hdr" "$M" set 8 00000200)" \
	"$(mutate "$IN/se.hdr" "$M" set 12 ffffffff)" "$(mutate "$IN/se.hdr" "$M" set 12 00000010)" \
	"$(mutate "$IN/se.hdr" "$M" set 12 00000281)"; do
	bad_case "pvimg info: header field ${f##*.}" 1 "$f" -- "$PVIMG" info --hdr-key "$IN/hdr.key" "$f"
	bad_case "pvimg test: header field ${f##*.}" 1 "$f" -- "$PVIMG" test -k "$HKD" "$f"
	bad_case "pvattest verify --hdr: header field ${f##*.}" 1 "$f" -- "$PVATTEST" verify \
		-i "$IN/att.resp" --hdr "$f" -a "$IN/att.arpk"
done
for f in "$M/empty" "$(garbage junk.img 70000)" "$IN/adir" "$IN/nothere.img"; do
	bad_case "pvimg info: ${f##*/}" 1 "$f" -- "$PVIMG" info "$f"
	bad_case "pvextract-hdr: ${f##*/}" 1 "$f" -- "$EXTRACT" -o hdr.out "$f"
	bad_case "pvimg test: ${f##*/}" 1 "$f" -- "$PVIMG" test -k "$HKD" "$f"
	bad_case "pvsecret create --hdr: ${f##*/}" 1 "$f" -- "$PVSECRET" create -k "$HKD" \
		--no-verify --hdr "$f" -o req meta
	bad_case "pvattest verify --hdr: ${f##*/}" 1 "$f" -- "$PVATTEST" verify -i "$IN/att.resp" \
		--hdr "$f" -a "$IN/att.arpk"
	bad_case "uvsim boot: ${f##*/}" 1 "$f" -- "$UVSIM" --state "$S" boot --host z --id x "$f"
done
bad_case "pvimg info: a pipe of garbage" 1 "/dev/fd/" -- bash -c \
	'exec "$1" info <(head -c 90000 /dev/urandom)' _ "$PVIMG"
bad_case "pvimg info --hdr-key: 31-byte key" 1 "short.key" -- "$PVIMG" info \
	--hdr-key "$(garbage short.key 31)" "$IN/se.hdr"
bad_case "pvimg info --hdr-key: wrong key" 1 "se.hdr" -- "$PVIMG" info \
	--hdr-key "$(garbage other.key 32)" "$IN/se.hdr"
IMG_LEN=$(stat -c %s "$IN/se.img")
mapfile -t img_trunc < <(mutate "$IN/se.img" "$M" trunc 0 100 4096 $((0xc000)) $((0xc010)) \
	$((0x14000)) $((0x14000 + 100)) $((IMG_LEN / 2)) $((IMG_LEN - 4096)) $((IMG_LEN - 8)))
for f in "${img_trunc[@]}"; do
	bad_case "uvsim boot: truncated image ${f##*.}" 1 "$f" -- "$UVSIM" --state "$S" boot \
		--host z --id x "$f"
done

# -- pvimg create / genprotimg: every input
CREATE=(-i "$IN/vmlinuz" -r "$IN/initrd" -p "$IN/parmfile")
for f in "$M/empty" "$IN/adir" "$IN/nothere" "$IN/garbage.crt" "$PKI/host_expired.crt" \
	"$PKI/host_revoked.crt" "$PKI/host_wrong_signer.crt" "$PKI/host_p256.crt" \
	"$PKI/host_rsa.crt" "$PKI/ibm.crt" $(mutate "$HKD" "$M" trunc 100 700); do
	bad_case "pvimg create -k: ${f##*/}" 1 "${f##*/}" -- "$PVIMG" create "${CREATE[@]}" \
		-k "$f" "${VERIFY[@]}" -o se.img
	bad_case "genprotimg -k: ${f##*/}" 1 "${f##*/}" -- "$GENPROTIMG" "${CREATE[@]}" \
		-k "$f" "${VERIFY[@]}" -o se.img
	bad_case "pvverify: ${f##*/}" 1 "${f##*/}" -- "$PVVERIFY" --host-key-document "$f" "${VERIFY[@]}"
	bad_case "pvattest create -k: ${f##*/}" 1 "${f##*/}" -- "$PVATTEST" create -k "$f" \
		"${VERIFY[@]}" -o req -a arpk
	bad_case "pvsecret create -k: ${f##*/}" 1 "${f##*/}" -- "$PVSECRET" create -k "$f" \
		"${VERIFY[@]}" --hdr "$IN/se.hdr" -o req meta
done
# VERIFY with its --root-ca replaced by FILE (the option takes one file)
with_root() {
	local i out=()
	for ((i = 0; i < ${#VERIFY[@]}; i++)); do
		if [ "${VERIFY[$i]}" = --root-ca ]; then out+=(--root-ca "$1"); i=$((i + 1)); else out+=("${VERIFY[$i]}"); fi
	done
	printf '%s\n' "${out[@]}"
}
for opt in --cert --crl --root-ca; do
	for f in "$M/empty" "$IN/garbage.crt" "$IN/nothere" "$IN/adir"; do
		if [ "$opt" = --root-ca ]; then
			mapfile -t V < <(with_root "$f")
		else
			V=("${VERIFY[@]}" "$opt" "$f")
		fi
		bad_case "pvimg create $opt: ${f##*/}" 1 "${f##*/}" -- "$PVIMG" create "${CREATE[@]}" \
			-k "$HKD" "${V[@]}" -o se.img
		bad_case "pvattest create $opt: ${f##*/}" 1 "${f##*/}" -- "$PVATTEST" create -k "$HKD" \
			"${V[@]}" -o req -a arpk
	done
done
for opt in -i -r -p; do
	for f in "$IN/adir" "$IN/nothere"; do
		args=("${CREATE[@]}")
		for ((i = 0; i < ${#args[@]}; i += 2)); do [ "${args[$i]}" = "$opt" ] && args[i + 1]=$f; done
		bad_case "pvimg create $opt: ${f##*/}" 1 "${f##*/}" -- "$PVIMG" create "${args[@]}" \
			-k "$HKD" "${VERIFY[@]}" -o se.img
	done
done
bad_case "pvimg create -i: empty kernel" 1 "empty" -- "$PVIMG" create -i "$M/empty" -k "$HKD" \
	"${VERIFY[@]}" -o se.img
bad_case "pvimg create -p: parmline too long" 1 "long.parm" -- "$PVIMG" create "${CREATE[@]:0:4}" \
	-p "$(python3 -c 'print("x" * 5000)' >"$M/long.parm"; echo "$M/long.parm")" -k "$HKD" "${VERIFY[@]}" -o se.img
for opt in --hdr-key --image-key --cck; do
	for n in 0 31 33 65; do
		f=$(garbage "key$n" "$n")
		[ "$opt" = --image-key ] && [ "$n" = 65 ] && continue
		bad_case "pvimg create $opt: $n bytes" 1 "key$n" -- "$PVIMG" create "${CREATE[@]}" \
			-k "$HKD" "${VERIFY[@]}" "$opt" "$f" -o se.img
	done
done

# -- attestation: pvattest perform (in the guest), verify, check
REQ_LEN=$(stat -c %s "$IN/att.req")
mapfile -t req_bad < <(mutate "$IN/att.req" "$M" trunc 0 7 8 16 24 63 64 100 $((REQ_LEN - 1)))
mapfile -t -O "${#req_bad[@]}" req_bad < <(for s in 0:00 8:00000200 12:00000000 12:ffffffff \
	$((0x18)):ffffffff $((0x1c)):ffffffff $((0x20)):00000080; do mutate "$IN/att.req" "$M" set "${s%%:*}" "${s#*:}"; done)
for f in "${req_bad[@]}" "$M/empty" "$IN/adir" "$IN/se.hdr"; do
	bad_case "pvattest perform: ${f##*/}" 1 "${f##*/}" -- "$GUEST" "$PVATTEST" perform "$f" resp
done
RESP_LEN=$(stat -c %s "$IN/att.resp")
mapfile -t resp_trunc < <(mutate "$IN/att.resp" "$M" trunc 0 8 16 64 200 400 $((RESP_LEN - 1)))
for f in "${resp_trunc[@]}" "$M/empty" "$IN/adir" "$IN/att.req"; do
	bad_case "pvattest verify: ${f##*/}" 1 "${f##*/}" -- "$PVATTEST" verify -i "$f" \
		--hdr "$IN/se.hdr" -a "$IN/att.arpk"
done
# A flipped byte of the ARCB: it does not open with the ARPK (exit 1). Of the measurement or
# the CUID: not verified (exit 2, IBM's message, which names no file).
mapfile -t resp_flip < <(mutate "$IN/att.resp" "$M" flip $(seq $((0x40 + 16)) 37 $((0x40 + 399))))
for f in "${resp_flip[@]}"; do
	bad_case "pvattest verify: flipped request in the response ${f##*.}" 1 "${f##*/}" -- \
		"$PVATTEST" verify -i "$f" --hdr "$IN/se.hdr" -a "$IN/att.arpk"
done
mapfile -t resp_flip < <(mutate "$IN/att.resp" "$M" flip -1 -10 -17 -33 -64 -80)
for f in "${resp_flip[@]}"; do
	bad_case "pvattest verify: flipped measurement or CUID ${f##*.}" 2 "measurement" -- \
		"$PVATTEST" verify -i "$f" --hdr "$IN/se.hdr" -a "$IN/att.arpk"
done
for f in "$(garbage arpk31 31)" "$(garbage arpk32 32)" "$M/empty"; do
	want=1
	bad_case "pvattest verify -a: ${f##*/}" "$want" "${f##*/}" -- "$PVATTEST" verify \
		-i "$IN/att.resp" --hdr "$IN/se.hdr" -a "$f"
done
python3 -c 'print("[" * 300000)' >"$M/deep.yaml"
python3 -c 'print("a: " * 1 + "{b: " * 100000)' >"$M/deepmap.yaml"
printf 'cuid: &x [1]\nb: *x\n' >"$M/alias.yaml"
printf 'cuid: [unterminated\n' >"$M/broken.yaml"
printf 'cuid: 0x0123\n' >"$M/shortcuid.yaml"
head -c 15 /dev/urandom >"$M/cuid15"
for f in "$M/deep.yaml" "$M/deepmap.yaml" "$M/alias.yaml" "$M/broken.yaml" "$M/shortcuid.yaml" \
	"$M/cuid15" "$M/empty" "$IN/adir"; do
	bad_case "pvsecret create --cuid: ${f##*/}" 1 "${f##*/}" -- "$PVSECRET" create -k "$HKD" \
		"${VERIFY[@]}" --hdr "$IN/se.hdr" --cuid "$f" -o req association x
	bad_case "pvsecret retrieve -i: ${f##*/}" 1 "${f##*/}" -- "$GUEST" "$PVSECRET" retrieve -i "$f"
	# (an empty configuration has no entries: nothing to do, not an error)
	[ "$f" = "$M/empty" ] ||
		bad_case "pvapconfig -c: ${f##*/}" 1 "${f##*/}" -- "$GUEST" "$PVAPCONFIG" -c "$f"
done

# -- add-secret requests: pvsecret verify, pvsecret add (in the guest), create's inputs
SREQ_LEN=$(stat -c %s "$IN/sec.req")
mapfile -t sreq_bad < <(mutate "$IN/sec.req" "$M" trunc 0 6 8 16 64 200 $((SREQ_LEN - 17)) $((SREQ_LEN - 1)))
mapfile -t -O "${#sreq_bad[@]}" sreq_bad < <(for s in 0:00 6:0009 8:00000200 12:00000000 \
	12:ffffffff; do mutate "$IN/sec.req" "$M" set "${s%%:*}" "${s#*:}"; done; mutate "$IN/sec.req" "$M" extend 16)
for f in "${sreq_bad[@]}" "$M/empty" "$IN/adir" "$IN/att.req"; do
	bad_case "pvsecret verify: ${f##*/}" 1 "${f##*/}" -- "$PVSECRET" verify "$f"
	bad_case "pvsecret add: ${f##*/}" 1 "${f##*/}" -- "$GUEST" "$PVSECRET" add "$f"
done
# A signed request with a byte of its signed part flipped: the signature does not verify.
SIG_LEN=$(stat -c %s "$IN/signed.req")
mapfile -t signed_flip < <(mutate "$IN/signed.req" "$M" flip 20 $((0x60)) $((0x100)) $((SIG_LEN - 40)))
for f in "${signed_flip[@]}"; do
	bad_case "pvsecret verify --user-cert: ${f##*.}" 1 "${f##*/}" -- "$PVSECRET" verify \
		--user-cert "$IN/ec.crt" "$f"
done
for f in "$IN/garbage.crt" "$M/empty" "$IN/adir" "$PKI/host_rsa.crt"; do
	# a certificate of another key type: the mismatch is named with the request
	name=${f##*/}
	[ "$name" = host_rsa.crt ] && name=signed.req
	bad_case "pvsecret verify --user-cert: ${f##*/}" 1 "$name" -- "$PVSECRET" verify \
		--user-cert "$f" "$IN/signed.req"
done
for f in "$IN/garbage.crt" "$M/empty" "$IN/adir" "$IN/ec.crt" "$(mutate "$IN/ec.key" "$M" trunc 100)"; do
	bad_case "pvsecret create --user-sign-key: ${f##*/}" 1 "${f##*/}" -- "$PVSECRET" create \
		-k "$HKD" "${VERIFY[@]}" --hdr "$IN/se.hdr" --user-data "$IN/ud" --user-sign-key "$f" \
		-o req association x
done
for n in 31 33 0; do
	f=$(garbage "secret$n" "$n")
	bad_case "pvsecret create --input-secret: $n bytes" 1 "secret$n" -- "$PVSECRET" create \
		-k "$HKD" "${VERIFY[@]}" --hdr "$IN/se.hdr" --input-secret "$f" -o req association x
done
bad_case "pvsecret create --user-data: too large" 1 "big.ud" -- "$PVSECRET" create -k "$HKD" \
	"${VERIFY[@]}" --hdr "$IN/se.hdr" --user-data "$(garbage big.ud 513)" -o req association x
for f in "$M/deep.yaml" "$M/broken.yaml" "$(mutate "$IN/s1.yaml" "$M" trunc 20)" "$M/empty"; do
	bad_case "pvsecret retrieve (description): ${f##*/}" 1 "${f##*/}" -- "$GUEST" "$PVSECRET" retrieve "$f"
done

echo "# corpus: $ncases malformed inputs"
for c in "${!per_cmd[@]}"; do echo "#   $c: ${per_cmd[$c]}"; done | sort
[ "$ncases" -ge 300 ] && pass "at least 300 malformed inputs ($ncases)" || fail "only $ncases cases"
no_sanitizer_reports
finish
