//go:build ignore

// Command mkfills writes fills.parquet, the Parquet table of the --data
// end-to-end test (e2e/data_test.go), with DuckDB's COPY:
//
//	go run e2e/testdata/datadir/mkfills.go
//
// Row i (0 ≤ i < 1000) is: time = 2024-03-01 09:00:00 UTC + 7i seconds,
// sym = ALPHA, BETA or GAMMA (i mod 3), qty = (37i mod 500) + 1,
// px = 100 + (i mod 50) × 0.25. The test computes its expectations from
// these formulas, not from the file.
package main

import (
	"database/sql"
	"log"
	"path/filepath"
	"runtime"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	_, self, _, _ := runtime.Caller(0)
	out := filepath.Join(filepath.Dir(self), "fills.parquet")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	q := `COPY (
  SELECT TIMESTAMP '2024-03-01 09:00:00' + to_seconds(i * 7) AS time,
         (['ALPHA', 'BETA', 'GAMMA'])[i % 3 + 1] AS sym,
         (i * 37) % 500 + 1 AS qty,
         (100 + (i % 50) * 0.25)::DOUBLE AS px
  FROM range(1000) r(i) ORDER BY i
) TO '` + out + `' (FORMAT parquet)`
	if _, err := db.Exec(q); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", out)
}
