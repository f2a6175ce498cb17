#!/usr/bin/env bash
# A guest's uvsim endpoint under connections that hold it (issue 9 #3): with 256 idle or
# slow connections open, and with more than it has slots, the guest's own tools are still
# answered within 1 s; 64 clients opening a connection per request see no failure. Attestations
# of one guest run in parallel (issue 12): 8 clients on kept-open connections all get the same
# measurement while a lock request, which changes the state, goes through between them.
#
# Usage: test_uvsim_endpoint.sh UVSIM PVIMG UV_HAMMER PVATTEST
set -u

UVSIM=$(realpath "$1")
PVIMG=$(realpath -s "$2")
HAMMER=$(realpath "$3")
PVATTEST=$(realpath "$4")
T=120
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

uvsim_tmp uvsim-endpoint
U=(timeout 60 "$UVSIM" --state "$S")

run "uvsim init" 0 "" -- "${U[@]}" init || exit 1
run "uvsim host new" 0 "" -- "${U[@]}" host new h || exit 1
fake_kernel vmlinuz
echo "root=/dev/ram0" >parmfile
run "pvimg create" 0 "" -- "$PVIMG" create -i vmlinuz -p parmfile -k "$S/hosts/h/hkd.crt" \
	--no-verify -o se.img || exit 1
run "boot" 0 "" -- "${U[@]}" boot --host h --id g se.img || exit 1
SOCK=$S/guests/g/uv.sock

# field NAME: the number after NAME in the last hammer output
field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" out; }
# under_ms MS LIMIT: MS < LIMIT
under_ms() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

run "256 connections held (192 idle, 64 trickling a request)" 0 "held" -- \
	"$HAMMER" hold "$SOCK" 192 64 4
echo "# $(cat out)"
[ "$(field failed)" = 0 ] && pass "no request failed while 256 connections were held" ||
	fail "requests failed: $(cat out)"
under_ms "$(field max_ms)" 1000 && pass "every request answered within 1 s ($(field max_ms) ms)" ||
	fail "slowest answer $(field max_ms) ms"
[ "$(field held)" = 256 ] && pass "the held connections were not dropped (room for them)" ||
	fail "only $(field held) of 256 held connections stayed open"

# More connections than slots (1024): the oldest waiting ones make room, the tools get through.
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1300 ]; then
	run "1100 idle connections held" 0 "held" -- "$HAMMER" hold "$SOCK" 1100 0 3
	echo "# $(cat out)"
	[ "$(field failed)" = 0 ] && pass "no request failed with more connections than slots" ||
		fail "requests failed: $(cat out)"
	under_ms "$(field max_ms)" 1000 && pass "answered within 1 s with every slot taken ($(field max_ms) ms)" ||
		fail "slowest answer $(field max_ms) ms"
else
	echo "ok - more connections than slots: skipped (hard limit of open files $(ulimit -Hn))"
fi

run "64 clients, a connection per request" 0 "requests" -- "$HAMMER" churn "$SOCK" 64 3
echo "# $(cat out)"
[ "$(field failed)" = 0 ] && [ "$(field requests)" -gt 0 ] &&
	pass "no failure under 64 clients opening a connection per request" || fail "failures: $(cat out)"

run "pvattest create" 0 "" -- "$PVATTEST" create -k "$S/hosts/h/hkd.crt" --no-verify \
	-o arcb.bin -a arpk.key || exit 1
run "8 clients attesting on kept-open connections, a lock halfway" 0 "requests" -- \
	"$HAMMER" attest "$SOCK" arcb.bin 8 3 lock
echo "# $(tr '\n' ' ' <out)"
[ "$(field failed)" = 0 ] && [ "$(field requests)" -gt 8 ] &&
	pass "parallel attestations: every answer the same measurement, none failed" ||
	fail "parallel attestations: $(cat out)"
grep -q "lock rc 0x0001 then 0x0102" out && pass "the lock went through the attestations, once" ||
	fail "lock during attestations: $(cat out)"
run "the guest still answers" 0 "requests" -- "$HAMMER" churn "$SOCK" 1 1
run "stop" 0 "" -- "${U[@]}" stop g
no_sanitizer_reports
finish
