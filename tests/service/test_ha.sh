#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pvattestd scaled out: two nodes on one PostgreSQL database behind HAProxy, all started here
# on loopback. COUNT attestations (default 20,000; responses made in-process by uvsim's UV,
# bench/pvattestd_load) are posted through HAProxy while one node is killed (SIGKILL)
# midway. None may be lost, none counted twice, no challenge used more than once, and every
# client retry must be answered (the load client retries with the same Idempotency-Key).
#
# Usage: test_ha.sh PVATTESTD PVATTESTD_LOAD [COUNT]
# Skips (77) without PostgreSQL 15 or HAProxy, or when not run as root (the throwaway
# cluster runs as the postgres user).
set -u
PVATTESTD=$(realpath "$1") LOAD=$(realpath "$2") COUNT=${3:-20000}
. "$(dirname "$0")/../cli/lib.sh"
T=600
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/initdb" ] || { echo "SKIP: PostgreSQL 15 not installed (scripts/install-deps.sh)"; exit 77; }
command -v haproxy >/dev/null || { echo "SKIP: haproxy not installed (scripts/install-deps.sh)"; exit 77; }
[ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 ||
	{ echo "SKIP: needs root and the postgres user for a throwaway cluster"; exit 77; }

make_tmp ha
cd "$tmp" || exit 1
chown postgres "$tmp"
N1= N2= HA= PGUP=
cleanup() {
	for p in $N1 $N2 $HA; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -z "$PGUP" ] || runuser -u postgres -- "$PGBIN/pg_ctl" -D "$tmp/pg" -m immediate -w stop >/dev/null 2>&1
}
# free_port: a port nothing listens on now (loopback)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PGPORT=$(free_port)
runuser -u postgres -- "$PGBIN/initdb" -D "$tmp/pg" -A trust -U pvk >initdb.log 2>&1 &&
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" \
		-o "-k $tmp -h 127.0.0.1 -p $PGPORT -c max_connections=100 -c fsync=on" -w start >/dev/null 2>&1 &&
	PGUP=1
check "a throwaway PostgreSQL cluster on 127.0.0.1:$PGPORT" test -n "$PGUP" || { cat initdb.log; finish; }
psql() { command psql -h 127.0.0.1 -p "$PGPORT" -U pvk -qAt "$@"; }
psql -d postgres -c 'CREATE DATABASE pvattestd' || { fail "createdb"; finish; }

cat >node.yaml <<EOT
listen: 127.0.0.1:0
threads: 4
database: postgresql://pvk@127.0.0.1:$PGPORT/pvattestd
log_format: text
trust:
  no_verify: true
EOT
# the nodes share the key files (made once) and nothing else
run "pvattestd init (keys, schema on PostgreSQL)" 0 "" -- "$PVATTESTD" -c node.yaml -d "$tmp/keys" init || finish
"$PVATTESTD" -c node.yaml -d "$tmp/keys" --port-file p1 serve 2>n1.log &
N1=$!
"$PVATTESTD" -c node.yaml -d "$tmp/keys" --port-file p2 serve 2>n2.log &
N2=$!
for _ in $(seq 100); do [ -s p1 ] && [ -s p2 ] && break; sleep 0.1; done
check "two nodes up" test -s p1 -a -s p2 || finish
HAPORT=$(free_port)
cat >haproxy.cfg <<EOT
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout
frontend pvattest
    bind 127.0.0.1:$HAPORT
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
    server n1 127.0.0.1:$(cat p1) check inter 500 fall 2 rise 2
    server n2 127.0.0.1:$(cat p2) check inter 500 fall 2 rise 2
EOT
haproxy -f haproxy.cfg -db >haproxy.log 2>&1 &
HA=$!
for _ in $(seq 100); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$HAPORT/healthz', timeout=2)" 2>/dev/null && break
	sleep 0.1
done
check "HAProxy on 127.0.0.1:$HAPORT in front of both" grep -q . p1

# The load: challenges, then the posts; node 1 is killed once half the posts are verified.
"$LOAD" --url "http://127.0.0.1:$HAPORT" --admin-token "$tmp/keys/admin-token" --count "$COUNT" \
	--clients 8 --retries --repost >load.json 2>load.err &
L=$!
killed=
while kill -0 $L 2>/dev/null; do
	v=$(psql -d pvattestd -c "SELECT COUNT(*) FROM attestations WHERE outcome = 'verified'" 2>/dev/null)
	if [ -z "$killed" ] && [ "${v:-0}" -ge $((COUNT / 2)) ]; then
		kill -KILL "$N1"
		killed=$v
		echo "# node 1 killed at $v verified attestations"
	fi
	sleep 0.2
done
wait $L
lrc=$?
N1=
check "node 1 was killed midway" test -n "$killed"
check "the load client finished (exit 0)" test "$lrc" -eq 0 || sed 's/^/    /' load.err | head -20
cat load.json
python3 - "$COUNT" load.json >load.chk 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[2]))
assert d['verified'] == int(sys.argv[1]) and d['failed'] == 0, d
# every tenth post sent again with its key, as after a lost answer: answered again
assert d['reposted'] > 0 and d['reposted_answered'] == d['reposted'], d
print('client ok: %d verified, %d retried by the client, %d reposts answered' %
      (d['verified'], d['retried'], d['reposted_answered']))
PY
check "every attestation answered 200 with a token, every retry and repost answered" grep -q 'client ok' load.chk
cat load.chk
v=$(psql -d pvattestd -c "SELECT COUNT(*) FROM attestations WHERE outcome = 'verified'")
check "none lost, none counted twice: $v verified on record for $COUNT" test "$v" -eq "$COUNT"
d=$(psql -d pvattestd -c "SELECT COUNT(*) FROM (SELECT challenge FROM attestations WHERE outcome = 'verified' GROUP BY challenge HAVING COUNT(*) > 1) x")
check "no challenge verified twice" test "$d" -eq 0
u=$(psql -d pvattestd -c "SELECT COUNT(*) FROM challenges WHERE used_at IS NOT NULL")
c=$(psql -d pvattestd -c "SELECT COUNT(*) FROM challenges")
check "every challenge used once: $u of $c" test "$u" -eq "$COUNT"
r=$(psql -d pvattestd -c "SELECT COUNT(*) FROM attestations WHERE outcome <> 'verified'")
check "no refusal (no retry or repost taken for a replay): $r" test "$r" -eq 0
n1=$(grep -c 'POST /v1/attestations 200' n1.log)
n2=$(grep -c 'POST /v1/attestations 200' n2.log)
echo "# node 1 verified $n1 before it was killed, node 2 $n2"
check "both nodes answered attestations" test "$n1" -gt 0 -a "$n2" -gt 0
finish
