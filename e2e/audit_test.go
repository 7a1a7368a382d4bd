package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

const auditCatalog = `groups:
  audit:
    methods:
      echo:
        params:
          - {name: token, type: symbol, secret: true}
          - {name: note, type: symbol}
        columns: [{name: note, type: symbol}]
        query: SELECT $note AS note WHERE $token IS NULL OR $token <> ''
      pub:
        columns:
          - {name: time, type: timestamp}
          - {name: sym, type: symbol}
          - {name: usedMB, type: float}
          - {name: freeMB, type: float}
          - {name: cpuLoad, type: float}
        publish:
          table: monMem
`

func readAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// TestAuditLog: one line per login, call, publish and logout with the
// documented fields; secret parameters redacted, long values cut; the file
// is reopened on SIGHUP.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.yaml")
	logPath := filepath.Join(dir, "audit.jsonl")
	if err := os.WriteFile(cat, []byte(auditCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	users := cliUsers(t, "groups:\n  g:\n    allow: [audit]\n    write: [audit/pub]\n", [3]string{"auditor", "g", "pw-auditor"})
	g := testenv.StartGateway(t, "--demo=true", "--demo-feed=false", "--catalog", cat, "--users", users,
		"--audit-log", logPath, "--audit-max-value", "20")

	s := login(t, g, "auditor", "pw-auditor")
	long := strings.Repeat("x", 100)
	r := s.call("/connect/api/audit/echo", []any{map[string]any{"token": "hunter2-secret", "note": long}})
	expect(t, "echo", r, 200, "")
	at := time.Now().UTC().Format(time.RFC3339Nano)
	pub := s.call("/connect/api/audit/pub", []any{map[string]any{"rows": []any{
		map[string]any{"time": at, "sym": "s1", "usedMB": 1, "freeMB": 2, "cpuLoad": 0.1},
		map[string]any{"time": at, "sym": "s2", "usedMB": 1, "freeMB": 2, "cpuLoad": 0.1}}}})
	expect(t, "publish", pub, 200, "")
	expect(t, "forbidden-free unknown", s.call("/connect/api/audit/nothing", []any{}), 404, "unknownMethod")
	bad := post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(), nowDate(), []any{map[string]string{"username": "auditor", "password": "wrong"}}))
	expect(t, "wrong password", bad, 401, "invalidCredentials")

	var lines []map[string]any
	waitFor(t, "five audit lines", func() bool { lines = readAudit(t, logPath); return len(lines) == 5 })

	// The same over the WebSocket: a login, a call, a publish, a logout, and
	// an AuthReq attaching the REST session.
	w := dialRaw(t, g, 0)
	w.login("auditor", "pw-auditor")
	callID := w.send("ExecuteReq", []any{map[string]any{"method": "audit/echo", "params": map[string]any{"token": "hunter2-secret", "note": long}}})
	if f := w.expect("ExecuteResp"); !f.Success {
		t.Fatalf("echo over the socket: %+v", f.Error)
	}
	w.send("ExecuteReq", []any{map[string]any{"method": "audit/pub", "params": map[string]any{"rows": []any{
		map[string]any{"time": at, "sym": "s3", "usedMB": 1, "freeMB": 2, "cpuLoad": 0.1}}}}})
	if f := w.expect("ExecuteResp"); !f.Success {
		t.Fatalf("publish over the socket: %+v", f.Error)
	}
	w.send("LogoutReq", []any{})
	w.expect("LogoutResp")
	if f := dialRaw(t, g, 0).authReq("auditor", s.sid); !f.Success {
		t.Fatalf("AuthReq: %+v", f.Error)
	}
	waitFor(t, "ten audit lines", func() bool { lines = readAudit(t, logPath); return len(lines) == 10 })
	raw, _ := os.ReadFile(logPath)
	if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), s.sid) || strings.Contains(string(raw), "pw-auditor") {
		t.Fatalf("a secret, the session id or a password reached the audit log:\n%s", raw)
	}
	login0, echo, publish, unknown, failed := lines[0], lines[1], lines[2], lines[3], lines[4]
	for _, f := range []string{"time", "event", "user", "addr", "method", "status", "code", "rows", "bytes", "ms", "id"} {
		if _, ok := echo[f]; !ok {
			t.Errorf("audit line has no %q: %v", f, echo)
		}
	}
	if login0["event"] != "login" || login0["user"] != "auditor" || login0["status"] != 200.0 || login0["addr"] != "127.0.0.1" {
		t.Errorf("login line: %v", login0)
	}
	params, _ := echo["params"].(map[string]any)
	if echo["event"] != "call" || echo["method"] != "audit/echo" || echo["rows"] != 1.0 || params["token"] != "[redacted]" ||
		params["note"] != `"xxxxxxxxxxxxxxxxxxx…(cut, 102 bytes)` || echo["id"] == "" || echo["bytes"].(float64) <= 0 {
		t.Errorf("call line: %v", echo)
	}
	if publish["event"] != "publish" || publish["method"] != "audit/pub" || publish["rows"] != 2.0 {
		t.Errorf("publish line: %v", publish)
	}
	if unknown["event"] != "call" || unknown["code"] != "unknownMethod" || unknown["status"] != 404.0 {
		t.Errorf("unknown-method line: %v", unknown)
	}
	if failed["event"] != "login" || failed["code"] != "invalidCredentials" || failed["user"] != "auditor" {
		t.Errorf("failed login line: %v", failed)
	}
	wsLogin, wsCall, wsPub, wsLogout, wsAuth := lines[5], lines[6], lines[7], lines[8], lines[9]
	if wsLogin["event"] != "login" || wsLogin["method"] != "auth/login" || wsLogin["user"] != "auditor" ||
		wsLogin["status"] != 200.0 || wsLogin["addr"] != "127.0.0.1" || wsLogin["id"] == "" {
		t.Errorf("socket login line: %v", wsLogin)
	}
	params, _ = wsCall["params"].(map[string]any)
	if wsCall["event"] != "call" || wsCall["method"] != "audit/echo" || wsCall["user"] != "auditor" || wsCall["status"] != 200.0 ||
		wsCall["rows"] != 1.0 || wsCall["id"] != callID || wsCall["bytes"].(float64) <= 0 || wsCall["addr"] != "127.0.0.1" ||
		params["token"] != "[redacted]" || params["note"] != `"xxxxxxxxxxxxxxxxxxx…(cut, 102 bytes)` {
		t.Errorf("socket call line: %v", wsCall)
	}
	if wsPub["event"] != "publish" || wsPub["method"] != "audit/pub" || wsPub["rows"] != 1.0 || wsPub["status"] != 200.0 {
		t.Errorf("socket publish line: %v", wsPub)
	}
	if wsLogout["event"] != "logout" || wsLogout["method"] != "auth/logout" || wsLogout["user"] != "auditor" {
		t.Errorf("socket logout line: %v", wsLogout)
	}
	if wsAuth["event"] != "login" || wsAuth["method"] != "auth/attach" || wsAuth["user"] != "auditor" || wsAuth["status"] != 200.0 {
		t.Errorf("socket AuthReq line: %v", wsAuth)
	}

	// logrotate: move the file, SIGHUP, and the next lines go to a new file.
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := g.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reopen", func() bool { return strings.Contains(g.Stderr(), "audit log reopened") })
	expect(t, "logout", s.call("/connect/api/auth/logout", []any{}), 200, "")
	waitFor(t, "the logout line in the new file", func() bool {
		_, err := os.Stat(logPath)
		return err == nil && len(readAudit(t, logPath)) == 1
	})
	if l := readAudit(t, logPath)[0]; l["event"] != "logout" || l["user"] != "auditor" {
		t.Errorf("logout line: %v", l)
	}
	if n := len(readAudit(t, logPath+".1")); n != 10 {
		t.Errorf("the rotated file has %d lines, want 10", n)
	}
}
