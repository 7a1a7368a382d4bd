#!/usr/bin/env bash
# Signed auth/ping throughput vs a bare net/http handler, same machine, same
# run, same load generator (bench/load), 32 concurrent clients.
#   bench/ping.sh [duration]      (default 10s)
# Prints both JSON result lines and the ratio; used for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10s}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load

"$out/qconnect" serve --listen 127.0.0.1:18080 --demo-size 10000 --max-sessions-per-user 64 \
  --rate-per-user 1000000 --rate-burst 1000000 --demo-feed=false >"$out/gw.out" 2>"$out/gw.log" &
"$out/load" bare -listen 127.0.0.1:19090 >"$out/bare.out" 2>&1 &
for i in $(seq 100); do
  grep -q listening "$out/gw.out" 2>/dev/null && grep -q listening "$out/bare.out" 2>/dev/null && break
  sleep 0.2
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
gw=$("$out/load" ping -url http://127.0.0.1:18080 -c 32 -d "$D")
bare=$("$out/load" post -url http://127.0.0.1:19090/ -c 32 -d "$D")
echo "gateway signed ping: $gw"
echo "bare net/http:       $bare"
python3 - "$gw" "$bare" <<'PY'
import json, sys
g, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratio (gateway rps / bare rps): {g['rps']/b['rps']:.2f}")
PY
