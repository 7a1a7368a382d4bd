package duckdb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// TestPoolBoundsConnections: with MaxConns 2, a third call waits for a
// connection until its context ends (timeout), and gets one as soon as a
// Rows is closed.
func TestPoolBoundsConnections(t *testing.T) {
	e := openEngine(t, Config{MaxConns: 2})
	m := sqlMethod("SELECT range AS x FROM range(100000)", nil, col("x", qconnect.Long))
	var open []qconnect.Rows
	for range 2 {
		r, err := e.Query(context.Background(), qconnect.Call{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
	}
	if n := e.pool.InUse(); n != 2 {
		t.Fatalf("%d connections in use, want 2", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Query(ctx, qconnect.Call{Method: m}); qconnect.ErrorCode(err) != qconnect.CodeTimeout {
		t.Fatalf("a third call with 2 connections busy: %v, want a timeout", err)
	}
	open[0].Close()
	r, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatalf("after a Close: %v", err)
	}
	r.Close()
	open[1].Close()
	if n := e.pool.InUse(); n != 0 {
		t.Fatalf("%d connections in use after Close, want 0", n)
	}
}

// TestCloseWaitsForOpenRows: Close with a Rows open leaves that Rows
// working; calls after Close fail.
func TestCloseWaitsForOpenRows(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 10})
	m := sqlMethod("SELECT range AS x FROM range(100)", nil, col("x", qconnect.Long))
	r, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := drain(r)
	if err != nil || len(rows) != 100 {
		t.Fatalf("a Rows open at Close read %d rows, %v; want 100", len(rows), err)
	}
	r.Close()
	if _, err := e.Query(context.Background(), qconnect.Call{Method: m}); !errors.Is(err, errPoolClosed) || qconnect.ErrorCode(err) != qconnect.CodeUnavailable {
		t.Fatalf("Query after Close: %v, want unavailable", err)
	}
}
