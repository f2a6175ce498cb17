#!/usr/bin/env bash
# uvsim's state under concurrent and interrupted commands (issue 9 #8, #9): parallel
# 'host new' of one name and of several, parallel 'boot' of one id and of several, parallel
# 'stop', boots killed at random points. Afterwards the state is consistent: every host's key
# matches its HKD, exactly one boot of an id wins, 'ls' lists exactly the live guests, no
# temp directory is left, and a killed boot's id can be booted again.
#
# Usage: test_uvsim_state.sh UVSIM PVIMG
set -u

UVSIM=$(realpath "$1")
PVIMG=$(realpath -s "$2")
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "openssl not found: skipped"; exit 77; }
uvsim_tmp uvsim-state
U=(timeout "$T" "$UVSIM" --state "$S")

# pub_of FILE KIND: the public key of a private key (key) or a certificate (crt), as PEM
pub_of() {
	if [ "$2" = key ]; then openssl pkey -in "$1" -pubout 2>/dev/null
	else openssl x509 -in "$1" -noout -pubkey 2>/dev/null; fi
}
# hosts_consistent: every host's host.key belongs to its hkd.crt
hosts_consistent() {
	local d bad=
	for d in "$S"/hosts/*/; do
		[ "$(pub_of "$d/host.key" key)" = "$(pub_of "$d/hkd.crt" crt)" ] || bad+=" $d"
	done
	[ -z "$bad" ] || { echo "    mismatch:$bad"; return 1; }
}
no_temp_dirs() { [ -z "$(find "$S" -name '.*.new-*' -print -quit)" ]; }

######## init and host new in parallel ########
for i in 1 2 3 4; do "${U[@]}" init >/dev/null 2>&1 & done
wait
check "4 parallel inits: one PKI" test -s "$S/pki/ibm.key" -a -s "$S/pki/ibm.crt"
for round in 1 2 3 4 5 6; do
	pids=()
	for i in 1 2 3 4 5 6; do
		"${U[@]}" host new "same$round" >"hn.$i" 2>&1 &
		pids+=($!)
	done
	wins=0
	for p in "${pids[@]}"; do wait "$p" && wins=$((wins + 1)); done
	[ "$wins" = 1 ] && pass "round $round: one of 6 parallel 'host new same$round' succeeds" ||
		fail "round $round: $wins of 6 succeeded"
done
grep -h "error" hn.* | sort -u | grep -q "exists already" && pass "the others say the host exists" ||
	fail "no 'exists already': $(cat hn.*)"
pids=()
for i in $(seq 8); do "${U[@]}" host new "h$i" >/dev/null 2>&1 & pids+=($!); done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check "8 parallel 'host new' of different names all succeed" test "$ok" = 8
check "every host key matches its HKD" hosts_consistent
check "no temp directory left" no_temp_dirs

######## boot ########
fake_kernel vmlinuz
head -c 50000 /dev/urandom >initrd
echo "root=/dev/ram0" >parmfile
run "pvimg create" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
	-k "$S/hosts/h1/hkd.crt" --no-verify -o se.img || exit 1
nlive() { "${U[@]}" ls | awk 'NR > 1 && $3 == "running"' | wc -l; }
for round in 1 2 3; do
	pids=()
	for i in 1 2 3 4 5; do "${U[@]}" boot --host h1 --id "one$round" se.img >/dev/null 2>&1 & pids+=($!); done
	wins=0
	for p in "${pids[@]}"; do wait "$p" && wins=$((wins + 1)); done
	[ "$wins" = 1 ] && pass "round $round: one of 5 parallel boots of id one$round succeeds" ||
		fail "round $round: $wins of 5 succeeded"
done
pids=()
for i in $(seq 6); do "${U[@]}" boot --host h1 --id "g$i" se.img >/dev/null 2>&1 & pids+=($!); done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check "6 parallel boots of different ids all succeed" test "$ok" = 6
check "ls lists the 9 running guests" test "$(nlive)" = 9
pids=()
for i in $(seq 6); do "${U[@]}" stop "g$i" >/dev/null 2>&1 & pids+=($!); done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check "6 parallel stops all succeed" test "$ok" = 6
check "ls lists the 3 left" test "$(nlive)" = 3
run "stop --all" 0 "" -- "${U[@]}" stop --all
check "no guest directory left" test -z "$(ls -A "$S/guests")"

######## boots killed at random points ########
# The last step of a boot takes a few ms; kill at random points over its whole run.
t0=$(date +%s%N)
"${U[@]}" boot --host h1 --id timing se.img >/dev/null 2>&1
t1=$(date +%s%N)
"${U[@]}" stop timing >/dev/null 2>&1
boot_ms=$(((t1 - t0) / 1000000 + 1))
echo "# uvsim boot: $boot_ms ms"
for round in $(seq 10); do
	sig=$(printf '%s\n' KILL KILL INT TERM | shuf -n 1)
	ms=$((RANDOM % boot_ms))
	# (no leak check in a process killed at a random point: see test_faults.sh)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$UVSIM" --state "$S" boot --host h1 --id k se.img >/dev/null 2>&1 &
	p=$!
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill "-$sig" "$p" 2>/dev/null
	wait "$p"
	rc=$?
	if [ "$rc" = 0 ]; then
		run "round $round (SIG$sig at ${ms} ms, finished): stop" 0 "" -- "${U[@]}" stop k
	else
		# Killed: either before its boot was complete (then nothing is listed) or after
		# (then the guest is there whole, with its endpoint running).
		"${U[@]}" ls >ls.out
		if grep -q '^k ' ls.out; then
			grep -qE '^k +h1 +running ' ls.out &&
				pass "round $round (SIG$sig at ${ms} ms, after the boot was complete): listed running" ||
				fail "round $round: a half-booted guest is listed: $(cat ls.out)"
			"${U[@]}" stop k >/dev/null 2>&1
		else
			pass "round $round (SIG$sig at ${ms} ms): ls does not list a half-booted guest"
		fi
	fi
	run "round $round: the id can be booted again" 0 "" -- "${U[@]}" boot --host h1 --id k se.img
	run "round $round: and stopped" 0 "" -- "${U[@]}" stop k
done
# A boot killed right after it claimed its id leaves its directory: every command copes.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	"$UVSIM" --state "$S" boot --host h1 --id z se.img >/dev/null 2>&1 &
p=$!
for _ in $(seq 500); do [ -e "$S/guests/z" ] && break; sleep 0.001; done
kill -KILL "$p" 2>/dev/null
wait "$p"
if [ -e "$S/guests/z" ] && [ ! -e "$S/guests/z/guest.json" ] || [ -e "$S/guests/z/.booting" ]; then
	"${U[@]}" ls >ls.out
	grep -q '^z ' ls.out && fail "ls lists a dead boot" || pass "ls ignores a dead boot's directory"
	run "stop removes a dead boot's directory" 0 "" -- "${U[@]}" stop z
	check "it is gone" test ! -e "$S/guests/z"
else
	echo "ok - (the boot finished before the kill; nothing half-made to check)"
	"${U[@]}" stop z >/dev/null 2>&1
fi
mkdir -p "$S/guests/empty"  # as an interrupted boot before issue 9 left it
run "boot --id of an empty leftover directory" 0 "" -- "${U[@]}" boot --host h1 --id empty se.img
run "stop --all at the end" 0 "" -- "${U[@]}" stop --all
check "no guest directory left at the end" test -z "$(ls -A "$S/guests")"
check "no temp directory left at the end" no_temp_dirs

no_sanitizer_reports
finish
