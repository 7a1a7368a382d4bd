package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver: an independent reference in tests only
	"github.com/qconnect/qconnect"
)

// DB gives tests a small database/sql-like view of the engine's own
// connections (the pool of conn.go), so that they can set up tables and
// read values back through the same database as Query. Values are those
// of queryRows (the qconnect conventions).
func (e *Engine) DB() testDB { return testDB{e} }

type testDB struct{ e *Engine }

type testResult struct{ n int64 }

func (r testResult) RowsAffected() (int64, error) { return r.n, nil }

func (d testDB) ExecContext(ctx context.Context, q string, args ...any) (testResult, error) {
	c, err := d.e.pool.get(ctx)
	if err != nil {
		return testResult{}, err
	}
	defer c.Close()
	n, err := c.exec(ctx, q, args...)
	return testResult{n}, err
}

func (d testDB) Exec(q string, args ...any) (testResult, error) {
	return d.ExecContext(context.Background(), q, args...)
}

func (d testDB) QueryContext(ctx context.Context, q string, args ...any) (*testRows, error) {
	c, err := d.e.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cols, rows, err := c.queryRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return &testRows{cols: cols, rows: rows, i: -1}, nil
}

func (d testDB) Query(q string, args ...any) (*testRows, error) {
	return d.QueryContext(context.Background(), q, args...)
}

func (d testDB) QueryRowContext(ctx context.Context, q string, args ...any) *testRows {
	r, err := d.QueryContext(ctx, q, args...)
	if err != nil {
		return &testRows{err: err}
	}
	r.row = true
	return r
}

func (d testDB) QueryRow(q string, args ...any) *testRows {
	return d.QueryRowContext(context.Background(), q, args...)
}

// Stats reports the connections in use.
func (d testDB) Stats() sql.DBStats { return sql.DBStats{InUse: d.e.pool.InUse()} }

type testRows struct {
	cols []qconnect.Column
	rows [][]any
	i    int
	err  error
	row  bool // QueryRow: Scan reads the first row
}

func (r *testRows) Next() bool {
	r.i++
	return r.i < len(r.rows)
}

func (r *testRows) Close() error { return nil }
func (r *testRows) Err() error   { return r.err }

func (r *testRows) Columns() ([]string, error) {
	names := make([]string, len(r.cols))
	for i, c := range r.cols {
		names[i] = c.Name
	}
	return names, nil
}

func (r *testRows) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if r.row {
		r.row = false
		if !r.Next() {
			return sql.ErrNoRows
		}
	}
	if r.i < 0 || r.i >= len(r.rows) {
		return errors.New("Scan without a row")
	}
	row := r.rows[r.i]
	if len(dest) != len(row) {
		return fmt.Errorf("Scan of %d values into %d destinations", len(row), len(dest))
	}
	for i, d := range dest {
		v := row[i]
		ok := true
		switch p := d.(type) {
		case *any:
			*p = v
		case *int64:
			*p, ok = v.(int64)
		case *int:
			var n int64
			n, ok = v.(int64)
			*p = int(n)
		case *float64:
			*p, ok = v.(float64)
		case *string:
			*p, ok = v.(string)
		case *bool:
			*p, ok = v.(bool)
		case *time.Time:
			*p, ok = v.(time.Time)
		case *time.Duration:
			*p, ok = v.(time.Duration)
		default:
			ok = false
		}
		if !ok {
			return fmt.Errorf("column %d: cannot scan a %T into %T", i, v, d)
		}
	}
	return nil
}
