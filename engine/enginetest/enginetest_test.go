package enginetest

import (
	"context"
	"io"
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
