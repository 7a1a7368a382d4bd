package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// drainErr runs a method to its end and returns the first error, at Query
// or at Next.
func drainErr(t *testing.T, e *Engine, ctx context.Context, m *qconnect.Method) error {
	t.Helper()
	rows, err := e.Query(ctx, qconnect.Call{Method: m, Now: testNow})
	if err != nil {
		return err
	}
	defer rows.Close()
	_, err = drain(rows)
	return err
}

// TestErrorTypesKeepTheirMeaning provokes each class of DuckDB error for
// real and checks the wire code it becomes (issue 9: errors keep their
// meaning through DuckDB's error type).
func TestErrorTypesKeepTheirMeaning(t *testing.T) {
	e := openEngine(t, Config{})
	one := []qconnect.Column{col("x", qconnect.Long)}
	for _, c := range []struct {
		name, query string
		code        qconnect.Code
		says        string
	}{
		{"binder", `SELECT no_such_column AS x FROM range(3)`, qconnect.CodeAnalyticError, "Binder Error"},
		{"catalog", `SELECT range AS x FROM no_such_table`, qconnect.CodeAnalyticError, "Catalog Error"},
		{"conversion", `SELECT CAST('x' || range AS BIGINT) AS x FROM range(3)`, qconnect.CodeAnalyticError, "Conversion Error"},
		{"out of range", `SELECT (9223372036854775807 + range)::BIGINT AS x FROM range(3)`, qconnect.CodeAnalyticError, "Out of Range"},
		{"io (a server-side file): internal", `SELECT count(*)::BIGINT AS x FROM read_csv('/nonexistent-qconnect-dir/missing.csv')`, qconnect.CodeInternal, "internal error"},
	} {
		err := drainErr(t, e, context.Background(), sqlMethod(c.query, nil, one...))
		qe := wantCode(t, err, c.code)
		if !strings.Contains(qe.Message, c.says) {
			t.Errorf("%s: message %q does not say %q", c.name, qe.Message, c.says)
		}
		if c.code == qconnect.CodeInternal && (qe.Cause == nil || !strings.Contains(qe.Cause.Error(), "IO Error")) {
			t.Errorf("%s: the cause the server logs is %v, want DuckDB's IO error", c.name, qe.Cause)
		}
	}
}

// TestConstraintErrorIsAnalytic: a constraint violation (publishing a
// NULL into a NOT NULL column) is an error of the analytic, not internal.
func TestConstraintErrorIsAnalytic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strict.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE strict (k BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e := openEngine(t, Config{Path: path, ReadWrite: true})
	err = e.Append(context.Background(), "strict", []qconnect.Column{col("k", qconnect.Long)}, [][]any{{int64(1)}, {nil}})
	if err == nil {
		t.Fatal("appending NULL to a NOT NULL column succeeded")
	}
	qe := wantCode(t, err, qconnect.CodeAnalyticError)
	if !strings.Contains(strings.ToLower(qe.Message), "constraint") {
		t.Errorf("message %q does not name the constraint", qe.Message)
	}
	if classify(&dbError{typ: bindings.ErrorTypeInternal, msg: "x"}) != classInternal {
		t.Error("an INTERNAL DuckDB error is not internal")
	}
}

// TestOutOfMemoryIsBusy: DuckDB running out of its memory limit is busy
// (503 with Retry-After), with a message that says what ran out.
func TestOutOfMemoryIsBusy(t *testing.T) {
	e := openEngine(t, Config{MemoryLimit: "32MB", Threads: 1})
	err := drainErr(t, e, context.Background(), sqlMethod(
		`SELECT length(string_agg(md5(range::VARCHAR) || repeat('x', 200), ','))::BIGINT AS x FROM range(3000000)`, nil, col("x", qconnect.Long)))
	qe := wantCode(t, err, qconnect.CodeBusy)
	if qe.RetryAfter <= 0 || !strings.Contains(qe.Message, "out of memory") || !strings.Contains(qe.Message, "--duckdb-memory-limit") {
		t.Errorf("busy error %+v: want Retry-After and a message naming memory and the flag", qe)
	}
}

// TestInterruptIsTimeout: a query interrupted because its call's context
// ended is a timeout (deadline) or carries context.Canceled (client gone).
func TestInterruptIsTimeout(t *testing.T) {
	e := openEngine(t, Config{})
	slow := sqlMethod(`SELECT sum(a.range * b.range)::BIGINT AS x FROM range(2000000) a, range(2000000) b`, nil, col("x", qconnect.Long))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	wantCode(t, drainErr(t, e, ctx, slow), qconnect.CodeTimeout)
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() {
		<-time.After(100 * time.Millisecond)
		cancel2()
	}()
	err := drainErr(t, e, ctx2, slow)
	wantCode(t, err, qconnect.CodeTimeout)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call's error does not carry context.Canceled: %v", err)
	}
}
