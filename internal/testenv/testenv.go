// Package testenv starts real services for end-to-end tests: the qconnect
// binary built from this checkout, listening on a random loopback port,
// and gates for tests that need tools installed by .ci/run (Node.js,
// Chromium, Redis). A gated test skips when its tool is missing, unless the
// environment variable named by the gate is set to 1 (CI sets them), in
// which case it fails.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Binary builds cmd/qconnect once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(build)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "qconnect")
}

func build() {
	buildDir, buildErr = os.MkdirTemp("", "qconnect-bin-")
	if buildErr != nil {
		return
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "qconnect"), "./cmd/qconnect")
	cmd.Dir = RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		buildErr = fmt.Errorf("go build ./cmd/qconnect: %v\n%s", err, out)
	}
}

// Gateway is a running `qconnect serve` process.
type Gateway struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
	cmd  *exec.Cmd

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

// Stderr returns what the gateway has logged so far.
func (g *Gateway) Stderr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stderr.String()
}

// Stdout returns what the gateway has printed so far.
func (g *Gateway) Stdout() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stdout.String()
}

// PID is the gateway's process id.
func (g *Gateway) PID() int { return g.cmd.Process.Pid }

// Signal sends sig to the gateway.
func (g *Gateway) Signal(sig os.Signal) error { return g.cmd.Process.Signal(sig) }

// Wait waits for the process to exit, up to d, and returns its exit error.
func (g *Gateway) Wait(d time.Duration) error {
	select {
	case <-g.done:
		if c := g.cmd.ProcessState.ExitCode(); c != 0 {
			return fmt.Errorf("the gateway exited with code %d", c)
		}
		return nil
	case <-time.After(d):
		return fmt.Errorf("the gateway did not exit within %s", d)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var listenRE = regexp.MustCompile(`listening on (https?://(\S+))`)

// DefaultArgs are added to every StartGateway unless overridden: a random
// loopback port and a small demo data set so start-up is quick.
var DefaultArgs = []string{"--listen", "127.0.0.1:0", "--demo-size", "5000"}

// StartGateway starts `qconnect serve` with DefaultArgs followed by args and
// waits until it listens. The process is stopped (SIGTERM) when the test
// ends; its log is printed if the test failed.
func StartGateway(t testing.TB, args ...string) *Gateway {
	t.Helper()
	return StartGatewayEnv(t, nil, args...)
}

// StartGatewayEnv is StartGateway with extra environment variables.
func StartGatewayEnv(t testing.TB, env []string, args ...string) *Gateway {
	t.Helper()
	bin := Binary(t)
	g, err := start(bin, env, args)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("gateway stdout:\n%s\ngateway stderr (last 8 KiB):\n%s", g.Stdout(), tail(g.Stderr(), 8<<10))
		}
	})
	return g
}

// StartGatewayMain starts a gateway outside a test, for TestMain (e.g. to
// run Example functions against a live gateway). The caller must Stop it.
func StartGatewayMain(args ...string) (*Gateway, error) {
	buildOnce.Do(build)
	if buildErr != nil {
		return nil, buildErr
	}
	return start(filepath.Join(buildDir, "qconnect"), nil, args)
}

// Stop sends SIGTERM and waits up to 15 s, then kills the process.
func (g *Gateway) Stop() {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

func start(bin string, env, args []string) (*Gateway, error) {
	all := append([]string{"serve"}, DefaultArgs...)
	all = append(all, args...)
	cmd := exec.Command(bin, all...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(cleanEnv(), env...)
	g := &Gateway{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = lockedWriter{&g.mu, &g.stderr}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the gateway: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(g.done)
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			g.mu.Lock()
			g.stdout.WriteString(line + "\n")
			g.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case u := <-found:
		g.URL = u
		g.Addr = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
		return g, nil
	case <-g.done:
		return nil, fmt.Errorf("the gateway exited before listening:\n%s", g.Stderr())
	case <-time.After(90 * time.Second):
		g.Stop()
		return nil, fmt.Errorf("the gateway did not listen within 90 s:\n%s", g.Stderr())
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// cleanEnv is the environment without QCONNECT_* settings, so a developer's
// shell cannot change what a test starts.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QCONNECT_") {
			out = append(out, kv)
		}
	}
	// Credentials a developer stored with `qconnect login` must not reach
	// the tests either: point the client at a directory that does not exist.
	return append(out, "QCONNECT_CONFIG_DIR="+filepath.Join(os.TempDir(), "qconnect-tests-no-credentials"))
}

// Run runs the qconnect binary with args and stdin, returning stdout,
// stderr and the exit code.
func Run(t testing.TB, ctx context.Context, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Dir = RepoRoot()
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running qconnect %v: %v", args, err)
		}
	}
	return o.String(), e.String(), code
}

// Require skips the test when ok is false, or fails it when the environment
// variable gate is "1" (CI sets the gates, so a missing tool cannot pass
// silently there).
func Require(t testing.TB, ok bool, gate, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(gate) == "1" {
		t.Fatalf("%s is required (%s=1) but not available", what, gate)
	}
	t.Skipf("%s not available; set %s=1 to make this a failure (.ci/run installs it)", what, gate)
}

// LookPath reports whether a program is on PATH.
func LookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
