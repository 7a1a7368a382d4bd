#!/usr/bin/env bash
# REST publishing throughput: signed publishes to marketData/pubTrades of 1
# row and of 1,000 rows per call, against the signed auth/ping as the peer,
# same gateway, same run, same load generator (bench/load).
#   bench/publish.sh [duration] [clients...]     (default 10s, clients 1 8)
# QCONNECT_BIN=path runs another gateway binary (e.g. an older commit's,
# for "before" figures); QCONNECT_ARGS adds gateway flags (e.g.
# "--publish-ack stored"). Prints the machine and one JSON line per
# measure; used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10s}
shift $(( $# > 1 ? 1 : $# ))
CLIENTS=${*:-1 8}
out=$(mktemp -d)
gw=""
trap '[ -n "$gw" ] && kill "$gw" 2>/dev/null; rm -rf "$out"' EXIT
bin=${QCONNECT_BIN:-}
if [ -z "$bin" ]; then go build -o "$out/qconnect" ./cmd/qconnect; bin="$out/qconnect"; fi
go build -o "$out/load" ./bench/load

row='{"time":"2024-07-26T12:00:00Z","sym":"ZPUB","price":100.5,"size":100,"side":"buy"}'
one="{\"rows\":[$row]}"
batch="{\"rows\":[$(python3 -c "import sys; print(','.join([sys.argv[1]]*1000))" "$row")]}"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), load $(cut -d' ' -f1 /proc/loadavg)"
"$bin" serve --listen 127.0.0.1:18082 --demo-size 10000 --demo-feed=false --max-sessions-per-user 64 \
  --rate-per-user 1000000 --rate-burst 1000000 --log-level warn ${QCONNECT_ARGS:-} >"$out/gw.out" 2>"$out/gw.log" &
gw=$!
for i in $(seq 150); do grep -q listening "$out/gw.out" 2>/dev/null && break; sleep 0.2; done
grep -q listening "$out/gw.out" || { cat "$out/gw.log"; exit 1; }
url=http://127.0.0.1:18082
for c in $CLIENTS; do
  echo "signed ping, $c clients:        $("$out/load" ping -url $url -c "$c" -d "$D")"
  echo "publish 1 row, $c clients:      $("$out/load" call -url $url -method marketData/pubTrades -params "$one" -c "$c" -d "$D")"
  echo "publish 1,000 rows, $c clients: $("$out/load" call -url $url -method marketData/pubTrades -params "$batch" -c "$c" -d "$D")"
done
