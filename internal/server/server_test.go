package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// The end-to-end suite (e2e/) drives the real binary with the real DuckDB
// engine. These in-process tests cover what the real engine cannot be made
// to do: a bug (a foreign error, a panic) inside a backend. bugBackend is a
// fake for that reason only.
type bugBackend struct{ panics bool }

func (b bugBackend) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	if b.panics {
		panic("backend bug")
	}
	return nil, errors.New("secret-internal-detail: nil map")
}

func newTestServer(t *testing.T, backend qconnect.Backend) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	hash, err := auth.HashPassword("password1", 4)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := auth.ParseUsers([]byte("users:\n  alice:\n    password: \""+hash+"\"\n    groups: [g]\ngroups:\n  g:\n    allow: [\"*\"]\n"), "users.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := &qconnect.Method{Group: "t", Name: "bug", Columns: []qconnect.Column{{Name: "x", Type: qconnect.Long}}, Query: "x"}
	cat, err := qconnect.NewCatalog([]*qconnect.Method{m})
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	s := New(Config{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}, Deps{
		Catalog: cat, Backends: map[string]qconnect.Backend{"duckdb": backend},
		Users: auth.NewStaticUserDB(dir), Sessions: auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{}),
	})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, &logBuf
}

func do(t *testing.T, url, authz string, body []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, out
}

func loginAndCall(t *testing.T, ts *httptest.Server) (int, map[string]any, string) {
	t.Helper()
	date := protocol.FormatDate(time.Now())
	_, lr := do(t, ts.URL+"/connect/api/auth/login", "", []byte(`{"type":"LoginReq","id":"1","date":"`+date+`","msg":[{"username":"alice","password":"password1"}]}`))
	sid := lr["msg"].([]any)[0].(map[string]any)["sessionId"].(string)
	body := []byte(`{"type":"bugReq","id":"2","date":"` + date + `","msg":[]}`)
	in := protocol.SignInput{Verb: "POST", Path: "/connect/api/t/bug", Username: "alice", BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
	status, out := do(t, ts.URL+"/connect/api/t/bug", protocol.Authorization("alice", sid, protocol.Sign(in, sid)), body)
	return status, out, sid
}

func TestInternalErrorHasReference(t *testing.T) {
	for _, panics := range []bool{false, true} {
		ts, logBuf := newTestServer(t, bugBackend{panics: panics})
		status, out, sid := loginAndCall(t, ts)
		e, _ := out["error"].(map[string]any)
		if status != 500 || e["code"] != "internal" {
			t.Fatalf("panics=%v: %d %v", panics, status, out)
		}
		msg := e["message"].(string)
		i := strings.Index(msg, "r-")
		if i < 0 {
			t.Fatalf("no reference in %q", msg)
		}
		ref := msg[i : i+14]
		if !strings.Contains(logBuf.String(), ref) {
			t.Errorf("reference %s not in the log:\n%s", ref, logBuf.String())
		}
		if strings.Contains(msg, "secret-internal-detail") || strings.Contains(msg, "backend bug") {
			t.Errorf("the cause leaked to the client: %q", msg)
		}
		if strings.Contains(logBuf.String(), sid) {
			t.Error("the session id reached the log")
		}
		// Still serving.
		if status, _, _ := loginAndCall(t, ts); status != 500 {
			t.Errorf("second call: %d", status)
		}
	}
}
