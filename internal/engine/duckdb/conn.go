package duckdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// The engine talks to DuckDB through duckdb-go-bindings, the public Go
// mapping of DuckDB's C API, and nothing else: it opens the database, keeps
// its own bounded pool of connections, prepares and binds statements,
// executes them with a streaming result, interrupts them and appends rows
// with DuckDB's appender.

// errPoolClosed is the cause of the CodeUnavailable error pool.get returns
// after close.
var errPoolClosed = errors.New("duckdb: the engine is closed")

// pool is a bounded pool of DuckDB connections of one database. Every
// connection runs setup when it is made (time zone, search path, attach).
// At most max connections exist at once; get waits for one until its
// context ends. The database is closed when the pool is closed and the last
// connection taken from it has been returned, so a Rows still open at Close
// keeps working until it is closed.
type pool struct {
	db      bindings.Database
	setup   []string
	slots   chan struct{} // one token per connection in use
	maxIdle int

	mu       sync.Mutex
	idle     []bindings.Connection
	inUse    int
	closed   bool
	waits    int64         // gets that found every connection in use
	waitTime time.Duration // their total wait
}

func newPool(db bindings.Database, setup []string, max int) *pool {
	return &pool{db: db, setup: setup, slots: make(chan struct{}, max), maxIdle: min(max, 8)}
}

// get takes a connection, making one when none is idle.
func (p *pool) get(ctx context.Context) (*conn, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		start := time.Now()
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
		p.waits++
		p.waitTime += time.Since(start)
		p.mu.Unlock()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, &qconnect.Error{Code: qconnect.CodeUnavailable, RetryAfter: time.Second, Cause: errPoolClosed,
			Message: "the DuckDB engine is closed (the gateway is shutting down); retry the call on another gateway or once it has restarted"}
	}
	p.inUse++
	var h bindings.Connection
	if n := len(p.idle); n > 0 {
		h = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()
	c := &conn{h: h, pool: p}
	if h.Ptr != nil {
		return c, nil
	}
	if bindings.Connect(p.db, &c.h) == bindings.StateError {
		c.broken = true
		c.Close()
		return nil, errors.New("duckdb: cannot connect to the database")
	}
	for _, q := range p.setup {
		if err := c.ExecContext(context.WithoutCancel(ctx), q); err != nil {
			c.broken = true
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// put returns a connection to the pool (or disconnects it).
func (p *pool) put(c *conn) {
	p.mu.Lock()
	p.inUse--
	keep := !c.broken && !p.closed && len(p.idle) < p.maxIdle && c.h.Ptr != nil
	if keep {
		p.idle = append(p.idle, c.h)
	}
	last := p.closed && p.inUse == 0
	p.mu.Unlock()
	if !keep {
		bindings.Disconnect(&c.h)
	}
	if last {
		bindings.Close(&p.db)
	}
	<-p.slots
}

// InUse is the number of connections taken and not returned.
func (p *pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// close disconnects the idle connections and closes the database once no
// connection is in use; it is safe to call more than once.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	last := p.inUse == 0
	p.mu.Unlock()
	for i := range idle {
		bindings.Disconnect(&idle[i])
	}
	if last {
		bindings.Close(&p.db)
	}
}

// conn is a connection taken from the pool. It is not safe for concurrent
// use, except interrupting it (bindings.Interrupt) from another goroutine.
type conn struct {
	h      bindings.Connection
	pool   *pool
	broken bool
	done   bool
}

// Close returns the connection to the pool; it is safe to call more than
// once.
func (c *conn) Close() error {
	if c.done {
		return nil
	}
	c.done = true
	c.pool.put(c)
	return nil
}

// arg is a statement parameter: by Name when it is set, else by Ordinal
// (1-based).
type arg struct {
	Name    string
	Ordinal int
	Value   any // as bindArg takes it (see bind.go)
}

// namedArg is a named parameter of ExecContext and queryRows.
type namedArg struct {
	name  string
	value any
}

// named is a named parameter ($name) of ExecContext and queryRows.
func named(name string, v any) namedArg { return namedArg{name, v} }

// stmt is a prepared statement of a connection.
type stmt struct {
	c  *conn
	ps bindings.PreparedStatement
}

// prepare prepares query. Errors are DuckDB's, with its error type.
func (c *conn) prepare(query string) (*stmt, error) {
	s := &stmt{c: c}
	if bindings.Prepare(c.h, query, &s.ps) == bindings.StateError {
		err := errors.New(bindings.PrepareError(s.ps))
		bindings.DestroyPrepare(&s.ps)
		return nil, err
	}
	return s, nil
}

// NumInput is the number of parameters of the statement.
func (s *stmt) NumInput() int { return int(bindings.NParams(s.ps)) }

// ParamName is the name of parameter i (1-based): "now" for $now, "1" for
// $1.
func (s *stmt) ParamName(i int) (string, error) {
	return bindings.ParameterName(s.ps, bindings.IdxT(i)), nil
}

// ParamType is the type DuckDB inferred for parameter i (1-based);
// TypeInvalid when it left it open.
func (s *stmt) ParamType(i int) (bindings.Type, error) {
	return bindings.ParamType(s.ps, bindings.IdxT(i)), nil
}

// Bind binds args with the bindings' typed bind functions.
func (s *stmt) Bind(args []arg) error {
	if bindings.ClearBindings(s.ps) == bindings.StateError {
		return errors.New(bindings.PrepareError(s.ps))
	}
	for _, a := range args {
		i := bindings.IdxT(a.Ordinal)
		if a.Name != "" {
			if bindings.BindParameterIndex(s.ps, &i, a.Name) == bindings.StateError {
				return fmt.Errorf("the statement has no parameter $%s", a.Name)
			}
		}
		if err := bindArg(s.ps, i, a.Value); err != nil {
			name := a.Name
			if name == "" {
				name = fmt.Sprint(a.Ordinal)
			}
			return fmt.Errorf("binding $%s: %w", name, err)
		}
	}
	return nil
}

// Close destroys the statement; it is safe to call more than once.
func (s *stmt) Close() error {
	bindings.DestroyPrepare(&s.ps)
	return nil
}

// argList is args as bind arguments: a namedArg by name, any other value
// by position.
func argList(args []any) []arg {
	list := make([]arg, len(args))
	for i, a := range args {
		if n, ok := a.(namedArg); ok {
			list[i] = arg{Name: n.name, Value: n.value}
		} else {
			list[i] = arg{Ordinal: i + 1, Value: a}
		}
	}
	return list
}

// bindNamed prepares query and binds args to it: a namedArg by name, any
// other value by position.
func (c *conn) bindNamed(query string, args []any) (*stmt, error) {
	s, err := c.prepare(query)
	if err != nil {
		return nil, err
	}
	list := argList(args)
	if err := s.Bind(list); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// watch interrupts the connection's statement when ctx ends, until the
// returned stop is called; stop waits for an interrupt being sent, so that
// none reaches a later statement. DuckDB resets a connection's interrupt
// flag when a statement starts, so a caller checks ctx after starting the
// statement (see startStream's callers); an interrupt sent after the start
// stays until the statement ends.
func (c *conn) watch(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	h := c.h
	s := context.AfterFunc(ctx, func() {
		defer close(fired)
		bindings.Interrupt(h)
	})
	return func() {
		if !s() {
			<-fired
			// An interrupt that was sent may still be pending on the
			// connection (DuckDB clears it when a statement starts, but
			// only one that had not started yet): do not give the
			// connection to another call.
			c.broken = true
		}
	}
}

// ExecContext runs one statement to its end, discarding any result. When
// ctx ends the statement is interrupted and ctx's error returned.
func (c *conn) ExecContext(ctx context.Context, query string, args ...any) error {
	_, err := c.exec(ctx, query, args...)
	return err
}

// exec is ExecContext, and returns the number of rows the statement
// changed (duckdb_rows_changed: inserted, updated, deleted or copied).
func (c *conn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s, err := c.bindNamed(query, args)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	stop := c.watch(ctx)
	defer stop()
	var pending bindings.PendingResult
	defer bindings.DestroyPending(&pending)
	if bindings.PendingPrepared(s.ps, &pending) == bindings.StateError {
		return 0, errors.New(bindings.PendingError(pending))
	}
	if err := ctx.Err(); err != nil { // the interrupt may have come before the start
		return 0, err
	}
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.ExecutePending(pending, &res) == bindings.StateError {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return 0, resultError(&res)
	}
	return int64(bindings.RowsChanged(&res)), nil
}

// queryRows runs a query and returns all its rows, in the columns' natural
// types (see naturalType). It is meant for small results: catalog look-ups
// and tests.
func (c *conn) queryRows(ctx context.Context, query string, args ...any) ([]qconnect.Column, [][]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s, err := c.prepare(query)
	if err != nil {
		return nil, nil, err
	}
	list := argList(args)
	stop := c.watch(ctx)
	defer stop()
	st, err := startStream(ctx, s, list)
	if err != nil {
		return nil, nil, err
	}
	defer st.close()
	plan, problems := planColumns(nil, st.cols)
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("duckdb: %v", problems)
	}
	var out [][]any
	for {
		more, err := st.advance()
		if err != nil {
			return nil, nil, err
		}
		if !more {
			return plan.cols, out, ctx.Err()
		}
		b := qconnect.NewBatch(plan.cols, st.size)
		for j, dec := range plan.dec {
			b.Cols[j].Reset(st.size)
			if err := dec(&target{v: &b.Cols[j], size: st.size}, st.vector(plan.src[j]), 0, st.size, 0); err != nil {
				return nil, nil, err
			}
		}
		b.Len = st.size
		out = append(out, b.Rows()...)
		st.pos = st.size
	}
}

// queryNames runs a query of one text column and returns its values.
func (c *conn) queryNames(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := c.queryStrings(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r[0]
	}
	return names, nil
}

// queryStrings runs a query whose columns are all VARCHAR and returns its
// rows; a NULL is "".
func (c *conn) queryStrings(ctx context.Context, query string, args ...any) ([][]string, error) {
	_, rows, err := c.queryRows(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			s, ok := v.(string)
			if !ok && v != nil {
				return nil, fmt.Errorf("duckdb: column %d is a %T, not a string", j, v)
			}
			out[i][j] = s
		}
	}
	return out, nil
}

var _ io.Closer = (*conn)(nil)
