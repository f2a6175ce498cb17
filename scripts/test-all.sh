#!/usr/bin/env bash
# pvkit's complete test run (the README's test command, and what .ci/run executes):
#
#   native    build/          meson test, all suites
#   install   build-install/  meson install into its own prefix, build tree removed; the
#                             example program and a short lifecycle from the installed files
#   deb       build-deb/      scripts/deb-check.sh: dpkg-buildpackage -b, lintian, the .debs
#                             installed in a clean Debian 12 chroot and a lifecycle from them
#   cross     build-cross/    s390x (big-endian) build, unit suite under qemu-s390x-static
#   asan      build-asan/     ASan+UBSan build, unit, cli, compat and service suites
#   novectors build-asan/     the unit suite again under ASan+UBSan as in a user's clone
#                             without ../shared (PVKIT_TEST_NO_VECTORS=1: the vector tests skip)
#   valgrind  build-valgrind/ unit suite under valgrind memcheck
#   fuzz      build-fuzz/     scripts/fuzz.sh: every libFuzzer target for 15 s (clang,
#                             ASan+UBSan); each target counts as one test
#
# Every stage runs even when an earlier one failed; the script exits non-zero if any
# stage failed and ends with one plain line "N passed, N failed, N skipped" counted from
# Meson's testlog.json of all stages and the fuzz stage's targets (a stage that fails before
# or outside its tests, e.g. a compile error, counts as one failure).
#
# Usage: scripts/test-all.sh [--quick] [--no-cross] [--no-sanitize] [--no-valgrind] [--no-fuzz]
#                          [--no-deb]
#   --quick        native build and tests only
#   --no-cross     skip the s390x cross build
#   --no-sanitize  skip the ASan/UBSan build and the valgrind run
#   --no-valgrind  skip only the valgrind run
#   --no-fuzz      skip the fuzz stage
#   --no-deb       skip the Debian package stage
# Environment: PVKIT_NATIVE_BUILDDIR (default build), PVKIT_SKIP_DEPS=1 skips
# scripts/install-deps.sh, MESON_TESTTHREADS is honoured by meson test,
# PVKIT_FUZZ_SECONDS sets the fuzz stage's seconds per target (default 15).
# The stage_* functions are called indirectly through run_stage.
# shellcheck disable=SC2317
set -euo pipefail
cd "$(dirname "$0")/.."

do_cross=1
do_asan=1
do_valgrind=1
do_fuzz=1
do_deb=1
for arg in "$@"; do
	case "$arg" in
	--quick) do_cross=0 do_asan=0 do_valgrind=0 do_fuzz=0 do_deb=0 ;;
	--no-cross) do_cross=0 ;;
	--no-sanitize) do_asan=0 do_valgrind=0 ;;
	--no-valgrind) do_valgrind=0 ;;
	--no-fuzz) do_fuzz=0 ;;
	--no-deb) do_deb=0 ;;
	-h | --help)
		sed -n '2,/^# The stage_/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test-all.sh: unknown option $arg (try --help)" >&2
		exit 2
		;;
	esac
done

NATIVE_DIR=${PVKIT_NATIVE_BUILDDIR:-build}
CROSS_DIR=build-cross
ASAN_DIR=build-asan
VALGRIND_DIR=build-valgrind
FUZZ_DIR=build-fuzz
FUZZ_SECONDS=${PVKIT_FUZZ_SECONDS:-15}

# Slow runners get longer timeouts (qemu-user: OpenSSL ~7x slower; valgrind: 20-50x).
CROSS_TIMEOUT_MULT=10
VALGRIND_TIMEOUT_MULT=5
VALGRIND_CMD='valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --track-origins=no -q'
ASAN_SUITES=(unit cli compat service)
VALGRIND_SUITES=(unit)
CROSS_SUITES=(unit)

total_pass=0
total_fail=0
total_skip=0
summary_lines=()
any_failed=0

hr() { printf '\n==== %s ====\n' "$*"; }

# count_log LOGFILE -> "passed failed skipped failed-names..."
count_log() {
	python3 - "$1" <<'PY'
import json, sys

passed = failed = skipped = 0
names = []
try:
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            res = obj.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            elif res is not None:  # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, ...
                failed += 1
                names.append(str(obj.get("name")))
except FileNotFoundError:
    pass
print(passed, failed, skipped, " ".join(names))
PY
}

# setup_dir DIR MESON-SETUP-ARGS...: configure DIR unless it already is configured; every
# test build treats warnings as errors (users' and distributions' builds do not: -Dwerror).
setup_dir() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ] && [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dwerror=true >/dev/null
		return 0
	fi
	meson setup "$dir" -Dwerror=true "$@"
}

# run_tests DIR LOGNAME MESON-TEST-ARGS...: run meson test, add its log to the totals.
# Sets stage_tests_failed=1 when the log shows failures.
run_tests() {
	local dir=$1 logname=$2
	shift 2
	local log="$dir/meson-logs/$logname" rc=0
	rm -f "$log"
	meson test -C "$dir" --no-rebuild --print-errorlogs -v "$@" || rc=$?
	local p f s names
	read -r p f s names < <(count_log "$log") || true
	p=${p:-0} f=${f:-0} s=${s:-0}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	stage_counts="$p passed, $f failed, $s skipped"
	[ -n "$names" ] && stage_counts+=" (failed: $names)"
	stage_tests_failed=0
	[ "$f" -gt 0 ] && stage_tests_failed=1
	return "$rc"
}

stage_native() {
	setup_dir "$NATIVE_DIR" || return 1
	meson compile -C "$NATIVE_DIR" || return 1
	run_tests "$NATIVE_DIR" testlog.json
}

stage_cross() {
	local cross
	cross=$(./scripts/s390x-sysroot.sh) || return 1
	# The boot loaders are built by the native build only.
	setup_dir "$CROSS_DIR" --cross-file "$cross" -Dboot=disabled || return 1
	meson compile -C "$CROSS_DIR" || return 1
	local suites=()
	for s in "${CROSS_SUITES[@]}"; do suites+=(--suite "$s"); done
	run_tests "$CROSS_DIR" testlog.json "${suites[@]}" \
		--timeout-multiplier "$CROSS_TIMEOUT_MULT"
}

stage_asan() {
	setup_dir "$ASAN_DIR" -Db_sanitize=address,undefined -Db_lundef=false || return 1
	meson compile -C "$ASAN_DIR" || return 1
	local suites=()
	for s in "${ASAN_SUITES[@]}"; do suites+=(--suite "$s"); done
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
		run_tests "$ASAN_DIR" testlog.json "${suites[@]}" --timeout-multiplier 3
}

stage_novectors() {
	[ -f "$ASAN_DIR/build.ninja" ] || return 1
	PVKIT_TEST_NO_VECTORS=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
		run_tests "$ASAN_DIR" testlog-novectors.json --logbase testlog-novectors \
		--suite unit --timeout-multiplier 3
}

stage_valgrind() {
	setup_dir "$VALGRIND_DIR" || return 1
	meson compile -C "$VALGRIND_DIR" || return 1
	local suites=()
	for s in "${VALGRIND_SUITES[@]}"; do suites+=(--suite "$s"); done
	# With --wrap, Meson names the log after the wrapper: testlog-valgrind.json.
	run_tests "$VALGRIND_DIR" testlog-valgrind.json "${suites[@]}" \
		--wrap="$VALGRIND_CMD" --timeout-multiplier "$VALGRIND_TIMEOUT_MULT"
}

# run_counted WHAT -- CMD...: run a script that ends with "N passed, N failed", count it
run_counted() {
	local what=$1 out rc=0 p f
	shift 2
	out=$(mktemp)
	"$@" 2>&1 | tee "$out" || rc=$?
	read -r p f < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$out" |
		tail -n 1) || true
	rm -f "$out"
	p=${p:-0} f=${f:-0}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	stage_counts="$p passed, $f failed, 0 skipped ($what)"
	stage_tests_failed=0
	[ "$f" -gt 0 ] && stage_tests_failed=1
	return "$rc"
}

stage_install() {
	run_counted "installed files only" -- ./scripts/install-check.sh build-install
}

stage_deb() {
	run_counted "Debian packages" -- ./scripts/deb-check.sh build-deb
}

stage_fuzz() {
	run_counted "fuzz targets, ${FUZZ_SECONDS}s each" -- \
		env PVKIT_FUZZ_BUILDDIR="$FUZZ_DIR" ./scripts/fuzz.sh "$FUZZ_SECONDS"
}

# run_stage NAME: run stage_NAME, time it, record the outcome.
run_stage() {
	local name=$1 start=$SECONDS rc=0
	stage_counts="no test log"
	stage_tests_failed=0
	hr "stage $name"
	"stage_$name" || rc=$?
	local secs=$((SECONDS - start))
	local status=OK
	if [ $rc -ne 0 ]; then
		status="FAILED (exit $rc)"
		any_failed=1
		# A failure the test log does not show (setup, compile, wrapper): count it once.
		if [ "$stage_tests_failed" -eq 0 ]; then
			total_fail=$((total_fail + 1))
		fi
	fi
	local line
	line=$(printf '%-9s %-16s %4ds  %s' "$name" "$status" "$secs" "$stage_counts")
	summary_lines+=("$line")
	echo "stage $name: $status in ${secs}s ($stage_counts)"
}

overall_start=$SECONDS

if [ "${PVKIT_SKIP_DEPS:-0}" != 1 ]; then
	hr "install-deps"
	./scripts/install-deps.sh
fi

run_stage native
run_stage install
[ $do_deb -eq 1 ] && run_stage deb
[ $do_cross -eq 1 ] && run_stage cross
[ $do_asan -eq 1 ] && run_stage asan
[ $do_asan -eq 1 ] && run_stage novectors
[ $do_valgrind -eq 1 ] && run_stage valgrind
[ $do_fuzz -eq 1 ] && run_stage fuzz

hr "summary ($((SECONDS - overall_start))s)"
for l in "${summary_lines[@]}"; do echo "$l"; done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $any_failed
