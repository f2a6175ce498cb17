#!/bin/bash
# SPDX-License-Identifier: MIT
# IBM's lists of valid and invalid command lines (tests/compat/*.cases) against pvkit's
# commands. IBM's tests only parse; pvkit's commands go on to run (and fail on /dev/null
# inputs), so a line counts as rejected when the command exits with the tool's usage-error
# code (pvimg, genprotimg, pvverify, pvinfo: 2; pvattest, pvsecret: 1, as IBM's) and prints
# the usage hint ("Try '<prog> --help' ..."), and as accepted otherwise.
#
#   run-compat.sh TOOLS-DIR
set -u
TOOLS=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../cli/lib.sh
. "$HERE/../cli/lib.sh"
T=10
make_tmp compat
cd "$tmp" || exit 1
# Nothing reaches the machine's ultravisor or sysfs.
export PVKIT_UV_DEVICE="uvsim:$tmp/no-such.sock" PVKIT_SYSFS_ROOT="$tmp/sys"
mkdir -p sys

usage_code() {
	case $1 in pvattest | pvsecret) echo 1 ;; *) echo 2 ;; esac
}

for cases in "$HERE"/*.cases; do
	tool=$(basename "$cases" .cases)
	bin=$TOOLS/$tool
	if [ ! -x "$bin" ]; then
		echo "SKIP $tool: not built"
		continue
	fi
	want_usage=$(usage_code "$tool")
	while IFS=$'\t' read -r verdict line; do
		case $verdict in '#'* | '') continue ;; esac
		read -ra args <<<"$line"
		rm -rf work && mkdir work
		(cd work && timeout "$T" "$bin" "${args[@]}" </dev/null >../stdout 2>../stderr)
		rc=$?
		hint=0
		grep -q -- "--help" stderr && [ "$rc" -ne 0 ] && hint=1
		got=accept
		[ "$hint" = 1 ] && [ "$rc" = "$want_usage" ] && got=reject
		if [ "$got" = "$verdict" ] && { [ "$verdict" = accept ] || [ "$rc" = "$want_usage" ]; }; then
			pass "$tool $verdict: $line"
		else
			fail "$tool $verdict: $line (exit $rc: $(head -n 1 stderr))"
		fi
		if [ "$rc" -ge 124 ]; then
			fail "$tool: '$line' timed out or crashed (exit $rc)"
		fi
	done <"$cases"
done
finish
