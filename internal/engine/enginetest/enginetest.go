// Package enginetest is the conformance suite of qconnect backends: every
// backend's tests run the same cases against a real instance, through
// RunBackend, with the methods that express each case in the backend's own
// query language (the model is litestream's RunWithReplicaClient).
//
//	func TestConformance(t *testing.T) {
//		enginetest.RunBackend(t, enginetest.Harness{
//			Open:     func(t testing.TB) qconnect.Backend { ... },
//			AllTypes: &qconnect.Method{...}, // returns AllTypesRows
//			Range:    &qconnect.Method{...}, // i = 0 .. n-1
//			MidFail:  &qconnect.Method{...}, // i = 0 .. ok-1, then fails
//		})
//	}
//
// The cases: every PROTOCOL 4.3 type with nulls; Call.Limit; cancellation
// in the middle of a large result returning promptly; Close idempotent and
// safe without draining; a failure in the middle of a result; memory
// bounded by the batch size over 10M rows; and, for a backend that is a
// qconnect.LiveSource, snapshot then updates in order.
package enginetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// Harness describes a backend to the suite. Every method must be runnable
// by the backend Open returns.
type Harness struct {
	// Open returns a fresh backend; the harness closes it in t.Cleanup.
	Open func(t testing.TB) qconnect.Backend
	// AllTypes has the columns AllTypesCols and returns AllTypesRows, in
	// that order, without parameters.
	AllTypes *qconnect.Method
	// Range takes a long parameter n and returns columns (i long, s
	// symbol): i from 0 to n-1 in order, s any symbol. It must stream: its
	// memory must not grow with n.
	Range *qconnect.Method
	// MidFail takes a long parameter ok and returns column (i long): i from
	// 0 to ok-1, then fails with an error of the analytic, after at least
	// one batch was delivered when ok is large (300,000).
	MidFail *qconnect.Method
	// Live is a streaming method of a LiveSource backend (nil: the live
	// cases are skipped, naming why). Its updates come from Publish.
	Live *qconnect.Method
	// Publish makes the backend's live source emit rows of Live's columns
	// as one update (for DuckDB: an append to the method's table).
	Publish func(ctx context.Context, rows [][]any) error
	// Snapshot is the state the Live method's snapshot holds when the
	// suite subscribes (rows of Live's columns), nil for no snapshot.
	Snapshot [][]any
	// MemoryBound is the heap growth allowed while draining 10M rows
	// (default 64 MiB).
	MemoryBound uint64
	// PromptBound is how long Next may take to return once the context
	// of a running call is cancelled (default 10 s: generous, the machine
	// may be loaded; a backend that ignores cancellation takes minutes).
	PromptBound time.Duration

	// WholeReplies, when not empty, is the documented reason why the
	// backend receives each result whole instead of streaming it (kdb+: a
	// synchronous reply arrives as one message; its memory is bounded by
	// the connection's maximum message size and the row cap instead, see
	// engine/kdb). Such a backend cannot hold a result of 2^40 or 10M rows,
	// and it cannot fail after rows were delivered, so the suite adapts
	// exactly three cases and leaves every other case as it is:
	//   - MemoryBoundedBy10MRows is skipped, naming this reason;
	//   - CancelMidResult and CloseIdempotentWithoutDraining run on a result
	//     of LargeRows rows (still many batches) instead of 2^40 and 10M;
	//   - MidStreamError checks that the failure arrives whole: Query (or
	//     the first Next) fails with CodeAnalyticError and no row is
	//     delivered.
	// Streaming backends (DuckDB) leave it empty: every case applies in full.
	WholeReplies string
	// LargeRows is the size of the results of CancelMidResult and
	// CloseIdempotentWithoutDraining when WholeReplies is set (default
	// 200,000 rows); ignored otherwise.
	LargeRows int64
	// Unrepresentable lists the cells of AllTypesRows that the backend's
	// type system cannot hold, keyed "row/column" (e.g. "1/b": kdb+ has no
	// boolean null) with the reason. The suite does not compare those cells
	// and logs each reason; every other cell must match. Empty for a
	// backend that holds every value (DuckDB).
	Unrepresentable map[string]string
}

// AllTypesCols are the columns of Harness.AllTypes: one of every result
// type of PROTOCOL 4.3.
var AllTypesCols = []qconnect.Column{
	{Name: "b", Type: qconnect.Boolean}, {Name: "l", Type: qconnect.Long}, {Name: "i", Type: qconnect.Int},
	{Name: "h", Type: qconnect.Short}, {Name: "f", Type: qconnect.Float}, {Name: "e", Type: qconnect.Real},
	{Name: "s", Type: qconnect.String}, {Name: "sym", Type: qconnect.Symbol}, {Name: "c", Type: qconnect.Char},
	{Name: "ts", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date}, {Name: "t", Type: qconnect.Time},
	{Name: "n", Type: qconnect.Timespan}, {Name: "g", Type: qconnect.GUID},
}

// AllTypesRows are the rows Harness.AllTypes returns: typical values, a
// row of nulls, and edge values (negative, empty, before 1970, nanosecond
// precision where the type has it).
var AllTypesRows = [][]any{
	{true, int64(9007199254740993), int64(2147483647), int64(-32768), 1.25, 1.5, "hello, \"world\"", "AAPL", "x",
		time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC), time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		13*time.Hour + 30*time.Minute + 15*time.Second + 250*time.Millisecond, 26*time.Hour + 3*time.Microsecond,
		[16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}},
	{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	{false, int64(-1), int64(0), int64(7), -0.5, -2.0, "", "", " ",
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Duration(0), -90 * time.Minute, [16]byte{}},
}

// RunBackend runs every case of the suite against h, each as a subtest.
func RunBackend(t *testing.T, h Harness) {
	if h.MemoryBound == 0 {
		h.MemoryBound = 64 << 20
	}
	if h.PromptBound == 0 {
		h.PromptBound = 10 * time.Second
	}
	if h.LargeRows == 0 {
		h.LargeRows = 200_000
	}
	b := h.Open(t)
	t.Run("AllTypesWithNulls", func(t *testing.T) { testAllTypes(t, h, b) })
	t.Run("Limit", func(t *testing.T) { testLimit(t, h, b) })
	t.Run("CancelMidResult", func(t *testing.T) { testCancel(t, h, b) })
	t.Run("CloseIdempotentWithoutDraining", func(t *testing.T) { testClose(t, h, b) })
	t.Run("MidStreamError", func(t *testing.T) { testMidFail(t, h, b) })
	t.Run("MemoryBoundedBy10MRows", func(t *testing.T) { testMemory(t, h, b) })
	t.Run("LiveSnapshotThenUpdatesInOrder", func(t *testing.T) { testLive(t, h, b) })
}

// RunLive runs only the live-source cases against h (Open, Live, Publish
// and Snapshot are used), for a source tested on its own.
func RunLive(t *testing.T, h Harness) {
	b := h.Open(t)
	t.Run("LiveSnapshotThenUpdatesInOrder", func(t *testing.T) { testLive(t, h, b) })
}

func call(m *qconnect.Method, params map[string]any, limit int64) qconnect.Call {
	return qconnect.Call{Method: m, Params: params, User: "enginetest", Now: time.Now(), Limit: limit}
}

// checkBatch checks the contract of a batch against cols.
func checkBatch(t testing.TB, b *qconnect.Batch, cols []qconnect.Column) {
	t.Helper()
	if b == nil || b.Len < 1 {
		t.Fatalf("Next returned an empty batch without io.EOF: %+v", b)
	}
	if len(b.Cols) != len(cols) {
		t.Fatalf("batch has %d vectors for %d columns", len(b.Cols), len(cols))
	}
	for j := range b.Cols {
		v := &b.Cols[j]
		if v.Type.Storage() != cols[j].Type.Storage() || v.Len() < b.Len {
			t.Fatalf("column %s: vector of type %s with %d values for %d rows", cols[j].Name, v.Type, v.Len(), b.Len)
		}
	}
}

// drain reads every batch, boxing the rows.
func drain(t testing.TB, rows qconnect.Rows) ([][]any, error) {
	var out [][]any
	for {
		b, err := rows.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		checkBatch(t, b, rows.Columns())
		out = append(out, b.Rows()...)
	}
}

func testAllTypes(t *testing.T, h Harness, b qconnect.Backend) {
	rows, err := b.Query(context.Background(), call(h.AllTypes, nil, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !reflect.DeepEqual(rows.Columns(), AllTypesCols) {
		t.Fatalf("columns %v, want %v", rows.Columns(), AllTypesCols)
	}
	got, err := drain(t, rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(AllTypesRows) {
		t.Fatalf("%d rows, want %d", len(got), len(AllTypesRows))
	}
	for i, want := range AllTypesRows {
		for j, w := range want {
			g := got[i][j]
			if why, ok := h.Unrepresentable[fmt.Sprintf("%d/%s", i, AllTypesCols[j].Name)]; ok {
				t.Logf("row %d column %s not compared (%#v, got %#v): %s", i, AllTypesCols[j].Name, w, g, why)
				continue
			}
			if w == nil {
				if g != nil {
					t.Errorf("row %d column %s: %#v, want null", i, AllTypesCols[j].Name, g)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d column %s (%s): %#v, want %#v", i, AllTypesCols[j].Name, AllTypesCols[j].Type, g, w)
			}
		}
	}
}

func testLimit(t *testing.T, h Harness, b qconnect.Backend) {
	for _, c := range []struct{ n, limit, want int64 }{{10, 3, 3}, {10, 0, 10}, {10, 20, 10}, {100000, 99999, 99999}} {
		rows, err := b.Query(context.Background(), call(h.Range, map[string]any{"n": c.n}, c.limit))
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, rows)
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) != c.want {
			t.Errorf("n=%d Limit=%d: %d rows, want %d", c.n, c.limit, len(got), c.want)
		}
		for i, r := range got {
			if r[0] != int64(i) {
				t.Fatalf("n=%d Limit=%d: row %d has i=%v: not in order", c.n, c.limit, i, r[0])
			}
		}
	}
}

func testCancel(t *testing.T, h Harness, b qconnect.Backend) {
	n := int64(1) << 40
	if h.WholeReplies != "" {
		n = h.LargeRows
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := b.Query(ctx, call(h.Range, map[string]any{"n": n}, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if _, err := rows.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan error, 1)
	go func() {
		for {
			_, err := rows.Next(ctx)
			if err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if errors.Is(err, io.EOF) {
			t.Fatalf("a cancelled call of %d rows ended with io.EOF", n)
		}
		var qe *qconnect.Error
		if !errors.As(err, &qe) || qe.Code != qconnect.CodeTimeout || !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v (%T), want a CodeTimeout *qconnect.Error wrapping context.Canceled", err, err)
		}
	case <-time.After(h.PromptBound):
		t.Fatalf("Next did not return within %v of the cancellation", h.PromptBound)
	}
}

func testClose(t *testing.T, h Harness, b qconnect.Backend) {
	n := int64(10_000_000)
	if h.WholeReplies != "" {
		n = h.LargeRows
	}
	for _, read := range []int{0, 1} {
		rows, err := b.Query(context.Background(), call(h.Range, map[string]any{"n": n}, 0))
		if err != nil {
			t.Fatal(err)
		}
		for range read {
			if _, err := rows.Next(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("Close after %d batches: %v", read, err)
		}
		if err := rows.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := rows.Next(context.Background()); err == nil {
			t.Fatal("Next after Close returned a batch")
		}
	}
	// The backend still serves calls: nothing leaked a connection.
	for range 3 {
		rows, err := b.Query(context.Background(), call(h.Range, map[string]any{"n": int64(5)}, 0))
		if err != nil {
			t.Fatal(err)
		}
		got, err := drain(t, rows)
		rows.Close()
		if err != nil || len(got) != 5 {
			t.Fatalf("after Close without draining: %d rows, %v", len(got), err)
		}
	}
}

func testMidFail(t *testing.T, h Harness, b qconnect.Backend) {
	const ok = 300_000
	if h.WholeReplies != "" {
		testWholeFail(t, h, b, ok)
		return
	}
	rows, err := b.Query(context.Background(), call(h.MidFail, map[string]any{"ok": int64(ok)}, 0))
	if err != nil {
		t.Fatalf("the failure must come after rows, not at Query: %v", err)
	}
	defer rows.Close()
	got, err := drain(t, rows)
	if err == nil {
		t.Fatalf("%d rows and no error", len(got))
	}
	var qe *qconnect.Error
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeAnalyticError {
		t.Errorf("mid-stream failure: %v, want a CodeAnalyticError *qconnect.Error", err)
	}
	if len(got) == 0 || len(got) > ok {
		t.Errorf("%d rows before the failure, want 1 to %d", len(got), ok)
	}
	for i, r := range got {
		if r[0] != int64(i) {
			t.Fatalf("row %d has i=%v", i, r[0])
		}
	}
	if _, err2 := rows.Next(context.Background()); err2 == nil || errors.Is(err2, io.EOF) {
		t.Errorf("Next after the failure: %v, want the failure again", err2)
	}
}

// testWholeFail is MidStreamError for a backend of whole replies: the
// failure arrives instead of the result, never after part of it.
func testWholeFail(t *testing.T, h Harness, b qconnect.Backend, ok int64) {
	if err := checkWholeFail(h, b, ok); err != nil {
		t.Error(err)
	}
}

func checkWholeFail(h Harness, b qconnect.Backend, ok int64) error {
	rows, err := b.Query(context.Background(), call(h.MidFail, map[string]any{"ok": ok}, 0))
	n := 0
	if err == nil {
		defer rows.Close()
		for {
			var batch *qconnect.Batch
			batch, err = rows.Next(context.Background())
			if err != nil {
				break
			}
			n += batch.Len
		}
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%d rows and no error", n)
	}
	var qe *qconnect.Error
	if !errors.As(err, &qe) || qe.Code != qconnect.CodeAnalyticError {
		return fmt.Errorf("failure: %v, want a CodeAnalyticError *qconnect.Error", err)
	}
	if n != 0 {
		return fmt.Errorf("%d rows delivered before the failure of a whole reply (%s), want none", n, h.WholeReplies)
	}
	return nil
}

func testMemory(t *testing.T, h Harness, b qconnect.Backend) {
	if h.WholeReplies != "" {
		t.Skipf("results arrive whole, not in batches: %s", h.WholeReplies)
	}
	const n = 10_000_000
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	rows, err := b.Query(context.Background(), call(h.Range, map[string]any{"n": int64(n)}, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var count int64
	var peak uint64
	for k := 0; ; k++ {
		batch, err := rows.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if v := &batch.Cols[0]; v.Ints[0] != count {
			t.Fatalf("batch %d starts at i=%d, want %d", k, v.Ints[0], count)
		}
		count += int64(batch.Len)
		if k%256 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	if count != n {
		t.Fatalf("%d rows, want %d", count, n)
	}
	if peak > base && peak-base > h.MemoryBound {
		t.Errorf("the Go heap grew by %d MiB over %d rows (bound %d MiB): memory is not bounded by the batch", (peak-base)>>20, n, h.MemoryBound>>20)
	}
	t.Logf("Go heap growth over %d rows: %.1f MiB", n, float64(peak-min(peak, base))/(1<<20))
}

func testLive(t *testing.T, h Harness, b qconnect.Backend) {
	src, ok := b.(qconnect.LiveSource)
	if !ok || h.Live == nil || h.Publish == nil {
		t.Skipf("%T is not a qconnect.LiveSource (or the harness gives no Live method): live cases skipped", b)
	}
	if err := checkLive(h, src); err != nil {
		t.Fatal(err)
	}
}

// checkLive subscribes to h.Live, checks the snapshot, publishes five
// updates of two rows and checks that they arrive whole and in order.
func checkLive(h Harness, src qconnect.LiveSource) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	feed, err := src.Live(ctx, call(h.Live, nil, 0))
	if err != nil {
		return err
	}
	defer feed.Close()
	cols := feed.Columns()
	if h.Snapshot != nil {
		ev, err := feed.Next(ctx)
		if err != nil {
			return err
		}
		if ev.Kind != qconnect.LiveSnapshot {
			return fmt.Errorf("first event kind %d, want the snapshot", ev.Kind)
		}
		if got := ev.Batch.Rows(); fmt.Sprint(got) != fmt.Sprint(h.Snapshot) {
			return fmt.Errorf("snapshot %v, want %v", got, h.Snapshot)
		}
	}
	var want [][]any
	for k := range 5 {
		rows := liveRows(cols, k)
		want = append(want, rows...)
		if err := h.Publish(ctx, rows); err != nil {
			return err
		}
	}
	var got [][]any
	for len(got) < len(want) {
		ev, err := feed.Next(ctx)
		if err != nil {
			return fmt.Errorf("after %d of %d rows: %w", len(got), len(want), err)
		}
		switch ev.Kind {
		case qconnect.LiveUpdate:
			if ev.Batch == nil || ev.Batch.Len < 1 || len(ev.Batch.Cols) != len(cols) {
				return fmt.Errorf("update batch %+v does not match the %d columns", ev.Batch, len(cols))
			}
			got = append(got, ev.Batch.Rows()...)
		case qconnect.LiveSnapshot:
			if h.Snapshot == nil || len(got) > 0 {
				return fmt.Errorf("a snapshot after %d updated rows without a reset", len(got))
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("updates %v, want %v (in publish order)", got, want)
	}
	if err := feed.Close(); err != nil {
		return err
	}
	if err := feed.Close(); err != nil {
		return fmt.Errorf("second Close: %w", err)
	}
	return nil
}

// liveRows makes the k-th update of the live case: two rows whose values
// tell their order, one value per column type.
func liveRows(cols []qconnect.Column, k int) [][]any {
	rows := make([][]any, 2)
	for r := range rows {
		seq := int64(2*k + r)
		row := make([]any, len(cols))
		for j, c := range cols {
			switch c.Type {
			case qconnect.Boolean:
				row[j] = seq%2 == 0
			case qconnect.Long, qconnect.Int, qconnect.Short:
				row[j] = seq
			case qconnect.Float, qconnect.Real:
				row[j] = float64(seq) + 0.5
			case qconnect.String, qconnect.Symbol, qconnect.Char:
				row[j] = fmt.Sprintf("u%d", seq)
			case qconnect.Timestamp:
				row[j] = time.Date(2024, 1, 2, 0, 0, 0, int(seq)*1000, time.UTC)
			case qconnect.Date:
				row[j] = time.Date(2024, 1, 2+int(seq), 0, 0, 0, 0, time.UTC)
			case qconnect.Time, qconnect.Timespan:
				row[j] = time.Duration(seq) * time.Millisecond
			case qconnect.GUID:
				row[j] = [16]byte{byte(seq)}
			}
		}
		rows[r] = row
	}
	return rows
}
