package feed

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// memBackend is an in-memory table store standing in for the embedded
// engine (e2e/ws_test.go runs the Source on DuckDB): Append stores rows,
// and a query returns every stored row of the table named by the method's
// query.
type memBackend struct {
	mu     sync.Mutex
	tables map[string][][]any
	cols   map[string][]qconnect.Column
}

func (m *memBackend) Append(_ context.Context, table string, cols []qconnect.Column, rows [][]any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cols[table]; !ok {
		return qconnect.Errorf(qconnect.CodeAnalyticError, "no table %s", table)
	}
	m.tables[table] = append(m.tables[table], rows...)
	return nil
}

func (m *memBackend) Query(_ context.Context, call qconnect.Call) (qconnect.Rows, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cols := m.cols[call.Method.Query]
	b, err := qconnect.BatchOf(cols, m.tables[call.Method.Query])
	if err != nil {
		return nil, err
	}
	return &oneBatch{cols: cols, b: b}, nil
}

type oneBatch struct {
	cols []qconnect.Column
	b    *qconnect.Batch
}

func (r *oneBatch) Columns() []qconnect.Column { return r.cols }
func (r *oneBatch) Next(context.Context) (*qconnect.Batch, error) {
	if r.b == nil || r.b.Len == 0 {
		return nil, io.EOF
	}
	b := r.b
	r.b = nil
	return b, nil
}
func (r *oneBatch) Close() error { return nil }

func next(t *testing.T, f qconnect.Feed) qconnect.LiveEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := f.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestSourceSnapshotThenUpdates: a feed of a method with a snapshot starts
// with the stored rows, then gets every batch appended to its table once,
// in order, in the method's columns (by name, a missing column null),
// whether the feed emitted it (typed batch) or a client published it
// (Append); the rows are stored either way; a closed feed gets nothing more.
func TestSourceSnapshotThenUpdates(t *testing.T) {
	mb := &memBackend{tables: map[string][][]any{}, cols: map[string][]qconnect.Column{"monMem": MemColumns}}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := mb.Append(context.Background(), "monMem", MemColumns, [][]any{{at, "server_A", 1.0, 2.0, 0.5}}); err != nil {
		t.Fatal(err)
	}
	src := NewSource(mb, nil)
	// The streaming method takes three of the table's columns, in another order.
	cols := []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "usedMB", Type: qconnect.Float}, {Name: "time", Type: qconnect.Timestamp}}
	m := &qconnect.Method{Group: "monPublic", Name: "sub", Columns: cols, Streaming: true,
		Stream: &qconnect.StreamSpec{Table: "monMem", Snapshot: "monMem"}}
	f, err := src.Live(context.Background(), qconnect.Call{Method: m, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, f)
	if ev.Kind != qconnect.LiveSnapshot || ev.Batch.Len != 1 || ev.Batch.Row(0)[0] != "server_A" || ev.Batch.Row(0)[1] != 1.0 {
		t.Fatalf("first event %+v, want the snapshot of the stored row", ev)
	}
	feedRows := New(context.Background(), Config{Seed: 3}).MemBatch(at.Add(time.Second))
	if err := src.Emit(context.Background(), "monMem", MemColumns, feedRows); err != nil {
		t.Fatal(err)
	}
	pubCols := []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}}
	if err := src.Append(context.Background(), "monMem", pubCols, [][]any{{at.Add(2 * time.Second), "server_Z"}}); err != nil {
		t.Fatal(err)
	}
	ev = next(t, f)
	if ev.Kind != qconnect.LiveUpdate || ev.Batch.Len != feedRows.Len {
		t.Fatalf("second event %+v, want the feed's %d rows", ev, feedRows.Len)
	}
	for r := 0; r < feedRows.Len; r++ {
		want := feedRows.Row(r)
		if got := ev.Batch.Row(r); got[0] != want[1] || got[1] != want[2] || !got[2].(time.Time).Equal(want[0].(time.Time)) {
			t.Fatalf("row %d: %v, want the columns of %v by name", r, got, want)
		}
	}
	ev = next(t, f)
	if ev.Kind != qconnect.LiveUpdate || ev.Batch.Len != 1 || ev.Batch.Row(0)[0] != "server_Z" || ev.Batch.Row(0)[1] != nil {
		t.Fatalf("third event %+v, want the published row with usedMB null", ev)
	}
	if n := len(mb.tables["monMem"]); n != 1+feedRows.Len+1 {
		t.Fatalf("%d rows stored, want %d", n, 1+feedRows.Len+1)
	}
	f.Close()
	f.Close() // idempotent
	if err := src.Append(context.Background(), "monMem", pubCols, [][]any{{at, "server_Y"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Next(context.Background()); err == nil {
		t.Fatal("a closed feed returned an event")
	}
	if err := src.Append(context.Background(), "nope", pubCols, [][]any{{at, "x"}}); qconnect.ErrorCode(err) != qconnect.CodeAnalyticError {
		t.Fatalf("append to a missing table: %v, want analyticError", err)
	}
}

// TestSourceSlowFeedResets: a feed that is not read loses updates beyond
// its queue and then gets a LiveReset before the next update it keeps.
func TestSourceSlowFeedResets(t *testing.T) {
	mb := &memBackend{tables: map[string][][]any{}, cols: map[string][]qconnect.Column{"trade": TradeColumns}}
	src := NewSource(mb, nil)
	src.queue = 2
	m := &qconnect.Method{Group: "marketData", Name: "subTrades", Columns: TradeColumns, Streaming: true, Stream: &qconnect.StreamSpec{Table: "trade"}}
	f, err := src.Live(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	gen := New(context.Background(), Config{Rate: 100, Seed: 1})
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for range 3 {
		now = now.Add(tick)
		tr, _ := gen.MarketBatches(now, tick)
		if err := src.Emit(context.Background(), "trade", TradeColumns, tr); err != nil {
			t.Fatal(err)
		}
	}
	if k := next(t, f).Kind; k != qconnect.LiveUpdate {
		t.Fatalf("event 1: %v", k)
	}
	if k := next(t, f).Kind; k != qconnect.LiveUpdate {
		t.Fatalf("event 2: %v", k)
	}
	tr, _ := gen.MarketBatches(now.Add(tick), tick)
	if err := src.Emit(context.Background(), "trade", TradeColumns, tr); err != nil {
		t.Fatal(err)
	}
	if k := next(t, f).Kind; k != qconnect.LiveReset {
		t.Fatalf("after a lost update: %v, want LiveReset", k)
	}
	if ev := next(t, f); ev.Kind != qconnect.LiveUpdate || ev.Batch.Len != tr.Len {
		t.Fatalf("after the reset: %+v", ev)
	}
}
