package encode

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"
	"unsafe"

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
// per non-empty WriteBatch, whose arrays are built from the batch's vectors
// directly: fixed-width values and validity bitmaps share the vectors'
// memory (the IPC writer writes them out before WriteBatch returns), and
// only the types whose Arrow layout differs (bool bits, date32, time32, a
// dictionary's strings, floats with NaN) are converted, into buffers reused
// from batch to batch.
type arrowWriter struct {
	out      *sink
	ipc      *ipc.Writer
	schema   *arrow.Schema
	cols     []qconnect.Column
	end      Ending
	scratch  []arrowScratch // per column
	finished bool
}

// arrowScratch holds the converted buffers of one column.
type arrowScratch struct {
	valid   []uint64
	bits    []byte
	i32     []int32
	offsets []int32
	data    []byte
	dict    []string // a dictionary vector's entries, made valid UTF-8
	dictOf  []string // the Dict that dict was made from (a result's batches share one)
}

func newArrowWriter(out *sink, cols []qconnect.Column, end Ending) (*arrowWriter, error) {
	schema, err := arrowSchema(cols)
	if err != nil {
		return nil, err
	}
	return &arrowWriter{
		out:     out,
		ipc:     ipc.NewWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator)),
		schema:  schema,
		cols:    cols,
		end:     end,
		scratch: make([]arrowScratch, len(cols)),
	}, nil
}

// notArrow is the error for a value the Arrow type of its column cannot
// hold. It is not a bug, so it carries a code and tells the caller what to do.
func notArrow(c qconnect.Column, value, what string) error {
	return qconnect.Errorf(qconnect.CodeAnalyticError,
		"column %q holds %s, which Arrow cannot carry as %s; request this result as JSON, NDJSON or CSV instead",
		c.Name, value, what)
}

func (w *arrowWriter) WriteBatch(b *qconnect.Batch) error {
	if ok, err := batchToWrite(w.finished, w.out, b, w.cols); !ok {
		return err
	}
	arrays := make([]arrow.Array, len(w.cols))
	defer func() {
		for _, a := range arrays {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i := range w.cols {
		data, err := w.column(i, &b.Cols[i], b.Len)
		if err != nil {
			return err
		}
		arrays[i] = array.MakeFromData(data)
		data.Release()
	}
	rec := array.NewRecordBatch(w.schema, arrays, int64(b.Len))
	err := w.ipc.Write(rec)
	rec.Release()
	if err != nil {
		return fmt.Errorf("encode: writing an Arrow record batch: %w", err)
	}
	return w.out.flush()
}

func bytesBuf(b []byte) *memory.Buffer { return memory.NewBufferBytes(b) }

// column builds the Arrow data of column i from n rows of v.
func (w *arrowWriter) column(i int, v *qconnect.Vector, n int) (*array.Data, error) {
	c, sc := w.cols[i], &w.scratch[i]
	dt := w.schema.Field(i).Type
	var valid *memory.Buffer
	nulls := 0
	if v.Valid != nil {
		valid = bytesBuf(arrow.Uint64Traits.CastToBytes(v.Valid))
		nulls = array.UnknownNullCount
	}
	switch c.Type {
	case qconnect.Boolean:
		sc.bits = resizeBytes(sc.bits, (n+7)/8)
		clear(sc.bits)
		for r, x := range v.Bools[:n] {
			if x {
				sc.bits[r>>3] |= 1 << (uint(r) & 7)
			}
		}
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(sc.bits)}, nil, nulls, 0), nil
	case qconnect.Long, qconnect.Int, qconnect.Short, qconnect.Timestamp, qconnect.Timespan:
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(arrow.Int64Traits.CastToBytes(v.Ints[:n]))}, nil, nulls, 0), nil
	case qconnect.Date, qconnect.Time:
		sc.i32 = resize32(sc.i32, n)
		for r, x := range v.Ints[:n] {
			if c.Type == qconnect.Time {
				x /= int64(time.Millisecond) // truncated like the text form HH:MM:SS.mmm
			}
			if (x < math.MinInt32 || x > math.MaxInt32) && !v.IsNull(r) {
				if c.Type == qconnect.Time {
					return nil, notArrow(c, time.Duration(v.Ints[r]).String(), "a 32-bit count of milliseconds")
				}
				return nil, notArrow(c, fmt.Sprintf("day %d after 1970-01-01", x), "a 32-bit count of days")
			}
			sc.i32[r] = int32(x)
		}
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(arrow.Int32Traits.CastToBytes(sc.i32))}, nil, nulls, 0), nil
	case qconnect.Float, qconnect.Real:
		fs := v.Floats[:n]
		for r, f := range fs {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				// null as in JSON (PROTOCOL 4.3): a validity bitmap of our own
				if v.Valid != nil {
					sc.valid = append(sc.valid[:0], v.Valid...)
				} else {
					sc.valid = qconnect.AllValid(sc.valid, n)
				}
				for k := r; k < n; k++ {
					if math.IsNaN(fs[k]) || math.IsInf(fs[k], 0) {
						sc.valid[k>>6] &^= 1 << (uint(k) & 63)
					}
				}
				valid, nulls = bytesBuf(arrow.Uint64Traits.CastToBytes(sc.valid)), array.UnknownNullCount
				break
			}
		}
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(arrow.Float64Traits.CastToBytes(fs))}, nil, nulls, 0), nil
	case qconnect.String, qconnect.Symbol, qconnect.Char:
		offsets, data := v.Offsets, v.Data
		if v.Dict != nil {
			// A dictionary vector (an ENUM): each entry is made valid
			// UTF-8 once per dictionary (the batches of a result share
			// theirs), then copied per row.
			if unsafe.SliceData(v.Dict) != unsafe.SliceData(sc.dictOf) || len(v.Dict) != len(sc.dictOf) {
				sc.dict = sc.dict[:0]
				for _, d := range v.Dict {
					if !utf8.ValidString(d) {
						d = string(appendValidUTF8(nil, d))
					}
					sc.dict = append(sc.dict, d)
				}
				sc.dictOf = v.Dict
			}
			sc.offsets = append(sc.offsets[:0], 0)
			sc.data = sc.data[:0]
			for r, code := range v.Codes[:n] {
				if !v.IsNull(r) {
					sc.data = append(sc.data, sc.dict[code]...)
				}
				sc.offsets = append(sc.offsets, int32(len(sc.data)))
			}
			offsets, data = sc.offsets, sc.data
		} else if !utf8.Valid(v.Data[v.Offsets[0]:v.Offsets[n]]) {
			sc.offsets = append(sc.offsets[:0], 0)
			sc.data = sc.data[:0]
			for r := 0; r < n; r++ {
				if !v.IsNull(r) {
					sc.data = appendValidUTF8(sc.data, string(v.Bytes(r)))
				}
				sc.offsets = append(sc.offsets, int32(len(sc.data)))
			}
			offsets, data = sc.offsets, sc.data
		}
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(arrow.Int32Traits.CastToBytes(offsets[:n+1])), bytesBuf(data)}, nil, nulls, 0), nil
	case qconnect.GUID:
		sc.data = resizeBytes(sc.data, 16*n)
		for r := 0; r < n; r++ {
			copy(sc.data[16*r:], v.GUIDs[r][:])
		}
		return array.NewData(dt, n, []*memory.Buffer{valid, bytesBuf(sc.data)}, nil, nulls, 0), nil
	}
	// arrowType and this switch cover the same types; reaching here is a bug.
	return nil, fmt.Errorf("encode: no Arrow form for column %q of type %s", c.Name, c.Type)
}

func resizeBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func resize32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

// Trailers implements Writer.
func (w *arrowWriter) Trailers() []string { return trailerNames }

// Finish ends the stream with its end-of-stream marker, or on failure with a
// lone continuation marker that readers report as a truncated stream (see the
// package doc), then sets the trailers and, on failure, cuts the connection
// through Ending.Abort.
func (w *arrowWriter) Finish(meta Meta, err *qconnect.Error) error {
	if w.finished {
		return errFinished
	}
	w.finished = true
	if w.out.err != nil {
		return w.out.err
	}
	var ferr error
	if err != nil {
		// The ipc.Writer is dropped unclosed: closing it would write the
		// end-of-stream marker. It holds no resources beyond Go memory.
		w.out.Write([]byte{0xff, 0xff, 0xff, 0xff})
		ferr = w.out.flush()
	} else if cerr := w.ipc.Close(); cerr != nil {
		w.out.flush()
		ferr = fmt.Errorf("encode: ending the Arrow stream: %w", cerr)
	} else {
		ferr = w.out.flush()
	}
	w.end.setTrailers(meta, w.cols, err)
	if err != nil && w.end.Abort != nil {
		w.end.Abort()
	}
	return ferr
}
