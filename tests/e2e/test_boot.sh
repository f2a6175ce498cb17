#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End to end: a simulated host (uvsim), an SE image built from Debian's s390x
# kernel, a busybox initramfs and a parmfile with full host-key verification,
# unpacked by uvsim as the ultravisor does and booted under qemu-system-s390x
# (TCG). Passes when the console shows the kernel starting, the image's exact
# parmline and the marker /init read from /proc/cmdline: kernel, initrd and
# parmline all arrived. Also: the image is refused on another host
# (rc 0x0108, rrc 0x0005) and leaves no guest behind, the state directory is
# private (files 0600, directories 0700), the host's private key shows up in no
# guest file and no command output, and 'uvsim stop --all' cleans up.
#
# Skips (77) only without qemu-system-s390x or when scripts/fetch-guest.sh
# cannot fetch the kernel and busybox (no network to the Debian archive).
#
# Usage: test_boot.sh PVIMG UVSIM
# pass/fail never fail: "test && pass || fail" is fine here.
# shellcheck disable=SC2015
set -u

[ $# -eq 2 ] || { echo "usage: test_boot.sh PVIMG UVSIM" >&2; exit 2; }
PVIMG=$(realpath "$1")
UVSIM=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(cd "$here/../../scripts" && pwd)
SKIP=77

command -v qemu-system-s390x >/dev/null 2>&1 ||
	{ echo "SKIP: qemu-system-s390x not found (scripts/install-deps.sh installs qemu-system-misc)"; exit $SKIP; }
if ! cache=$("$scripts/fetch-guest.sh" --print-dir </dev/null); then
	echo "SKIP: no s390x kernel and busybox: scripts/fetch-guest.sh could not fetch them" \
		"(no network to the Debian archive?)"
	exit $SKIP
fi
kernel=$cache/vmlinuz
release=$(cat "$cache/kernel-release" 2>/dev/null || echo "")

tmp=$(mktemp -d /tmp/pvkit-e2e-boot.XXXXXX)
st=$tmp/state
U=("$UVSIM" --state "$st")
cleanup() {
	"${U[@]}" stop --all >/dev/null 2>&1
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

passes=0
fails=0
pass() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
show() { sed 's/^/    | /' "$1"; }

# run NAME EXPECTED-EXIT COMMAND...: output (stdout+stderr, CRs removed) in $tmp/out, also
# appended to $tmp/all-output; returns non-zero (and counts a failure) on another exit.
run() {
	local name=$1 want=$2 rc
	shift 2
	timeout 180 "$@" >out.raw 2>&1
	rc=$?
	tr -d '\r' <out.raw >out
	{ printf '$ %s\n' "$*"; cat out; } >>all-output
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, expected $want"
		show out
		return 1
	fi
	return 0
}

# expect NAME FIXED-STRING [FILE]: FILE (default out) has a line containing FIXED-STRING.
expect() {
	if grep -qF -- "$2" "${3:-out}"; then
		pass "$1"
	else
		fail "$1: no '$2' in the output"
		show "${3:-out}"
	fi
}

# ---- the simulated hosts and the components
run "uvsim init" 0 "${U[@]}" init && pass "uvsim init"
run "uvsim host new z16a" 0 "${U[@]}" host new z16a && pass "uvsim host new z16a"
run "uvsim host new z16b" 0 "${U[@]}" host new z16b && pass "uvsim host new z16b"
hkd_a=$("${U[@]}" host hkd z16a)
read -ra cert_opts <<<"$("${U[@]}" cert-opts)"
case " ${cert_opts[*]} " in
*" --root-ca "*" --offline "*) pass "cert-opts: full verification (--root-ca, CRLs, --offline)" ;;
*) fail "cert-opts: '${cert_opts[*]}'" ;;
esac

run "make-initramfs" 0 "$scripts/make-initramfs.sh" initrd.cpio.gz pvkit.marker &&
	pass "busybox initramfs"
marker=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
parmline="console=ttysclp0 pvkit.marker=$marker"
echo "$parmline" >parmfile

# ---- the image, for host A, with full host-key verification
if run "pvimg create" 0 "$PVIMG" create -i "$kernel" -r initrd.cpio.gz -p parmfile \
	-k "$hkd_a" "${cert_opts[@]}" -o se.img; then
	pass "pvimg create with full host-key verification"
else
	echo "cannot go on without the image"
	echo "$passes passed, $((fails + 1)) failed"
	exit 1
fi

# ---- boot it on host A under QEMU
start=$(date +%s.%N)
run "uvsim boot --qemu" 0 "${U[@]}" boot --host z16a --id e2e --qemu \
	--timeout 120 --keep-memory se.img
end=$(date +%s.%N)
cp out console.txt
echo "# boot under QEMU took $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
expect "guest booted on z16a" "guest e2e booted on host z16a" console.txt
expect "QEMU started" "--- qemu-system-s390x console" console.txt
expect "kernel started" "Linux version ${release:-}" console.txt
expect "exact parmline arrived" "Kernel command line: $parmline" console.txt
if grep -q "Kernel command line: $parmline\$" console.txt; then
	pass "no more, no less on the command line"
else
	fail "the command line has extra text: $(grep -m1 'Kernel command line:' console.txt)"
fi
expect "initrd ran /init with the marker" "PVKIT-GUEST: marker=$marker cmdline=[$parmline]" console.txt
expect "QEMU exited after poweroff" "--- qemu-system-s390x ended (exit 0) ---" console.txt

run "uvsim ls" 0 "${U[@]}" ls && expect "guest listed as running" "running" &&
	grep -qE "^e2e +z16a " out && pass "guest e2e on z16a in uvsim ls"
run "uvsim env" 0 "${U[@]}" env e2e &&
	expect "uvsim env: device is the guest's socket" "PVKIT_UV_DEVICE='uvsim:$st/guests/e2e/uv.sock'"
[ -S "$st/guests/e2e/uv.sock" ] && pass "endpoint socket exists" || fail "no $st/guests/e2e/uv.sock"

# ---- refused on host B
run "boot on the wrong host" 1 "${U[@]}" boot --host z16b --id refused --qemu \
	--timeout 120 se.img && pass "boot on z16b: exit 1"
expect "refused by the UV with rc 0x0108, rrc 0x0005" "rc 0x0108, rrc 0x0005"
[ "$(grep -c 'error:' out)" -eq 1 ] && pass "exactly one error line" || fail "not one error line"
grep -qF -- "--- qemu-system-s390x console" out && fail "QEMU ran for a refused image" ||
	pass "no QEMU for a refused image"
[ ! -e "$st/guests/refused" ] && pass "no guest dir left" || fail "$st/guests/refused left behind"
run "uvsim ls" 0 "${U[@]}" ls
if grep -q '^refused ' out; then fail "refused guest listed"; show out; else pass "refused guest not listed"; fi
[ "$(grep -vc '^ID ' out)" -eq 1 ] && pass "exactly one guest" || { fail "guest count"; show out; }

# ---- the state directory is private; the host key never leaves hosts/
# (checked while the guest runs, its memory kept by --keep-memory)
bad=$(find "$st" -type f ! -perm 600)
[ -z "$bad" ] && pass "state files are 0600" || fail "state files not 0600: $bad"
bad=$(find "$st" -type d ! -perm 700)
[ -z "$bad" ] && pass "state directories are 0700" || fail "state directories not 0700: $bad"
[ -f "$st/guests/e2e/mem.img" ] && pass "guest memory kept" || fail "no guests/e2e/mem.img"

sed '/^-----/d;/^$/d' "$st/hosts/z16a/host.key" >key.lines
if [ ! -s key.lines ]; then
	fail "cannot read the PEM body of hosts/z16a/host.key"
else
	leaks=$(grep -rlF -f key.lines "$st/guests" all-output)
	[ -z "$leaks" ] && pass "host key PEM body in no guest file, no output" ||
		fail "host key PEM body found in: $leaks"
fi
# The private scalar itself, as bytes, in any guest file (its memory included).
priv=$(openssl pkey -in "$st/hosts/z16a/host.key" -noout -text 2>/dev/null |
	sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :\n')
if [ ${#priv} -lt 100 ]; then
	fail "cannot read the private scalar of hosts/z16a/host.key"
else
	leaks=
	while IFS= read -r -d '' f; do
		od -An -v -tx1 "$f" | tr -d ' \n' | grep -qF -- "$priv" && leaks+=" $f"
	done < <(find "$st/guests" -type f -print0)
	grep -qiF -- "$priv" all-output && leaks+=" (command output)"
	[ -z "$leaks" ] && pass "host private key bytes in no guest file (memory included)" ||
		fail "host private key bytes found in:$leaks"
fi

# ---- stop
run "uvsim stop --all" 0 "${U[@]}" stop --all && pass "uvsim stop --all"
run "uvsim ls" 0 "${U[@]}" ls
[ "$(grep -vc '^ID ' out)" -eq 0 ] && pass "no guest after stop" || { fail "guests left"; show out; }
[ -z "$(ls -A "$st/guests" 2>/dev/null)" ] && pass "guests/ is empty" || fail "guests/ not empty"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
