package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/testenv"
)

// The sinks below stand in for a transport (the WebSocket of package
// server), which is the hub's consumer, not the component under test.

// recSink records every update; with limit > 0 it refuses updates beyond
// that many, like a consumer whose queue is full.
type recSink struct {
	mu      sync.Mutex
	limit   int
	seqs    []uint64
	batches []*Batch
}

func (r *recSink) Update(seq uint64, b *Batch) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.limit > 0 && len(r.seqs) >= r.limit {
		return false
	}
	r.seqs = append(r.seqs, seq)
	r.batches = append(r.batches, b)
	return true
}

func (r *recSink) rows() [][]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]any
	for _, b := range r.batches {
		out = append(out, b.Rows...)
	}
	return out
}

func (r *recSink) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seqs)
}

// checkSeq asserts 1, 2, ..., n.
func (r *recSink) checkSeq(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.seqs {
		if s != uint64(i+1) {
			t.Fatalf("update %d has seq %d; want %d (seqs %v)", i, s, i+1, r.seqs)
		}
	}
}

var tradeCols = []qconnect.Column{
	{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
	{Name: "price", Type: qconnect.Float}, {Name: "size", Type: qconnect.Long},
}

func subTrades(conflate time.Duration) *qconnect.Method {
	return &qconnect.Method{Group: "marketData", Name: "subTrades", Streaming: true,
		Params: []qconnect.Param{
			{Name: "syms", Type: qconnect.Symbol, List: true},
			{Name: "minSize", Type: qconnect.Long},
			{Name: "conflate", Type: qconnect.Timespan},
		},
		// The streaming method shows fewer columns, in another order.
		Columns: []qconnect.Column{{Name: "sym", Type: qconnect.Symbol}, {Name: "price", Type: qconnect.Float}},
		Stream: &qconnect.StreamSpec{Table: "trade", Key: "sym",
			Filters: map[string]string{"syms": "sym"}, Conflate: conflate},
	}
}

var t0 = time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)

func trade(i int, sym string, price float64) []any {
	return []any{t0.Add(time.Duration(i) * time.Millisecond), sym, price, int64(100)}
}

func mustSub(t *testing.T, h *Hub, m *qconnect.Method, params map[string]any, user string, sink Sink) *Subscription {
	t.Helper()
	s, _, err := h.Subscribe(Request{Method: m, Params: params, User: user}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFilterProjectionAndSeq(t *testing.T) {
	h := NewHub(Config{})
	m := subTrades(0)
	a, all := &recSink{}, &recSink{}
	mustSub(t, h, m, map[string]any{"syms": []any{"AAPL", "MSFT"}}, "u", a)
	mustSub(t, h, m, map[string]any{"syms": nil}, "u", all)

	h.Publish("trade", tradeCols, [][]any{trade(0, "AAPL", 1), trade(1, "IBM", 2), trade(2, "MSFT", 3)})
	h.Publish("TRADE", tradeCols, [][]any{trade(3, "IBM", 4)})  // table names are case-insensitive
	h.Publish("quote", tradeCols, [][]any{trade(4, "AAPL", 5)}) // another table
	h.Publish("trade", tradeCols, [][]any{trade(5, "AAPL", 6)})

	want := [][]any{{"AAPL", 1.0}, {"MSFT", 3.0}, {"AAPL", 6.0}}
	if got := a.rows(); !reflect.DeepEqual(got, want) {
		t.Errorf("filtered rows = %v, want %v", got, want)
	}
	a.checkSeq(t)
	if a.count() != 2 { // two publishes had matching rows
		t.Errorf("filtered subscription got %d updates, want 2", a.count())
	}
	if got := len(all.rows()); got != 5 {
		t.Errorf("unfiltered subscription got %d rows, want 5", got)
	}
	all.checkSeq(t)

	var decoded []map[string]any
	if err := json.Unmarshal(a.batches[0].JSON, &decoded); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(decoded) != "[map[price:1 sym:AAPL] map[price:3 sym:MSFT]]" {
		t.Errorf("JSON = %s", a.batches[0].JSON)
	}
}

func TestSharedUpstreamRefcount(t *testing.T) {
	h := NewHub(Config{})
	m := subTrades(0)
	p := map[string]any{"syms": []any{"AAPL"}}
	s1, shared1, _ := h.Subscribe(Request{Method: m, Params: p, User: "alice"}, &recSink{})
	s2, shared2, _ := h.Subscribe(Request{Method: m, Params: map[string]any{"syms": []any{"AAPL"}}, User: "alice"}, &recSink{})
	if shared1 || !shared2 {
		t.Fatalf("shared = %v, %v; want false, true", shared1, shared2)
	}
	// Another user, other parameters: their own upstreams.
	s3, shared3, _ := h.Subscribe(Request{Method: m, Params: p, User: "bob"}, &recSink{})
	s4, shared4, _ := h.Subscribe(Request{Method: m, Params: map[string]any{"syms": []any{"MSFT"}}, User: "alice"}, &recSink{})
	if shared3 || shared4 {
		t.Fatal("different users or parameters must not share an upstream")
	}
	if st := h.Stats(); st.Upstreams != 3 || st.Opened != 3 || st.Subscriptions != 4 {
		t.Fatalf("stats = %+v", st)
	}
	s1.Close()
	if st := h.Stats(); st.Upstreams != 3 {
		t.Fatalf("closing one of two sharers closed the upstream: %+v", st)
	}
	s2.Close()
	s2.Close() // idempotent
	s3.Close()
	s4.Close()
	if st := h.Stats(); st.Upstreams != 0 || st.Subscriptions != 0 || st.Opened != 3 {
		t.Fatalf("after closing all: %+v", st)
	}
	if len(h.byTable) != 0 {
		t.Fatalf("table index not emptied: %v", h.byTable)
	}
	// A new subscription after the last one closed opens a new upstream.
	_, shared, _ := h.Subscribe(Request{Method: m, Params: p, User: "alice"}, &recSink{})
	if shared || h.Stats().Opened != 4 {
		t.Fatalf("shared = %v, stats %+v", shared, h.Stats())
	}
}

func TestUnsubscribeStopsUpdates(t *testing.T) {
	h := NewHub(Config{})
	a, b := &recSink{}, &recSink{}
	sa := mustSub(t, h, subTrades(0), nil, "u", a)
	mustSub(t, h, subTrades(0), nil, "u", b)
	h.Publish("trade", tradeCols, [][]any{trade(0, "AAPL", 1)})
	sa.Close()
	h.Publish("trade", tradeCols, [][]any{trade(1, "AAPL", 2)})
	if a.count() != 1 || b.count() != 2 {
		t.Fatalf("updates after unsubscribe: closed %d (want 1), open %d (want 2)", a.count(), b.count())
	}
}

func TestSlowConsumerDroppedOthersContinue(t *testing.T) {
	h := NewHub(Config{})
	slow, fast := &recSink{limit: 3}, &recSink{}
	mustSub(t, h, subTrades(0), nil, "u", slow)
	mustSub(t, h, subTrades(0), nil, "u", fast)
	for i := range 10 {
		h.Publish("trade", tradeCols, [][]any{trade(i, "AAPL", float64(i))})
	}
	if slow.count() != 3 || fast.count() != 10 {
		t.Fatalf("slow got %d (want 3, then dropped), fast got %d (want 10)", slow.count(), fast.count())
	}
	fast.checkSeq(t)
	if st := h.Stats(); st.Subscriptions != 1 || st.Upstreams != 1 {
		t.Fatalf("stats after drop = %+v", st)
	}
}

func TestHoldAndRelease(t *testing.T) {
	h := NewHub(Config{})
	r := &recSink{}
	s, _, err := h.Subscribe(Request{Method: subTrades(0), User: "u"}, r)
	if err != nil {
		t.Fatal(err)
	}
	h.Publish("trade", tradeCols, [][]any{trade(0, "AAPL", 1)})
	h.Publish("trade", tradeCols, [][]any{trade(1, "MSFT", 2)})
	if r.count() != 0 {
		t.Fatal("a held subscription delivered before Release")
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	h.Publish("trade", tradeCols, [][]any{trade(2, "IBM", 3)})
	want := [][]any{{"AAPL", 1.0}, {"MSFT", 2.0}, {"IBM", 3.0}}
	if got := r.rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	r.checkSeq(t)

	// Holding is bounded: past MaxHeldBytes the subscription is dropped.
	h2 := NewHub(Config{MaxHeldBytes: 100})
	s2, _, _ := h2.Subscribe(Request{Method: subTrades(0), User: "u"}, &recSink{})
	for i := range 10 {
		h2.Publish("trade", tradeCols, [][]any{trade(i, "AAPL", 1)})
	}
	if err := s2.Release(); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Release after overflowing the hold = %v, want ErrSlowConsumer", err)
	}
	if st := h2.Stats(); st.Upstreams != 0 || st.Subscriptions != 0 {
		t.Fatalf("dropped held subscription left %+v", st)
	}
}

func TestConflation(t *testing.T) {
	now := t0
	var mu sync.Mutex
	h := NewHub(Config{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	m := subTrades(time.Hour) // the declared default; the parameter overrides it
	r := &recSink{}
	s := mustSub(t, h, m, map[string]any{"conflate": 50 * time.Millisecond}, "u", r)
	if s.Conflate() != 50*time.Millisecond {
		t.Fatalf("Conflate = %s", s.Conflate())
	}
	h.Publish("trade", tradeCols, [][]any{trade(0, "AAPL", 1), trade(1, "MSFT", 2)})
	h.Publish("trade", tradeCols, [][]any{trade(2, "AAPL", 3)})
	h.Publish("trade", tradeCols, [][]any{trade(3, "IBM", 4), trade(4, "AAPL", 5)})
	if r.count() != 0 {
		t.Fatal("a conflated subscription delivered before its interval ended")
	}
	waitFor(t, func() bool { return r.count() == 1 })
	// The latest row per sym, in the order the syms first arrived.
	want := [][]any{{"AAPL", 5.0}, {"MSFT", 2.0}, {"IBM", 4.0}}
	if got := r.rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("conflated rows = %v, want %v", got, want)
	}
	h.Publish("trade", tradeCols, [][]any{trade(5, "MSFT", 6)})
	waitFor(t, func() bool { return r.count() == 2 })
	r.checkSeq(t)
	// An interval without rows delivers nothing: no timer is armed (white
	// box), and the next update holds exactly the next row.
	s.up.mu.Lock()
	armed := s.up.timer != nil
	s.up.mu.Unlock()
	if armed {
		t.Fatal("a conflation timer is armed with no rows held")
	}
	h.Publish("trade", tradeCols, [][]any{trade(6, "IBM", 7)})
	waitFor(t, func() bool { return r.count() == 3 })
	if got := r.rows(); !reflect.DeepEqual(got[len(got)-1], []any{"IBM", 7.0}) || r.count() != 3 {
		t.Fatalf("after an empty interval: %v", got)
	}
	r.checkSeq(t)

	// Out-of-range intervals are invalidParams.
	for _, d := range []time.Duration{time.Millisecond, -time.Second} {
		_, _, err := h.Subscribe(Request{Method: m, Params: map[string]any{"conflate": d}, User: "u"}, &recSink{})
		if qconnect.ErrorCode(err) != qconnect.CodeInvalidParams {
			t.Errorf("conflate %s: err = %v, want invalidParams", d, err)
		}
	}
	// The declared default applies without the parameter; 0s means every update.
	s3 := mustSub(t, h, m, map[string]any{"conflate": time.Duration(0)}, "u", &recSink{})
	if s3.Conflate() != 0 {
		t.Errorf("conflate 0s = %s", s3.Conflate())
	}
	s4 := mustSub(t, h, m, nil, "u", &recSink{})
	if s4.Conflate() != time.Hour {
		t.Errorf("default conflate = %s", s4.Conflate())
	}
}

func TestConflationKeyBound(t *testing.T) {
	h := NewHub(Config{MaxConflateKeys: 3})
	r := &recSink{}
	mustSub(t, h, subTrades(time.Hour), nil, "u", r)
	h.Publish("trade", tradeCols, [][]any{trade(0, "A", 1), trade(1, "B", 1), trade(2, "C", 1), trade(3, "D", 1)})
	if r.count() != 1 || len(r.rows()) != 3 {
		t.Fatalf("at the key bound: %d updates, %d rows; want the 3 held rows delivered at once", r.count(), len(r.rows()))
	}
}

func TestBatchesSplitAtMaxBytes(t *testing.T) {
	h := NewHub(Config{MaxBatchBytes: 100})
	r := &recSink{}
	mustSub(t, h, subTrades(0), nil, "u", r)
	var rows [][]any
	for i := range 20 {
		rows = append(rows, trade(i, "AAPL", float64(i)))
	}
	h.Publish("trade", tradeCols, rows)
	if r.count() < 5 {
		t.Fatalf("20 rows of ~30 bytes in batches of <= 100 bytes gave %d updates", r.count())
	}
	r.checkSeq(t)
	var all []map[string]any
	for _, b := range r.batches {
		if len(b.JSON) > 100 {
			t.Errorf("batch of %d bytes exceeds 100", len(b.JSON))
		}
		var part []map[string]any
		if err := json.Unmarshal(b.JSON, &part); err != nil || len(part) != len(b.Rows) {
			t.Fatalf("batch JSON %s: %v", b.JSON, err)
		}
		all = append(all, part...)
	}
	for i, row := range all {
		if row["price"] != float64(i) {
			t.Fatalf("row %d = %v: rows lost or reordered", i, row)
		}
	}
}

func TestCanonicalKey(t *testing.T) {
	m := subTrades(0)
	k := func(p map[string]any) string { return canonicalKey(m, p, "u") }
	if k(map[string]any{"syms": []any{"A"}}) == k(map[string]any{"syms": []any{"A", "B"}}) ||
		k(map[string]any{"syms": []any{"A,B"}}) == k(map[string]any{"syms": []any{"A", "B"}}) ||
		k(map[string]any{"minSize": int64(1)}) == k(map[string]any{"minSize": "1"}) ||
		k(nil) == k(map[string]any{"syms": []any{}}) {
		t.Fatal("different parameters share a key")
	}
	if k(map[string]any{"syms": []any{"A"}, "conflate": nil}) != k(map[string]any{"syms": []any{"A"}}) {
		t.Fatal("a nil parameter and a missing one differ")
	}
}

func TestSnapshotCall(t *testing.T) {
	m := subTrades(0)
	if _, ok := SnapshotCall(m, nil, "u", t0, 10); ok {
		t.Fatal("a method without snapshot has a snapshot call")
	}
	m.Stream.Snapshot = "SELECT sym, price FROM trade"
	call, ok := SnapshotCall(m, map[string]any{"syms": nil}, "u", t0, 10)
	if !ok || call.Method.Query != m.Stream.Snapshot || call.Method.Streaming || call.Limit != 10 ||
		!reflect.DeepEqual(call.Method.Columns, m.Columns) || call.Method == m || m.Query != "" {
		t.Fatalf("SnapshotCall = %+v", call)
	}
}

// TestConcurrentPublishSubscribe runs publishers, subscribers that come and
// go and a slow consumer at once; run it with -race. Every subscription that
// stays sees contiguous seq and every row of every publish.
func TestConcurrentPublishSubscribe(t *testing.T) {
	h := NewHub(Config{})
	m := subTrades(0)
	stay := make([]*recSink, 4)
	for i := range stay {
		stay[i] = &recSink{}
		mustSub(t, h, m, nil, fmt.Sprint("user", i%2), stay[i])
	}
	const publishers, perPublisher = 4, 200
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPublisher {
				h.Publish("trade", tradeCols, [][]any{trade(i, fmt.Sprint("S", p), float64(i))})
			}
		}()
	}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				s, _, err := h.Subscribe(Request{Method: m, User: fmt.Sprint("churn", c%2)}, &recSink{limit: 5})
				if err != nil {
					t.Error(err)
					return
				}
				_ = s.Release()
				_ = s.Seq()
				s.Close()
			}
		}()
	}
	wg.Wait()
	for i, r := range stay {
		r.checkSeq(t)
		if n := len(r.rows()); n != publishers*perPublisher {
			t.Errorf("subscriber %d got %d rows, want %d", i, n, publishers*perPublisher)
		}
	}
	if st := h.Stats(); st.Subscriptions != 4 || st.Upstreams != 2 {
		t.Errorf("stats = %+v, want the 4 staying subscriptions on 2 upstreams", st)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	testenv.WaitFor(t, "the condition", 5*time.Second, ok)
}

// TestEncodedOncePerShape: subscriptions of one method with the same
// parameters by different users (separate upstreams) get the very same
// encoded batch of a publish; other parameters get their own.
func TestEncodedOncePerShape(t *testing.T) {
	h := NewHub(Config{})
	m := subTrades(0)
	alice, bob, other := &recSink{}, &recSink{}, &recSink{}
	mustSub(t, h, m, map[string]any{"syms": []any{"AAPL"}}, "alice", alice)
	mustSub(t, h, m, map[string]any{"syms": []any{"AAPL"}}, "bob", bob)
	mustSub(t, h, m, map[string]any{"syms": []any{"AAPL", "IBM"}}, "bob", other)
	h.Publish("trade", tradeCols, [][]any{trade(0, "AAPL", 1), trade(1, "IBM", 2)})
	if alice.count() != 1 || bob.count() != 1 || other.count() != 1 {
		t.Fatalf("updates %d, %d, %d; want one each", alice.count(), bob.count(), other.count())
	}
	if alice.batches[0] != bob.batches[0] {
		t.Fatal("two users with the same subscription got separately encoded batches")
	}
	if alice.batches[0] == other.batches[0] || len(other.batches[0].Rows) != 2 {
		t.Fatalf("another filter got %d rows from a shared batch", len(other.batches[0].Rows))
	}
	alice.checkSeq(t)
	bob.checkSeq(t)
}
