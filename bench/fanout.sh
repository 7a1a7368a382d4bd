#!/usr/bin/env bash
# WebSocket fan-out: 1 publisher (signed REST publishes to
# marketData/pubTrades) and N WebSocket subscribers of marketData/subTrades
# on loopback, at a few publish rates (bench/fanout measures delivered
# updates/s, publish-to-receive latency, seq gaps, and the gateway's CPU and
# memory from /proc).
#   bench/fanout.sh [subscribers] [duration] [rates...]   (default 1000 10s 10 50 100)
# Each rate runs against a fresh gateway. Prints the machine and one JSON
# line per rate; used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
D=${2:-10s}
shift $(( $# > 2 ? 2 : $# ))
RATES=${*:-10 50 100}
out=$(mktemp -d)
gw=""
trap '[ -n "$gw" ] && kill "$gw" 2>/dev/null; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/fanout" ./bench/fanout
ulimit -n 8192 2>/dev/null || true

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3); gateway and load generator share the cores"
for rate in $RATES; do
  "$out/qconnect" serve --listen 127.0.0.1:18081 --demo-size 10000 --demo-feed=false \
    --rate-per-user 1000000 --rate-burst 1000000 --log-level warn >"$out/gw.out" 2>"$out/gw.log" &
  gw=$!
  for i in $(seq 150); do grep -q listening "$out/gw.out" 2>/dev/null && break; sleep 0.2; done
  grep -q listening "$out/gw.out" || { cat "$out/gw.log"; exit 1; }
  echo "rate $rate publishes/s × 1 row, $N subscribers, $D:"
  "$out/fanout" -addr 127.0.0.1:18081 -pid "$gw" -subs "$N" -rate "$rate" -rows 1 -d "$D"
  kill "$gw"; wait "$gw" 2>/dev/null || true; gw=""
done
