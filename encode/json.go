package encode

import (
	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// jsonWriter writes the JSON envelope (PROTOCOL 4.3) or, with ndjson set,
// one row object per line and a final envelope line (PROTOCOL 4.4).
type jsonWriter struct {
	out      *sink
	ndjson   bool
	h        Header
	cols     []qconnect.Column
	keys     [][]byte // per column: the escaped name and ':', with a leading ',' after the first
	started  bool
	rows     int64 // rows written, to place the commas between JSON rows
	finished bool
}

func newJSONWriter(out *sink, ndjson bool, h Header, cols []qconnect.Column) *jsonWriter {
	w := &jsonWriter{out: out, ndjson: ndjson, h: h, cols: cols, keys: make([][]byte, len(cols))}
	for i, c := range cols {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = protocol.AppendJSONString(k, c.Name)
		w.keys[i] = append(k, ':')
	}
	return w
}

// appendEnvelopeStart appends "type", "id" and "date" with their values.
func (w *jsonWriter) appendEnvelopeStart(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = protocol.AppendJSONString(dst, w.h.Type)
	dst = append(dst, `,"id":`...)
	if w.h.ID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = protocol.AppendJSONString(dst, w.h.ID)
	}
	dst = append(dst, `,"date":`...)
	return protocol.AppendJSONString(dst, w.h.Date)
}

func (w *jsonWriter) start() {
	if w.started {
		return
	}
	w.started = true
	if !w.ndjson {
		w.out.buf = w.appendEnvelopeStart(w.out.buf)
		w.out.buf = append(w.out.buf, `,"msg":[`...)
	}
}

func (w *jsonWriter) WriteBatch(rows [][]any) error {
	if w.finished {
		return errFinished
	}
	if w.out.err != nil {
		return w.out.err
	}
	if len(rows) == 0 {
		return nil
	}
	w.start()
	for _, row := range rows {
		if len(row) != len(w.cols) {
			w.abandon(len(w.out.buf))
			return rowLengthError(len(row), len(w.cols))
		}
		mark := len(w.out.buf)
		buf := w.out.buf
		if !w.ndjson && w.rows > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for i, v := range row {
			c := w.cols[i]
			if !fits(c.Type, v) {
				w.out.buf = buf
				w.abandon(mark)
				return wrongType(c, v)
			}
			buf = append(buf, w.keys[i]...)
			buf = protocol.AppendJSON(buf, c.Type, v)
		}
		buf = append(buf, '}')
		if w.ndjson {
			buf = append(buf, '\n')
		}
		w.out.buf = buf
		w.rows++
		if err := w.out.flushIfFull(); err != nil {
			return err
		}
	}
	return w.out.flush()
}

// abandon drops the row being encoded (see sink.abandon); before the first
// row the head is not written either.
func (w *jsonWriter) abandon(mark int) {
	if w.out.abandon(mark, w.rows) {
		w.started = false
	}
}

func (w *jsonWriter) Finish(meta Meta, err *qconnect.Error) error {
	if w.finished {
		return errFinished
	}
	w.finished = true
	if w.out.err != nil {
		return w.out.err
	}
	w.start()
	buf := w.out.buf
	if w.ndjson {
		buf = w.appendEnvelopeStart(buf)
		buf = append(buf, `,"success":`...)
		buf = append(buf, boolText(err == nil)...)
		buf = append(buf, `,"meta":`...)
		buf = appendMeta(buf, meta, w.cols)
	} else {
		buf = append(buf, `],"meta":`...)
		buf = appendMeta(buf, meta, w.cols)
		buf = append(buf, `,"success":`...)
		buf = append(buf, boolText(err == nil)...)
	}
	if err != nil {
		buf = append(buf, `,"error":`...)
		buf = appendError(buf, err)
	}
	w.out.buf = append(buf, '}', '\n')
	return w.out.flush()
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
