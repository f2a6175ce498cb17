#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz (clang, ASan+UBSan, build-fuzz/) and run each
# for SECONDS_PER_TARGET. A target fails on a non-zero exit (crash, leak, sanitizer report,
# timeout, out of memory) or any sanitizer report in its log. Prints one line per target
# with the executions done, and ends with "N passed, N failed".
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20)
# Environment:
#   PVKIT_FUZZ_BUILDDIR     build directory (default build-fuzz)
#   PVKIT_FUZZ_TARGETS      run only these targets (space-separated, e.g. "fuzz_sehdr")
#   PVKIT_CONFORMANCE_DIR   IBM's vectors, added to the seeds when present
#                           (default ../shared/conformance/s390-tools-v2.40.0)
# Per target, under the build directory: fuzz/seeds/T (regenerated each run: the harness's
# own seeds, IBM's vectors (never committed) and the inputs that once failed,
# tests/fuzz/regress/T/), fuzz/corpus/T (what the fuzzer found, kept
# between runs), fuzz/logs/T.log, and fuzz/artifacts/T-* (the inputs that failed; rerun
# one with build-fuzz/tests/fuzz/T FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
if ! [[ $secs =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
	echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
	exit 2
fi
BUILD=${PVKIT_FUZZ_BUILDDIR:-build-fuzz}
CONF=${PVKIT_CONFORMANCE_DIR:-$PWD/../shared/conformance/s390-tools-v2.40.0}
RSS_MB=2048
UNIT_TIMEOUT=30     # seconds for one input: longer is a hang, reported as a failure
OUTER_SLACK=90      # the outer timeout: start-up (key generation, seeds) and shutdown
# What a sanitizer, libFuzzer (deadly signal, leak, timeout, OOM) or a harness check prints.
REPORT_RE='ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
REPORT_RE+='|SUMMARY: [A-Za-z]*Sanitizer|fuzz property violated'

# The build: reuse a configured directory, else configure it with clang.
if ! [ -f "$BUILD/meson-private/coredata.dat" ] || ! [ -f "$BUILD/build.ninja" ]; then
	if ! command -v clang >/dev/null 2>&1; then
		echo "fuzz.sh: clang not found (scripts/install-deps.sh installs it)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	if ! CC=clang meson setup "$BUILD" -Dwerror=true -Dfuzz=true -Dtests=false -Dboot=disabled; then
		echo "fuzz.sh: meson setup of $BUILD failed" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi
if ! meson compile -C "$BUILD" fuzz; then
	echo "fuzz.sh: building the fuzz targets failed" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

if [ -n "${PVKIT_FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<<"$PVKIT_FUZZ_TARGETS"
else
	targets=()
	for f in "$BUILD"/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && targets+=("$(basename "$f")")
	done
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets in $BUILD/tests/fuzz" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

work=$BUILD/fuzz
mkdir -p "$work/corpus" "$work/seeds" "$work/logs" "$work/artifacts"

be32() {
	printf '%b' "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
		$(($1 >> 8 & 255)) $(($1 & 255)))"
}
# prefixed OUT PREFIX-BYTES FILE: OUT = the bytes (printf escapes) then FILE.
prefixed() { { printf '%b' "$2"; cat "$3"; } >"$1"; }

# IBM's vectors as seeds (copied into the build tree only).
ibm_seeds() {
	local t=$1 dir=$2 pv=$CONF/rust/pv/tests/assets pva=$CONF/rust/pvattest/tests/assets f n
	[ -d "$pv" ] || return 0
	case $t in
	fuzz_sehdr) cp "$pv/exp/secure_guest.hdr" "$dir/ibm-secure_guest.hdr" ;;
	fuzz_arcb) cp "$pv/exp/arcb.bin" "$dir/ibm-arcb.bin" ;;
	fuzz_asrcb)
		for f in "$pv"/exp/asrcb/*; do cp "$f" "$dir/ibm-asrcb-$(basename "$f")"; done ;;
	fuzz_exchange)
		cp "$pv/exp/exchange.bin" "$dir/ibm-exchange.bin"
		for f in "$pva"/exp/exchange/*.bin; do cp "$f" "$dir/ibm-$(basename "$f")"; done ;;
	fuzz_uvreq)
		prefixed "$dir/ibm-arcb.bin" '\x00' "$pv/exp/arcb.bin"
		for f in "$pv"/exp/asrcb/*; do prefixed "$dir/ibm-asrcb-$(basename "$f")" '\x01' "$f"; done ;;
	fuzz_uvsim)
		# ATT (guest with 4 secrets, out_cap 0x400): arcb_len, meas 64, add 64, user 0, ARCB.
		n=$(wc -c <"$pv/exp/arcb.bin")
		{ printf '\x01\x02\x01\x00'; be32 "$n"; be32 64; be32 64; head -c 260 /dev/zero
		  cat "$pv/exp/arcb.bin"; } >"$dir/ibm-att-arcb.bin"
		for f in "$pv"/exp/asrcb/*; do
			prefixed "$dir/ibm-add-$(basename "$f")" '\x02\x00\x00\x00' "$f"
		done ;;
	fuzz_secret_value)
		# kind 4 (EC key file): unsupported keys; kind 5: user-data certificates.
		for f in ecsecp256k1.pem rsa2048key.pem; do
			prefixed "$dir/ibm-ec-$f" '\x04\x00\x13' "$pv/keys/$f"
		done
		for f in rsa2048.crt rsa3072.crt host.pem.crt; do
			prefixed "$dir/ibm-cert-$f" '\x05\x00\x03' "$pv/keys/$f"
		done ;;
	esac
}

pass=0
fail=0
failed=()
printf '%-20s %-6s %12s %9s %8s %6s\n' target result executions "exec/s" "new" "cov"
for t in "${targets[@]}"; do
	exe=$BUILD/tests/fuzz/$t
	seeds=$work/seeds/$t
	corpus=$work/corpus/$t
	log=$work/logs/$t.log
	rm -rf "$seeds"
	mkdir -p "$seeds" "$corpus"
	rm -f "$work/artifacts/$t"-*
	: >"$log"
	ok=1
	if [ ! -x "$exe" ]; then
		echo "fuzz.sh: $exe missing" >>"$log"
		ok=0
	else
		# The harness writes its own seeds when PVKIT_FUZZ_SEED_DIR is set.
		PVKIT_FUZZ_SEED_DIR=$seeds timeout 300 "$exe" -runs=0 </dev/null >>"$log" 2>&1 || ok=0
		ibm_seeds "$t" "$seeds" >>"$log" 2>&1 ||
			echo "fuzz.sh: not every IBM vector was found in $CONF" >>"$log"
		# Inputs that once failed (tests/fuzz/regress/T/): they run first, every time.
		if [ -d "tests/fuzz/regress/$t" ]; then
			cp tests/fuzz/regress/"$t"/* "$seeds"/ 2>>"$log" || ok=0
		fi
	fi
	rc=0
	if [ $ok -eq 1 ]; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
			UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			timeout --kill-after=10 $((secs + OUTER_SLACK)) "$exe" \
			-max_total_time="$secs" -rss_limit_mb=$RSS_MB -timeout=$UNIT_TIMEOUT \
			-print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
			"$corpus" "$seeds" </dev/null >>"$log" 2>&1 || rc=$?
	fi
	stat_of() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
	execs=$(stat_of number_of_executed_units)
	eps=$(stat_of average_exec_per_sec)
	newu=$(stat_of new_units_added)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2) || true
	if [ $ok -eq 0 ] || [ $rc -ne 0 ] ||
		grep -qE "$REPORT_RE" "$log"; then
		result=FAIL
		fail=$((fail + 1))
		failed+=("$t")
	else
		result=ok
		pass=$((pass + 1))
	fi
	printf '%-20s %-6s %12s %9s %8s %6s\n' "$t" "$result" "${execs:-?}" "${eps:-?}" \
		"${newu:-?}" "${cov:-?}"
	if [ "$result" = FAIL ]; then
		echo "---- $t: exit $rc, log $log"
		grep -E -A 30 "$REPORT_RE|==[0-9]+==" "$log" | head -n 60 || tail -n 40 "$log"
		for a in "$work/artifacts/$t"-*; do
			[ -e "$a" ] && echo "---- input: $a (reproduce: $exe $a)"
		done
		echo "----"
	fi
done

[ $fail -gt 0 ] && echo "failed targets: ${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
