package duckdb

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

var nsTime = time.Date(2019, 7, 26, 9, 0, 0, 123456789, time.UTC)

// TestTimestampParamPrecision: a timestamp parameter keeps its nanoseconds,
// where the query makes it a TIMESTAMP_NS and where DuckDB leaves its type
// open.
func TestTimestampParamPrecision(t *testing.T) {
	e := openEngine(t, Config{})
	params := []qconnect.Param{{Name: "ts", Type: qconnect.Timestamp}}
	for _, c := range []struct {
		query string
		want  any
	}{
		{"SELECT $ts::TIMESTAMP_NS AS x", nsTime},
		{"SELECT $ts AS x", nsTime},
		// Compared with a TIMESTAMP_NS column, exactly: one of the two is before it.
		{`SELECT count(*) AS x FROM (VALUES (TIMESTAMP_NS '2019-07-26 09:00:00.123456788'),
			(TIMESTAMP_NS '2019-07-26 09:00:00.123456789')) v(t) WHERE t >= $ts`, int64(1)},
	} {
		typ := qconnect.Timestamp
		if _, ok := c.want.(int64); ok {
			typ = qconnect.Long
		}
		_, rows := query(t, e, qconnect.Call{Method: sqlMethod(c.query, params, col("x", typ)),
			Params: map[string]any{"ts": nsTime}})
		if !sameValue(rows[0][0], c.want) {
			t.Errorf("%s = %v, want %v", c.query, rows[0][0], c.want)
		}
	}
}

// TestTimestampParamKeepsFilterPushdown: binding whole-microsecond
// timestamps (and $now) as Query does leaves comparisons with a TIMESTAMP
// column on the column itself, so DuckDB pushes them into the scan and
// prunes by min/max. (Binding a TIMESTAMP_NS value there makes DuckDB cast
// the column instead, which bindValue accepts only for a bound finer than a
// microsecond, to compare it exactly.)
func TestTimestampParamKeepsFilterPushdown(t *testing.T) {
	e := openEngine(t, Config{})
	if _, err := e.DB().ExecContext(context.Background(),
		`CREATE TABLE tt AS SELECT TIMESTAMP '2019-07-26' + to_seconds(i) AS time, i FROM range(100000) r(i)`); err != nil {
		t.Fatal(err)
	}
	params := []qconnect.Param{{Name: "start", Type: qconnect.Timestamp}, {Name: "end", Type: qconnect.Timestamp}}
	for _, q := range []string{
		"SELECT count(*) FROM tt WHERE time >= $start AND time < $end",
		"SELECT count(*) FROM tt WHERE time >= coalesce($start, $now - INTERVAL 1 HOUR) AND time < coalesce($end, $now)",
	} {
		m := sqlMethod(q, params)
		us := nsTime.Truncate(time.Microsecond)
		plan := explain(t, e, m, map[string]any{"start": us, "end": us.Add(time.Hour)})
		if !strings.Contains(plan, "Filters") || strings.Contains(plan, "CAST(time") {
			t.Errorf("%s: the time filter is not pushed into the scan as is:\n%s", q, plan)
		}
	}
}

// explain binds m's parameters as Query does and returns DuckDB's plan.
func explain(t *testing.T, e *Engine, m *qconnect.Method, params map[string]any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := e.pool.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var plan strings.Builder
	err = func() error {
		stmt, err := conn.prepare("EXPLAIN " + m.Query)
		if err != nil {
			return err
		}
		args, err := bindArgs(stmt, m, params, nsTime)
		if err != nil {
			_ = stmt.Close()
			return err
		}
		s, err := startStream(ctx, stmt, args)
		if err != nil {
			return err
		}
		defer s.close()
		p, problems := planColumns(nil, s.cols)
		if len(problems) > 0 {
			t.Fatalf("EXPLAIN columns: %v", problems)
		}
		for {
			more, err := s.advance()
			if err != nil || !more {
				return err
			}
			b := qconnect.NewBatch(p.cols, s.size)
			for j, dec := range p.dec {
				b.Cols[j].Reset(s.size)
				if err := dec(&target{v: &b.Cols[j], size: s.size}, s.vector(p.src[j]), 0, s.size, 0); err != nil {
					return err
				}
			}
			b.Len = s.size
			for _, r := range b.Rows() {
				for _, v := range r {
					plan.WriteString(v.(string) + "\n")
				}
			}
			s.pos = s.size
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// TestTimestampBoundsExactAtNanoseconds: a timestamp parameter compares
// exactly, at nanosecond resolution, with a TIMESTAMP (µs) column and a
// TIMESTAMP_NS column: rows at, just before and just after each bound, with
// every comparison operator.
func TestTimestampBoundsExactAtNanoseconds(t *testing.T) {
	e := openEngine(t, Config{})
	if _, err := e.DB().ExecContext(context.Background(), `CREATE TABLE nsb AS SELECT * FROM (VALUES
		(1, TIMESTAMP '2024-07-25 15:59:59.783936', TIMESTAMP_NS '2024-07-25 15:59:59.783936999'),
		(2, TIMESTAMP '2024-07-25 15:59:59.783937', TIMESTAMP_NS '2024-07-25 15:59:59.783937000'),
		(3, TIMESTAMP '2024-07-25 15:59:59.783938', TIMESTAMP_NS '2024-07-25 15:59:59.783937001')) v(id, us, ns)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 7, 25, 15, 59, 59, 783937000, time.UTC)
	params := []qconnect.Param{{Name: "b", Type: qconnect.Timestamp}}
	ids := func(q string, b time.Time) string {
		t.Helper()
		_, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) AS ids FROM nsb WHERE "+q, params, col("ids", qconnect.String)),
			Params: map[string]any{"b": b}})
		if rows[0][0] == nil {
			return ""
		}
		return rows[0][0].(string)
	}
	for _, c := range []struct {
		where string
		bound time.Time
		want  string
	}{
		// µs column: the bound 1 ns after, 1 ns before and exactly at row 2.
		{"us < $b", at.Add(time.Nanosecond), "1,2"}, // the reported case: end = last trade + 1 ns
		{"us <= $b", at.Add(time.Nanosecond), "1,2"},
		{"us > $b", at.Add(time.Nanosecond), "3"},
		{"us >= $b", at.Add(time.Nanosecond), "3"},
		{"us = $b", at.Add(time.Nanosecond), ""},
		{"us < $b", at.Add(-time.Nanosecond), "1"},
		{"us <= $b", at.Add(-time.Nanosecond), "1"},
		{"us >= $b", at.Add(-time.Nanosecond), "2,3"},
		{"us > $b", at.Add(-time.Nanosecond), "2,3"},
		{"us < $b", at, "1"},
		{"us <= $b", at, "1,2"},
		{"us >= $b", at, "2,3"},
		{"us = $b", at, "2"},
		{"us >= $b AND us < $b + INTERVAL 1 MICROSECOND", at, "2"},
		// ns column: rows 1 ns apart around the bound.
		{"ns < $b", at, "1"},
		{"ns <= $b", at, "1,2"},
		{"ns > $b", at, "3"},
		{"ns >= $b", at.Add(time.Nanosecond), "3"},
		{"ns < $b", at.Add(time.Nanosecond), "1,2"},
		{"ns = $b", at.Add(-time.Nanosecond), "1"},
		{"ns BETWEEN $b AND $b", at.Add(time.Nanosecond), "3"},
	} {
		if got := ids(c.where, c.bound); got != c.want {
			t.Errorf("%s with $b = %s: rows %q, want %q", c.where, c.bound.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

// TestListParamsWithNulls: a list parameter holding NULLs is bound element
// by element, its element type taken from its values (a time as
// TIMESTAMPTZ, a duration as INTERVAL); a UUID binds as a UUID.
func TestListParamsWithNulls(t *testing.T) {
	e := openEngine(t, Config{})
	ts := time.Date(2024, 7, 26, 9, 0, 0, 0, time.UTC)
	u := [16]byte{0xf8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	for _, c := range []struct {
		typ   qconnect.Type
		value any
		query string
		want  string
	}{
		{qconnect.Symbol, []any{"a", nil, "c"}, "SELECT list_transform($p, x -> coalesce(x, '-'))::VARCHAR AS x", "[a, -, c]"},
		{qconnect.Long, []any{nil, int64(2)}, "SELECT (list_sum($p) + len($p))::VARCHAR AS x", "4"},
		{qconnect.Timestamp, []any{ts, nil}, "SELECT typeof($p) || ' ' || ($p[1] AT TIME ZONE 'UTC')::VARCHAR AS x", "TIMESTAMP WITH TIME ZONE[] 2024-07-26 09:00:00"},
		{qconnect.Timespan, []any{90 * time.Second, nil}, "SELECT $p::VARCHAR AS x", "['00:01:30', NULL]"},
		{qconnect.Symbol, []any{nil}, "SELECT len($p)::VARCHAR AS x", "1"},
		{qconnect.GUID, u, "SELECT $p::VARCHAR AS x", "f8010203-0405-0607-0809-0a0b0c0d0e0f"},
	} {
		params := []qconnect.Param{{Name: "p", Type: c.typ, List: c.typ != qconnect.GUID}}
		_, rows := query(t, e, qconnect.Call{Method: sqlMethod(c.query, params, col("x", qconnect.String)),
			Params: map[string]any{"p": c.value}})
		if rows[0][0] != c.want {
			t.Errorf("%s with %v = %v, want %s", c.query, c.value, rows[0][0], c.want)
		}
	}
}
