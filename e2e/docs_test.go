package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qconnect/qconnect/internal/testenv"
)

func get(t *testing.T, url, user, pass string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestDocsModes: the docs page and the OpenAPI document are public by
// default, can be put behind a user's password, or switched off.
func TestDocsModes(t *testing.T) {
	t.Parallel()
	t.Run("public", func(t *testing.T) {
		g := testenv.StartGateway(t)
		status, _, body := get(t, g.URL+"/connect/index.html", "", "")
		if status != 200 || !strings.Contains(body, "monPublic") {
			t.Fatalf("index.html: %d", status)
		}
		status, _, body = get(t, g.URL+"/connect/openapi.json", "", "")
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc.Paths["/connect/api/monPublic/getMem"] == nil {
			t.Fatalf("openapi.json: %d %.200s", status, body)
		}
		status, _, body = get(t, g.URL+"/connect/asyncapi.json", "", "")
		var adoc struct {
			AsyncAPI string `json:"asyncapi"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &adoc) != nil || adoc.AsyncAPI != "3.0.0" {
			t.Fatalf("asyncapi.json: %d %.200s", status, body)
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if resp, err := noFollow.Get(g.URL + "/"); err != nil || resp.StatusCode != 302 || resp.Header.Get("Location") != "/connect/index.html" {
			t.Errorf("GET /: %v %v, want a redirect to the docs page", resp, err)
		} else {
			resp.Body.Close()
		}
		if status, _, body = get(t, g.URL+"/connect/protocol.md", "", ""); status != 200 || !strings.Contains(body, "stringToSign") {
			t.Errorf("protocol.md: %d", status)
		}
	})
	t.Run("login", func(t *testing.T) {
		g := testenv.StartGateway(t, "--docs", "login")
		for _, p := range []string{"/connect/index.html", "/connect/openapi.json", "/connect/asyncapi.json"} {
			status, h, _ := get(t, g.URL+p, "", "")
			if status != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s without a password: %d %q", p, status, h.Get("WWW-Authenticate"))
			}
			if status, _, _ = get(t, g.URL+p, "kxSupport", "wrong-password"); status != 401 {
				t.Errorf("%s with a wrong password: %d", p, status)
			}
			if status, _, _ = get(t, g.URL+p, "kxSupport", "12345678"); status != 200 {
				t.Errorf("%s with the password: %d", p, status)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		g := testenv.StartGateway(t, "--docs", "off")
		for _, p := range []string{"/", "/connect/index.html", "/connect/openapi.json", "/connect/asyncapi.json"} {
			if status, _, _ := get(t, g.URL+p, "", ""); status != 404 {
				t.Errorf("%s: %d, want 404", p, status)
			}
		}
		// The API itself still works.
		s := login(t, g, "kxSupport", "12345678")
		expect(t, "ping", s.call("/connect/api/auth/ping", []any{}), 200, "")
	})
}
