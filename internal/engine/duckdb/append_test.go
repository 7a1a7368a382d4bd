package duckdb

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

var tradeCols = []qconnect.Column{col("time", qconnect.Timestamp), col("sym", qconnect.Symbol),
	col("price", qconnect.Float), col("size", qconnect.Long), col("side", qconnect.Symbol)}

func countSym(t *testing.T, e *Engine, sym string) int64 {
	t.Helper()
	var n int64
	if err := e.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM trade WHERE sym = $1`, sym).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAppendStoresRows(t *testing.T) {
	e := openDemo(t)
	at := time.Date(2024, 7, 26, 10, 0, 0, 123456000, time.UTC)
	rows := [][]any{{at, "ZAPP", 10.5, int64(100), "buy"}, {at.Add(time.Second), "ZAPP", 11.0, int64(200), nil}}
	if err := e.Append(context.Background(), "TRADE", tradeCols, rows); err != nil { // names are case-insensitive
		t.Fatal(err)
	}
	m := sqlMethod(`SELECT time, sym, price, size, side FROM trade WHERE sym = 'ZAPP' ORDER BY time`, nil, tradeCols...)
	_, got := query(t, e, qconnect.Call{Method: m})
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("stored rows = %v, want %v", got, rows)
	}

	// A subset of the columns, in another order: the rest is NULL.
	if err := e.Append(context.Background(), "trade", []qconnect.Column{col("sym", qconnect.Symbol), col("price", qconnect.Float)},
		[][]any{{"ZSUB", 1.25}}); err != nil {
		t.Fatal(err)
	}
	_, got = query(t, e, qconnect.Call{Method: sqlMethod(`SELECT time, sym, price, size, side FROM trade WHERE sym = 'ZSUB'`, nil, tradeCols...)})
	if want := [][]any{{nil, "ZSUB", 1.25, nil, nil}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("subset append = %v, want %v", got, want)
	}
}

func TestAppendAllOrNothing(t *testing.T) {
	e := openDemo(t)
	at := time.Date(2024, 7, 26, 10, 0, 0, 0, time.UTC)
	rows := make([][]any, 10000)
	for i := range rows {
		rows[i] = []any{at, "ZNONE", 1.0, int64(i), "buy"}
	}
	rows[9000][3] = "not a number" // fails late, after the appender flushed chunks
	err := e.Append(context.Background(), "trade", tradeCols, rows)
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("bad row: %v", err)
	}
	if n := countSym(t, e, "ZNONE"); n != 0 {
		t.Fatalf("%d rows of a failed batch were stored", n)
	}
	// The connection is usable afterwards (the transaction was rolled back).
	if err := e.Append(context.Background(), "trade", tradeCols, rows[:5]); err != nil {
		t.Fatal(err)
	}
	if n := countSym(t, e, "ZNONE"); n != 5 {
		t.Fatalf("after a good batch: %d rows", n)
	}
}

func TestAppendErrors(t *testing.T) {
	e := openDemo(t)
	err := e.Append(context.Background(), "nosuch", tradeCols, [][]any{{nil, "x", 1.0, int64(1), "buy"}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), "no table nosuch") {
		t.Fatalf("missing table: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Append(ctx, "trade", tradeCols, [][]any{{nil, "ZCANCEL", 1.0, int64(1), "buy"}}); err == nil {
		t.Fatal("append with a cancelled context succeeded")
	}
	if n := countSym(t, e, "ZCANCEL"); n != 0 {
		t.Fatalf("a cancelled append stored %d rows", n)
	}
}

// BenchmarkAppendOneRow is the cost of a one-row publish's storage step.
func BenchmarkAppendOneRow(b *testing.B) {
	e := openEngine(b, Config{Demo: true, DemoTrades: testTrades, Now: testNow, Threads: 2})
	row := [][]any{{testNow, "ZBENCH", 1.0, int64(100), "buy"}}
	ctx := context.Background()
	for b.Loop() {
		if err := e.Append(ctx, "trade", tradeCols, row); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendConstraintKeepsType: a constraint the appender's rows violate
// (a duplicate primary key) is DuckDB's constraint error, read from the
// appender with its type: analyticError, and nothing is stored.
func TestAppendConstraintKeepsType(t *testing.T) {
	e := openEngine(t, Config{})
	if _, err := e.DB().Exec(`CREATE TABLE pk (id BIGINT PRIMARY KEY, s VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	cols := []qconnect.Column{col("id", qconnect.Long), col("s", qconnect.String)}
	err := e.Append(context.Background(), "pk", cols, [][]any{{int64(1), "a"}, {int64(1), "b"}})
	if qe := wantCode(t, err, qconnect.CodeAnalyticError); qe != nil && !strings.Contains(strings.ToLower(qe.Message), "constraint") {
		t.Errorf("message %q does not name the constraint", qe.Message)
	}
	var de *dbError
	if !errors.As(err, &de) || de.typ != bindings.ErrorTypeConstraint {
		t.Errorf("cause %#v, want DuckDB's constraint error type", errors.Unwrap(err))
	}
	var n int64
	if err := e.DB().QueryRow(`SELECT count(*) FROM pk`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows stored after a failed append (%v), want 0", n, err)
	}
}

// TestAppendTypes: every column type the appender writes receives the
// qconnect value it is given, NULLs included, across more than one chunk.
func TestAppendTypes(t *testing.T) {
	e := openEngine(t, Config{})
	if _, err := e.DB().Exec(`CREATE TABLE ty (b BOOLEAN, i8 TINYINT, i32 INTEGER, i64 BIGINT, u16 USMALLINT,
		f FLOAT, d DOUBLE, s VARCHAR, ts TIMESTAMP, tsn TIMESTAMP_NS, tz TIMESTAMPTZ, dt DATE, tm TIME, iv INTERVAL, u UUID)`); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 7, 26, 9, 30, 1, 123456789, time.UTC)
	u := [16]byte{0xf8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	row := []any{true, int64(-7), int64(1 << 30), int64(-1 << 40), int64(65535), 1.5, 2.25, "héllo",
		ts, ts, ts, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), 90 * time.Minute, 36 * time.Hour, u}
	names := []string{"b", "i8", "i32", "i64", "u16", "f", "d", "s", "ts", "tsn", "tz", "dt", "tm", "iv", "u"}
	cols := make([]qconnect.Column, len(names))
	for i, n := range names {
		cols[i] = col(n, qconnect.String) // the table's types decide the conversion
	}
	nulls := make([]any, len(names))
	var rows [][]any
	for i := range 2500 { // more than one 2048-row chunk
		if i%2 == 0 {
			rows = append(rows, row)
		} else {
			rows = append(rows, nulls)
		}
	}
	if err := e.Append(context.Background(), "ty", cols, rows); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := e.DB().QueryRow(`SELECT concat_ws('|', b, i8, i32, i64, u16, f, d, s, ts, tsn, tz, dt, tm, iv, u) FROM ty WHERE rowid = 2498`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := "true|-7|1073741824|-1099511627776|65535|1.5|2.25|héllo|2024-07-26 09:30:01.123456|2024-07-26 09:30:01.123456789|2024-07-26 09:30:01.123456+00|1969-12-31|01:30:00|36:00:00|f8010203-0405-0607-0809-0a0b0c0d0e0f"
	if got != want {
		t.Errorf("appended row reads\n%s\nwant\n%s", got, want)
	}
	var n, nullRows int64
	if err := e.DB().QueryRow(`SELECT count(*), count(*) FILTER (WHERE b IS NULL AND s IS NULL AND u IS NULL) FROM ty`).Scan(&n, &nullRows); err != nil {
		t.Fatal(err)
	}
	if n != 2500 || nullRows != 1250 {
		t.Errorf("%d rows, %d all NULL; want 2500, 1250", n, nullRows)
	}
	// A value that does not convert fails the whole append.
	err := e.Append(context.Background(), "ty", cols[:2], [][]any{{true, int64(1)}, {true, int64(1000)}})
	if qe := wantCode(t, err, qconnect.CodeAnalyticError); qe != nil && !strings.Contains(qe.Message, "out of the column's range") {
		t.Errorf("out of range: %q", qe.Message)
	}
}
