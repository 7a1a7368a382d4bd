package duckdb

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

func TestQueryTypedValues(t *testing.T) {
	e := openEngine(t, Config{})
	q := `SELECT true AS b, 7::TINYINT AS i8, 300::SMALLINT AS i16, 70000::INTEGER AS i32,
		9000000000::BIGINT AS i64, 42::UBIGINT AS u64, 12345678901234::HUGEINT AS huge,
		1.5::FLOAT AS f32, 2.25::DOUBLE AS f64, 123.45::DECIMAL(10,2) AS dec,
		'hé'::VARCHAR AS s, 'x'::ENUM('x','y') AS en,
		TIMESTAMP '2019-07-26 09:00:00.123456' AS ts,
		TIMESTAMP_NS '2019-07-26 09:00:00.123456789' AS tsns,
		TIMESTAMPTZ '2019-07-26 09:00:00+02' AS tstz,
		DATE '2019-07-26' AS d, TIME '12:34:56.5' AS tm,
		INTERVAL 90 MINUTE + INTERVAL 2 DAY AS iv,
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID AS g,
		NULL::BIGINT AS nul, 3::INTEGER AS widened`
	cols := []qconnect.Column{
		col("b", qconnect.Boolean), col("i8", qconnect.Short), col("i16", qconnect.Short), col("i32", qconnect.Int),
		col("i64", qconnect.Long), col("u64", qconnect.Long), col("huge", qconnect.Long),
		col("f32", qconnect.Real), col("f64", qconnect.Float), col("dec", qconnect.Float),
		col("s", qconnect.String), col("en", qconnect.Symbol),
		col("ts", qconnect.Timestamp), col("tsns", qconnect.Timestamp), col("tstz", qconnect.Timestamp),
		col("d", qconnect.Date), col("tm", qconnect.Time), col("iv", qconnect.Timespan), col("g", qconnect.GUID),
		col("nul", qconnect.Long), col("widened", qconnect.Float),
	}
	want := []any{true, int64(7), int64(300), int64(70000), int64(9000000000), int64(42), int64(12345678901234),
		float64(1.5), 2.25, 123.45, "hé", "x",
		time.Date(2019, 7, 26, 9, 0, 0, 123456000, time.UTC),
		time.Date(2019, 7, 26, 9, 0, 0, 123456789, time.UTC),
		time.Date(2019, 7, 26, 7, 0, 0, 0, time.UTC),
		time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC),
		12*time.Hour + 34*time.Minute + 56*time.Second + 500*time.Millisecond,
		48*time.Hour + 90*time.Minute,
		[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11},
		nil, float64(3)}
	gotCols, rows := query(t, e, qconnect.Call{Method: sqlMethod(q, nil, cols...)})
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	for i, c := range gotCols {
		if c != cols[i] {
			t.Errorf("column %d = %v, want %v", i, c, cols[i])
		}
		got := rows[0][i]
		if gt, ok := got.(time.Time); ok {
			if wt, ok := want[i].(time.Time); !ok || !gt.Equal(wt) || gt.Location() != time.UTC {
				t.Errorf("%s = %v, want %v in UTC", c.Name, got, want[i])
			}
			continue
		}
		if got != want[i] {
			t.Errorf("%s = %#v (%T), want %#v (%T)", c.Name, got, got, want[i], want[i])
		}
	}

	// Without declared columns the natural types are reported.
	gotCols, _ = query(t, e, qconnect.Call{Method: sqlMethod(q, nil)})
	natural := map[string]qconnect.Type{"i8": qconnect.Short, "i32": qconnect.Int, "i64": qconnect.Long,
		"f32": qconnect.Real, "dec": qconnect.Float, "en": qconnect.String, "tstz": qconnect.Timestamp,
		"tm": qconnect.Time, "iv": qconnect.Timespan, "g": qconnect.GUID, "huge": qconnect.Long}
	for _, c := range gotCols {
		if w, ok := natural[c.Name]; ok && c.Type != w {
			t.Errorf("natural type of %s = %s, want %s", c.Name, c.Type, w)
		}
	}
}

func TestQueryBindsParameters(t *testing.T) {
	e := openEngine(t, Config{})
	params := []qconnect.Param{
		{Name: "b", Type: qconnect.Boolean}, {Name: "n", Type: qconnect.Long}, {Name: "f", Type: qconnect.Float},
		{Name: "s", Type: qconnect.String}, {Name: "ts", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date},
		{Name: "span", Type: qconnect.Timespan}, {Name: "syms", Type: qconnect.Symbol, List: true},
		{Name: "ns", Type: qconnect.Long, List: true}, {Name: "opts", Type: qconnect.Dict},
		{Name: "missing", Type: qconnect.Long},
	}
	q := `SELECT $b AS b, $n + 1 AS n, $f * 2 AS f, upper($s) AS s, $ts + INTERVAL 1 SECOND AS ts,
		$d + 1 AS d, $span * 2 AS span, len($syms) AS nsyms, list_contains($syms, 'b') AS hasB,
		list_sum($ns) AS nsum, json_extract($opts::JSON, '$.depth')::BIGINT AS depth,
		$missing IS NULL AS missingIsNull, $now AS now`
	cols := []qconnect.Column{col("b", qconnect.Boolean), col("n", qconnect.Long), col("f", qconnect.Float),
		col("s", qconnect.String), col("ts", qconnect.Timestamp), col("d", qconnect.Date), col("span", qconnect.Timespan),
		col("nsyms", qconnect.Long), col("hasB", qconnect.Boolean), col("nsum", qconnect.Long), col("depth", qconnect.Long),
		col("missingIsNull", qconnect.Boolean), col("now", qconnect.Timestamp)}
	ts := time.Date(2019, 7, 26, 9, 0, 0, 0, time.UTC)
	now := time.Date(2024, 1, 2, 3, 4, 5, 6789, time.UTC)
	call := qconnect.Call{Method: sqlMethod(q, params, cols...), Now: now, Params: map[string]any{
		"b": true, "n": int64(41), "f": 1.25, "s": "abc", "ts": ts,
		"d": time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC), "span": 90 * time.Second,
		"syms": []any{"a", "b", "c"}, "ns": []any{int64(1), int64(2), int64(3)},
		"opts": map[string]any{"depth": float64(2)}, "missing": nil,
	}}
	_, rows := query(t, e, call)
	got := rows[0]
	want := []any{true, int64(42), 2.5, "ABC", ts.Add(time.Second), time.Date(2019, 7, 27, 0, 0, 0, 0, time.UTC),
		3 * time.Minute, int64(3), true, int64(6), int64(2), true, now.Truncate(time.Microsecond)}
	for i, c := range cols {
		if gt, ok := got[i].(time.Time); ok {
			if !gt.Equal(want[i].(time.Time)) {
				t.Errorf("%s = %v, want %v", c.Name, got[i], want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("%s = %#v, want %#v", c.Name, got[i], want[i])
		}
	}
}

func TestQueryListAndIntervalOnDemo(t *testing.T) {
	e := openDemo(t)
	params := []qconnect.Param{
		{Name: "syms", Type: qconnect.Symbol, List: true},
		{Name: "bucket", Type: qconnect.Timespan},
	}
	m := sqlMethod(`SELECT time_bucket($bucket, time) AS time, sym, count(*) AS n FROM monMem
		WHERE time >= $now - INTERVAL 1 HOUR AND time < $now AND ($syms IS NULL OR list_contains($syms, sym))
		GROUP BY 1, 2 ORDER BY 1, 2`, params,
		col("time", qconnect.Timestamp), col("sym", qconnect.Symbol), col("n", qconnect.Long))
	now := testNow.Truncate(time.Hour) // buckets then hold whole minutes
	_, rows := query(t, e, qconnect.Call{Method: m, Now: now,
		Params: map[string]any{"syms": []any{"server_A", "server_C"}, "bucket": time.Minute}})
	if len(rows) != 2*60 {
		t.Fatalf("%d rows, want 120 (2 servers × 60 one-minute buckets)", len(rows))
	}
	for _, r := range rows {
		ts, sym, n := r[0].(time.Time), r[1].(string), r[2].(int64)
		if sym != "server_A" && sym != "server_C" {
			t.Errorf("row for %s, which the list excludes", sym)
		}
		if ts.Second() != 0 || ts.Nanosecond() != 0 {
			t.Errorf("bucket %v is not aligned to a minute", ts)
		}
		if n != 6 {
			t.Errorf("bucket %v %s holds %d samples, want 6", ts, sym, n)
		}
	}
	// A NULL list means every server.
	_, rows = query(t, e, qconnect.Call{Method: m, Now: now, Params: map[string]any{"syms": nil, "bucket": time.Hour}})
	if len(rows) != 8 {
		t.Errorf("%d rows with syms NULL and 1h buckets, want 8", len(rows))
	}
}

func TestQueryLimit(t *testing.T) {
	e := openDemo(t)
	m := sqlMethod("SELECT time, sym FROM monMem ORDER BY time DESC, sym", nil,
		col("time", qconnect.Timestamp), col("sym", qconnect.Symbol))
	_, rows := query(t, e, qconnect.Call{Method: m, Limit: 9})
	if len(rows) != 9 {
		t.Fatalf("%d rows with Limit 9", len(rows))
	}
	last := testNow.Truncate(10 * time.Second)
	for i, r := range rows[:8] {
		if !r[0].(time.Time).Equal(last) {
			t.Errorf("row %d at %v: the LIMIT wrapper lost the query's order (want the newest %v first)", i, r[0], last)
		}
	}
	if got := rows[8][0].(time.Time); !got.Equal(last.Add(-10 * time.Second)) {
		t.Errorf("row 8 at %v, want %v", got, last.Add(-10*time.Second))
	}
	// A trailing semicolon and comment do not break the wrapper.
	m.Query = "SELECT time, sym FROM monMem -- all of it\n;\n"
	if _, rows = query(t, e, qconnect.Call{Method: m, Limit: 3}); len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
}

func TestQueryBatchesBounded(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 100})
	m := sqlMethod("SELECT i FROM range(1050) r(i) ORDER BY i", nil, col("i", qconnect.Long))
	rows, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sizes []int
	next := int64(0)
	eachBatch(t, rows, func(batch *qconnect.Batch) {
		sizes = append(sizes, batch.Len)
		for _, r := range batch.Rows() {
			if r[0] != next {
				t.Fatalf("row %v, want %d", r[0], next)
			}
			next++
		}
	})
	if next != 1050 || len(sizes) != 11 || sizes[0] != 100 || sizes[10] != 50 {
		t.Errorf("got %d rows in batches %v, want 1050 in 10×100 + 50", next, sizes)
	}
	if _, err := rows.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after io.EOF, want 0", n)
	}
}

func TestRowsClose(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 10})
	m := sqlMethod("SELECT i FROM range(100) r(i)", nil, col("i", qconnect.Long))
	rows, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.DB().Stats().InUse; n != 1 {
		t.Errorf("%d connections in use while rows are open, want 1", n)
	}
	if _, err := rows.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after Close, want 0", n)
	}
	if _, err := rows.Next(context.Background()); err == nil {
		t.Error("Next after Close succeeded")
	}
}

// longQuery takes minutes unless interrupted.
const longQuery = "SELECT count(*) AS n FROM range(100000000) a(i), range(100000) b(j) WHERE (i * j) % 7 = 3"

func TestQueryCancelInterrupts(t *testing.T) {
	e := openEngine(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Query(ctx, qconnect.Call{Method: sqlMethod(longQuery, nil, col("n", qconnect.Long))})
	elapsed := time.Since(start)
	qe := wantCode(t, err, qconnect.CodeTimeout)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Query returned %v after the cancel, want promptly", elapsed-300*time.Millisecond)
	}
	if !strings.Contains(qe.Message, "cancelled") {
		t.Errorf("message %q does not say the call was cancelled", qe.Message)
	}
	// The engine keeps serving.
	if err := e.Ping(context.Background()); err != nil {
		t.Errorf("Ping after a cancelled query: %v", err)
	}
}

func TestQueryTimeout(t *testing.T) {
	e := openEngine(t, Config{})
	m := sqlMethod(longQuery, nil, col("n", qconnect.Long))
	m.Timeout = 400 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), m.Timeout)
	defer cancel()
	start := time.Now()
	_, err := e.Query(ctx, qconnect.Call{Method: m})
	qe := wantCode(t, err, qconnect.CodeTimeout)
	if !strings.Contains(qe.Message, "timeout of 400ms") || !strings.Contains(qe.Message, "narrow") {
		t.Errorf("message %q does not name the timeout and what to do", qe.Message)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Query returned after %v, want soon after the 400ms timeout", elapsed)
	}
}

func TestQueryCancelDuringNext(t *testing.T) {
	e := openEngine(t, Config{BatchSize: 10})
	rows, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod("SELECT i FROM range(1000) r(i)", nil, col("i", qconnect.Long))})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = rows.Next(ctx)
	wantCode(t, err, qconnect.CodeTimeout)
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after a failed Next, want 0", n)
	}
}

func TestQueryErrors(t *testing.T) {
	e := openDemo(t)
	for _, c := range []struct {
		name, query string
		params      []qconnect.Param
		code        qconnect.Code
		want        []string // in the message
		notWant     []string
	}{
		{name: "unknown column", query: "SELECT nocol FROM monMem", code: qconnect.CodeAnalyticError,
			want: []string{"test/m", "nocol"}, notWant: []string{"LINE 1", "\n"}},
		{name: "syntax", query: "SELEC 1", code: qconnect.CodeAnalyticError, want: []string{"syntax"}},
		{name: "runtime", query: "SELECT error('boom') AS x", code: qconnect.CodeAnalyticError, want: []string{"boom"}},
		{name: "undeclared parameter", query: "SELECT $foo AS x", code: qconnect.CodeAnalyticError, want: []string{"$foo", "not a declared parameter"}},
		// A file the method's query names is missing: the operator's
		// problem, not the caller's (issue 9: I/O is internal, logged).
		{name: "missing file is internal", query: "SELECT * FROM read_csv('/nonexistent/secret-dir/x.csv')", code: qconnect.CodeInternal,
			notWant: []string{"secret-dir", "x.csv"}},
		{name: "two statements", query: "SELECT 1 AS x; DROP TABLE monMem", code: qconnect.CodeAnalyticError},
		{name: "undeclared column", query: "SELECT 1 AS x, 2 AS y", code: qconnect.CodeAnalyticError, want: []string{`"y"`, "not declared"}},
		{name: "incompatible column", query: "SELECT 'a' AS x", code: qconnect.CodeAnalyticError, want: []string{`"x"`, "declared long", "VARCHAR"}},
		{name: "no query", query: " ", code: qconnect.CodeAnalyticError, want: []string{"no query"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Query(context.Background(), qconnect.Call{Method: sqlMethod(c.query, c.params, col("x", qconnect.Long))})
			qe := wantCode(t, err, c.code)
			for _, w := range c.want {
				if !strings.Contains(qe.Message, w) {
					t.Errorf("message %q does not contain %q", qe.Message, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(qe.Message, w) {
					t.Errorf("message %q contains %q", qe.Message, w)
				}
			}
		})
	}
	if n := scalar[int64](t, e, "SELECT count(*) FROM monMem"); n != int64(MonMemRows) {
		t.Errorf("monMem has %d rows after the failed calls", n)
	}
	if n := e.DB().Stats().InUse; n != 0 {
		t.Errorf("%d connections in use after failed calls, want 0", n)
	}
}

func TestQueryConcurrent(t *testing.T) {
	e := openEngine(t, Config{Demo: true, DemoTrades: testTrades, Now: testNow, BatchSize: 64, MaxConns: 4})
	m := sqlMethod("SELECT time, sym, price FROM trade WHERE sym = $sym ORDER BY time",
		[]qconnect.Param{{Name: "sym", Type: qconnect.Symbol}},
		col("time", qconnect.Timestamp), col("sym", qconnect.Symbol), col("price", qconnect.Float))
	syms := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM"}
	var wg sync.WaitGroup
	errs := make(chan error, len(syms))
	for _, s := range syms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, err := e.Query(context.Background(), qconnect.Call{Method: m, Params: map[string]any{"sym": s}})
			if err != nil {
				errs <- err
				return
			}
			defer rows.Close()
			got, err := drain(rows)
			if err != nil {
				errs <- err
				return
			}
			want := scalar[int64](t, e, "SELECT count(*) FROM trade WHERE sym = '"+s+"'")
			if int64(len(got)) != want || want == 0 {
				errs <- errors.New(s + ": row count mismatch")
			}
			for _, r := range got {
				if r[1] != s {
					errs <- errors.New(s + ": row of another symbol")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
