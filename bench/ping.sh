#!/usr/bin/env bash
# Signed auth/ping throughput vs a bare net/http handler, same machine, same
# run, same load generator (bench/load), 32 concurrent clients.
#   bench/ping.sh [duration] [gateway flags...]     (default 10s)
# Both targets get the same requests from the same client code: the bare
# handler's clients sign each request exactly as the gateway's do (MD5,
# HMAC-SHA1, Authorization header; `load post -sign`), so only the server
# differs. Also prints the bare handler driven by unsigned clients (the
# peer used before, a cheaper load generator), and the CPU each side spent
# per request (server from /proc, load generator from its rusage).
# Prints the JSON result lines and the ratio; used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10s}
shift || true
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load

GWPORT=${GWPORT:-18080} BAREPORT=${BAREPORT:-19090}
"$out/qconnect" serve --listen 127.0.0.1:$GWPORT --demo-size 10000 --max-sessions-per-user 64 \
  --rate-per-user 1000000 --rate-burst 1000000 --demo-feed=false "$@" >"$out/gw.out" 2>"$out/gw.log" &
gwpid=$!
"$out/load" bare -listen 127.0.0.1:$BAREPORT >"$out/bare.out" 2>&1 &
barepid=$!
for i in $(seq 100); do
  grep -q listening "$out/gw.out" 2>/dev/null && grep -q listening "$out/bare.out" 2>/dev/null && break
  sleep 0.2
done

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; } # utime+stime, clock ticks
tck=$(getconf CLK_TCK)
# run NAME SERVERPID load-args...: one JSON line with server_us and load_us per request added
run() {
  local name=$1 pid=$2; shift 2
  local c0; c0=$(cpu "$pid")
  local res; res=$( { /usr/bin/time -f '%U %S' "$out/load" "$@" ; } 2>"$out/time.$name" )
  local c1; c1=$(cpu "$pid")
  python3 - "$res" "$c0" "$c1" "$tck" "$(tail -1 "$out/time.$name")" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); c0, c1, tck = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
u, s = map(float, sys.argv[5].split())
n = max(r['requests'], 1)
r['server_us_per_req'] = round((c1 - c0) / tck * 1e6 / n, 1)
r['load_us_per_req'] = round((u + s) * 1e6 / n, 1)
print(json.dumps(r))
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
gw=$(run gw "$gwpid" ping -url http://127.0.0.1:$GWPORT -c 32 -d "$D")
bare=$(run bare "$barepid" post -sign -url http://127.0.0.1:$BAREPORT/ -c 32 -d "$D")
plain=$(run plain "$barepid" post -url http://127.0.0.1:$BAREPORT/ -c 32 -d "$D")
echo "gateway signed ping:               $gw"
echo "bare net/http, signing clients:    $bare"
echo "bare net/http, unsigned clients:   $plain"
python3 - "$gw" "$bare" "$plain" <<'PY'
import json, sys
g, b, p = (json.loads(a) for a in sys.argv[1:])
print(f"ratio (gateway rps / bare rps, same signing clients): {g['rps']/b['rps']:.2f}")
print(f"ratio against the unsigned clients (the old peer):    {g['rps']/p['rps']:.2f}")
PY
