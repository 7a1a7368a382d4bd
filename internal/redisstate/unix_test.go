package redisstate

import (
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestUnixSocketRedisServer: --redis unix://:password@/path/redis.sock?db=1
// reaches a redis-server listening on a Unix domain socket only, with a
// password and database 1, for the guard's own connection (AUTH, SELECT)
// as for go-redis's pool: the replay key the guard writes is where the
// pool's client looks for it.
func TestUnixSocketRedisServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	testenv.RunRedis(t, dir, func() error { return testenv.RedisPing("unix", sock) },
		"--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--requirepass", "s3cret")
	url := "unix://:s3cret@" + sock + "?db=1"
	var gs []*Guard
	for range 2 {
		c, err := Open(context.Background(), url, Options{Prefix: "unix:", Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		gs = append(gs, NewGuard(c, time.Minute, 100, 10))
	}
	now := time.Now()
	if rate, err := gs[0].CheckRate("s", "id-1", "ann", now); rate != nil || err != nil {
		t.Fatalf("over a Unix socket: %v, %v", rate, err)
	}
	if _, err := gs[1].CheckRate("s", "id-1", "ann", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay via another client over the socket = %v, want ErrReplayed", err)
	}
	h := replayHash("s", "id-1")
	if n, err := gs[1].c.rdb.Exists(context.Background(), "unix:r:"+hex.EncodeToString(h[:])).Result(); err != nil || n != 1 {
		t.Fatalf("the replay key in database 1 (go-redis's pool): %d, %v", n, err)
	}
	if _, err := Open(context.Background(), "unix://:wrong@"+sock+"?db=1", Options{Timeout: time.Second}); err == nil {
		t.Fatal("a wrong password opened")
	}
}
