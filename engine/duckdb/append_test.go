package duckdb

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

var tradeCols = []qconnect.Column{col("time", qconnect.Timestamp), col("sym", qconnect.Symbol),
	col("price", qconnect.Float), col("size", qconnect.Long), col("side", qconnect.Symbol)}

func countSym(t *testing.T, e *Engine, sym string) int64 {
	t.Helper()
	var n int64
	if err := e.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM trade WHERE sym = $1`, sym).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendStoresRows(t *testing.T) {
	e := openDemo(t)
	at := time.Date(2024, 7, 26, 10, 0, 0, 123456000, time.UTC)
	rows := [][]any{{at, "ZAPP", 10.5, int64(100), "buy"}, {at.Add(time.Second), "ZAPP", 11.0, int64(200), nil}}
	if err := e.Append(context.Background(), "TRADE", tradeCols, rows); err != nil { // names are case-insensitive
		t.Fatal(err)
	}
	m := sqlMethod(`SELECT time, sym, price, size, side FROM trade WHERE sym = 'ZAPP' ORDER BY time`, nil, tradeCols...)
	_, got := query(t, e, qconnect.Call{Method: m})
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("stored rows = %v, want %v", got, rows)
	}

	// A subset of the columns, in another order: the rest is NULL.
	if err := e.Append(context.Background(), "trade", []qconnect.Column{col("sym", qconnect.Symbol), col("price", qconnect.Float)},
		[][]any{{"ZSUB", 1.25}}); err != nil {
		t.Fatal(err)
	}
	_, got = query(t, e, qconnect.Call{Method: sqlMethod(`SELECT time, sym, price, size, side FROM trade WHERE sym = 'ZSUB'`, nil, tradeCols...)})
	if want := [][]any{{nil, "ZSUB", 1.25, nil, nil}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("subset append = %v, want %v", got, want)
	}
}

func TestAppendAllOrNothing(t *testing.T) {
	e := openDemo(t)
	at := time.Date(2024, 7, 26, 10, 0, 0, 0, time.UTC)
	rows := make([][]any, 10000)
	for i := range rows {
		rows[i] = []any{at, "ZNONE", 1.0, int64(i), "buy"}
	}
	rows[9000][3] = "not a number" // fails late, after the appender flushed chunks
	err := e.Append(context.Background(), "trade", tradeCols, rows)
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("bad row: %v", err)
	}
	if n := countSym(t, e, "ZNONE"); n != 0 {
		t.Fatalf("%d rows of a failed batch were stored", n)
	}
	// The connection is usable afterwards (the transaction was rolled back).
	if err := e.Append(context.Background(), "trade", tradeCols, rows[:5]); err != nil {
		t.Fatal(err)
	}
	if n := countSym(t, e, "ZNONE"); n != 5 {
		t.Fatalf("after a good batch: %d rows", n)
	}
}

func TestAppendErrors(t *testing.T) {
	e := openDemo(t)
	err := e.Append(context.Background(), "nosuch", tradeCols, [][]any{{nil, "x", 1.0, int64(1), "buy"}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "no table nosuch") {
		t.Fatalf("missing table: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Append(ctx, "trade", tradeCols, [][]any{{nil, "ZCANCEL", 1.0, int64(1), "buy"}}); err == nil {
		t.Fatal("append with a cancelled context succeeded")
	}
	if n := countSym(t, e, "ZCANCEL"); n != 0 {
		t.Fatalf("a cancelled append stored %d rows", n)
	}
}

// BenchmarkAppendOneRow is the cost of a one-row publish's storage step.
func BenchmarkAppendOneRow(b *testing.B) {
	e := openEngine(b, Config{Demo: true, DemoTrades: testTrades, Now: testNow, Threads: 2})
	row := [][]any{{testNow, "ZBENCH", 1.0, int64(100), "buy"}}
	ctx := context.Background()
	for b.Loop() {
		if err := e.Append(ctx, "trade", tradeCols, row); err != nil {
			b.Fatal(err)
		}
	}
}
