#!/usr/bin/env bash
# The ClickHouse peer of the export benchmark (issue 11), as a test would run it:
#   bench/export/clickhouse.sh ROWS [PORT]
# Installs ClickHouse from Debian if it is missing (apt-get install
# clickhouse-server clickhouse-client), starts clickhouse-server on loopback
# with a temporary directory for its data, logs and config, creates a
# MergeTree table `trade` with the gateway's five columns (time, sym, price,
# size, side; 50 symbols; stored ORDER BY (sym, time) like the gateway's demo
# table), fills it with ROWS generated rows, waits for its merges, then times
#   curl 'http://127.0.0.1:PORT/' --data-binary 'SELECT * FROM trade ORDER BY time FORMAT CSVWithNames'
# to a file. Prints one JSON line: rows, bytes, seconds, rowsPerSec, version.
# With ROUNDS=n and PEER_CMD (a command exporting the same rows from the
# peer under test, e.g. the gateway), it then alternates n more rounds of
# the ClickHouse export and PEER_CMD, and prints one JSON line per round
# with both times: on a shared machine the load moves between minutes, and
# alternating gives each side the same conditions.
# ClickHouse 18.16 (Debian 12) has no DateTime64: time is a DateTime (seconds).
set -euo pipefail
N=${1:?rows}
PORT=${2:-18123}
if ! command -v clickhouse-server >/dev/null && [ ! -x /usr/sbin/clickhouse-server ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client >/dev/null
fi
CH=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
dir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
cp /etc/clickhouse-server/users.xml "$dir/users.xml"
cat >"$dir/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/server.err.log</errorlog></logger>
  <http_port>$PORT</http_port>
  <tcp_port>$((PORT + 1))</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>536870912</mark_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
</yandex>
XML
"$CH" --config-file="$dir/config.xml" >"$dir/stdout" 2>&1 &
pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/stdout" "$dir/server.err.log" >&2 2>/dev/null; exit 1; }
  sleep 0.2
done
q() { curl -sSf "http://127.0.0.1:$PORT/" --data-binary "$1"; }
version=$(q "SELECT version()")
q "CREATE TABLE trade (time DateTime, sym String, price Float64, size Int64, side String) ENGINE = MergeTree ORDER BY (sym, time)"
syms="['AAPL','MSFT','NVDA','AMZN','GOOGL','META','TSLA','AVGO','JPM','V','UNH','XOM','MA','JNJ','PG','HD','COST','ABBV','MRK','CVX','KO','PEP','ADBE','CRM','NFLX','AMD','BAC','WMT','TMO','ORCL','CSCO','INTC','DIS','MCD','ABT','QCOM','TXN','IBM','CAT','GE','NKE','PFE','VZ','T','INTU','AMGN','GS','BA','HON','UPS']"
q "INSERT INTO trade SELECT toDateTime('2026-12-01 09:30:00') + intDiv(number * 23400, $N) AS time,
  $syms[1 + intHash64(number) % 50] AS sym, round(100 + (intHash64(number * 7) % 100000) / 1000, 2) AS price,
  toInt64(100 * (1 + intHash64(number * 13) % 50)) AS size, if(intHash64(number * 17) % 2 = 0, 'buy', 'sell') AS side
  FROM numbers($N)"
q "OPTIMIZE TABLE trade FINAL" || true
rows=$(q "SELECT count() FROM trade")
t0=$(date +%s.%N)
curl -sSf "http://127.0.0.1:$PORT/" --data-binary "SELECT * FROM trade ORDER BY time FORMAT CSVWithNames" -o "$dir/out.csv"
t1=$(date +%s.%N)
bytes=$(stat -c %s "$dir/out.csv")
lines=$(($(wc -l <"$dir/out.csv") - 1))
awk -v r="$lines" -v b="$bytes" -v a="$t0" -v z="$t1" -v v="$version" -v n="$rows" \
  'BEGIN {printf "{\"rows\":%d,\"tableRows\":%d,\"bytes\":%d,\"seconds\":%.3f,\"rowsPerSec\":%d,\"version\":\"%s\"}\n", r, n, b, z - a, r / (z - a), v}'
for r in $(seq "${ROUNDS:-0}"); do
  [ -n "${PEER_CMD:-}" ] || break
  rm -f "$dir/out.csv"
  a=$(date +%s.%N)
  curl -sSf "http://127.0.0.1:$PORT/" --data-binary "SELECT * FROM trade ORDER BY time FORMAT CSVWithNames" -o "$dir/out.csv"
  b=$(date +%s.%N)
  rm -f "$dir/out.csv"
  bash -c "$PEER_CMD" >/dev/null
  c=$(date +%s.%N)
  awk -v r="$r" -v n="$lines" -v a="$a" -v b="$b" -v c="$c" \
    'BEGIN {printf "{\"round\":%d,\"clickhouseRowsPerSec\":%d,\"peerRowsPerSec\":%d}\n", r, n / (b - a), n / (c - b)}'
done
