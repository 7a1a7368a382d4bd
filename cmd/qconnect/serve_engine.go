package main

import (
	"flag"
	"fmt"
)

// Environment variables of the DuckDB storage settings of `qconnect serve`
// (issue 11: the demo's memory).
const (
	envCompress        = "QCONNECT_DUCKDB_COMPRESS"
	envDemoMemoryLimit = "QCONNECT_DEMO_MEMORY_LIMIT"
)

// defaultDemoMemoryLimit is DuckDB's memory limit in demo mode when neither
// --duckdb-memory-limit nor --memory-budget is given: with the compressed
// tables it keeps the gateway under 300 MB of RSS with the default demo and
// during a whole-day export of a 10M-trade demo (BENCHMARKS.md, issue 11);
// beyond it DuckDB spills sorts and cold table blocks to its temp directory.
const defaultDemoMemoryLimit = "100MB"

// demoLoadMemoryLimit is DuckDB's memory limit while the demo loads, when
// the demo's limit applies: generating a large demo sorts tens of millions
// of rows, and some of its steps cannot spill.
const demoLoadMemoryLimit = "512MB"

// engineOptions are the DuckDB storage settings of `qconnect serve`.
type engineOptions struct {
	compress        bool
	demoMemoryLimit string
}

func (o *engineOptions) flags(fs *flag.FlagSet, s *settings) {
	fs.BoolVar(&o.compress, "duckdb-compress", true, s.add("duckdb-compress", envCompress, "keep the in-memory tables (demo, --data CSV) compressed, as a database file would be (false: DuckDB's uncompressed in-memory tables)"))
	fs.StringVar(&o.demoMemoryLimit, "demo-memory-limit", defaultDemoMemoryLimit, s.add("demo-memory-limit", envDemoMemoryLimit, `in demo mode, DuckDB's memory limit when neither --duckdb-memory-limit nor --memory-budget is given ("" = DuckDB's default, 80% of RAM)`))
}

// memoryLimits are DuckDB's memory limits while loading and after: the
// one given for both, else in demo mode the demo's (with
// demoLoadMemoryLimit while it loads).
func (o *engineOptions) memoryLimits(given string, demo bool) (load, run string) {
	if given == "" && demo && o.demoMemoryLimit != "" {
		return demoLoadMemoryLimit, o.demoMemoryLimit
	}
	return "", given
}

// memorySettings are the gateway's memory settings once the flags are
// resolved: the budget and a call's share of it (0: no admission; the
// server's default share when perCall is 0), and DuckDB's limits while
// loading and after ("" = DuckDB's default).
type memorySettings struct {
	budget, perCall  int64
	loadLimit, limit string
}

// memory resolves --memory-budget, --memory-per-call,
// --duckdb-memory-limit and --demo-memory-limit. A budget is also DuckDB's
// limit unless --duckdb-memory-limit says otherwise; in demo mode without
// either, DuckDB's limit is the demo's (after the load) and there is no
// budget (README "Demo memory": calls are not queued for memory, so long
// streams run side by side; heavy concurrent sorts can get busy).
func (o *serveOptions) memory(demo bool) (memorySettings, error) {
	var m memorySettings
	var err error
	if m.budget, err = parseBytes(o.memBudget); err != nil {
		return m, usageErrorf("--memory-budget: %v", err)
	}
	if m.perCall, err = parseBytes(o.memPerCall); err != nil {
		return m, usageErrorf("--memory-per-call: %v", err)
	}
	given := o.memLimit
	if m.budget > 0 && given == "" {
		given = fmt.Sprintf("%dMiB", max(m.budget>>20, 1)) // DuckDB's share is the whole budget
	}
	m.loadLimit, m.limit = o.engine.memoryLimits(given, demo)
	if m.perCall > 0 && m.budget == 0 {
		return m, usageErrorf("--memory-per-call needs --memory-budget")
	}
	if m.budget > 0 && m.perCall > m.budget {
		return m, usageErrorf("--memory-per-call (%s) is larger than the memory budget (%d bytes): no call could run", o.memPerCall, m.budget)
	}
	return m, nil
}
