package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect/internal/testenv"
)

// TestConfigSources: settings come from flags, QCONNECT_* variables and the
// --config file, in that order of strength.
func TestConfigSources(t *testing.T) {
	t.Parallel()
	users := usersFile(t)
	cfg := filepath.Join(t.TempDir(), "qconnect.yaml")
	// row-cap from the file; the catalog from the environment; the users
	// file from a flag, overriding the file's (missing) one.
	if err := os.WriteFile(cfg, []byte("row-cap: 5\nusers: /nonexistent/users.yaml\ndemo: \"true\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := testenv.StartGatewayEnv(t, []string{"QCONNECT_CATALOG=e2e/testdata/catalog.yaml", "QCONNECT_CONFIG=" + cfg},
		"--users", users)
	alice := login(t, g, "alice", "alice-password")
	r := alice.call("/connect/api/monPublic/getMem", []any{})
	expect(t, "getMem", r, 200, "")
	var meta struct {
		RowCount  int  `json:"rowCount"`
		Truncated bool `json:"truncated"`
	}
	_ = json.Unmarshal(r.Env.Meta, &meta)
	if meta.RowCount != 5 || !meta.Truncated {
		t.Errorf("row-cap from the config file not applied: %+v", meta)
	}
}

// TestStartupRefusals: a bad config file, catalog or users file stops the
// gateway before it listens, with exit code 2 or 1 and a message naming the
// file and line.
func TestStartupRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCfg := write("cfg.yaml", "listen: 127.0.0.1:0\nrow-kap: 5\n")
	badCat := write("cat.yaml", "groups:\n  g:\n    methods:\n      m:\n        columns: [{name: x, type: long}]\n        query: SELECT 1 AS x\n        timeout: soon\n")
	missingTable := write("cat2.yaml", "groups:\n  g:\n    methods:\n      m:\n        columns: [{name: x, type: long}]\n        query: SELECT x FROM nosuchtable\n")
	badUsers := write("users.yaml", "users:\n  eve:\n    password: plaintext\n")
	users := usersFile(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"config key", []string{"--config", badCfg}, 2, []string{"cfg.yaml:2", "row-kap"}},
		{"catalog", []string{"--catalog", badCat, "--users", users}, 1, []string{"cat.yaml:7", "timeout"}},
		{"missing table", []string{"--catalog", missingTable, "--users", users, "--demo-size", "1000"}, 1, []string{"cat2.yaml:", "nosuchtable"}},
		{"users", []string{"--users", badUsers, "--demo=true"}, 1, []string{"users.yaml:3", "hash"}},
		{"no users", []string{"--catalog", filepath.Join("e2e", "testdata", "catalog.yaml")}, 2, []string{"users add"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := testenv.Run(t, ctx, "", append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d: %s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}
