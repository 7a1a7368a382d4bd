package duckdb

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vmKB reads a VmRSS/VmHWM-style field of /proc/self/status in kB.
func vmKB(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// BenchmarkDemoRSS opens the default demo (1M trades, 3M quotes) and reports
// the process's RSS right after the load and once it has settled (jemalloc's
// background threads return what the load freed), and the size of DuckDB's
// tables. Linux only (/proc).
func BenchmarkDemoRSS(b *testing.B) {
	for range b.N {
		e := openEngine(b, Config{Demo: true, DemoTrades: 1_000_000, Now: testNow})
		loaded := vmKB("VmRSS")
		settled := loaded
		for i := 0; i < 50; i++ { // up to 10 s, until RSS stops falling
			time.Sleep(200 * time.Millisecond)
			now := vmKB("VmRSS")
			if now >= settled && i > 5 {
				break
			}
			settled = min(settled, now)
		}
		var tables int64
		if err := e.DB().QueryRow(`SELECT sum(memory_usage_bytes) FROM duckdb_memory()`).Scan(&tables); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(loaded/1024, "MB-rss-loaded")
		b.ReportMetric(settled/1024, "MB-rss-settled")
		b.ReportMetric(float64(tables)/(1<<20), "MB-duckdb")
		_ = e.Close()
	}
}
