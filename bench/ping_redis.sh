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
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load
. bench/redis_gateways.sh

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
