package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// jsClientDir returns clients/js with its dev dependencies (typescript)
// installed from the committed package-lock.json, or skips/fails per the
// QCONNECT_REQUIRE_NODE gate.
func jsClientDir(t *testing.T) string {
	t.Helper()
	testenv.Require(t, testenv.LookPath("node") && testenv.LookPath("npm"), "QCONNECT_REQUIRE_NODE", "Node.js and npm")
	dir := filepath.Join(testenv.RepoRoot(), "clients", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "typescript")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Require(t, false, "QCONNECT_REQUIRE_NODE", "npm ci in clients/js ("+strings.TrimSpace(string(out))+")")
		}
	}
	return dir
}

// runNode runs a program (node, npm) with args in dir and fails the test with its output
// when it exits non-zero.
func runNode(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestNodeSDK runs the JavaScript SDK's own tests (clients/js/test, node
// --test) against two real gateways: the demo (subscriptions, publishing)
// and the test catalog with its users (every error class, streams that
// fail mid-way, aborts), and the signing vectors.
func TestNodeSDK(t *testing.T) {
	t.Parallel()
	dir := jsClientDir(t)
	demo := testenv.StartGateway(t)
	test, _ := testGateway(t)
	out := runNode(t, dir, []string{
		"QCONNECT_DEMO_URL=" + demo.URL, "QCONNECT_TEST_URL=" + test.URL,
		"QCONNECT_SIGNING_VECTORS=" + testenv.SigningVectorsPath(), "QCONNECT_REQUIRE_NODE=1",
	}, 4*time.Minute, "node", "--test", "--experimental-websocket", "--test-reporter=spec", "test/unit.test.js", "test/gateway.test.js")
	if !strings.Contains(out, "pass ") || strings.Contains(out, "skipped 1") {
		t.Errorf("node --test output:\n%s", out)
	}
	t.Logf("node --test:\n%s", out)
}

// TestJSClientTypes type-checks the SDK's declarations (index.d.ts) with
// tsc over the typed examples in clients/js/test/types.
func TestJSClientTypes(t *testing.T) {
	t.Parallel()
	dir := jsClientDir(t)
	runNode(t, dir, nil, 3*time.Minute, "node", "node_modules/typescript/bin/tsc", "--noEmit", "-p", "test/types")
}

// TestNodeSDKSample runs examples/js/connectSample.js, the published KX
// Connect sample rewritten on the SDK, with the sample's arguments.
func TestNodeSDKSample(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.LookPath("node") && testenv.LookPath("npm"), "QCONNECT_REQUIRE_NODE", "Node.js and npm")
	exdir := filepath.Join(testenv.RepoRoot(), "examples", "js")
	if _, err := os.Stat(filepath.Join(exdir, "node_modules", "qconnect-client")); err != nil {
		runNode(t, exdir, nil, 3*time.Minute, "npm", "ci", "--no-audit", "--no-fund")
	}
	g := testenv.StartGateway(t)
	dir := t.TempDir()
	sample := filepath.Join(exdir, "connectSample.js")
	out := runNode(t, dir, nil, time.Minute, "node", sample, g.Addr, "kxSupport", "12345678", "monPublic/getMem")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 || !strings.Contains(lines[0], "time") || !strings.Contains(out, "server_A") || !strings.Contains(out, "logged out") {
		t.Fatalf("the sample printed:\n%s", out)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "getMem.csv"))
	if err != nil {
		t.Fatalf("the sample wrote no CSV: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(csv), "time,sym,usedMB,freeMB,cpuLoad\r\n") || strings.Count(string(csv), "\r\n") < 100 {
		t.Errorf("getMem.csv: %.300s", csv)
	}
}
