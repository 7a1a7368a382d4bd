package encode

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qconnect/qconnect"
)

// Arrow field metadata written by the Arrow writer.
const (
	// MetaConnectType is the field metadata key holding the declared
	// PROTOCOL 4.3 column type ("symbol", "timespan", ...), so a client can
	// tell a symbol from a string and round-trip the declaration.
	MetaConnectType = "connect.type"
	// extensionName marks guid columns as the canonical arrow.uuid extension
	// type (storage FixedSizeBinary(16)); readers that know it (pyarrow 18+,
	// arrow-go with arrow/extensions) see a UUID column, others the bytes.
	extensionName     = "ARROW:extension:name"
	extensionMetadata = "ARROW:extension:metadata"
	uuidExtension     = "arrow.uuid"
)

// arrowType maps a column type to its Arrow type (see the package doc).
func arrowType(t qconnect.Type) (arrow.DataType, error) {
	switch t {
	case qconnect.Boolean:
		return arrow.FixedWidthTypes.Boolean, nil
	case qconnect.Long, qconnect.Int, qconnect.Short:
		return arrow.PrimitiveTypes.Int64, nil
	case qconnect.Float, qconnect.Real:
		return arrow.PrimitiveTypes.Float64, nil
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		return arrow.BinaryTypes.String, nil
	case qconnect.Timestamp:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, nil
	case qconnect.Date:
		return arrow.FixedWidthTypes.Date32, nil
	case qconnect.Time:
		return arrow.FixedWidthTypes.Time32ms, nil
	case qconnect.Timespan:
		return arrow.FixedWidthTypes.Duration_ns, nil
	case qconnect.GUID:
		return &arrow.FixedSizeBinaryType{ByteWidth: 16}, nil
	}
	return nil, fmt.Errorf("encode: column type %q has no Arrow form; fix the column's declaration in the catalog", t)
}

// arrowSchema is the schema of a result: one nullable field per column,
// each with MetaConnectType (and the uuid extension for guid).
func arrowSchema(cols []qconnect.Column) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		dt, err := arrowType(c.Type)
		if err != nil {
			return nil, err
		}
		md := arrow.NewMetadata([]string{MetaConnectType}, []string{string(c.Type)})
		if c.Type == qconnect.GUID {
			md = arrow.NewMetadata(
				[]string{MetaConnectType, extensionName, extensionMetadata},
				[]string{string(c.Type), uuidExtension, ""})
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt, Nullable: true, Metadata: md}
	}
	return arrow.NewSchema(fields, nil), nil
}

// arrowWriter writes an Arrow IPC stream: the schema, then one record batch
// per non-empty WriteBatch.
type arrowWriter struct {
	out      *sink
	ipc      *ipc.Writer
	rb       *array.RecordBuilder
	cols     []qconnect.Column
	appends  []func(v any) error // per column: append v to the column's builder
	scratch  []byte              // for strings with invalid UTF-8
	finished bool
}

func newArrowWriter(out *sink, cols []qconnect.Column) (*arrowWriter, error) {
	schema, err := arrowSchema(cols)
	if err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	w := &arrowWriter{
		out:     out,
		ipc:     ipc.NewWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(mem)),
		rb:      array.NewRecordBuilder(mem, schema),
		cols:    cols,
		appends: make([]func(any) error, len(cols)),
	}
	for i, c := range cols {
		w.appends[i] = w.appender(c, w.rb.Field(i))
	}
	return w, nil
}

// The range of time.Time values an int64 count of nanoseconds since the
// Unix epoch can hold: 1677-09-21T00:12:43.145224192Z to
// 2262-04-11T23:47:16.854775807Z.
const (
	minNsSec, minNsFrac = -9223372037, 145224192
	maxNsSec, maxNsFrac = 9223372036, 854775807
)

// appender returns the function that appends a value of column c to b.
func (w *arrowWriter) appender(c qconnect.Column, b array.Builder) func(any) error {
	switch b := b.(type) {
	case *array.BooleanBuilder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case bool:
				b.Append(x)
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.Int64Builder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case int64:
				b.Append(x)
			case int:
				b.Append(int64(x))
			case int32:
				b.Append(int64(x))
			case int16:
				b.Append(int64(x))
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.Float64Builder:
		return func(v any) error {
			var f float64
			switch x := v.(type) {
			case nil:
				b.AppendNull()
				return nil
			case float64:
				f = x
			case float32:
				f = float64(x)
			case int64:
				f = float64(x)
			case int:
				f = float64(x)
			case int32:
				f = float64(x)
			case int16:
				f = float64(x)
			default:
				return wrongType(c, v)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				b.AppendNull() // null as in JSON (PROTOCOL 4.3)
			} else {
				b.Append(f)
			}
			return nil
		}
	case *array.StringBuilder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case string:
				if utf8.ValidString(x) {
					b.Append(x)
				} else {
					w.scratch = appendValidUTF8(w.scratch[:0], x)
					b.BinaryBuilder.Append(w.scratch)
				}
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.TimestampBuilder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case time.Time:
				s, ns := x.Unix(), x.Nanosecond()
				if s < minNsSec || s == minNsSec && ns < minNsFrac || s > maxNsSec || s == maxNsSec && ns > maxNsFrac {
					return notArrow(c, x.UTC().Format(time.RFC3339Nano), "a nanosecond timestamp (1677-09-21 to 2262-04-11)")
				}
				b.Append(arrow.Timestamp(x.UnixNano()))
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.Date32Builder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case time.Time:
				s := x.Unix()
				days := s / 86400
				if s%86400 < 0 {
					days-- // floor: dates before 1970 count down from -1
				}
				if days < math.MinInt32 || days > math.MaxInt32 {
					return notArrow(c, x.UTC().Format(time.RFC3339), "a 32-bit count of days")
				}
				b.Append(arrow.Date32(days))
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.Time32Builder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case time.Duration:
				ms := x / time.Millisecond // truncated like the text form HH:MM:SS.mmm
				if ms < math.MinInt32 || ms > math.MaxInt32 {
					return notArrow(c, x.String(), "a 32-bit count of milliseconds")
				}
				b.Append(arrow.Time32(ms))
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.DurationBuilder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case time.Duration:
				b.Append(arrow.Duration(x))
			default:
				return wrongType(c, v)
			}
			return nil
		}
	case *array.FixedSizeBinaryBuilder:
		return func(v any) error {
			switch x := v.(type) {
			case nil:
				b.AppendNull()
			case [16]byte:
				b.Append(x[:])
			default:
				return wrongType(c, v)
			}
			return nil
		}
	}
	// arrowType and this switch cover the same types; reaching here is a bug.
	panic(fmt.Sprintf("encode: no Arrow appender for %T (column %q)", b, c.Name))
}

// notArrow is the error for a value the Arrow type of its column cannot
// hold. It is not a bug, so it carries a code and tells the caller what to do.
func notArrow(c qconnect.Column, value, what string) error {
	return qconnect.Errorf(qconnect.CodeAnalyticError,
		"column %q holds %s, which Arrow cannot carry as %s; request this result as JSON, NDJSON or CSV instead",
		c.Name, value, what)
}

func (w *arrowWriter) WriteBatch(rows [][]any) error {
	if w.finished {
		return errFinished
	}
	if w.out.err != nil {
		return w.out.err
	}
	if len(rows) == 0 {
		return nil
	}
	w.rb.Reserve(len(rows))
	for _, row := range rows {
		if len(row) != len(w.cols) {
			w.discard()
			return rowLengthError(len(row), len(w.cols))
		}
		for i, v := range row {
			if err := w.appends[i](v); err != nil {
				w.discard()
				return err
			}
		}
	}
	rec := w.rb.NewRecordBatch()
	err := w.ipc.Write(rec)
	rec.Release()
	if err != nil {
		return fmt.Errorf("encode: writing an Arrow record batch: %w", err)
	}
	return w.out.flush()
}

// discard drops the rows appended so far in this batch. Columns may hold
// different numbers of values, so each builder is emptied on its own.
func (w *arrowWriter) discard() {
	for i := range w.cols {
		w.rb.Field(i).NewArray().Release()
	}
}

// Finish ends the stream with its end-of-stream marker, or on failure with a
// lone continuation marker that readers report as a truncated stream (see the
// package doc).
func (w *arrowWriter) Finish(_ Meta, err *qconnect.Error) error {
	if w.finished {
		return errFinished
	}
	w.finished = true
	defer w.rb.Release()
	if w.out.err != nil {
		return w.out.err
	}
	if err != nil {
		// The ipc.Writer is dropped unclosed: closing it would write the
		// end-of-stream marker. It holds no resources beyond Go memory.
		w.out.Write([]byte{0xff, 0xff, 0xff, 0xff})
		return w.out.flush()
	}
	if cerr := w.ipc.Close(); cerr != nil {
		w.out.flush()
		return fmt.Errorf("encode: ending the Arrow stream: %w", cerr)
	}
	return w.out.flush()
}
