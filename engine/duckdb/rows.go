package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"

	duck "github.com/duckdb/duckdb-go/v2"
	"github.com/qconnect/qconnect"
)

// ctxCheckRows is how often (in rows) Next looks at its context within a
// batch.
const ctxCheckRows = 1024

// rows streams a result in batches. It reads the driver's rows directly
// (driver.Rows.Next into one reused []driver.Value), skipping database/sql's
// per-value conversion, and reuses one batch between calls of Next.
type rows struct {
	mu     sync.Mutex
	engine *Engine
	method *qconnect.Method
	conn   *sql.Conn // nil once released
	stmt   *duck.Stmt
	drows  driver.Rows
	plan   columnPlan
	size   int // rows per batch

	dest  []driver.Value
	flat  []any   // size × columns values, reused
	batch [][]any // size rows over flat
	err   error   // sticky error
	eof   bool
}

// Columns implements qconnect.Rows.
func (r *rows) Columns() []qconnect.Column { return r.plan.cols }

// Next implements qconnect.Rows: up to the batch size of rows, converted to
// the qconnect conventions; (nil, io.EOF) at the end. The connection is
// released at the end or at the first error, before Close.
func (r *rows) Next(ctx context.Context) ([][]any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.err != nil:
		return nil, r.err
	case r.eof:
		return nil, io.EOF
	case r.conn == nil:
		return nil, internalError("duckdb: Rows.Next after Close")
	}
	if err := ctx.Err(); err != nil {
		return nil, r.fail(ctx, err)
	}
	nc := len(r.plan.cols)
	if r.batch == nil {
		r.flat = make([]any, r.size*nc)
		r.batch = make([][]any, r.size)
		for i := range r.batch {
			r.batch[i] = r.flat[i*nc : (i+1)*nc : (i+1)*nc]
		}
	}
	n := 0
	err := r.conn.Raw(func(any) error {
		for n < r.size {
			if err := r.drows.Next(r.dest); err != nil {
				return err
			}
			row := r.batch[n]
			for j, conv := range r.plan.conv {
				v := r.dest[r.plan.src[j]]
				if conv != nil {
					var err error
					if v, err = conv(v); err != nil {
						return qconnect.Errorf(qconnect.CodeAnalyticError, "method %s: column %s: %v", r.method.FullName(), r.plan.cols[j].Name, err)
					}
				}
				row[j] = v
			}
			n++
			if n%ctxCheckRows == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, io.EOF):
		r.eof = true
		r.release()
		if n == 0 {
			return nil, io.EOF
		}
	case err != nil:
		return nil, r.fail(ctx, err)
	}
	return r.batch[:n], nil
}

// fail records a translated error and releases the connection.
func (r *rows) fail(ctx context.Context, err error) error {
	r.err = r.engine.translate(ctx, r.method, err)
	r.release()
	return r.err
}

// Close implements qconnect.Rows; it is safe to call more than once.
func (r *rows) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.release()
	return nil
}

// release closes the driver rows and statement and returns the connection
// to the pool.
func (r *rows) release() {
	if r.conn == nil {
		return
	}
	if r.drows != nil || r.stmt != nil {
		_ = r.conn.Raw(func(any) error {
			if r.drows != nil {
				_ = r.drows.Close()
			}
			if r.stmt != nil {
				_ = r.stmt.Close()
			}
			return nil
		})
		r.drows, r.stmt = nil, nil
	}
	_ = r.conn.Close()
	r.conn = nil
}
