// Command fetch is the source limit of the export benchmark
// (bench/export.sh): it opens the embedded engine with the gateway's
// demo-mode settings (the same seed and size, so the same trade table; the
// same memory limits: 512MB while the demo loads, then --memory-limit,
// 100MB by default as the gateway's --demo-memory-limit) and runs a method
// of the benchmark catalog (marketData/getTrades: the whole day, ORDER BY
// time) through the engine's cursor, as the gateway does, but with no
// encoding: it reads every batch and discards it. That is the pace at which
// the gateway's encoders are fed, the upper bound of any export format.
//
// It runs the query -repeat times and prints one JSON line per run: rows,
// seconds, rows per second, VmRSS before and VmHWM during the run, and
// DuckDB's own account after it (duckdb_memory(), duckdb_temporary_files()),
// which shows what a run leaves behind for the next one.
//
//	fetch -trades 10000000 -repeat 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/bench/internal/procstat"
	"github.com/qconnect/qconnect/internal/catalog"
	"github.com/qconnect/qconnect/internal/engine/duckdb"
)

func main() {
	trades := flag.Int("trades", 1_000_000, "demo size: number of trades (as serve --demo-size)")
	seed := flag.Int64("seed", 1, "demo seed (as serve --demo-seed)")
	catPath := flag.String("catalog", "bench/export/catalog.yaml", "catalog holding the method")
	method := flag.String("method", "marketData/getTrades", "group/method to run")
	memLimit := flag.String("memory-limit", "100MB", `DuckDB's memory limit after the demo is loaded (the gateway's demo default; "" = DuckDB's default)`)
	loadLimit := flag.String("load-memory-limit", "512MB", "DuckDB's memory limit while the demo loads (the gateway's in demo mode)")
	repeat := flag.Int("repeat", 1, "runs of the query")
	mode := flag.String("mode", "cursor", `comma-separated modes, each run once per repeat in turn: cursor: the engine's cursor, batches decoded and discarded; duckdb-arrow: DuckDB's own Arrow conversion of each chunk, written as an Arrow IPC stream to nowhere (needs -tags duckdb_arrow)`)
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	cat, err := catalog.Load(*catPath, catalog.Defaults{})
	if err != nil {
		fail(err.Error())
	}
	m, ok := cat.LookupFull(*method)
	if !ok {
		fail(*method + " is not in " + *catPath)
	}
	cfg := duckdb.Config{Demo: true, DemoTrades: *trades, Seed: *seed, MemoryLimit: *memLimit}
	if *memLimit != "" {
		cfg.LoadMemoryLimit = *loadLimit
	}
	loadStart := time.Now()
	eng, err := duckdb.Open(ctx, cfg)
	if err != nil {
		fail(err.Error())
	}
	defer eng.Close()
	fmt.Fprintf(os.Stderr, "fetch: demo of %d trades loaded in %.1f s; %s\n", *trades, time.Since(loadStart).Seconds(), account(ctx, eng))
	params := map[string]any{}
	for _, p := range m.Params {
		params[p.Name] = nil
	}
	modes := strings.Split(*mode, ",")
	for r := 1; r <= *repeat; r++ {
		for _, mode := range modes {
			before := procstat.MustStatusKB("VmRSS")
			procstat.MustResetPeak()
			start := time.Now()
			call := qconnect.Call{Method: m, Params: params, Limit: m.RowCap + 1}
			var n int64
			var first time.Time
			switch mode {
			case "cursor":
				n, first, err = drain(ctx, eng, call)
			case "duckdb-arrow":
				if duckdbArrow == nil {
					fail("-mode duckdb-arrow needs a build with -tags duckdb_arrow")
				}
				n, first, err = duckdbArrow(ctx, eng, call)
			default:
				fail("unknown -mode " + mode + ": use cursor or duckdb-arrow")
			}
			if err != nil {
				fail(err.Error())
			}
			secs := time.Since(start).Seconds()
			line, _ := json.Marshal(map[string]any{"run": r, "rows": n, "seconds": procstat.Round3(secs), "firstBatchSeconds": procstat.Round3(first.Sub(start).Seconds()), "mode": mode,
				"rowsPerSec": int64(float64(n) / secs), "rssBeforeMB": before / 1024, "peakMB": procstat.MustStatusKB("VmHWM") / 1024,
				"duckdb": account(ctx, eng)})
			fmt.Println(string(line))
		}
	}
}

// duckdbArrow runs the call through DuckDB's own Arrow conversion
// (arrow.go, built with -tags duckdb_arrow); nil without the tag.
var duckdbArrow func(context.Context, *duckdb.Engine, qconnect.Call) (int64, time.Time, error)

// drain runs the call and reads every batch, discarding it. It returns
// the rows read and when the first batch arrived (for a sorted query, the
// end of DuckDB's sort).
func drain(ctx context.Context, eng *duckdb.Engine, call qconnect.Call) (n int64, first time.Time, err error) {
	rows, err := eng.Query(ctx, call)
	if err != nil {
		return 0, first, err
	}
	defer rows.Close()
	for {
		b, err := rows.Next(ctx)
		if first.IsZero() {
			first = time.Now()
		}
		if errors.Is(err, io.EOF) {
			return n, first, nil
		}
		if err != nil {
			return n, first, err
		}
		n += int64(b.Len)
	}
}

// account summarises DuckDB's memory by tag and its temporary files.
func account(ctx context.Context, eng *duckdb.Engine) string {
	var parts []string
	for _, q := range []string{
		`SELECT tag, memory_usage_bytes // 1048576 AS mb, temporary_storage_bytes // 1048576 AS tmp_mb FROM duckdb_memory() WHERE memory_usage_bytes > 0 OR temporary_storage_bytes > 0`,
		`SELECT 'tempfiles' AS tag, count(*) AS n, coalesce(sum(size), 0) // 1048576 AS mb FROM duckdb_temporary_files()`,
	} {
		rows := queryAll(ctx, eng, q)
		for _, r := range rows {
			parts = append(parts, fmt.Sprint(r...))
		}
	}
	return strings.Join(parts, "; ")
}

func queryAll(ctx context.Context, eng *duckdb.Engine, q string) [][]any {
	m := &qconnect.Method{Group: "bench", Name: "account", Query: q}
	rows, err := eng.Query(ctx, qconnect.Call{Method: m})
	if err != nil {
		return [][]any{{"error", err.Error()}}
	}
	defer rows.Close()
	var out [][]any
	for {
		b, err := rows.Next(ctx)
		if err != nil {
			return out
		}
		out = append(out, b.Rows()...)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "fetch:", msg)
	os.Exit(1)
}
