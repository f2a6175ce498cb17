#!/bin/bash
# SPDX-License-Identifier: MIT
# pvinfo (issue 10 #18): IBM's output for both formats on a fixture tree that mirrors IBM's
# test assets (pvinfo-fixture, an SE host) and on uvsim's guest view; each option; the
# subcommand; a missing ultravisor directory; bad files.
#
#   test_pvinfo.sh PVINFO UVSIM PVIMG
set -u
PVINFO=$(realpath "$1") UVSIM=$(realpath "$2") PVIMG=$(realpath -s "$3")
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$HERE/pvinfo-fixture GOLD=$HERE/pvinfo-golden
T=60
. "$HERE/lib.sh"
uvsim_tmp pvinfo

# golden NAME -- ARGS...: pvinfo ARGS on the fixture gives golden/NAME exactly, exit 0
golden() {
	local name=$1
	shift 2
	PVKIT_SYSFS_ROOT=$FIX timeout "$T" "$PVINFO" "$@" >"$name" 2>"$name.err"
	local rc=$?
	[ "${PVKIT_GOLDEN_UPDATE:-}" = 1 ] && cp "$name" "$GOLD/$name"
	if [ "$rc" -ne 0 ]; then
		fail "$name: exit $rc: $(cat "$name.err")"
	elif ! diff -u "$GOLD/$name" "$name" >"$name.diff"; then
		fail "$name: differs from pvinfo-golden/$name"
		head -n 30 "$name.diff" | sed 's/^/    /'
	elif [ -s "$name.err" ]; then
		fail "$name: stderr: $(cat "$name.err")"
	else
		pass "$name"
	fi
}

# ---- the fixture (IBM's test assets: an SE host) ----
golden all-human.txt -- 
golden all-yaml.txt -- --format yaml
golden se-status.txt -- --se-status
golden limits.txt -- --limits
golden limits-yaml.txt -- --limits --format yaml
golden facilities-features.txt -- --facilities --feature-indications
golden pcf-versions.txt -- --supported-plaintext-control-flags --supported-se-header-versions
golden zero-sections.txt -- --supported-secret-types --supported-plaintext-attestation-flags \
	--supported-attestation-request-versions --supported-add-secret-request-versions \
	--supported-plaintext-add-secret-flags
golden supported-flags.txt -- supported-flags
golden supported-flags-header.txt -- supported-flags --header
python3 - all-yaml.txt <<'PY' && pass "yaml parses, IBM's keys and order" || fail "yaml document"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert list(d) == ["se_status", "facilities", "feature_indications", "limits",
                   "supported_plaintext_control_flags", "supported_se_header_versions"], list(d)
assert d["se_status"] == "Host" and d["limits"]["Maximal number of CPUs in one SE-Guest"] == 257
assert "Set Shared Access" not in d["facilities"] and "Reserved Bit-49" in d["supported_plaintext_control_flags"]
PY
# json (pvkit's addition): the same document
PVKIT_SYSFS_ROOT=$FIX "$PVINFO" --format json >all.json
python3 - all.json all-yaml.txt <<'PY' && pass "json: the yaml document's members and order" || fail "json document"
import json, sys, yaml
j = json.load(open(sys.argv[1]))
assert j == yaml.safe_load(open(sys.argv[2])) and list(j) == list(yaml.safe_load(open(sys.argv[2])))
PY
# a section not asked for is not printed; se_status is null in yaml (as serde writes None)
PVKIT_SYSFS_ROOT=$FIX "$PVINFO" --limits --format yaml >lim.yaml
check "yaml: se_status null when not asked" grep -qx "se_status: null" lim.yaml

# ---- every option is each of the sections ----
for o in se-status facilities feature-indications supported-plaintext-attestation-flags \
	supported-se-header-versions supported-secret-types supported-plaintext-control-flags \
	supported-attestation-request-versions supported-add-secret-request-versions \
	supported-plaintext-add-secret-flags limits; do
	run "--$o" 0 "" -- env PVKIT_SYSFS_ROOT="$FIX" "$PVINFO" "--$o"
done

# ---- bits without a name, versions, unknown bits ----
cp -r "$FIX" fx
echo 0000000000000001 >fx/firmware/uv/query/facilities
echo 0x6000000000000000 >fx/firmware/uv/query/supp_att_req_hdr_ver
echo 7ff8e00000000000 >fx/firmware/uv/query/supp_secret_types
run "unknown bits" 0 "No matching messages. But these bits are ON:
- Bit 63 is ON" -- env PVKIT_SYSFS_ROOT="$tmp/fx" "$PVINFO" --facilities
run "versions" 0 "version 200 hex is supported
version 300 hex is supported" -- env PVKIT_SYSFS_ROOT="$tmp/fx" "$PVINFO" --supported-attestation-request-versions
run "secret types" 0 "Supported secret types:
Meta
AP-association
Plaintext
AES 128
AES 192
AES 256
AES 128 XTS
AES 256 XTS
HMAC SHA 256
HMAC SHA 512
Reserved Bit-11
Reserved Bit-12" -- env PVKIT_SYSFS_ROOT="$tmp/fx" "$PVINFO" --supported-secret-types

# ---- no ultravisor, bad files ----
run "no /sys/firmware/uv: not enabled" 0 "Secure Execution is not enabled" -- \
	env PVKIT_SYSFS_ROOT="$tmp/none" "$PVINFO"
run "no /sys/firmware/uv: --facilities is an error" 1 "This system is neither a SE-host or SE-guest" -- \
	env PVKIT_SYSFS_ROOT="$tmp/none" "$PVINFO" --facilities
echo zz >fx/firmware/uv/query/feature_indications
PVKIT_SYSFS_ROOT=$tmp/fx "$PVINFO" >bad.out 2>bad.err
rc=$?
check "garbage flag word: exit 1, one error line naming the file, nothing on stdout" \
	test "$rc" = 1 -a ! -s bad.out -a "$(grep -c "error: .*feature_indications: 'zz' is not a hex number" bad.err)" = 1
echo 2 >fx/firmware/uv/prot_virt_guest
run "prot_virt_guest not 0/1" 1 "prot_virt_guest: '2' is neither 0 nor 1" -- \
	env PVKIT_SYSFS_ROOT="$tmp/fx" "$PVINFO" --se-status
echo 0 >fx/firmware/uv/prot_virt_guest
echo 12x >fx/firmware/uv/query/max_cpus
run "limit not decimal" 1 "max_cpus: '12x' is not a decimal number" -- \
	env PVKIT_SYSFS_ROOT="$tmp/fx" "$PVINFO" --limits

# ---- usage ----
run "unknown option" 2 "Try 'pvinfo --help'" -- "$PVINFO" --frobnicate
run "--format xml" 2 "invalid value 'xml' for '--format <FORMAT>'" -- "$PVINFO" --format xml
run "unknown subcommand" 2 "unrecognized subcommand 'frob'" -- "$PVINFO" frob
run "--version" 0 "pvinfo version " -- "$PVINFO" --version

# ---- --help and the man page document the same options ----
man_opts() {
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$1" | sed -n '/^\.TP/{n;p}' | sed 's/\\-/-/g; s/\\f[BIRP]//g' |
		grep -oE -- '(^|[ ",])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[ ",]*//' | sort -u
}
"$PVINFO" --help | grep -oE -- '(^|[ [(/|,])--?[a-zA-Z][a-z0-9-]*' | sed 's/^[ [(/|,]*//' |
	grep -vxE -- '--secret|--attestation|--header' | sort -u >help.opts
man_opts "$HERE/../../man/pvinfo.1" >man.opts
if [ -s man.opts ] && cmp -s help.opts man.opts; then
	pass "--help and pvinfo(1) document the same options"
else
	fail "--help vs pvinfo(1): $(diff help.opts man.opts | tr '\n' ' ')"
fi

# ---- uvsim's guest view ----
fake_kernel vmlinuz
run "uvsim init" 0 "" -- "$UVSIM" --state "$S" init
run "uvsim host new" 0 "" -- "$UVSIM" --state "$S" host new A
if run "pvimg create" 0 "" -- "$PVIMG" create -i vmlinuz -k "$S/hosts/A/hkd.crt" --no-verify \
	-o se.img -q && run "uvsim boot" 0 "booted on host A" -- "$UVSIM" --state "$S" boot --host A se.img; then
	ID=$(sed -n 's/^guest \([^ ]*\) booted.*/\1/p' out)
	eval "$("$UVSIM" --state "$S" env "$ID")"
	run "guest: pvinfo" 0 "Secure Execution Guest" -- "$PVINFO"
	for want in "Retrieve Attestation Measurement" "Add Secret" "List Secrets" "Lock Secrets" \
		"Retrieve Secret" "AP passthrough is supported" "version 100 hex is supported" \
		"Update-CCK" "Disable dumping" "Temporary backup-host-key use allowed"; do
		check "guest: '$want'" grep -qxF -- "$want" out
	done
	check "guest: a limit" grep -qx "Maximal number of secrets in the system [0-9]\+" out
	# uvsim's words are MSB0 as a real UV's: no reserved call, no unnamed bits
	check "guest: no reserved facility, no unknown bits" \
		test "$(grep -c "Reserved Bit-10\|No matching messages" out)" = 0
	run "guest: --format yaml" 0 "se_status: Guest" -- "$PVINFO" --format yaml
	python3 - out <<'PY' && pass "guest yaml: every section" || fail "guest yaml: $(cat out)"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert len(d["limits"]) == 6 and d["se_status"] == "Guest", d
for k in ("facilities", "feature_indications", "supported_plaintext_control_flags",
          "supported_se_header_versions", "supported_plaintext_attestation_flags",
          "supported_attestation_request_versions", "supported_secret_types",
          "supported_add_secret_request_versions", "supported_plaintext_add_secret_flags"):
    assert d.get(k), k
PY
	run "guest: supported-flags --secret" 0 "Supported Secret types:" -- "$PVINFO" supported-flags --secret
	unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
fi
# ---- uvsim's host view (issue 14): the same UV, seen from the KVM host
eval "$("$UVSIM" --state "$S" host env A)"
run "host: pvinfo" 0 "Secure Execution Host" -- "$PVINFO"
check "host: the same limits as its guests" grep -qx "Maximal number of CPUs in one SE-Guest 247" out
run "host: --format yaml" 0 "se_status: Host" -- "$PVINFO" --format yaml
unset PVKIT_SYSFS_ROOT
no_sanitizer_reports
finish
