#!/usr/bin/env bash
# Signed auth/ping throughput with the Redis store (--redis) against the
# memory store, same machine, same run, same load generator (bench/load),
# 32 concurrent clients. Starts Debian's redis-server on a free port with a
# temporary directory.
#   bench/ping_redis.sh [duration] [tcp|unix]   (default 10s tcp)
# With "unix", redis-server listens on a Unix domain socket only and the
# Redis gateway uses --redis unix://<socket> (Redis on the gateway's host).
# Prints both JSON result lines and the ratio; used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10s}
NET=${2:-tcp}
case $NET in tcp|unix) ;; *) echo "usage: bench/ping_redis.sh [duration] [tcp|unix]" >&2; exit 2 ;; esac
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load
RPORT=${RPORT:-16390} MEMPORT=${MEMPORT:-18090} REDPORT=${REDPORT:-18091}
if [ "$NET" = unix ]; then
  redis-server --port 0 --unixsocket "$out/redis.sock" --unixsocketperm 700 --dir "$out" --save "" --appendonly no >"$out/redis.log" 2>&1 &
  RURL="unix://$out/redis.sock?db=0" RCLI=(redis-cli -s "$out/redis.sock")
else
  redis-server --port $RPORT --bind 127.0.0.1 --dir "$out" --save "" --appendonly no >"$out/redis.log" 2>&1 &
  RURL="redis://127.0.0.1:$RPORT/0" RCLI=(redis-cli -p $RPORT)
fi
common=(--demo-size 10000 --max-sessions-per-user 64 --rate-per-user 1000000 --rate-burst 1000000 --demo-feed=false --log-level warn)
"$out/qconnect" serve --listen 127.0.0.1:$MEMPORT "${common[@]}" >"$out/mem.out" 2>"$out/mem.log" &
for i in $(seq 50); do "${RCLI[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$out/qconnect" serve --listen 127.0.0.1:$REDPORT --redis "$RURL" "${common[@]}" >"$out/redis.out" 2>"$out/redis-gw.log" &
for i in $(seq 150); do
  grep -q listening "$out/mem.out" 2>/dev/null && grep -q listening "$out/redis.out" 2>/dev/null && break
  sleep 0.2
done
grep -q listening "$out/redis.out" || { cat "$out/redis-gw.log"; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), $(redis-server --version | cut -d' ' -f1-3), Redis over $NET"
mem=$("$out/load" ping -url http://127.0.0.1:$MEMPORT -c 32 -d "$D")
red=$("$out/load" ping -url http://127.0.0.1:$REDPORT -c 32 -d "$D")
echo "memory store: $mem"
echo "Redis store:  $red"
python3 - "$red" "$mem" <<'PY'
import json, sys
r, m = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio (Redis rps / memory rps): {r['rps']/m['rps']:.2f}")
PY
