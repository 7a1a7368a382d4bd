package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/qconnect/qconnect"
)

// DefaultMaxDepth bounds the nesting of lists, dictionaries and tables the
// decoder accepts.
const DefaultMaxDepth = 128

// ErrTruncated is returned (wrapped) when a value claims more bytes than
// the message holds.
var ErrTruncated = errors.New("ipc: message truncated: a value claims more bytes than the message holds")

// Decoder decodes serialized values. The zero value decodes little-endian
// values into the generic representation (see the package doc) with
// DefaultMaxDepth.
type Decoder struct {
	// BigEndian is set for values from a message whose header byte 0 is 0.
	BigEndian bool
	// Columnar makes the columns of tables decode as qconnect.Vector values
	// (see ToVector) instead of Go slices, in one pass over their bytes.
	Columnar bool
	// MaxDepth bounds nesting; 0 means DefaultMaxDepth.
	MaxDepth int
}

// Unmarshal decodes one little-endian value that fills b (no header).
func Unmarshal(b []byte) (any, error) { return Decoder{}.Decode(b) }

// UnmarshalColumnar is Unmarshal with Columnar set.
func UnmarshalColumnar(b []byte) (any, error) { return Decoder{Columnar: true}.Decode(b) }

// Decode decodes one value that must fill b exactly. A q error value
// (type -128) is returned as a *Error error, not as a value.
func (dc Decoder) Decode(b []byte) (v any, err error) {
	d := decoder{b: b, dc: dc, maxDepth: dc.MaxDepth}
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxDepth
	}
	if dc.BigEndian {
		d.order = binary.BigEndian
	} else {
		d.order = binary.LittleEndian
	}
	v, err = d.value()
	if err != nil {
		return nil, err
	}
	if qe, ok := v.(*Error); ok {
		return nil, qe
	}
	if d.pos != len(b) {
		return nil, fmt.Errorf("ipc: %d bytes left after the value", len(b)-d.pos)
	}
	return v, nil
}

type decoder struct {
	b        []byte
	pos      int
	order    binary.ByteOrder
	dc       Decoder
	depth    int
	maxDepth int
}

func (d *decoder) need(n int) error {
	if n < 0 || n > len(d.b)-d.pos {
		return ErrTruncated
	}
	return nil
}

func (d *decoder) i8() (int8, error) {
	if err := d.need(1); err != nil {
		return 0, err
	}
	d.pos++
	return int8(d.b[d.pos-1]), nil
}

func (d *decoder) u16() (uint16, error) {
	if err := d.need(2); err != nil {
		return 0, err
	}
	d.pos += 2
	return d.order.Uint16(d.b[d.pos-2:]), nil
}

func (d *decoder) u32() (uint32, error) {
	if err := d.need(4); err != nil {
		return 0, err
	}
	d.pos += 4
	return d.order.Uint32(d.b[d.pos-4:]), nil
}

func (d *decoder) u64() (uint64, error) {
	if err := d.need(8); err != nil {
		return 0, err
	}
	d.pos += 8
	return d.order.Uint64(d.b[d.pos-8:]), nil
}

func (d *decoder) sym() (string, error) {
	i := bytes.IndexByte(d.b[d.pos:], 0)
	if i < 0 {
		return "", ErrTruncated
	}
	s := string(d.b[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

// count reads a vector's attribute byte and count and checks that n
// elements of at least size bytes each fit in what is left.
func (d *decoder) count(size int) (int, error) {
	if err := d.need(5); err != nil {
		return 0, err
	}
	d.pos++ // attribute
	n32, _ := d.u32()
	n := int(int32(n32))
	if n < 0 {
		return 0, fmt.Errorf("ipc: negative vector count %d", n)
	}
	if n > (len(d.b)-d.pos)/size {
		return 0, ErrTruncated
	}
	return n, nil
}

// fixed decodes n elements of a fixed-width type into a new slice.
func fixed[T any](d *decoder, n int) []T {
	s := make([]T, n)
	if n == 0 {
		return s
	}
	var z T
	size := int(unsafe.Sizeof(z))
	src := d.b[d.pos : d.pos+n*size]
	d.pos += n * size
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*size)
	if size == 1 || size == 16 || hostLittle == (d.order == binary.LittleEndian) {
		copy(dst, src)
		return s
	}
	for i := 0; i < n*size; i += size { // swap each element
		for k := 0; k < size; k++ {
			dst[i+k] = src[i+size-1-k]
		}
	}
	return s
}

var sizes = [20]int{0, 1, 16, 0, 1, 2, 4, 8, 4, 8, 1, 1, 8, 4, 4, 8, 8, 4, 4, 4}

func (d *decoder) value() (any, error) {
	t, err := d.i8()
	if err != nil {
		return nil, err
	}
	switch {
	case t < 0 && t >= -KTime:
		return d.atom(t)
	case t == KError:
		s, err := d.sym()
		if err != nil {
			return nil, err
		}
		return &Error{Msg: s}, nil
	case t > 0 && t <= KTime:
		if t == 3 {
			break
		}
		return d.vector(t)
	case t == KList:
		d.depth++
		defer func() { d.depth-- }()
		if d.depth > d.maxDepth {
			return nil, fmt.Errorf("ipc: nesting deeper than %d", d.maxDepth)
		}
		n, err := d.count(2) // the smallest value is 2 bytes (::)
		if err != nil {
			return nil, err
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(); err != nil {
				return nil, err
			}
		}
		return l, nil
	case t == KTable:
		if _, err := d.i8(); err != nil { // attribute
			return nil, err
		}
		return d.table()
	case t == KDict || t == KSortedDict:
		d.depth++
		defer func() { d.depth-- }()
		if d.depth > d.maxDepth {
			return nil, fmt.Errorf("ipc: nesting deeper than %d", d.maxDepth)
		}
		k, err := d.value()
		if err != nil {
			return nil, err
		}
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if err := checkDict(k, v); err != nil {
			return nil, err
		}
		return Dict{Key: k, Value: v}, nil
	case t == KLambda:
		ctx, err := d.sym()
		if err != nil {
			return nil, err
		}
		body, err := d.value()
		if err != nil {
			return nil, err
		}
		s, ok := body.(string)
		if !ok {
			return nil, fmt.Errorf("ipc: lambda body is %T, not a char vector", body)
		}
		return Lambda{Context: ctx, Body: s}, nil
	case t == KUnary:
		b, err := d.i8()
		if err != nil {
			return nil, err
		}
		if b == 0 {
			return Identity{}, nil
		}
		return nil, fmt.Errorf("ipc: unsupported q value: unary primitive %d", b)
	}
	return nil, fmt.Errorf("ipc: unsupported q type %d", t)
}

func checkDict(k, v any) error {
	kn, kok := length(k)
	vn, vok := length(v)
	if kok && vok && kn != vn {
		return fmt.Errorf("ipc: dictionary with %d keys and %d values", kn, vn)
	}
	return nil
}

func (d *decoder) table() (any, error) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > d.maxDepth {
		return nil, fmt.Errorf("ipc: nesting deeper than %d", d.maxDepth)
	}
	if t, err := d.i8(); err != nil {
		return nil, err
	} else if t != KDict {
		return nil, fmt.Errorf("ipc: table is a flip of type %d, not a dictionary", t)
	}
	k, err := d.value()
	if err != nil {
		return nil, err
	}
	names, ok := k.([]string)
	if !ok {
		return nil, fmt.Errorf("ipc: table column names are %T, not symbols", k)
	}
	if t, err := d.i8(); err != nil {
		return nil, err
	} else if t != KList {
		return nil, fmt.Errorf("ipc: table columns are of type %d, not a general list", t)
	}
	n, err := d.count(2)
	if err != nil {
		return nil, err
	}
	if n != len(names) {
		return nil, fmt.Errorf("ipc: table with %d column names and %d columns", len(names), n)
	}
	data := make([]any, n)
	rows := -1
	for i := range data {
		if d.dc.Columnar {
			data[i], err = d.column(names[i])
		} else {
			data[i], err = d.value()
		}
		if err != nil {
			return nil, err
		}
		m, ok := length(data[i])
		if !ok {
			return nil, fmt.Errorf("ipc: table column %s is an atom", names[i])
		}
		if rows >= 0 && m != rows {
			return nil, fmt.Errorf("ipc: table column %s has %d rows, not %d", names[i], m, rows)
		}
		rows = m
	}
	return Table{Columns: names, Data: data}, nil
}

// length returns the count of a vector, list or table.
func length(v any) (int, bool) {
	switch x := v.(type) {
	case []bool:
		return len(x), true
	case []GUID:
		return len(x), true
	case []byte:
		return len(x), true
	case []int16:
		return len(x), true
	case []int32:
		return len(x), true
	case []int64:
		return len(x), true
	case []float32:
		return len(x), true
	case []float64:
		return len(x), true
	case string:
		return len(x), true
	case []string:
		return len(x), true
	case []Timestamp:
		return len(x), true
	case []Month:
		return len(x), true
	case []Date:
		return len(x), true
	case []Datetime:
		return len(x), true
	case []Timespan:
		return len(x), true
	case []Minute:
		return len(x), true
	case []Second:
		return len(x), true
	case []Time:
		return len(x), true
	case []any:
		return len(x), true
	case Table:
		if len(x.Data) == 0 {
			return 0, true
		}
		return length(x.Data[0])
	case qconnect.Vector:
		return vectorLen(&x), true
	}
	return 0, false
}

func (d *decoder) atom(t int8) (any, error) {
	switch -t {
	case KBoolean:
		b, err := d.i8()
		return b != 0, err
	case KGUID:
		if err := d.need(16); err != nil {
			return nil, err
		}
		var g GUID
		copy(g[:], d.b[d.pos:])
		d.pos += 16
		return g, nil
	case KByte:
		b, err := d.i8()
		return byte(b), err
	case KShort:
		v, err := d.u16()
		return int16(v), err
	case KInt:
		v, err := d.u32()
		return int32(v), err
	case KLong:
		v, err := d.u64()
		return int64(v), err
	case KReal:
		v, err := d.u32()
		return math.Float32frombits(v), err
	case KFloat:
		v, err := d.u64()
		return math.Float64frombits(v), err
	case KChar:
		b, err := d.i8()
		return Char(b), err
	case KSymbol:
		s, err := d.sym()
		return Symbol(s), err
	case KTimestamp:
		v, err := d.u64()
		return Timestamp(v), err
	case KMonth:
		v, err := d.u32()
		return Month(v), err
	case KDate:
		v, err := d.u32()
		return Date(v), err
	case KDatetime:
		v, err := d.u64()
		return Datetime(math.Float64frombits(v)), err
	case KTimespan:
		v, err := d.u64()
		return Timespan(v), err
	case KMinute:
		v, err := d.u32()
		return Minute(v), err
	case KSecond:
		v, err := d.u32()
		return Second(v), err
	case KTime:
		v, err := d.u32()
		return Time(v), err
	}
	return nil, fmt.Errorf("ipc: unsupported q atom type %d", t)
}

func (d *decoder) vector(t int8) (any, error) {
	if t == KSymbol {
		n, err := d.count(1)
		if err != nil {
			return nil, err
		}
		s := make([]string, n)
		for i := range s {
			if s[i], err = d.sym(); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	n, err := d.count(sizes[t])
	if err != nil {
		return nil, err
	}
	switch t {
	case KBoolean:
		b := fixed[byte](d, n)
		out := make([]bool, n)
		for i, x := range b {
			out[i] = x != 0
		}
		return out, nil
	case KGUID:
		return fixed[GUID](d, n), nil
	case KByte:
		return fixed[byte](d, n), nil
	case KShort:
		return fixed[int16](d, n), nil
	case KInt:
		return fixed[int32](d, n), nil
	case KLong:
		return fixed[int64](d, n), nil
	case KReal:
		return fixed[float32](d, n), nil
	case KFloat:
		return fixed[float64](d, n), nil
	case KChar:
		s := string(d.b[d.pos : d.pos+n])
		d.pos += n
		return s, nil
	case KTimestamp:
		return fixed[Timestamp](d, n), nil
	case KMonth:
		return fixed[Month](d, n), nil
	case KDate:
		return fixed[Date](d, n), nil
	case KDatetime:
		return fixed[Datetime](d, n), nil
	case KTimespan:
		return fixed[Timespan](d, n), nil
	case KMinute:
		return fixed[Minute](d, n), nil
	case KSecond:
		return fixed[Second](d, n), nil
	case KTime:
		return fixed[Time](d, n), nil
	}
	return nil, fmt.Errorf("ipc: unsupported q vector type %d", t)
}
