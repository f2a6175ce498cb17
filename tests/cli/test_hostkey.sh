#!/usr/bin/env bash
# pvverify and pvkit-testpki from the command line: CRL download from a local HTTP server
# (127.0.0.1 only), revocation, --offline, redirects, usage errors, and --help against the
# man page's option list.
#
# Usage: test_hostkey.sh PVKIT-TESTPKI PVVERIFY   (PVKIT_SOURCE_ROOT names the source tree)
set -u

TESTPKI=$1
PVVERIFY=$2
SRC=${PVKIT_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
T=30 # seconds for any one command
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }

make_tmp hkd
srv_pid=
# shellcheck disable=SC2317 # called on exit by lib.sh
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
}

# An HTTP server on 127.0.0.1, on a port the kernel picks, serving $tmp/www. It logs every
# request with its User-Agent; /redir/X answers 302 to /X.
mkdir -p "$tmp/www"
cat >"$tmp/server.py" <<'EOF'
import functools, http.server, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/redir/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/redir"):])
            self.end_headers()
            return
        super().do_GET()

    def log_request(self, code="-", size="-"):
        sys.stderr.write("%s %s %s UA=%s\n" % (self.command, self.path, code,
                                               self.headers.get("User-Agent")))
        sys.stderr.flush()

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                      functools.partial(Handler, directory=sys.argv[1]))
print(srv.server_address[1], flush=True)
srv.serve_forever()
EOF
python3 -u "$tmp/server.py" "$tmp/www" >"$tmp/port" 2>"$tmp/access.log" &
srv_pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	sleep 0.1
done
port=$(head -n1 "$tmp/port")
if ! [[ "$port" =~ ^[0-9]+$ ]]; then
	echo "FAIL - the HTTP server did not start"
	cat "$tmp/access.log"
	exit 1
fi
base=http://127.0.0.1:$port

# --- a PKI whose CRLs are served by the server -------------------------------------------
P=$tmp/www/pki
run "testpki" 0 "" -- "$TESTPKI" --dir "$P" --hosts 2 --revoke-host 2 --crl-url-base "$base/pki"
chain=(-C "$P/inter_ca.crt" -C "$P/ibm.crt" --root-ca "$P/root_ca.crt")

run "online: valid HKD verified" 0 "Use host-key document at '$P/host1.crt'" -- \
	"$PVVERIFY" -k "$P/host1.crt" "${chain[@]}"
# IBM's pvverify reports on standard error; standard output stays empty (issue 10 #14)
if "$PVVERIFY" -k "$P/host1.crt" "${chain[@]}" >"$tmp/stdout" 2>"$tmp/stderr" &&
	[ ! -s "$tmp/stdout" ] && grep -qxF "Host-key documents verified." "$tmp/stderr"; then
	pass "report on stderr, nothing on stdout"
else
	fail "report on stderr, nothing on stdout: stdout '$(cat "$tmp/stdout")'"
fi
for f in root_ca.crl inter_ca.crl ibm.crl; do
	if grep -q "^GET /pki/$f 200 UA=s390-tools-pv-crl$" "$tmp/access.log"; then
		pass "online: $f downloaded with user agent s390-tools-pv-crl"
	else
		fail "online: $f not downloaded"
		sed 's/^/    /' "$tmp/access.log"
	fi
done
# --format json (pvkit's addition): every verified document on stdout, the phkh its key's
# SHA-256 as the UV lists it; nothing on stdout when one document fails.
if "$PVVERIFY" --format json -k "$P/host1.crt" "${chain[@]}" >"$tmp/doc.json" 2>/dev/null &&
	python3 - "$tmp/doc.json" "$P/host1.crt" <<'PY'
import hashlib, json, subprocess, sys
d = json.load(open(sys.argv[1]))
pub = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-noout", "-pubkey"],
                     capture_output=True, check=True).stdout
der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                     capture_output=True, check=True).stdout
# the P-521 point is the last 132 bytes of the SPKI: X and Y, each left-padded to 80 bytes
x, y = der[-132:-66], der[-66:]
assert d["verified"] is True and len(d["host_key_documents"]) == 1, d
h = d["host_key_documents"][0]
assert h["file"] == sys.argv[2] and h["subject"] and h["issuer"] and h["not_after"].endswith("Z")
assert h["phkh"] == "0x" + hashlib.sha256(bytes(14) + x + bytes(14) + y).hexdigest(), h["phkh"]
PY
then
	pass "--format json: the document described, its phkh"
else
	fail "--format json: $(cat "$tmp/doc.json")"
fi
if ! "$PVVERIFY" --format json -k "$P/host1.crt" -k "$P/host2.crt" "${chain[@]}" \
	>"$tmp/doc2.json" 2>/dev/null && [ ! -s "$tmp/doc2.json" ]; then
	pass "--format json: a revoked document, no JSON"
else
	fail "--format json: revoked, output '$(cat "$tmp/doc2.json")'"
fi
run "online: two HKDs, comma list" 0 "Use host-key document at '$P/host1.crt'" -- \
	"$PVVERIFY" -k "$P/host1.crt,$P/host1.crt" "${chain[@]}"
run "online: revoked by --revoke-host" 1 \
	"pvverify: error: Host-key verification failed: $P/host2.crt: Host-key document is revoked." -- \
	"$PVVERIFY" -k "$P/host1.crt" -k "$P/host2.crt" "${chain[@]}"
run "online: revoked HKD" 1 "$P/host_revoked.crt: Host-key document is revoked." -- \
	"$PVVERIFY" -k "$P/host_revoked.crt" "${chain[@]}"
run "online: expired HKD" 1 "$P/host_expired.crt: After validity period" -- \
	"$PVVERIFY" -k "$P/host_expired.crt" "${chain[@]}"
run "online: RSA HKD" 1 "The host-key document '$P/host_rsa.crt' holds a 2048-bit RSA key" -- \
	"$PVVERIFY" -k "$P/host_rsa.crt" "${chain[@]}"

run "offline without --crl: chain has no CRL" 1 "X509 verify error 3: unable to get certificate CRL" -- \
	"$PVVERIFY" -k "$P/host1.crt" "${chain[@]}" --offline
run "offline, no CRL of the signing key" 1 "$P/host1.crt: No valid CRL found" -- \
	"$PVVERIFY" -k "$P/host1.crt" -C "$P/inter_ca.crt" -C "$P/ibm.crt" \
	--root-ca "$P/root_ca.chained.crt" --crl "$P/inter_ca.crl" --offline
run "offline with all CRLs" 0 "Use host-key document at '$P/host1.crt'" -- \
	"$PVVERIFY" -k "$P/host1.crt" "${chain[@]}" --offline \
	--crl "$P/root_ca.crl,$P/inter_ca.crl" --crl "$P/ibm.crl"
# libcurl is loaded on the first download only (issue 12): the dynamic loader's log shows it
# for an online verification and not for an offline one.
LD_DEBUG=files "$PVVERIFY" -k "$P/host1.crt" "${chain[@]}" --offline \
	--crl "$P/root_ca.crl,$P/inter_ca.crl" --crl "$P/ibm.crl" >/dev/null 2>"$tmp/ld.off"
LD_DEBUG=files "$PVVERIFY" -k "$P/host1.crt" "${chain[@]}" >/dev/null 2>"$tmp/ld.on"
check "offline: libcurl not loaded" bash -c "! grep -q 'file=libcurl' '$tmp/ld.off'"
check "online: libcurl loaded for the downloads" grep -q 'file=libcurl.so.4' "$tmp/ld.on"

# the server loses ibm.crl: the HKD has no CRL any more
mv "$P/ibm.crl" "$P/ibm.crl.away"
# the error names the URL that failed, at default verbosity (issue 10 #17)
run "online: HKD CRL not found (404)" 1 "$P/host1.crt: No valid CRL found (the CRL download from '$base/pki/ibm.crl' failed: " -- \
	"$PVVERIFY" -k "$P/host1.crt" "${chain[@]}"
mv "$P/ibm.crl.away" "$P/ibm.crl"

# --- redirects are followed ---------------------------------------------------------------
R=$tmp/www/pkir
run "testpki (redirecting URLs)" 0 "" -- "$TESTPKI" --dir "$R" --crl-url-base "$base/redir/pkir/"
run "online: CRLs behind a redirect" 0 "Use host-key document at '$R/host1.crt'" -- \
	"$PVVERIFY" -k "$R/host1.crt" -C "$R/inter_ca.crt" -C "$R/ibm.crt" --root-ca "$R/root_ca.crt"
grep -q "^GET /redir/pkir/ibm.crl 302" "$tmp/access.log" &&
	grep -q "^GET /pkir/ibm.crl 200" "$tmp/access.log" &&
	pass "redirect seen by the server" || fail "no redirect in the access log"

# --- nothing listens: downloads fail fast --------------------------------------------------
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
run "online, server down: chain has no CRL" 1 "X509 verify error 3: unable to get certificate CRL; the CRL download from '$base/pki/" -- \
	"$PVVERIFY" -k "$P/host1.crt" "${chain[@]}"

# --- --no-verify, usage -------------------------------------------------------------------
run "--no-verify" 0 "Host-key document verification is disabled. The info may not be protected." -- \
	"$PVVERIFY" -k "$P/host_expired.crt" --no-verify
run "--no-verify prints the file" 0 "Use host-key document at '$P/host_expired.crt'" -- \
	"$PVVERIFY" -k "$P/host_expired.crt" --no-verify
run "--no-verify -q is silent" 0 "" -- "$PVVERIFY" -q -k "$P/host1.crt" --no-verify
[ -s "$tmp/out" ] && fail "-q printed: $(cat "$tmp/out")"
run "--no-verify, P-256 key" 1 "holds an EC P-256 (prime256v1) key" -- \
	"$PVVERIFY" -k "$P/host_p256.crt" --no-verify
run "missing HKD file" 1 "$P/nope.crt" -- "$PVVERIFY" -k "$P/nope.crt" --no-verify
run "usage: nothing" 2 "--host-key-document" -- "$PVVERIFY"
run "usage: neither --cert nor --no-verify" 2 "--no-verify" -- "$PVVERIFY" -k "$P/host1.crt"
run "usage: --no-verify with --cert" 2 "cannot be used with" -- \
	"$PVVERIFY" -k "$P/host1.crt" --no-verify -C "$P/ibm.crt"
# IBM accepts --crl, --offline and --root-ca next to --no-verify (and ignores them)
run "--no-verify with --crl" 0 "Use host-key document at '$P/host1.crt'" -- \
	"$PVVERIFY" -k "$P/host1.crt" --no-verify --crl "$P/ibm.crl"
run "--no-verify with --offline and --root-ca" 0 "Use host-key document at '$P/host1.crt'" -- \
	"$PVVERIFY" -k "$P/host1.crt" --no-verify --offline --root-ca "$P/root.crt"
run "usage: -v with -q" 2 "cannot be used together" -- \
	"$PVVERIFY" -v -q -k "$P/host1.crt" --no-verify
run "usage: unknown option" 2 "--bogus" -- "$PVVERIFY" --bogus
run "usage: missing value" 2 "requires a value" -- "$PVVERIFY" --no-verify -k
run "usage: testpki without --dir" 2 "--dir" -- "$TESTPKI"
run "usage: testpki bad --revoke-host" 2 "--revoke-host" -- "$TESTPKI" --dir "$tmp/x" --revoke-host 0
run "testpki: revoke a host that does not exist" 2 "cannot revoke host 3" -- \
	"$TESTPKI" --dir "$tmp/x" --hosts 2 --revoke-host 3
run "--version" 0 "pvverify version 0." -- "$PVVERIFY" --version
run "testpki --version" 0 "pvkit-testpki version 0." -- "$TESTPKI" --version

# --- --help lists the same options as the man page -----------------------------------------
opts_help() { "$1" --help | sed -n '/^Options:/,$p' | grep -oE -- '--[a-z][a-z-]*' | sort -u; }
opts_man() {
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$1" | sed 's/\\-/-/g' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u
}
for t in "pvverify:$PVVERIFY" "pvkit-testpki:$TESTPKI"; do
	name=${t%%:*}
	exe=${t#*:}
	if diff <(opts_help "$exe") <(opts_man "$SRC/man/$name.1") >"$tmp/diff"; then
		if [ "$(opts_help "$exe" | wc -l)" -ge 5 ]; then
			pass "$name --help and $name.1 list the same options"
		else
			fail "$name: too few options found in --help"
		fi
	else
		fail "$name --help and man/$name.1 differ (< help, > man):"
		sed 's/^/    /' "$tmp/diff"
	fi
done

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
