#!/usr/bin/env bash
# bench/ldap.sh - Gatehouse LDAP against a throwaway OpenLDAP slapd, same users, same load, one run.
#
# Usage: bench/ldap.sh [-n "1000 10000 100000"] [-c 4] [-d 10] [--no-slapd] [--quick]
#
# For each user count N it seeds Gatehouse (bench/seed.ts) and a slapd peer with the same users
# (user00000..user{N-1}, one password, groups of 50), then runs the shared load driver
# (/work/shared/bench/ldap-load.sh, python-ldap engine) against both at the same concurrency:
#   bind    repeated binds of the same credentials on a persistent connection, over the first
#           min(N, 500) users, each bound once beforehand (Gatehouse: verified-credential cache
#           warm; slapd: {SSHA}, its fastest scheme)
#   search  (&(objectClass=inetOrgPerson)(uid=<random>)) subtree, as a search account
#   group   (&(objectClass=groupOfNames)(member=<user DN>))
#   first   binds that pay the hash each time at equal argon2id cost (Gatehouse cache off;
#           slapd {ARGON2} argon2id m=19 MiB t=2 p=1)
#   paged   the whole subtree with the Simple Paged Results control (500 per page), entries/s
# and prints the figures side by side with the ratio Gatehouse/slapd, plus Gatehouse's resident
# memory after the load. Loopback only; everything it starts it stops.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
SHARED=${GATEHOUSE_SHARED_BENCH:-$(cd "$root/../shared/bench" 2>/dev/null && pwd || true)}
[ -x "$SHARED/ldap-load.sh" ] || { echo "shared bench scripts not found (set GATEHOUSE_SHARED_BENCH)" >&2; exit 1; }

SIZES="1000 10000 100000" CONC=4 DUR=10 SLAPD=1
while [ $# -gt 0 ]; do
  case "$1" in
    -n) SIZES=$2; shift 2;;
    -c) CONC=$2; shift 2;;
    -d) DUR=$2; shift 2;;
    --no-slapd) SLAPD=0; shift;;
    --quick) SIZES=1000; DUR=5; shift;;
    *) echo "unknown option $1" >&2; exit 1;;
  esac
done

# The load driver needs python-ldap (Debian python3-ldap); pick the python3 that has it.
for p in /usr/bin/python3 $(type -ap python3); do
  if "$p" -c 'import ldap' 2>/dev/null; then export PYTHON=$p; break; fi
done
[ -n "${PYTHON:-}" ] || { echo "no python3 with python-ldap (apt-get install -y python3-ldap)" >&2; exit 1; }

PW='Passw0rd!'
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
results=$(mktemp)
cleanup() {
  [ -n "${GH_PID:-}" ] && kill "$GH_PID" 2>/dev/null || true
  [ -n "${SLAPD_DIR:-}" ] && "$SHARED/slapd-peer.sh" stop "$SLAPD_DIR" >/dev/null 2>&1 || true
  [ -n "${WORK:-}" ] && rm -rf "$WORK" || true
  rm -f "$results"
}
trap cleanup EXIT

(cd "$root" && npm run build >/dev/null)

# Run as `npm start` runs it (the 1 GiB heap cap of package.json).
start_gatehouse() { # dir port cache_ttl
  GATEHOUSE_DATA_DIR="$1/data" GATEHOUSE_CERTS_DIR="$1/certs" GATEHOUSE_BIND_ADDRESS=127.0.0.1 \
    GATEHOUSE_HTTP_PORT=0 GATEHOUSE_LDAP_PORT="$2" GATEHOUSE_LDAPS_PORT=0 GATEHOUSE_RADIUS_PORT=0 \
    GATEHOUSE_RADIUS_ACCOUNTING_PORT=0 GATEHOUSE_LOG_LEVEL=warn GATEHOUSE_CREDENTIAL_CACHE_TTL="$3" \
    NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=1024}" node "$root/dist/main.js" >"$1/gatehouse.log" 2>&1 &
  GH_PID=$!
  for _ in $(seq 1 100); do
    ldapsearch -x -LLL -H "ldap://127.0.0.1:$2" -b "" -s base >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "Gatehouse did not start; log:" >&2; tail -20 "$1/gatehouse.log" >&2; exit 1
}
stop_gatehouse() { kill "$GH_PID" 2>/dev/null; wait "$GH_PID" 2>/dev/null || true; GH_PID=""; }

paged() { # label url base binddn
  local t0 t1 n
  t0=$(date +%s.%N)
  n=$(ldapsearch -x -LLL -H "$2" -D "$4" -w "$PW" -b "$3" -E pr=500/noprompt '(objectClass=inetOrgPerson)' uid 2>/dev/null | grep -c '^dn:' || true)
  t1=$(date +%s.%N)
  awk -v l="$1" -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "RESULT engine=ldapsearch mode=paged entries=%d secs=%.2f ops_s=%.1f %s\n", n, b - a, n / (b - a), l }'
}

load() { # label url base people modes pid [users]
  "$SHARED/ldap-load.sh" -H "$2" -b "$3" --people "$4" -n "${7:-$N}" -w "$PW" -c "$CONC" -d "$DUR" -m "$5" -e python \
    --search-dn "uid=user00000,$4,$3" --pid "$6" --label "$1" 2>/dev/null | grep '^RESULT' | sed "s/users=[0-9]* /users=$N /" || true
}

# Repeated credentials: the first REPEAT users, each bound once (warm-up), then the measured load.
REPEAT_MAX=500
warm() { # url base people
  local i n=$(( N < REPEAT_MAX ? N : REPEAT_MAX ))
  for i in $(seq 0 $((n - 1))); do
    printf 'uid=user%05d,%s,%s\n' "$i" "$3" "$2"
  done | xargs -P 4 -I{} ldapwhoami -x -H "$1" -D {} -w "$PW" >/dev/null 2>&1 || true
}

for N in $SIZES; do
  WORK=$(mktemp -d /tmp/gatehouse-ldap-bench.XXXXXX)
  echo "== $N users" >&2
  eval "$(cd "$root" && npx tsx bench/seed.ts --data "$WORK" --users "$N" --password "$PW")"
  PORT=$(free_port)
  start_gatehouse "$WORK" "$PORT" 300
  URL="ldap://127.0.0.1:$PORT"
  warm "$URL" "$BASE" "ou=Users"
  load "sys=gatehouse users=$N" "$URL" "$BASE" "ou=Users" bind "$GH_PID" $(( N < REPEAT_MAX ? N : REPEAT_MAX )) | tee -a "$results"
  load "sys=gatehouse users=$N" "$URL" "$BASE" "ou=Users" search,group "$GH_PID" | tee -a "$results"
  paged "sys=gatehouse users=$N" "$URL" "$BASE" "uid=user00000,ou=Users,$BASE" | tee -a "$results"
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$GH_PID/status")
  echo "RESULT mode=rss sys=gatehouse users=$N rss_mb=$((rss / 1024))" | tee -a "$results"
  stop_gatehouse
  start_gatehouse "$WORK" "$PORT" 0
  load "sys=gatehouse users=$N cache=off" "$URL" "$BASE" "ou=Users" bind "$GH_PID" | sed 's/mode=bind/mode=first/' | tee -a "$results"
  stop_gatehouse

  if [ "$SLAPD" = 1 ]; then
    SPORT=$(free_port)
    eval "$("$SHARED/slapd-peer.sh" start -p "$SPORT" -n "$N" -s SSHA -w "$PW" 2>/dev/null)"
    load "sys=slapd users=$N" "$SLAPD_URL" "$SLAPD_BASE" "ou=people" bind "$SLAPD_PID" $(( N < REPEAT_MAX ? N : REPEAT_MAX )) | tee -a "$results"
    load "sys=slapd users=$N" "$SLAPD_URL" "$SLAPD_BASE" "ou=people" search,group "$SLAPD_PID" | tee -a "$results"
    paged "sys=slapd users=$N" "$SLAPD_URL" "$SLAPD_BASE" "uid=user00000,ou=people,$SLAPD_BASE" | tee -a "$results"
    "$SHARED/slapd-peer.sh" stop "$SLAPD_DIR" >/dev/null 2>&1; SLAPD_DIR=""
    eval "$("$SHARED/slapd-peer.sh" start -p "$SPORT" -n "$N" -s ARGON2ID --argon2 2,19456,1 -w "$PW" 2>/dev/null)"
    load "sys=slapd users=$N" "$SLAPD_URL" "$SLAPD_BASE" "ou=people" bind "$SLAPD_PID" | sed 's/mode=bind/mode=first/' | tee -a "$results"
    "$SHARED/slapd-peer.sh" stop "$SLAPD_DIR" >/dev/null 2>&1; SLAPD_DIR=""
  fi
  rm -rf "$WORK"; WORK=""
done

echo
echo "Gatehouse vs slapd, $CONC concurrent clients, ${DUR}s per measurement (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
"$PYTHON" - "$results" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=([^\s]+)', line))
    if 'mode' not in kv or 'users' not in kv: continue
    key = (int(kv['users']), kv['mode'])
    rows.setdefault(key, {})[kv.get('sys', 'gatehouse')] = kv
print(f"{'users':>7} {'workload':<8} {'gatehouse ops/s':>16} {'p50 ms':>7} {'p99 ms':>7} {'slapd ops/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}")
for (users, mode), d in sorted(rows.items()):
    if mode == 'rss':
        print(f"{users:>7} {'rss':<8} {d['gatehouse']['rss_mb']+' MB':>16}")
        continue
    g, s = d.get('gatehouse', {}), d.get('slapd', {})
    go, so = float(g.get('ops_s', 0) or 0), float(s.get('ops_s', 0) or 0)
    ratio = f"{go / so:.2f}" if go and so else '-'
    print(f"{users:>7} {mode:<8} {go:>16.1f} {g.get('p50_ms','-'):>7} {g.get('p99_ms','-'):>7} {so:>12.1f} {s.get('p50_ms','-'):>7} {s.get('p99_ms','-'):>7} {ratio:>6}")
# A paged figure is a rate over the listing each server gave; the ratio must not hide listings of
# different lengths. The slapd peer answers at most 10,000 entries (its `sizelimit`).
for (users, mode), d in sorted(rows.items()):
    if mode != 'paged' or 'gatehouse' not in d or 'slapd' not in d: continue
    ge, se = int(d['gatehouse'].get('entries', 0)), int(d['slapd'].get('entries', 0))
    for name, n in (('Gatehouse', ge), ('slapd', se)):
        if n != users:
            why = " (the peer's sizelimit)" if name == 'slapd' and n == 10000 else ''
            print(f"note: {users} users, paged: {name} listed {n} of {users} entries{why}; the ratio compares rates over listings of different lengths")
# The issue's scaling target: Gatehouse's search p50 at each size against the smallest size's.
sizes = sorted({u for (u, m) in rows if m == 'search' and 'p50_ms' in rows[(u, m)].get('gatehouse', {})})
if len(sizes) > 1:
    base = float(rows[(sizes[0], 'search')]['gatehouse']['p50_ms'])
    for u in sizes[1:]:
        p50 = float(rows[(u, 'search')]['gatehouse']['p50_ms'])
        target = f" (target at 100k users <= 1.2x: {'met' if p50 <= 1.2 * base else 'not met'})" if u == 100000 and sizes[0] == 1000 else ''
        print(f"search p50 at {u} users: {p50} ms, {p50 / base:.2f}x the {sizes[0]}-user {base} ms{target}")
PY
