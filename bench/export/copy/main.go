// Command copy is the DuckDB baseline of the export benchmark
// (bench/export.sh): it opens the embedded engine with the gateway's demo
// configuration (the same seed and size, so the same trade table) and runs
// DuckDB's own
//
//	COPY (<marketData/getTrades query>) TO 'FILE' (FORMAT csv, HEADER)
//
// with the query of the benchmark catalog, whose parameters are all left
// unset (bound as typed NULLs, as the gateway binds parameters a call does
// not give). It checks that the query is the demo catalog's, and prints one
// JSON line: rows, seconds, rows per second, bytes written, and its memory:
// VmRSS before COPY (the demo tables) and VmHWM during it (reset just
// before COPY through /proc/self/clear_refs).
//
//	copy -trades 10000000 -out /tmp/trades.csv
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/bench/internal/procstat"
	"github.com/qconnect/qconnect/examples"
	"github.com/qconnect/qconnect/internal/catalog"
	"github.com/qconnect/qconnect/internal/engine/duckdb"
)

func main() {
	trades := flag.Int("trades", 1_000_000, "demo size: number of trades (as serve --demo-size)")
	seed := flag.Int64("seed", 1, "demo seed (as serve --demo-seed)")
	out := flag.String("out", "", "CSV file to write (required)")
	catPath := flag.String("catalog", "bench/export/catalog.yaml", "catalog holding the method")
	method := flag.String("method", "marketData/getTrades", "group/method whose query is copied")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	memLimit := flag.String("memory-limit", "", "DuckDB memory limit (as serve --duckdb-memory-limit)")
	flag.Parse()
	if *out == "" {
		fail("give -out FILE")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	query, err := methodQuery(*catPath, *method)
	if err != nil {
		fail(err.Error())
	}
	loadStart := time.Now()
	eng, err := duckdb.Open(ctx, duckdb.Config{Demo: true, DemoTrades: *trades, Seed: *seed, MemoryLimit: *memLimit})
	if err != nil {
		fail(err.Error())
	}
	defer eng.Close()
	load := time.Since(loadStart)

	before := procstat.MustStatusKB("VmRSS")
	// Reset VmHWM to the current RSS, so that after COPY it is COPY's peak.
	procstat.MustResetPeak()
	start := time.Now()
	rows, err := eng.Exec(ctx, "COPY ("+query+") TO '"+strings.ReplaceAll(*out, "'", "''")+"' (FORMAT csv, HEADER)")
	if err != nil {
		fail("COPY: " + err.Error())
	}
	secs := time.Since(start).Seconds()
	peak := procstat.MustStatusKB("VmHWM")
	st, err := os.Stat(*out)
	if err != nil {
		fail(err.Error())
	}
	line, _ := json.Marshal(map[string]any{"rows": rows, "seconds": procstat.Round3(secs), "rowsPerSec": int64(float64(rows) / secs),
		"bytes": st.Size(), "loadSeconds": procstat.Round3(load.Seconds()), "rssBeforeMB": before / 1024, "peakMB": peak / 1024})
	fmt.Println(string(line))
}

// methodQuery returns the method's query from the catalog at path, with
// every parameter replaced by a NULL of its DuckDB type and $now by the
// current time. The query must equal the demo catalog's, so that the
// baseline runs what the gateway runs.
func methodQuery(path, full string) (string, error) {
	cat, err := catalog.Load(path, catalog.Defaults{})
	if err != nil {
		return "", err
	}
	demo, err := catalog.Parse(examples.DemoCatalog(), "examples/catalog.yaml", catalog.Defaults{})
	if err != nil {
		return "", err
	}
	m, ok := cat.LookupFull(full)
	d, ok2 := demo.LookupFull(full)
	if !ok || !ok2 {
		return "", fmt.Errorf("%s is not in both %s and the demo catalog", full, path)
	}
	if m.Query != d.Query {
		return "", fmt.Errorf("the query of %s in %s differs from the demo catalog's: copy it again", full, path)
	}
	q := m.Query
	for _, p := range m.Params {
		q = regexp.MustCompile(`\$`+p.Name+`\b`).ReplaceAllString(q, "(NULL::"+sqlType(p)+")")
	}
	q = regexp.MustCompile(`\$now\b`).ReplaceAllString(q, "(now()::TIMESTAMP)")
	if strings.Contains(q, "$") {
		return "", fmt.Errorf("the query of %s has a parameter this program does not know: %s", full, q)
	}
	return q, nil
}

// sqlType is the DuckDB type a parameter is bound as.
func sqlType(p qconnect.Param) string {
	t := map[qconnect.Type]string{qconnect.Boolean: "BOOLEAN", qconnect.Long: "BIGINT", qconnect.Float: "DOUBLE",
		qconnect.String: "VARCHAR", qconnect.Symbol: "VARCHAR", qconnect.Timestamp: "TIMESTAMP", qconnect.Date: "DATE",
		qconnect.Timespan: "INTERVAL"}[p.Type]
	if t == "" {
		fail(fmt.Sprintf("parameter %s has type %s, which this program cannot bind", p.Name, p.Type))
	}
	if p.List {
		t += "[]"
	}
	return t
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "copy:", msg)
	os.Exit(1)
}
