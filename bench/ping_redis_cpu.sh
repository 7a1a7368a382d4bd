#!/usr/bin/env bash
# Where the CPU of a signed auth/ping goes, memory store against Redis
# store (the "why" table of BENCHMARKS.md, issue 12). Same set-up as
# bench/ping_redis.sh (32 clients of bench/load, Debian's redis-server on a
# free port): each gateway is loaded for 8 s and, over the middle 5 s, the
# CPU time (/proc/<pid>/task/*/stat, user + system) and context switches of
# the gateway, redis-server and the load generator are divided by the
# requests answered, along with the machine's idle share and Redis's
# commands per request (INFO commandstats).
#   bench/ping_redis_cpu.sh [tcp|unix]
set -euo pipefail
cd "$(dirname "$0")/.."
NET=${1:-tcp}
case $NET in tcp|unix) ;; *) echo "usage: bench/ping_redis_cpu.sh [tcp|unix]" >&2; exit 2 ;; esac
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/qconnect" ./cmd/qconnect
go build -o "$out/load" ./bench/load
. bench/redis_gateways.sh

# ticks and context switches of every thread of a process
sample() {
  local t=0 c=0 f a v
  for f in /proc/$1/task/*; do
    read -r -a a <"$f/stat" 2>/dev/null || continue
    t=$((t + a[13] + a[14]))
    v=$(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$f/status" 2>/dev/null || echo 0)
    c=$((c + v))
  done
  echo "$t $c"
}
cmds() { "${RCLI[@]}" info commandstats | awk -F'[:=,]' '/^cmdstat_(set|evalsha):/ {printf "%s=%s ", $1, $3}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3), Redis over $NET, clock ticks of $(getconf CLK_TCK)/s"
run() { # label port gateway-pid
  "$out/load" ping -url "http://127.0.0.1:$2" -c 32 -d 8s >"$out/res" &
  local L=$!
  sleep 2
  read -r g0 gc0 < <(sample "$3"); read -r r0 rc0 < <(sample $RPID); read -r l0 lc0 < <(sample $L)
  local i0 c0; i0=$(awk '/^cpu / {print $5}' /proc/stat); c0=$(cmds)
  sleep 5
  read -r g1 gc1 < <(sample "$3"); read -r r1 rc1 < <(sample $RPID); read -r l1 lc1 < <(sample $L)
  local i1 c1; i1=$(awk '/^cpu / {print $5}' /proc/stat); c1=$(cmds)
  wait $L
  python3 - "$1" "$(cat "$out/res")" "$g1-$g0" "$r1-$r0" "$l1-$l0" "$gc1-$gc0" "$rc1-$rc0" "$lc1-$lc0" "$i1-$i0" "$c0" "$c1" "$(getconf CLK_TCK)" "$(nproc)" <<'PY'
import json, sys
label, res = sys.argv[1], json.loads(sys.argv[2])
d = [eval(x) for x in sys.argv[3:10]]
hz, cores = int(sys.argv[12]), int(sys.argv[13])
def stats(s):
    return {k.split('_', 1)[1]: int(v) for k, v in (p.split('=') for p in s.split())}
c0, c1 = stats(sys.argv[10]), stats(sys.argv[11])
n = res['rps'] * 5
us = lambda ticks: ticks / hz / n * 1e6
per = {k: (c1.get(k, 0) - c0.get(k, 0)) / n for k in ('set', 'evalsha')}
print(f"{label}: {res['rps']:.0f} requests/s, p50 {res['p50_ms']} ms | CPU per request: gateway {us(d[0]):.1f} µs, "
      f"redis-server {us(d[1]):.1f} µs, load generator {us(d[2]):.1f} µs | context switches per request: "
      f"{d[3]/n:.2f}, {d[4]/n:.2f}, {d[5]/n:.2f} | idle {d[6]/(hz*cores*5)*100:.1f} % | "
      f"Redis commands per request: SET {per['set']:.2f}, EVALSHA {per['evalsha']:.3f}")
PY
}
run "memory store" $MEMPORT $MPID
run "Redis store " $REDPORT $GPID
