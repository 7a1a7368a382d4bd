package ipc

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/qconnect/qconnect"
)

// ColumnType returns the qconnect column type a q vector of type t (1-19)
// becomes, and "" for q types with no column mapping. The mapping:
//
//	boolean          boolean
//	guid             guid       (0Ng is null)
//	byte             short      (0-255)
//	short            short      (0Nh is null; ±0Wh stay ±32767)
//	int              int        (0Ni is null; ±0Wi stay ±2147483647)
//	long             long       (0Nj is null; ±0Wj stay ±9223372036854775807)
//	real, float      real, float (0Ne/0n are null; ±0w stay ±Inf)
//	char             char       (" " is null)
//	symbol           symbol     (` is null)
//	timestamp        timestamp  (0Np and ±0Wp are null)
//	month            date       (the first day of the month)
//	date             date       (0Nd and ±0Wd are null)
//	datetime         timestamp  (to the millisecond; 0Nz, ±0wz are null)
//	timespan         timespan   (0Nn and ±0Wn are null)
//	minute, second   time       (since midnight; nulls and infinities are null)
//	time             time
//
// A general list whose items are all char vectors (or char atoms) is a
// string column; one whose items are all symbol atoms is a symbol column.
func ColumnType(t int8) qconnect.Type {
	switch t {
	case KBoolean:
		return qconnect.Boolean
	case KGUID:
		return qconnect.GUID
	case KByte, KShort:
		return qconnect.Short
	case KInt:
		return qconnect.Int
	case KLong:
		return qconnect.Long
	case KReal:
		return qconnect.Real
	case KFloat:
		return qconnect.Float
	case KChar:
		return qconnect.Char
	case KSymbol:
		return qconnect.Symbol
	case KTimestamp, KDatetime:
		return qconnect.Timestamp
	case KMonth, KDate:
		return qconnect.Date
	case KTimespan:
		return qconnect.Timespan
	case KMinute, KSecond, KTime:
		return qconnect.Time
	}
	return ""
}

func vectorLen(v *qconnect.Vector) int {
	switch v.Type.Storage() {
	case qconnect.StorageBool:
		return len(v.Bools)
	case qconnect.StorageInt:
		return len(v.Ints)
	case qconnect.StorageFloat:
		return len(v.Floats)
	case qconnect.StorageGUID:
		return len(v.GUIDs)
	case qconnect.StorageBytes:
		if v.Dict != nil {
			return len(v.Codes)
		}
		return len(v.Offsets) - 1
	}
	return 0
}

// VectorLen returns the number of rows of v.
func VectorLen(v *qconnect.Vector) int { return vectorLen(v) }

// column decodes one table column in columnar mode.
func (d *decoder) column(name string) (any, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	t := int8(d.b[d.pos])
	if t <= 0 || t > KTime || t == 3 {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		vec, err := ToVector(v)
		if err != nil {
			return nil, fmt.Errorf("ipc: column %s: %w", name, err)
		}
		return vec, nil
	}
	d.pos++
	var n int
	var err error
	if t == KSymbol {
		n, err = d.count(1)
	} else {
		n, err = d.count(sizes[t])
	}
	if err != nil {
		return nil, err
	}
	v := qconnect.Vector{Type: ColumnType(t)}
	switch t {
	case KSymbol:
		// Find the end of the n symbols, then copy them without their NULs
		// in one pass. Inline loops: symbols are short, a call per symbol
		// costs more than the scan.
		b, start, end := d.b, d.pos, d.pos
		for i := 0; i < n; i++ {
			for end < len(b) && b[end] != 0 {
				end++
			}
			if end == len(b) {
				return nil, ErrTruncated
			}
			end++
		}
		d.pos = end
		v.Offsets = make([]int32, n+1)
		v.Data = make([]byte, end-start-n)
		w, p := 0, start
		for i := 0; i < n; i++ {
			q := p
			for b[q] != 0 {
				q++
			}
			w += copy(v.Data[w:], b[p:q])
			if q == p {
				v.SetNull(i, n)
			}
			v.Offsets[i+1] = int32(w)
			p = q + 1
		}
		return v, nil
	case KChar:
		v.Offsets = make([]int32, n+1)
		v.Data = make([]byte, n)
		copy(v.Data, d.b[d.pos:d.pos+n])
		for i := 0; i < n; i++ {
			v.Offsets[i+1] = int32(i + 1)
			if v.Data[i] == ' ' {
				v.SetNull(i, n)
			}
		}
		d.pos += n
		return v, nil
	case KBoolean:
		v.Bools = make([]bool, n)
		for i, x := range d.b[d.pos : d.pos+n] {
			v.Bools[i] = x != 0
		}
		d.pos += n
		return v, nil
	case KGUID:
		v.GUIDs = fixed[[16]byte](d, n)
		for i := range v.GUIDs {
			if v.GUIDs[i] == [16]byte{} {
				v.SetNull(i, n)
			}
		}
		return v, nil
	case KReal:
		src := d.b[d.pos : d.pos+4*n]
		d.pos += 4 * n
		v.Floats = make([]float64, n)
		for i := range v.Floats {
			f := math.Float32frombits(d.order.Uint32(src[4*i:]))
			if f != f {
				v.SetNull(i, n)
			}
			v.Floats[i] = float64(f)
		}
		return v, nil
	case KFloat, KDatetime:
		v.Floats = fixed[float64](d, n)
		if t == KFloat {
			for i, f := range v.Floats {
				if f != f {
					v.SetNull(i, n)
				}
			}
			return v, nil
		}
		v.Ints = make([]int64, n)
		for i, f := range v.Floats {
			if f != f || math.IsInf(f, 0) {
				v.SetNull(i, n)
				continue
			}
			v.Ints[i] = int64(math.Round(f*86400000))*1e6 + EpochOffsetNanos
		}
		v.Floats = nil
		return v, nil
	case KLong, KTimestamp, KTimespan:
		v.Ints = fixed[int64](d, n)
		for i, x := range v.Ints {
			switch {
			case x == NullLong:
				v.SetNull(i, n)
			case t == KTimestamp && (x == InfLong || x == -InfLong):
				v.SetNull(i, n)
			case t == KTimestamp:
				v.Ints[i] = x + EpochOffsetNanos
			case t == KTimespan && (x == InfLong || x == -InfLong):
				v.SetNull(i, n)
			}
		}
		return v, nil
	}
	// The 16- and 32-bit types widen to int64 with their conversion.
	size := sizes[t]
	src := d.b[d.pos : d.pos+size*n]
	d.pos += size * n
	v.Ints = make([]int64, n)
	if t == KByte {
		for i, x := range src {
			v.Ints[i] = int64(x)
		}
		return v, nil
	}
	if t == KShort {
		for i := range v.Ints {
			x := int16(d.order.Uint16(src[2*i:]))
			if x == NullShort {
				v.SetNull(i, n)
			}
			v.Ints[i] = int64(x)
		}
		return v, nil
	}
	widen32(&v, t, src, n, d.order)
	return v, nil
}

func widen32(v *qconnect.Vector, t int8, src []byte, n int, order binary.ByteOrder) {
	for i := range v.Ints {
		x := int32(order.Uint32(src[4*i:]))
		if x == NullInt {
			v.SetNull(i, n)
			continue
		}
		if t != KInt && (x == InfInt || x == -InfInt) {
			v.SetNull(i, n)
			continue
		}
		v.Ints[i] = convert32(t, x)
	}
}

func convert32(t int8, x int32) int64 {
	switch t {
	case KDate:
		return int64(x) + EpochOffsetDays
	case KMonth:
		return Month(x).Time().Unix() / 86400
	case KMinute:
		return int64(x) * 60e9
	case KSecond:
		return int64(x) * 1e9
	case KTime:
		return int64(x) * 1e6
	}
	return int64(x)
}

// ToVector converts a decoded q vector (or a general list of strings or of
// symbols) to a qconnect.Vector by the mapping of ColumnType. A
// qconnect.Vector is returned as it is.
func ToVector(v any) (qconnect.Vector, error) {
	if vec, ok := v.(qconnect.Vector); ok {
		return vec, nil
	}
	if l, ok := v.([]any); ok {
		return listVector(l)
	}
	if _, ok := length(v); !ok {
		return qconnect.Vector{}, fmt.Errorf("ipc: %T is not a vector", v)
	}
	// Serialize and decode columnar: one code path for every mapping.
	b, err := Marshal(Table{Columns: []string{"x"}, Data: []any{v}})
	if err != nil {
		return qconnect.Vector{}, err
	}
	t, err := UnmarshalColumnar(b)
	if err != nil {
		return qconnect.Vector{}, err
	}
	return t.(Table).Data[0].(qconnect.Vector), nil
}

func listVector(l []any) (qconnect.Vector, error) {
	n := len(l)
	if n == 0 {
		return qconnect.Vector{Type: qconnect.String, Offsets: []int32{0}}, nil
	}
	typ := qconnect.String
	if _, ok := l[0].(Symbol); ok {
		typ = qconnect.Symbol
	}
	v := qconnect.Vector{Type: typ, Offsets: make([]int32, 1, n+1)}
	for i, x := range l {
		switch s := x.(type) {
		case string:
			if typ != qconnect.String {
				return v, fmt.Errorf("ipc: a general list mixing symbols and strings is not a column")
			}
			v.AppendString(s)
		case Char:
			if typ != qconnect.String {
				return v, fmt.Errorf("ipc: a general list mixing symbols and strings is not a column")
			}
			v.AppendBytes([]byte{byte(s)})
		case Symbol:
			if typ != qconnect.Symbol {
				return v, fmt.Errorf("ipc: a general list mixing symbols and strings is not a column")
			}
			v.AppendString(string(s))
			if s == "" {
				v.SetNull(i, n)
			}
		default:
			return v, fmt.Errorf("ipc: a general list holding %T is not a column (only lists of strings or symbols are)", x)
		}
	}
	return v, nil
}
