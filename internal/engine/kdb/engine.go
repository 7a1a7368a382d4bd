package kdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// Engine is the backend of one named kdb+ connection.
//
// It implements qconnect.Backend, qconnect.Pinger, qconnect.Appender and
// qconnect.LiveSource.
type Engine struct {
	cfg  Config
	icfg ipc.Config
	pool *pool
	now  func() time.Time
}

// Open returns the engine of cfg (its password resolved). It does not wait
// for q: connections are dialled on demand, so the gateway starts while a q
// process is down and serves unavailable for its methods until it is up.
func Open(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	icfg, err := cfg.ipcConfig()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, icfg: icfg, now: time.Now}
	e.pool = newPool(cfg, icfg, e.now)
	return e, nil
}

// Name returns the connection's name.
func (e *Engine) Name() string { return e.cfg.Name }

// Close closes every connection.
func (e *Engine) Close() error { e.pool.close(); return nil }

// Ping reports readiness: a pooled connection to q answers a health check.
func (e *Engine) Ping(ctx context.Context) error { return e.pool.Ping(ctx) }

// Query implements qconnect.Backend (see QueryRows).
func (e *Engine) Query(ctx context.Context, call qconnect.Call) (qconnect.Rows, error) {
	r, err := e.QueryRows(ctx, call)
	if err != nil {
		return nil, err
	}
	return r, nil
}

var (
	_ qconnect.Backend    = (*Engine)(nil)
	_ qconnect.Pinger     = (*Engine)(nil)
	_ qconnect.Appender   = (*Engine)(nil)
	_ qconnect.LiveSource = (*Engine)(nil)
)

// QueryRows calls the method's function with the call's parameters and
// returns the reply as rows (see the package doc).
func (e *Engine) QueryRows(ctx context.Context, call qconnect.Call) (*Rows, error) {
	m := call.Method
	fn := m.Query
	if fn == "" {
		return nil, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: fmt.Errorf("method %s is bound to kdb backend %s but names no function", m.FullName(), e.cfg.Name)}
	}
	arg, err := argument(m, call.Params)
	if err != nil {
		return nil, err
	}
	v, err := e.call(ctx, m.FullName(), []any{ipc.Symbol(fn), arg})
	if err != nil {
		return nil, err
	}
	names, vecs, err := shape(v, m.Columns)
	if err != nil {
		var qe *ipc.Error
		if errors.As(err, &qe) {
			return nil, e.qError(fn, qe)
		}
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "the result of %s: %v", fn, err)
	}
	cols, n, err := project(fn, m.Columns, names, vecs)
	if err != nil {
		return nil, err
	}
	if call.Limit > 0 && int64(n) > call.Limit {
		n = int(call.Limit)
	}
	return &Rows{cols: m.Columns, vecs: cols, n: n, step: e.cfg.BatchRows}, nil
}

// call runs one synchronous call on a pooled connection and decodes the
// reply in columnar form. what names the call in errors.
func (e *Engine) call(ctx context.Context, what string, msg any) (any, error) {
	if e.cfg.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.cfg.CallTimeout)
		defer cancel()
	}
	c, err := e.pool.get(ctx)
	if err != nil {
		return nil, e.ctxError(ctx, what, err)
	}
	defer e.pool.put(c)
	reply, err := c.Call(ctx, msg)
	if err != nil {
		return nil, e.ctxError(ctx, what, err)
	}
	v, err := reply.DecodeColumnar()
	if err != nil {
		var qe *ipc.Error
		if errors.As(err, &qe) {
			return nil, e.qError(what, qe)
		}
		return nil, qconnect.Errorf(qconnect.CodeAnalyticError, "the reply of kdb+ %s to %s cannot be decoded: %v", e.cfg.Name, what, err)
	}
	return v, nil
}

// cancelled is the error of a call whose context was cancelled (client
// gone, server shutting down): CodeTimeout with context.Canceled as Cause,
// as every backend reports it (engine/enginetest), so errors.Is tells a
// caller that nobody waits for the answer.
func cancelled(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &qconnect.Error{Code: qconnect.CodeTimeout, Cause: err,
			Message: "the call ran past its timeout; narrow it or ask for a larger timeout"}
	}
	return &qconnect.Error{Code: qconnect.CodeTimeout, Cause: err,
		Message: "the call was cancelled before its result was sent"}
}

func (e *Engine) qError(fn string, qe *ipc.Error) error {
	return &qconnect.Error{Code: qconnect.CodeAnalyticError, Message: fmt.Sprintf("q error from %s: '%s", fn, qe.Msg)}
}

// ctxError maps transport errors to wire codes.
func (e *Engine) ctxError(ctx context.Context, what string, err error) error {
	var qerr *qconnect.Error
	if errors.As(err, &qerr) {
		return qerr
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &qconnect.Error{Code: qconnect.CodeTimeout, Cause: err,
				Message: what + " exceeded its timeout; q cannot cancel a call, so the connection was closed and will be replaced"}
		}
		return cancelled(ctx.Err())
	}
	var tl *ipc.TooLargeError
	if errors.As(err, &tl) {
		return &qconnect.Error{Code: qconnect.CodeAnalyticError, Cause: err,
			Message: fmt.Sprintf("the reply of kdb+ %s to %s is larger than its maxMessage (%d bytes); narrow the call or raise maxMessage", e.cfg.Name, what, tl.Max)}
	}
	return e.pool.errUnavailable(err, time.Second)
}
