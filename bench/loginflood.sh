#!/usr/bin/env bash
# Login flood (issue 8): signed-call latency of logged-in users while 300
# concurrent wrong-password logins hammer the gateway, from one address (the
# per-address throttle stops it) and from many loopback addresses (the
# hashing bound, --login-concurrency, holds it). bench/loginflood measures.
#   bench/loginflood.sh [flood] [duration] [addrs...]   (default 300 10s 1 100)
# Each addrs value N runs against a fresh demo gateway (bcrypt cost 10, the
# demo user's), the flood spread over N source addresses and N usernames.
# QCONNECT=path/to/qconnect runs another build (e.g. one from before the fix). Prints the machine and two JSON lines per run; used for
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD=${1:-300}
D=${2:-10s}
shift $(( $# > 2 ? 2 : $# ))
ADDRS=${*:-1 100}
out=$(mktemp -d)
gw=""
trap '[ -n "$gw" ] && kill "$gw" 2>/dev/null; rm -rf "$out"' EXIT
if [ -n "${QCONNECT:-}" ]; then cp "$QCONNECT" "$out/qconnect"; else go build -o "$out/qconnect" ./cmd/qconnect; fi
go build -o "$out/loginflood" ./bench/loginflood
ulimit -n 8192 2>/dev/null || true

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3); gateway and load generator share the cores"
for addrs in $ADDRS; do
  "$out/qconnect" serve --listen 127.0.0.1:18281 --demo-size 10000 --demo-feed=false \
    --rate-per-user 1000000 --rate-burst 1000000 --max-sessions-per-user 64 --log-level warn >"$out/gw.out" 2>"$out/gw.log" &
  gw=$!
  for i in $(seq 150); do grep -q listening "$out/gw.out" 2>/dev/null && break; sleep 0.2; done
  grep -q listening "$out/gw.out" || { cat "$out/gw.log"; exit 1; }
  echo "flood of $FLOOD wrong-password logins from $addrs address(es), $D per phase, default --login-concurrency (half the cores) and --login-queue-wait 1s:"
  "$out/loginflood" -url http://127.0.0.1:18281 -flood "$FLOOD" -addrs "$addrs" -victims "$addrs" -c 4 -d "$D"
  kill "$gw"; wait "$gw" 2>/dev/null || true; gw=""
done
