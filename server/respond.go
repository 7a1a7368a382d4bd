package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/qconnect/qconnect"
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

// writeOK writes a successful envelope with msg.
func (s *Server) writeOK(w http.ResponseWriter, rp reply, msg any) {
	s.writeEnvelope(w, http.StatusOK, protocol.Response{
		Type: protocol.ResponseType(rp.reqType), ID: rp.id, Date: protocol.FormatDate(s.cfg.Now()),
		Msg: msg, Success: true,
	})
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
	s.writeEnvelope(w, protocol.Status(e.Code), protocol.Response{
		Type: protocol.ResponseType(rp.reqType), ID: rp.id, Date: protocol.FormatDate(s.cfg.Now()),
		Msg: []any{}, Success: false, Error: protocol.WireErrorOf(e),
	})
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

// writeEnvelope writes a complete response envelope. The envelope is
// assembled by hand in wire order (type, id, date, msg, success, error) so
// that only msg and error go through encoding/json.
func (s *Server) writeEnvelope(w http.ResponseWriter, status int, resp protocol.Response) {
	body, err := appendEnvelope(make([]byte, 0, 256), resp)
	if err != nil {
		s.log.Error("encoding a response envelope", slog.Any("error", err))
		status = http.StatusInternalServerError
		body = []byte(`{"type":"ErrorResp","id":null,"date":"","msg":[],"success":false,"error":{"code":"internal","message":"internal error"}}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	noStore(h)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func appendEnvelope(b []byte, resp protocol.Response) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = protocol.AppendJSONString(b, resp.Type)
	b = append(b, `,"id":`...)
	if resp.ID == nil {
		b = append(b, "null"...)
	} else {
		b = protocol.AppendJSONString(b, *resp.ID)
	}
	b = append(b, `,"date":`...)
	b = protocol.AppendJSONString(b, resp.Date)
	msg, err := json.Marshal(resp.Msg)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"msg":`...)
	b = append(b, msg...)
	if len(resp.Meta) > 0 {
		b = append(b, `,"meta":`...)
		b = append(b, resp.Meta...)
	}
	b = strconv.AppendBool(append(b, `,"success":`...), resp.Success)
	if resp.Error != nil {
		e, err := json.Marshal(resp.Error)
		if err != nil {
			return nil, err
		}
		b = append(append(b, `,"error":`...), e...)
	}
	return append(b, '}'), nil
}

// noStore marks API responses as private and not cacheable.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
