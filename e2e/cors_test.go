package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestCORSOriginsSetting: --cors-origins comes from the flag, the
// environment or the config file; a wildcard or a malformed origin stops
// serve with a usage error.
func TestCORSOriginsSetting(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, bad := range []string{"*", "https://*.example.com", "dash.example.com", "https://dash.example.com/app"} {
		_, stderr, code := testenv.Run(t, ctx, "", "serve", "--listen", "127.0.0.1:0", "--cors-origins", bad)
		if code != 2 || !strings.Contains(stderr, "--cors-origins") {
			t.Errorf("serve --cors-origins %q: exit %d, %s", bad, code, stderr)
		}
	}
	preflight := func(g *testenv.Gateway, origin string) string {
		r, _ := http.NewRequest("OPTIONS", g.URL+"/connect/api/monPublic/getMem", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		r.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	cfg := filepath.Join(t.TempDir(), "qconnect.yaml")
	if err := os.WriteFile(cfg, []byte("cors-origins: http://from-config.test, https://b.test:8443\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := testenv.StartGateway(t, "--config", cfg)
	if got := preflight(g, "https://b.test:8443"); got != "https://b.test:8443" {
		t.Errorf("config file origin: Access-Control-Allow-Origin %q", got)
	}
	if got := preflight(g, "https://c.test"); got != "" {
		t.Errorf("an origin not listed got Access-Control-Allow-Origin %q", got)
	}
	g = testenv.StartGatewayEnv(t, []string{"QCONNECT_CORS_ORIGINS=http://from-env.test"})
	if got := preflight(g, "http://from-env.test"); got != "http://from-env.test" {
		t.Errorf("environment origin: Access-Control-Allow-Origin %q", got)
	}
}
