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
	values   []protocol.VectorAppender
	started  bool
	rows     int64 // rows written, to place the commas between JSON rows
	finished bool
}

func newJSONWriter(out *sink, ndjson bool, h Header, cols []qconnect.Column) *jsonWriter {
	w := &jsonWriter{out: out, ndjson: ndjson, h: h, cols: cols, keys: protocol.JSONRowKeys(cols),
		values: make([]protocol.VectorAppender, len(cols))}
	for i, c := range cols {
		w.values[i] = protocol.SerialJSONAppender(c.Type) // the writer is used by one goroutine
	}
	return w
}

func (w *jsonWriter) start() {
	if w.started {
		return
	}
	w.started = true
	if !w.ndjson {
		w.out.buf = append(AppendMsgKey(w.out.buf, w.h), '[')
	}
}

func (w *jsonWriter) WriteBatch(b *qconnect.Batch) error {
	if ok, err := batchToWrite(w.finished, w.out, b, w.cols); !ok {
		return err
	}
	w.start()
	for r := 0; r < b.Len; r++ {
		buf := w.out.buf
		if !w.ndjson && w.rows > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		for i := range b.Cols {
			buf = append(buf, w.keys[i]...)
			buf, _ = w.values[i](buf, &b.Cols[i], r)
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

// Trailers implements Writer: JSON and NDJSON end in band.
func (w *jsonWriter) Trailers() []string { return nil }

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
		buf = AppendHead(buf, w.h)
		buf = append(buf, `,"success":`...)
		buf = append(buf, boolText(err == nil)...)
		buf = append(buf, `,"meta":`...)
		buf = appendMeta(buf, meta, w.cols)
	} else {
		buf = append(buf, `],"meta":`...)
		buf = appendMeta(buf, meta, w.cols)
		w.out.buf = append(AppendEnd(buf, err), '\n')
		return w.out.flush()
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
