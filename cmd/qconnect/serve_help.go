package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qconnect/qconnect/internal/apidoc"
)

// serveIntro is the hand-written head of `qconnect serve --help`; the
// settings follow, grouped (serveGroups), one line each with its default
// and environment variable, generated from the registered settings so the
// list cannot go stale.
const serveIntro = `Usage: qconnect serve [flags]

Runs the gateway. Without a catalog, users, data or database it runs in demo
mode: the embedded demo catalog and data (the last 48 hours of memory samples,
a trading day of trades and quotes), the demo user kxSupport / 12345678, and a
live demo feed. It listens on loopback only unless told otherwise.

  qconnect serve                                         # the demo on 127.0.0.1:8080
  qconnect serve --data DIR --catalog catalog.yaml --users users.yaml
  qconnect serve --config gateway.yaml                   # settings from a file

Every setting is a flag, an environment variable (QCONNECT_...) or a key of
the --config YAML file; a flag wins over the environment, which wins over the
file. Durations are like 30s, 5m, 1h30m.
`

// serveGroups orders the settings of the help; a setting is in the first
// group whose predicate accepts its name, and unknown ones go to "Other".
var serveGroups = []struct {
	title string
	match func(key string) bool
}{
	{"Listening and access", inSet("listen", "config", "users", "insecure-demo", "docs")},
	{"Data and catalog", func(k string) bool {
		return inSet("catalog", "data", "duckdb", "demo")(k) || strings.HasPrefix(k, "demo-")
	}},
	{"Calls and limits", inSet("max-body", "clock-skew", "timeout", "row-cap", "max-concurrent", "max-concurrent-per-user", "rate-per-user", "rate-burst")},
	{"Sessions and logins", func(k string) bool {
		return inSet("idle-timeout", "session-lifetime", "max-sessions-per-user")(k) || strings.HasPrefix(k, "login-") || strings.HasPrefix(k, "session")
	}},
	{"WebSocket", func(k string) bool { return strings.HasPrefix(k, "ws-") }},
	{"DuckDB engine", func(k string) bool { return strings.HasPrefix(k, "duckdb-") }},
	{"Logging and shutdown", func(k string) bool { return strings.HasPrefix(k, "log-") || strings.HasPrefix(k, "shutdown") }},
	{"Other", func(string) bool { return true }},
}

func inSet(keys ...string) func(string) bool {
	return func(k string) bool {
		for _, x := range keys {
			if x == k {
				return true
			}
		}
		return false
	}
}

// writeServeHelp writes the help of qconnect serve: the intro, then every
// setting of st under its group title.
func writeServeHelp(w io.Writer, fs *flag.FlagSet, st *settings) {
	io.WriteString(w, serveIntro)
	done := map[string]bool{}
	for _, g := range serveGroups {
		var lines []string
		for _, s := range st.list {
			if done[s.key] || !g.match(s.key) {
				continue
			}
			done[s.key] = true
			f := fs.Lookup(s.key)
			if f == nil {
				continue
			}
			name, _ := flag.UnquoteUsage(f)
			left := "--" + s.key
			if v, ok := valueNames[s.key]; ok {
				left += " " + v
			} else if name != "" {
				left += " " + strings.ToUpper(valueName(name))
			}
			var extra []string
			if def := f.DefValue; def != "" && def != "0" && def != "false" {
				if d, err := time.ParseDuration(def); err == nil && name == "duration" {
					def = apidoc.ShortDuration(d)
				}
				extra = append(extra, "default "+def)
			}
			env := s.env
			if s.key == "config" {
				env = envConfig
			}
			if env != "" {
				extra = append(extra, "env "+env)
			}
			usage := s.usage
			if len(extra) > 0 {
				usage += " (" + strings.Join(extra, "; ") + ")"
			}
			lines = append(lines, fmt.Sprintf("  %-30s %s", left, usage))
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s:\n%s\n", g.title, strings.Join(lines, "\n"))
		}
	}
	io.WriteString(w, "\nThe README's Configuration section explains each group.\n")
}

// valueNames are the value placeholders of settings whose type name says
// too little.
var valueNames = map[string]string{
	"listen": "ADDR", "config": "FILE", "users": "FILE", "catalog": "FILE", "data": "DIR", "duckdb": "FILE",
	"docs": "public|login|off", "demo": "auto|true|false", "log-format": "text|json", "log-level": "LEVEL",
	"duckdb-memory-limit": "SIZE", "duckdb-temp-dir": "DIR", "max-body": "BYTES", "ws-max-frame": "BYTES", "ws-queue-bytes": "BYTES",
}

// valueName shortens flag.UnquoteUsage's type names for the help.
func valueName(n string) string {
	switch n {
	case "duration":
		return "d"
	case "float":
		return "n"
	case "int":
		return "n"
	case "string":
		return "s"
	case "value":
		return "v"
	}
	return n
}
