package encode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
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
//
// Each format owns how it ends (PROTOCOL 4.4), so that its caller has no
// per-format branches: the caller declares Trailers before the status
// line, and calls Finish with the outcome.
type Writer interface {
	// WriteBatch encodes the rows of b, whose vectors must match the
	// columns given to New (count and types): a mismatch is an error (a
	// backend bug) and nothing of b is written. Errors of the underlying
	// writer are returned, and returned again by every later call.
	WriteBatch(b *qconnect.Batch) error
	// Trailers names the HTTP trailers Finish may set (nil for formats
	// that end in band). An HTTP server declares them in the Trailer
	// header before writing the status line.
	Trailers() []string
	// Finish ends the body. err == nil: success. err != nil: a failure after
	// rows may have been sent, reported per PROTOCOL 4.4: JSON, the
	// "success":false,"error":{...} after the rows; NDJSON, the final line;
	// CSV, the trailer "Connect-Status: error <code> <message>"; Arrow, the
	// trailers too, and the stream is cut: a lone continuation marker
	// without the end-of-stream marker, then Ending.Abort. Only err's Code,
	// Message and Details are written, never its Cause.
	Finish(meta Meta, err *qconnect.Error) error
}

// Ending is how a body reaches its reader beyond its bytes. Every field
// may be nil (a file, a terminal: the caller reports the outcome itself).
type Ending struct {
	// SetTrailer sets an HTTP trailer (CSV and Arrow set TrailerStatus and
	// TrailerMeta in Finish). An HTTP server passes a func that sets the
	// ResponseWriter's header after the body, which net/http sends as a
	// trailer.
	SetTrailer func(key, value string)
	// Abort cuts the connection after a failed Arrow stream, so that no
	// reader can take it for a whole one; an HTTP handler flushes and
	// panics with http.ErrAbortHandler. It does not return normally.
	Abort func()
	// Field, when set, rewrites each string field of a CSV body before it
	// is written (the CLI's spreadsheet-formula neutralisation hooks in
	// here); quote true forces the field to be quoted. It must not keep or
	// modify its argument.
	Field func(s []byte) (out []byte, quote bool)
}

// TrailerMeta is the HTTP trailer carrying the result's meta object
// (PROTOCOL 4.3) as JSON, for CSV and Arrow.
const TrailerMeta = "Connect-Meta"

var trailerNames = []string{TrailerStatus, TrailerMeta}

// setTrailers sets TrailerStatus and TrailerMeta, when the Ending can.
func (e Ending) setTrailers(meta Meta, cols []qconnect.Column, err *qconnect.Error) {
	if e.SetTrailer == nil {
		return
	}
	e.SetTrailer(TrailerStatus, StatusValue(err))
	e.SetTrailer(TrailerMeta, string(appendMeta(nil, meta, cols)))
}

// New starts a body of format f on w for a result with columns cols. It
// writes nothing yet (see the package doc).
//
// New fails for an unknown format, a nil w, a column whose type is not a
// result column type of PROTOCOL 4.3, or a column name used twice.
func New(f Format, w io.Writer, h Header, cols []qconnect.Column, end Ending) (Writer, error) {
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
		return newCSVWriter(out, cols, end), nil
	case Arrow:
		return newArrowWriter(out, cols, end)
	}
	return nil, fmt.Errorf("encode: unknown format %q: use json, ndjson, csv or arrow", f)
}

// batchToWrite is the common start of every WriteBatch: it reports whether
// b has rows to write, and otherwise the error that stops it (nil for an
// empty batch): errFinished after Finish, the sink's sticky write error, or
// a batch that does not match the columns.
func batchToWrite(finished bool, out *sink, b *qconnect.Batch, cols []qconnect.Column) (bool, error) {
	if finished {
		return false, errFinished
	}
	if out.err != nil {
		return false, out.err
	}
	if err := checkBatch(b, cols); err != nil {
		return false, err
	}
	return b.Len > 0, nil
}

// checkBatch checks that b has one vector of the right storage, and of
// b.Len values, per column.
func checkBatch(b *qconnect.Batch, cols []qconnect.Column) error {
	if b == nil {
		return nil
	}
	if len(b.Cols) != len(cols) {
		return fmt.Errorf("encode: a batch has %d vectors for %d columns; the backend must produce one vector per column", len(b.Cols), len(cols))
	}
	for i := range b.Cols {
		v := &b.Cols[i]
		if v.Type.Storage() != cols[i].Type.Storage() || v.Len() < b.Len || v.Valid != nil && len(v.Valid)*64 < b.Len {
			return fmt.Errorf("encode: column %q (%s) got a vector of type %s and %d values for %d rows; the backend must fill each vector as Type.Storage says", cols[i].Name, cols[i].Type, v.Type, v.Len(), b.Len)
		}
	}
	return nil
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
