package feed

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

var start = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func TestMarketRowsRateAndShape(t *testing.T) {
	f := New(context.Background(), Config{Rate: 25, Seed: 7})
	var trades, quotes []map[string]any
	now := start
	for range 40 { // 4 s of 100 ms ticks
		now = now.Add(tick)
		tr, q := f.MarketBatches(now, tick)
		trades, quotes = append(trades, objects(TradeColumns, tr)...), append(quotes, objects(QuoteColumns, q)...)
	}
	if len(trades) != 100 || len(quotes) != 300 {
		t.Fatalf("4 s at 25 trades/s gave %d trades and %d quotes; want 100 and 300", len(trades), len(quotes))
	}
	var last time.Time
	for i, q := range quotes {
		if tt := q["time"].(time.Time); tt.Before(last) {
			t.Fatalf("quote %d at %s before %s: not in time order", i, tt, last)
		} else {
			last = tt
		}
		if bid, ask := q["bid"].(float64), q["ask"].(float64); !(bid > 0 && ask > bid) {
			t.Fatalf("quote %v: want 0 < bid < ask", q)
		}
	}
	for _, tr := range trades {
		if s := tr["side"]; s != "buy" && s != "sell" {
			t.Fatalf("trade side %v", s)
		}
		if sz := tr["size"].(int64); sz < 100 || sz%100 != 0 {
			t.Fatalf("trade size %d", sz)
		}
	}

	slow := New(context.Background(), Config{Rate: 0.5})
	n := 0
	for i := range 40 {
		tr, _ := slow.MarketBatches(start.Add(time.Duration(i)*tick), tick)
		if tr != nil {
			n += tr.Len
		}
	}
	if n != 2 { // fractions carry over: 0.5/s for 4 s
		t.Fatalf("0.5 trades/s over 4 s gave %d trades", n)
	}
}

func TestMemRowsStayInBounds(t *testing.T) {
	f := New(context.Background(), Config{Seed: 1})
	for i := range 2000 {
		for _, r := range objects(MemColumns, f.MemBatch(start.Add(time.Duration(i)*time.Second))) {
			used, free := r["usedMB"].(float64), r["freeMB"].(float64)
			total := used + free
			if used < 0.05*total-0.01 || used > 0.97*total+0.01 {
				t.Fatalf("sample %v: used outside 5%%..97%% of %g", r, total)
			}
			if c := r["cpuLoad"].(float64); c < 0 || c > 1 {
				t.Fatalf("cpuLoad %g", c)
			}
		}
	}
}

// objects returns the rows of b as column name → value.
func objects(cols []qconnect.Column, b *qconnect.Batch) []map[string]any {
	if b == nil {
		return nil
	}
	out := make([]map[string]any, b.Len)
	for r := range out {
		out[r] = map[string]any{}
		for j, v := range b.Row(r) {
			out[r][cols[j].Name] = v
		}
	}
	return out
}

// TestRunEmits runs the feed against a recording EmitFunc (standing in for
// the Source, which source_test.go and e2e/ws_test.go cover): it emits
// monMem samples and market batches to the three tables, and a table that
// refuses the rows (analyticError) turns its part off after one attempt.
func TestRunEmits(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	calls := map[string]int{}
	emit := func(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		calls[table]++
		if table == QuoteTable {
			return qconnect.Errorf(qconnect.CodeAnalyticError, "no such table")
		}
		if len(b.Cols) != len(cols) {
			t.Errorf("%s: %d vectors for %d columns", table, len(b.Cols), len(cols))
		}
		got[table] += b.Len
		return nil
	}
	now := start
	var clock sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := New(ctx, Config{Emit: emit, Rate: 20, MemInterval: 500 * time.Millisecond, Now: func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		now = now.Add(tick) // every tick is 100 ms of feed time
		return now
	}})
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := got[MemTable] >= 4 && got[TradeTable] >= 15
		mu.Unlock()
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if got[MemTable] < 4 || got[TradeTable] < 15 {
		t.Fatalf("emitted %v; want >= 2 samples of 2 servers and >= 15 trades", got)
	}
	if calls[QuoteTable] != 1 {
		t.Fatalf("a refusing table was tried %d times; want once", calls[QuoteTable])
	}
}

// TestTablesLimitTheFeed: the feed writes only to tables the catalog
// publishes to (Config.Tables).
func TestTablesLimitTheFeed(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	emit := func(ctx context.Context, table string, cols []qconnect.Column, b *qconnect.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		got[table] += b.Len
		return nil
	}
	f := New(context.Background(), Config{Emit: emit, Rate: 50, Tables: map[string]bool{"trade": true}})
	now := start
	for range 10 {
		now = now.Add(tick)
		f.emit(context.Background(), MemTable, MemColumns, f.MemBatch(now))
		tr, q := f.MarketBatches(now, tick)
		f.emit(context.Background(), QuoteTable, QuoteColumns, q)
		f.emit(context.Background(), TradeTable, TradeColumns, tr)
	}
	if got[TradeTable] == 0 || got[MemTable] != 0 || got[QuoteTable] != 0 {
		t.Fatalf("emitted %v; want trades only", got)
	}
}
