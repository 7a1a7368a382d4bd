package duckdb

import (
	"context"
	"os"
	"testing"
)

// TestSpillDirectory: without a TempDir, Open spills to a fresh directory
// of its own, which Close removes; a given TempDir is used and kept.
func TestSpillDirectory(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Config{MemoryLimit: "64MB"})
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	if err := e.DB().QueryRowContext(ctx, `SELECT current_setting('temp_directory')`).Scan(&dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil || dir != e.ownTemp {
		t.Fatalf("temp_directory %q (own %q): %v", dir, e.ownTemp, err)
	}
	// A sort larger than the memory limit spills instead of failing.
	var n int64
	if err := e.DB().QueryRowContext(ctx, `SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY k, pad) AS rn FROM (SELECT range % 1000003 AS k, repeat('x', 40) || range AS pad FROM range(5000000)))`).Scan(&n); err != nil || n != 5000000 {
		t.Fatalf("sort over the memory limit: %d, %v", n, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind (%v)", dir, err)
	}

	given := t.TempDir()
	e, err = Open(ctx, Config{TempDir: given})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DB().QueryRowContext(ctx, `SELECT current_setting('temp_directory')`).Scan(&dir); err != nil || dir != given {
		t.Errorf("temp_directory = %q, want %q (%v)", dir, given, err)
	}
	e.Close()
	if _, err := os.Stat(given); err != nil {
		t.Errorf("Close removed the given TempDir: %v", err)
	}
}
