package kdb

import (
	"context"
	"fmt"
	"io"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/kdb/ipc"
)

// shape turns a decoded (columnar) reply into named columns by the rule of
// the package doc.
func shape(v any, cols []qconnect.Column) (names []string, vecs []qconnect.Vector, err error) {
	switch x := v.(type) {
	case ipc.Table:
		return tableCols(x)
	case ipc.Dict:
		kt, kok := x.Key.(ipc.Table)
		vt, vok := x.Value.(ipc.Table)
		if kok && vok {
			kn, kv, err := tableCols(kt)
			if err != nil {
				return nil, nil, err
			}
			vn, vv, err := tableCols(vt)
			if err != nil {
				return nil, nil, err
			}
			return append(kn, vn...), append(kv, vv...), nil
		}
		if keys, ok := x.Key.([]string); ok {
			if vals, ok := x.Value.([]any); ok && allAtoms(vals) { // a record
				for i, k := range keys {
					vec, err := atomVector(vals[i])
					if err != nil {
						return nil, nil, fmt.Errorf("value %s: %w", k, err)
					}
					names, vecs = append(names, k), append(vecs, vec)
				}
				return names, vecs, nil
			}
		}
		if len(cols) < 2 {
			return nil, nil, fmt.Errorf("the function returned a dictionary, which becomes two columns (keys, values), but the method declares %d", len(cols))
		}
		kv, err := ipc.ToVector(x.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("dictionary keys: %w", err)
		}
		vv, err := ipc.ToVector(x.Value)
		if err != nil {
			return nil, nil, fmt.Errorf("dictionary values: %w", err)
		}
		return []string{cols[0].Name, cols[1].Name}, []qconnect.Vector{kv, vv}, nil
	case *ipc.Error:
		return nil, nil, x
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("the method declares no columns")
	}
	if vec, err := ipc.ToVector(v); err == nil {
		return []string{cols[0].Name}, []qconnect.Vector{vec}, nil
	}
	vec, err := atomVector(v)
	if err != nil {
		return nil, nil, fmt.Errorf("the function returned %s, which is not a table, dictionary, vector or atom", describe(v))
	}
	return []string{cols[0].Name}, []qconnect.Vector{vec}, nil
}

func describe(v any) string {
	if t, err := ipc.TypeOf(v); err == nil {
		return fmt.Sprintf("a value of q type %d", t)
	}
	return fmt.Sprintf("%T", v)
}

func tableCols(t ipc.Table) ([]string, []qconnect.Vector, error) {
	vecs := make([]qconnect.Vector, len(t.Data))
	for i, d := range t.Data {
		v, err := ipc.ToVector(d)
		if err != nil {
			return nil, nil, fmt.Errorf("column %s: %w", t.Columns[i], err)
		}
		vecs[i] = v
	}
	return t.Columns, vecs, nil
}

func allAtoms(l []any) bool {
	for _, x := range l {
		t, err := ipc.TypeOf(x)
		if err != nil || t >= 0 && t != ipc.KChar || t == ipc.KError {
			return false
		}
	}
	return true
}

// atomVector makes a one-row vector of an atom (or a string).
func atomVector(a any) (qconnect.Vector, error) {
	var l any
	switch x := a.(type) {
	case bool:
		l = []bool{x}
	case ipc.GUID:
		l = []ipc.GUID{x}
	case byte:
		l = []byte{x}
	case int16:
		l = []int16{x}
	case int32:
		l = []int32{x}
	case int64:
		l = []int64{x}
	case float32:
		l = []float32{x}
	case float64:
		l = []float64{x}
	case ipc.Char:
		l = string(rune(x))
	case string:
		l = []any{x}
	case ipc.Symbol:
		l = []string{string(x)}
	case ipc.Timestamp:
		l = []ipc.Timestamp{x}
	case ipc.Month:
		l = []ipc.Month{x}
	case ipc.Date:
		l = []ipc.Date{x}
	case ipc.Datetime:
		l = []ipc.Datetime{x}
	case ipc.Timespan:
		l = []ipc.Timespan{x}
	case ipc.Minute:
		l = []ipc.Minute{x}
	case ipc.Second:
		l = []ipc.Second{x}
	case ipc.Time:
		l = []ipc.Time{x}
	default:
		return qconnect.Vector{}, fmt.Errorf("%T is not an atom", a)
	}
	return ipc.ToVector(l)
}

// compatible reports whether a column of type got may be served as a
// declared column of type want (same storage, see the package doc).
func compatible(want, got qconnect.Type) bool {
	if want == got {
		return true
	}
	switch want {
	case qconnect.Long:
		return got == qconnect.Int || got == qconnect.Short
	case qconnect.Int:
		return got == qconnect.Short
	case qconnect.Float:
		return got == qconnect.Real
	case qconnect.String:
		return got == qconnect.Symbol || got == qconnect.Char
	}
	return false
}

// project orders the reply's columns as declared, checking names and
// types; a mismatch names the column.
func project(fn string, cols []qconnect.Column, names []string, vecs []qconnect.Vector) ([]qconnect.Vector, int, error) {
	idx := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := idx[n]; !dup {
			idx[n] = i
		}
	}
	out := make([]qconnect.Vector, len(cols))
	rows := -1
	for j, c := range cols {
		i, ok := idx[c.Name]
		if !ok {
			return nil, 0, qconnect.Errorf(qconnect.CodeAnalyticError,
				"column %s is declared by the method but missing from the result of %s (it returned %v); fix the catalog or the function", c.Name, fn, names)
		}
		v := vecs[i]
		n := ipc.VectorLen(&v)
		if n == 0 && v.Type == qconnect.String && v.Dict == nil && len(v.Data) == 0 && c.Type != qconnect.String {
			v = emptyVector(c.Type) // () — an empty general list has no type
		}
		if !compatible(c.Type, v.Type) {
			return nil, 0, qconnect.Errorf(qconnect.CodeAnalyticError,
				"column %s of the result of %s is %s, but the method declares %s; fix the catalog or cast in q", c.Name, fn, v.Type, c.Type)
		}
		if v.Type == qconnect.Char && c.Type == qconnect.String {
			v.Type = qconnect.String
		}
		v.Type = c.Type
		if rows >= 0 && n != rows {
			return nil, 0, qconnect.Errorf(qconnect.CodeAnalyticError, "column %s of the result of %s has %d rows, not %d", c.Name, fn, n, rows)
		}
		rows = n
		out[j] = v
	}
	if rows < 0 {
		rows = 0
	}
	return out, rows, nil
}

func emptyVector(t qconnect.Type) qconnect.Vector {
	v := qconnect.Vector{Type: t}
	v.Reset(0)
	return v
}

// Rows is a decoded reply handed out in batches of Config.BatchRows rows.
// Its Next already has the signature of the backend contract v2
// (qconnect.Rows.Next returning *qconnect.Batch).
type Rows struct {
	cols   []qconnect.Column
	vecs   []qconnect.Vector
	n      int // rows to hand out (after the limit)
	pos    int
	step   int
	batch  qconnect.Batch
	closed bool
}

// Columns describes every batch.
func (r *Rows) Columns() []qconnect.Column { return r.cols }

// Len is the number of rows of the result (after the call's limit).
func (r *Rows) Len() int { return r.n }

// Next returns the next batch, or (nil, io.EOF) at the end. The batch
// shares the reply's memory and is valid until the next call.
func (r *Rows) Next(ctx context.Context) (*qconnect.Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	if r.closed {
		return nil, errClosed
	}
	if r.pos >= r.n {
		return nil, io.EOF
	}
	a, b := r.pos, min(r.pos+r.step, r.n)
	r.pos = b
	r.batch.Len = b - a
	if r.batch.Cols == nil {
		r.batch.Cols = make([]qconnect.Vector, len(r.vecs))
	}
	for j := range r.vecs {
		r.batch.Cols[j] = slice(&r.vecs[j], a, b)
	}
	return &r.batch, nil
}

var errClosed = &qconnect.Error{Code: qconnect.CodeInternal, Message: "internal error",
	Cause: fmt.Errorf("kdb: Next called on closed Rows")}

// Close releases the result; Next then fails. It is idempotent.
func (r *Rows) Close() error { r.vecs, r.n, r.closed = nil, 0, true; return nil }

// slice returns rows [a,b) of v without copying; a is a multiple of 64.
func slice(v *qconnect.Vector, a, b int) qconnect.Vector {
	s := qconnect.Vector{Type: v.Type}
	if v.Valid != nil {
		s.Valid = v.Valid[a>>6 : (b+63)>>6]
	}
	switch v.Type.Storage() {
	case qconnect.StorageBool:
		s.Bools = v.Bools[a:b]
	case qconnect.StorageInt:
		s.Ints = v.Ints[a:b]
	case qconnect.StorageFloat:
		s.Floats = v.Floats[a:b]
	case qconnect.StorageGUID:
		s.GUIDs = v.GUIDs[a:b]
	case qconnect.StorageBytes:
		if v.Dict != nil {
			s.Dict, s.Codes = v.Dict, v.Codes[a:b]
		} else {
			s.Offsets, s.Data = v.Offsets[a:b+1], v.Data
		}
	}
	return s
}
