#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# man/uvsim.1 documents all of 'uvsim --help': every command (as an item of its
# own), every --long and -s option, every environment variable the help names,
# and the sections a man page needs.
#
# Usage: test_uvsim_man.sh UVSIM MANPAGE
# pass/fail never fail: "test && pass || fail" is fine here.
# shellcheck disable=SC2015
set -u

[ $# -eq 2 ] || { echo "usage: test_uvsim_man.sh UVSIM MANPAGE" >&2; exit 2; }
UVSIM=$1
MAN=$2
tmp=$(mktemp -d /tmp/pvkit-e2e-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

passes=0
fails=0
pass() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

"$UVSIM" --help >"$tmp/help" || { echo "uvsim --help failed"; exit 1; }
# The roff source as plain text: font escapes removed, \- as -.
sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' "$MAN" >"$tmp/man"

# Command words: the lines of the Commands section, up to the first argument.
sed -n '/^Commands:/,/^$/p' "$tmp/help" | grep -E '^  [a-z]' |
	awk '{ c = $1; if ($2 ~ /^[a-z][a-z-]*$/) c = c " " $2; print c }' >"$tmp/commands"
n=$(wc -l <"$tmp/commands")
[ "$n" -ge 8 ] && pass "$n commands in uvsim --help" || fail "only $n commands parsed from uvsim --help"
while IFS= read -r c; do
	# An item of its own: a .B/.BI/.BR line (a .TP tag or the synopsis) starting with it.
	if grep -qE "^\.B[IR]? \"?$c( |\"|\$)" "$tmp/man"; then
		pass "command '$c' documented"
	else
		fail "command '$c' has no item in $MAN"
	fi
done <"$tmp/commands"

grep -oE -- '(^|[^a-zA-Z0-9-])--?[a-z][a-z-]*' "$tmp/help" | sed 's/^[^-]*//' |
	grep -vx -- '-' | sort -u >"$tmp/options"
n=$(wc -l <"$tmp/options")
[ "$n" -ge 12 ] && pass "$n options in uvsim --help" || fail "only $n options parsed from uvsim --help"
while IFS= read -r o; do
	if grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|\$)" "$tmp/man"; then
		pass "option $o documented"
	else
		fail "option $o missing in $MAN"
	fi
done <"$tmp/options"

for v in $(grep -oE '\$[A-Z_]+' "$tmp/help" | tr -d '$' | sort -u) PVKIT_UV_DEVICE PVKIT_SYSFS_ROOT; do
	if sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$tmp/man" | grep -qx "\.B $v"; then
		pass "environment variable $v documented"
	else
		fail "environment variable $v has no item under ENVIRONMENT"
	fi
done

for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS FILES ENVIRONMENT "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	grep -qx "\.SH \"\?$s\"\?" "$tmp/man" && pass "section $s" || fail "no section $s"
done
for code in 0 1 2; do
	sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$tmp/man" | grep -qx "\.B $code" &&
		pass "exit status $code" || fail "exit status $code not documented"
done
for f in pki/ host.key hkd.crt guest.json uv.sock log sys/ mem.img; do
	sed -n '/^\.SH FILES/,/^\.SH /p' "$tmp/man" | grep -qF -- "$f" &&
		pass "state file $f" || fail "state file $f not under FILES"
done

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
