#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An image is on disk when pvimg create returns (issue 12): traced with strace, the output is
# flushed while it is written (fdatasync during the build, so the commit's sync is short), and
# after its last write it is fsynced before the rename that publishes it, and the directory
# after that. A failed flush, which the kernel reports only once, fails the command and leaves
# no image.
#
# Usage: test_durable.sh PVKIT-TESTPKI PVIMG FAIL-SYNC-SHIM
set -u

TESTPKI=$(realpath "$1")
PVIMG=$(realpath "$2")
SHIM=$(realpath "$3")
T=120
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { echo "strace not found: skipped"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
strace -o /dev/null true 2>/dev/null || { echo "strace cannot trace here (ptrace denied): skipped"; exit 77; }
make_tmp durable
cd "$tmp" || exit 1

"$TESTPKI" --dir pki --hosts 1 >/dev/null || { echo "pvkit-testpki failed"; exit 1; }
fake_kernel vmlinuz
head -c $((40 << 20)) /dev/urandom >initrd

# LeakSanitizer cannot run under a tracer (a sanitizer build): no leak check for this run.
run "create under strace" 0 "" -- env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	strace -f -qq -o trace.txt \
	-e trace=openat,pwrite64,write,fsync,fdatasync,rename,renameat,renameat2 \
	"$PVIMG" -q create -i vmlinuz -r initrd -k pki/host1.crt --no-verify -o se.img
python3 - trace.txt >order.txt 2>&1 <<'PY'
import re, sys

# strace -f lines: "PID name(args) = rc", split in "<unfinished ...>" / "<... name resumed>"
# halves when threads interleave. A call starts at its first half and ends at its last.
events, pending = [], {}
for line in open(sys.argv[1]):
    m = re.match(r'(\d+) +(.*)', line.rstrip('\n'))
    if not m:
        continue
    pid, rest = m.groups()
    r = re.match(r'<\.\.\. (\w+) resumed>(.*)', rest)
    if r:
        name, args, start = r.group(1), *pending.pop((pid, r.group(1)))
        tail = r.group(2)
    else:
        c = re.match(r'(\w+)\((.*)', rest)
        if not c:
            continue
        name, args, tail = c.group(1), c.group(2), c.group(2)
        start = len(events)
        if rest.endswith('<unfinished ...>'):
            pending[(pid, name)] = (args, start)
            events.append(None)
            continue
    rc = re.search(r'= (-?\d+)', tail)
    events.append((name, args, start, int(rc.group(1)) if rc else None))
events = [(i, *ev) for i, ev in enumerate(events) if ev]

tmpfd = None
for i, name, args, start, rc in events:
    if name == 'openat' and 'se.img.pvkit-tmp-' in args and rc is not None and rc >= 0:
        tmpfd = str(rc)
assert tmpfd, 'no temporary output file opened'
def on_fd(ev):
    fd = re.match(r'\s*(\d+)', ev[2])
    return fd is not None and fd.group(1) == tmpfd
writes = [ev for ev in events if ev[1] in ('pwrite64', 'write') and on_fd(ev)]
syncs = [ev for ev in events if ev[1] in ('fsync', 'fdatasync') and on_fd(ev) and ev[4] == 0]
renames = [ev for ev in events if ev[1].startswith('rename') and 'se.img' in ev[2]]
assert writes and renames, 'no writes or no rename traced'
last_write_end, rename_start = writes[-1][0], renames[-1][3]
during = [s for s in syncs if s[0] < last_write_end]
final = [s for s in syncs if s[3] > last_write_end and s[0] < rename_start]
print(f'{len(writes)} writes, {len(during)} flushes while writing, {len(final)} after the last write')
assert during, 'the output is not flushed while it is written'
assert final, 'no fsync/fdatasync of the output between its last write and the rename'
after = [ev for ev in events if ev[1] == 'fsync' and ev[3] > renames[-1][0] and ev[4] == 0]
assert after, 'the directory is not fsynced after the rename'
PY
rc=$?
cat order.txt
[ $rc -eq 0 ] && pass "output flushed while written, fsynced before the rename, directory after" ||
	fail "durability order"

# A flush error (EIO, as after a failed write-back) fails the command with the output's name:
# in a flush during the build (then the commit's fsync succeeds, as the kernel reports the error
# only once), and in the commit's fsync.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
for call in fdatasync fsync; do
	rm -f se.img
	run_error "$call error" 1 "se.img" -- env LD_PRELOAD="$SHIM" PVKIT_FAIL_SYNC=$call \
		"$PVIMG" -q create -i vmlinuz -r initrd -k pki/host1.crt --no-verify -o se.img
	check "$call error: the message says why" grep -q "Input/output error" out
	if ls se.img* >/dev/null 2>&1; then fail "$call error: output left"; else
		pass "$call error: no output"; fi
done

finish
