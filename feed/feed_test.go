package feed

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

var start = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func TestMarketRowsRateAndShape(t *testing.T) {
	f := New(context.Background(), Config{Rate: 25, Seed: 7})
	var trades, quotes []map[string]any
	now := start
	for range 40 { // 4 s of 100 ms ticks
		now = now.Add(tick)
		tr, q := f.MarketRows(now, tick)
		trades, quotes = append(trades, tr...), append(quotes, q...)
	}
	if len(trades) != 100 || len(quotes) != 300 {
		t.Fatalf("4 s at 25 trades/s gave %d trades and %d quotes; want 100 and 300", len(trades), len(quotes))
	}
	var last time.Time
	for i, q := range quotes {
		at, err := protocol.ParseText(qconnect.Timestamp, q["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if tt := at.(time.Time); tt.Before(last) {
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
		if sz := tr["size"].(int); sz < 100 || sz%100 != 0 {
			t.Fatalf("trade size %d", sz)
		}
	}

	slow := New(context.Background(), Config{Rate: 0.5})
	n := 0
	for i := range 40 {
		tr, _ := slow.MarketRows(start.Add(time.Duration(i)*tick), tick)
		n += len(tr)
	}
	if n != 2 { // fractions carry over: 0.5/s for 4 s
		t.Fatalf("0.5 trades/s over 4 s gave %d trades", n)
	}
}

func TestMemRowsStayInBounds(t *testing.T) {
	f := New(context.Background(), Config{Seed: 1})
	for i := range 2000 {
		for _, r := range f.MemRows(start.Add(time.Duration(i) * time.Second)) {
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

// TestRunPublishes runs the feed against a recording PublishFunc (standing
// in for the gateway, which e2e/ws_test.go covers): it publishes monMem
// samples and market rows to the three methods, and a method the catalog
// lacks turns its part off after one attempt.
func TestRunPublishes(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	calls := map[string]int{}
	publish := func(ctx context.Context, method string, rows json.RawMessage) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		calls[method]++
		if method == QuoteMethod {
			return 0, qconnect.Errorf(qconnect.CodeUnknownMethod, "no such method")
		}
		var list []map[string]any
		if err := json.Unmarshal(rows, &list); err != nil {
			t.Errorf("%s: rows are not a JSON array of objects: %v", method, err)
		}
		got[method] += len(list)
		return len(list), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	New(ctx, Config{Publish: publish, Rate: 20, MemInterval: 500 * time.Millisecond}).Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if got[MemMethod] < 4 || got[TradeMethod] < 15 {
		t.Fatalf("published %v in 1.5 s; want >= 2 samples of 2 servers and >= 15 trades", got)
	}
	if calls[QuoteMethod] != 1 {
		t.Fatalf("a missing method was tried %d times; want once", calls[QuoteMethod])
	}
}
