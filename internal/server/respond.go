package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/internal/encode"
	"github.com/qconnect/qconnect/protocol"
)

// reply is what a handler hands to respond: the envelope's type and id and
// either a result or an error.
type reply struct {
	reqType string  // the request type, "" when it could not be read
	id      *string // the request id, nil when it could not be read
}

func idPtr(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

// nowDate is protocol.FormatDate(s.cfg.Now()), formatted once per second.
func (s *Server) nowDate() string {
	now := s.cfg.Now()
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &dateNow{sec: sec, s: protocol.FormatDate(now)}
	s.date.Store(d)
	return d.s
}

// dateNow is one second's envelope date.
type dateNow struct {
	sec int64
	s   string
}

// header is the envelope head of rp at the server's clock.
func (s *Server) header(rp reply) encode.Header {
	h := encode.Header{Type: protocol.ResponseType(rp.reqType), Date: s.nowDate()}
	if rp.id != nil {
		h.ID = *rp.id
	}
	return h
}

// api adapts a handler that returns a result (the envelope's msg) or an
// error, the way Prometheus's API handlers do: the adapter writes the
// envelope, so handlers do not.
func (s *Server) api(h func(r *http.Request, a *authed) (any, error)) func(http.ResponseWriter, *http.Request, *authed) {
	return func(w http.ResponseWriter, r *http.Request, a *authed) {
		msg, err := h(r, a)
		if err != nil {
			s.writeError(w, r, a.rp, err)
			return
		}
		s.writeOK(w, a.rp, msg)
	}
}

// writeOK writes a successful envelope with msg.
func (s *Server) writeOK(w http.ResponseWriter, rp reply, msg any) {
	s.writeEnvelope(w, http.StatusOK, s.header(rp), msg, nil)
}

// writeError writes a failed envelope with the status of the error's code,
// and Retry-After where the error carries one. An internal error gets a
// reference that is written to the log together with its cause, so the
// client can quote it and the operator can find it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, rp reply, err error) {
	e := s.publicError(r, err)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	setRequestInfo(r, func(i *requestInfo) { i.code = string(e.Code) })
	s.writeEnvelope(w, protocol.Status(e.Code), s.header(rp), []any{}, e)
}

// publicError converts err into the error sent to the client. Internal
// errors are logged with a fresh reference and replaced by a message that
// carries only that reference.
func (s *Server) publicError(r *http.Request, err error) *qconnect.Error {
	e := qconnect.AsError(err)
	if e.Code != qconnect.CodeInternal {
		return e
	}
	ref := newRef()
	s.log.Error("internal error", slog.String("ref", ref), slog.String("path", r.URL.Path), slog.Any("error", err))
	return &qconnect.Error{Code: qconnect.CodeInternal,
		Message: "internal error (reference " + ref + "); the gateway's operator can find the cause in the server log under this reference"}
}

func retrySeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "r-" + hex.EncodeToString(b[:])
}

// writeEnvelope writes a complete response envelope (encode.AppendEnvelope).
func (s *Server) writeEnvelope(w http.ResponseWriter, status int, h encode.Header, msg any, e *qconnect.Error) {
	body, err := encode.AppendEnvelope(make([]byte, 0, 256), h, msg, nil, e)
	if err != nil {
		s.log.Error("encoding a response envelope", slog.Any("error", err))
		status = http.StatusInternalServerError
		body, _ = encode.AppendEnvelope(body[:0], encode.Header{Type: "ErrorResp"}, nil, nil,
			&qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error"})
	}
	body = append(body, '\n')
	hd := w.Header()
	hd["Content-Type"] = hdrJSON
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	noStore(hd)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Shared header values, set by assignment (canonical keys) rather than
// Header.Set, which allocates a slice per call. net/http only reads them.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoSniff = []string{"nosniff"}
)

// noStore marks API responses as private and not cacheable.
func noStore(h http.Header) {
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNoSniff
}
