#!/usr/bin/env bash
# Cross-gateway fan-out: three gateways sharing one Redis (Debian's
# redis-server, started here), one publisher (signed REST publishes to
# marketData/pubTrades through gateway 1) and N WebSocket subscribers of
# marketData/subTrades spread evenly over the three gateways. bench/fanout
# measures delivered updates/s, publish-to-receive latency (p50/p99) and
# seq gaps; CPU and memory are gateway 1's.
#   bench/fanout_cluster.sh [subscribers] [duration] [rates...]   (default 1000 10s 10 50)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
D=${2:-10s}
shift $(( $# > 2 ? 2 : $# ))
RATES=${*:-10 50}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/fanout" ./bench/fanout
ulimit -n 8192 2>/dev/null || true
redis-server --port 16391 --bind 127.0.0.1 --dir "$out" --save "" --appendonly no >"$out/redis.log" 2>&1 &
for i in $(seq 50); do redis-cli -p 16391 ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f1-3); Redis, three gateways and the load generator share the cores"
for rate in $RATES; do
  redis-cli -p 16391 flushall >/dev/null
  pids=()
  for p in 18101 18102 18103; do
    "$out/qconnect" serve --listen 127.0.0.1:$p --redis redis://127.0.0.1:16391/0 --demo-size 10000 --demo-feed=false \
      --max-sessions-per-user 64 --rate-per-user 1000000 --rate-burst 1000000 --ws-max-per-session 100000 --ws-max-per-user 100000 --log-level warn >"$out/gw$p.out" 2>"$out/gw$p.log" &
    pids+=($!)
  done
  for p in 18101 18102 18103; do
    for i in $(seq 150); do grep -q listening "$out/gw$p.out" 2>/dev/null && break; sleep 0.2; done
    grep -q listening "$out/gw$p.out" || { cat "$out/gw$p.log"; exit 1; }
  done
  echo "rate $rate publishes/s × 1 row through gateway 1, $N subscribers over 3 gateways, $D:"
  "$out/fanout" -addr 127.0.0.1:18101 -sub-addrs 127.0.0.1:18101,127.0.0.1:18102,127.0.0.1:18103 \
    -pid "${pids[0]}" -subs "$N" -rate "$rate" -rows 1 -d "$D"
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
done
