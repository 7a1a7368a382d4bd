package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/engine/kdb"
)

// structuredKeys are config-file keys whose value is not a single scalar;
// readConfigFile leaves them to their own parsers.
var structuredKeys = map[string]bool{"backends": true}

// backendKeys are the keys of one entry of the config file's backends: list.
var backendKeys = []string{"name", "kind", "host", "port", "user", "passwordEnv", "passwordFile",
	"tls", "tlsCAFile", "tlsServerName", "poolSize", "acquireTimeout", "dialTimeout", "callTimeout",
	"healthInterval", "maxMessage"}

// readBackends reads the backends: list of the config file: the named
// connections that catalog methods bind to with backend: <name>. Only the
// config file can declare them (a list has no flag or environment form);
// passwords come from an environment variable (passwordEnv) or a file
// (passwordFile), never from the config file itself.
//
//	backends:
//	  - name: rdb
//	    kind: kdb
//	    host: 127.0.0.1
//	    port: 5010
//	    user: gateway
//	    passwordEnv: QCONNECT_RDB_PASSWORD
//	    poolSize: 4
func readBackends(path string, getenv func(string) string) ([]kdb.Config, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("cannot read the config file: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // readConfigFile reports a malformed file
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "backends" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		return nil, nil
	}
	at := func(n *yaml.Node, format string, args ...any) error {
		return usageErrorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	if list.Kind != yaml.SequenceNode {
		return nil, at(list, "backends must be a list of connections (- name: ... kind: kdb ...)")
	}
	var out []kdb.Config
	seen := map[string]int{}
	for _, n := range list.Content {
		if n.Kind != yaml.MappingNode {
			return nil, at(n, "a backend must be a mapping (name:, kind:, host:, port:, ...)")
		}
		var c kdb.Config
		kind := ""
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return nil, at(v, "backend key %s must be a single value", k.Value)
			}
			var perr error
			dur := func(d *time.Duration) {
				if *d, perr = time.ParseDuration(v.Value); perr == nil && *d <= 0 {
					perr = fmt.Errorf("must be positive")
				}
			}
			num := func(x *int) {
				if *x, perr = strconv.Atoi(v.Value); perr == nil && *x <= 0 {
					perr = fmt.Errorf("must be positive")
				}
			}
			switch k.Value {
			case "name":
				c.Name = v.Value
			case "kind":
				kind = v.Value
			case "host":
				c.Host = v.Value
			case "port":
				num(&c.Port)
			case "user":
				c.User = v.Value
			case "password":
				return nil, at(k, "backend passwords are never written in the config file; use passwordEnv: VARIABLE or passwordFile: PATH")
			case "passwordEnv":
				c.PasswordEnv = v.Value
			case "passwordFile":
				c.PasswordFile = v.Value
			case "tls":
				c.TLS, perr = strconv.ParseBool(v.Value)
			case "tlsCAFile":
				c.TLSCAFile = v.Value
			case "tlsServerName":
				c.TLSServerName = v.Value
			case "poolSize":
				num(&c.PoolSize)
			case "acquireTimeout":
				dur(&c.AcquireTimeout)
			case "dialTimeout":
				dur(&c.DialTimeout)
			case "callTimeout":
				dur(&c.CallTimeout)
			case "healthInterval":
				dur(&c.HealthInterval)
			case "maxMessage":
				num(&c.MaxMessage)
			default:
				return nil, at(k, "unknown backend key %q; known keys: %s", k.Value, strings.Join(backendKeys, ", "))
			}
			if perr != nil {
				return nil, at(v, "backend key %s: invalid value %q: %v", k.Value, v.Value, perr)
			}
		}
		if kind != "kdb" {
			return nil, at(n, "backend %s has kind %q; the only kind is kdb (DuckDB is configured by the duckdb settings)", c.Name, kind)
		}
		if c.Name == "duckdb" {
			return nil, at(n, "backend name duckdb is taken by the embedded DuckDB; choose another name")
		}
		if line, dup := seen[c.Name]; dup {
			return nil, at(n, "backend %s is declared twice (first at line %d)", c.Name, line)
		}
		seen[c.Name] = n.Line
		if err := c.Validate(); err != nil {
			return nil, at(n, "%v", err)
		}
		if err := c.ResolvePassword(getenv); err != nil {
			return nil, at(n, "%v", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// openBackends opens the engines of the config file's backends: list and
// checks that every method of the catalog is bound to a configured backend.
// The returned close function closes them.
//
// With q up, each connection's methods that allow a zero-row call (a long
// parameter "limit", see kdb.ProbeParam) are called with limit 0 and their
// declared columns checked; a mismatch stops the start. A q process that is
// down is logged, and its methods are checked at their first call.
func openBackends(configPath string, getenv func(string) string, cat *qconnect.Catalog, log *slog.Logger) (map[string]qconnect.Backend, func(), error) {
	cfgs, err := readBackends(configPath, getenv)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]qconnect.Backend{}
	var engines []*kdb.Engine
	closeAll := func() {
		for _, e := range engines {
			e.Close()
		}
	}
	for _, c := range cfgs {
		e, err := kdb.Open(c)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		engines = append(engines, e)
		out[c.Name] = e
	}
	var problems []string
	for _, m := range cat.Methods {
		if _, ok := out[m.Backend]; !ok && m.Backend != "" && m.Backend != "duckdb" {
			problems = append(problems, fmt.Sprintf("%s: method %s is bound to backend %s, which is not declared under backends: in the config file", m.Pos, m.FullName(), m.Backend))
		}
	}
	for _, e := range engines {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := e.CheckMethods(ctx, cat.Methods)
		cancel()
		switch {
		case errors.Is(err, kdb.ErrNotChecked):
			log.Warn("kdb+ backend not reachable at start-up; its methods answer unavailable until it is, and are checked at their first call", "backend", e.Name(), "error", err)
		case err != nil:
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		closeAll()
		return nil, nil, usageErrorf("%s", strings.Join(problems, "\n"))
	}
	return out, closeAll, nil
}
