package encode

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// csvWriter writes RFC 4180 CSV (PROTOCOL 4.4): CRLF line endings, a header
// row of column names, values in their PROTOCOL 4.3 text form. A null is an
// empty field and an empty string the quoted empty field "" (as in
// PostgreSQL's CSV format), so a reader that cares can tell them apart;
// readers that do not (encoding/csv) see "" for both. In a one-column table a
// null is written as "" too, because a blank line would be skipped by most
// readers and lose the row.
type csvWriter struct {
	out      *sink
	cols     []qconnect.Column
	end      Ending
	values   []protocol.VectorAppender
	started  bool
	rows     int64 // rows written
	finished bool
}

func (w *csvWriter) start() {
	if w.started {
		return
	}
	w.started = true
	buf := w.out.buf
	for i, c := range w.cols {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCSVString(buf, c.Name)
	}
	w.out.buf = append(buf, '\r', '\n')
}

func newCSVWriter(out *sink, cols []qconnect.Column, end Ending) *csvWriter {
	w := &csvWriter{out: out, cols: cols, end: end, values: make([]protocol.VectorAppender, len(cols))}
	for i, c := range cols {
		if c.Type.Storage() != qconnect.StorageBytes {
			// The text forms of the other types hold no comma, quote, CR
			// or LF, so they are never quoted. The writer is used by one
			// goroutine.
			w.values[i] = protocol.SerialTextAppender(c.Type)
		}
	}
	return w
}

func (w *csvWriter) WriteBatch(b *qconnect.Batch) error {
	if ok, err := batchToWrite(w.finished, w.out, b, w.cols); !ok {
		return err
	}
	w.start()
	single := len(w.cols) == 1
	for r := 0; r < b.Len; r++ {
		buf := w.out.buf
		for i := range b.Cols {
			if i > 0 {
				buf = append(buf, ',')
			}
			v := &b.Cols[i]
			if w.values[i] == nil {
				if !v.IsNull(r) {
					buf = w.appendField(buf, v.Bytes(r))
				} else if single {
					buf = append(buf, '"', '"')
				}
				continue
			}
			var notNull bool
			buf, notNull = w.values[i](buf, v, r)
			if !notNull && single {
				buf = append(buf, '"', '"')
			}
		}
		w.out.buf = append(buf, '\r', '\n')
		w.rows++
		if err := w.out.flushIfFull(); err != nil {
			return err
		}
	}
	return w.out.flush()
}

// appendField appends a string value as one CSV field, through the
// Ending's Field hook when there is one.
func (w *csvWriter) appendField(dst, s []byte) []byte {
	if w.end.Field != nil {
		var quote bool
		if s, quote = w.end.Field(s); quote {
			return appendQuotedCSV(dst, string(s))
		}
	}
	return appendCSVBytes(dst, s)
}

// appendQuotedCSV appends s as one quoted CSV field, quotes doubled.
func appendQuotedCSV(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendValidUTF8(dst, strings.ReplaceAll(s, `"`, `""`))
	return append(dst, '"')
}

// Finish writes the header row if no row was written, then sets the
// TrailerStatus and TrailerMeta trailers through the Ending (when it has
// SetTrailer).
func (w *csvWriter) Finish(meta Meta, err *qconnect.Error) error {
	if w.finished {
		return errFinished
	}
	w.finished = true
	if w.out.err == nil {
		w.start()
	}
	ferr := w.out.flush()
	w.end.setTrailers(meta, w.cols, err)
	return ferr
}

// Trailers implements Writer.
func (w *csvWriter) Trailers() []string { return trailerNames }

// appendCSVBytes is appendCSVString for bytes.
func appendCSVBytes(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, '"', '"')
	}
	for _, c := range s {
		if c == '"' || c == ',' || c == '\r' || c == '\n' || c >= 0x80 {
			return appendCSVString(dst, string(s))
		}
	}
	return append(dst, s...)
}

// appendCSVString appends s as one CSV field: quoted when it holds a quote,
// comma, CR or LF (quotes doubled), "" when empty, invalid UTF-8 replaced.
func appendCSVString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '"', '"')
	}
	if !strings.ContainsAny(s, "\",\r\n") {
		return appendValidUTF8(dst, s)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = appendValidUTF8(dst, s[:i+1])
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = appendValidUTF8(dst, s)
	return append(dst, '"')
}

// maxStatusMessage bounds the message in the TrailerStatus value, in bytes.
const maxStatusMessage = 512

// StatusValue is the TrailerStatus value: "ok", or "error <code> <message>"
// with the message made safe for an HTTP field value.
func StatusValue(err *qconnect.Error) string {
	if err == nil {
		return "ok"
	}
	code := err.Code
	if code == "" {
		code = qconnect.CodeInternal
	}
	v := "error " + headerSafe(string(code), 64)
	if msg := headerSafe(err.Message, maxStatusMessage); msg != "" {
		v += " " + msg
	}
	return v
}

// headerSafe makes s a valid HTTP field value of at most max bytes: control
// characters (C0, DEL, C1, line and paragraph separators) and invalid UTF-8
// become spaces, runs of white space collapse to one space, the ends are
// trimmed, and a longer value is cut at a character boundary and ends in
// "...". Other non-ASCII characters are kept as UTF-8 (obs-text, RFC 9110
// section 5.5).
func headerSafe(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	space := true // drops leading white space
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 || unicode.IsControl(r) || unicode.IsSpace(r) ||
			r == '\u2028' || r == '\u2029' {
			if !space {
				b = append(b, ' ')
				space = true
			}
			continue
		}
		if len(b)+size > max {
			for len(b) > 0 && (len(b)+3 > max || b[len(b)-1] == ' ') {
				_, n := utf8.DecodeLastRune(b)
				b = b[:len(b)-n]
			}
			return string(append(b, "..."...))
		}
		b = utf8.AppendRune(b, r)
		space = false
	}
	return strings.TrimRight(string(b), " ")
}
