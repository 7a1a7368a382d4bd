package server

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/testenv"
)

// tickSource is a live source that is not the demo feed: a stand-in for a
// kdb+ tickerplant (which cannot be run here), driven by the test through
// a channel. It implements qconnect.LiveSource; its Query answers nothing.
type tickSource struct {
	opens  atomic.Int32
	events chan qconnect.LiveEvent
	end    chan error
}

func (s *tickSource) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	return &memRows{cols: call.Method.Columns}, nil
}

func (s *tickSource) Live(ctx context.Context, call qconnect.Call) (qconnect.Feed, error) {
	s.opens.Add(1)
	return &tickFeed{src: s, cols: call.Method.Columns}, nil
}

type tickFeed struct {
	src    *tickSource
	cols   []qconnect.Column
	closed sync.Once
}

func (f *tickFeed) Columns() []qconnect.Column { return f.cols }

func (f *tickFeed) Next(ctx context.Context) (qconnect.LiveEvent, error) {
	select {
	case ev := <-f.src.events:
		return ev, nil
	case err := <-f.src.end:
		return qconnect.LiveEvent{}, err
	case <-ctx.Done():
		return qconnect.LiveEvent{}, ctx.Err()
	}
}

func (f *tickFeed) Close() error { return nil }

func ticks(t *testing.T, rows ...[]any) *qconnect.Batch {
	t.Helper()
	b, err := qconnect.BatchOf(tickCols, rows)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tick(sym string, price float64) []any {
	return []any{time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), sym, price}
}

// prices decodes the price of each row of a frame's msg.
func prices(t *testing.T, f frame) []float64 {
	t.Helper()
	var out []float64
	for _, raw := range f.Msg {
		var r struct{ Price float64 }
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Price)
	}
	return out
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLiveSourceToWebSockets: a backend's live source (not the demo feed)
// streams to WebSocket subscribers through the hub: one upstream for
// identical subscriptions, the source's snapshot then its updates in order
// with seq, the subscription's filter applied, a reset delivered as a
// SnapshotMsg with "reset": true, a late joiner's snapshot made of the
// snapshot and the updates since, and the end of the source as
// SubscriptionEndMsg.
func TestLiveSourceToWebSockets(t *testing.T) {
	t.Parallel()
	src := &tickSource{events: make(chan qconnect.LiveEvent), end: make(chan error)}
	ts, s, _ := wsTestServerWith(t, Config{}, src)
	subscribe := func() *wsClient {
		c := dialWS(t, ts)
		c.login("alice")
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": []string{"A", "B"}}}})
		if f := c.expect("SubscribeResp"); !f.Success {
			t.Fatalf("subscribe: %+v", f)
		}
		return c
	}
	a, b := subscribe(), subscribe()
	if n := src.opens.Load(); n != 1 {
		t.Fatalf("%d feeds opened for two identical subscriptions, want 1 (shared upstream)", n)
	}
	emit := func(kind qconnect.LiveKind, batch *qconnect.Batch) {
		select {
		case src.events <- qconnect.LiveEvent{Kind: kind, Batch: batch}:
		case <-time.After(10 * time.Second):
			t.Fatal("the hub does not read the feed")
		}
	}
	emit(qconnect.LiveSnapshot, ticks(t, tick("A", 1), tick("C", 99), tick("B", 2)))
	for _, c := range []*wsClient{a, b} {
		f := c.expect("SnapshotMsg")
		if f.Reset || !equalFloats(prices(t, f), []float64{1, 2}) {
			t.Fatalf("snapshot %+v, want prices [1 2] (C filtered out)", f)
		}
		if f.Meta == nil || f.Meta.RowCount != 2 {
			t.Fatalf("snapshot meta %+v, want rowCount 2 (PROTOCOL appendix 32)", f.Meta)
		}
	}
	for i := 1; i <= 5; i++ {
		emit(qconnect.LiveUpdate, ticks(t, tick("A", float64(10*i)), tick("Z", -1)))
	}
	for _, c := range []*wsClient{a, b} {
		for i := 1; i <= 5; i++ {
			f := c.expect("UpdateMsg")
			if f.Seq != uint64(i) || !equalFloats(prices(t, f), []float64{float64(10 * i)}) {
				t.Fatalf("update %d: %+v %v", i, f, prices(t, f))
			}
		}
	}
	// A late joiner's snapshot: the source's snapshot and the updates since.
	late := subscribe()
	f := late.expect("SnapshotMsg")
	if want := []float64{1, 2, 10, 20, 30, 40, 50}; f.Reset || !equalFloats(prices(t, f), want) {
		t.Fatalf("late joiner's snapshot %v, want %v", prices(t, f), want)
	}
	if n := src.opens.Load(); n != 1 {
		t.Fatalf("%d feeds opened, want 1", n)
	}
	// The upstream was lost and re-established: a reset, then a fresh
	// snapshot, then updates whose seq continues.
	emit(qconnect.LiveReset, nil)
	emit(qconnect.LiveSnapshot, ticks(t, tick("B", 7)))
	emit(qconnect.LiveUpdate, ticks(t, tick("B", 8)))
	for i, c := range []*wsClient{a, b, late} {
		f := c.expect("SnapshotMsg")
		if !f.Reset || len(f.Msg) != 0 {
			t.Fatalf("client %d: %+v, want a SnapshotMsg with reset:true and no rows", i, f)
		}
		if f := c.expect("SnapshotMsg"); f.Reset || !equalFloats(prices(t, f), []float64{7}) {
			t.Fatalf("client %d: snapshot after the reset %+v", i, f)
		}
		want := uint64(6)
		if c == late {
			want = 1
		}
		if f := c.expect("UpdateMsg"); f.Seq != want || !equalFloats(prices(t, f), []float64{8}) {
			t.Fatalf("client %d: update after the reset %+v, want seq %d", i, f, want)
		}
	}
	// The source ends for good: every subscriber is told.
	src.end <- io.ErrUnexpectedEOF
	for i, c := range []*wsClient{a, b, late} {
		f := c.expect("SubscriptionEndMsg")
		if f.Error == nil || f.Error.Code != qconnect.CodeUnavailable {
			t.Fatalf("client %d: %+v, want unavailable", i, f)
		}
	}
	waitUntil(t, func() bool { return s.ws.hub.Stats().Upstreams == 0 })
}

// TestLiveSourceWithoutSnapshot: a live source that sends only updates is
// joined like published rows: a later subscriber of the shared upstream
// gets no SnapshotMsg, only the updates from then on, numbered from 1.
func TestLiveSourceWithoutSnapshot(t *testing.T) {
	t.Parallel()
	src := &tickSource{events: make(chan qconnect.LiveEvent), end: make(chan error)}
	ts, _, _ := wsTestServerWith(t, Config{}, src)
	subscribe := func() *wsClient {
		c := dialWS(t, ts)
		c.login("alice")
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub", "params": map[string]any{"syms": []string{"A"}}}})
		if f := c.expect("SubscribeResp"); !f.Success {
			t.Fatalf("subscribe: %+v", f)
		}
		return c
	}
	emit := func(price float64) {
		select {
		case src.events <- qconnect.LiveEvent{Kind: qconnect.LiveUpdate, Batch: ticks(t, tick("A", price))}:
		case <-time.After(10 * time.Second):
			t.Fatal("the hub does not read the feed")
		}
	}
	a := subscribe()
	emit(1)
	if f := a.expect("UpdateMsg"); f.Seq != 1 || !equalFloats(prices(t, f), []float64{1}) {
		t.Fatalf("first update %+v", f)
	}
	late := subscribe()
	emit(2)
	if f := a.expect("UpdateMsg"); f.Seq != 2 || !equalFloats(prices(t, f), []float64{2}) {
		t.Fatalf("second update %+v", f)
	}
	if f := late.expect("UpdateMsg"); f.Seq != 1 || !equalFloats(prices(t, f), []float64{2}) {
		t.Fatalf("late joiner's first frame %+v, want UpdateMsg seq 1 (no snapshot)", f)
	}
	if n := src.opens.Load(); n != 1 {
		t.Fatalf("%d feeds opened, want 1", n)
	}
}

// TestLiveSourceQueuedSnapshot: a source whose snapshot is queued before
// Live returns (the demo's feed.Source, a kdb+ tickerplant's reply) gets
// it to the first subscriber: the hub starts reading the feed only once
// the subscription is in place.
func TestLiveSourceQueuedSnapshot(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		src := &tickSource{events: make(chan qconnect.LiveEvent, 1), end: make(chan error)}
		src.events <- qconnect.LiveEvent{Kind: qconnect.LiveSnapshot, Batch: ticks(t, tick("A", float64(i)))}
		ts, _, _ := wsTestServerWith(t, Config{}, src)
		c := dialWS(t, ts)
		c.login("alice")
		c.send("SubscribeReq", []any{map[string]any{"method": "t/sub"}})
		c.expect("SubscribeResp")
		if f := c.expect("SnapshotMsg"); !equalFloats(prices(t, f), []float64{float64(i)}) {
			t.Fatalf("run %d: snapshot %+v", i, f)
		}
	}
}

// waitUntil polls cond until it holds (10 s at most).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, "the condition", 10*time.Second, cond)
}
