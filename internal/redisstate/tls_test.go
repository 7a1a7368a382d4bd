package redisstate

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/internal/testenv"
)

// TestTLSRedisServer: rediss:// reaches a redis-server that speaks TLS
// only, for the guard's own connection as for go-redis's pool, and the
// guard keeps one connection (the TLS session tickets Redis sends after
// the handshake are not taken for a closed connection).
func TestTLSRedisServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, _ := testenv.SelfSigned(t, dir, "redis test")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	testenv.RunRedis(t, dir, func() error {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			c.Close()
		}
		return err
	}, "--port", "0", "--bind", "127.0.0.1", "--tls-port", port,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no")
	c, err := Open(context.Background(), "rediss://"+addr+"/0?skip_verify=true", Options{Prefix: "tls:", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g := NewGuard(c, time.Minute, 1000, 1000)
	now := time.Now()
	for i := range 20 {
		if rate, err := g.CheckRate("s", strconv.Itoa(i), "ann", now); rate != nil || err != nil {
			t.Fatalf("check %d over TLS: %v, %v", i, rate, err)
		}
	}
	if _, err := g.CheckRate("s", "3", "ann", now); !errors.Is(err, auth.ErrReplayed) {
		t.Fatalf("replay over TLS = %v, want ErrReplayed", err)
	}
	// One connection for the pool's PING and one for the guard, not one per check.
	if n, err := c.rdb.Info(context.Background(), "stats").Result(); err != nil {
		t.Fatal(err)
	} else if conns := infoField(n, "total_connections_received"); conns > 3 {
		t.Fatalf("%d connections for 21 checks: the guard redials", conns)
	}
}

func infoField(info, field string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}
