# Sourced (not run) by bench/ping_redis.sh and bench/ping_redis_cpu.sh: with $NET
# (tcp or unix) and $out (a temporary directory holding the qconnect
# binary), starts Debian's redis-server on a free port (or a Unix socket
# only), one gateway with the memory store and one with --redis, and waits
# until both listen. Sets RCLI (redis-cli for that server), RPID, MEMPORT,
# MPID, REDPORT and GPID.
RPORT=${RPORT:-16390} MEMPORT=${MEMPORT:-18090} REDPORT=${REDPORT:-18091}
if [ "$NET" = unix ]; then
  redis-server --port 0 --unixsocket "$out/redis.sock" --unixsocketperm 700 --dir "$out" --save "" --appendonly no >"$out/redis.log" 2>&1 &
  RURL="unix://$out/redis.sock?db=0" RCLI=(redis-cli -s "$out/redis.sock")
else
  redis-server --port $RPORT --bind 127.0.0.1 --dir "$out" --save "" --appendonly no >"$out/redis.log" 2>&1 &
  RURL="redis://127.0.0.1:$RPORT/0" RCLI=(redis-cli -p $RPORT)
fi
RPID=$!
common=(--demo-size 10000 --max-sessions-per-user 64 --rate-per-user 1000000 --rate-burst 1000000 --demo-feed=false --log-level warn)
"$out/qconnect" serve --listen 127.0.0.1:$MEMPORT "${common[@]}" >"$out/mem.out" 2>"$out/mem.log" &
MPID=$!
for i in $(seq 50); do "${RCLI[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$out/qconnect" serve --listen 127.0.0.1:$REDPORT --redis "$RURL" "${common[@]}" >"$out/redis.out" 2>"$out/redis-gw.log" &
GPID=$!
for i in $(seq 150); do
  grep -q listening "$out/mem.out" 2>/dev/null && grep -q listening "$out/redis.out" 2>/dev/null && break
  sleep 0.2
done
grep -q listening "$out/redis.out" || { cat "$out/redis-gw.log"; exit 1; }
