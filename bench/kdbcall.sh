#!/usr/bin/env bash
# Gateway benchmark of issue 10, for BENCHMARKS.md: a signed call returning
# 100,000 trades as CSV through the gateway, served by a kdb+ backend (the
# fake q of the tests, bench/kdbcall) and by the embedded DuckDB (the demo's
# getTrades), in rows/s, with the CLI as client:
#
#   qconnect call ADDR kxSupport 12345678 marketData/getTrades --params '{"limit":100000}' --format csv -o FILE
#
#   bench/kdbcall.sh [runs]        (default 5; the best run is reported)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
out=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/kdbcall" ./bench/kdbcall
"$out/kdbcall" > "$out/q.addr" & pids+=($!)
for _ in $(seq 100); do [ -s "$out/q.addr" ] && break; sleep 0.1; done
qport=$(cut -d: -f2 "$out/q.addr")
cat > "$out/kdb.yaml" <<YAML
catalog: examples/kdb/catalog.yaml
users: examples/users.yaml
backends:
  - {name: q, kind: kdb, host: 127.0.0.1, port: $qport, user: bench}
YAML
"$out/qconnect" serve --config "$out/kdb.yaml" --listen 127.0.0.1:18191 > "$out/kdb.log" 2>&1 & pids+=($!)
"$out/qconnect" serve --demo=true --demo-feed=false --demo-size 1000000 --listen 127.0.0.1:18192 > "$out/duck.log" 2>&1 & pids+=($!)
for port in 18191 18192; do
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/connect/ready" >/dev/null && break; sleep 0.1; done
done
bench() { # name port
  local best=999999
  for _ in $(seq "$RUNS"); do
    local t0 t1 ms
    t0=$(date +%s%N)
    "$out/qconnect" call "127.0.0.1:$2" kxSupport 12345678 marketData/getTrades --params '{"limit":100000}' --format csv -o "$out/$1.csv" >/dev/null 2>&1
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    [ "$ms" -lt "$best" ] && best=$ms
  done
  local rows
  rows=$(( $(wc -l < "$out/$1.csv") - 1 ))
  printf '%s\t%d rows\t%d ms\t%d rows/s\t%d bytes\n' "$1" "$rows" "$best" $(( rows * 1000 / best )) "$(stat -c %s "$out/$1.csv")"
}
echo "== getTrades limit 100000 as CSV, best of $RUNS, login to logout; $(nproc) cores"
bench kdb 18191
bench duckdb 18192
