#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completions (completions/pvkit, issue 10 #19): for every command and subcommand
# the options offered are exactly those its --help lists (so a new option without its
# completion fails here), subcommands, option values, operands and files complete.
#
#   test_completions.sh TOOLS-DIR UVSIM
set -u
TOOLS=$(realpath "$1") UVSIM=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
COMPL=$HERE/../../completions/pvkit
T=30
. "$HERE/lib.sh"
BC=/usr/share/bash-completion/bash_completion
if [ ! -r "$BC" ]; then
	echo "bash-completion is not installed ($BC): skipped"
	exit 77
fi
make_tmp completions
cd "$tmp" || exit 1

# complete LINE: the completions bash offers for LINE (the cursor at its end), one per line
complete_line() {
	bash --norc --noprofile -c '
		. "$1" >/dev/null 2>&1; . "$2"
		line=$3
		read -ra COMP_WORDS <<<"$line"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$line COMP_POINT=${#line}
		fn=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		[ -n "$fn" ] || { echo "NO COMPLETION FUNCTION"; exit 1; }
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$BC" "$COMPL" "$1" | sort -u
}

# the options a --help text lists (every -x/--word token), less those named as missing
help_opts() {
	grep -oE -- '(^|[ [(/|,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ [(/|,]*//' |
		grep -vxE -- "${1:-^$}" | sort -u
}

# same_opts NAME HELP-CMD... -- COMPLETION-LINE [EXCLUDE]: the options completed for
# COMPLETION-LINE plus " -" are the ones HELP-CMD's help lists
same_opts() {
	local name=$1 help=() line exclude
	shift
	while [ "$1" != -- ]; do help+=("$1"); shift; done
	line=$2 exclude=${3:-}
	timeout "$T" "${help[@]}" --help 2>&1 | help_opts "$exclude" >help.opts
	complete_line "$line -" | grep -- '^-' >compl.opts
	if [ -s help.opts ] && cmp -s help.opts compl.opts; then
		pass "$name: completion offers exactly the options of --help"
	else
		fail "$name: --help vs completion: $(diff help.opts compl.opts | grep '^[<>]' | tr '\n' ' ')"
	fi
}

same_opts "pvimg" "$TOOLS/pvimg" -- "pvimg"
for s in create info test; do same_opts "pvimg $s" "$TOOLS/pvimg" $s -- "pvimg $s"; done
same_opts "genprotimg" "$TOOLS/genprotimg" -- "genprotimg"
same_opts "pvattest" "$TOOLS/pvattest" -- "pvattest"
for s in create perform verify check; do same_opts "pvattest $s" "$TOOLS/pvattest" $s -- "pvattest $s"; done
same_opts "pvsecret" "$TOOLS/pvsecret" -- "pvsecret"
for s in create add list lock retrieve verify; do
	same_opts "pvsecret $s" "$TOOLS/pvsecret" $s -- "pvsecret $s"
done
same_opts "pvverify" "$TOOLS/pvverify" -- "pvverify"
same_opts "pvinfo" "$TOOLS/pvinfo" -- "pvinfo" '--secret|--attestation|--header'
same_opts "pvinfo supported-flags" "$TOOLS/pvinfo" supported-flags -- "pvinfo supported-flags"
same_opts "pvapconfig" "$TOOLS/pvapconfig" -- "pvapconfig"
same_opts "chzcrypt" "$TOOLS/chzcrypt" -- "chzcrypt"
same_opts "lszcrypt" "$TOOLS/lszcrypt" -- "lszcrypt" '--bus|--domains'
same_opts "pvkit-testpki" "$TOOLS/pvkit-testpki" -- "pvkit-testpki"
same_opts "pvextract-hdr" "$TOOLS/pvextract-hdr" -- "pvextract-hdr"
# uvsim's help lists the options of all its commands: compare with their union
"$UVSIM" --help 2>&1 | help_opts >help.opts
{ complete_line "uvsim -"; complete_line "uvsim boot -"; complete_line "uvsim stop -"; } |
	grep -- '^-' | sort -u >compl.opts
if cmp -s help.opts compl.opts; then pass "uvsim: the options of --help"; else
	fail "uvsim: --help vs completion: $(diff help.opts compl.opts | grep '^[<>]' | tr '\n' ' ')"; fi

# expect NAME LINE WORDS...: LINE completes to exactly WORDS
expect() {
	local name=$1 line=$2 got want
	shift 2
	got=$(complete_line "$line" | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	if [ "$got" = "$want" ]; then pass "$name"; else fail "$name: got '$got', want '$want'"; fi
}

expect "pvimg subcommands" "pvimg " create info test version
expect "pvimg: subcommand prefix" "pvimg c" create
expect "pvattest subcommands" "pvattest -v " create perform verify check version
expect "pvsecret subcommands" "pvsecret " create add list lock retrieve verify version
expect "pvimg info --format" "pvimg info --format " text text:full json json:pretty json:minify
expect "pvimg info --print-schema" "pvimg info --print-schema j" json
expect "pvattest create --add-data" "pvattest create --add-data " phkh-img phkh-att \
	secret-store-hash firmware-state
expect "pvattest check --host-key-check" "pvattest check --host-key-check b" boot-key-hash
expect "pvsecret create: the secret kind" "pvsecret create -k h.crt --no-verify --hdr se.img -o r.bin " \
	meta association retrievable update-cck
expect "pvsecret create --type" "pvsecret create --type a" aes aes-xts
expect "pvsecret list --format" "pvsecret list --format " human yaml bin json
expect "pvsecret retrieve --outform" "pvsecret retrieve --outform " pem bin
expect "pvinfo --format" "pvinfo --format " human yaml json
expect "pvinfo subcommand" "pvinfo s" supported-flags
expect "genprotimg: options as pvimg create" "genprotimg --enable-d" --enable-dump
expect "pvimg -V is not offered (hidden, deprecated)" "pvimg create -V"
expect "pvkit-lszcrypt (beside s390-tools): lszcrypt's options" "pvkit-lszcrypt --cap" --capability
mkdir -p d1 && touch se.img se.hdr
expect "pvimg info: file operand" "pvimg info se." se.hdr se.img
expect "pvimg create -o: files" "pvimg create -o se.i" se.img
expect "pvkit-testpki --dir: directories" "pvkit-testpki --dir d" d1
# uvsim: guests and hosts of the state directory
export PVKIT_UVSIM_STATE=$tmp/state
mkdir -p state/guests/g123 state/hosts/hostA
expect "uvsim commands" "uvsim " init host cert-opts boot ap ls env stop
expect "uvsim env: guests" "uvsim env " g123
expect "uvsim boot --host: hosts" "uvsim boot --host " hostA
expect "uvsim host: verbs" "uvsim host " new ls hkd
finish
