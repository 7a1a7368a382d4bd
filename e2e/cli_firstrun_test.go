package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestSubscribeSaysWhenNothingMatches: a subscription whose filter matches
// nothing says so on stderr, once, and keeps waiting (until Ctrl-C).
func TestSubscribeSaysWhenNothingMatches(t *testing.T) {
	t.Parallel()
	g := testenv.StartGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), "subscribe", g.Addr, "kxSupport", "12345678", "monPublic/sub",
		"--params", `{"syms":["server_Z"]}`)
	cmd.Env = append(os.Environ(), "QCONNECT_CONFIG_DIR="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const want = "no rows for syms [server_Z] yet; waiting"
	sc := bufio.NewScanner(stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), want) {
			break
		}
	}
	if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], want) {
		t.Fatalf("stderr never said %q: %q", want, lines)
	}
	cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("subscribe ended by Ctrl-C: %v; want exit 0", err)
	}
	if n := strings.Count(strings.Join(lines, "\n"), "no rows for"); n != 1 {
		t.Errorf("said %d times: %q", n, lines)
	}
}

// TestLoginThenCallWithoutArguments: `qconnect login` reads the password
// from stdin, stores it 0600, and later commands need no credentials on the
// command line; a wrong password is not stored; logout removes them.
func TestLoginThenCallWithoutArguments(t *testing.T) {
	t.Parallel()
	g, _ := testGateway(t)
	cfg := t.TempDir()
	run := func(stdin string, args ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, testenv.Binary(t), args...)
		cmd.Env = append(os.Environ(), "QCONNECT_CONFIG_DIR="+cfg)
		cmd.Stdin = strings.NewReader(stdin)
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	if _, stderr, code := run("wrong\n", "login", g.Addr, "alice"); code != 3 {
		t.Fatalf("login with a wrong password: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run("alice-password\n", "login", g.Addr, "alice"); code != 0 {
		t.Fatalf("login: exit %d: %s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(cfg, "hosts.yml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", err, fi)
	}
	stdout, stderr, code := run("", "call", "test/rows", "--params", `{"n":1}`)
	if code != 0 || !strings.Contains(stdout, "rows: 1 ") {
		t.Fatalf("call with stored credentials: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := run("", "logout"); code != 0 {
		t.Fatalf("logout: exit %d: %s", code, stderr)
	}
	if _, _, code := run("", "call", "test/rows", "--params", `{"n":1}`); code == 0 {
		t.Error("a call after logout still used the removed credentials")
	}
}
