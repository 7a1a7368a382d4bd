package duckdb

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// scanRangeQuery is a 4-column result of n rows (BIGINT, DOUBLE, VARCHAR,
// TIMESTAMP) computed on the fly, so the benchmark measures the engine and
// not a stored table.
const scanRangeQuery = `SELECT i AS id, i * 0.5 AS px, 'sym' || (i % 50) AS sym,
	TIMESTAMP '2024-01-01' + to_microseconds(i) AS ts FROM range($n) r(i)`

// BenchmarkScanRange1M and BenchmarkScanRange10M stream 1M and 10M rows of
// scanRangeQuery through Query and Rows.Next with DuckDB's memory limit at
// 100MB, and report rows/s and the growth of the process's peak RSS
// (VmHWM, reset before each run through /proc/self/clear_refs) over its
// RSS before the run. With a streaming engine the peak does not grow with
// the number of rows.
func BenchmarkScanRange1M(b *testing.B)  { benchmarkScanRange(b, 1_000_000) }
func BenchmarkScanRange10M(b *testing.B) { benchmarkScanRange(b, 10_000_000) }

func benchmarkScanRange(b *testing.B, n int64) {
	e := openEngine(b, Config{MemoryLimit: "100MB"})
	m := sqlMethod(scanRangeQuery, []qconnect.Param{{Name: "n", Type: qconnect.Long}},
		col("id", qconnect.Long), col("px", qconnect.Float), col("sym", qconnect.Symbol), col("ts", qconnect.Timestamp))
	ctx := context.Background()
	call := qconnect.Call{Method: m, Params: map[string]any{"n": n}}
	scan := func() {
		rows, err := e.Query(ctx, call)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		var got int64
		for {
			batch, err := rows.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got += int64(batch.Len)
		}
		if got != n {
			b.Fatalf("%d rows, want %d", got, n)
		}
	}
	scan() // warm up: DuckDB's allocator and the Go heap reach their steady state
	runtime.GC()
	base := procStatusKB(b, "VmRSS")
	resetPeakRSS(b)
	start := time.Now()
	runs := 0
	for b.Loop() {
		scan()
		runs++
	}
	elapsed := time.Since(start)
	peak := procStatusKB(b, "VmHWM")
	b.ReportMetric(float64(n)*float64(runs)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peak-base)/1024, "peakRSSdelta-MB")
	b.ReportMetric(float64(peak)/1024, "peakRSS-MB")
}

// procStatusKB reads a field of /proc/self/status in KiB (Linux only).
func procStatusKB(b *testing.B, field string) int64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status (%v): the memory figures need Linux", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("%s: %v", field, err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// resetPeakRSS sets VmHWM to the current RSS (Linux 4.0+).
func resetPeakRSS(b *testing.B) {
	b.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS (%v): the memory figures need Linux", err)
	}
}
