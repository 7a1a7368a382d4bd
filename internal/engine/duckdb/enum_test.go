package duckdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// columnType is the DuckDB type of a column of a table in the engine.
func columnType(t *testing.T, e *Engine, table, column string) string {
	t.Helper()
	var typ string
	if err := e.DB().QueryRowContext(context.Background(), `SELECT data_type FROM duckdb_columns()
WHERE table_name = $1 AND column_name = $2`, table, column).Scan(&typ); err != nil {
		t.Fatalf("type of %s.%s: %v", table, column, err)
	}
	return typ
}

// TestDemoSideIsEnum: the demo trade table's side is an ENUM('buy',
// 'sell'), read back as the symbols buy and sell (as a dictionary vector),
// printed and sorted as the VARCHAR it replaced.
func TestDemoSideIsEnum(t *testing.T) {
	e := openDemo(t)
	if got := columnType(t, e, "trade", "side"); got != DemoSideType {
		t.Fatalf("trade.side is %s, want %s", got, DemoSideType)
	}
	m := sqlMethod(`SELECT side, count(*) AS n FROM trade GROUP BY side ORDER BY side`, nil,
		col("side", qconnect.Symbol), col("n", qconnect.Long))
	rows, err := e.Query(context.Background(), qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	b, err := rows.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Cols[0].Dict == nil {
		t.Errorf("side decoded without its dictionary: %+v", b.Cols[0])
	}
	if b.Len != 2 || b.Cols[0].Str(0) != "buy" || b.Cols[0].Str(1) != "sell" || b.Cols[1].Ints[0]+b.Cols[1].Ints[1] != testTrades {
		t.Fatalf("sides = %v", b.Rows())
	}
	// The same rows as a VARCHAR column gives, in the same order.
	_, asEnum := query(t, e, qconnect.Call{Method: sqlMethod(`SELECT time, side FROM trade ORDER BY time, side LIMIT 500`, nil,
		col("time", qconnect.Timestamp), col("side", qconnect.Symbol))})
	_, asText := query(t, e, qconnect.Call{Method: sqlMethod(`SELECT time, side::VARCHAR AS side FROM trade ORDER BY time, side::VARCHAR LIMIT 500`, nil,
		col("time", qconnect.Timestamp), col("side", qconnect.Symbol))})
	if !reflect.DeepEqual(asEnum, asText) {
		t.Fatal("the ENUM side reads differently from its VARCHAR cast")
	}
}

// TestAppendEnum: a published value of an ENUM column is stored as its
// index; a value outside the ENUM's values turns the column of an
// in-memory table into VARCHAR and is stored, with the earlier rows
// unchanged; a user's file is never altered: there it is an error.
func TestAppendEnum(t *testing.T) {
	ctx := context.Background()
	e := openDemo(t)
	at := time.Date(2024, 7, 26, 10, 0, 0, 0, time.UTC)
	if err := e.Append(ctx, "trade", tradeCols, [][]any{{at, "ZENUM", 1.5, int64(100), "sell"}, {at, "ZENUM", 1.5, int64(100), nil}}); err != nil {
		t.Fatal(err)
	}
	if got := columnType(t, e, "trade", "side"); got != DemoSideType {
		t.Fatalf("after known values trade.side is %s", got)
	}
	if err := e.Append(ctx, "trade", tradeCols, [][]any{{at, "ZENUM", 2.5, int64(100), "short"}}); err != nil {
		t.Fatalf("a value outside the ENUM: %v", err)
	}
	if got := columnType(t, e, "trade", "side"); got != "VARCHAR" {
		t.Fatalf("after a new value trade.side is %s, want VARCHAR", got)
	}
	m := sqlMethod(`SELECT price, side FROM trade WHERE sym = 'ZENUM' ORDER BY price, side NULLS LAST`, nil,
		col("price", qconnect.Float), col("side", qconnect.Symbol))
	_, got := query(t, e, qconnect.Call{Method: m})
	if want := [][]any{{1.5, "sell"}, {1.5, nil}, {2.5, "short"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("stored rows = %v, want %v", got, want)
	}
	var buys int64
	if err := e.DB().QueryRowContext(ctx, `SELECT count(*) FROM trade WHERE side = 'buy'`).Scan(&buys); err != nil || buys == 0 {
		t.Fatalf("the demo's buys after the change: %d, %v", buys, err)
	}

	path := filepath.Join(t.TempDir(), "user.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE fills (qty BIGINT, side ENUM('b', 's'))`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f := openEngine(t, Config{Path: path, ReadWrite: true})
	cols := []qconnect.Column{col("qty", qconnect.Long), col("side", qconnect.Symbol)}
	if err := f.Append(ctx, "fills", cols, [][]any{{int64(1), "b"}, {int64(2), "s"}}); err != nil {
		t.Fatal(err)
	}
	err = f.Append(ctx, "fills", cols, [][]any{{int64(3), "x"}})
	if qconnect.ErrorCode(err) != qconnect.CodeAnalyticError || !strings.Contains(err.Error(), `"x" is not one of the column's values (b, s)`) {
		t.Fatalf("a value outside a file's ENUM: %v", err)
	}
	if got := columnType(t, f, "fills", "side"); !strings.HasPrefix(got, "ENUM") {
		t.Fatalf("the user's column became %s", got)
	}
	_, got = query(t, f, qconnect.Call{Method: sqlMethod(`SELECT qty, side FROM fills ORDER BY qty`, nil, cols...)})
	if want := [][]any{{int64(1), "b"}, {int64(2), "s"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("file rows = %v, want %v", got, want)
	}
}

// TestEnumWidenDuringExport: a publish that widens an ENUM column while an
// export of the table is being read succeeds, and the export still
// returns every row it started with (its snapshot), none lost or doubled.
func TestEnumWidenDuringExport(t *testing.T) {
	ctx := context.Background()
	e := openDemo(t)
	var before int
	if err := e.DB().QueryRowContext(ctx, `SELECT count(*) FROM trade`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	m := sqlMethod(`SELECT time, sym, side FROM trade ORDER BY time`, nil,
		col("time", qconnect.Timestamp), col("sym", qconnect.Symbol), col("side", qconnect.Symbol))
	r, err := e.Query(ctx, qconnect.Call{Method: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := len(first.Rows())
	at := time.Date(2024, 7, 26, 10, 0, 0, 0, time.UTC)
	if err := e.Append(ctx, "trade", tradeCols, [][]any{{at, "ZWIDE", 2.5, int64(100), "short"}}); err != nil {
		t.Fatalf("publish widening the column during an export: %v", err)
	}
	if got := columnType(t, e, "trade", "side"); got != "VARCHAR" {
		t.Fatalf("trade.side is %s, want VARCHAR", got)
	}
	eachBatch(t, r, func(b *qconnect.Batch) { n += len(b.Rows()) })
	if n != before {
		t.Fatalf("the export returned %d rows, want the %d it started with", n, before)
	}
}
