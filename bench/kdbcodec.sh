#!/usr/bin/env bash
# kdb+ codec benchmark of issue 10, for BENCHMARKS.md: decode and encode a
# trade table (time, sym, price, size, side) of ROWS rows with kdb/ipc, and
# node-q's deserialize and serialize on the same bytes, in MB/s of message.
#
#   bench/kdbcodec.sh [rows] [go-runs] [node-runs]     (default 1000000 5 3)
#
# Each figure is the best of its runs (wall time, one core busy). The
# message is written once by the Go side (bench/kdbcodec) and read by the
# node-q side (bench/kdbcodec/nodeq.js, node-q from e2e/nodeq's lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
GORUNS=${2:-5}
NODERUNS=${3:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd e2e/nodeq && [ -d node_modules/node-q ] || npm ci --no-audit --no-fund --loglevel=error)
go build -o "$out/kdbcodec" ./bench/kdbcodec
echo "== $ROWS-row trade table; $(nproc) cores; $(go version | cut -d' ' -f3); node $(node --version)"
"$out/kdbcodec" -rows "$ROWS" -runs "$GORUNS" -out "$out/trades.bin" | tee "$out/go.txt"
NODE_PATH=e2e/nodeq/node_modules timeout 600 node bench/kdbcodec/nodeq.js "$out/trades.bin" "$NODERUNS" | tee "$out/node.txt"
rate() { awk -F'\t' -v w="$2" '$2==w {sub(/ MB\/s/,"",$5); print $5}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0fx", a/b}'; }
echo "== ratios (kdb/ipc vs node-q)"
echo "decode columnar vs deserialize (rows):    $(ratio "$(rate "$out/go.txt" "decode (columnar)")" "$(rate "$out/node.txt" "deserialize (rows)")")"
echo "decode Go values vs deserialize (columns): $(ratio "$(rate "$out/go.txt" "decode (Go values)")" "$(rate "$out/node.txt" "deserialize (columns)")")"
echo "encode vs serialize:                      $(ratio "$(rate "$out/go.txt" "encode")" "$(rate "$out/node.txt" "serialize")")"
