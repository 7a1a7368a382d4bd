package duckdb

import (
	"context"
	"testing"
)

// TestDemoTablesCompressed: by default the demo tables live in a compressed
// in-memory database (named "memory" like DuckDB's own, so that queries,
// appends and the search path are unchanged): after the load's checkpoint
// their segments use DuckDB's compressions. With Uncompressed they do not,
// and both serve the same rows; appends work on both.
func TestDemoTablesCompressed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, uncompressed := range []bool{false, true} {
		e := openEngine(t, Config{Demo: true, DemoTrades: 20_000, Now: testNow, Uncompressed: uncompressed})
		var compressed, total, rows int64
		if err := e.DB().QueryRow(`SELECT count(*) FILTER (WHERE compression NOT IN ('Uncompressed', 'Constant')), count(*)
FROM pragma_storage_info('memory.main.trade') WHERE segment_type IN ('TIMESTAMP', 'DOUBLE', 'BIGINT')`).Scan(&compressed, &total); err != nil {
			t.Fatal(err)
		}
		if total == 0 {
			t.Fatalf("uncompressed=%v: pragma_storage_info lists no segment of trade", uncompressed)
		}
		if !uncompressed && compressed == 0 {
			t.Errorf("default: none of trade's %d numeric segments is compressed", total)
		}
		if uncompressed && compressed != 0 {
			t.Errorf("Uncompressed: %d of trade's %d numeric segments are compressed", compressed, total)
		}
		var db string
		if err := e.DB().QueryRow(`SELECT current_database()`).Scan(&db); err != nil || db != "memory" {
			t.Errorf("current_database() = %q, %v; want memory", db, err)
		}
		if err := e.DB().QueryRow(`SELECT count(*) FROM trade`).Scan(&rows); err != nil || rows != 20_000 {
			t.Errorf("trade has %d rows (%v), want 20000", rows, err)
		}
		if _, err := e.Exec(ctx, `INSERT INTO trade SELECT * FROM trade LIMIT 1`); err != nil {
			t.Errorf("uncompressed=%v: insert: %v", uncompressed, err)
		}
	}
}

// TestLoadMemoryLimit: the load runs under LoadMemoryLimit, and
// MemoryLimit is DuckDB's limit once Open returns.
func TestLoadMemoryLimit(t *testing.T) {
	t.Parallel()
	e := openEngine(t, Config{Demo: true, DemoTrades: 5_000, Now: testNow, LoadMemoryLimit: "1GB", MemoryLimit: "100MB"})
	var limit string
	if err := e.DB().QueryRow(`SELECT current_setting('memory_limit')`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if limit != "95.3 MiB" && limit != "100.0 MB" && limit != "95.3MiB" {
		t.Errorf("memory_limit after Open = %q, want 100MB", limit)
	}
}
