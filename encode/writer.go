package encode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Header holds the envelope fields of the response: written before "msg" in
// JSON and in the final line of NDJSON; CSV and Arrow do not carry them.
// An empty ID is written as null (PROTOCOL 1).
type Header struct {
	Type, ID, Date string
}

// Meta describes a finished result (PROTOCOL 4.3). When Columns is nil the
// columns given to New are written.
type Meta struct {
	Columns   []qconnect.Column `json:"columns"`
	RowCount  int64             `json:"rowCount"`
	Truncated bool              `json:"truncated"`
	ElapsedMs float64           `json:"elapsedMs"`
}

// Writer encodes one result as it streams. WriteBatch may be called any
// number of times; Finish exactly once. Memory held is bounded by one batch,
// not by the result. Each WriteBatch issues one Write on the underlying
// writer (a few for batches whose encoding exceeds 1 MiB; none for an empty
// batch). A Writer is not safe for concurrent use.
type Writer interface {
	// WriteBatch encodes rows, each with one value per column in column
	// order, typed per the qconnect package doc. A value of the wrong Go type
	// or a row of the wrong length is an error (a backend bug); the rows of
	// the batch before it may have been written, and the body stays well
	// formed so that Finish can still report the failure. If no row at all
	// had been written, nothing has been: the server may still send a plain
	// error response instead of calling Finish. Errors of the underlying
	// writer are returned, and returned again by every later call.
	WriteBatch(rows [][]any) error
	// Finish ends the body. err == nil: success. err != nil: a failure after
	// rows may have been sent, reported in the same body per PROTOCOL 4.4
	// (JSON: "success":false,"error":{...} after the rows; NDJSON: the final
	// line; CSV: the trailer "Connect-Status: error <code> <message>"; Arrow:
	// the stream is cut without its end-of-stream marker). Only err's Code,
	// Message and Details are written, never its Cause.
	Finish(meta Meta, err *qconnect.Error) error
}

// New starts a body of format f on w for a result with columns cols. It
// writes nothing yet (see the package doc). setTrailer is called by the CSV
// writer in Finish to set TrailerStatus; the server passes a func that sets
// the ResponseWriter's header after the body, which net/http sends as an HTTP
// trailer. It may be nil: other formats never call it, and a CSV body
// written without it (a file, a terminal) leaves reporting the outcome to the
// caller.
//
// New fails for an unknown format, a nil w, a column whose type is not a
// result column type of PROTOCOL 4.3, or a column name used twice.
func New(f Format, w io.Writer, h Header, cols []qconnect.Column, setTrailer func(key, value string)) (Writer, error) {
	if w == nil {
		return nil, errors.New("encode: New needs an io.Writer to write the body to")
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if !qconnect.ValidColumnType(c.Type) {
			return nil, fmt.Errorf("encode: column %q has type %q, which is not a result column type of PROTOCOL 4.3; fix its declaration in the catalog", c.Name, c.Type)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("encode: column %q appears twice in the result; give each column its own name in the catalog", c.Name)
		}
		seen[c.Name] = true
	}
	cols = append([]qconnect.Column(nil), cols...)
	out := &sink{w: w}
	switch f {
	case JSON, NDJSON:
		return newJSONWriter(out, f == NDJSON, h, cols), nil
	case CSV:
		return &csvWriter{out: out, cols: cols, setTrailer: setTrailer}, nil
	case Arrow:
		return newArrowWriter(out, cols)
	}
	return nil, fmt.Errorf("encode: unknown format %q: use json, ndjson, csv or arrow", f)
}

// flushSize is the size at which buffered output is written out in the middle
// of a batch; it bounds the memory a Writer holds for encoded output.
const flushSize = 1 << 20

var errFinished = errors.New("encode: the body is already finished; call Finish once, after the last WriteBatch")

// sink buffers the output of one batch so that it reaches the underlying
// writer in one Write. Its first write error is sticky.
type sink struct {
	w   io.Writer
	buf []byte
	err error
}

// Write buffers p, writing out when the buffer would pass flushSize; a p of
// at least flushSize bytes goes straight through. It lets the Arrow IPC
// writer, which writes every message in pieces, share the batching.
func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if len(s.buf)+len(p) > flushSize {
		if err := s.flush(); err != nil {
			return 0, err
		}
		if len(p) >= flushSize {
			if _, err := s.w.Write(p); err != nil {
				s.err = err
				return 0, err
			}
			return len(p), nil
		}
	}
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// abandon drops the row being encoded, which starts at mark, and writes the
// rows before it. When no row has been written (rows == 0) it drops
// everything, head included, so the server can still send a plain error
// response; it reports whether it did.
func (s *sink) abandon(mark int, rows int64) (nothingWritten bool) {
	if rows == 0 {
		s.buf = s.buf[:0]
		return true
	}
	s.buf = s.buf[:mark]
	s.flush()
	return false
}

// flushIfFull writes the buffer out once it holds flushSize bytes.
func (s *sink) flushIfFull() error {
	if len(s.buf) >= flushSize {
		return s.flush()
	}
	return s.err
}

// flush writes the buffered bytes, if any, in one Write.
func (s *sink) flush() error {
	if s.err != nil {
		return s.err
	}
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		s.err = err
	}
	return err
}

// fits reports whether v has a Go type that may carry a value of column
// type t (see the package doc); nil fits every type.
func fits(t qconnect.Type, v any) bool {
	if v == nil {
		return true
	}
	switch t {
	case qconnect.Boolean:
		_, ok := v.(bool)
		return ok
	case qconnect.Long, qconnect.Int, qconnect.Short:
		switch v.(type) {
		case int64, int, int32, int16:
			return true
		}
	case qconnect.Float, qconnect.Real:
		switch v.(type) {
		case float64, float32, int64, int, int32, int16:
			return true
		}
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		_, ok := v.(string)
		return ok
	case qconnect.Timestamp, qconnect.Date:
		_, ok := v.(time.Time)
		return ok
	case qconnect.Time, qconnect.Timespan:
		_, ok := v.(time.Duration)
		return ok
	case qconnect.GUID:
		_, ok := v.([16]byte)
		return ok
	}
	return false
}

// goTypeOf names the Go type the qconnect convention uses for t.
func goTypeOf(t qconnect.Type) string {
	switch t {
	case qconnect.Boolean:
		return "bool"
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return "int64"
	case qconnect.Float, qconnect.Real:
		return "float64"
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return "string"
	case qconnect.Timestamp, qconnect.Date:
		return "time.Time"
	case qconnect.Time, qconnect.Timespan:
		return "time.Duration"
	case qconnect.GUID:
		return "[16]byte"
	}
	return "nothing (unsupported column type)"
}

// wrongType is the error for a value that does not fit its column: a bug in
// the backend that produced it.
func wrongType(c qconnect.Column, v any) error {
	return fmt.Errorf("encode: column %q (%s) holds a %T value; the backend must produce %s or nil (see the qconnect package doc)", c.Name, c.Type, v, goTypeOf(c.Type))
}

// rowLengthError is the error for a row whose length is not the column count.
func rowLengthError(got, want int) error {
	return fmt.Errorf("encode: a row has %d values for %d columns; the backend must produce one value per column", got, want)
}

// appendMeta appends the meta object of PROTOCOL 4.3.
func appendMeta(dst []byte, m Meta, cols []qconnect.Column) []byte {
	if m.Columns != nil {
		cols = m.Columns
	}
	dst = append(dst, `{"columns":[`...)
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = protocol.AppendJSONString(dst, c.Name)
		dst = append(dst, `,"type":`...)
		dst = protocol.AppendJSONString(dst, string(c.Type))
		dst = append(dst, '}')
	}
	dst = append(dst, `],"rowCount":`...)
	dst = strconv.AppendInt(dst, m.RowCount, 10)
	dst = append(dst, `,"truncated":`...)
	dst = strconv.AppendBool(dst, m.Truncated)
	dst = append(dst, `,"elapsedMs":`...)
	ms := m.ElapsedMs
	if math.IsNaN(ms) || math.IsInf(ms, 0) {
		ms = 0
	}
	dst = protocol.AppendJSON(dst, qconnect.Float, ms)
	return append(dst, '}')
}

// appendError appends the error object of PROTOCOL 1; an error without a
// code is reported as internal.
func appendError(dst []byte, e *qconnect.Error) []byte {
	code := e.Code
	if code == "" {
		code = qconnect.CodeInternal
	}
	dst = append(dst, `{"code":`...)
	dst = protocol.AppendJSONString(dst, string(code))
	dst = append(dst, `,"message":`...)
	dst = protocol.AppendJSONString(dst, e.Message)
	if len(e.Details) > 0 {
		dst = append(dst, `,"details":[`...)
		for i, d := range e.Details {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = protocol.AppendJSONString(dst, d)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendValidUTF8 appends s with every byte of an invalid UTF-8 sequence
// replaced by U+FFFD, as protocol.AppendJSONString does.
func appendValidUTF8(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
