#!/usr/bin/env bash
# bench/radius.sh - Gatehouse's RADIUS listener against a throwaway FreeRADIUS, same load, same run.
#
# For each user count (default 1000 and 10000): starts a FreeRADIUS peer (../shared/bench/
# freeradius-peer.sh: files + PAP, cleartext passwords, Message-Authenticator required) and a
# Gatehouse (bench/radius-server.ts on the built dist/: SQLite, argon2id hashes, users in a group
# bound to the RADIUS server, verified-credential cache warmed), then runs the same PAP +
# Message-Authenticator load
# (../shared/bench/radius-load.sh: radclient and the python loader, 64 in flight) against each,
# interleaved, then an open-loop run at half of Gatehouse's closed-loop rate against both (p99).
# Finally first-time authentications (cache off: argon2id every time). Prints the RESULT lines and a
# side-by-side table with the Gatehouse/FreeRADIUS ratio. Loopback only; everything is stopped and
# deleted at the end.
#
# Each peer first takes one unmeasured round of the same load (WARMUP=0 skips it): Gatehouse's first
# 30,000 requests over UDP cost ~25% more CPU than the next (measured: 10,362 req/s at 0.102 ms CPU
# per request, then 13,343 / 13,135 at 0.079 / 0.080; V8 compiles the UDP path, the heap and the
# audit table grow), and a steady state is what the ratio is about. Then ROUNDS measured rounds,
# interleaved; the table shows each peer's median round (by req/s) and lists every round, since
# consecutive rounds on this 2-core machine differ by up to ~20%.
#
# Environment: SIZES ("1000 10000"), TOTAL (requests per closed-loop measurement, 30000),
# PAR (in flight, 64), ROUNDS (3), WARMUP (1), OPEN_SECONDS (10), PYTHON (a python3 for the
# loader), BENCH_SHARED (the shared bench scripts, default ../shared/bench next to this repo).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${BENCH_SHARED:-$ROOT/../shared/bench}
SIZES=${SIZES:-"1000 10000"}
TOTAL=${TOTAL:-30000}
PAR=${PAR:-64}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
OPEN_SECONDS=${OPEN_SECONDS:-10}
SECRET=bench-radius-secret-0123456789
PW='Passw0rd!'
FR_PORT=${FR_PORT:-18120}
export PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
[ -x "$SHARED/freeradius-peer.sh" ] || { echo "radius.sh: no $SHARED/freeradius-peer.sh (set BENCH_SHARED)" >&2; exit 1; }
command -v freeradius >/dev/null 2>&1 || command -v radiusd >/dev/null 2>&1 || { echo "radius.sh: FreeRADIUS is not installed (apt-get install freeradius)" >&2; exit 1; }

# The appliance as `node dist/main.js` runs it: built, not transformed by tsx (see radius-server.ts).
(cd "$ROOT" && npm run --silent build) || { echo "radius.sh: the build failed" >&2; exit 1; }

WORK=$(mktemp -d -t gatehouse-radius-bench.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
GH_PID="" RADIUS_DIR=""
cleanup() {
  [ -n "$GH_PID" ] && kill "$GH_PID" 2>/dev/null && wait "$GH_PID" 2>/dev/null || true
  [ -n "$RADIUS_DIR" ] && "$SHARED/freeradius-peer.sh" stop "$RADIUS_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*" >&2; }
result() { tee -a "$RESULTS"; }

start_gatehouse() { # users cache-ttl
  local env="$WORK/gh.env"
  : >"$env"
  (cd "$ROOT" && NODE_OPTIONS="${NODE_OPTIONS:---max-old-space-size=1024}" exec node --import tsx bench/radius-server.ts --dist --users "$1" --secret "$SECRET" --password "$PW" --cache-ttl "$2") >"$env" 2>"$WORK/gh.err" &
  GH_PID=$!
  local i
  for i in $(seq 1 900); do grep -q GATEHOUSE_READY "$env" 2>/dev/null && break; kill -0 "$GH_PID" 2>/dev/null || { cat "$WORK/gh.err" >&2; exit 1; }; sleep 1; done
  grep -q GATEHOUSE_READY "$env" || { echo "radius.sh: Gatehouse did not start" >&2; exit 1; }
  GH_PORT=$(sed -n 's/^GATEHOUSE_RADIUS_PORT=//p' "$env")
  echo "gatehouse: users=$1 cache_ttl=$2 port=$GH_PORT seed_s=$(sed -n 's/^GATEHOUSE_SEED_SECONDS=//p' "$env") warm_s=$(sed -n 's/^GATEHOUSE_WARM_SECONDS=//p' "$env")" >&2
}
stop_gatehouse() {
  kill "$GH_PID" 2>/dev/null || true
  wait "$GH_PID" 2>/dev/null || true
  tail -1 "$WORK/gh.err" >&2 || true
  GH_PID=""
}
load() { # label port pid users
  "$SHARED/radius-load.sh" -p "$2" -s "$SECRET" -n "$4" -w "$PW" -N "$TOTAL" -P "$PAR" -e both --pid "$3" --label "peer=$1" | grep '^RESULT' | result
}
warm_up() { # label port pid users: the same load, not recorded
  "$SHARED/radius-load.sh" -p "$2" -s "$SECRET" -n "$4" -w "$PW" -N "$TOTAL" -P "$PAR" -e both --pid "$3" --label "peer=$1" >/dev/null
}
open_loop() { # label port users rate
  (cd "$ROOT" && node --import tsx bench/radius-open-loop.ts --port "$2" --secret "$SECRET" --users "$3" --rate "$4" --seconds "$OPEN_SECONDS" --password "$PW" --label "peer=$1") | result
}
python_rate() { # label users: req/s of the median python round for that peer and size (as the table shows it)
  grep "engine=python" "$RESULTS" | grep "users=$2 " | grep "peer=$1" | sed -n 's/.*req_s=\([0-9.]*\).*/\1/p' | sort -n |
    awk '{ r[NR] = $1 } END { if (NR) print r[int((NR + 1) / 2)] }'
}

say "machine: $(nproc) cores, $(uptime)"
for N in $SIZES; do
  say "users=$N: FreeRADIUS peer"
  eval "$("$SHARED/freeradius-peer.sh" start -p "$FR_PORT" -s "$SECRET" -n "$N" -w "$PW")"
  FR_PID=$RADIUS_PID
  say "users=$N: Gatehouse (seeding and warming the credential cache)"
  start_gatehouse "$N" 300
  if [ "$WARMUP" = 1 ]; then
    say "users=$N: warm-up round (not measured), $TOTAL requests each"
    warm_up freeradius "$FR_PORT" "$FR_PID" "$N"
    warm_up gatehouse "$GH_PORT" "$GH_PID" "$N"
  fi
  for r in $(seq 1 "$ROUNDS"); do
    say "users=$N round $r: closed loop, $PAR in flight, $TOTAL requests each"
    load freeradius "$FR_PORT" "$FR_PID" "$N"
    load gatehouse "$GH_PORT" "$GH_PID" "$N"
  done
  HALF=$(awk -v r="$(python_rate gatehouse "$N")" 'BEGIN { printf "%d", r / 2 }')
  say "users=$N: open loop at half of Gatehouse's closed-loop rate ($HALF req/s)"
  open_loop gatehouse "$GH_PORT" "$N" "$HALF"
  open_loop freeradius "$FR_PORT" "$N" "$HALF"
  stop_gatehouse
  "$SHARED/freeradius-peer.sh" stop "$RADIUS_DIR" >/dev/null 2>&1 || true
  RADIUS_DIR=""
done

FIRST_N=$(echo "$SIZES" | awk '{print $1}')
say "first-time authentications (cache off, argon2id every time), users=$FIRST_N"
start_gatehouse "$FIRST_N" 0
"$SHARED/radius-load.sh" -p "$GH_PORT" -s "$SECRET" -n "$FIRST_N" -w "$PW" -N 2000 -P 16 -e python --pid "$GH_PID" --label "peer=gatehouse-first-time" | grep '^RESULT' | result
stop_gatehouse

say "summary ($(uptime))"
"${PYTHON:-python3}" - "$RESULTS" <<'PYEOF'
import re, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(sys.argv[1]) if l.startswith("RESULT")]
def rounds(engine, peer, users):
    return [r for r in rows if r.get("engine") == engine and r.get("peer") == peer and r.get("users") == users]
def rate(r):
    return float(r.get("served_req_s") or r.get("req_s") or 0)
def pick(engine, peer, users):
    # The median round by req/s (the lower middle one of an even count), with its own latency and
    # CPU; rounds that gave no rate (a radclient TIMEOUT) are left out and reported below.
    c = sorted((r for r in rounds(engine, peer, users) if rate(r) > 0), key=rate)
    return c[(len(c) - 1) // 2] if c else None
sizes = sorted({r["users"] for r in rows if r.get("peer") in ("gatehouse", "freeradius")}, key=int)
print(f"{'users':>6} {'measurement':<34} {'FreeRADIUS':>20} {'Gatehouse':>20} {'ratio':>6}")
for n in sizes:
    for engine, what in (("radclient", "closed loop, radclient -p 64"), ("python", "closed loop, python loader"), ("open-loop", "open loop at half Gatehouse rate")):
        f, g = pick(engine, "freeradius", n), pick(engine, "gatehouse", n)
        if not f or not g:
            continue
        key = "served_req_s" if engine == "open-loop" else "req_s"
        fr, gr = float(f[key]), float(g[key])
        print(f"{n:>6} {what:<34} {fr:>12.0f} req/s {gr:>12.0f} req/s {gr / fr if fr else 0:>6.2f}")
        fa, ga = rounds(engine, "freeradius", n), rounds(engine, "gatehouse", n)
        if len(fa) > 1 or len(ga) > 1:
            each = lambda rs: ", ".join(f"{rate(r):.0f}" for r in rs)
            print(f"{'':>6} {'  each round, req/s':<34} {each(fa):>20} {each(ga):>20}")
        for peer, rs in (("FreeRADIUS", fa), ("Gatehouse", ga)):
            failed = [r for r in rs if rate(r) == 0]
            if failed:
                print(f"{'':>6}   {peer}: {len(failed)} of {len(rs)} rounds gave no rate (timed out), left out of the median")
        if "p99_ms" in g:
            print(f"{'':>6} {'  p50 / p99 ms':<34} {f['p50_ms'] + ' / ' + f['p99_ms']:>20} {g['p50_ms'] + ' / ' + g['p99_ms']:>20}")
        print(f"{'':>6} {'  lost':<34} {f.get('lost', '?'):>20} {g.get('lost', '?'):>20}")
        if "srv_cpu_ms_req" in g:
            print(f"{'':>6} {'  server CPU ms per request':<34} {f['srv_cpu_ms_req']:>20} {g['srv_cpu_ms_req']:>20}")
ft = [r for r in rows if r.get("peer") == "gatehouse-first-time"]
if ft:
    r = ft[-1]
    print(f"first-time (argon2id every time, {r['users']} users): {float(r['req_s']):.0f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, lost {r['lost']}")
PYEOF
