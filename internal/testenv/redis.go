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
	waitRedis(r.t, r.dir, r.Addr, func() error { return RedisPing("tcp", r.Addr) })
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

// RunRedis starts redis-server with the given arguments after --dir dir
// --save "" --appendonly no --logfile dir/redis.log (dir is the test's own
// temporary directory, given so that args may name files in it: a Unix
// socket, certificates), waits until ready returns nil (at most 10 s, then
// the test fails with the server's log) and kills the server at the end of
// the test. For servers StartRedis does not describe: Unix sockets, TLS,
// passwords. Without redis-server the test skips, or fails when
// QCONNECT_REQUIRE_REDIS=1.
func RunRedis(t testing.TB, dir string, ready func() error, args ...string) {
	t.Helper()
	Require(t, LookPath("redis-server"), "QCONNECT_REQUIRE_REDIS", "redis-server")
	args = append([]string{"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}, args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitRedis(t, dir, strings.Join(args, " "), ready)
}

// RedisPing sends PING to a Redis server at network/addr and returns nil
// when it answers, with PONG or with NOAUTH (up, but wanting a password).
func RedisPing(network, addr string) error {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "PING\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// waitRedis polls ready until it returns nil; after 10 s it fails the test
// with the last error and the tail of the server's log in dir.
func waitRedis(t testing.TB, dir, what string, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server (%s) did not answer within 10 s: %v\n%s", what, err, tail(string(log), 2000))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition: the server answering
	}
}
