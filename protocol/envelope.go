package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
)

// Request is a parsed request envelope (PROTOCOL 1).
type Request struct {
	Type string
	ID   string
	Date string
	// Msg holds the elements of the msg array, undecoded.
	Msg []json.RawMessage
}

// maxDepth bounds the nesting of a request body, so that hostile input
// cannot exhaust the stack.
const maxDepth = 64

// ParseRequest parses and checks a request envelope. The body must be one
// JSON object without duplicate keys at any depth, with "type" (1–64
// characters), "id" (1–128 printable ASCII characters), "date" (a string;
// its format is checked by ParseDate where the clock is checked) and "msg"
// (an array). Unknown keys are ignored.
//
// On failure it returns a *qconnect.Error with CodeBadRequest, and a Request
// whose ID is set if the id could be read, so the error response can echo it.
func ParseRequest(body []byte) (*Request, error) {
	req := &Request{}
	if !utf8.Valid(body) {
		return req, badRequest("the body is not valid UTF-8")
	}
	scan, err := scanEnvelope(body)
	if err != nil {
		return req, err
	}
	sc := &scanner{data: body}
	// strField decodes a top-level string value; ok is false if it is absent
	// or not a string.
	strField := func(key string) (string, bool, bool) {
		sp, present := scan.fields[key]
		if !present {
			return "", false, false
		}
		if body[sp.start] != '"' {
			return "", true, false
		}
		inner := strSpan{span: span{sp.start + 1, sp.end - 1}}
		for _, c := range body[inner.start:inner.end] {
			if c == '\\' {
				inner.escaped = true
				break
			}
		}
		return sc.text(inner), true, true
	}
	// Read the id first so that later failures can echo it.
	if id, _, ok := strField("id"); ok && validID(id) {
		req.ID = id
	}
	var problems []string
	str := func(key string, max int, dst *string) {
		v, present, ok := strField(key)
		if !present {
			problems = append(problems, fmt.Sprintf("%q is required", key))
			return
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("%q must be a string", key))
			return
		}
		*dst = v
		if n := utf8.RuneCountInString(v); n == 0 || n > max {
			problems = append(problems, fmt.Sprintf("%q must have 1 to %d characters", key, max))
		}
	}
	str("type", 64, &req.Type)
	var id string
	str("id", 128, &id)
	if id != "" && !validID(id) {
		problems = append(problems, `"id" must be printable ASCII (a UUID is recommended)`)
	}
	str("date", 64, &req.Date)
	if _, ok := scan.fields["msg"]; !ok {
		problems = append(problems, `"msg" is required (use [] when there is nothing to send)`)
	} else if scan.msg == nil {
		problems = append(problems, `"msg" must be an array`)
	} else {
		req.Msg = make([]json.RawMessage, len(scan.msg))
		for i, sp := range scan.msg {
			req.Msg[i] = json.RawMessage(body[sp.start:sp.end])
		}
	}
	if len(problems) > 0 {
		e := badRequest("the request envelope is invalid: " + strings.Join(problems, "; "))
		e.Details = problems
		return req, e
	}
	return req, nil
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func badRequest(msg string) *qconnect.Error {
	return &qconnect.Error{Code: qconnect.CodeBadRequest, Message: msg}
}

var errSyntax = badRequest("the body is not valid JSON")

// ResponseType returns the response type for a request type: a trailing
// "Req" is replaced by "Resp", otherwise "Resp" is appended.
func ResponseType(reqType string) string {
	if reqType == "" {
		return "ErrorResp"
	}
	if strings.HasSuffix(reqType, "Req") {
		return strings.TrimSuffix(reqType, "Req") + "Resp"
	}
	return reqType + "Resp"
}

// WireError is the error object of a failed response.
type WireError struct {
	Code    qconnect.Code `json:"code"`
	Message string        `json:"message"`
	Details []string      `json:"details,omitempty"`
}

// Response is a complete (non-streamed) response envelope. Field order is
// the wire order: msg is written before meta, success and error.
type Response struct {
	Type    string          `json:"type"`
	ID      *string         `json:"id"`
	Date    string          `json:"date"`
	Msg     any             `json:"msg"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Success bool            `json:"success"`
	Error   *WireError      `json:"error,omitempty"`
}

// WireErrorOf converts an error to its wire form; foreign errors become
// internal with a generic message.
func WireErrorOf(err error) *WireError {
	e := qconnect.AsError(err)
	if e == nil {
		return nil
	}
	return &WireError{Code: e.Code, Message: e.Message, Details: e.Details}
}

// AsQError converts a wire error back to the domain error.
func (w *WireError) AsQError() *qconnect.Error {
	if w == nil {
		return nil
	}
	return &qconnect.Error{Code: w.Code, Message: w.Message, Details: w.Details}
}

// ErrNotEnvelope is returned by ParseResponse for bodies that are not a
// response envelope.
var ErrNotEnvelope = errors.New("the response is not a Connect envelope")
