package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// runNodeScript runs a script of e2e/node with args and returns stdout, stderr
// and whether it exited 0.
func runNodeScript(t *testing.T, dir string, args ...string) (string, string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		t.Fatalf("node %v: %v", args, ctx.Err())
	}
	return stdout.String(), stderr.String(), err == nil
}

// TestAsyncAPIParserAcceptsDocument: the AsyncAPI document the gateway
// serves at /connect/asyncapi.json passes @asyncapi/parser (the AsyncAPI
// Initiative's parser) without errors and lists the operations of every
// streaming and publishing method of the demo; a broken copy is refused
// (so the check can fail).
func TestAsyncAPIParserAcceptsDocument(t *testing.T) {
	t.Parallel()
	dir := nodeDir(t)
	g := testenv.StartGateway(t)
	resp, err := http.Get(g.URL + "/connect/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /connect/asyncapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	tmp := t.TempDir()
	good := filepath.Join(tmp, "asyncapi.json")
	os.WriteFile(good, doc, 0o644)
	out, stderr, ok := runNodeScript(t, dir, "validateAsyncAPI.mjs", good)
	if !ok {
		t.Fatalf("@asyncapi/parser refused the document:\n%s", stderr)
	}
	for _, op := range []string{"subscribe_monPublic_sub", "subscribe_marketData_subTrades", "publish_marketData_pubTrades", "login", "logout"} {
		if !strings.Contains(out, `"`+op+`"`) {
			t.Errorf("parsed document lacks operation %s: %s", op, out)
		}
	}
	bad := filepath.Join(tmp, "broken.json")
	os.WriteFile(bad, bytes.Replace(doc, []byte(`"#/channels/connectWs"`), []byte(`"#/channels/nowhere"`), 1), 0o644)
	if _, _, ok := runNodeScript(t, dir, "validateAsyncAPI.mjs", bad); ok {
		t.Error("@asyncapi/parser accepted a document with a dangling channel reference; the check cannot fail")
	}
}

// TestArrowReadByApacheArrowJS: the Arrow stream of a call, read with the
// npm package apache-arrow, has the columns, Arrow types and exact values
// (nulls, 64-bit integers, nanoseconds, guids) of the JSON result of the
// same call, for every column type; a JSON result that differs in one value
// is caught.
func TestArrowReadByApacheArrowJS(t *testing.T) {
	t.Parallel()
	dir := nodeDir(t)
	g, _ := testGateway(t)
	alice := login(t, g, "alice", "alice-password")
	tmp := t.TempDir()
	for _, c := range []struct {
		path   string
		params map[string]any
	}{
		{"/connect/api/test/allTypes", map[string]any{"n": 3000}},
		{"/connect/api/monPublic/getMem", map[string]any{"syms": []string{"server_A", "server_B"}}},
	} {
		jb := alice.fetch(c.path, c.params, acceptJSON)
		ab := alice.fetch(c.path, c.params, acceptArrow)
		if jb.status != 200 || ab.status != 200 {
			t.Fatalf("%s: JSON %d, Arrow %d", c.path, jb.status, ab.status)
		}
		name := strings.ReplaceAll(strings.TrimPrefix(c.path, "/connect/api/"), "/", "_")
		jf, af := filepath.Join(tmp, name+".json"), filepath.Join(tmp, name+".arrow")
		os.WriteFile(jf, jb.data, 0o644)
		os.WriteFile(af, ab.data, 0o644)
		out, stderr, ok := runNodeScript(t, dir, "readArrow.mjs", af, jf)
		if !ok {
			t.Fatalf("%s: apache-arrow disagrees with the JSON result:\n%s", c.path, stderr)
		}
		if strings.Contains(out, `"rows":0`) {
			t.Errorf("%s: no rows compared: %s", c.path, out)
		}
		t.Logf("%s: %s", c.path, strings.TrimSpace(out))
	}
	// One changed value in the JSON must be caught.
	jf := filepath.Join(tmp, "test_allTypes.json")
	b, _ := os.ReadFile(jf)
	i := bytes.Index(b, []byte(`"i":5,`))
	if i < 0 {
		t.Fatalf("row 5 not found in the JSON result")
	}
	os.WriteFile(jf, append(append(append([]byte{}, b[:i]...), []byte(`"i":6,`)...), b[i+len(`"i":5,`):]...), 0o644)
	if _, _, ok := runNodeScript(t, dir, "readArrow.mjs", filepath.Join(tmp, "test_allTypes.arrow"), jf); ok {
		t.Error("readArrow.mjs accepted a JSON result with a changed value; the check cannot fail")
	}
}
