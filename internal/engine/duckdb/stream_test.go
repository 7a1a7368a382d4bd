package duckdb

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// TestQueryStreams checks that DuckDB hands the result over as a stream,
// and that rows cross chunk (2048 rows) and batch boundaries in order.
func TestQueryStreams(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 1000})
	rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(
		"SELECT i, 'row ' || i AS s FROM range(10000) r(i) ORDER BY i", nil, col("i", qconnect.Long), col("s", qconnect.String))})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if !rs.(*rows).st.streaming {
		t.Error("DuckDB made a materialised result, not a streaming one")
	}
	next := int64(0)
	eachBatch(t, rs, func(batch *qconnect.Batch) {
		if batch.Len != 1000 {
			t.Errorf("batch of %d rows, want 1000", batch.Len)
		}
		for _, r := range batch.Rows() {
			if r[0] != next || r[1] != "row "+strconv.FormatInt(next, 10) {
				t.Fatalf("row %v, want [%d row %d]", r, next, next)
			}
			next++
		}
	})
	if next != 10000 {
		t.Errorf("%d rows, want 10000", next)
	}
}

// TestQueryLimitAcrossBatches: Next stops at call.Limit exactly, in the
// middle of a chunk and of a batch.
func TestQueryLimitAcrossBatches(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 1000})
	m := sqlMethod("SELECT i FROM range(100000) r(i)", nil, col("i", qconnect.Long))
	for _, limit := range []int64{1, 999, 1000, 2500, 4097} {
		rs, err := e.Query(context.Background(), qconnect.Call{Method: m, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		total := int64(0)
		eachBatch(t, rs, func(batch *qconnect.Batch) {
			sizes = append(sizes, batch.Len)
			total += int64(batch.Len)
		})
		rs.Close()
		if total != limit {
			t.Errorf("Limit %d: %d rows in batches %v", limit, total, sizes)
		}
		for _, n := range sizes {
			if n > 1000 {
				t.Errorf("Limit %d: a batch of %d rows, more than the batch size", limit, n)
			}
		}
	}
}

// TestMidStreamError: an error DuckDB meets after it has streamed rows (a
// conversion failing at row 500000) surfaces from Next, after the rows
// before it, as an analyticError; the connection is released.
func TestMidStreamError(t *testing.T) {
	e := openEngine(t, Config{MaxConns: 1, Threads: 2})
	m := sqlMethod(`SELECT CASE WHEN i < 500000 THEN i ELSE CAST('x' || i AS BIGINT) END AS n FROM range(1000000) t(i)`,
		nil, col("n", qconnect.Long))
	rs, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatalf("Query: %v; want the error later, from Next", err)
	}
	defer rs.Close()
	var got int64
	var nextErr error
	batches := 0
	for {
		batch, err := rs.Next(context.Background())
		if err != nil {
			nextErr = err
			break
		}
		for _, r := range batch.Rows() {
			if r[0] != got {
				t.Fatalf("row %v, want %d", r[0], got)
			}
			got++
		}
		batches++
	}
	if batches == 0 || got == 0 {
		t.Errorf("the error came before any batch")
	}
	if got > 500000 {
		t.Errorf("%d rows before the error, want at most 500000", got)
	}
	qe := wantCode(t, nextErr, qconnect.CodeAnalyticError)
	if !strings.Contains(qe.Message, "x500000") || !strings.Contains(qe.Message, "test/m") {
		t.Errorf("message %q does not name the method and the value that failed", qe.Message)
	}
	if _, err := rs.Next(context.Background()); err != nextErr {
		t.Errorf("Next after the error = %v, want the same error", err)
	}
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after the error, want 0", n)
	}
	// The one connection serves the next call.
	if _, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT 1 AS n", nil, col("n", qconnect.Long))}); len(rows) != 1 {
		t.Errorf("%d rows after the error, want 1", len(rows))
	}
	t.Logf("%d rows in %d batches before the error", got, batches)
}

// TestDecodeErrorMidStream: a value that does not convert in a later chunk
// fails Next after the batches before it.
func TestDecodeErrorMidStream(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 1000})
	m := sqlMethod(`SELECT CASE WHEN i < 5000 THEN i::UBIGINT ELSE 18446744073709551615::UBIGINT END AS u FROM range(10000) r(i) ORDER BY i`,
		nil, col("u", qconnect.Long))
	rs, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	got := 0
	for {
		batch, err := rs.Next(context.Background())
		if err != nil {
			qe := wantCode(t, err, qconnect.CodeAnalyticError)
			if !strings.Contains(qe.Message, "column u") || !strings.Contains(qe.Message, "18446744073709551615 does not fit a long") {
				t.Errorf("message %q does not name the column and the value", qe.Message)
			}
			break
		}
		got += batch.Len
	}
	if got != 5000 {
		t.Errorf("%d rows before the error, want the 5000 that convert", got)
	}
}

// slowTailQuery returns up to a million rows at once, then a row about
// every 10^8 rows scanned: once the first rows are read, a batch takes
// seconds unless interrupted. (DuckDB's execution of a streaming result
// returns once its buffer of about 1MB is full, so the fast rows let Query
// return.)
const slowTailQuery = "SELECT i FROM range(100000000000) r(i) WHERE i < 1000000 OR i % 100000007 = 0"

// TestCancelInterruptsStream: cancelling the context while Next waits for
// DuckDB interrupts the query; Next returns promptly with a timeout error,
// and the connection serves the next call (the interrupt does not leak
// into it). The context is the call's (Query's) or Next's own.
func TestCancelInterruptsStream(t *testing.T) {
	for _, ownCtx := range []bool{false, true} {
		name := "query context"
		if ownCtx {
			name = "Next's own context"
		}
		t.Run(name, func(t *testing.T) {
			e := openEngine(t, Config{MaxConns: 1})
			m := sqlMethod(slowTailQuery, nil, col("i", qconnect.Long))
			qctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			nctx := qctx
			if ownCtx {
				nctx, cancel = context.WithCancel(context.Background())
				defer cancel()
				qctx = context.Background()
			}
			const cancelAfter = 2 * time.Second
			start := time.Now()
			time.AfterFunc(cancelAfter, cancel)
			rs, err := e.Query(qctx, qconnect.Call{Method: m})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			got := 0
			for {
				batch, err := rs.Next(nctx)
				if err != nil {
					wantCode(t, err, qconnect.CodeTimeout)
					if !errors.Is(err, context.Canceled) {
						t.Errorf("error %v does not wrap context.Canceled", err)
					}
					break
				}
				got += batch.Len
			}
			if elapsed := time.Since(start); elapsed > cancelAfter+3*time.Second {
				t.Errorf("Next returned %v after the cancel, want promptly", elapsed-cancelAfter)
			}
			if got == 0 || got > 1000001 {
				t.Errorf("%d rows before the cancel, want some of the fast ones and at most one slow one", got)
			}
			if n := e.DB().Stats().InUse; n != 0 {
				t.Errorf("%d connections in use after the cancel, want 0", n)
			}
			_, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT count(*) AS n FROM range(5000000)", nil, col("n", qconnect.Long))})
			if len(rows) != 1 || rows[0][0] != int64(5000000) {
				t.Errorf("the next call on the connection returned %v", rows)
			}
		})
	}
}

// TestCloseWithoutDraining: closing after one batch of an endless result
// is prompt and frees the connection for the next call.
func TestCloseWithoutDraining(t *testing.T) {
	e := openEngine(t, Config{MaxConns: 1, BatchSize: 100})
	rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(
		"SELECT i, i * 2 AS j FROM range(100000000000) r(i)", nil, col("i", qconnect.Long), col("j", qconnect.Long))})
	if err != nil {
		t.Fatal(err)
	}
	if batch, err := rs.Next(context.Background()); err != nil || batch.Len != 100 {
		t.Fatalf("Next = %d rows, %v", batch.Len, err)
	}
	start := time.Now()
	if err := rs.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after Close, want 0", n)
	}
	if _, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT 7 AS n", nil, col("n", qconnect.Long))}); len(rows) != 1 || rows[0][0] != int64(7) {
		t.Errorf("next call: %v", rows)
	}
}

// TestAbandonedRowsAreClosed: rows dropped without Close give their
// connection back once the garbage collector finds them.
func TestAbandonedRowsAreClosed(t *testing.T) {
	e := openEngine(t, Config{MaxConns: 1})
	func() {
		rs, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod("SELECT i FROM range(100000000) r(i)", nil, col("i", qconnect.Long))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.DB().Stats().InUse != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection of abandoned rows was not released")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if _, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT 1 AS n", nil, col("n", qconnect.Long))}); len(rows) != 1 {
		t.Errorf("next call: %v", rows)
	}
}
