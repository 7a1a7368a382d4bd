#!/usr/bin/env bash
# Signed calls sustained on ONE session: the replay-cache soak (issue 11).
#   bench/soak.sh [duration] [rate] [clients] [extra serve flags...]
#   (defaults 10m, 2000 calls/s in all, 8 clients)
# Starts the gateway (demo mode, no feed, replay settings at their defaults,
# the per-user rate limit raised so that only the replay cache can refuse),
# logs in once and sends signed auth/ping requests, each with a fresh UUID-sized
# id, from all clients on that one session, paced at the rate. Prints the load
# generator's JSON (with counts by HTTP status: 429 is rateLimited) and the
# gateway's VmRSS every 30 s and VmHWM at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10m}
R=${2:-2000}
C=${3:-8}
shift $(( $# < 3 ? $# : 3 ))
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load

"$out/qconnect" serve --listen 127.0.0.1:18282 --demo-size 10000 \
  --rate-per-user 1000000 --rate-burst 1000000 --demo-feed=false "$@" >"$out/gw.out" 2>"$out/gw.log" &
gw=$!
for i in $(seq 100); do
  grep -q listening "$out/gw.out" 2>/dev/null && break
  sleep 0.2
done
mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$gw/status"; echo; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
echo "soak: $D at $R calls/s, $C clients, one session; gateway flags: ${*:-defaults}"
echo "before: $(mem)"
( while sleep 30; do echo "  +30s: $(mem)"; done ) &
"$out/load" ping -url http://127.0.0.1:18282 -one-session -rate "$R" -c "$C" -d "$D"
echo "after: $(mem)"
