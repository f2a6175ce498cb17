#!/usr/bin/env bash
# pvimg create|info|test, genprotimg and pvextract-hdr from the command line, with full
# host-key verification against a test PKI, the real boot loaders of the build, and the
# bad-input rules: one error line naming the file, exit 1 (2 for usage), no output left.
#
# Usage: test_pvimg.sh PVKIT-TESTPKI PVIMG PVEXTRACT-HDR   (genprotimg beside pvimg)
set -u

TESTPKI=$(realpath "$1")
PVIMG=$(realpath -s "$2")
EXTRACT=$(realpath "$3")
GENPROTIMG=$(dirname "$PVIMG")/genprotimg
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
make_tmp pvimg
cd "$tmp" || exit 1

# refuse NAME PATTERN -- COMMAND...: exit 1, exactly one error line naming PATTERN, no se.img
refuse() {
	local name=$1 pattern=$2
	shift 3
	rm -f se.img se.img.*
	run_error "$name" 1 "$pattern" -- "$@" || return
	if ls se.img* >/dev/null 2>&1; then
		fail "$name: output file left behind"
	fi
}

"$TESTPKI" --dir pki --hosts 2 >/dev/null || { echo "pvkit-testpki failed"; exit 1; }
VERIFY=(--cert pki/inter_ca.crt --cert pki/ibm.crt --crl pki/root_ca.crl --crl pki/inter_ca.crl
	--crl pki/ibm.crl --root-ca pki/root_ca.crt --offline)

fake_kernel vmlinuz
head -c 300000 /dev/urandom >initrd
echo "root=/dev/ram0 pvkit.marker=cli" >parmfile

head -c 31 /dev/urandom >short.key
refuse "header key of 31 bytes" "exactly 32 bytes" -- \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k pki/host1.crt -k pki/host2.crt \
	"${VERIFY[@]}" -o se.img --hdr-key short.key
head -c 32 /dev/urandom >hdr.key
run "create (-k list, --hdr-key)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k pki/host1.crt,pki/host2.crt \
	"${VERIFY[@]}" --hdr-key hdr.key -o se.img
[ "$(stat -c %a se.img)" = 600 ] && pass "image mode 0600" || fail "image mode $(stat -c %a se.img)"

"$PVIMG" info --format json se.img >info.json 2>info.err
# without --hdr-key: IBM's warning on stderr, the document alone on stdout
check "info: not-verified warning on stderr" grep -qF "WARNING: The Secure Execution header integrity and authenticity was not verified. Specify '--hdr-key' to authenticate it." info.err
python3 - info.json <<'PY' && pass "info json fields" || fail "info json fields"
import json, sys
d = json.load(open(sys.argv[1]))["data"]
assert d["kind"] == "se_hdr" and d["verified"] is False
assert d["nks"] == 2 and d["sehs"] == 720 and d["sea"] == 128
assert d["pcf_hex"] == "00000000000000e0" and len(d["keyslots"]) == 2
assert d["magic_hex"] == "49424d5365634578" and "cipher_data_b64" in d
PY
run "info --hdr-key --show-secrets" 0 "" -- \
	"$PVIMG" info --format json --hdr-key hdr.key --show-secrets se.img
python3 - out <<'PY' && pass "decrypted header" || fail "decrypted header"
import json, sys
d = json.load(open(sys.argv[1]))["data"]
assert d["kind"] == "decrypted_se_hdr" and d["verified"] is True
assert d["psw"]["mask_hex"] == "0000000180000000" and d["scf_hex"] == "0" * 16
assert len(d["xts_hex"]) == 128 and len(d["cck_hex"]) == 64
PY
head -c 32 /dev/urandom >wrong.key
run "info with a wrong header key" 1 "authentication failed" -- \
	"$PVIMG" info --hdr-key wrong.key se.img

run "pvextract-hdr" 0 "SE header written to 'hdr.bin' (720 bytes)" -- "$EXTRACT" -o hdr.bin se.img
dd if=se.img bs=4096 skip=20 count=1 status=none | head -c 720 >expect.bin
cmp -s hdr.bin expect.bin && pass "extracted header equals the image's" || fail "extracted header differs"
run "info on the extracted header" 0 "   - target key hash: " -- "$PVIMG" info --format text hdr.bin
check "info text: two key slots" test "$(grep -c '^   - target key hash: [0-9a-f]\{64\}$' out)" -eq 2
run "pvextract-hdr without header" 1 "does not contain an SE header" -- "$EXTRACT" -o x.bin initrd
run "pvextract-hdr missing file" 1 "nothere" -- "$EXTRACT" -o x.bin nothere

run "test: host1 passes" 0 " ✓ Host key document 'pki/host1.crt' is included" -- "$PVIMG" test -k pki/host1.crt se.img
"$TESTPKI" --dir other --hosts 1 >/dev/null
run "test: foreign host fails" 1 " ✘ Host key document 'other/host1.crt' is not included" -- "$PVIMG" test -k other/host1.crt se.img
# A keys/all file: 15 lines, the second host's hash on line 2.
"$PVIMG" info --format json se.img | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print("0" * 64)
print(d["keyslots"][1]["phkh_hex"])
for _ in range(13): print("0" * 64)' >keys_all
run "test --key-hashes" 0 " ✓ Backup host key hash 0x" -- "$PVIMG" test --key-hashes=keys_all se.img
sed -i '2s/.*/'"$(printf '1%.0s' {1..64})"'/' keys_all
run "test --key-hashes without match" 1 " ✘ None of the key hashes is included" -- "$PVIMG" test --key-hashes=keys_all se.img

# Output handling: pvimg refuses to overwrite, genprotimg replaces as the old tool did.
run "create refuses an existing output" 1 "exists" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt "${VERIFY[@]}" -o se.img
run "create --overwrite" 0 "" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt "${VERIFY[@]}" -o se.img --overwrite
run "genprotimg replaces" 0 "" -- \
	"$GENPROTIMG" -i vmlinuz -r initrd -p parmfile -k pki/host1.crt "${VERIFY[@]}" -o se.img
# IBM 2.43: -v/--verbose (and hidden -V) are verbosity in genprotimg too; --version alone
run "genprotimg --version" 0 "genprotimg version " -- "$GENPROTIMG" --version
run "genprotimg --version with other options" 2 "unexpected argument" -- \
	"$GENPROTIMG" --version -i vmlinuz
run "genprotimg -v is verbose, not the version" 0 "" -- \
	"$GENPROTIMG" -v -i vmlinuz -k pki/host1.crt "${VERIFY[@]}" -o se-v.img
check "genprotimg -v wrote the image" test -s se-v.img
run "genprotimg --verbose -VV" 0 "WARNING: Use of deprecated flag '-V'" -- \
	"$GENPROTIMG" --verbose -VV -i vmlinuz -k pki/host1.crt "${VERIFY[@]}" -o se-v.img
run "genprotimg --help-experimental" 0 "--x-cust-key" -- "$GENPROTIMG" --help-experimental

# No boot loaders where they are looked for: a clear error naming the file (issue 11)
mkdir -p noloaders
run "create without boot loaders" 1 "noloaders/stage3a.bin: the boot loader is missing" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --no-verify -o nl.img --x-bootloader-directory noloaders
check "no image left without loaders" test ! -e nl.img

# Host-key verification refusals.
refuse "revoked host" "revoked" -- \
	"$PVIMG" create -i vmlinuz -k pki/host_revoked.crt "${VERIFY[@]}" -o se.img
refuse "expired host" "After validity period" -- \
	"$PVIMG" create -i vmlinuz -k pki/host_expired.crt "${VERIFY[@]}" -o se.img
refuse "RSA host key" "host_rsa.crt" -- \
	"$PVIMG" create -i vmlinuz -k pki/host_rsa.crt "${VERIFY[@]}" -o se.img
refuse "P-256 host key" "host_p256.crt" -- \
	"$PVIMG" create -i vmlinuz -k pki/host_p256.crt "${VERIFY[@]}" -o se.img
refuse "no CRL" "CRL" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --cert pki/inter_ca.crt --cert pki/ibm.crt \
	--root-ca pki/root_ca.crt --offline -o se.img
run "--no-verify warns" 0 "verification is disabled" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --no-verify -o se.img --overwrite
run "neither --cert nor --no-verify" 2 "" -- "$PVIMG" create -i vmlinuz -k pki/host1.crt -o x.img

# A progress line on a terminal (script(1) gives the command one) for more than 100 MiB of
# components; none without a terminal, with -q, or for a small image.
truncate -s 120M big.rd
on_tty() { script -qec "$*" tty.log >/dev/null 2>&1; tr '\r' '\n' <tty.log >tty.txt; }
on_tty "'$PVIMG' create -i vmlinuz -r big.rd -k pki/host1.crt --no-verify -o big.img"
check "progress on a terminal for 120 MiB" grep -q "Encrypting the components: 100% (120 of 120 MiB)" tty.txt
check "progress: the image was made" test -s big.img
on_tty "'$PVIMG' create -q -i vmlinuz -r big.rd -k pki/host1.crt --no-verify -o big.img --overwrite"
check "no progress with -q" bash -c '! grep -q Encrypting tty.txt'
on_tty "'$PVIMG' create -i vmlinuz -k pki/host1.crt --no-verify -o small.img"
check "no progress for a small image" bash -c '! grep -q Encrypting tty.txt'
run "no progress without a terminal" 0 "" -- "$PVIMG" create -i vmlinuz -r big.rd -k pki/host1.crt \
	--no-verify -o big.img --overwrite
check "no progress without a terminal (output)" bash -c '! grep -q Encrypting out'
rm -f big.rd big.img
run "enable-dump needs a CCK" 2 "--enable-dump" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --no-verify --enable-dump -o x.img
run "x-pcf conflicts with flags" 2 "--x-pcf" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --no-verify --x-pcf 0 --enable-pckmo -o x.img

# Component refusals.
printf '\x7fELF' >elf && head -c 100000 /dev/zero >>elf
refuse "ELF kernel" "ELF" -- "$PVIMG" create -i elf -k pki/host1.crt --no-verify -o se.img
refuse "missing kernel" "nothere" -- "$PVIMG" create -i nothere -k pki/host1.crt --no-verify -o se.img
: >empty
refuse "empty ramdisk" "empty" -- \
	"$PVIMG" create -i vmlinuz -r empty -k pki/host1.crt --no-verify -o se.img
head -c 2048 /dev/zero | tr '\0' a >longparm
refuse "parmfile over the kernel's limit" "too long" -- \
	"$PVIMG" create -i vmlinuz -p longparm -k pki/host1.crt --no-verify -o se.img
run "output into a missing directory" 1 "nodir/se.img" -- \
	"$PVIMG" create -i vmlinuz -k pki/host1.crt --no-verify -o nodir/se.img

# IBM's own fake PKI (../shared/conformance), when present: IBM's accept/reject outcomes.
IBM=${PVKIT_CONFORMANCE_DIR:-}/rust/pv/tests/assets/cert
if [ -d "$IBM" ]; then
	IBMV=(--cert "$IBM/inter_ca.crt" --cert "$IBM/ibm.crt" --crl "$IBM/inter_ca.crl"
		--crl "$IBM/ibm.crl" --root-ca "$IBM/root_ca.chained.crt" --offline)
	rm -f ibm.img
	run "genprotimg with IBM's fake PKI: host.crt" 0 "" -- \
		"$GENPROTIMG" -i vmlinuz -r initrd -p parmfile -k "$IBM/host.crt" "${IBMV[@]}" -o ibm.img
	run "pvimg with IBM's fake PKI: host.crt + host2.crt" 0 "" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host.crt" -k "$IBM/host2.crt" "${IBMV[@]}" \
		-o ibm2.img
	refuse "IBM PKI: host_rev.crt" "revoked" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host_rev.crt" "${IBMV[@]}" -o se.img
	refuse "IBM PKI: host_crt_expired.crt" "After validity period" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host_crt_expired.crt" "${IBMV[@]}" -o se.img
	refuse "IBM PKI: revoked signing key ibm_rev.crt" "signing key" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host.crt" --cert "$IBM/inter_ca.crt" \
		--cert "$IBM/ibm_rev.crt" --crl "$IBM/inter_ca.crl" --crl "$IBM/ibm.crl" \
		--root-ca "$IBM/root_ca.chained.crt" --offline -o se.img
	refuse "IBM PKI: wrong subject is no signing key" "IBM Z signing key" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host.crt" --cert "$IBM/inter_ca.crt" \
		--cert "$IBM/ibm_wrong_subject.crt" --crl "$IBM/inter_ca.crl" \
		--root-ca "$IBM/root_ca.chained.crt" --offline -o se.img
	refuse "IBM PKI: outdated CRL" "CRL" -- \
		"$PVIMG" create -i vmlinuz -k "$IBM/host.crt" --cert "$IBM/inter_ca.crt" \
		--cert "$IBM/ibm.crt" --crl "$IBM/inter_ca.crl" --crl "$IBM/ibm_outdated_late.crl" \
		--root-ca "$IBM/root_ca.chained.crt" --offline -o se.img
else
	echo "skip - IBM's fake PKI not found (../shared absent)"
fi

# Deterministic builds: all random inputs fixed give identical bytes; plain builds differ.
head -c 80 /dev/zero >cust.key && printf '\x01' | dd of=cust.key bs=1 seek=79 conv=notrunc status=none
head -c 64 /dev/urandom >image.key
head -c 32 /dev/urandom >cck.key
DET=(--x-cust-key cust.key --x-header-iv 000102030405060708090a0b --x-tweak-bytes a1a2a3a4a5a6
	--hdr-key hdr.key --image-key image.key --cck cck.key)
for n in 1 2; do
	run "deterministic build $n" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
		-k pki/host1.crt "${VERIFY[@]}" "${DET[@]}" -o det$n.img
	run "plain build $n" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
		-k pki/host1.crt "${VERIFY[@]}" -o plain$n.img
done
cmp -s det1.img det2.img && pass "deterministic builds identical" || fail "deterministic builds differ"
cmp -s plain1.img plain2.img && fail "plain builds identical" || pass "plain builds differ"

# --help lists every option the man page documents for create.
man_page=${PVKIT_SOURCE_ROOT:-.}/man/pvimg.1
if [ -f "$man_page" ]; then
	"$PVIMG" create --help >help.txt
	"$PVIMG" create --help-experimental >>help.txt
	missing=$(sed -n '/^\.SH CREATE OPTIONS/,/^\.SH INFO OPTIONS/p' "$man_page" | sed 's/\\-/-/g' |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u |
		while read -r opt; do grep -q -- "$opt" help.txt || echo "$opt"; done)
	[ -z "$missing" ] && pass "--help covers the man page" || fail "--help lacks: $missing"
fi

finish
