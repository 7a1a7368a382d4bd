package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/auth"
	"github.com/qconnect/qconnect/protocol"
)

// callSigned logs in as alice and posts a signed empty call to path.
func callSigned(t *testing.T, url, path string) (int, map[string]any) {
	t.Helper()
	date := protocol.FormatDate(time.Now())
	_, lr := do(t, url+"/connect/api/auth/login", "", []byte(`{"type":"LoginReq","id":"1","date":"`+date+`","msg":[{"username":"alice","password":"password1"}]}`))
	sid := lr["msg"].([]any)[0].(map[string]any)["sessionId"].(string)
	body := []byte(`{"type":"xReq","id":"2","date":"` + date + `","msg":[]}`)
	in := protocol.SignInput{Verb: "POST", Path: path, Username: "alice", BodyMD5: protocol.BodyMD5(body), ContentType: "application/json", Date: date}
	return do(t, url+path, protocol.Authorization("alice", sid, protocol.Sign(in, sid)), body)
}

func TestUnknownMethodSuggestsClosest(t *testing.T) {
	t.Parallel()
	ts, _ := newTestServer(t, bugBackend{})
	for _, c := range []struct {
		path    string
		details []any
	}{
		{"/connect/api/t/bgu", []any{"did you mean t/bug?"}},
		{"/connect/api/t/Bug", []any{"did you mean t/bug?"}},
		{"/connect/api/other/nothingLikeIt", nil},
	} {
		status, out := callSigned(t, ts.URL, c.path)
		e, _ := out["error"].(map[string]any)
		if status != 404 || e["code"] != "unknownMethod" {
			t.Fatalf("%s: %d %v", c.path, status, out)
		}
		got, _ := e["details"].([]any)
		if len(got) != len(c.details) || (len(got) > 0 && got[0] != c.details[0]) {
			t.Errorf("%s: details %v, want %v", c.path, got, c.details)
		}
	}
}

func TestRootRedirectsToDocs(t *testing.T) {
	t.Parallel()
	for _, mode := range []DocsMode{DocsPublic, DocsLogin, DocsOff} {
		s := New(Config{Docs: mode}, Deps{Docs: http.NotFoundHandler(), Users: auth.NewStaticUserDB(&auth.Directory{}),
			Sessions: auth.NewSessions(auth.NewMemoryStore(), auth.SessionConfig{})})
		req, _ := http.NewRequest("GET", "/", nil)
		rec := newRecorder()
		s.ServeHTTP(rec, req)
		if mode == DocsOff {
			if rec.Code != 404 {
				t.Errorf("docs off: GET / = %d, want 404", rec.Code)
			}
			continue
		}
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/connect/index.html" {
			t.Errorf("docs %s: GET / = %d %q, want 302 to /connect/index.html", mode, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
