package enginetest

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/qconnect/qconnect"
)

// chanSource is a minimal live source whose updates are what Publish
// sends: it exercises the suite's live case itself (DuckDB is not a live
// source; the kdb+ engine will be).
type chanSource struct {
	cols    []qconnect.Column
	snap    *qconnect.Batch
	updates chan *qconnect.Batch
	reorder bool // a broken source: swaps its first two updates
}

func (s *chanSource) Query(context.Context, qconnect.Call) (qconnect.Rows, error) {
	return nil, io.EOF
}

func (s *chanSource) Live(ctx context.Context, call qconnect.Call) (qconnect.Feed, error) {
	return &chanFeed{src: s, sentSnap: s.snap == nil}, nil
}

type chanFeed struct {
	src      *chanSource
	sentSnap bool
	held     *qconnect.Batch
	swapped  bool
}

func (f *chanFeed) Columns() []qconnect.Column { return f.src.cols }

func (f *chanFeed) Next(ctx context.Context) (qconnect.LiveEvent, error) {
	if !f.sentSnap {
		f.sentSnap = true
		return qconnect.LiveEvent{Kind: qconnect.LiveSnapshot, Batch: f.src.snap}, nil
	}
	for {
		select {
		case b := <-f.src.updates:
			if f.src.reorder && !f.swapped && f.held == nil {
				f.held = b
				continue
			}
			if f.held != nil {
				f.src.updates <- f.held // deliver the held one after b
				f.held, f.swapped = nil, true
			}
			return qconnect.LiveEvent{Kind: qconnect.LiveUpdate, Batch: b}, nil
		case <-ctx.Done():
			return qconnect.LiveEvent{}, ctx.Err()
		}
	}
}

func (f *chanFeed) Close() error { return nil }

func harness(t *testing.T, reorder bool) Harness {
	cols := []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}, {Name: "n", Type: qconnect.Long}}
	snapRows := [][]any{{nil, "S", int64(-1)}}
	snap, err := qconnect.BatchOf(cols, snapRows)
	if err != nil {
		t.Fatal(err)
	}
	src := &chanSource{cols: cols, snap: snap, updates: make(chan *qconnect.Batch, 16), reorder: reorder}
	return Harness{
		Open: func(testing.TB) qconnect.Backend { return src },
		Live: &qconnect.Method{Group: "t", Name: "live", Streaming: true, Columns: cols},
		Publish: func(ctx context.Context, rows [][]any) error {
			b, err := qconnect.BatchOf(cols, rows)
			if err == nil {
				src.updates <- b
			}
			return err
		},
		Snapshot: snapRows,
	}
}

// TestLiveCase: a correct live source passes the suite's live case.
func TestLiveCase(t *testing.T) { RunLive(t, harness(t, false)) }

// TestLiveCaseCatchesReordering: the live case fails a source that
// delivers updates out of order, so it can fail.
func TestLiveCaseCatchesReordering(t *testing.T) {
	h := harness(t, true)
	if err := checkLive(h, h.Open(t).(qconnect.LiveSource)); err == nil {
		t.Fatal("the live case accepted updates out of order")
	}
}

// failSource answers every call with rows rows (column i long), then fails
// with an analyticError (rows 0: the failure comes at Query).
type failSource struct{ rows int }

func (s failSource) Query(context.Context, qconnect.Call) (qconnect.Rows, error) {
	if s.rows == 0 {
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "'midFail")
	}
	return &failRows{left: s.rows}, nil
}

type failRows struct{ left int }

func (r *failRows) Columns() []qconnect.Column {
	return []qconnect.Column{{Name: "i", Type: qconnect.Long}}
}

func (r *failRows) Next(context.Context) (*qconnect.Batch, error) {
	if r.left == 0 {
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "'midFail")
	}
	n := r.left
	r.left = 0
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i)}
	}
	return qconnect.BatchOf(r.Columns(), rows)
}

func (r *failRows) Close() error { return nil }

// TestWholeFailCase: with WholeReplies the mid-stream case accepts a
// failure that arrives instead of the result, and still fails a backend
// that delivers rows before failing (a whole reply never does).
func TestWholeFailCase(t *testing.T) {
	h := Harness{WholeReplies: "test", MidFail: &qconnect.Method{Group: "t", Name: "midFail"}}
	if err := checkWholeFail(h, failSource{rows: 0}, 10); err != nil {
		t.Errorf("a failure at Query: %v", err)
	}
	if err := checkWholeFail(h, failSource{rows: 3}, 10); err == nil || !strings.Contains(err.Error(), "3 rows delivered") {
		t.Errorf("rows delivered before the failure: %v, want the case to fail naming them", err)
	}
}
