package duckdb

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestGroupCommitInOrderAndComplete: 8 publishers append 1-row publishes
// concurrently (so their Appends share transactions); every row is stored
// once, and each publisher's rows are stored in its order.
func TestGroupCommitInOrderAndComplete(t *testing.T) {
	e := openDemo(t)
	const pubs, each = 8, 150
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sym := fmt.Sprintf("ZGC%d", p)
			for i := range each {
				// Alternate 1-row and 3-row publishes.
				rows := [][]any{{testNow, sym, 1.0, int64(3 * i), "buy"}}
				if i%2 == 1 {
					rows = append(rows, []any{testNow, sym, 1.0, int64(3*i + 1), "buy"}, []any{testNow, sym, 1.0, int64(3*i + 2), "sell"})
				}
				if err := e.Append(context.Background(), "trade", tradeCols, rows); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for p := range pubs {
		sym := fmt.Sprintf("ZGC%d", p)
		rows, err := e.DB().Query(`SELECT size FROM trade WHERE sym = $1 ORDER BY rowid`, sym)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var v int64
			rows.Scan(&v)
			got = append(got, v)
		}
		rows.Close()
		var want []int64
		for i := range each {
			want = append(want, int64(3*i))
			if i%2 == 1 {
				want = append(want, int64(3*i+1), int64(3*i+2))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s stored %d rows %v..., want %d rows in publish order", sym, len(got), got[:min(len(got), 10)], len(want))
		}
	}
}

// TestGroupCommitBadAppendFailsAlone: a publish whose row does not convert,
// in a group with good ones, fails alone; the others are stored.
func TestGroupCommitBadAppendFailsAlone(t *testing.T) {
	e := openDemo(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := []any{testNow, "ZBAD", 1.0, int64(i), "buy"}
			if i%10 == 3 {
				row[3] = "not a number"
			}
			errs[i] = e.Append(context.Background(), "trade", tradeCols, [][]any{row})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%10 == 3) != (err != nil) {
			t.Errorf("publish %d: %v", i, err)
		}
	}
	if n := countSym(t, e, "ZBAD"); n != 36 {
		t.Errorf("%d rows stored, want the 36 good ones", n)
	}
}

// BenchmarkAppendParallel is one-row publishes from many goroutines at
// once, which group commit stores in shared transactions.
func BenchmarkAppendParallel(b *testing.B) {
	e := openEngine(b, Config{Demo: true, DemoTrades: testTrades, Now: testNow, Threads: 2})
	row := [][]any{{testNow, "ZBENCH", 1.0, int64(100), "buy"}}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := e.Append(context.Background(), "trade", tradeCols, row); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
