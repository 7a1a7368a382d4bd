package qconnect

import (
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Storage is the physical layout of a column's values in a Vector. Every
// column Type has exactly one Storage (Type.Storage).
type Storage uint8

// The storages of Vector.
const (
	StorageBool  Storage = iota + 1 // Vector.Bools
	StorageInt                      // Vector.Ints
	StorageFloat                    // Vector.Floats
	StorageBytes                    // Vector.Offsets and Vector.Data, or Vector.Dict and Vector.Codes
	StorageGUID                     // Vector.GUIDs
)

// Storage returns how values of a column of type t are held in a Vector:
//
//	boolean                      StorageBool   true / false
//	long, int, short             StorageInt    the value
//	timestamp                    StorageInt    nanoseconds since 1970-01-01T00:00:00Z
//	date                         StorageInt    days since 1970-01-01
//	time                         StorageInt    nanoseconds since midnight
//	timespan                     StorageInt    nanoseconds
//	float, real                  StorageFloat  the value (NaN and ±Inf are encoded as null)
//	string, symbol, char         StorageBytes  UTF-8 bytes
//	guid                         StorageGUID   16 bytes, big-endian as written
//
// It returns 0 for a type that is not a column type (dict).
func (t Type) Storage() Storage {
	switch t {
	case Boolean:
		return StorageBool
	case Long, Int, Short, Timestamp, Date, Time, Timespan:
		return StorageInt
	case Float, Real:
		return StorageFloat
	case String, Symbol, Char:
		return StorageBytes
	case GUID:
		return StorageGUID
	}
	return 0
}

// Batch is a run of consecutive rows of a result in columnar form: one
// Vector per result column, in the order of Rows.Columns, each holding Len
// values. Engines fill batches without boxing values; encoders read them
// with one switch per column, not per value.
//
// A Batch returned by Rows.Next is owned by the Rows and valid only until
// the following call to Next or Close: engines reuse its memory. Copy what
// must outlive that (Batch.Clone).
type Batch struct {
	Len  int
	Cols []Vector
}

// Vector is one column of a Batch. Exactly the fields of its Type's Storage
// are used; the others are nil. Row i of the column is:
//
//	StorageBool   Bools[i]
//	StorageInt    Ints[i]
//	StorageFloat  Floats[i]
//	StorageBytes  Data[Offsets[i]:Offsets[i+1]] (Offsets has Len+1 entries),
//	              or, when Dict is not nil, Dict[Codes[i]] (a symbol column
//	              given as a dictionary and codes, as engines with
//	              enumerated strings produce it; the batches of a result
//	              may share one Dict, which is never changed once made)
//	StorageGUID   GUIDs[i]
//
// unless it is null: Valid is a validity bitmap, bit i%64 of Valid[i/64] is
// set when row i holds a value (Arrow's and DuckDB's convention). A nil
// Valid means no row is null. The value slot of a null row is ignored.
type Vector struct {
	Type  Type
	Valid []uint64

	Bools   []bool
	Ints    []int64
	Floats  []float64
	Offsets []int32
	Data    []byte
	Dict    []string
	Codes   []uint32
	GUIDs   [][16]byte
}

// IsNull reports whether row i is null.
func (v *Vector) IsNull(i int) bool {
	return v.Valid != nil && v.Valid[i>>6]&(1<<(uint(i)&63)) == 0
}

// SetNull marks row i null. n is the vector's length, used to size Valid
// (all rows valid) the first time a row is marked.
func (v *Vector) SetNull(i, n int) {
	if v.Valid == nil {
		v.Valid = AllValid(nil, n)
	}
	v.Valid[i>>6] &^= 1 << (uint(i) & 63)
}

// AllValid returns a validity bitmap of n rows, all set, reusing buf's
// memory when it is large enough.
func AllValid(buf []uint64, n int) []uint64 {
	words := (n + 63) >> 6
	if cap(buf) < words {
		buf = make([]uint64, words)
	}
	buf = buf[:words]
	for i := range buf {
		buf[i] = math.MaxUint64
	}
	return buf
}

// Bytes returns the bytes of row i of a StorageBytes vector, without
// copying: the slice is valid as long as the vector is, and callers must not
// modify it.
func (v *Vector) Bytes(i int) []byte {
	if v.Dict != nil {
		s := v.Dict[v.Codes[i]]
		return unsafe.Slice(unsafe.StringData(s), len(s)) // shared: callers must not modify it
	}
	return v.Data[v.Offsets[i]:v.Offsets[i+1]]
}

// Str returns row i of a StorageBytes vector as a string (a copy, except
// for dictionary vectors, whose strings are shared).
func (v *Vector) Str(i int) string {
	if v.Dict != nil {
		return v.Dict[v.Codes[i]]
	}
	return string(v.Data[v.Offsets[i]:v.Offsets[i+1]])
}

// AppendBytes adds one value to a StorageBytes vector being built with
// Offsets and Data. Offsets must start as [0] (Reset does that).
func (v *Vector) AppendBytes(b []byte) {
	v.Data = append(v.Data, b...)
	v.Offsets = append(v.Offsets, int32(len(v.Data)))
}

// AppendString is AppendBytes for a string.
func (v *Vector) AppendString(s string) {
	v.Data = append(v.Data, s...)
	v.Offsets = append(v.Offsets, int32(len(v.Data)))
}

// Reset empties the vector for refilling with n rows, keeping its memory
// and its Type: fixed-width slices get length n (values to be overwritten),
// Offsets becomes [0] with Data empty, Valid becomes nil and Dict/Codes nil.
func (v *Vector) Reset(n int) {
	v.Valid = nil
	v.Dict, v.Codes = nil, nil
	switch v.Type.Storage() {
	case StorageBool:
		v.Bools = resize(v.Bools, n)
	case StorageInt:
		v.Ints = resize(v.Ints, n)
	case StorageFloat:
		v.Floats = resize(v.Floats, n)
	case StorageBytes:
		v.Offsets = append(v.Offsets[:0], 0)
		v.Data = v.Data[:0]
	case StorageGUID:
		v.GUIDs = resize(v.GUIDs, n)
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// NewBatch returns an empty batch for columns cols, with room for n rows
// per fixed-width vector. Use Vector.Reset to refill it.
func NewBatch(cols []Column, n int) *Batch {
	b := &Batch{Cols: make([]Vector, len(cols))}
	for j, c := range cols {
		b.Cols[j].Type = c.Type
		b.Cols[j].Reset(n)
		b.Cols[j].Reset(0)
	}
	return b
}

// Value returns row i of the vector as a value of the package's value
// convention (see the package doc), nil for null. It boxes: it is meant for
// tests, error messages and cold paths, not for encoding results.
func (v *Vector) Value(i int) any {
	if v.IsNull(i) {
		return nil
	}
	switch v.Type {
	case Boolean:
		return v.Bools[i]
	case Long, Int, Short:
		return v.Ints[i]
	case Timestamp:
		return time.Unix(0, v.Ints[i]).UTC()
	case Date:
		return time.Unix(v.Ints[i]*86400, 0).UTC()
	case Time, Timespan:
		return time.Duration(v.Ints[i])
	case Float, Real:
		return v.Floats[i]
	case String, Symbol, Char:
		return v.Str(i)
	case GUID:
		return v.GUIDs[i]
	}
	panic(fmt.Sprintf("qconnect: Vector.Value of unknown type %q", v.Type))
}

// Row returns row i of the batch as boxed values (see Vector.Value).
func (b *Batch) Row(i int) []any {
	row := make([]any, len(b.Cols))
	for j := range b.Cols {
		row[j] = b.Cols[j].Value(i)
	}
	return row
}

// Rows returns every row of the batch as boxed values (see Row); nil for a
// nil batch.
func (b *Batch) Rows() [][]any {
	if b == nil {
		return nil
	}
	rows := make([][]any, b.Len)
	for i := range rows {
		rows[i] = b.Row(i)
	}
	return rows
}

// Clone returns a deep copy of the batch that does not share memory with
// it, for keeping rows past the next call of Rows.Next.
func (b *Batch) Clone() *Batch {
	c := &Batch{Len: b.Len, Cols: make([]Vector, len(b.Cols))}
	for j := range b.Cols {
		v := &b.Cols[j]
		c.Cols[j] = Vector{
			Type:    v.Type,
			Valid:   clone(v.Valid),
			Bools:   clone(v.Bools),
			Ints:    clone(v.Ints),
			Floats:  clone(v.Floats),
			Offsets: clone(v.Offsets),
			Data:    clone(v.Data),
			Dict:    clone(v.Dict),
			Codes:   clone(v.Codes),
			GUIDs:   clone(v.GUIDs),
		}
	}
	return c
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// NanosPerDay converts StorageInt dates (days) to timestamps (nanoseconds).
const NanosPerDay = int64(24 * time.Hour)

// BatchOf builds a batch of columns cols from boxed rows, each with one
// value per column in the package's value convention (nil for null; int,
// int32 and int16 are accepted for integer and float columns, float32 for
// float columns). It is for publishing, tests and other cold paths; engines
// fill vectors directly. A row of the wrong length or a value of the wrong
// Go type is an error naming the row and column.
func BatchOf(cols []Column, rows [][]any) (*Batch, error) {
	b := NewBatch(cols, 0)
	for i, row := range rows {
		if err := b.AppendRow(cols, row); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	return b, nil
}

// AppendRow adds one boxed row (see BatchOf) at the end of the batch. On
// error the batch is unchanged.
func (b *Batch) AppendRow(cols []Column, row []any) error {
	if len(row) != len(b.Cols) {
		return fmt.Errorf("%d values for %d columns: give one value per column", len(row), len(b.Cols))
	}
	for j, x := range row {
		if !fitsType(b.Cols[j].Type, x) {
			name := ""
			if j < len(cols) {
				name = cols[j].Name
			}
			return fmt.Errorf("column %q (%s) holds a %T value; a %s column takes %s or nil", name, b.Cols[j].Type, x, b.Cols[j].Type, GoTypeOf(b.Cols[j].Type))
		}
	}
	for j, x := range row {
		if ts, ok := x.(time.Time); ok && b.Cols[j].Type == Timestamp && !InTimestampRange(ts) {
			return fmt.Errorf("column %q: timestamp %s is outside the range of nanoseconds since 1970 (1677-09-21 to 2262-04-11)", cols[j].Name, ts.UTC().Format(time.RFC3339Nano))
		}
	}
	n := b.Len
	for j, x := range row {
		v := &b.Cols[j]
		if v.Valid != nil && len(v.Valid) < (n+64)>>6 {
			v.Valid = append(v.Valid, math.MaxUint64)
		}
		if x == nil {
			v.appendZero()
			v.SetNull(n, n+1)
			continue
		}
		switch v.Type {
		case Boolean:
			v.Bools = append(v.Bools, x.(bool))
		case Long, Int, Short:
			v.Ints = append(v.Ints, toInt64(x))
		case Float, Real:
			if f, ok := x.(float32); ok {
				v.Floats = append(v.Floats, float64(f))
			} else if f, ok := x.(float64); ok {
				v.Floats = append(v.Floats, f)
			} else {
				v.Floats = append(v.Floats, float64(toInt64(x)))
			}
		case Timestamp:
			v.Ints = append(v.Ints, x.(time.Time).UnixNano()) // range checked above
		case Date:
			s := x.(time.Time).Unix()
			days := s / 86400
			if s%86400 < 0 {
				days--
			}
			v.Ints = append(v.Ints, days)
		case Time, Timespan:
			v.Ints = append(v.Ints, int64(x.(time.Duration)))
		case String, Symbol, Char:
			v.materialise(n)
			v.AppendString(x.(string))
		case GUID:
			v.GUIDs = append(v.GUIDs, x.([16]byte))
		}
	}
	b.Len = n + 1
	return nil
}

// appendZero appends a placeholder value (for a null row).
func (v *Vector) appendZero() {
	switch v.Type.Storage() {
	case StorageBool:
		v.Bools = append(v.Bools, false)
	case StorageInt:
		v.Ints = append(v.Ints, 0)
	case StorageFloat:
		v.Floats = append(v.Floats, 0)
	case StorageBytes:
		v.materialise(len(v.Offsets) - 1)
		v.Offsets = append(v.Offsets, int32(len(v.Data)))
	case StorageGUID:
		v.GUIDs = append(v.GUIDs, [16]byte{})
	}
}

// materialise turns a dictionary vector of n rows into offsets and data, so
// that values can be appended.
func (v *Vector) materialise(n int) {
	if v.Dict == nil {
		if len(v.Offsets) == 0 {
			v.Offsets = append(v.Offsets, 0)
		}
		return
	}
	dict, codes := v.Dict, v.Codes
	v.Dict, v.Codes = nil, nil
	v.Offsets = append(v.Offsets[:0], 0)
	v.Data = v.Data[:0]
	for i := 0; i < n; i++ {
		v.AppendString(dict[codes[i]])
	}
}

// Len returns the number of rows of the vector.
func (v *Vector) Len() int {
	switch v.Type.Storage() {
	case StorageBool:
		return len(v.Bools)
	case StorageInt:
		return len(v.Ints)
	case StorageFloat:
		return len(v.Floats)
	case StorageBytes:
		if v.Dict != nil {
			return len(v.Codes)
		}
		return max(len(v.Offsets)-1, 0)
	case StorageGUID:
		return len(v.GUIDs)
	}
	return 0
}

func toInt64(x any) int64 {
	switch n := x.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case int16:
		return int64(n)
	}
	return 0
}

// fitsType reports whether x has a Go type that may carry a value of column
// type t; nil fits every type.
func fitsType(t Type, x any) bool {
	if x == nil {
		return true
	}
	switch t {
	case Boolean:
		_, ok := x.(bool)
		return ok
	case Long, Int, Short:
		switch x.(type) {
		case int64, int, int32, int16:
			return true
		}
	case Float, Real:
		switch x.(type) {
		case float64, float32, int64, int, int32, int16:
			return true
		}
	case String, Symbol, Char:
		_, ok := x.(string)
		return ok
	case Timestamp, Date:
		_, ok := x.(time.Time)
		return ok
	case Time, Timespan:
		_, ok := x.(time.Duration)
		return ok
	case GUID:
		_, ok := x.([16]byte)
		return ok
	}
	return false
}

// GoTypeOf names the Go type of the package's value convention for t.
func GoTypeOf(t Type) string {
	switch t {
	case Boolean:
		return "bool"
	case Long, Int, Short:
		return "int64"
	case Float, Real:
		return "float64"
	case String, Symbol, Char:
		return "string"
	case Timestamp, Date:
		return "time.Time"
	case Time, Timespan:
		return "time.Duration"
	case GUID:
		return "[16]byte"
	}
	return "nothing (unsupported column type)"
}

// Slice returns rows [from, to) of the batch as a batch that shares its
// memory (validity bitmaps are copied when from is not a multiple of 64).
func (b *Batch) Slice(from, to int) *Batch {
	if from == 0 && to == b.Len {
		return b
	}
	s := &Batch{Len: to - from, Cols: make([]Vector, len(b.Cols))}
	for j := range b.Cols {
		v := &b.Cols[j]
		w := Vector{Type: v.Type}
		if v.Valid != nil {
			w.Valid = AllValid(nil, to-from)
			for i := from; i < to; i++ {
				if v.IsNull(i) {
					w.SetNull(i-from, to-from)
				}
			}
		}
		switch v.Type.Storage() {
		case StorageBool:
			w.Bools = v.Bools[from:to]
		case StorageInt:
			w.Ints = v.Ints[from:to]
		case StorageFloat:
			w.Floats = v.Floats[from:to]
		case StorageBytes:
			if v.Dict != nil {
				w.Dict, w.Codes = v.Dict, v.Codes[from:to]
			} else {
				w.Offsets, w.Data = v.Offsets[from:to+1], v.Data
			}
		case StorageGUID:
			w.GUIDs = v.GUIDs[from:to]
		}
		s.Cols[j] = w
	}
	return s
}

// InTimestampRange reports whether t is a timestamp a Vector can hold: an
// int64 count of nanoseconds since 1970-01-01 (1677-09-21T00:12:43.145224192Z
// to 2262-04-11T23:47:16.854775807Z, the range of a kdb+ timestamp).
func InTimestampRange(t time.Time) bool {
	const minSec, minFrac, maxSec, maxFrac = -9223372037, 145224192, 9223372036, 854775807
	s, ns := t.Unix(), t.Nanosecond()
	return !(s < minSec || s == minSec && ns < minFrac || s > maxSec || s == maxSec && ns > maxFrac)
}
