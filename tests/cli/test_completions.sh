#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completions (completions/pvkit, installed under every command's name, issue 10
# #19). For every command and subcommand: the options offered are exactly those its --help
# lists (so a new option without its completion fails here), an option takes a value in the
# completion exactly when its --help shows one, the subcommands offered are those of the
# Commands: list; and option values, operands, files, AP devices and uvsim's guests and
# hosts complete. All of it in a bash with bash-completion loaded (when it is installed) and
# in a plain bash.
#
#   test_completions.sh TOOLS-DIR UVSIM
set -u
TOOLS=$(realpath "$1") UVSIM=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
COMPL=$HERE/../../completions/pvkit
BC=/usr/share/bash-completion/bash_completion
T=30
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"
make_tmp completions
cd "$tmp" || exit 1

# The driver: one bash that sources the completions once and answers every request. A
# request is a command line with the cursor at its end; the answer is COMPREPLY, one a line,
# then "@@". The words are split as bash splits them for completion: at blanks, and '=' and
# ':' (COMP_WORDBREAKS) are words of their own.
cat >drive.sh <<'EOF'
[ -n "$1" ] && . "$1" >/dev/null 2>&1
. "$2" || exit 1
declare -A fns
while IFS= read -r line; do
	COMP_WORDS=() w=
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == [[:space:]] ]]; then
			[[ -n $w ]] && COMP_WORDS+=("$w")
			w=
		elif [[ $c == [=:] ]]; then
			[[ -n $w && $w != [=:]* ]] && COMP_WORDS+=("$w") && w=
			w+=$c
		else
			[[ $w == [=:]* ]] && COMP_WORDS+=("$w") && w=
			w+=$c
		fi
	done
	COMP_WORDS+=("$w")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
	COMPREPLY=()
	fn=${fns[${COMP_WORDS[0]}]-}
	if [ -z "$fn" ] && [[ $(complete -p "${COMP_WORDS[0]}" 2>/dev/null) =~ -F\ ([^ ]+) ]]; then
		fn=${BASH_REMATCH[1]}
		fns[${COMP_WORDS[0]}]=$fn
	fi
	if [ -n "$fn" ]; then
		"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
	else
		echo "!! no completion function for ${COMP_WORDS[0]}"
	fi
	echo @@
done
EOF
mkfifo drive.in drive.out

# start_driver bash-completion|plain
start_driver() {
	local bc=
	[ "$1" = bash-completion ] && bc=$BC
	: >drive.err
	bash --norc --noprofile drive.sh "$bc" "$COMPL" <drive.in >drive.out 2>drive.err &
	DRV_PID=$!
	exec {DRV_IN}>drive.in {DRV_OUT}<drive.out
}
stop_driver() {
	exec {DRV_IN}>&- {DRV_OUT}<&-
	wait "$DRV_PID"
}

# ask LINE: ANS=(the completions offered for LINE, the cursor at its end)
ask() {
	local l
	ANS=()
	printf '%s\n' "$1" >&"$DRV_IN"
	while IFS= read -r -t 20 l <&"$DRV_OUT"; do
		[ "$l" = @@ ] && return 0
		ANS+=("${l:-<empty>}")
	done
	ANS+=("!! no answer from the completion driver")
}

# same_set A B: arrays A and B hold the same words (duplicates aside); else DIFF lists
# those of A only ('<') and of B only ('>'). No subshell: the checks stay fast.
same_set() {
	local -n sa=$1 sb=$2
	local -A ina=() inb=()
	local w
	DIFF=
	for w in "${sa[@]}"; do ina[$w]=1; done
	for w in "${sb[@]}"; do
		inb[$w]=1
		[ -n "${ina[$w]-}" ] || DIFF+=" >$w"
	done
	for w in "${sa[@]}"; do [ -n "${inb[$w]-}" ] || DIFF+=" <$w"; done
	[ -z "$DIFF" ]
}

# only_opts: ANS less its words that are not options
only_opts() {
	local w o=()
	for w in "${ANS[@]}"; do [[ $w == -* ]] && o+=("$w"); done
	ANS=("${o[@]}")
}

# The --help texts, once, and what they list: help/NAME (NAME: the command line, blanks as
# '_'), help/NAME.opts its options, help/NAME.defs its option definitions, help/NAME.subs
# its subcommands
mkdir help
helpkeys=("pvimg" "pvimg create" "pvimg info" "pvimg test" "genprotimg" "pvattest"
	"pvattest create" "pvattest perform" "pvattest verify" "pvattest check" "pvsecret"
	"pvsecret create" "pvsecret add" "pvsecret list" "pvsecret lock" "pvsecret retrieve"
	"pvsecret verify" "pvverify" "pvinfo" "pvinfo supported-flags" "pvapconfig" "chzcrypt"
	"lszcrypt" "pvkit-testpki" "pvextract-hdr" "pvdomcheck" "pvdump" "pvdump info"
	"pvdump decrypt" "pvattest-agent")

# every -x/--word token of a help text, less those matching $1
help_opts() {
	grep -oE -- '(^|[ [(/|,])--?[a-zA-Z][a-zA-Z0-9-]*' | sed 's/^[ [(/|,]*//' |
		grep -vxE -- "${1:-^$}" | sort -u
}
# the options a help text defines (lines '  -x, --long METAVAR  text'), each with 'value'
# (a metavar follows) or 'flag'; --opt[=FILE] (its value only after '=') is a flag
help_defs() {
	awk '/^[ \t]+-/ {
		s = $0; sub(/^[ \t]+/, "", s); n = 0
		while (match(s, /^--?[A-Za-z0-9][A-Za-z0-9-]*/)) {
			o[++n] = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
			if (substr(s, 1, 2) != ", ") break
			s = substr(s, 3)
		}
		if (n == 0) next
		if (s == "" || s ~ /^  / || s ~ /^\[=/) kind = "flag"
		else if (s ~ /^ [^ ]/) kind = "value"
		else next
		for (i = 1; i <= n; i++) print o[i], kind
	}' | grep -vE -- "^(${1:-^$}) "
}
# the subcommands of a help text's Commands: list
help_subs() {
	awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 }
		on && /^  [a-z]/ { print $1 }' | sort -u
}
for k in "${helpkeys[@]}" uvsim; do
	read -ra c <<<"$k"
	f=help/${k// /_} h=--help x=
	case $k in
	pvextract-hdr) h=-h ;;                    # its only help option
	pvinfo) x='--secret|--attestation|--header' ;; # supported-flags' options, shown here
	lszcrypt) x='--bus|--domains' ;;          # named as not supported
	esac
	if [ "$k" = uvsim ]; then
		timeout "$T" "$UVSIM" --help >"$f" 2>&1
	else
		timeout "$T" "$TOOLS/${c[0]}" "${c[@]:1}" "$h" >"$f" 2>&1
	fi
	help_opts "$x" <"$f" >"$f.opts"
	help_defs "$x" <"$f" >"$f.defs"
	help_subs <"$f" >"$f.subs"
done

# same_opts LINE: the options completed for LINE plus " -" are the ones its help text
# lists; each takes a value in the completion exactly when --help shows one (LINE plus
# " OPTION -" then completes no option)
same_opts() {
	local line=$1 f=help/${1// /_} opt kind bad='' want=()
	mapfile -t want <"$f.opts"
	ask "$line -"
	only_opts
	if [ ${#want[@]} -gt 0 ] && same_set want ANS; then
		pass "$mode: $line: completion offers exactly the options of --help"
	else
		fail "$mode: $line: --help (<) vs completion (>):$DIFF"
	fi
	while read -r opt kind; do
		ask "$line $opt -"
		only_opts
		if [ "$kind" = value ] && [ ${#ANS[@]} -ne 0 ]; then
			bad+=" $opt (takes a value: options offered after it)"
		elif [ "$kind" = flag ] && [ ${#ANS[@]} -eq 0 ]; then
			bad+=" $opt (a flag: its next word completed as its value)"
		fi
	done <"$f.defs"
	if [ -z "$bad" ]; then
		pass "$mode: $line: options with values as in --help"
	else
		fail "$mode: $line:$bad"
	fi
}

# same_subs CMD: CMD plus " " completes to the subcommands of its --help
same_subs() {
	local want=()
	mapfile -t want <"help/$1.subs"
	ask "$1 "
	if [ ${#want[@]} -gt 0 ] && same_set want ANS; then
		pass "$mode: $1: the subcommands of --help"
	else
		fail "$mode: $1 subcommands: --help (<) vs completion (>):$DIFF"
	fi
}

# expect NAME LINE WORDS...: LINE completes to exactly WORDS
expect() {
	local name=$1 line=$2
	shift 2
	local want=("$@")
	ask "$line"
	if same_set want ANS; then pass "$mode: $name"; else
		fail "$mode: $name: want (<) vs completion (>):$DIFF"
	fi
}

# files, uvsim's state, a sysfs with AP queues
mkdir -p d1 state/guests/g123 state/hosts/hostA sys/devices/ap/card0a/0a.0005 \
	sys/devices/ap/card0b/0b.0001 sys/devices/ap/card0b/0b.0002
touch se.img se.hdr
export PVKIT_UVSIM_STATE=$tmp/state PVKIT_SYSFS_ROOT=$tmp/sys

suite() {
	mode=$1
	start_driver "$mode"

	# every (sub)command's options and subcommands against its --help
	for k in "${helpkeys[@]}"; do same_opts "$k"; done
	for c in pvimg pvattest pvsecret pvinfo uvsim pvdump; do same_subs "$c"; done
	# uvsim's help lists the options of all its commands: compare with their union
	local want=() all=()
	mapfile -t want <help/uvsim.opts
	for k in "uvsim" "uvsim boot" "uvsim stop" "uvsim ls" "uvsim domxml" "uvsim host" "uvsim dump"; do
		ask "$k -"
		all+=("${ANS[@]}")
	done
	if same_set want all; then pass "$mode: uvsim: the options of --help"; else
		fail "$mode: uvsim: --help (<) vs completion (>):$DIFF"
	fi

	expect "pvimg: subcommand prefix" "pvimg c" create
	expect "pvattest: subcommands after an option" "pvattest -v " create perform verify check version
	expect "pvimg version takes nothing" "pvimg version -"
	expect "pvsecret retr (alias of retrieve): retrieve's options" "pvsecret retr --out" \
		--output --outform
	expect "pvimg info --format" "pvimg info --format " text text:full json json:pretty json:minify
	expect "pvimg info --format=" "pvimg info --format=json" json json:pretty json:minify
	expect "pvimg info --format text: (bash inserts after the ':')" "pvimg info --format text:" full
	expect "pvimg info --format=json:m" "pvimg info --format=json:m" minify
	expect "pvimg info --print-schema" "pvimg info --print-schema j" json
	expect "pvattest create --add-data" "pvattest create --add-data " phkh-img phkh-att \
		secret-store-hash firmware-state
	expect "pvattest create --add-data: the list's next item" "pvattest create --add-data phkh-img,s" \
		phkh-img,secret-store-hash
	expect "pvattest create --add-data: no item twice" "pvattest create --add-data=phkh-img,phkh-att," \
		phkh-img,phkh-att,secret-store-hash phkh-img,phkh-att,firmware-state
	expect "pvattest check --host-key-check" "pvattest check --host-key-check b" boot-key-hash
	expect "pvattest check --fw-ver" "pvattest check --firmware --fw-ver " 1 2
	expect "pvattest check --secret-store-locked" "pvattest check --secret-store-locked=t" true
	expect "pvattest verify --format" "pvattest verify --format " yaml json
	expect "pvsecret create: the secret kind" "pvsecret create -k h.crt --no-verify --hdr se.img -o r.bin " \
		meta association retrievable update-cck
	expect "pvsecret create: no operand after the kind" "pvsecret create --no-verify association "
	expect "pvsecret create --type" "pvsecret create --type a" aes aes-xts
	expect "pvsecret create --flags" "pvsecret create --flags=" disable-dump
	expect "pvsecret list --format" "pvsecret list --format " human yaml bin json
	expect "pvsecret retrieve --inform" "pvsecret retrieve --inform " yaml hex name idx
	expect "pvsecret retrieve --outform" "pvsecret retrieve --outform " pem bin
	expect "pvinfo --format" "pvinfo --format " human yaml json
	expect "pvinfo subcommand" "pvinfo s" supported-flags
	expect "pvinfo supported-flags options" "pvinfo supported-flags --" --secret --attestation \
		--header --help
	expect "genprotimg: options as pvimg create" "genprotimg --enable-d" --enable-dump
	expect "genprotimg: no operands" "genprotimg -o x "
	expect "pvimg -V is not offered (hidden, deprecated)" "pvimg create -V"
	expect "pvkit-lszcrypt (beside s390-tools): lszcrypt's options" "pvkit-lszcrypt --cap" --capability
	expect "pvkit-testpki --ca-rsa-bits" "pvkit-testpki --ca-rsa-bits " 2048 3072 4096
	expect "pvimg info: file operand" "pvimg info se." se.hdr se.img
	expect "pvimg create -o: files" "pvimg create -o se.i" se.img
	expect "pvimg create --hdr-key: files" "pvimg create --hdr-key=se.h" se.hdr
	expect "pvimg test --key-hashes=: files" "pvimg test --key-hashes=se.h" se.hdr
	expect "pvattest perform: file operands" "pvattest perform se.img se.h" se.hdr
	expect "pvkit-testpki --dir: directories" "pvkit-testpki --dir d" d1
	expect "pvverify: no operands" "pvverify --no-verify "
	expect "chzcrypt: AP queues" "chzcrypt --se-bind " 0a.0005 0b.0001 0b.0002
	expect "chzcrypt --se-associate INDEX, then a queue" "chzcrypt --se-associate 3 0b" \
		0b.0001 0b.0002
	expect "lszcrypt -c: cards and queues" "lszcrypt -c " 0a 0a.0005 0b 0b.0001 0b.0002
	expect "lszcrypt: device operands" "lszcrypt -V 0a 0" 0a 0a.0005 0b 0b.0001 0b.0002
	expect "uvsim env: guests" "uvsim env " g123
	expect "uvsim stop: guests" "uvsim --state $tmp/state stop g123 " g123
	expect "uvsim boot --host: hosts" "uvsim boot --host " hostA
	expect "uvsim boot --qemu is a flag" "uvsim boot --qemu --kee" --keep-memory
	expect "uvsim host: verbs" "uvsim host " new ls hkd show env revoke
	expect "uvsim --state: directories" "uvsim --state d" d1

	stop_driver
	if [ -s drive.err ]; then
		fail "$mode: the completion function printed errors: $(head -c 2000 drive.err)"
	else
		pass "$mode: no errors from the completion function"
	fi
}

if [ -r "$BC" ]; then
	suite bash-completion
else
	echo "# bash-completion is not installed ($BC): a plain bash only"
fi
suite plain
finish
