#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pvattestd end to end on uvsim: the service started on loopback on the embedded default
# (SQLite), an image registered with its policy, a guest's pvattest-agent attests and
# receives its secret; then every refusal the policy makes, each with its reason and
# nothing released: another image, another host, a revoked HKD, a replayed response, an
# expired challenge, a tampered response, user data not bound to the agent's key, a secret
# store not as expected. Bad input: malformed and oversized JSON, wrong content types,
# slow and half-open clients (a clear 4xx, the service stays up). The audit report.
#
# Usage: test_pvattestd.sh PVATTESTD PVATTEST-AGENT PVIMG PVATTEST PVSECRET PVVERIFY UVSIM
set -u
abs() { realpath -- "$1"; }
PVATTESTD=$(abs "$1") AGENT=$(abs "$2") PVIMG=$(abs "$3") PVATTEST=$(abs "$4")
PVSECRET=$(abs "$5") PVVERIFY=$(abs "$6") UVSIM=$(abs "$7")
. "$(dirname "$0")/../cli/lib.sh"
T=60
make_tmp pvattestd
cd "$tmp" || exit 1
S=$tmp/S
SRV=
cleanup() {
	[ -z "$SRV" ] || kill "$SRV" 2>/dev/null
	wait 2>/dev/null
	timeout 30 "$UVSIM" --state "$S" stop --all >/dev/null 2>&1
}
uvsim() { timeout "$T" "$UVSIM" --state "$S" "$@"; }

######## uvsim: two hosts, a guest image for both, another image ########
uvsim init >/dev/null && uvsim host new h1 >/dev/null && uvsim host new h2 >/dev/null &&
	uvsim host new h3 >/dev/null || { fail "uvsim set-up"; finish; }
read -r -a VERIFY <<<"$(uvsim cert-opts)"
fake_kernel vmlinuz
head -c 4096 /dev/urandom >initrd
echo "root=/dev/ram0" >parmfile
run "pvimg create (h1, h2, h3)" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
	-k "$S/hosts/h1/hkd.crt,$S/hosts/h2/hkd.crt,$S/hosts/h3/hkd.crt" "${VERIFY[@]}" -o se.img || finish
run "pvimg create (another image)" 0 "" -- "$PVIMG" create -i vmlinuz -r initrd -p parmfile \
	-k "$S/hosts/h1/hkd.crt" "${VERIFY[@]}" -o other.img || finish

######## the service ########
cat >pvattestd.yaml <<EOT
listen: 127.0.0.1:0
threads: 4
connection_timeout: 2
max_body: 65536
node: test-node
trust:
  certs: [$S/pki/inter_ca.crt, $S/pki/ibm.crt]
  crls: [$S/pki/root_ca.crl, $S/pki/inter_ca.crl, $S/pki/ibm.crl]
  root_ca: $S/pki/root_ca.crt
  offline: true
EOT
D=$tmp/state
"$PVATTESTD" -c pvattestd.yaml -d "$D" --init --port-file port serve 2>service.log &
SRV=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
[ -s port ] && pass "pvattestd serve --init: listening" || { fail "pvattestd did not start"; cat service.log; finish; }
P=$(cat port)
URL=http://127.0.0.1:$P
check "init made KEK, token key and admin token with mode 0600" \
	test "$(stat -c %a "$D/kek" "$D/token-key.pem" "$D/admin-token" | sort -u)" = 600

# http METHOD PATH [BODY [CONTENT-TYPE [HEADER...]]]: status and body in $tmp/http
http() {
	python3 - "$URL" "$@" >"$tmp/http" <<'PY'
import sys, urllib.request, urllib.error
url, method, path = sys.argv[1], sys.argv[2], sys.argv[3]
body = sys.argv[4].encode() if len(sys.argv) > 4 and sys.argv[4] != '-' else None
if len(sys.argv) > 4 and sys.argv[4].startswith('@'):
    body = open(sys.argv[4][1:], 'rb').read()
req = urllib.request.Request(url + path, data=body, method=method)
if len(sys.argv) > 5 and sys.argv[5]:
    req.add_header('Content-Type', sys.argv[5])
for h in sys.argv[6:]:
    k, v = h.split(': ', 1)
    req.add_header(k, v)
try:
    r = urllib.request.urlopen(req, timeout=30)
    code, data = r.status, r.read()
except urllib.error.HTTPError as e:
    code, data = e.code, e.read()
sys.stdout.write('%d %s\n' % (code, data.decode(errors='replace')))
PY
}
status() { cut -d' ' -f1 "$tmp/http"; }

http GET /healthz
check "healthz: 200 with the schema" grep -q '^200 .*"schema":2' "$tmp/http"

ADMIN=(--url "$URL" --admin-token "$D/admin-token")
printf 'luks-passphrase-for-g1' >s1
run "register img1 (h1, h2 allowed; a secret)" 0 "Registered image img1" -- \
	"$PVATTESTD" register img1 "${ADMIN[@]}" --image se.img -k "$S/hosts/h1/hkd.crt" \
	-k "$S/hosts/h2/hkd.crt" --secret luks=s1 --add-data phkh-img
openssl x509 -in "$S/hosts/h1/hkd.crt" -outform DER -out h1.der
run "register takes a DER host-key document" 0 "Registered image img1-der" -- \
	"$PVATTESTD" register img1-der "${ADMIN[@]}" --image se.img -k h1.der
run "register refuses a file that is no host-key document" 1 "s1" -- \
	"$PVATTESTD" register bad "${ADMIN[@]}" --image se.img -k s1
run "register refuses a host without a key slot in the image" 1 "has no key slot in the image" -- \
	"$PVATTESTD" register bad "${ADMIN[@]}" --image other.img -k "$S/hosts/h2/hkd.crt"
run "register without the admin token is refused" 1 "HTTP 401" -- \
	"$PVATTESTD" register img1 --url "$URL" --admin-token s1 --image se.img -k "$S/hosts/h1/hkd.crt"

######## a guest attests and receives its secret ########
run "uvsim boot g1 (img1 on h1)" 0 "CUID 0x" -- "$UVSIM" --state "$S" boot --host h1 --id g1 se.img || finish
CUID=$(sed -n 's/.*(CUID 0x\([0-9a-f]\{32\}\)).*/\1/p' "$tmp/out")
genv() { bash -c "$(uvsim env "$1")"'; echo "$PVKIT_UV_DEVICE"'; }
# phkh HOST: the host's public host-key hash (hex), as pvverify describes it
phkh() {
	"$PVVERIFY" -k "$S/hosts/$1/hkd.crt" --no-verify --format json 2>/dev/null |
		python3 -c "import json,sys; print(json.load(sys.stdin)['host_key_documents'][0]['phkh'][2:])"
}
G1=$(genv g1)
mkdir rel
run "pvattest-agent in g1: verified, secret released" 0 "Attestation verified: image img1, guest $CUID" -- \
	env PVKIT_UV_DEVICE="$G1" "$AGENT" --url "$URL" --image img1 -o rel --token rel/token
check "the secret is the registered one" cmp -s s1 rel/luks
check "the secret and the token are 0600" test "$(stat -c %a rel/luks rel/token | sort -u)" = 600
python3 - rel/token "$CUID" >claims.txt 2>&1 <<'PY'
import sys, json, base64
tok = open(sys.argv[1]).read().strip()
h, p, s = tok.split('.')
pad = lambda x: x + '=' * (-len(x) % 4)
hdr = json.loads(base64.urlsafe_b64decode(pad(h)))
c = json.loads(base64.urlsafe_b64decode(pad(p)))
assert hdr['alg'] == 'ES256', hdr
assert c['sub'] == sys.argv[2], c
assert c['image'] == 'img1' and len(c['image_tag']) == 32 and len(c['key_slot_hashes']) == 3, c
assert c['user_data'].startswith('50564b41474e5431'), c  # "PVKAGNT1" || SHA-256(agent key)
assert c['exp'] > c['iat'], c
print('claims ok')
PY
check "the token: ES256, CUID, image, tag, key-slot hashes, bound user data" grep -q 'claims ok' claims.txt
http GET /v1/token-key
check "token-key: the ES256 public key" grep -q '"alg":"ES256".*BEGIN PUBLIC KEY' "$tmp/http"
# the token's signature verifies with that key (OpenSSL: JOSE r||s to DER)
python3 - "$tmp/http" rel/token >jwtcheck.txt 2>&1 <<'PY'
import sys, json, base64, subprocess, tempfile, os
pem = json.loads(open(sys.argv[1]).read().split(' ', 1)[1])['pem']
tok = open(sys.argv[2]).read().strip()
h, p, s = tok.split('.')
sig = base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80: b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
seq = der_int(sig[:32]) + der_int(sig[32:])
der = b'\x30' + bytes([len(seq)]) + seq
d = tempfile.mkdtemp()
open(os.path.join(d, 'k'), 'w').write(pem)
open(os.path.join(d, 's'), 'wb').write(der)
open(os.path.join(d, 'm'), 'wb').write((h + '.' + p).encode())
r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', os.path.join(d, 'k'), '-signature',
                    os.path.join(d, 's'), os.path.join(d, 'm')], capture_output=True, text=True)
print(r.stdout.strip())
PY
check "the token's signature verifies with the service's key" grep -qx 'Verified OK' jwtcheck.txt

# A second node on the same database, listening on a Unix socket: any node answers any step
# (the agent's --via relay is the one a guest uses over its virtio-serial port).
"$PVATTESTD" -c pvattestd.yaml -d "$D" --listen "unix:$tmp/node2.sock" serve 2>node2.log &
SRV2=$!
for _ in $(seq 100); do [ -S "$tmp/node2.sock" ] && break; sleep 0.1; done
rm -rf rel && mkdir rel
run "a second node (same database, Unix socket), reached with --via" 0 "Attestation verified" -- \
	env PVKIT_UV_DEVICE="$G1" "$AGENT" --url http://node2 --via "$tmp/node2.sock" --image img1 -o rel
check "the second node released the secret" cmp -s s1 rel/luks
check "the second node answered it" grep -q '"path":"/v1/attestations","status":200' node2.log
kill "$SRV2"
wait "$SRV2" 2>/dev/null

######## refusals ########
# agent_refused NAME PATTERN GUEST AGENT-ARGS...: exit 2, the reason, nothing released
agent_refused() {
	local name=$1 pattern=$2 dev=$3
	shift 3
	rm -rf rel && mkdir rel
	run "$name" 2 "$pattern" -- env PVKIT_UV_DEVICE="$dev" "$AGENT" --url "$URL" -o rel "$@" &&
		check "$name: nothing released" test -z "$(ls -A rel)"
}

run "uvsim boot g2 (another image on h1)" 0 "CUID" -- "$UVSIM" --state "$S" boot --host h1 --id g2 other.img
agent_refused "another image" "the measurement does not match image 'img1'" "$(genv g2)" --image img1

run "uvsim boot g3 (img1 on h3, not in the policy)" 0 "CUID" -- "$UVSIM" --state "$S" boot --host h3 --id g3 se.img
H3=$(phkh h3)
agent_refused "another host (named)" "is not allowed by the policy of image 'img1'" "$(genv g3)" \
	--image img1 --host-key-hash "$H3"
rm -rf rel && mkdir rel
run "another host (any host of the policy): the UV cannot open the request" 1 "ultravisor refused" -- \
	env PVKIT_UV_DEVICE="$(genv g3)" "$AGENT" --url "$URL" -o rel --image img1
check "another host: nothing released" test -z "$(ls -A rel)"

# The raw protocol, for what an agent never does: replays, tampering, another key.
# attest_raw IMAGE GUEST-DEV MODE: challenge, perform (user data binds a key), post.
attest_raw() {
	PVKIT_UV_DEVICE=$2 python3 - "$URL" "$1" "$3" "$PVATTEST" <<'PY'
import sys, json, base64, hashlib, os, subprocess, urllib.request, urllib.error, tempfile, time
url, image, mode, pvattest = sys.argv[1:5]
def post(path, obj, hdrs={}):
    req = urllib.request.Request(url + path, data=json.dumps(obj).encode(), method='POST',
                                 headers=dict({'Content-Type': 'application/json'}, **hdrs))
    try:
        r = urllib.request.urlopen(req, timeout=30)
        return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
st, ch = post('/v1/challenges', {'image': image})
assert st == 201, (st, ch)
d = tempfile.mkdtemp()
key = os.urandom(32)
bound = b'PVKAGNT1' + hashlib.sha256(key).digest()
open(d + '/req', 'wb').write(base64.b64decode(ch['request']))
open(d + '/user', 'wb').write(bound if mode != 'unbound' else b'some other user data')
subprocess.run([pvattest, 'perform', '-i', d + '/req', '-o', d + '/resp', '-u', d + '/user'], check=True)
resp = bytearray(open(d + '/resp', 'rb').read())
if mode == 'tampered':
    resp[-20] ^= 1          # a byte of the measured data
if mode == 'expired':
    time.sleep(2.5)
body = {'challenge': ch['id'], 'response': base64.b64encode(bytes(resp)).decode(),
        'agent_key': base64.b64encode(key if mode != 'otherkey' else os.urandom(32)).decode()}
st, ans = post('/v1/attestations', body, {'Idempotency-Key': 'k-' + ch['id']})
print('first', st, ans.get('reason', ans.get('result')))
if mode == 'replay':
    st2, ans2 = post('/v1/attestations', body)
    print('replay', st2, ans2.get('reason'))
    st3, ans3 = post('/v1/attestations', body, {'Idempotency-Key': 'k-' + ch['id']})
    print('retry', st3, 'same' if ans3 == ans else 'different')
PY
}
attest_raw img1 "$G1" replay >raw.txt 2>&1
check "replay: the first post is verified" grep -q '^first 200 verified' raw.txt
check "replay: the same response again is refused (409)" grep -q '^replay 409 .*replayed response is refused' raw.txt
check "replay: the client's retry (its Idempotency-Key) gets the same answer" grep -q '^retry 200 same' raw.txt
attest_raw img1 "$G1" tampered >raw.txt 2>&1
check "tampered response: refused (403)" grep -q '^first 403 .*does not match image' raw.txt
attest_raw img1 "$G1" otherkey >raw.txt 2>&1
check "user data not bound to the posted key: refused" grep -q "^first 403 the user data does not bind the agent's key" raw.txt
attest_raw img1 "$G1" unbound >raw.txt 2>&1
check "user data that binds no key: refused" grep -q "^first 403 the user data does not bind" raw.txt
run "register img1-ttl (challenges live 1 s)" 0 "" -- "$PVATTESTD" register img1-ttl "${ADMIN[@]}" \
	--image se.img -k "$S/hosts/h1/hkd.crt" --secret luks=s1 --challenge-ttl 1
attest_raw img1-ttl "$G1" expired >raw.txt 2>&1
check "expired challenge: refused (410)" grep -q '^first 410 challenge .* expired' raw.txt
run "purge: the challenges expired more than 0 s ago go" 0 "challenge(s) purged" -- \
	"$PVATTESTD" -c pvattestd.yaml -d "$D" purge --older-than 0
n=$(sed -n 's/^\([0-9]*\) challenge(s) purged$/\1/p' "$tmp/out")
check "purge removed the expired challenge ($n)" test "${n:-0}" -ge 1
run "purge --older-than 3600 leaves what expired since" 0 "0 challenge(s) purged" -- \
	"$PVATTESTD" -c pvattestd.yaml -d "$D" purge --older-than 3600

# The secret store: the policy expects an add-secret request the guest never added.
run "pvsecret create (an add-secret request for img1)" 0 "" -- "$PVSECRET" create \
	-k "$S/hosts/h1/hkd.crt" "${VERIFY[@]}" --hdr se.img -o asrcb1 association "disk key"
run "register img1-store (expects that request in the store)" 0 "" -- "$PVATTESTD" register img1-store \
	"${ADMIN[@]}" --image se.img -k "$S/hosts/h1/hkd.crt" --secret luks=s1 --expect-secret asrcb1
agent_refused "secret store not as the policy expects" "secret store is not what the policy expects" "$G1" --image img1-store
run "pvsecret add the request in g1" 0 "" -- env PVKIT_UV_DEVICE="$G1" "$PVSECRET" add asrcb1
rm -rf rel && mkdir rel
run "secret store as expected: verified" 0 "Attestation verified" -- \
	env PVKIT_UV_DEVICE="$G1" "$AGENT" --url "$URL" --image img1-store -o rel

# Revocation: h2's HKD listed in the CRL after registration.
run "uvsim boot g4 (img1 on h2)" 0 "CUID" -- "$UVSIM" --state "$S" boot --host h2 --id g4 se.img
rm -rf rel && mkdir rel
run "g4 on h2 (allowed): verified" 0 "Attestation verified" -- \
	env PVKIT_UV_DEVICE="$(genv g4)" "$AGENT" --url "$URL" --image img1 -o rel
run "uvsim host revoke h2" 0 "lists host h2" -- "$UVSIM" --state "$S" host revoke h2
H2=$(phkh h2)
agent_refused "revoked HKD (named)" "revoked" "$(genv g4)" --image img1 --host-key-hash "$H2"
rm -rf rel && mkdir rel
run "revoked HKD: the challenge leaves h2 out, the UV on h2 cannot open it" 1 "ultravisor refused" -- \
	env PVKIT_UV_DEVICE="$(genv g4)" "$AGENT" --url "$URL" -o rel --image img1
run "g1 on h1 still verified" 0 "Attestation verified" -- \
	env PVKIT_UV_DEVICE="$G1" "$AGENT" --url "$URL" --image img1 -o rel

######## bad input: a clear 4xx, the service stays up ########
http POST /v1/challenges '{"image": "img1"' application/json
check "truncated JSON: 400" grep -q '^400 .*not one JSON document' "$tmp/http"
http POST /v1/challenges '{"image": "img1", "x": 1}' application/json
check "unknown member: 400" grep -q "^400 .*unknown member 'x'" "$tmp/http"
http POST /v1/challenges '{"image": "img1"}' text/plain
check "wrong content type: 415" grep -q '^415 ' "$tmp/http"
python3 -c "print('{\"image\": \"' + 'a' * 70000 + '\"}')" >big.json
http POST /v1/challenges @big.json application/json
check "oversized body: 413" grep -q '^413 ' "$tmp/http"
# a body far over the limit is not read to its end: the connection is dropped
python3 - "$P" >huge.txt 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'POST /v1/challenges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
          b'Content-Length: 100000000\r\n\r\n')
sent = 0
try:
    while sent < 100000000:
        s.sendall(b'x' * 65536)
        sent += 65536
    print('all sent')
except OSError as e:
    print('dropped after %d bytes' % sent)
PY
check "a body far over the limit: dropped, not read to its end" grep -q '^dropped after' huge.txt
python3 -c "print('[' * 100000 + ']' * 100000)" >deep.json
http POST /v1/attestations @deep.json application/json
check "deeply nested JSON: 413 or 400" grep -qE '^(400|413) ' "$tmp/http"
python3 -c "print('[' * 5000 + ']' * 5000)" >deep2.json
http POST /v1/attestations @deep2.json application/json
check "nested deeper than the limit: 400" grep -q '^400 ' "$tmp/http"
http POST /v1/attestations '{"challenge": "00", "response": "not base64!"}' application/json
check "bad base64: 400" grep -q "^400 .*'response' is not base64" "$tmp/http"
http POST /v1/attestations '{"challenge": "0123", "response": "AAAA"}' application/json
check "unknown challenge: 404" grep -q '^404 ' "$tmp/http"
http GET /v1/audit
check "audit without the admin token: 401" grep -q '^401 ' "$tmp/http"
http DELETE /v1/challenges
check "wrong method: 405" grep -q '^405 ' "$tmp/http"
# slow and half-open clients: cut after the connection timeout (2 s); others answered meanwhile
python3 - "$P" >slow.txt 2>&1 <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
idle = [socket.create_connection(('127.0.0.1', port)) for _ in range(20)]
slow = socket.create_connection(('127.0.0.1', port))
slow.sendall(b'POST /v1/challenges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ima')
t = time.time()
r = urllib.request.urlopen('http://127.0.0.1:%d/healthz' % port, timeout=5)
print('healthz during', r.status, '%.2f' % (time.time() - t))
slow.settimeout(10)
t = time.time()
data = slow.recv(4096)
print('slow cut after %.1f s' % (time.time() - t), repr(data[:12]))
for s in idle:
    s.settimeout(10)
    assert s.recv(10) == b''
print('idle cut')
PY
check "slow and half-open clients: others answered meanwhile" grep -q '^healthz during 200' slow.txt
check "a trickling client is cut by the connection timeout" grep -q '^slow cut after' slow.txt
check "half-open clients are cut" grep -q '^idle cut' slow.txt
http GET /healthz
check "the service is still up" grep -q '^200 ' "$tmp/http"

######## audit, metrics, logs ########
run "audit (table)" 0 "img1" -- "$PVATTESTD" audit "${ADMIN[@]}"
cp "$tmp/out" audit.txt
check "audit table: g1 verified, refusals with reasons" grep -q "^img1 .*$CUID .*verified" audit.txt
run "audit --format json" 0 "" -- "$PVATTESTD" audit "${ADMIN[@]}" --format json --image img1
python3 - "$tmp/out" "$CUID" >auditj.txt 2>&1 <<'PY'
import sys, json
doc = json.load(open(sys.argv[1]))
g = {x['cuid']: x for x in doc['guests']}
assert all(x['image'] == 'img1' for x in doc['guests']), doc
g1 = g[sys.argv[2]]
assert g1['verified'] >= 3 and g1['refused'] >= 3, g1
assert any('replayed response' in r for r in g1['refusals']), g1
assert any("does not bind the agent's key" in r for r in g1['refusals']), g1
print('audit ok')
PY
grep -q 'audit ok' auditj.txt && pass "audit JSON: per guest counts and reasons (the replay too)" ||
	{ fail "audit JSON: per guest counts and reasons"; sed 's/^/    /' auditj.txt; }
http GET /metrics
check "metrics: Prometheus text with the attestations" grep -q 'pvattestd_events_total{event="attestation",outcome="verified"} [1-9]' "$tmp/http"
check "logs are JSON lines" python3 -c "
import json,sys
n=0
for l in open('service.log'):
    json.loads(l); n+=1
assert n > 10
"
check "no secret in the logs" bash -c "! grep -q 'luks-passphrase' service.log && ! grep -qF \"\$(cat $D/admin-token)\" service.log"

######## schema migrations ########
M=$tmp/mig
run "init on a new state directory: schema version 2" 0 "" -- "$PVATTESTD" -v -d "$M" init
python3 - "$M/pvattestd.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# back to version 1: what a pvattestd of schema 1 left behind
db.execute("DROP INDEX attestations_image")
db.execute("DROP INDEX challenges_expiry")
db.execute("DELETE FROM schema_migrations WHERE version = 2")
db.commit()
PY
run "serve refuses the schema of an older pvattestd" 1 "schema version 1, this pvattestd needs 2" -- \
	"$PVATTESTD" -d "$M" --listen 127.0.0.1:0 serve
run "migrate: version 1 -> 2" 0 "version 1 -> 2" -- "$PVATTESTD" -v -d "$M" migrate
check "migrate made the indexes of version 2" python3 -c "
import sqlite3, sys
db = sqlite3.connect('$M/pvattestd.db')
names = {r[0] for r in db.execute(\"SELECT name FROM sqlite_master WHERE type = 'index'\")}
assert {'attestations_image', 'challenges_expiry'} <= names, names
assert [r[0] for r in db.execute('SELECT version FROM schema_migrations ORDER BY 1')] == [1, 2]
"
python3 -c "import sqlite3; db = sqlite3.connect('$M/pvattestd.db'); db.execute('INSERT INTO schema_migrations VALUES (99, 0)'); db.commit()"
run "migrate refuses a newer schema (no downgrade)" 1 "schema version 99 is newer" -- \
	"$PVATTESTD" -d "$M" migrate

kill "$SRV"
wait "$SRV"
rc=$?
SRV=
check "SIGTERM: the service stops cleanly" test "$rc" -eq 0
finish
