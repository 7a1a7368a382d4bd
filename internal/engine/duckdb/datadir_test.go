package duckdb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// writeParquet writes a Parquet file with DuckDB's COPY, in a database of its
// own.
func writeParquet(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("COPY (" + query + ") TO '" + sqlString(path) + "' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "prices.csv"), "time,sym,px\n2024-01-02 10:00:00,AAA,1.5\n2024-01-02 10:01:00,BBB,2.5\n")
	writeParquet(t, filepath.Join(dir, "fills 2024.parquet"),
		"SELECT TIMESTAMP '2024-01-02 10:00:00' + to_seconds(i) AS time, i AS qty FROM range(1000) r(i)")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not data")
	writeFile(t, filepath.Join(dir, ".hidden.csv"), "broken\"")

	e := openEngine(t, Config{DataDir: dir, Demo: true, DemoTrades: 1000, Now: testNow})
	if got, want := strings.Join(e.Tables(), ","), "fills_2024,monMem,prices,quote,trade"; got != want {
		t.Errorf("Tables() = %s, want %s", got, want)
	}
	_, rows := query(t, e, qconnect.Call{Method: sqlMethod("SELECT sym, px FROM prices ORDER BY time", nil,
		col("sym", qconnect.Symbol), col("px", qconnect.Float))})
	if len(rows) != 2 || rows[0][0] != "AAA" || rows[1][1] != 2.5 {
		t.Errorf("prices = %v", rows)
	}
	_, rows = query(t, e, qconnect.Call{Method: sqlMethod("SELECT count(*) AS n, sum(qty) AS total, max(time) AS last FROM fills_2024", nil,
		col("n", qconnect.Long), col("total", qconnect.Long), col("last", qconnect.Timestamp))})
	if rows[0][0] != int64(1000) || rows[0][1] != int64(499500) ||
		!rows[0][2].(time.Time).Equal(time.Date(2024, 1, 2, 10, 16, 39, 0, time.UTC)) {
		t.Errorf("fills_2024 aggregates = %v", rows[0])
	}
	// CSV files are tables, Parquet files views over the file.
	kinds := map[string]string{}
	r, err := e.DB().Query("SELECT table_name, 'table' FROM duckdb_tables() UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var n, k string
		_ = r.Scan(&n, &k)
		kinds[n] = k
	}
	r.Close()
	if kinds["prices"] != "table" || kinds["fills_2024"] != "view" {
		t.Errorf("kinds = %v, want prices a table and fills_2024 a view", kinds)
	}
}

func TestDataDirErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		demo  bool
		want  []string
	}{
		{"broken csv", map[string]string{"good.csv": "a,b\n1,2\n", "bad.csv": "a,b\n1,\xff\xfe\n"}, false,
			[]string{"bad.csv: ", "fix or remove the file"}},
		{"unterminated quote", map[string]string{"q.csv": "time,sensor,temp\n2024-01-01,a,1\n2024-01-02,\"b,2\n2024-01-03,\"c\"\"d\",3\n"}, false,
			[]string{"q.csv:3: ", "quoted field", `""`}},
		{"quote open at the end", map[string]string{"e.csv": "a,b\n1,2\n3,\"x\n4,5\n"}, false,
			[]string{"e.csv:3: ", "never closed"}},
		{"broken parquet", map[string]string{"data.parquet": "this is not parquet"}, false,
			[]string{"data.parquet: ", "fix or remove the file"}},
		{"two files, one name", map[string]string{"t.csv": "a\n1\n", "t.parquet": ""}, false,
			[]string{"t.parquet: table t clashes with ", "t.csv", "rename"}},
		{"clash with demo", map[string]string{"Trade.csv": "a\n1\n"}, true,
			[]string{"Trade.csv: table Trade clashes with the demo table trade"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			e, err := Open(context.Background(), Config{DataDir: dir, Demo: c.demo, DemoTrades: 1000, Now: testNow})
			if err == nil {
				e.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Open(context.Background(), Config{DataDir: filepath.Join(t.TempDir(), "missing")}); err == nil ||
		!strings.Contains(err.Error(), "--data") {
		t.Errorf("Open of a missing data dir = %v, want an error naming --data", err)
	}
}

func TestTableName(t *testing.T) {
	for file, want := range map[string]string{
		"trades.parquet": "trades", "my-data.v2.csv": "my_data_v2", "2024 fills.csv": "t_2024_fills",
		"Trade.CSV": "Trade", strings.Repeat("x", 70) + ".csv": strings.Repeat("x", 64),
	} {
		if got, ok := tableName(file); !ok || got != want {
			t.Errorf("tableName(%q) = %q, %v; want %q", file, got, ok, want)
		}
	}
	for _, file := range []string{"-.csv", "__.csv"} {
		if got, ok := tableName(file); ok {
			t.Errorf("tableName(%q) = %q, want no name", file, got)
		}
	}
}

func TestDuckDBFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my db.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE orders AS SELECT i AS id, 'c' || i AS customer FROM range(10) r(i)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e := openEngine(t, Config{Path: path, Demo: true, DemoTrades: 1000, Now: testNow})
	if got, want := strings.Join(e.Tables(), ","), "monMem,orders,quote,trade"; got != want {
		t.Errorf("Tables() = %s, want %s", got, want)
	}
	_, rows := query(t, e, qconnect.Call{Method: sqlMethod(
		"SELECT count(*) AS n FROM orders o JOIN (SELECT DISTINCT 1 AS one FROM trade) ON true", nil, col("n", qconnect.Long))})
	if rows[0][0] != int64(10) {
		t.Errorf("count = %v, want 10", rows[0][0])
	}
	// Read-only by default: the user's file is never modified, while the
	// in-memory demo tables take writes (publishing appends to them).
	if _, err := e.DB().Exec("INSERT INTO orders VALUES (99, 'x')"); err == nil {
		t.Error("INSERT into the read-only --duckdb file succeeded")
	}
	if _, err := e.DB().Exec("INSERT INTO trade SELECT * FROM trade LIMIT 1"); err != nil {
		t.Errorf("INSERT into the demo table trade: %v", err)
	}
	e.Close()

	e = openEngine(t, Config{Path: path, ReadWrite: true})
	if _, err := e.DB().Exec("INSERT INTO orders VALUES (99, 'x')"); err != nil {
		t.Errorf("INSERT with ReadWrite: %v", err)
	}
}

func TestDuckDBFileErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.duckdb")
	writeFile(t, notDB, "this is not a DuckDB database, just some text that is long enough to look like a header")
	for path, want := range map[string]string{
		notDB:                         "notes.duckdb: ",
		filepath.Join(dir, "missing"): "missing: no such file",
		dir:                           "is a directory",
	} {
		e, err := Open(context.Background(), Config{Path: path})
		if err == nil {
			e.Close()
			t.Errorf("Open(--duckdb %s) succeeded", path)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--duckdb") {
			t.Errorf("Open(--duckdb %s) = %q, want it to contain %q and --duckdb", path, err, want)
		}
	}
}
