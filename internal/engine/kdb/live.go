package kdb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// Live subscribes to a tickerplant for a streaming method whose backend is
// this connection: .u.sub[table; syms] on a connection of its own, where
// table is the method's streaming table and syms the values of the
// parameter that filters the streaming key (all syms, `, when it is not
// given). The tickerplant's reply (table; rows) is the first event, a
// LiveSnapshot (a plain tickerplant answers with an empty table, its
// schema); each (`upd; table; rows) it pushes is a LiveUpdate, rows given
// as a table or as a list of columns in the table's order.
//
// When the connection is lost the feed emits LiveReset (updates may have
// been missed), reconnects with exponential backoff and jitter, subscribes
// again and emits the new LiveSnapshot. It ends only when closed.
func (e *Engine) Live(ctx context.Context, call qconnect.Call) (qconnect.Feed, error) {
	m := call.Method
	if m.Stream == nil || m.Stream.Table == "" {
		return nil, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: fmt.Errorf("method %s has no streaming table", m.FullName())}
	}
	f := &feed{e: e, m: m, table: m.Stream.Table, syms: subSyms(m, call.Params),
		events: make(chan qconnect.LiveEvent, 16), done: make(chan struct{})}
	fctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	c, snap, err := f.subscribe(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	f.events <- qconnect.LiveEvent{Kind: qconnect.LiveSnapshot, Batch: snap}
	f.wg.Add(1)
	go f.run(fctx, c)
	return f, nil
}

// subSyms returns the syms argument of .u.sub: the list given for the
// parameter that filters the streaming key column, or ` for all.
func subSyms(m *qconnect.Method, params map[string]any) any {
	for param, col := range m.Stream.Filters {
		if col != m.Stream.Key && col != "sym" {
			continue
		}
		var syms []string
		switch x := params[param].(type) {
		case []any:
			for _, s := range x {
				if str, ok := s.(string); ok {
					syms = append(syms, str)
				}
			}
		case string:
			syms = []string{x}
		}
		if len(syms) > 0 {
			return syms
		}
	}
	return ipc.Symbol("")
}

type feed struct {
	e      *Engine
	m      *qconnect.Method
	table  string
	syms   any
	names  []string // the tickerplant table's columns, for updates given as lists
	events chan qconnect.LiveEvent
	done   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.Mutex
	conn   *ipc.Conn
}

func (f *feed) Columns() []qconnect.Column { return f.m.Columns }

func (f *feed) Next(ctx context.Context) (qconnect.LiveEvent, error) {
	select {
	case ev := <-f.events:
		return ev, nil
	case <-ctx.Done():
		return qconnect.LiveEvent{}, ctx.Err()
	case <-f.done:
		return qconnect.LiveEvent{}, &qconnect.Error{Code: qconnect.CodeUnavailable, Message: "the tickerplant subscription was closed"}
	}
}

func (f *feed) Close() error {
	f.once.Do(func() {
		close(f.done)
		f.cancel()
		f.mu.Lock()
		if f.conn != nil {
			f.conn.Close()
		}
		f.mu.Unlock()
	})
	f.wg.Wait()
	return nil
}

// subscribe dials, sends .u.sub and converts the reply to the snapshot.
func (f *feed) subscribe(ctx context.Context) (*ipc.Conn, *qconnect.Batch, error) {
	dctx, cancel := context.WithTimeout(ctx, f.e.cfg.DialTimeout)
	defer cancel()
	c, err := ipc.Dial(dctx, f.e.icfg)
	if err != nil {
		return nil, nil, f.e.pool.errUnavailable(err, f.e.cfg.BackoffMin)
	}
	reply, err := c.Call(dctx, []any{ipc.Symbol(".u.sub"), ipc.Symbol(f.table), f.syms})
	if err != nil {
		c.Close()
		return nil, nil, f.e.ctxError(dctx, ".u.sub", err)
	}
	v, err := reply.DecodeColumnar()
	if err != nil {
		c.Close()
		var qe *ipc.Error
		if errors.As(err, &qe) {
			return nil, nil, f.e.qError(".u.sub", qe)
		}
		return nil, nil, qconnect.Errorf(qconnect.CodeAnalyticError, "the reply to .u.sub cannot be decoded: %v", err)
	}
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		c.Close()
		return nil, nil, qconnect.Errorf(qconnect.CodeAnalyticError, "the tickerplant answered .u.sub[`%s;...] with %s, not (table; rows)", f.table, describe(v))
	}
	if t, ok := pair[1].(ipc.Table); ok {
		f.names = t.Columns
	}
	b, err := f.batch(pair[1])
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	return c, b, nil
}

// batch converts a table (or list of columns) of the tickerplant to a
// batch of the method's columns.
func (f *feed) batch(v any) (*qconnect.Batch, error) {
	if l, ok := v.([]any); ok && len(f.names) == len(l) { // a list of columns
		v = ipc.Table{Columns: f.names, Data: l}
	}
	names, vecs, err := shape(v, f.m.Columns)
	if err != nil {
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "tickerplant table %s: %v", f.table, err)
	}
	cols, n, err := project(f.table, f.m.Columns, names, vecs)
	if err != nil {
		return nil, err
	}
	return &qconnect.Batch{Len: n, Cols: cols}, nil
}

func (f *feed) emit(ctx context.Context, ev qconnect.LiveEvent) bool {
	select {
	case f.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// run reads updates until the connection fails, then resets and
// resubscribes, until the feed is closed.
func (f *feed) run(ctx context.Context, c *ipc.Conn) {
	defer f.wg.Done()
	for {
		for {
			m, err := c.Read(ctx)
			if err != nil {
				break
			}
			if m.Type == ipc.Response {
				continue
			}
			v, err := m.DecodeColumnar()
			if err != nil {
				continue
			}
			msg, ok := v.([]any)
			if !ok || len(msg) != 3 || msg[0] != ipc.Symbol("upd") || msg[1] != ipc.Symbol(f.table) {
				continue // not an update of our table
			}
			b, err := f.batch(msg[2])
			if err != nil || b.Len == 0 {
				continue
			}
			if !f.emit(ctx, qconnect.LiveEvent{Kind: qconnect.LiveUpdate, Batch: b}) {
				return
			}
		}
		c.Close()
		if ctx.Err() != nil {
			return
		}
		if !f.emit(ctx, qconnect.LiveEvent{Kind: qconnect.LiveReset}) {
			return
		}
		var snap *qconnect.Batch
		for attempt := 1; ; attempt++ {
			var err error
			c, snap, err = f.subscribe(ctx)
			if err == nil {
				break
			}
			t := time.NewTimer(backoff(f.e.cfg.BackoffMin, f.e.cfg.BackoffMax, attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if !f.emit(ctx, qconnect.LiveEvent{Kind: qconnect.LiveSnapshot, Batch: snap}) {
			c.Close()
			return
		}
	}
}
