package apidoc

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestHandlerHeaders(t *testing.T) {
	proto := []byte("# Connect wire protocol\n")
	d := newDocs(t, handCatalog(t), Options{ProtocolDoc: proto})
	h := d.Handler()
	for path, ctype := range map[string]string{
		indexPath:                     "text/html; charset=utf-8",
		openAPIPath:                   "application/json",
		protocolPath:                  "text/plain; charset=utf-8",
		"/connect/assets/app.js":      "text/javascript; charset=utf-8",
		"/connect/assets/sdk/md5.js":  "text/javascript; charset=utf-8",
		"/connect/assets/style.css":   "text/css; charset=utf-8",
		"/connect/assets/favicon.svg": "image/svg+xml",
	} {
		r := get(t, h, "GET", path, nil)
		b := body(t, r)
		if r.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, r.StatusCode)
			continue
		}
		if got := r.Header.Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", path, got, ctype)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", path, csp)
		}
		if r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: Cache-Control %q", path, r.Header.Get("Cache-Control"))
		}
		etag := r.Header.Get("ETag")
		if len(etag) < 10 || etag[0] != '"' {
			t.Errorf("%s: ETag %q is not a strong validator", path, etag)
			continue
		}
		nm := get(t, h, "GET", path, map[string]string{"If-None-Match": etag})
		if nm.StatusCode != http.StatusNotModified || body(t, nm) != "" {
			t.Errorf("%s: If-None-Match with the current ETag → %d, want 304 without a body", path, nm.StatusCode)
		}
		if changed := get(t, h, "GET", path, map[string]string{"If-None-Match": `"old"`}); changed.StatusCode != 200 {
			t.Errorf("%s: a stale ETag → %d, want 200", path, changed.StatusCode)
		}
		head := get(t, h, "HEAD", path, nil)
		if head.StatusCode != 200 || body(t, head) != "" || head.Header.Get("ETag") != etag {
			t.Errorf("%s: HEAD → %d with a body or another ETag", path, head.StatusCode)
		}
		if path == protocolPath && b != string(proto) {
			t.Errorf("protocol.md served %q, want the ProtocolDoc bytes", b)
		}
		if path == openAPIPath && b != string(d.OpenAPI()) {
			t.Error("openapi.json differs from OpenAPI()")
		}
	}
}

func TestHandlerRoutes(t *testing.T) {
	h := newDocs(t, handCatalog(t), Options{}).Handler()
	for _, p := range []string{"/connect/", "/connect"} {
		r := get(t, h, "GET", p, nil)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != indexPath {
			t.Errorf("GET %s → %d Location %q, want a redirect to %s", p, r.StatusCode, r.Header.Get("Location"), indexPath)
		}
	}
	for _, p := range []string{protocolPath, "/connect/assets/nope.js", "/connect/assets/", "/connect/index.htm", "/connect/assets/../index.html"} {
		r := get(t, h, "GET", p, nil)
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s → %d, want 404", p, r.StatusCode)
		}
		if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: the 404 lacks the security headers", p)
		}
	}
	r := get(t, h, "POST", indexPath, nil)
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST → %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

// TestHandlerConcurrent serves many requests at once (run with -race).
func TestHandlerConcurrent(t *testing.T) {
	d := newDocs(t, handCatalog(t), Options{})
	h := d.Handler()
	want := pageOf(t, d)
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := get(t, h, "GET", indexPath, nil)
			if b := body(t, r); b != want {
				errs <- "a concurrent GET returned another page"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
