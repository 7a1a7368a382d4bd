package stream

import (
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// Batch is one update of an upstream: rows in the streaming method's column
// order and their JSON, encoded once and shared by every subscription of the
// upstream. A Batch and its slices are immutable.
type Batch struct {
	// Kind says which frame the batch makes; the zero value is an update.
	Kind    Kind
	Columns []qconnect.Column
	Rows    [][]any
	// JSON is Rows as a JSON array of row objects (PROTOCOL 4.3), ready to
	// be the msg of an UpdateMsg.
	JSON []byte
	// Time is when the hub made the batch (the publish, or the end of a
	// conflation interval).
	Time time.Time
	// Date is Time in the envelope's date format (protocol.DateFormat),
	// formatted once for every subscriber; "" when not set.
	Date string
}

// Kind is what a Batch tells a subscriber.
type Kind uint8

// The kinds of Batch. Only updates are numbered by seq.
const (
	// KindUpdate: new rows (UpdateMsg), numbered by seq.
	KindUpdate Kind = iota
	// KindSnapshot: a live source's state, sent after the start or to a
	// subscriber joining a live upstream (SnapshotMsg); the rows replace
	// what the subscriber holds.
	KindSnapshot
	// KindReset: the live source lost continuity (updates may have been
	// missed): SnapshotMsg with "reset": true (PROTOCOL appendix 27). The
	// rows are those known since; a KindSnapshot may follow.
	KindReset
)

// RowEncoder writes rows of fixed columns as JSON objects (PROTOCOL 4.3),
// keys in column order. It is safe for concurrent use.
type RowEncoder struct {
	cols []qconnect.Column
	keys [][]byte // `"name":` per column, with a leading ',' after the first
	vals []protocol.VectorAppender
}

// NewRowEncoder returns an encoder for rows of cols.
func NewRowEncoder(cols []qconnect.Column) *RowEncoder {
	e := &RowEncoder{cols: cols, keys: protocol.JSONRowKeys(cols), vals: make([]protocol.VectorAppender, len(cols))}
	for i, c := range cols {
		e.vals[i] = protocol.JSONAppender(c.Type)
	}
	return e
}

// Columns are the encoder's columns.
func (e *RowEncoder) Columns() []qconnect.Column { return e.cols }

// AppendRow appends row as a JSON object. A row shorter than the columns
// has nulls for the missing values.
func (e *RowEncoder) AppendRow(dst []byte, row []any) []byte {
	dst = append(dst, '{')
	for i, c := range e.cols {
		dst = append(dst, e.keys[i]...)
		var v any
		if i < len(row) {
			v = row[i]
		}
		dst = protocol.AppendJSON(dst, c.Type, v)
	}
	return append(dst, '}')
}

// AppendBatchRow appends row r of b, whose vectors are in the encoder's
// column order, as a JSON object.
func (e *RowEncoder) AppendBatchRow(dst []byte, b *qconnect.Batch, r int) []byte {
	dst = append(dst, '{')
	for i := range e.cols {
		dst = append(dst, e.keys[i]...)
		dst, _ = e.vals[i](dst, &b.Cols[i], r)
	}
	return append(dst, '}')
}

// batches encodes rows into batches whose JSON is at most max bytes. A
// single row whose JSON alone is longer gets a batch of its own: a row is
// never split.
func (e *RowEncoder) batches(rows [][]any, max int, now time.Time) []*Batch {
	var out []*Batch
	date := protocol.FormatDate(now)
	buf := make([]byte, 0, min(max, 64<<10))
	buf = append(buf, '[')
	start := 0
	var row []byte
	for i, r := range rows {
		row = e.AppendRow(row[:0], r)
		if i > start && len(buf)+1+len(row)+1 > max {
			out = append(out, &Batch{Columns: e.cols, Rows: rows[start:i:i], JSON: append(buf, ']'), Time: now, Date: date})
			buf = make([]byte, 0, min(max, 64<<10))
			buf = append(buf, '[')
			start = i
		}
		if i > start {
			buf = append(buf, ',')
		}
		buf = append(buf, row...)
	}
	if len(rows) > start {
		out = append(out, &Batch{Columns: e.cols, Rows: rows[start:], JSON: append(buf, ']'), Time: now, Date: date})
	}
	return out
}
