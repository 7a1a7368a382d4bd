package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a real redis-server process on a loopback port with its own
// temporary directory, started by a test. Stop and Start let a test cut
// the gateways off and bring Redis back on the same port.
type Redis struct {
	t    testing.TB
	Addr string // 127.0.0.1:port
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartRedis starts Debian's redis-server for the test (on a random free
// loopback port, with an append-only file in a temporary directory, so that
// a Stop and Start keeps the data as a production Redis would) and stops it
// at the end of the test.
// Without redis-server the test skips, or fails when QCONNECT_REQUIRE_REDIS=1.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	Require(t, LookPath("redis-server"), "QCONNECT_REQUIRE_REDIS", "redis-server")
	r := &Redis{t: t, dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	ln.Close()
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the redis:// URL of database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// Start starts the server (again) and waits until it accepts connections.
func (r *Redis) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
		"--logfile", filepath.Join(r.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
			fmt.Fprintf(c, "PING\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("redis-server did not answer on %s within 10 s:\n%s", r.Addr, tail(string(log), 2000))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition: the port accepting
	}
}

// Stop stops the server (SIGTERM) and waits for it to exit; its port then
// refuses connections until Start.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}
