package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// nodeDir returns e2e/node with its npm packages installed (from the
// committed package-lock.json), or skips/fails per the QCONNECT_REQUIRE_NODE gate.
func nodeDir(t *testing.T) string {
	t.Helper()
	return npmInstalled(t, filepath.Join("e2e", "node"), "crypto-js", "ws", "@asyncapi/parser", "apache-arrow")
}

// npmInstalled returns the repository directory rel with its npm packages
// installed by npm ci from the committed lockfile (when node_modules lacks
// one of the marker packages), or skips/fails per the QCONNECT_REQUIRE_NODE gate.
func npmInstalled(t *testing.T, rel string, markers ...string) string {
	t.Helper()
	testenv.Require(t, testenv.LookPath("node") && testenv.LookPath("npm"), "QCONNECT_REQUIRE_NODE", "Node.js and npm")
	dir := filepath.Join(testenv.RepoRoot(), rel)
	missing := false
	for _, pkg := range markers {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			missing = true
		}
	}
	if missing {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Require(t, false, "QCONNECT_REQUIRE_NODE", "npm ci in "+rel+" ("+strings.TrimSpace(string(out))+")")
		}
	}
	return dir
}

// TestNodeCryptoJSClient runs a client written like the published KX
// Connect JS sample (crypto-js) against the real gateway.
func TestNodeCryptoJSClient(t *testing.T) {
	t.Parallel()
	dir := nodeDir(t)
	g := testenv.StartGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "connectSample.js", g.Addr, "kxSupport", "12345678", "monPublic/getMem",
		`{"syms":["server_A","server_C"]}`)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 100 { // an hour of 10 s samples for two servers is 720 rows
		t.Fatalf("node printed %d rows", len(lines))
	}
	for _, l := range lines {
		var row struct{ Sym string }
		if err := json.Unmarshal([]byte(l), &row); err != nil || (row.Sym != "server_A" && row.Sym != "server_C") {
			t.Fatalf("row %q", l)
		}
	}
	for _, want := range []string{"tampered: invalidSignature", "ok"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("node stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
