package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// jsClientDir returns clients/js with its dev dependencies (typescript)
// installed from the committed package-lock.json.
func jsClientDir(t *testing.T) string {
	t.Helper()
	return npmInstalled(t, filepath.Join("clients", "js"), "typescript")
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
	env := []string{"QCONNECT_DEMO_URL=" + demo.URL, "QCONNECT_TEST_URL=" + test.URL, "QCONNECT_REQUIRE_NODE=1"}
	// The signing vectors: where testenv keeps them. Without them the node
	// test of the vectors skips, or fails under QCONNECT_REQUIRE_VECTORS=1.
	skipped := "0"
	if _, err := os.Stat(testenv.SigningVectorsPath()); err == nil {
		env = append(env, "QCONNECT_SIGNING_VECTORS="+testenv.SigningVectorsPath())
	} else {
		skipped = "1"
		t.Logf("no signing vectors at %s: the node test of the vectors skips", testenv.SigningVectorsPath())
	}
	out := runNode(t, dir, env, 4*time.Minute, "node", "--test", "--experimental-websocket", "--test-reporter=spec", "test/unit.test.js", "test/gateway.test.js")
	// Every test ran (a missing environment variable would skip).
	if !regexp.MustCompile(`(?m)^\S* ?skipped `+skipped+`$`).MatchString(out) || !regexp.MustCompile(`(?m)^\S* ?fail 0$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\S* ?pass (1[4-9]|[2-9]\d)$`).MatchString(out) {
		t.Errorf("node --test did not run every test:\n%s", out)
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
	exdir := npmInstalled(t, filepath.Join("examples", "js"), "qconnect-client")
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

// TestJSClientPack checks what `npm pack` would publish: the modules, the
// declarations, the README and the license, with exports and types.
func TestJSClientPack(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.LookPath("npm"), "QCONNECT_REQUIRE_NODE", "npm")
	dir := filepath.Join(testenv.RepoRoot(), "clients", "js")
	out := runNode(t, dir, nil, time.Minute, "npm", "pack", "--dry-run", "--json", "--ignore-scripts")
	var packs []struct {
		Name, Version string
		Files         []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &packs); err != nil || len(packs) != 1 {
		t.Fatalf("npm pack --json: %v\n%s", err, out)
	}
	files := map[string]bool{}
	for _, f := range packs[0].Files {
		files[f.Path] = true
	}
	for _, want := range []string{"package.json", "README.md", "LICENSE", "index.d.ts", "src/index.js", "src/client.js", "src/md5.js", "src/signing.js"} {
		if !files[want] {
			t.Errorf("the package lacks %s: %v", want, files)
		}
	}
	for f := range files {
		if strings.HasSuffix(f, ".go") || strings.HasPrefix(f, "test/") || strings.HasPrefix(f, "node_modules/") {
			t.Errorf("the package ships %s", f)
		}
	}
	var pkg struct {
		Type    string
		Types   string
		Exports map[string]any
		Engines map[string]string
		License string
	}
	b, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Type != "module" || pkg.Types != "./index.d.ts" || pkg.Exports["."] == nil || pkg.License != "MIT" || pkg.Engines["node"] != ">=20" {
		t.Errorf("package.json: %+v %v", pkg, err)
	}
}
