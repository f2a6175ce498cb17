# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Helpers for the command-line tests (bash). Sourced, not run:
#
#   . "$(dirname "$0")/lib.sh"
#
# The script sets T (seconds for any one command) before it calls run, and calls make_tmp
# before anything that writes to $tmp. Variables the script may set:
#   RUN_LOG      run appends every command's output to this file too
#   SHOW_LINES   a failed run shows only the first SHOW_LINES lines of the output
# and a function cleanup, called on exit before $tmp is removed.

fails=0
passes=0
RUN_LOG=
SHOW_LINES=
pass() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# check NAME COMMAND...: pass if the command succeeds
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# finish: print the counts and exit, 0 if nothing failed
finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit
}

# make_tmp NAME: a new temporary directory $tmp (/tmp/pvkit-cli-NAME.XXXXXX), removed on
# exit after the script's cleanup function (if it defines one) has run
make_tmp() {
	tmp=$(mktemp -d "/tmp/pvkit-cli-$1.XXXXXX")
	trap remove_tmp EXIT
}
remove_tmp() {
	if declare -F cleanup >/dev/null; then cleanup; fi
	rm -rf "$tmp"
}

# uvsim_tmp NAME: make_tmp NAME, then a uvsim state directory $S in it whose guests are stopped
# on exit ($UVSIM must be set), cd into $tmp, no guest device or sysfs inherited from the
# caller, and sanitizer reports into files (sanitizer_logs)
uvsim_tmp() {
	make_tmp "$1"
	S=$tmp/state
	# shellcheck disable=SC2317 # called on exit by remove_tmp
	cleanup() { timeout 60 "$UVSIM" --state "$S" stop --all >/dev/null 2>&1; }
	trap 'exit 130' INT TERM
	cd "$tmp" || exit 1
	unset PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT
	sanitizer_logs
}

# sanitizer_logs: reports of every process (detached ones too) go to $tmp/sanitizer.*; call
# no_sanitizer_reports at the end (sanitizer builds only write them)
sanitizer_logs() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/sanitizer"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/sanitizer"
}
no_sanitizer_reports() {
	if compgen -G "$tmp/sanitizer*" >/dev/null; then
		fail "sanitizer reports: $(head -c 3000 "$tmp"/sanitizer*)"
	fi
}

# show_out: the last command's output ($tmp/out), indented
show_out() {
	if [ -n "${SHOW_LINES:-}" ]; then
		sed 's/^/    /' "$tmp/out" | head -n "$SHOW_LINES"
	else
		sed 's/^/    /' "$tmp/out"
	fi
}

# run NAME EXPECTED-EXIT PATTERN -- COMMAND...: run COMMAND (at most $T seconds), its output
# (stdout and stderr) in $tmp/out; pass if it exits EXPECTED-EXIT and, unless PATTERN is
# empty, the output holds PATTERN (a fixed string). Otherwise fail, show the output and
# return 1.
run() {
	local name=$1 want=$2 pattern=$3 rc
	shift 4
	timeout "$T" "$@" >"$tmp/out" 2>&1
	rc=$?
	[ -z "${RUN_LOG:-}" ] || cat "$tmp/out" >>"$RUN_LOG"
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		show_out
		return 1
	fi
	if [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$tmp/out"; then
		fail "$name: output lacks '$pattern'"
		show_out
		return 1
	fi
	pass "$name"
}

# run_error NAME EXPECTED-EXIT PATTERN -- COMMAND...: run, and the output has exactly one
# error line; returns 1 only if run did
run_error() {
	local name=$1
	run "$@" || return
	if [ "$(grep -c 'error:' "$tmp/out")" -ne 1 ]; then
		fail "$name: not exactly one error line"
		sed 's/^/    /' "$tmp/out"
	fi
}

# fake_kernel FILE: a fake s390x kernel, 192 KiB of random bytes (not ELF) with S390EP at
# 0x10008 and the command-line limit 2048 at 0x10430
fake_kernel() {
	head -c $((0x30000)) /dev/urandom >"$1"
	printf 'S390EP' | dd of="$1" bs=1 seek=$((0x10008)) conv=notrunc status=none
	printf '\0\0\0\0\0\0\x08\0' | dd of="$1" bs=1 seek=$((0x10430)) conv=notrunc status=none
}

# installed_lifecycle STATE: with the installed commands on PATH (no PVKIT_* set), the short
# lifecycle the install and package checks run: uvsim state and a host, pvimg create with
# full verification, uvsim boot, then pvattest create, perform in the guest and verify.
# Needs vmlinuz in the current directory; leaves guest g1 running (stop it in cleanup).
installed_lifecycle() {
	local S=$1 HKD VERIFY
	run "uvsim init" 0 "" -- uvsim --state "$S" init
	run "uvsim host new" 0 "" -- uvsim --state "$S" host new z16
	HKD=$S/hosts/z16/hkd.crt
	read -ra VERIFY <<<"$(uvsim --state "$S" cert-opts)"
	run "pvimg create (installed loaders)" 0 "" -- \
		pvimg create -i vmlinuz -k "$HKD" "${VERIFY[@]}" -o se.img
	run "pvimg info" 0 '"nks": 1' -- pvimg info --format json se.img
	run "uvsim boot" 0 "booted on host z16" -- uvsim --state "$S" boot --host z16 --id g1 se.img
	run "pvattest create" 0 "" -- pvattest create -k "$HKD" "${VERIFY[@]}" -o att.req -a att.key
	run "pvattest perform (in the guest)" 0 "" -- \
		bash -c 'eval "$(uvsim --state "$1" env g1)" && pvattest perform att.req att.resp' _ "$S"
	run "pvattest verify" 0 "Attestation measurement verified" -- \
		pvattest verify -i att.resp --hdr se.img -a att.key
}
