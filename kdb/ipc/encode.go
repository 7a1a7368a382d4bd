package ipc

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// size returns the serialized size of v (an estimate for values Marshal
// rejects), so that a message is allocated once.
func size(v any, depth int) int {
	if depth > 64 {
		return 0
	}
	switch x := v.(type) {
	case string:
		return 6 + len(x)
	case []string:
		n := 6 + len(x)
		for _, s := range x {
			n += len(s)
		}
		return n
	case []any:
		n := 6
		for _, item := range x {
			n += size(item, depth+1)
		}
		return n
	case Table:
		return 3 + size(x.Columns, depth+1) + size(x.Data, depth+1)
	case *Table:
		return size(*x, depth)
	case Dict:
		return 1 + size(x.Key, depth+1) + size(x.Value, depth+1)
	case *Dict:
		return size(*x, depth)
	case Symbol:
		return 2 + len(x)
	}
	if n, ok := length(v); ok {
		t, _ := TypeOf(v)
		if t > 0 && int(t) < len(sizes) {
			return 6 + n*sizes[t]
		}
	}
	return 17
}

// MsgType is the message type of the header's byte 1.
type MsgType byte

// The message types.
const (
	Async    MsgType = 0
	Sync     MsgType = 1
	Response MsgType = 2
)

// HeaderSize is the size of a message header.
const HeaderSize = 8

// maxWireLen is the largest total message length capability 3 allows.
const maxWireLen = math.MaxInt32

// Marshal returns the serialization of v (without a message header), little-endian.
func Marshal(v any) ([]byte, error) { return AppendValue(nil, v) }

// AppendValue appends the serialization of v to dst.
func AppendValue(dst []byte, v any) ([]byte, error) {
	e := encoder{b: dst}
	if err := e.value(v); err != nil {
		return dst, err
	}
	return e.b, nil
}

// AppendMessage appends a whole uncompressed message of type t carrying v to dst.
func AppendMessage(dst []byte, t MsgType, v any) ([]byte, error) {
	start := len(dst)
	if need := HeaderSize + size(v, 0); cap(dst)-len(dst) < need {
		grown := make([]byte, len(dst), len(dst)+need)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, 1, byte(t), 0, 0, 0, 0, 0, 0)
	dst, err := AppendValue(dst, v)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start
	if n > maxWireLen {
		return dst[:start], fmt.Errorf("ipc: message of %d bytes exceeds the 2 GB capability-3 limit", n)
	}
	binary.LittleEndian.PutUint32(dst[start+4:], uint32(n))
	return dst, nil
}

type encoder struct{ b []byte }

func (e *encoder) i8(v int8)    { e.b = append(e.b, byte(v)) }
func (e *encoder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

func (e *encoder) head(t int8, n int) error {
	if n > math.MaxInt32 {
		return fmt.Errorf("ipc: vector of %d elements exceeds the 2^31-1 limit", n)
	}
	e.b = append(e.b, byte(t), 0)
	e.u32(uint32(n))
	return nil
}

// raw appends the memory of a fixed-width slice: on a little-endian host
// that is exactly q's little-endian layout.
func raw[T any](e *encoder, t int8, s []T) error {
	if err := e.head(t, len(s)); err != nil {
		return err
	}
	if len(s) == 0 {
		return nil
	}
	var z T
	size := int(unsafe.Sizeof(z))
	if hostLittle {
		e.b = append(e.b, unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size)...)
		return nil
	}
	for i := range s {
		p := unsafe.Pointer(&s[i])
		switch size {
		case 1:
			e.b = append(e.b, *(*byte)(p))
		case 2:
			e.u16(*(*uint16)(p))
		case 4:
			e.u32(*(*uint32)(p))
		case 8:
			e.u64(*(*uint64)(p))
		case 16:
			e.b = append(e.b, (*(*[16]byte)(p))[:]...)
		}
	}
	return nil
}

var hostLittle = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

func (e *encoder) sym(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("ipc: symbol %q contains a NUL byte", s)
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	return nil
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case nil, Identity:
		e.b = append(e.b, byte(KUnary), 0)
	case bool:
		e.i8(-KBoolean)
		if x {
			e.b = append(e.b, 1)
		} else {
			e.b = append(e.b, 0)
		}
	case []bool:
		return raw(e, KBoolean, x)
	case GUID:
		e.i8(-KGUID)
		e.b = append(e.b, x[:]...)
	case []GUID:
		return raw(e, KGUID, x)
	case byte:
		e.i8(-KByte)
		e.b = append(e.b, x)
	case []byte:
		return raw(e, KByte, x)
	case int16:
		e.i8(-KShort)
		e.u16(uint16(x))
	case []int16:
		return raw(e, KShort, x)
	case int32:
		e.i8(-KInt)
		e.u32(uint32(x))
	case []int32:
		return raw(e, KInt, x)
	case int64:
		e.i8(-KLong)
		e.u64(uint64(x))
	case []int64:
		return raw(e, KLong, x)
	case float32:
		e.i8(-KReal)
		e.u32(math.Float32bits(x))
	case []float32:
		return raw(e, KReal, x)
	case float64:
		e.i8(-KFloat)
		e.u64(math.Float64bits(x))
	case []float64:
		return raw(e, KFloat, x)
	case Char:
		e.i8(-KChar)
		e.b = append(e.b, byte(x))
	case string:
		if err := e.head(KChar, len(x)); err != nil {
			return err
		}
		e.b = append(e.b, x...)
	case Symbol:
		e.i8(-KSymbol)
		return e.sym(string(x))
	case []string:
		if err := e.head(KSymbol, len(x)); err != nil {
			return err
		}
		for _, s := range x {
			if err := e.sym(s); err != nil {
				return err
			}
		}
	case Timestamp:
		e.i8(-KTimestamp)
		e.u64(uint64(x))
	case []Timestamp:
		return raw(e, KTimestamp, x)
	case Month:
		e.i8(-KMonth)
		e.u32(uint32(x))
	case []Month:
		return raw(e, KMonth, x)
	case Date:
		e.i8(-KDate)
		e.u32(uint32(x))
	case []Date:
		return raw(e, KDate, x)
	case Datetime:
		e.i8(-KDatetime)
		e.u64(math.Float64bits(float64(x)))
	case []Datetime:
		return raw(e, KDatetime, x)
	case Timespan:
		e.i8(-KTimespan)
		e.u64(uint64(x))
	case []Timespan:
		return raw(e, KTimespan, x)
	case Minute:
		e.i8(-KMinute)
		e.u32(uint32(x))
	case []Minute:
		return raw(e, KMinute, x)
	case Second:
		e.i8(-KSecond)
		e.u32(uint32(x))
	case []Second:
		return raw(e, KSecond, x)
	case Time:
		e.i8(-KTime)
		e.u32(uint32(x))
	case []Time:
		return raw(e, KTime, x)
	case []any:
		if err := e.head(KList, len(x)); err != nil {
			return err
		}
		for _, item := range x {
			if err := e.value(item); err != nil {
				return err
			}
		}
	case *Table:
		return e.table(*x)
	case Table:
		return e.table(x)
	case *Dict:
		return e.dict(*x)
	case Dict:
		return e.dict(x)
	case Lambda:
		e.i8(KLambda)
		if err := e.sym(x.Context); err != nil {
			return err
		}
		return e.value(x.Body)
	case *Error:
		e.i8(KError)
		return e.sym(x.Msg)
	default:
		return fmt.Errorf("ipc: cannot marshal Go type %T", v)
	}
	return nil
}

func (e *encoder) table(t Table) error {
	if len(t.Columns) != len(t.Data) {
		return fmt.Errorf("ipc: table has %d column names and %d columns", len(t.Columns), len(t.Data))
	}
	e.b = append(e.b, byte(KTable), 0, byte(KDict))
	if err := e.value(t.Columns); err != nil {
		return err
	}
	return e.value(t.Data)
}

func (e *encoder) dict(d Dict) error {
	e.i8(KDict)
	if err := e.value(d.Key); err != nil {
		return err
	}
	return e.value(d.Value)
}
