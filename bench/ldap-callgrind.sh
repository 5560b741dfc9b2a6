#!/usr/bin/env bash
# bench/ldap-callgrind.sh - instructions per LDAP search of a build, counted by callgrind.
#
# Usage: bench/ldap-callgrind.sh [-u USERS] [-w WARMUP] [-n REQUESTS] [-m search|group] [-k KEEP_DIR] DATA_DIR DIST [DIST ...]
#
# Wall-clock rates on a shared 2-core machine drift by 20-30% within minutes, more than most
# changes are worth, so alternating builds cannot tell them apart. callgrind counts the
# instructions the server process executes (all its threads, user space only, not the kernel's
# socket work), which depend on the build and the requests, not on what else the machine does.
# For each build (a `dist/` directory), in turn: Gatehouse starts under valgrind on DATA_DIR
# (seeded by bench/seed.ts with USERS users, its output in DATA_DIR/env) with instrumentation off, a
# python-ldap client warms it up (JIT, user index), instrumentation is switched on for REQUESTS
# searches by one client, then the counts are dumped. Spread seen: ±1% with 4,000 warm-up and
# 8,000 measured searches, ±5% with 1,500 and 2,000 (V8 compiles and collects on its own timing).
# With -k, each build's callgrind files are kept in KEEP_DIR/<n> (n: the build's place in the
# list) for callgrind_annotate. Takes about a minute per build at these sizes. Loopback only; everything it starts it stops.
set -euo pipefail
WARM=4000 N=8000 MODE=search USERS=1000 KEEP=""
while getopts "u:w:n:m:k:" o; do
  case "$o" in
    u) USERS=$OPTARG;;
    w) WARM=$OPTARG;;
    n) N=$OPTARG;;
    m) MODE=$OPTARG;;
    k) KEEP=$OPTARG;;
    *) exit 1;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n '4p' "$0" >&2; exit 1; }
DATA=$1
shift
DISTS=("$@")
[ -f "$DATA/env" ] || { echo "no $DATA/env: seed it with npx tsx bench/seed.ts --data DIR --users N --password 'Passw0rd!' > DIR/env" >&2; exit 1; }
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || { echo "valgrind not installed (apt-get install -y valgrind)" >&2; exit 1; }
for p in /usr/bin/python3 $(type -ap python3); do
  if "$p" -c 'import ldap' 2>/dev/null; then PYTHON=$p; break; fi
done
[ -n "${PYTHON:-}" ] || { echo "no python3 with python-ldap (apt-get install -y python3-ldap)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$DATA/env"
out=$(mktemp -d /tmp/gatehouse-callgrind.XXXXXX)
VP=""
cleanup() { [ -n "$VP" ] && kill "$VP" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT

client() { # port count
  "$PYTHON" - "ldap://127.0.0.1:$1" "$BASE" "$2" "$MODE" "$USERS" <<'PY'
import random, sys
import ldap
url, base, n, mode, users = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
c = ldap.initialize(url)
c.protocol_version = 3
c.simple_bind_s("uid=user00000,ou=Users," + base, "Passw0rd!")
rnd = random.Random(42)
for _ in range(n):
    uid = "user%05d" % rnd.randrange(users)
    if mode == "search":
        r = c.search_ext_s(base, ldap.SCOPE_SUBTREE, "(&(objectClass=inetOrgPerson)(uid=%s))" % uid, ["uid", "cn", "mail", "displayName", "uidNumber", "gidNumber", "memberOf"])
        assert len(r) == 1, r
    else:
        c.search_ext_s(base, ldap.SCOPE_SUBTREE, "(&(objectClass=groupOfNames)(member=uid=%s,ou=Users,%s))" % (uid, base), ["cn"])
PY
}

built=0
for dist in "${DISTS[@]}"; do
  built=$((built + 1))
  port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  GATEHOUSE_DATA_DIR="$DATA/data" GATEHOUSE_CERTS_DIR="$DATA/certs" GATEHOUSE_BIND_ADDRESS=127.0.0.1 \
    GATEHOUSE_HTTP_PORT=0 GATEHOUSE_LDAP_PORT="$port" GATEHOUSE_LDAPS_PORT=0 GATEHOUSE_RADIUS_PORT=0 \
    GATEHOUSE_RADIUS_ACCOUNTING_PORT=0 GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_CREDENTIAL_CACHE_TTL=300 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
    node --max-old-space-size=1024 "$dist/main.js" >"$out/server.log" 2>&1 &
  VP=$!
  for _ in $(seq 600); do
    ldapsearch -x -H "ldap://127.0.0.1:$port" -b "" -s base >/dev/null 2>&1 && break
    sleep 1
  done
  client "$port" "$WARM"
  callgrind_control -z "$VP" >/dev/null 2>&1
  callgrind_control -i on "$VP" >/dev/null 2>&1
  client "$port" "$N"
  callgrind_control -i off "$VP" >/dev/null 2>&1
  callgrind_control -d "$VP" >/dev/null 2>&1
  sleep 2
  kill "$VP"; wait "$VP" 2>/dev/null || true; VP=""
  total=$(cat "$out"/cg.* | awk '/^totals:/ {s += $2} END {printf "%.0f", s}')
  echo "RESULT build=$dist mode=$MODE users=$USERS requests=$N instructions=$total per_request=$((total / N))"
  if [ -n "$KEEP" ]; then mkdir -p "$KEEP/$built" && mv "$out"/cg.* "$KEEP/$built/"; else rm -f "$out"/cg.*; fi
done
