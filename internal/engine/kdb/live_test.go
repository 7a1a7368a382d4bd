package kdb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/fakeq"
	"github.com/qconnect/qconnect/kdb/ipc"
)

func subMethod() *qconnect.Method {
	return &qconnect.Method{Group: "monPublic", Name: "sub", Backend: "tp", Streaming: true,
		Params:  []qconnect.Param{{Name: "syms", Type: qconnect.Symbol, List: true}},
		Columns: memCols,
		Stream:  &qconnect.StreamSpec{Table: "monMem", Key: "sym", Filters: map[string]string{"syms": "sym"}}}
}

// memRows returns rows i..j of the fake's monMem table as boxed rows.
func memRows(i, j int) [][]any {
	t := fakeq.MemTable()
	tm := t.Data[0].([]ipc.Timestamp)
	sym := t.Data[1].([]string)
	u, f, c := t.Data[2].([]float64), t.Data[3].([]float64), t.Data[4].([]float64)
	var out [][]any
	for k := i; k < j; k++ {
		out = append(out, []any{tm[k].Time(), sym[k], u[k], f[k], c[k]})
	}
	return out
}

func next(t *testing.T, f qconnect.Feed) qconnect.LiveEvent {
	t.Helper()
	ev, err := f.Next(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestLiveSubscriptionPublishAndReset(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	s := tg.needFake(t)
	cfg := tg.cfg
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	e := open(t, cfg)
	f, err := e.Live(ctx10(t), qconnect.Call{Method: subMethod(), Params: map[string]any{"syms": []any{"server_B"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ev := next(t, f); ev.Kind != qconnect.LiveSnapshot || ev.Batch.Len != 0 {
		t.Fatalf("first event %+v", ev)
	}
	waitFor(t, func() bool { return s.Subscribers("monMem") == 1 })
	// Publishing goes through .u.upd on the pool; the subscriber gets its syms.
	if err := e.Append(ctx10(t), "monMem", memCols, memRows(0, 6)); err != nil {
		t.Fatal(err)
	}
	ev := next(t, f)
	if ev.Kind != qconnect.LiveUpdate || ev.Batch.Len != 2 {
		t.Fatalf("update %+v", ev)
	}
	for i := 0; i < 2; i++ {
		row := ev.Batch.Row(i)
		want := memRows(0, 6)[1+3*i]
		if !row[0].(time.Time).Equal(want[0].(time.Time)) || row[1] != "server_B" || row[2] != want[2] {
			t.Fatalf("row %d: %v, want %v", i, row, want)
		}
	}
	// The tickerplant goes away: reset, then a fresh snapshot, then updates again.
	s.DropSubscribers()
	if ev := next(t, f); ev.Kind != qconnect.LiveReset || ev.Batch != nil {
		t.Fatalf("after the drop: %+v", ev)
	}
	ev = next(t, f)
	if ev.Kind != qconnect.LiveSnapshot || ev.Batch.Len != 2 { // the fake keeps the published rows
		t.Fatalf("resubscribed: %+v", ev)
	}
	waitFor(t, func() bool { return s.Subscribers("monMem") == 1 })
	if err := e.Append(ctx10(t), "monMem", memCols, memRows(6, 9)); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, f); ev.Kind != qconnect.LiveUpdate || ev.Batch.Len != 1 || ev.Batch.Row(0)[1] != "server_B" {
		t.Fatalf("update after reset %+v", ev)
	}
	f.Close()
	waitFor(t, func() bool { return s.Subscribers("monMem") == 0 })
	if _, err := f.Next(context.Background()); err == nil {
		t.Fatal("Next after Close")
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	e := open(t, tg.cfg)
	err := e.Append(ctx10(t), "nosuch", memCols, memRows(0, 1))
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !contains(err, "'nosuch") {
		t.Fatalf("err = %v", err)
	}
	cols := append([]qconnect.Column{}, memCols...)
	cols[2].Type = qconnect.Long
	rows := memRows(0, 1)
	rows[0][2] = int64(5)
	if err := e.Append(ctx10(t), "monMem", cols, rows); qconnect.ErrorCode(err) != qconnect.CodeAnalyticError {
		t.Fatalf("type mismatch: %v", err)
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
