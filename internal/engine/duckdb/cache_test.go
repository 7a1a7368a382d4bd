package duckdb

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func openCached(t *testing.T) *Engine {
	t.Helper()
	return openEngine(t, Config{Demo: true, DemoTrades: testTrades, Now: testNow, Threads: 2, ResultCacheBytes: 8 << 20})
}

var symParam = []qconnect.Param{{Name: "sym", Type: qconnect.Symbol}}

func sumSize(t *testing.T, e *Engine, m *qconnect.Method, sym string) int64 {
	t.Helper()
	_, rows := query(t, e, qconnect.Call{Method: m, Params: map[string]any{"sym": sym}})
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	return rows[0][1].(int64)
}

func TestCacheServesRepeatsAndDropsOnAppend(t *testing.T) {
	e := openCached(t)
	m := sqlMethod(`SELECT count(*)::BIGINT AS n, coalesce(sum(size), 0)::BIGINT AS volume FROM trade WHERE sym = $sym`,
		symParam, col("n", qconnect.Long), col("volume", qconnect.Long))
	v0 := sumSize(t, e, m, "AAPL")
	if h, _ := e.CacheStats(); h != 0 {
		t.Fatalf("%d hits on a first call", h)
	}
	if v := sumSize(t, e, m, "AAPL"); v != v0 {
		t.Fatalf("repeat: %d, want %d", v, v0)
	}
	if h, _ := e.CacheStats(); h != 1 {
		t.Fatalf("%d hits after a repeated call, want 1", h)
	}
	// Another parameter value is another result.
	if v := sumSize(t, e, m, "MSFT"); v == v0 {
		t.Fatalf("MSFT got AAPL's volume %d", v)
	}
	// An append to another table keeps the entry.
	if err := e.Append(context.Background(), "quote", []qconnect.Column{col("sym", qconnect.Symbol)}, [][]any{{"AAPL"}}); err != nil {
		t.Fatal(err)
	}
	h0, _ := e.CacheStats()
	sumSize(t, e, m, "AAPL")
	if h, _ := e.CacheStats(); h != h0+1 {
		t.Errorf("an append to quote dropped a result that reads only trade")
	}
	// An append to trade: the next call sees the row.
	at := time.Date(2024, 7, 25, 12, 0, 0, 0, time.UTC)
	if err := e.Append(context.Background(), "trade", tradeCols, [][]any{{at, "AAPL", 1.0, int64(7), "buy"}}); err != nil {
		t.Fatal(err)
	}
	if v := sumSize(t, e, m, "AAPL"); v != v0+7 {
		t.Fatalf("after a publish of 7 shares: %d, want %d (a stale cached result)", v, v0+7)
	}
}

// TestCacheNeverOlderThanLastPublish races calls of a cached method with
// publishes to its table: every call that starts after a publish returned
// sees that publish's row.
func TestCacheNeverOlderThanLastPublish(t *testing.T) {
	e := openCached(t)
	m := sqlMethod(`SELECT count(*)::BIGINT AS n, coalesce(sum(size), 0)::BIGINT AS volume FROM trade WHERE sym = $sym`,
		symParam, col("n", qconnect.Long), col("volume", qconnect.Long))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// Readers keep filling the cache while the publisher runs.
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				rows, err := e.Query(ctx, qconnect.Call{Method: m, Params: map[string]any{"sym": "ZCACHE"}})
				if err != nil {
					continue
				}
				_, _ = drain(rows)
				rows.Close()
			}
		}()
	}
	at := time.Date(2024, 7, 25, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= 60; i++ {
		if err := e.Append(context.Background(), "trade", tradeCols, [][]any{{at, "ZCACHE", 1.0, int64(1), "buy"}}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if v := sumSize(t, e, m, "ZCACHE"); v != int64(i) {
				t.Fatalf("after publish %d: volume %d, want %d: the cache served a result older than the last publish", i, v, i)
			}
		}
	}
	cancel()
	wg.Wait()
	if h, _ := e.CacheStats(); h == 0 {
		t.Errorf("no cache hits at all: the test did not exercise the cache")
	}
}

func TestCacheSkipsVolatileQueries(t *testing.T) {
	e := openCached(t)
	for _, q := range []string{
		`SELECT now()::TIMESTAMP AS t`,
		`SELECT $now::TIMESTAMP AS t`,
		`SELECT current_timestamp::TIMESTAMP AS t`,
		`SELECT random()::TIMESTAMP AS t`,
	} {
		m := sqlMethod(q, nil)
		for range 2 {
			rows, err := e.Query(context.Background(), qconnect.Call{Method: m, Now: testNow})
			if err != nil {
				continue // only the cache matters here
			}
			_, _ = drain(rows)
			rows.Close()
		}
		if h, _ := e.CacheStats(); h != 0 {
			t.Fatalf("%s was served from the cache", q)
		}
	}
	// Large results are not kept.
	big := sqlMethod(`SELECT * FROM quote`, nil)
	for i := range 2 {
		_, rows := query(t, e, qconnect.Call{Method: big})
		if len(rows) == 0 {
			t.Fatal("no quotes")
		}
		if h, _ := e.CacheStats(); h != 0 {
			t.Fatalf("call %d: a %d-row result was kept", i, len(rows))
		}
	}
}

// TestCacheDropsOnPrune: rows deleted by retention (Prune) are gone from
// the next call's result, not served from a kept one.
func TestCacheDropsOnPrune(t *testing.T) {
	e := openCached(t)
	m := sqlMethod(`SELECT count(*)::BIGINT AS n, coalesce(sum(size), 0)::BIGINT AS volume FROM trade WHERE sym = $sym`,
		symParam, col("n", qconnect.Long), col("volume", qconnect.Long))
	before := sumSize(t, e, m, "AAPL")
	sumSize(t, e, m, "AAPL") // kept
	n, err := e.Prune(context.Background(), "trade", qconnect.Retention{TimeColumn: "time", MaxRows: 1}, time.Now())
	if err != nil || n == 0 {
		t.Fatalf("Prune = %d, %v; want rows deleted", n, err)
	}
	if after := sumSize(t, e, m, "AAPL"); after == before {
		t.Fatalf("after pruning trade to one row, AAPL's volume is still %d (a stale kept result)", before)
	}
}
