package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadBackends(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "qconnect.yaml")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("from-file\n"), 0o600)
	env := map[string]string{"RDB_PW": "from-env"}
	getenv := func(k string) string { return env[k] }
	p := write(`listen: 127.0.0.1:0
backends:
  - {name: rdb, kind: kdb, host: 127.0.0.1, port: 5010, user: gw, passwordEnv: RDB_PW, poolSize: 2, callTimeout: 5s}
  - {name: tp, kind: kdb, host: tp.local, port: 5000, passwordFile: ` + pwFile + `, tls: true}
`)
	cfgs, err := readBackends(p, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2 || cfgs[0].Password != "from-env" || cfgs[0].PoolSize != 2 || cfgs[1].Password != "from-file" || !cfgs[1].TLS {
		t.Fatalf("%+v", cfgs)
	}
	// The flat settings reader accepts the file (backends is not a scalar).
	if _, err := readConfigFile(p, map[string]bool{"listen": true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"backends:\n  - {name: a, kind: kdb, host: h, port: 1, password: secret}", "never written in the config file"},
		{"backends:\n  - {name: a, kind: postgres, host: h, port: 1}", "the only kind is kdb"},
		{"backends:\n  - {name: a, kind: kdb, host: h, port: 70000}", "not a TCP port"},
		{"backends:\n  - {name: a, kind: kdb, host: h, port: 1, passwordEnv: NOPE}", "NOPE"},
		{"backends:\n  - {name: a, kind: kdb, host: h, port: 1, colour: red}", "unknown backend key"},
		{"backends:\n  - {name: a, kind: kdb, host: h, port: 1}\n  - {name: a, kind: kdb, host: h, port: 2}", "declared twice"},
	} {
		_, err := readBackends(write(tc.yaml), getenv)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "qconnect.yaml:") {
			t.Errorf("%s: err = %v", tc.yaml, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the password leaked into %v", err)
		}
	}
}
