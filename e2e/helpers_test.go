// Package e2e holds the end-to-end tests: the real qconnect binary on a
// random loopback port with the real DuckDB engine, driven over HTTP by raw
// requests, the Go SDK, the CLI, Node.js and Chromium.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
	"github.com/qconnect/qconnect/protocol"
)

var idSeq atomic.Int64

// freshID returns an id never used before in this test process.
func freshID() string {
	return fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano(), idSeq.Add(1))
}

// envelope builds a request body.
func envelope(typ, id, date string, msg any) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "id": id, "date": date, "msg": msg})
	if err != nil {
		panic(err)
	}
	return b
}

// result is a decoded response.
type result struct {
	Status int
	Header http.Header
	Env    struct {
		Type    string            `json:"type"`
		ID      *string           `json:"id"`
		Date    string            `json:"date"`
		Msg     []json.RawMessage `json:"msg"`
		Meta    json.RawMessage   `json:"meta"`
		Success bool              `json:"success"`
		Error   *struct {
			Code    string   `json:"code"`
			Message string   `json:"message"`
			Details []string `json:"details"`
		} `json:"error"`
	}
	Body []byte
}

func (r *result) code() string {
	if r.Env.Error == nil {
		return ""
	}
	return r.Env.Error.Code
}

func post(t *testing.T, url string, hdr map[string]string, body []byte) *result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := &result{Status: resp.StatusCode, Header: resp.Header}
	out.Body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.Env); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, out.Body)
		}
	}
	return out
}

// session is a logged-in raw client.
type session struct {
	t    *testing.T
	g    *testenv.Gateway
	user string
	sid  string
}

func login(t *testing.T, g *testenv.Gateway, user, pass string) *session {
	t.Helper()
	r := post(t, g.URL+"/connect/api/auth/login", nil, envelope("LoginReq", freshID(),
		protocol.FormatDate(time.Now()), []any{map[string]string{"username": user, "password": pass}}))
	if r.Status != 200 || !r.Env.Success {
		t.Fatalf("login as %s: %d %s", user, r.Status, r.Body)
	}
	var m struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(r.Env.Msg[0], &m); err != nil || m.SessionID == "" {
		t.Fatalf("login response: %s", r.Body)
	}
	return &session{t: t, g: g, user: user, sid: m.SessionID}
}

// sign returns the Authorization value for a body sent to path.
func (s *session) sign(path, contentType string, body []byte) string {
	var env struct {
		Date string `json:"date"`
	}
	_ = json.Unmarshal(body, &env)
	in := protocol.SignInput{Verb: "POST", Path: path, Username: s.user, BodyMD5: protocol.BodyMD5(body),
		ContentType: contentType, Date: env.Date}
	return protocol.Authorization(s.user, s.sid, protocol.Sign(in, s.sid))
}

// call makes a signed call with a fresh id and the current date.
func (s *session) call(path string, msg any) *result {
	s.t.Helper()
	typ := path[strings.LastIndexByte(path, '/')+1:] + "Req"
	if t, ok := map[string]string{"/connect/api/auth/ping": "PingReq", "/connect/api/auth/logout": "LogoutReq",
		"/connect/api/meta/methods": "MethodsReq"}[path]; ok {
		typ = t
	}
	return s.send(path, envelope(typ, freshID(), protocol.FormatDate(time.Now()), msg), nil)
}

// send signs and posts body; hdr adds or (with "") removes headers after signing.
func (s *session) send(path string, body []byte, hdr map[string]string) *result {
	s.t.Helper()
	h := map[string]string{"Authorization": s.sign(path, "application/json", body)}
	for k, v := range hdr {
		h[k] = v
	}
	return post(s.t, s.g.URL+path, h, body)
}

// expect asserts the status and error code of a response.
func expect(t *testing.T, what string, r *result, status int, code string) {
	t.Helper()
	if r.Status != status || r.code() != code {
		t.Fatalf("%s: got %d %q, want %d %q\n%s", what, r.Status, r.code(), status, code, r.Body)
	}
	if code != "" && (r.Env.Success || r.Env.Error.Message == "") {
		t.Fatalf("%s: an error response needs success:false and a message: %s", what, r.Body)
	}
}

// usersFile creates a users file with the CLI (alice: analysts; bob: no
// groups) and returns its path.
func usersFile(t *testing.T) string {
	t.Helper()
	return makeUsers(t, "groups:\n  analysts:\n    allow: [monPublic, test]\n    deny: [test/secret]\n  nobody:\n    allow: []\n",
		[2]string{"alice", "analysts"}, [2]string{"bob", "nobody"})
}

// makeUsers is cliUsers with each user's password name + "-password".
func makeUsers(t *testing.T, groups string, users ...[2]string) string {
	t.Helper()
	withPw := make([][3]string, len(users))
	for i, u := range users {
		withPw[i] = [3]string{u[0], u[1], u[0] + "-password"}
	}
	return cliUsers(t, groups, withPw...)
}

// cliUsers writes a users file with the given groups section (YAML), adds
// each user {name, group, password} with the CLI (`users add`), and returns
// the file's path.
func cliUsers(t *testing.T, groups string, users ...[3]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(path, []byte(groups), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range users {
		if _, stderr, code := testenv.Run(t, ctx, u[2]+"\n", "users", "add", "--users", path,
			"--groups", u[1], "--password-stdin", "--cost", "4", u[0]); code != 0 {
			t.Fatalf("users add %s: exit %d: %s", u[0], code, stderr)
		}
	}
	return path
}

// testGateway starts the gateway on the test catalog with the demo data and
// a users file made by the CLI.
func testGateway(t *testing.T, args ...string) (*testenv.Gateway, string) {
	t.Helper()
	users := usersFile(t)
	base := []string{"--demo=true", "--catalog", filepath.Join("e2e", "testdata", "catalog.yaml"), "--users", users}
	return testenv.StartGateway(t, append(base, args...)...), users
}

// slotHeld starts slow, a call that holds a call slot for seconds, and
// polls probe (a quick call) until it is refused busy (503) while slow
// runs: the slow call then holds the slot. A probe that won the race for
// the slot makes slow itself the busy one (slow reports busy); slow is then
// started again. It returns the probe's busy answer and a channel closed
// when slow has ended.
func slotHeld(t *testing.T, slow func() (busy bool), probe func() *result) (*result, <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done := make(chan struct{})
		var wasBusy atomic.Bool
		go func() {
			defer close(done)
			wasBusy.Store(slow())
		}()
	probing:
		for {
			if r := probe(); r.Status == 503 {
				return r, done
			} else if r.Status != 200 {
				t.Fatalf("probe: %d %s", r.Status, r.Body)
			}
			select {
			case <-done:
				if !wasBusy.Load() {
					t.Fatal("the slow call ended before any probe was refused busy")
				}
				break probing // the probe won the race: start slow again
			case <-time.After(10 * time.Millisecond): // polling tick
			}
		}
	}
	t.Fatal("no probe was refused busy within 30 s")
	return nil, nil
}
