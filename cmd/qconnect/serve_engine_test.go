package main

import (
	"flag"
	"strings"
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

// TestMemorySettings: demo mode without a memory setting gets the demo's
// limit as DuckDB's limit (after a larger load limit) and no budget; a
// given budget is DuckDB's limit too; a given DuckDB limit alone sets no
// budget; bad values are usage errors naming their flag.
func TestMemorySettings(t *testing.T) {
	for _, c := range []struct {
		name                          string
		demo                          bool
		budget, perCall, limit, demoL string
		want                          memorySettings
		err                           string
	}{
		{name: "demo defaults", demo: true, demoL: "100MB",
			want: memorySettings{loadLimit: demoLoadMemoryLimit, limit: "100MB"}},
		{name: "demo, budget and share given", demo: true, demoL: "100MB", budget: "200MiB", perCall: "50MiB",
			want: memorySettings{budget: 200 << 20, perCall: 50 << 20, limit: "200MiB"}},
		{name: "demo, no demo limit", demo: true, want: memorySettings{}},
		{name: "demo, DuckDB limit given", demo: true, demoL: "100MB", limit: "2GB",
			want: memorySettings{limit: "2GB"}},
		{name: "budget given", demo: true, demoL: "100MB", budget: "1GiB",
			want: memorySettings{budget: 1 << 30, limit: "1024MiB"}},
		{name: "not demo", want: memorySettings{}},
		{name: "share without budget", perCall: "10MB", err: "--memory-per-call needs --memory-budget"},
		{name: "share over budget", budget: "10MB", perCall: "20MB", err: "no call could run"},
		{name: "bad budget", budget: "lots", err: "--memory-budget"},
	} {
		o := serveOptions{memBudget: c.budget, memPerCall: c.perCall, memLimit: c.limit}
		o.engine.demoMemoryLimit = c.demoL
		got, err := o.memory(c.demo)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: memory() = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}
