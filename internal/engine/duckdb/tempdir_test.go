package duckdb

import (
	"context"
	"os"
	"strings"
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

// TestFailedOpenLeavesNoTempDir: an Open that fails (a missing --duckdb
// file, a broken --data directory) removes the spill directory it made.
func TestFailedOpenLeavesNoTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where Open makes its own spill directory
	bad := t.TempDir()
	if err := os.WriteFile(bad+"/broken.csv", []byte("a,b\n1,\"unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{{Path: "missing.duckdb"}, {DataDir: bad}} {
		if e, err := Open(context.Background(), cfg); err == nil {
			e.Close()
			t.Fatalf("Open(%+v) succeeded", cfg)
		}
		left, err := os.ReadDir(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 0 {
			t.Errorf("Open(%+v) failed and left %s in the temp directory", cfg, left[0].Name())
		}
	}
}

// TestDemoMemoryErrorNamesRealFlags: a demo load that runs out of memory
// names the flags that exist (--demo-size, --duckdb-memory-limit).
func TestDemoMemoryErrorNamesRealFlags(t *testing.T) {
	_, err := Open(context.Background(), Config{Demo: true, DemoTrades: 2_000_000, MemoryLimit: "4MB", Threads: 1})
	if err == nil {
		t.Skip("the demo fitted in 4MB (DuckDB spilled); nothing to check")
	}
	msg := err.Error()
	if !strings.Contains(msg, "--demo-size") || !strings.Contains(msg, "--duckdb-memory-limit") ||
		strings.Contains(msg, "--demo-trades") || strings.Contains(msg, " --memory-limit") {
		t.Errorf("the hint names flags that do not exist, or not the right ones: %s", msg)
	}
}
