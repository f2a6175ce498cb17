#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Crypto Express adapters for a secure guest, end to end on uvsim: a guest booted with
# simulated adapters (two EP11 cards with the same master key for a backup pair, another
# EP11 domain, CEX8 and CEX7 accelerators), seed 001's procedure (pvsecret create
# association --output-secret, add, list, lock, pvapconfig, lszcrypt -V shows the queue
# usable), the three example configuration files of IBM's documentation, wrong MKVP and
# serial number, --strict, --dry-run, --unbind, queues dropped from the file, malformed
# YAML, the lock file, chzcrypt --se-bind/--se-associate/--se-unbind with the state
# machine's refusals, host resets and illicit queues (uvsim ap), lszcrypt -V/-c/-s, and the
# man pages against --help.
#
# Usage: test_pvapconfig.sh UVSIM PVIMG PVSECRET PVAPCONFIG CHZCRYPT LSZCRYPT AP_ASSOC_REQ
set -u

[ $# -eq 7 ] || { echo "usage: test_pvapconfig.sh UVSIM PVIMG PVSECRET PVAPCONFIG CHZCRYPT LSZCRYPT AP_ASSOC_REQ" >&2; exit 2; }
UVSIM=$(realpath "$1")
PVIMG=$(realpath -s "$2")
PVSECRET=$(realpath "$3")
PVAPCONFIG=$(realpath "$4")
CHZCRYPT=$(realpath "$5")
LSZCRYPT=$(realpath "$6")
ASSOC_REQ=$(realpath "$7")
SRC=${PVKIT_SOURCE_ROOT:-$(dirname "$0")/../..}
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

make_tmp ap
ST=$tmp/state
# shellcheck disable=SC2317 # called on exit by lib.sh
cleanup() {
	# never leave endpoint processes behind
	timeout 30 "$UVSIM" --state "$ST" stop --all >/dev/null 2>&1
}
cd "$tmp" || exit 1
U=("$UVSIM" --state "$ST")
export PVKIT_PVAPCONFIG_LOCK=$tmp/pvapconfig.lock
RUN_LOG=$tmp/all.out

has() { # has NAME PATTERN: the last output has PATTERN
	if grep -qF -- "$2" out; then pass "$1"; else fail "$1: output lacks '$2'"; sed 's/^/    /' out; fi
}
hasnt() {
	if ! grep -qF -- "$2" out; then pass "$1"; else fail "$1: output has '$2'"; sed 's/^/    /' out; fi
}

# the SESTAT of a queue in 'lszcrypt -V'
sestat() { timeout "$T" "$LSZCRYPT" -V | awk -v q="$1" '$1 == q { print $NF }'; }
state_is() { # state_is QUEUE SESTAT
	local s
	s=$(sestat "$1")
	if [ "$s" = "$2" ]; then pass "lszcrypt -V: $1 $2"; else fail "lszcrypt -V: $1 is '$s', expected $2"; fi
}
assoc_is() { # assoc_is QUEUE TEXT: lszcrypt -c's SE association state
	local s
	s=$(timeout "$T" "$LSZCRYPT" -c "$1" | sed -n 's/^SE association state: //p')
	if [ "$s" = "$2" ]; then pass "lszcrypt -c $1: $2"; else fail "lszcrypt -c $1: '$s', expected '$2'"; fi
}

MK1=db3c3b3c3f097dd55ec7eb0e7fdbcb93
MK2=4a27bb66520ac85f6073a7f678d262c0
SN1=93AADFK719460083
SN2=93AADHZU42082261
# IBM's example secret ID: "This is a very secret secret id."
SID1=546869732069732061207665727920736563726574207365637265742069642e

# ---- a host, an image, a guest with adapters ----

run "uvsim host new" 0 "" -- "${U[@]}" host new z16
HKD=$ST/hosts/z16/hkd.crt
read -r -a CERT_OPTS < <("${U[@]}" cert-opts)
fake_kernel vmlinuz
if ! timeout "$T" "$PVIMG" create -i vmlinuz -k "$HKD" "${CERT_OPTS[@]}" -o se.img >out 2>&1; then
	if grep -q 'stage3' out; then
		echo "pvimg has no boot loaders (built with -Dboot=disabled?): skipped"
		exit 77
	fi
	fail "pvimg create"
	cat out
	finish
fi
pass "pvimg create"

AP=(--ap "card=03,type=CEX8P,serial=$SN1,domains=0x2b:0x31,mkvp=0x$MK1:0x$MK2"
    --ap "card=04,type=CEX8A,domains=5:0x42"
    --ap "card=05,type=CEX8P,serial=$SN2,domains=0x2b,mkvp=$MK1$MK2"
    --ap "card=06,type=CEX7A,domains=0x11")
run "boot with simulated adapters" 0 "guest g booted on host z16" -- \
	"${U[@]}" boot --host z16 --id g "${AP[@]}" se.img
GDIR=$ST/guests/g
SYS=$GDIR/sys
run "boot: a bad --ap is a usage error" 2 "--ap 'card=07,type=CEX9P" -- \
	"${U[@]}" boot --host z16 --id bad --ap card=07,type=CEX9P,domains=1 se.img
check "boot: no guest left by the refused --ap" test ! -e "$ST/guests/bad"
# the guide: at most 12 AP queues per secure guest (6 above, 7 more here)
run "boot: a 13th AP queue is refused" 2 "at most 12 AP queues; with this adapter it would have 13" -- \
	"${U[@]}" boot --host z16 --id bad "${AP[@]}" --ap card=07,type=CEX8A,domains=1:2:3:4:5:6:7 se.img
check "boot: no guest left by the 13 queues" test ! -e "$ST/guests/bad"

check "sysfs: features has APSB" grep -qw APSB "$SYS/bus/ap/features"
check "sysfs: bindings complete" grep -qx '6/6 (complete)' "$SYS/bus/ap/bindings"
check "sysfs: queues start unbound" test "$(cat "$SYS/devices/ap/card03/03.002b/se_bind")" = unbound
check "sysfs: and unassociated" test "$(cat "$SYS/devices/ap/card03/03.002b/se_associate")" = unassociated
check "sysfs: BS bits 2 (available for binding)" test "$(cat "$SYS/devices/ap/card03/03.002b/ap_functions")" = 0x06808000
check "sysfs: bus/ap/devices links" test "$(cat "$SYS/bus/ap/devices/05.002b/se_bind")" = unbound
# An empty write (QEMU's 9p server truncates a guest's O_TRUNC open with a close of its own
# before the value comes): nothing happens, as on sysfs; the value that follows is taken.
Q6=$SYS/devices/ap/card06/06.0011
: >"$Q6/se_bind"
sleep 0.5
if grep -q "06.0011: se_bind <- ''" "$GDIR/log"; then fail "an empty write was taken as a value"; else pass "an empty write is no value"; fi
echo 0 >"$Q6/se_bind"
for _ in $(seq 50); do [ "$(cat "$Q6/se_bind")" = unbound ] && break; sleep 0.1; done
check "the value after the empty write: se_bind 0 taken" grep -q "06.0011: se_bind <- '0'" "$GDIR/log"
check "and the attribute reads unbound again" test "$(cat "$Q6/se_bind")" = unbound

# trusted side: requests are created outside the guest
run "seed 001: pvsecret create association --output-secret" 0 "" -- \
	"$PVSECRET" create -k "$HKD" "${CERT_OPTS[@]}" --hdr se.img -o my_addsecreq \
	association "my secret" --output-secret my_random_secret
check "the random association secret: 32 bytes" test "$(stat -c %s my_random_secret)" -eq 32
MYID=$(sed -n 's/^id: *0x\([0-9a-f]\{64\}\).*/\1/p' my_secret.yaml | tr -d "\"'")
check "my_secret.yaml: the ID is SHA-256 of the name" \
	test "$MYID" = "$(printf '%s' 'my secret' | sha256sum | cut -d' ' -f1)"
run "an association secret with IBM's example ID" 0 "" -- "$ASSOC_REQ" "$HKD" se.img "$SID1" example_req
echo hello >plain.txt
run "a retrievable (not association) secret" 0 "" -- \
	"$PVSECRET" create -k "$HKD" "${CERT_OPTS[@]}" --hdr se.img -o retr_req \
	retrievable retr --secret plain.txt --type plain

# guest side from here on
eval "$("${U[@]}" env g)"

run "lszcrypt: the adapters" 0 "03.002b  CEX8P EP11-Coproc online" -- "$LSZCRYPT"
hasnt "lszcrypt without -V: no SESTAT" "SESTAT"
run "lszcrypt -V: the SESTAT column" 0 "SESTAT" -- "$LSZCRYPT" -V
check "lszcrypt -V: card rows '-'" grep -qE '^03 .* cex4card +- *$' out
check "lszcrypt -V: every queue unbound" test "$(grep -cE '^0[3-6]\.[0-9a-f]{4} .* unbound *$' out)" -eq 6
has "lszcrypt -V: EP11 functions" "-----XN-F- cex4queue"

run "seed 001: pvsecret add" 0 "" -- "$PVSECRET" add my_addsecreq
run "pvsecret add: IBM's example ID" 0 "" -- "$PVSECRET" add example_req
run "pvsecret add: a retrievable secret" 0 "" -- "$PVSECRET" add retr_req
run "seed 001: pvsecret list" 0 "Total number of secrets: 3" -- "$PVSECRET" list
has "pvsecret list: index 0 is the association secret" "0 Association"
has "pvsecret list: its ID" "$MYID"
run "seed 001: pvsecret lock" 0 "" -- "$PVSECRET" lock

cat >my_apconfig.yaml <<EOF
- mode: EP11
  mkvp: 0x$MK1
  serialnr: $SN1
  secretid: 0x$MYID
EOF
run "seed 001: pvapconfig" 0 "" -- "$PVAPCONFIG" -c my_apconfig.yaml
state_is 03.002b usable
assoc_is 03.002b "associated 0"
check "pvapconfig: the lock file is gone" test ! -e "$PVKIT_PVAPCONFIG_LOCK"
check "pvapconfig: the other queues stay unbound" \
	test "$(sestat 03.0031) $(sestat 05.002b) $(sestat 04.0005)" = "unbound unbound unbound"
run "lszcrypt -c: the master key of the bound queue" 0 "MK WK CUR: valid 0x$MK1" -- "$LSZCRYPT" -c 03.002b
has "lszcrypt -c: SE bind state" "SE bind state: bound"
run "pvapconfig again: already satisfied" 0 "EP11 APQN 03.002b already satisfies AP config entry #1 (UV secret index 0)." -- \
	"$PVAPCONFIG" -v -c my_apconfig.yaml
hasnt "pvapconfig again: no action" "Bind APQN"
state_is 03.002b usable
run "pvapconfig: the file as operand (as IBM's guide writes it)" 0 "" -- "$PVAPCONFIG" my_apconfig.yaml
run "pvapconfig: operand and -c" 2 "unexpected argument" -- "$PVAPCONFIG" -c my_apconfig.yaml my_apconfig.yaml
grep -q "03.002b: se_associate <- '0': association pending" "$GDIR/log" &&
	pass "uvsim log: the association" || fail "uvsim log lacks the association"

# ---- IBM's example configuration files (seed 000, appendix A) ----

cat >ex1.yaml <<EOF
# A configuration file for an EP11
- mode: EP11
  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93
  serialnr: 93AADFK719460083
  secretid: 0x546869732069732061207665727920736563726574207365637265742069642e
EOF
run "example 1 (EP11)" 0 "Associate APQN 03.002b with UV secret index 1" -- "$PVAPCONFIG" -v -c ex1.yaml
has "example 1: the queue associated with another secret is unbound first" "Unbind APQN 03.002b"
assoc_is 03.002b "associated 1"
state_is 03.002b usable

cat >ex2.yaml <<EOF
# A configuration file for an accelerator
- name: my Accelerator
  mode: Accel
  mingent: CEX8
EOF
run "example 2 as printed: 'mingent' is an unknown key" 1 "ex2.yaml:4:3: AP config entry #1: unknown key 'mingent'" -- \
	"$PVAPCONFIG" -c ex2.yaml
state_is 03.002b usable
sed 's/mingent/mingen/' ex2.yaml >ex2-fixed.yaml
run "example 2 with mingen" 0 "" -- "$PVAPCONFIG" -c ex2-fixed.yaml
state_is 04.0005 usable
state_is 03.002b unbound
state_is 06.0011 unbound

cat >ex3.yaml <<EOF
# A configuration file for a backup pair
- name: my EP11 APQN 1
  mode: EP11
  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93
  serialnr: 93AADFK719460083
  secretid: 0x546869732069732061207665727920736563726574207365637265742069642e
- name: my EP11 APQN 2
  mode: EP11
  mkvp: 0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93
  serialnr: 93AADHZU42082261
  secretid: 0x546869732069732061207665727920736563726574207365637265742069642e
EOF
run "example 3 as printed: the names are no source of that secretid" 1 \
	"ex3.yaml:6: AP config entry #1 'my EP11 APQN 1': Mismatch between sha256(name) and secretid" -- \
	"$PVAPCONFIG" -c ex3.yaml
sed 's/^- name: /- description: /' ex3.yaml >ex3-fixed.yaml
run "example 3 as descriptions: the backup pair" 0 "" -- "$PVAPCONFIG" --strict -c ex3-fixed.yaml
assoc_is 03.002b "associated 1"
assoc_is 05.002b "associated 1"
state_is 04.0005 unbound

# ---- matching: wrong MKVP, wrong serial number, mingen ----

cat >wrong-mkvp.yaml <<EOF
- mode: EP11
  mkvp: 0x00112233445566778899aabbccddeeff
  secretid: 0x$MYID
EOF
run "a wrong MKVP: nothing applied" 1 "None out of 1 AP config entries could be applied." -- \
	"$PVAPCONFIG" -c wrong-mkvp.yaml
has "a wrong MKVP: said so" "no EP11 APQN with MKVP 00112233445566778899aabbccddeeff"
assoc_is 03.002b unassociated
state_is 03.002b unbound
run "a wrong MKVP, -v: why each APQN does not match" 1 "APQN 03.002b does not match AP config entry #1: it has MKVP $MK1" -- \
	"$PVAPCONFIG" -v -c wrong-mkvp.yaml
cat >wrong-serial.yaml <<EOF
- mode: EP11
  mkvp: 0x$MK1
  serialnr: 93AAXXXX00000000
  secretid: 0x$MYID
EOF
run "a wrong serial number: nothing applied" 1 "no EP11 APQN with MKVP $MK1 on adapter 93AAXXXX00000000" -- \
	"$PVAPCONFIG" -c wrong-serial.yaml
assoc_is 03.002b unassociated
assoc_is 05.002b unassociated

cat >mingen.yaml <<EOF
- mode: accel
  mingen: cex8
- mode: accel
  mingen: CEX8
- name: third CEX8
  mode: accel
  mingen: cex8
EOF
run "mingen: the CEX7 accelerator is no CEX8" 0 "AP config entry #3 'third CEX8' not applied: every matching APQN serves another entry." -- \
	"$PVAPCONFIG" -v -c mingen.yaml
has "mingen: said why, with -v" "APQN 06.0011 does not match AP config entry #3 'third CEX8': it is a CEX7, older than mingen CEX8."
state_is 04.0005 usable
state_is 04.0042 usable
state_is 06.0011 unbound
run "--strict: 2 of 3 is a failure" 1 "Strict flag given and only 2 out of 3 AP config entries have been applied." -- \
	"$PVAPCONFIG" --strict -c mingen.yaml
run "-s (the short form IBM's parser lacks)" 1 "Strict flag given" -- "$PVAPCONFIG" -s -c mingen.yaml
sed 's/^  mingen: cex8$/  mingen: cex7/' mingen.yaml >mingen7.yaml
run "mingen cex7: the CEX7 accelerator too" 0 "" -- "$PVAPCONFIG" --strict -c mingen7.yaml
state_is 06.0011 usable

# ---- queues dropped from the file are unbound; --dry-run; --unbind ----

cat >two.yaml <<EOF
- mode: EP11
  mkvp: 0x$MK1
  serialnr: $SN1
  secretid: 0x$MYID
- mode: accel
EOF
run "EP11 + accelerator" 0 "" -- "$PVAPCONFIG" --strict -c two.yaml
state_is 03.002b usable
state_is 04.0005 usable
check "the accelerators no entry asks for were unbound" test "$(sestat 04.0042) $(sestat 06.0011)" = "unbound unbound"
printf -- '- mode: accel\n' >accel-only.yaml
run "the EP11 entry dropped" 0 "" -- "$PVAPCONFIG" -c accel-only.yaml
state_is 03.002b unbound
state_is 04.0005 usable

run "--dry-run: the actions" 0 "Dry run: Bind APQN 03.002b to match AP config entry #1 (step 1/2)." -- \
	"$PVAPCONFIG" --dry-run -c two.yaml
has "--dry-run: associate" "Dry run: Associate APQN 03.002b with UV secret index 0"
run "-n: the same" 0 "Dry run:" -- "$PVAPCONFIG" -n -c my_apconfig.yaml
has "-n: an unbind it would do" "Dry run: Unbind APQN 04.0005"
state_is 03.002b unbound
state_is 04.0005 usable

run "--unbind" 0 "" -- "$PVAPCONFIG" --unbind -v
has "--unbind: the bound queue" "Unbind APQN 04.0005"
state_is 04.0005 unbound
run "--unbind with -c" 2 "--unbind cannot be used with --config" -- "$PVAPCONFIG" --unbind -c two.yaml
run "--unbind with --strict" 2 "--unbind cannot be used with --strict" -- "$PVAPCONFIG" --unbind --strict

# ---- configuration errors ----

printf -- '- mode: accel\n  name: x\n - mode: ep11\n' >bad.yaml
run "malformed YAML: its line" 1 "bad.yaml:3:2: malformed YAML" -- "$PVAPCONFIG" -c bad.yaml
printf 'mode: accel\n' >notlist.yaml
run "not a list" 1 "notlist.yaml:1:1: the configuration must be a list" -- "$PVAPCONFIG" -c notlist.yaml
printf -- '- mode: cca\n' >cca.yaml
run "mode CCA" 1 "Unknown or invalid mode 'cca'" -- "$PVAPCONFIG" -c cca.yaml
run "a missing file" 1 "nothere.yaml" -- "$PVAPCONFIG" -c nothere.yaml
printf '# nothing yet\n' >empty.yaml
run "no entries: nothing to do" 0 "No AP configuration entries in config file 'empty.yaml': Nothing to do." -- \
	"$PVAPCONFIG" -c empty.yaml
printf -- '- mode: ep11\n  name: nothere\n  mkvp: %s\n' "$MK1" >nosecret.yaml
run "an entry without its UV secret" 1 "Secret id '$(printf nothere | sha256sum | cut -d' ' -f1)' of AP config entry #1 'nothere' is not in the UV's list" -- \
	"$PVAPCONFIG" -c nosecret.yaml
printf -- '- mode: ep11\n  name: retr\n  mkvp: %s\n' "$MK1" >retr.yaml
run "a retrievable secret is no association secret" 1 "is not in the UV's list of association secrets" -- \
	"$PVAPCONFIG" -c retr.yaml
run "pvapconfig: default /etc/pvapconfig.yaml" 1 "/etc/pvapconfig.yaml" -- \
	env PVKIT_PVAPCONFIG_LOCK="$tmp/other.lock" "$PVAPCONFIG"

# ---- the lock file ----

echo $$ >"$PVKIT_PVAPCONFIG_LOCK"
run "lock: another instance runs" 1 "another pvapconfig (PID $$) is running" -- "$PVAPCONFIG" -c two.yaml
sh -c 'echo $$' >"$PVKIT_PVAPCONFIG_LOCK"
run "lock: a stale lock file is explained" 1 "is not running: a leftover of a pvapconfig that ended abnormally" -- \
	"$PVAPCONFIG" -c two.yaml
check "lock: a stale file is left for the administrator" test -e "$PVKIT_PVAPCONFIG_LOCK"
rm -f "$PVKIT_PVAPCONFIG_LOCK"
run "lock: removed, runs again" 0 "" -- "$PVAPCONFIG" -c two.yaml

# ---- chzcrypt: seed 000 chapter 9 by hand ----

run "pvapconfig --unbind (start over)" 0 "" -- "$PVAPCONFIG" --unbind
run "chzcrypt --se-bind (accelerator)" 0 "Queue device 04.0042 successful bound." -- "$CHZCRYPT" -V --se-bind 04.0042
state_is 04.0042 usable
run "chzcrypt --se-unbind (accelerator)" 0 "" -- "$CHZCRYPT" --se-unbind 04.0042
state_is 04.0042 unbound
run "chzcrypt --se-bind (EP11)" 0 "" -- "$CHZCRYPT" --se-bind 05.002b
state_is 05.002b bound
check "the MKVP is readable once bound" grep -q "WK CUR: valid 0x$MK1" "$SYS/bus/ap/devices/05.002b/mkvps"
run "chzcrypt --se-bind of a bound queue" 1 "Error - Queue device 05.002b is NOT in 'unbound' state (state 'bound' found)." -- \
	"$CHZCRYPT" --se-bind 05.002b
run "chzcrypt --se-associate" 0 "Queue device 05.002b successful associated with index 0." -- \
	"$CHZCRYPT" -V --se-associate 0 05.002b
state_is 05.002b usable
assoc_is 05.002b "associated 0"
run "chzcrypt --se-associate of an associated queue" 1 "is NOT in 'unassociated' state (state 'associated 0' found)" -- \
	"$CHZCRYPT" --se-associate 1 05.002b
run "chzcrypt --se-associate of an unbound queue" 1 "Error - Failure associating queue device 03.002b (state 'unassociated' found)." -- \
	"$CHZCRYPT" --se-associate 0 03.002b
has "chzcrypt: the hint" "the queue is not bound"
run "chzcrypt --se-bind 03.002b" 0 "" -- "$CHZCRYPT" --se-bind 03.002b
run "chzcrypt --se-associate: a retrievable secret's index" 1 "Failure associating queue device 03.002b" -- \
	"$CHZCRYPT" --se-associate 2 03.002b
has "chzcrypt: the hint names the secret list" "association secret of this guest"
grep -q "03.002b: se_associate <- '2': refused: UV secret 2 is no association secret" "$GDIR/log" &&
	pass "uvsim log: why" || fail "uvsim log lacks the refusal"
run "chzcrypt --se-associate: an index not in the UV" 1 "Failure associating" -- "$CHZCRYPT" --se-associate 0x1f 03.002b
run "chzcrypt --se-associate 0x1 (hex index)" 0 "" -- "$CHZCRYPT" --se-associate 0x1 03.002b
assoc_is 03.002b "associated 1"
run "chzcrypt --se-bind 03.0031" 0 "" -- "$CHZCRYPT" --se-bind 03.0031
run "one association secret on two queues of one adapter: refused" 1 "Failure associating queue device 03.0031" -- \
	"$CHZCRYPT" --se-associate 1 03.0031
grep -q "in use on queue 03.002b of the same adapter" "$GDIR/log" &&
	pass "uvsim log: the firmware rule" || fail "uvsim log lacks the firmware rule"
state_is 03.0031 bound
run "chzcrypt --se-unbind" 0 "Queue device 03.002b successful unbound." -- "$CHZCRYPT" -V --se-unbind 03.002b
assoc_is 03.002b unassociated
run "chzcrypt --se_associate (underscore)" 0 "" -- "$CHZCRYPT" --se_associate 1 03.0031
assoc_is 03.0031 "associated 1"
run "chzcrypt: the guide's '--se-unbind 0 28.0014' form" 1 "Error - Can't parse queue device '0' as xy.abcd." -- \
	"$CHZCRYPT" --se-unbind 0 03.0031
run "chzcrypt: no such queue" 1 "Error - Queue device 0a.0001 does not exist." -- "$CHZCRYPT" --se-bind 0a.0001
run "chzcrypt: index out of range" 1 "Error - Association index needs to be in range [0...65535]." -- \
	"$CHZCRYPT" --se-associate 70000 03.0031
run "chzcrypt: index not a number" 1 "Can't parse association index 'x'" -- "$CHZCRYPT" --se-associate x 03.0031
run "chzcrypt: no queue given" 1 "Error - The --se-bind needs a queue device given." -- "$CHZCRYPT" --se-bind
run "chzcrypt: no action" 1 "Error - missing argument." -- "$CHZCRYPT"
run "chzcrypt: other options are not pvkit's" 1 "not part of pvkit's chzcrypt" -- "$CHZCRYPT" -e 03

# ---- host actions: illicit queues, resets, offline queues ----

run "uvsim ap illicit" 0 "queue 04.0005 is illicit" -- "${U[@]}" ap illicit g 04.0005
state_is 04.0005 illicit
run "chzcrypt --se-bind of an illicit queue" 1 "Error - Failure binding queue device 04.0005 (state 'unbound' found)." -- \
	"$CHZCRYPT" --se-bind 04.0005
run "pvapconfig skips the illicit queue" 0 "APQN 04.0005 is illicit for this guest: skipped." -- "$PVAPCONFIG" -c accel-only.yaml
state_is 04.0042 usable
run "uvsim ap reset: every queue unbound" 0 "all queues reset" -- "${U[@]}" ap reset g
for q in 03.0031 04.0005 04.0042 05.002b; do state_is $q unbound; done
assoc_is 03.0031 unassociated
run "pvapconfig after the host reset" 0 "" -- "$PVAPCONFIG" --strict -c ex3-fixed.yaml
assoc_is 05.002b "associated 1"
run "uvsim ap reset of one queue" 0 "queue 05.002b reset" -- "${U[@]}" ap reset g 05.002b
assoc_is 05.002b unassociated
assoc_is 03.002b "associated 1"
run "uvsim ap online 0" 0 "" -- "${U[@]}" ap online g 04.0005 0
run "lszcrypt: offline" 0 "" -- "$LSZCRYPT" 04.0005
check "lszcrypt 04.0005: offline" grep -qE '^04\.0005 +CEX8A Accelerator offline' out
run "pvapconfig ignores the offline queue" 0 "" -- "$PVAPCONFIG" -c accel-only.yaml
state_is 04.0042 usable
state_is 04.0005 unbound
run "uvsim ap: unknown queue" 2 "no queue 09.0001" -- "${U[@]}" ap illicit g 09.0001
run "uvsim ap: usage" 2 "usage: uvsim ap" -- "${U[@]}" ap frobnicate g
run "uvsim ap: unknown guest" 2 "no guest" -- "${U[@]}" ap reset nosuch

# ---- lszcrypt ----

run "lszcrypt -s: no queue bound, no serial number" 0 "" -- "$LSZCRYPT" -s
check "lszcrypt -s: '-'" grep -qE '^03 +CEX8P EP11-Coproc online +- *$' out
run "chzcrypt --se-bind 03.0031 (the adapter answers)" 0 "" -- "$CHZCRYPT" --se-bind 03.0031
run "lszcrypt -s: serial numbers (first 8 characters)" 0 "93AADFK7" -- "$LSZCRYPT" -s
run "lszcrypt -c card" 0 "EP11 Secure Key" -- "$LSZCRYPT" -c 3
run "lszcrypt -c accelerator card" 0 "RSA 4K Clear Key" -- "$LSZCRYPT" -c 0x04
run "lszcrypt --ep11only --queueonly" 0 "05.002b" -- "$LSZCRYPT" --ep11only --queueonly
hasnt "lszcrypt --ep11only: no accelerator" "CEX8A"
hasnt "lszcrypt --queueonly: no card rows" "cex4card"
run "lszcrypt -V 04 06.0011" 0 "06.0011  CEX7A Accelerator online" -- "$LSZCRYPT" -V 04 06.0011
has "lszcrypt 04: its queues" "04.0042  CEX8A"
check "lszcrypt 04 06.0011: no other card" test "$(grep -c '^0[35]' out)" -eq 0
run "lszcrypt .002b: a card lacks the domain" 1 "No queue devices with given domain value found." -- "$LSZCRYPT" .002b
run "lszcrypt: a queue that does not exist" 1 "does not exist" -- "$LSZCRYPT" -c 03.0099
run "lszcrypt --bus is not pvkit's" 1 "not part of pvkit's lszcrypt" -- "$LSZCRYPT" -b

# ---- no APSB, no AP bus ----

run "boot a guest whose AP bus lacks APSB" 0 "" -- \
	"${U[@]}" boot --host z16 --id nosb --ap features=APSC:APXA --ap card=03,type=CEX8A,domains=1 se.img
(
	eval "$("${U[@]}" env nosb)"
	run "pvapconfig: no APSB" 1 "Missing AP bus feature APSB" -- "$PVAPCONFIG" -c accel-only.yaml
	run "chzcrypt: no APSB" 1 "Error - AP bus: SE bind support is not available." -- "$CHZCRYPT" --se-bind 03.0001
	run "lszcrypt -V: no SESTAT without APSB" 0 "" -- "$LSZCRYPT" -V
	hasnt "lszcrypt -V: no SESTAT" "SESTAT"
	run "lszcrypt .0001: that domain of every card" 0 "03.0001  CEX8A" -- "$LSZCRYPT" .0001
	echo "$passes $fails" >counts
)
read -r passes fails <counts
run "boot a guest without adapters" 0 "" -- "${U[@]}" boot --host z16 --id noap se.img
(
	eval "$("${U[@]}" env noap)"
	run "pvapconfig: no AP bus" 1 "AP bus support missing" -- "$PVAPCONFIG" -c accel-only.yaml
	run "lszcrypt: no AP bus" 1 "Crypto device driver not available." -- "$LSZCRYPT"
	run "chzcrypt: no AP bus" 1 "Crypto device driver not available." -- "$CHZCRYPT" --se-bind 03.0001
	echo "$passes $fails" >counts
)
read -r passes fails <counts
run "uvsim ap: a guest without AP bus" 2 "no simulated AP bus" -- "${U[@]}" ap reset noap
run "not an SE guest" 1 "this is not a SE guest" -- \
	env PVKIT_SYSFS_ROOT="$tmp/fake" sh -c "mkdir -p $tmp/fake/bus/ap $tmp/fake/firmware/uv && echo APSB >$tmp/fake/bus/ap/features && echo 0 >$tmp/fake/firmware/uv/prot_virt_guest && exec $PVAPCONFIG -c two.yaml"

# ---- options, man pages ----

run "pvapconfig --version" 0 "pvapconfig version 0." -- "$PVAPCONFIG" --version
run "pvapconfig -V" 0 "pvapconfig version 0." -- "$PVAPCONFIG" -V
run "pvapconfig: unknown option" 2 "" -- "$PVAPCONFIG" --frobnicate
for cmd in pvapconfig chzcrypt lszcrypt; do
	man=$SRC/man/$cmd.1
	[ -f "$man" ] || man=$SRC/man/$cmd.8
	bin=$PVAPCONFIG
	[ $cmd = chzcrypt ] && bin=$CHZCRYPT
	[ $cmd = lszcrypt ] && bin=$LSZCRYPT
	if [ ! -f "$man" ]; then
		fail "$cmd: no man page $man"
		continue
	fi
	"$bin" --help >help.txt 2>&1 || fail "$cmd --help"
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$man" >man.txt
	missing=
	for o in $(grep -oE -- '(^|[ ,])--?[a-zA-Z][a-z0-9_-]*' help.txt | sed 's/^[ ,]*//' | sort -u); do
		grep -qE -- "(^|[^a-zA-Z0-9-])$o([^a-zA-Z0-9-]|\$)" man.txt || missing="$missing $o"
	done
	if [ -z "$missing" ]; then pass "$cmd.1 documents every option of --help"; else fail "$cmd.1 lacks:$missing"; fi
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "\.SH \"\?$s\"\?" "$man" || fail "$cmd.1: no section $s"
	done
done

finish
