package main

import (
	"flag"
	"testing"
)

// TestEngineMemoryLimits: in demo mode without a limit of its own the demo's
// limit applies after a larger load limit; a given limit (or a budget, which
// serve turns into one) applies to both; outside demo mode nothing changes;
// an empty --demo-memory-limit keeps DuckDB's default.
func TestEngineMemoryLimits(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	s := newSettings(fs)
	var o engineOptions
	o.flags(fs, s)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.resolve(func(k string) string {
		if k == envDemoMemoryLimit {
			return "64MB"
		}
		return ""
	}, ""); err != nil {
		t.Fatal(err)
	}
	if !o.compress {
		t.Error("--duckdb-compress defaults to false")
	}
	for _, c := range []struct {
		given      string
		demo       bool
		load, run  string
		demoOption string
	}{
		{"", true, demoLoadMemoryLimit, "64MB", "64MB"},
		{"1GB", true, "", "1GB", "64MB"},
		{"", false, "", "", "64MB"},
		{"", true, "", "", ""},
	} {
		o.demoMemoryLimit = c.demoOption
		load, run := o.memoryLimits(c.given, c.demo)
		if load != c.load || run != c.run {
			t.Errorf("memoryLimits(%q, demo %v) with --demo-memory-limit %q = %q, %q; want %q, %q", c.given, c.demo, c.demoOption, load, run, c.load, c.run)
		}
	}
}
