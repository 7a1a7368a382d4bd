#!/usr/bin/env bash
# WebSocket fan-out: 1 publisher and N WebSocket subscribers on loopback, at
# a few publish rates, against two servers in the same run:
#   - bare: bench/fanout/bare, a broadcaster on coder/websocket that encodes
#     each publish's frame once and queues it to every socket (no auth, no
#     hub, no storage): the peer;
#   - gateway: `qconnect serve` in demo mode with --demo-feed=false, the
#     publisher's signed REST publishes to marketData/pubTrades, the
#     subscribers' marketData/subTrades.
# The same client (bench/fanout) decodes every frame as JSON and checks seq,
# and measures delivered updates and rows/s, publish-to-receive latency,
# gaps, and the server's CPU and memory from /proc.
#   bench/fanout.sh [subscribers] [duration] [rates...]   (default 1000 10s 10 50 100)
# ROWS=k publishes k trades per call (default 1). Each rate runs against a
# fresh server. Prints the machine and one JSON line per server and rate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
D=${2:-10s}
shift $(( $# > 2 ? 2 : $# ))
RATES=${*:-10 50 100}
ROWS=${ROWS:-1}
out=$(mktemp -d)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$out"' EXIT
bin=${QCONNECT_BIN:-}
if [ -z "$bin" ]; then go build -o "$out/qconnect" ./cmd/qconnect; bin="$out/qconnect"; fi
go build -o "$out/fanout" ./bench/fanout
go build -o "$out/bare" ./bench/fanout/bare
ulimit -n 8192 2>/dev/null || true

wait_listening() {
  for i in $(seq 150); do grep -q listening "$1" 2>/dev/null && return 0; sleep 0.2; done
  cat "$2"; exit 1
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3), load $(cut -d' ' -f1 /proc/loadavg); server and load generator share the cores"
for rate in $RATES; do
  "$out/bare" -listen 127.0.0.1:19091 >"$out/bare.out" 2>"$out/bare.log" &
  srv=$!
  wait_listening "$out/bare.out" "$out/bare.log"
  echo "bare, rate $rate publishes/s × $ROWS rows, $N subscribers, $D:"
  "$out/fanout" -bare -addr 127.0.0.1:19091 -pid "$srv" -subs "$N" -rate "$rate" -rows "$ROWS" -d "$D"
  kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""

  "$bin" serve --listen 127.0.0.1:18081 --demo-size 10000 --demo-feed=false \
    --rate-per-user 1000000 --rate-burst 1000000 --ws-max-per-session 100000 --ws-max-per-user 100000 \
    --log-level warn ${QCONNECT_ARGS:-} >"$out/gw.out" 2>"$out/gw.log" &
  srv=$!
  wait_listening "$out/gw.out" "$out/gw.log"
  echo "gateway, rate $rate publishes/s × $ROWS rows, $N subscribers, $D:"
  "$out/fanout" -addr 127.0.0.1:18081 -pid "$srv" -subs "$N" -rate "$rate" -rows "$ROWS" -d "$D"
  kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
done
