package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/protocol"
)

// handleUnknown answers signed requests to paths that cannot name a method.
func (s *Server) handleUnknown(r *http.Request, a *authed) (any, error) {
	return nil, qconnect.Errorf(qconnect.CodeUnknownMethod,
		"%s names no method; methods live at /connect/api/<group>/<method> (list them with meta/methods)", r.URL.Path)
}

// handleCall runs a method (PROTOCOL 4) after authentication: method lookup,
// entitlement, parameters, limits, then the call streamed in the negotiated
// format.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request, a *authed) {
	group, name := r.PathValue("group"), r.PathValue("method")
	setRequestInfo(r, func(i *requestInfo) { i.method = group + "/" + name })
	m, params, err := s.prepareCall(a.user, group, name, a.req.Msg, false)
	if err != nil {
		s.writeError(w, r, a.rp, err)
		return
	}
	if s.overRate(w, r, a) {
		return
	}
	if m.Publish {
		s.api(func(r *http.Request, a *authed) (any, error) { return s.handlePublish(r, a, m) })(w, r, a)
		return
	}
	release, err := s.limits.acquire(a.user, s.cfg.BusyRetryAfter)
	if err != nil {
		s.writeError(w, r, a.rp, err)
		return
	}
	defer release()
	admitted, err := s.admit.acquire(r.Context())
	if err != nil {
		s.writeError(w, r, a.rp, err)
		return
	}
	defer admitted()
	s.runCall(w, r, a, m, params)
}

// prepareCall runs the method, entitlement and parameter steps of PROTOCOL
// 3.3 for a call of group/name by user; it is shared by REST and the
// WebSocket. streaming says whether the caller subscribes (WebSocket
// SubscribeReq) or calls.
func (s *Server) prepareCall(user, group, name string, msg []json.RawMessage, streaming bool) (*qconnect.Method, map[string]any, error) {
	m, ok := s.deps.Catalog.Lookup(group, name)
	if !ok {
		return nil, nil, s.unknownMethodError(user, group, name)
	}
	if m.Streaming != streaming {
		if m.Streaming {
			return nil, nil, qconnect.Errorf(qconnect.CodeUnknownMethod,
				"%s is a streaming method; subscribe to it over the WebSocket at /connect/ws (PROTOCOL 7)", m.FullName())
		}
		return nil, nil, qconnect.Errorf(qconnect.CodeUnknownMethod,
			"%s is not a streaming method; call it with ExecuteReq or over REST", m.FullName())
	}
	dir := s.deps.Users.Current()
	allowed := dir.Allowed(user, group, name)
	if m.Publish {
		allowed = dir.CanWrite(user, group, name)
	}
	if !allowed {
		return nil, nil, qconnect.Errorf(qconnect.CodeForbidden,
			"you are not entitled to %s; ask an administrator to grant it to one of your groups", m.FullName())
	}
	if m.Publish {
		return m, nil, nil // rows are validated by the publisher
	}
	params, err := qconnect.BindParams(m, msg)
	if err != nil {
		return nil, nil, err
	}
	return m, params, nil
}

// backendFor returns the backend a method is bound to.
func (s *Server) backendFor(m *qconnect.Method) (qconnect.Backend, error) {
	name := m.Backend
	if name == "" {
		name = qconnect.DefaultBackend
	}
	b, ok := s.deps.Backends[name]
	if !ok {
		return nil, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: errors.New("method " + m.FullName() + " is bound to backend " + name + ", which is not configured")}
	}
	return b, nil
}

// Limits returns the timeout and row cap that apply to m.
func (s *Server) Limits(m *qconnect.Method) (time.Duration, int64) {
	timeout, rowCap := m.Timeout, m.RowCap
	if timeout <= 0 {
		timeout = s.cfg.DefaultTimeout
	}
	if rowCap <= 0 {
		rowCap = s.cfg.DefaultRowCap
	}
	return timeout, rowCap
}

// runCall runs the backend query and streams the result. The first batch is
// fetched before the status line is written, so that failures at the start
// of a query get their own status; a failure after that is reported the
// way the format ends (PROTOCOL 4.4), which the encoder owns: the handler
// has no per-format branches. The client going away cancels the query; so
// does the gateway shutting down (EndCalls), which ends the result in band
// with unavailable.
func (s *Server) runCall(w http.ResponseWriter, r *http.Request, a *authed, m *qconnect.Method, params map[string]any) {
	start := time.Now()
	timeout, rowCap := s.Limits(m)
	ctx, cancel := s.callContext(r.Context(), timeout)
	defer cancel()
	backend, err := s.backendFor(m)
	if err != nil {
		s.writeError(w, r, a.rp, err)
		return
	}
	if err := s.settled(ctx, backend); err != nil { // read-your-writes (pipe.go)
		s.failCall(ctx, w, r, a, m, timeout, err)
		return
	}
	s.callEnds.start()
	defer s.callEnds.end()
	rows, batch, nextErr := s.queryFirst(ctx, backend, qconnect.Call{Method: m, Params: params, User: a.user, Now: a.now, Limit: rowCap + 1})
	if nextErr != nil && nextErr != io.EOF {
		s.failCall(ctx, w, r, a, m, timeout, nextErr)
		return
	}
	defer rows.Close()

	format := encode.Negotiate(r.Header.Get("Accept"))
	h := w.Header()
	rc := http.NewResponseController(w)
	cols := rows.Columns()
	// New writes nothing, so a failure here can still get its own status.
	enc, err := encode.New(format, w, encode.Header{Type: protocol.ResponseType(a.req.Type), ID: a.req.ID,
		Date: protocol.FormatDate(s.cfg.Now())}, cols, encode.Ending{
		SetTrailer: func(k, v string) { h.Set(k, v) },
		Abort: func() {
			_ = rc.Flush()
			panic(http.ErrAbortHandler) // cut the connection: PROTOCOL 4.4
		},
	})
	if err != nil {
		s.writeError(w, r, a.rp, &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
			Cause: fmt.Errorf("encoding the result of %s: %w", m.FullName(), err)})
		return
	}
	h.Set("Content-Type", format.ContentType())
	noStore(h)
	if t := enc.Trailers(); len(t) > 0 {
		h.Set("Trailer", strings.Join(t, ", "))
	}
	// Long results may take longer than the server's write timeout.
	_ = rc.SetWriteDeadline(time.Now().Add(timeout + 30*time.Second))
	w.WriteHeader(http.StatusOK)
	var count int64
	truncated := false
	var failure error
	for nextErr != io.EOF {
		if nextErr != nil {
			failure = nextErr
			break
		}
		if count+int64(batch.Len) > rowCap {
			batch = batch.Slice(0, int(rowCap-count))
			truncated = true
		}
		if batch.Len > 0 {
			werr := enc.WriteBatch(batch)
			if werr == nil {
				werr = rc.Flush()
			}
			if werr != nil {
				if ctx.Err() == nil && r.Context().Err() == nil {
					failure = werr
				} else {
					failure = ctx.Err()
				}
				break
			}
			count += int64(batch.Len)
		}
		if truncated {
			break
		}
		batch, nextErr = rows.Next(ctx)
	}
	meta := encode.Meta{Columns: cols, RowCount: count, Truncated: truncated,
		ElapsedMs: float64(time.Since(start).Microseconds()) / 1000}
	var qerr *qconnect.Error
	if failure != nil {
		if r.Context().Err() != nil {
			setRequestInfo(r, func(i *requestInfo) { i.code = "clientGone"; i.rows = count })
			return // the client went away; there is no one to tell
		}
		qerr = s.publicError(r, s.callError(ctx, m, timeout, failure))
		setRequestInfo(r, func(i *requestInfo) { i.code = string(qerr.Code) })
	}
	setRequestInfo(r, func(i *requestInfo) { i.rows = count })
	if err := enc.Finish(meta, qerr); err != nil && r.Context().Err() == nil {
		s.log.Warn("finishing a response", "method", m.FullName(), "error", err)
	}
}

// failCall answers a call that failed before its first row, unless the
// client has gone: then there is no one to answer, and the log says so.
func (s *Server) failCall(ctx context.Context, w http.ResponseWriter, r *http.Request, a *authed, m *qconnect.Method, timeout time.Duration, err error) {
	if r.Context().Err() != nil {
		setRequestInfo(r, func(i *requestInfo) { i.code = "clientGone" })
		return
	}
	s.writeError(w, r, a.rp, s.callError(ctx, m, timeout, err))
}

// callError maps a backend failure to the wire: the gateway shutting down
// is unavailable and the method's deadline is a timeout, whatever the
// backend said.
func (s *Server) callError(ctx context.Context, m *qconnect.Method, timeout time.Duration, err error) error {
	if context.Cause(ctx) == errShuttingDown {
		return &qconnect.Error{Code: qconnect.CodeUnavailable, Cause: err, RetryAfter: s.cfg.BusyRetryAfter,
			Message: "gateway shutting down; retry the call, on another gateway or once this one is back"}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &qconnect.Error{Code: qconnect.CodeTimeout, Cause: err,
			Message: m.FullName() + " ran past its timeout of " + timeout.String() + " and was cancelled; narrow the request (e.g. a shorter time range) or ask the operator for a longer timeout"}
	}
	return err
}

// errShuttingDown is the cause of the contexts of calls ended by EndCalls.
var errShuttingDown = errors.New("gateway shutting down")

// drain tracks the calls in flight, so that a shutdown can end them in
// band rather than cut them.
type drain struct {
	mu       sync.Mutex
	stopping bool
	cancels  map[*context.CancelCauseFunc]struct{}
}

// callContext is the context of a call: r's, with the call's timeout, and
// cancelled with errShuttingDown by EndCalls.
func (s *Server) callContext(parent context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	cctx, ccancel := context.WithCancelCause(parent)
	ctx, cancel := context.WithTimeout(cctx, timeout)
	d := &s.drain
	d.mu.Lock()
	if d.cancels == nil {
		d.cancels = map[*context.CancelCauseFunc]struct{}{}
	}
	key := &ccancel
	d.cancels[key] = struct{}{}
	stopping := d.stopping
	d.mu.Unlock()
	if stopping {
		ccancel(errShuttingDown)
	}
	return ctx, func() {
		cancel()
		ccancel(context.Canceled)
		d.mu.Lock()
		delete(d.cancels, key)
		d.mu.Unlock()
	}
}

// EndCalls ends every call in flight, and every call that starts after it:
// each ends in band, the way its format ends (PROTOCOL 4.4), with code
// unavailable and the message "gateway shutting down", and gets its
// request-log line. A graceful shutdown calls it when its drain timeout
// has passed, then gives the responses a moment to finish
// (http.Server.Shutdown again) before closing the connections.
func (s *Server) EndCalls() {
	d := &s.drain
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopping = true
	for c := range d.cancels {
		(*c)(errShuttingDown)
	}
}
