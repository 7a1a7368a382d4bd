#!/usr/bin/env bash
# Memory budget under load (issue 11): 72 concurrent whole-day getTrades
# calls from 10 users against one gateway.
#   bench/budget.sh [budget] [calls] [extra serve flags...]   (default 1GB 72)
# Writes a users file of 10 users (u0..u9, the demo password, group demo),
# starts the gateway in demo mode (1M trades, no feed) with
# --memory-budget BUDGET (DuckDB's memory limit and the call admission;
# "" for the default settings: in demo mode the --demo-memory-limit
# budget), --max-concurrent 256 and --max-concurrent-per-user 64 so that
# only the budget holds calls back, and a 10-minute timeout; then
# starts CALLS signed marketData/getTrades calls at once (whole day, 1M rows
# each, JSON), one per client, clients spread over the 10 users, and
# reports the answers by HTTP status (502 would be DuckDB's "Out of Memory",
# 503 busy) and the gateway's VmRSS before and VmHWM (peak) over the run.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1-1GB}
N=${2:-72}
shift $(( $# < 2 ? $# : 2 ))
PORT=18484
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load
hash='$2a$10$1RYvGrpiibSr1QvaTyTY5eT5M6L0vTW4E1ZYJT.O5uRuXz6Ert6yi' # 12345678, as in examples/users.yaml
{
  echo "users:"
  for i in $(seq 0 9); do printf '  u%d:\n    password: "%s"\n    groups: [demo]\n' "$i" "$hash"; done
  printf 'groups:\n  demo:\n    allow: ["*"]\n    write: ["*"]\n'
} >"$out/users.yaml"
"$out/qconnect" serve --listen 127.0.0.1:$PORT --demo=true --users "$out/users.yaml" --demo-feed=false \
  --max-concurrent 256 --max-concurrent-per-user 64 --max-sessions-per-user 64 --timeout 10m \
  --rate-per-user 1000000 --rate-burst 1000000 ${B:+--memory-budget "$B"} "$@" >"$out/gw.out" 2>"$out/gw.log" &
gw=$!
for _ in $(seq 600); do grep -q listening "$out/gw.out" 2>/dev/null && break; sleep 0.2; done
kb() { awk -v f="$1:" '$1 == f {print int($2/1024)}' "/proc/$gw/status"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
echo "budget: ${B:-the default (demo mode: --demo-memory-limit)}; $N concurrent whole-day getTrades from 10 users; serve flags: ${*:-}"
before=$(kb VmRSS)
echo 5 >"/proc/$gw/clear_refs"
t0=$(date +%s)
res=$("$out/load" call -url http://127.0.0.1:$PORT -users u0,u1,u2,u3,u4,u5,u6,u7,u8,u9 -method marketData/getTrades \
  -params '{}' -c "$N" -n 1 -d 15m)
t1=$(date +%s)
echo "answers: $res"
echo "wall time: $((t1 - t0)) s; gateway VmRSS before: $before MiB, VmHWM during: $(kb VmHWM) MiB, VmRSS after: $(kb VmRSS) MiB"
grep -c "Out of Memory" "$out/gw.log" | sed 's/^/"Out of Memory" lines in the gateway log: /' || true
