#!/usr/bin/env bash
# Small analytics vs the signed ping, same gateway, same run (issue 11):
#   bench/vwap.sh [duration] [clients] [extra serve flags...]   (default 10s 32)
# Starts the gateway in demo mode (default demo size: 1M trades, 3M quotes;
# no feed; per-user limits raised so that only the work limits throughput),
# then drives, with bench/load and the same number of clients:
#   1. signed auth/ping;
#   2. marketData/getVwap for one symbol (AAPL) over the whole day;
#   3. getVwap for one symbol and one hour (start/end given);
#   4. getVwap with one client (the latency of one call).
# Prints each JSON line and the ratios to the ping (calls/s and p99).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10s}
C=${2:-32}
shift $(( $# < 2 ? $# : 2 ))
PORT=${PORT:-18383}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load
"$out/qconnect" serve --listen 127.0.0.1:$PORT --demo=true --demo-feed=false \
  --rate-per-user 1000000 --rate-burst 1000000 --max-concurrent-per-user 64 --max-sessions-per-user 64 \
  "$@" >"$out/gw.out" 2>"$out/gw.log" &
for _ in $(seq 600); do grep -q listening "$out/gw.out" 2>/dev/null && break; sleep 0.2; done
U=http://127.0.0.1:$PORT
day=$("$out/qconnect" call 127.0.0.1:$PORT kxSupport 12345678 marketData/getTrades --params '{"syms":["AAPL"]}' --format csv 2>/dev/null | sed -n 2p | cut -d, -f1 | cut -c1-10)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3); demo day $day; gateway flags: ${*:-defaults}"
ping=$("$out/load" ping -url $U -c "$C" -d "$D")
vwap=$("$out/load" call -url $U -method marketData/getVwap -params '{"syms":["AAPL"]}' -c "$C" -d "$D")
hour=$("$out/load" call -url $U -method marketData/getVwap -params '{"syms":["AAPL"],"start":"'"$day"'T14:00:00Z","end":"'"$day"'T15:00:00Z"}' -c "$C" -d "$D")
one=$("$out/load" call -url $U -method marketData/getVwap -params '{"syms":["AAPL"]}' -c 1 -d "$D")
echo "signed ping, $C clients:            $ping"
echo "getVwap AAPL whole day, $C clients: $vwap"
echo "getVwap AAPL one hour, $C clients:  $hour"
echo "getVwap AAPL whole day, 1 client:   $one"
python3 - "$ping" "$vwap" "$hour" <<'PY'
import json, sys
p, v, h = (json.loads(a) for a in sys.argv[1:])
for name, x in (("whole day", v), ("one hour", h)):
    print(f"getVwap {name}: {x['rps']/p['rps']:.3f}x the ping's calls/s (goal >= 0.1), p99 {x['p99_ms']/max(p['p99_ms'],1e-9):.2f}x the ping's p99 (goal <= 3)")
PY
