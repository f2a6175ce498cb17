# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Helpers for the boot loader tests (bash). Sourced, not run.

# Meson's "skipped" exit code.
SKIP=77

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

file_size() {
	stat -c %s "$1"
}

# hex_bytes FILE OFFSET COUNT: the bytes as one lowercase hex string.
hex_bytes() {
	od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# is_zero FILE OFFSET COUNT
is_zero() {
	local h
	h=$(hex_bytes "$1" "$2" "$3")
	[ "${#h}" -eq $(($3 * 2)) ] && [ -z "${h//0/}" ]
}

# put_file IMAGE OFFSET FILE: write FILE into IMAGE at OFFSET (IMAGE grows as needed).
put_file() {
	dd if="$3" of="$1" bs=65536 seek="$2" oflag=seek_bytes conv=notrunc status=none
}

# put_bytes IMAGE OFFSET STRING: raw bytes, printf escapes allowed (\0, \xNN).
put_bytes() {
	# shellcheck disable=SC2059
	printf "$3" | dd of="$1" bs=65536 seek="$2" oflag=seek_bytes conv=notrunc status=none
}

# put_u64 IMAGE OFFSET VALUE: big-endian u64 (VALUE in shell arithmetic syntax).
put_u64() {
	local v=$(($3)) i esc=
	for i in 7 6 5 4 3 2 1 0; do
		esc="$esc\\x$(printf %02x $(((v >> (8 * i)) & 255)))"
	done
	put_bytes "$1" "$2" "$esc"
}

# fill IMAGE OFFSET COUNT BYTE: COUNT copies of BYTE (two hex digits).
fill() {
	head -c "$3" /dev/zero | tr '\0' "\\$(printf %03o "0x$4")" |
		dd of="$1" bs=65536 seek="$2" oflag=seek_bytes conv=notrunc status=none
}

find_qemu() {
	QEMU=${QEMU:-qemu-system-s390x}
	command -v "$QEMU" >/dev/null 2>&1 || {
		echo "SKIP: $QEMU not found"
		exit $SKIP
	}
}

# run_qemu DIR IMAGE SECONDS PATTERN [MONITOR-COMMAND...]
#
# Boots IMAGE like an SE image (loaded at 0, short PSW at 0) and waits until
# the console (DIR/console.log) matches the extended regex PATTERN, the guest
# stops in a disabled wait (QEMU pauses: -action panic=pause), QEMU ends or
# SECONDS pass. Then runs the monitor commands (output in DIR/monitor.log) and
# quits. The final disabled-wait PSW is in DIR/qemu.log (-d guest_errors).
# Returns 0 if PATTERN was seen. Extra QEMU arguments come from the array QEMU_EXTRA.
QEMU_EXTRA=()
run_qemu() {
	local dir=$1 image=$2 secs=$3 pattern=$4 qpid catpid i cmd
	shift 4
	rm -f "$dir/mon.in" "$dir/mon.out" "$dir/qemu.log"
	mkfifo "$dir/mon.in" "$dir/mon.out"
	: >"$dir/console.log"
	# Reader first: it waits for QEMU to open the FIFO, and sees EOF when QEMU exits.
	cat "$dir/mon.out" >"$dir/monitor.raw" &
	catpid=$!
	"$QEMU" -machine s390-ccw-virtio -cpu max -m 512 -nographic -no-reboot \
		-action panic=pause -monitor "pipe:$dir/mon" \
		-d guest_errors -D "$dir/qemu.log" "${QEMU_EXTRA[@]}" \
		-kernel "$image" </dev/null >"$dir/console.log" 2>"$dir/qemu.err" &
	qpid=$!
	exec 3<>"$dir/mon.in"	# read-write: never blocks, even if QEMU died
	for ((i = 0; i < secs * 10; i++)); do
		grep -Eq -- "$pattern" "$dir/console.log" && break
		grep -q 'PSW:' "$dir/qemu.log" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	# Let the loader reach its final wait after printing.
	sleep 0.2
	for cmd in "$@" quit; do
		printf '%s\n' "$cmd" >&3
	done
	for ((i = 0; i < 100; i++)); do
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	exec 3>&-
	kill "$catpid" 2>/dev/null || true
	wait "$catpid" 2>/dev/null || true
	# The monitor echoes input with terminal escapes; keep plain lines.
	tr -d '\r' <"$dir/monitor.raw" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"$dir/monitor.log"
	grep -Eq -- "$pattern" "$dir/console.log"
}

# mem_u64 DIR ADDRESS: the u64 at ADDRESS (0x%016x) from the "xp /Ngx" output in
# DIR/monitor.log, "" if no command read it.
mem_u64() {
	local want=$(($2)) line addr i v
	while IFS= read -r line; do
		[[ $line =~ ^([0-9a-f]{16}):((\ 0x[0-9a-f]{16})+) ]] || continue
		addr=$((16#${BASH_REMATCH[1]}))
		i=0
		for v in ${BASH_REMATCH[2]}; do
			if [ $((addr + 8 * i)) -eq "$want" ]; then
				printf '%s\n' "$v"
				return
			fi
			i=$((i + 1))
		done
	done <"$1/monitor.log"
}

# wait_psw DIR: the address of the disabled-wait PSW QEMU reported ("" if none).
wait_psw() {
	sed -n 's/^PSW: 0x[0-9a-f]* \(0x[0-9a-f]*\).*/\1/p' "$1/qemu.log" | tail -n1
}
