#!/usr/bin/env bash
# Faults an operator or an attacker causes (issue 9): outputs that cannot be written, a
# failure after an earlier run's outputs exist, signals at random points, an output file
# created while a command runs, device and FIFO outputs, inputs given as pipes, bad
# host-key hash files, inconsistent signing keys, a request asking for a measurement the UV
# does not make. After each: the documented exit code, one error line naming the file, no
# partial output, no earlier output lost, no temp file left (except after SIGKILL, and the
# next run removes that).
#
# Usage: test_faults.sh PVIMG PVATTEST PVSECRET PVEXTRACT-HDR UVSIM PVKIT-TESTPKI
set -u

PVIMG=$(realpath -s "$1")
GENPROTIMG=$(dirname "$PVIMG")/genprotimg
PVATTEST=$(realpath "$2")
PVSECRET=$(realpath "$3")
EXTRACT=$(realpath "$4")
UVSIM=$(realpath "$5")
TESTPKI=$(realpath "$6")
T=60
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
uvsim_tmp faults

# temps_of FILE: the temp files of FILE that exist (none: prints nothing); FILE.XXXXXX was
# the naming before issue 9. (A SIGKILL inside a commit may keep a replaced file as
# FILE.pvkit-old-XXXXXX on purpose: that is earlier output, not a temp file.)
temps_of() { compgen -G "$1.pvkit-tmp-*" || true; compgen -G "$1.??????" || true; }
# no_temps NAME FILE...: none of FILE's temp files exists
no_temps() {
	local name=$1 f left=
	shift
	for f in "$@"; do left+=$(temps_of "$f"); done
	[ -z "$left" ] && pass "$name: no temp file left" || fail "$name: left: $left"
}
# same NAME FILE SUM: FILE still has SHA-256 SUM
same() { [ "$(sha256sum <"$2")" = "$3" ] && pass "$1" || fail "$1: $2 changed or gone"; }
sum() { sha256sum <"$1"; }

uvsim() { timeout "$T" "$UVSIM" --state "$S" "$@"; }
run "uvsim init" 0 "" -- "$UVSIM" --state "$S" init || exit 1
run "uvsim host new z16" 0 "" -- "$UVSIM" --state "$S" host new z16 || exit 1
HKD=$(uvsim host hkd z16)
read -r -a VERIFY <<<"$(uvsim cert-opts)"
fake_kernel vmlinuz
head -c 100000 /dev/urandom >initrd
echo "root=/dev/ram0" >parmfile
CREATE=(-i vmlinuz -r initrd -p parmfile -k "$HKD" "${VERIFY[@]}")
run "pvimg create" 0 "" -- "$PVIMG" create "${CREATE[@]}" -o se.img || exit 1
run "pvextract-hdr" 0 "" -- "$EXTRACT" -o se.hdr se.img || exit 1

######## #1: pvimg test --key-hashes with a bad file: one error, exit 1 (was a double free) ########
: >empty.txt
printf '%064x\n' 1 2 3 >three.txt
{ for i in $(seq 20); do printf '%064x\n' "$i"; done; echo nothex; } >badline.txt
for f in empty.txt /dev/null three.txt badline.txt; do
	run_error "pvimg test --key-hashes $f" 1 "$f" -- "$PVIMG" test --key-hashes="$f" se.img
done

######## #5: a failed pvattest create keeps the earlier request and ARPK ########
run "pvattest create" 0 "" -- "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o att.req -a att.arpk
req_sum=$(sum att.req) key_sum=$(sum att.arpk)
mkdir adir
for bad in adir nodir/x.req; do
	run_error "pvattest create -o $bad (cannot be written)" 1 "$bad" -- \
		"$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o "$bad" -a att.arpk
	same "pvattest create -o $bad: the earlier ARPK is kept" att.arpk "$key_sum"
	run_error "pvattest create -a $bad (cannot be written)" 1 "$bad" -- \
		"$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o att.req -a "$bad"
	same "pvattest create -a $bad: the earlier request is kept" att.req "$req_sum"
done
no_temps "pvattest create failures" att.req att.arpk adir

######## #4: pvsecret create writes all of its outputs or none ########
SCREATE=(create -k "$HKD" "${VERIFY[@]}" --hdr se.hdr)
for bad in adir nodir/x.bin; do
	rm -f sec.req sec.yaml
	run_error "pvsecret create association --output-secret $bad" 1 "$bad" -- \
		"$PVSECRET" "${SCREATE[@]}" -o sec.req association sec --output-secret "$bad"
	[ ! -e sec.req ] && [ ! -e sec.yaml ] && pass "--output-secret $bad: no request, no NAME.yaml" ||
		fail "--output-secret $bad: outputs left: $(ls sec.* 2>/dev/null)"
done
run "pvsecret create association (all outputs)" 0 "" -- \
	"$PVSECRET" "${SCREATE[@]}" -o sec.req association sec --output-secret sec.bin
sums="$(sum sec.req) $(sum sec.yaml) $(sum sec.bin)"
run_error "pvsecret create: a failure keeps the earlier outputs" 1 "adir" -- \
	"$PVSECRET" "${SCREATE[@]}" -o sec.req association sec --output-secret adir
[ "$(sum sec.req) $(sum sec.yaml) $(sum sec.bin)" = "$sums" ] &&
	pass "earlier request, NAME.yaml and secret kept" || fail "earlier outputs changed"
# --toc-policy is committed with the request: a failed create adds no tag to it.
run "pvsecret create --toc-policy" 0 "" -- \
	"$PVSECRET" "${SCREATE[@]}" -o t1.req --toc-policy toc.txt association t1
run_error "pvsecret create --toc-policy, output fails" 1 "adir" -- \
	"$PVSECRET" "${SCREATE[@]}" -o t2.req --toc-policy toc.txt association t2 --output-secret adir
[ "$(wc -l <toc.txt)" = 1 ] && pass "a failed create adds no tag to the table of contents" ||
	fail "toc.txt: $(wc -l <toc.txt) lines"
run "pvsecret create --toc-policy again" 0 "" -- \
	"$PVSECRET" "${SCREATE[@]}" -o t3.req --toc-policy toc.txt association t3
[ "$(wc -l <toc.txt)" = 2 ] && pass "the table of contents grows by one line" ||
	fail "toc.txt: $(wc -l <toc.txt) lines"
no_temps "pvsecret create failures" sec.req sec.yaml sec.bin toc.txt adir

######## #7: an output created while pvimg create runs is not replaced ########
head -c $((96 << 20)) /dev/zero >big.initrd
rm -f race.img
"$PVIMG" create -i vmlinuz -r big.initrd -p parmfile -k "$HKD" "${VERIFY[@]}" -o race.img \
	>race.out 2>&1 &
pid=$!
for _ in $(seq 200); do [ -n "$(temps_of race.img)" ] && break; sleep 0.02; done
echo precious >race.img
wait "$pid"
rc=$?
[ "$rc" = 1 ] && grep -q "race.img: output file exists" race.out &&
	pass "an output created meanwhile: exit 1, named" || fail "race: exit $rc: $(cat race.out)"
[ "$(cat race.img)" = precious ] && pass "the file created meanwhile is kept" ||
	fail "the file created meanwhile was replaced"
no_temps "race" race.img

######## #17: device and FIFO outputs are written into, never replaced ########
# fifo_out NAME FILE -- COMMAND...: COMMAND writes FILE, a FIFO read by cat into FILE.got
fifo_out() {
	local name=$1 f=$2 rc
	shift 3
	rm -f "$f" "$f.got"
	mkfifo "$f"
	timeout "$T" cat "$f" >"$f.got" &
	timeout "$T" "$@" >out 2>&1
	rc=$?
	wait $!
	[ "$rc" = 0 ] && [ -p "$f" ] && [ -s "$f.got" ] && pass "$name: a FIFO output is written into" ||
		{ fail "$name: exit $rc, FIFO $( [ -p "$f" ] && echo kept || echo replaced)"; cat out; }
}
fifo_out "pvimg create --overwrite" img.fifo -- "$PVIMG" create "${CREATE[@]}" --overwrite -o img.fifo
run "pvimg info of what went through the FIFO" 0 "" -- "$PVIMG" info img.fifo.got
fifo_out "genprotimg" gen.fifo -- "$GENPROTIMG" "${CREATE[@]}" -o gen.fifo
fifo_out "pvextract-hdr" hdr.fifo -- "$EXTRACT" -o hdr.fifo se.img
cmp -s hdr.fifo.got se.hdr && pass "pvextract-hdr: the header went through the FIFO" || fail "header differs"
fifo_out "pvattest create -o FIFO" req.fifo -- "$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o req.fifo -a f.arpk
fifo_out "pvsecret create -o FIFO" sreq.fifo -- "$PVSECRET" "${SCREATE[@]}" -o sreq.fifo meta
no_temps "FIFO outputs" img.fifo gen.fifo hdr.fifo req.fifo sreq.fifo
if [ "$(id -u)" = 0 ] && mknod nulldev c 1 3 2>/dev/null && echo x >nulldev 2>/dev/null; then
	for cmd in "$PVIMG create ${CREATE[*]} --overwrite -o nulldev" "$GENPROTIMG ${CREATE[*]} -o nulldev" \
		"$PVATTEST create -k $HKD ${VERIFY[*]} -o nulldev -a n.arpk" "$EXTRACT -o nulldev se.img"; do
		# shellcheck disable=SC2086 # the words of cmd are its arguments (no spaces in them)
		run "${cmd##*/} (a character device)" 0 "" -- $cmd
		[ -c nulldev ] && pass "the character device is still one" ||
			{ fail "the character device was replaced"; rm -f nulldev; mknod nulldev c 1 3; }
	done
else
	echo "ok - character-device outputs skipped (needs root and a dev-capable $tmp)"
fi

######## #12: every input is read once: pipes and FIFOs work ########
mkfifo ibm.fifo
CA_ARGS=()
for ((i = 0; i < ${#VERIFY[@]}; i++)); do
	if [ "${VERIFY[$i]}" = --cert ]; then certfile=${VERIFY[$((i + 1))]}; i=$((i + 1)); continue; fi
	CA_ARGS+=("${VERIFY[$i]}")
done
certs=()
for ((i = 0; i < ${#VERIFY[@]}; i++)); do
	[ "${VERIFY[$i]}" = --cert ] && certs+=("${VERIFY[$((i + 1))]}")
done
# Every --cert given as a process substitution, the first one also as a named FIFO.
first=${certs[0]}
subst=()
for c in "${certs[@]:1}"; do subst+=(--cert "/dev/fd/3$((${#subst[@]} / 2))"); done
( timeout "$T" cat "$first" >ibm.fifo & )
run "pvimg create --cert FIFO --cert <(...)" 0 "" -- bash -c '
	exec 30<"$1" 31<"$2" 32<"${3:-/dev/null}"
	shift 3
	exec "$@"' _ "${certs[1]}" "${certs[2]:-/dev/null}" "${certs[3]:-/dev/null}" \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile -k "$HKD" --cert ibm.fifo "${subst[@]}" \
	"${CA_ARGS[@]}" -o piped.img
run "pvimg create -k <(cat HKD)" 0 "" -- bash -c 'h=$1; shift; "$@" -k <(cat "$h")' _ "$HKD" \
	"$PVIMG" create -i vmlinuz -r initrd -p parmfile "${VERIFY[@]}" --overwrite -o piped.img
unset certfile
# The image and header readers take pipes: each reads its input once, in order.
run "pvimg info <(cat IMAGE)" 0 "" -- bash -c '"$1" info --format json <(cat "$2")' _ "$PVIMG" se.img
run "pvimg info <(cat HEADER)" 0 "" -- bash -c '"$1" info --format json <(cat "$2")' _ "$PVIMG" se.hdr
rm -f piped.hdr
run "pvextract-hdr <(cat IMAGE)" 0 "" -- bash -c '"$1" -o piped.hdr <(cat "$2")' _ "$EXTRACT" se.img
cmp -s piped.hdr se.hdr && pass "the header extracted from a pipe is the header" || fail "piped header differs"
run "pvimg test -k <(...) <(cat IMAGE)" 0 "is included" -- \
	bash -c '"$1" test -k <(cat "$2") <(cat "$3")' _ "$PVIMG" "$HKD" se.img
run "pvsecret create --hdr <(cat IMAGE)" 0 "" -- bash -c 'p=$1 i=$2; shift 2; "$p" "$@" --hdr <(cat "$i")' _ \
	"$PVSECRET" se.img create -k "$HKD" "${VERIFY[@]}" -o piped.req meta
run_error "pvimg info DIRECTORY" 1 "adir: cannot read: is a directory" -- "$PVIMG" info adir

######## #13: an inconsistent signing key is refused ########
openssl ecparam -name secp521r1 -genkey -noout -out k1.pem 2>/dev/null
openssl ecparam -name secp521r1 -genkey -noout -out k2.pem 2>/dev/null
openssl ec -in k1.pem -outform DER -out k1.der 2>/dev/null
openssl ec -in k2.pem -outform DER -out k2.der 2>/dev/null
# SEC1 DER ends with the public point (133 bytes for P-521): take k2's
n=$(stat -c %s k1.der)
{ head -c $((n - 133)) k1.der; tail -c 133 k2.der; } >mixed.der
echo "user data" >ud.txt
rm -f signed.req
run_error "pvsecret create --user-sign-key (private part of another key)" 1 "mixed.der: inconsistent private key" -- \
	"$PVSECRET" "${SCREATE[@]}" -o signed.req --user-data ud.txt --user-sign-key mixed.der association s
[ ! -e signed.req ] && pass "no request signed with it" || fail "a request was written"
run "pvsecret create --user-sign-key (a sound key)" 0 "" -- \
	"$PVSECRET" "${SCREATE[@]}" -o signed.req --user-data ud.txt --user-sign-key k1.der association s

######## #14: pvattest perform refuses a measurement size other than 64 ########
run "uvsim boot g1" 0 "" -- "$UVSIM" --state "$S" boot --host z16 --id g1 se.img || exit 1
python3 - att.req meas128.req <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into(">I", b, 0x18 + 8, 128)  # the measurement entry's size (entries at 0x18)
open(sys.argv[2], "wb").write(b)
PY
( eval "$(uvsim env g1)"
  run_error "pvattest perform: measurement size 128" 1 "meas128.req: measurement size 128" -- \
	"$PVATTEST" perform meas128.req meas128.resp
  [ ! -e meas128.resp ] && pass "no response written" || fail "a response was written"
  run "pvattest perform (64)" 0 "" -- "$PVATTEST" perform att.req att.resp
  echo "$passes $fails" >sub.counts )
read -r p f <sub.counts && passes=$((passes + p - passes)) && fails=$((fails + f - fails))
run "pvattest verify" 0 "" -- "$PVATTEST" verify -i att.resp --hdr se.hdr -a att.arpk

######## #6: signals at random points ########
head -c $((48 << 20)) /dev/urandom >mid.initrd
run "pvimg create (the earlier image)" 0 "" -- \
	"$PVIMG" create -i vmlinuz -r mid.initrd -p parmfile -k "$HKD" "${VERIFY[@]}" -o sig.img
img_sum=$(sum sig.img)
# kill_at CMD-ARRAY-NAME SIG MS: start the command, send SIG after MS milliseconds, wait;
# prints the exit status
kill_at() {
	local -n cmdref=$1
	# A kill may land in LeakSanitizer's exit-time check, which then reports that it could
	# not stop a thread: leaks of a killed process mean nothing, so none is looked for.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "${cmdref[@]}" >/dev/null 2>&1 &
	local pid=$!
	sleep "$(($3 / 1000)).$(printf %03d $(($3 % 1000)))"
	kill "-$2" "$pid" 2>/dev/null
	wait "$pid"
	echo $?
}
IMG_CMD=("$PVIMG" create -i vmlinuz -r mid.initrd -p parmfile -k "$HKD" "${VERIFY[@]}" --overwrite -o sig.img)
# millis CMD-ARRAY-NAME: how long one run takes here (the kills land within it)
millis() {
	local -n c=$1
	local t0 t1
	t0=$(date +%s%N)
	"${c[@]}" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000 + 1))
}
img_ms=$(millis IMG_CMD)
img_sum=$(sum sig.img)
echo "# pvimg create of 48 MiB: $img_ms ms"
for sig in INT TERM HUP INT TERM HUP KILL KILL; do
	ms=$((RANDOM % img_ms))
	rc=$(kill_at IMG_CMD "$sig" "$ms")
	new=$(sum sig.img)
	if [ "$rc" = 0 ]; then
		img_sum=$new  # it finished before the signal: a whole new image
		run "pvimg info (finished before SIG$sig at ${ms} ms)" 0 "" -- "$PVIMG" info sig.img
	elif [ "$new" = "$img_sum" ]; then
		pass "pvimg create, SIG$sig at ${ms} ms: the earlier image is intact"
	else
		# Signals are held off while outputs are renamed: a new image is a whole one.
		run "pvimg create, SIG$sig at ${ms} ms: the image is whole" 0 "" -- "$PVIMG" info sig.img
		img_sum=$new
	fi
	if [ "$sig" != KILL ]; then
		no_temps "pvimg create, SIG$sig at ${ms} ms" sig.img
	fi
done
run "pvimg create after the kills" 0 "" -- "${IMG_CMD[@]}"
no_temps "the next run removed stale temp files" sig.img
# A SIGKILLed writer's temp file is removed by the next run.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "${IMG_CMD[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -n "$(temps_of sig.img)" ] && break; sleep 0.01; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null
stale=$(temps_of sig.img)
[ -n "$stale" ] && pass "SIGKILL leaves a temp file ($stale)" || fail "no temp file after SIGKILL"
"${IMG_CMD[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 500); do [ ! -e "$stale" ] && break; sleep 0.01; done
[ ! -e "$stale" ] && pass "the next run removed the dead writer's temp file" || fail "$stale still there"
wait "$pid"
# (That a live writer's temp file is kept is test_fileio's test_stale_temps: deterministic there.)
no_temps "after the runs" sig.img

# pvattest create and pvsecret create: the pair (or set) is old, or whole and new.
ATT_CMD=("$PVATTEST" create -k "$HKD" "${VERIFY[@]}" -o att.req -a att.arpk)
SEC_CMD=("$PVSECRET" "${SCREATE[@]}" -o sec.req association sec --output-secret sec.bin)
run "pvattest create" 0 "" -- "${ATT_CMD[@]}"
run "pvsecret create" 0 "" -- "${SEC_CMD[@]}"
att_ms=$(millis ATT_CMD)
echo "# pvattest create: $att_ms ms"
for round in $(seq 12); do
	sig=$(printf '%s\n' INT TERM HUP KILL | shuf -n 1)
	ms=$((RANDOM % att_ms))
	before="$(sum att.req) $(sum att.arpk)"
	rc=$(kill_at ATT_CMD "$sig" "$ms")
	after="$(sum att.req) $(sum att.arpk)"
	if [ "$after" = "$before" ] || { [ "$(sum att.req)" != "${before%% *}" ] &&
		[ "$(sum att.arpk)" != "${before##* }" ]; }; then
		pass "pvattest create, SIG$sig at ${ms} ms (exit $rc): request and ARPK belong together"
	else
		fail "pvattest create, SIG$sig at ${ms} ms: one of request and ARPK replaced"
	fi
	if [ "$sig" = KILL ]; then
		# the killed writer's temps stay until a run sweeps them: one that is not killed,
		# so that the next round's check sees only its own run's leftovers
		"${ATT_CMD[@]}" >/dev/null 2>&1
	fi
	no_temps "pvattest create, SIG$sig" att.req att.arpk
	before="$(sum sec.req) $(sum sec.yaml) $(sum sec.bin)"
	rc=$(kill_at SEC_CMD "$sig" "$ms")
	read -r a b c <<<"$(sum sec.req | cut -c1-64) $(sum sec.yaml | cut -c1-64) $(sum sec.bin | cut -c1-64)"
	read -r a0 b0 c0 <<<"$(echo "$before" | awk '{print $1, $3, $5}')"
	if { [ "$a" = "$a0" ] && [ "$b" = "$b0" ] && [ "$c" = "$c0" ]; } ||
		{ [ "$a" != "$a0" ] && [ "$c" != "$c0" ]; }; then
		pass "pvsecret create, SIG$sig at ${ms} ms (exit $rc): request and secret belong together"
	else
		fail "pvsecret create, SIG$sig at ${ms} ms: outputs of two runs mixed"
	fi
	[ "$sig" = KILL ] && "${SEC_CMD[@]}" >/dev/null 2>&1
	no_temps "pvsecret create, SIG$sig" sec.req sec.yaml sec.bin
done
run "pvattest create after the kills" 0 "" -- "${ATT_CMD[@]}"
run "pvsecret create after the kills" 0 "" -- "${SEC_CMD[@]}"
no_temps "after the kills" att.req att.arpk sec.req sec.yaml sec.bin

no_sanitizer_reports
finish
