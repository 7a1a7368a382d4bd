package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestParseCORSOrigins(t *testing.T) {
	got, err := ParseCORSOrigins(" https://Dash.Example.com , http://127.0.0.1:8000,,http://a.test/")
	if err != nil || strings.Join(got, "|") != "https://dash.example.com|http://127.0.0.1:8000|http://a.test" {
		t.Fatalf("ParseCORSOrigins = %q, %v", got, err)
	}
	if got, err := ParseCORSOrigins(""); err != nil || len(got) != 0 {
		t.Errorf("empty list = %q, %v", got, err)
	}
	for _, bad := range []string{"*", "https://*.example.com", "example.com", "ftp://x.test", "https://x.test/app", "null", "https://u@x.test", "https://x.test?q=1"} {
		if _, err := ParseCORSOrigins(bad); err == nil {
			t.Errorf("ParseCORSOrigins(%q) accepted it", bad)
		}
	}
}

// TestCORS checks the preflight and the headers of an allowed origin, that
// another origin gets none, and the WebSocket Origin check.
func TestCORS(t *testing.T) {
	t.Parallel()
	const allowed, other = "http://app.example:8000", "http://evil.example"
	ts, _, _ := wsTestServer(t, Config{CORSOrigins: []string{allowed}})
	req := func(method, path, origin string, h map[string]string, body string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	pre := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}

	resp := req("OPTIONS", "/connect/api/t/pub", allowed, pre, "")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		h.Get("Access-Control-Allow-Methods") != "POST" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight of an allowed origin: %d %v", resp.StatusCode, h)
	}
	if resp := req("OPTIONS", "/connect/api/t/pub", other, pre, ""); resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode == http.StatusNoContent {
		t.Errorf("preflight of another origin: %d %v", resp.StatusCode, resp.Header)
	}
	login := `{"type":"LoginReq","id":"1","date":"` + time.Now().UTC().Format(http.TimeFormat) + `","msg":[{"username":"alice","password":"password1"}]}`
	resp = req("POST", "/connect/api/auth/login", allowed, map[string]string{"Content-Type": "application/json"}, login)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Connect-Status") ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Connect-Meta") ||
		!strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("login from an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := req("POST", "/connect/api/auth/login", other, map[string]string{"Content-Type": "application/json"}, login); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("login from another origin got %v", resp.Header)
	}

	dial := func(origin string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hd := http.Header{}
		if origin != "" {
			hd.Set("Origin", origin)
		}
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/connect/ws", &websocket.DialOptions{HTTPHeader: hd})
		if err == nil {
			c.CloseNow()
			return 101, nil
		}
		if resp != nil {
			return resp.StatusCode, err
		}
		return 0, err
	}
	for origin, want := range map[string]int{allowed: 101, "": 101, ts.URL: 101, other: http.StatusForbidden} {
		if got, err := dial(origin); got != want {
			t.Errorf("WebSocket with Origin %q: %d (%v), want %d", origin, got, err, want)
		}
	}
}

// TestCORSOff: without origins, no CORS header is sent and a cross-origin
// socket is refused.
func TestCORSOff(t *testing.T) {
	t.Parallel()
	ts, _, _ := wsTestServer(t, Config{})
	r, _ := http.NewRequest("OPTIONS", ts.URL+"/connect/api/t/pub", nil)
	r.Header.Set("Origin", "http://app.example:8000")
	r.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS headers without --cors-origins: %v", resp.Header)
	}
}
