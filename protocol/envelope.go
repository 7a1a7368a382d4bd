package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	if err := checkJSON(body); err != nil {
		return req, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return req, badRequest("the body must be one JSON object (the request envelope)")
	}
	// Read the id first so that later failures can echo it.
	if raw, ok := top["id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) == nil && validID(id) {
			req.ID = id
		}
	}
	var problems []string
	str := func(key string, max int, dst *string) {
		raw, ok := top[key]
		if !ok {
			problems = append(problems, fmt.Sprintf("%q is required", key))
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil || raw[0] != '"' {
			problems = append(problems, fmt.Sprintf("%q must be a string", key))
			return
		}
		if n := utf8.RuneCountInString(*dst); n == 0 || n > max {
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
	if raw, ok := top["msg"]; !ok {
		problems = append(problems, `"msg" is required (use [] when there is nothing to send)`)
	} else if raw[0] != '[' {
		problems = append(problems, `"msg" must be an array`)
	} else if err := json.Unmarshal(raw, &req.Msg); err != nil {
		problems = append(problems, `"msg" must be an array`)
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

// checkJSON verifies that body is exactly one JSON object, nested no deeper
// than maxDepth, with no duplicate key in any object.
func checkJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return badRequest("the body must be one JSON object (the request envelope)")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badRequest("the body must be one JSON object (the request envelope)")
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body must hold exactly one JSON object, with nothing after it")
	}
	return nil
}

var errSyntax = badRequest("the body is not valid JSON")

func walkObject(dec *json.Decoder, depth int) error {
	if depth > maxDepth {
		return badRequest(fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
	}
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return errSyntax
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return errSyntax
		}
		if seen[key] {
			return badRequest(fmt.Sprintf("duplicate key %q in a JSON object; send each key once", key))
		}
		seen[key] = true
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
}

func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return errSyntax
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		return walkObject(dec, depth+1)
	case '[':
		if depth+1 > maxDepth {
			return badRequest(fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
		}
		for dec.More() {
			if err := walkValue(dec, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errSyntax
		}
		return nil
	}
	return errSyntax
}

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
