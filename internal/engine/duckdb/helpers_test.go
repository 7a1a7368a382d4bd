package duckdb

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// testNow is the demo clock of the tests: a Friday afternoon, so the demo
// trading day is Thursday 2024-07-25.
var testNow = time.Date(2024, 7, 26, 16, 59, 3, 0, time.UTC)

// testTrades keeps the demo small in unit tests; the benchmarks use the
// default size.
const testTrades = 20_000

func openEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func openDemo(t testing.TB) *Engine {
	t.Helper()
	return openEngine(t, Config{Demo: true, DemoTrades: testTrades, Now: testNow, Threads: 2})
}

// sqlMethod declares a method over a query for tests.
func sqlMethod(query string, params []qconnect.Param, cols ...qconnect.Column) *qconnect.Method {
	return &qconnect.Method{Group: "test", Name: "m", Query: query, Params: params, Columns: cols,
		Pos: qconnect.Position{File: "test.yaml", Line: 7}}
}

func col(name string, t qconnect.Type) qconnect.Column { return qconnect.Column{Name: name, Type: t} }

// query runs a call and collects every row (copied out of the batches).
func query(t testing.TB, e *Engine, call qconnect.Call) ([]qconnect.Column, [][]any) {
	t.Helper()
	rows, err := e.Query(context.Background(), call)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	out, err := drain(rows)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return rows.Columns(), out
}

func drain(rows qconnect.Rows) ([][]any, error) {
	var out [][]any
	for {
		batch, err := rows.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, batch.Rows()...)
	}
}

// eachBatch calls fn with every batch of rs until its end, failing the
// test on any error of Next.
func eachBatch(t testing.TB, rs qconnect.Rows, fn func(*qconnect.Batch)) {
	t.Helper()
	for {
		batch, err := rs.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(batch)
	}
}

func wantCode(t *testing.T, err error, code qconnect.Code) *qconnect.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var qe *qconnect.Error
	if !errors.As(err, &qe) {
		t.Fatalf("error %v (%T) is not a *qconnect.Error", err, err)
	}
	if qe.Code != code {
		t.Fatalf("code %s (%v), want %s", qe.Code, err, code)
	}
	return qe
}
