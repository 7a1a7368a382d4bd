// Package nodeq runs the npm package node-q (an independent kdb+ IPC
// implementation, installed in e2e/nodeq from its committed lockfile) for
// the tests that cross-check qconnect's kdb+ codec and fake q process.
package nodeq

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

// Dir returns e2e/nodeq with node-q installed, or skips the test (fails it
// when QCONNECT_REQUIRE_NODE=1).
func Dir(t testing.TB) string {
	t.Helper()
	testenv.Require(t, testenv.LookPath("node") && testenv.LookPath("npm"), "QCONNECT_REQUIRE_NODE", "Node.js and npm")
	dir := filepath.Join(testenv.RepoRoot(), "e2e", "nodeq")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-q", "lib", "c.js")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Require(t, false, "QCONNECT_REQUIRE_NODE", "npm ci in e2e/nodeq ("+strings.TrimSpace(string(out))+")")
		}
	}
	return dir
}

// Run runs `node script args...` in Dir with stdin, returning stdout.
func Run(t testing.TB, stdin string, script string, args ...string) []byte {
	t.Helper()
	dir := Dir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s %v: %v\n%s", script, args, err, stderr.String())
	}
	return out
}
