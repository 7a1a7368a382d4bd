package duckdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"time"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// vec is one column of a DuckDB data chunk: its values and its validity
// mask. Chunks of query results are flat, so row i is element i.
type vec struct {
	data  unsafe.Pointer
	valid unsafe.Pointer // one bit per row, 1 = not NULL; nil when no row is NULL
}

func vectorOf(chunk bindings.DataChunk, col int) vec {
	v := bindings.DataChunkGetVector(chunk, bindings.IdxT(col))
	return vec{data: bindings.VectorGetData(v), valid: bindings.VectorGetValidity(v)}
}

// null reports whether row i is NULL; the validity mask is read directly
// (as duckdb-go does), not through a cgo call per row.
func (v vec) null(i int) bool {
	if v.valid == nil {
		return false
	}
	w := *(*uint64)(unsafe.Add(v.valid, uintptr(i/64)*8))
	return w&(1<<(uint(i)%64)) == 0
}

// decoder writes column j of the rows dst from the rows from, from+1, …
// of a chunk's vector, as values of the qconnect convention.
type decoder func(dst [][]any, j int, v vec, from int) error

// elems views n values of type T of a vector, starting at row from.
func elems[T any](v vec, from, n int) []T {
	return unsafe.Slice((*T)(v.data), from+n)[from:]
}

// eface is the layout of an interface value holding a type that is not
// pointer-shaped: its type, and a pointer to the value.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of interfaces holding a U. U must not be
// pointer-shaped (a pointer, map, chan, func, or a struct or array of one
// such), since an interface holds those directly rather than through a
// pointer; the types decoded here never are, and typeWord panics if one
// ever is.
func typeWord[U any]() unsafe.Pointer {
	if t := reflect.TypeFor[U](); pointerShaped(t) {
		panic("duckdb: cannot box " + t.String() + " through a pointer")
	}
	var x any = *new(U)
	return (*eface)(unsafe.Pointer(&x)).typ
}

func pointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		return t.NumField() == 1 && pointerShaped(t.Field(0).Type)
	case reflect.Array:
		return t.Len() == 1 && pointerShaped(t.Elem())
	}
	return false
}

// boxed returns an interface value holding *p, as any(*p) would, without
// copying *p to an allocation of its own: converting each value to any
// allocated once per value, which dominated the cost of a row. The values
// of one segment of a column are allocated together in one slice and never
// written again once boxed, so the interfaces are as immutable as ordinary
// ones and keep the slice alive while any of them is referenced.
// typ is typeWord[U]().
func boxed[U any](typ unsafe.Pointer, p *U) (x any) {
	*(*eface)(unsafe.Pointer(&x)) = eface{typ: typ, data: unsafe.Pointer(p)}
	return x
}

// fixed decodes a fixed-width DuckDB type T into values of type U.
func fixed[T, U any](conv func(T) (U, error)) decoder {
	typ := typeWord[U]()
	return func(dst [][]any, j int, v vec, from int) error {
		src := elems[T](v, from, len(dst))
		vals := make([]U, len(dst))
		for i, row := range dst {
			if v.null(from + i) {
				row[j] = nil
				continue
			}
			u, err := conv(src[i])
			if err != nil {
				return err
			}
			vals[i] = u
			row[j] = boxed(typ, &vals[i])
		}
		return nil
	}
}

// ok wraps a conversion that cannot fail.
func ok[T, U any](f func(T) U) func(T) (U, error) {
	return func(x T) (U, error) { return f(x), nil }
}

// Layouts of DuckDB's C structs (duckdb.h).
type (
	hugeint  struct{ lower, upper uint64 } // duckdb_hugeint (upper signed) and duckdb_uhugeint
	interval struct {
		months, days int32
		micros       int64
	}
)

const (
	microsPerDay  = int64(24 * time.Hour / time.Microsecond)
	secondsPerDay = 24 * 60 * 60
)

// newDecoder returns the decoder of a column of type c declared t, which
// compatible must have accepted.
func newDecoder(c colType, t qconnect.Type) decoder {
	toFloat := t == qconnect.Float || t == qconnect.Real
	switch c.id {
	case bindings.TypeSQLNull:
		return func(dst [][]any, j int, _ vec, _ int) error {
			for _, row := range dst {
				row[j] = nil
			}
			return nil
		}
	case bindings.TypeBoolean:
		return func(dst [][]any, j int, v vec, from int) error {
			for i, b := range elems[uint8](v, from, len(dst)) {
				if v.null(from + i) {
					dst[i][j] = nil
				} else {
					dst[i][j] = b != 0 // boxing a bool does not allocate
				}
			}
			return nil
		}
	case bindings.TypeTinyInt:
		return integer[int8](toFloat)
	case bindings.TypeSmallInt:
		return integer[int16](toFloat)
	case bindings.TypeInteger:
		return integer[int32](toFloat)
	case bindings.TypeBigInt:
		return integer[int64](toFloat)
	case bindings.TypeUTinyInt:
		return integer[uint8](toFloat)
	case bindings.TypeUSmallInt:
		return integer[uint16](toFloat)
	case bindings.TypeUInteger:
		return integer[uint32](toFloat)
	case bindings.TypeUBigInt:
		if toFloat {
			return fixed(ok(func(x uint64) float64 { return float64(x) }))
		}
		return fixed(func(x uint64) (int64, error) {
			if x > math.MaxInt64 {
				return 0, fmt.Errorf("%d does not fit a long: cast the column to DOUBLE in the query and declare it float", x)
			}
			return int64(x), nil
		})
	case bindings.TypeHugeInt, bindings.TypeUHugeInt:
		signed := c.id == bindings.TypeHugeInt
		if toFloat {
			return fixed(ok(func(h hugeint) float64 { f, _ := new(big.Float).SetInt(h.big(signed)).Float64(); return f }))
		}
		return fixed(func(h hugeint) (int64, error) {
			if i, fits := h.int64(signed); fits {
				return i, nil
			}
			return 0, fmt.Errorf("%s does not fit a long: cast the column to DOUBLE in the query and declare it float", h.big(signed))
		})
	case bindings.TypeFloat:
		return fixed(ok(func(x float32) float64 { return float64(x) }))
	case bindings.TypeDouble:
		return fixed(ok(func(x float64) float64 { return x }))
	case bindings.TypeDecimal:
		return decimal(c)
	case bindings.TypeVarchar, bindings.TypeBlob:
		return varchar()
	case bindings.TypeEnum:
		return enum(c)
	case bindings.TypeTimestamp, bindings.TypeTimestampTZ:
		return timestamp(t, time.Microsecond)
	case bindings.TypeTimestampS:
		return timestamp(t, time.Second)
	case bindings.TypeTimestampMS:
		return timestamp(t, time.Millisecond)
	case bindings.TypeTimestampNS:
		return timestamp(t, time.Nanosecond)
	case bindings.TypeDate:
		return fixed(ok(func(days int32) time.Time { return time.Unix(int64(days)*secondsPerDay, 0).UTC() }))
	case bindings.TypeTime:
		return fixed(ok(func(us int64) time.Duration { return time.Duration(us) * time.Microsecond }))
	case bindings.TypeTimeNS:
		return fixed(ok(func(ns int64) time.Duration { return time.Duration(ns) }))
	case bindings.TypeInterval:
		return fixed(func(iv interval) (time.Duration, error) { return intervalDuration(iv.months, iv.days, iv.micros) })
	case bindings.TypeUUID:
		return fixed(ok(func(h hugeint) [16]byte {
			// DuckDB stores a UUID as a hugeint with the top bit flipped, so
			// that UUIDs sort as their bytes do.
			var g [16]byte
			binary.BigEndian.PutUint64(g[:8], h.upper^(1<<63))
			binary.BigEndian.PutUint64(g[8:], h.lower)
			return g
		}))
	}
	return func([][]any, int, vec, int) error {
		return fmt.Errorf("DuckDB type %s cannot be returned: cast it in the query (e.g. ::VARCHAR)", c.dbType)
	}
}

// integer decodes a DuckDB integer type that fits an int64.
func integer[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](toFloat bool) decoder {
	if toFloat {
		return fixed(ok(func(x T) float64 { return float64(x) }))
	}
	return fixed(ok(func(x T) int64 { return int64(x) }))
}

func (h hugeint) int64(signed bool) (int64, bool) {
	switch {
	case h.upper == 0 && h.lower <= math.MaxInt64:
		return int64(h.lower), true
	case signed && h.upper == math.MaxUint64 && h.lower > math.MaxInt64:
		return int64(h.lower), true
	}
	return 0, false
}

func (h hugeint) big(signed bool) *big.Int {
	hi := new(big.Int).SetUint64(h.upper)
	if signed {
		hi.SetInt64(int64(h.upper))
	}
	return hi.Lsh(hi, 64).Add(hi, new(big.Int).SetUint64(h.lower))
}

// decimal decodes DECIMAL(w,s) to float64: the stored integer divided by
// 10^s, exact when the integer fits an int64 and otherwise through
// big.Float (correctly rounded).
func decimal(c colType) decoder {
	pow := math.Pow10(int(c.scale))
	fromInt := func(x int64) float64 { return float64(x) / pow }
	switch c.internal {
	case bindings.TypeSmallInt:
		return fixed(ok(func(x int16) float64 { return fromInt(int64(x)) }))
	case bindings.TypeInteger:
		return fixed(ok(func(x int32) float64 { return fromInt(int64(x)) }))
	case bindings.TypeBigInt:
		return fixed(ok(fromInt))
	case bindings.TypeHugeInt:
		factor := new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.scale)), nil))
		return fixed(ok(func(h hugeint) float64 {
			if i, fits := h.int64(true); fits {
				return fromInt(i)
			}
			f, _ := new(big.Float).Quo(new(big.Float).SetInt(h.big(true)), factor).Float64()
			return f
		}))
	}
	return func([][]any, int, vec, int) error {
		return fmt.Errorf("DECIMAL stored as DuckDB type %d is not supported: cast the column to DOUBLE in the query", c.internal)
	}
}

// DuckDB's duckdb_string_t: 16 bytes, a uint32 length, then the bytes
// themselves when they fit (at most 12), else a prefix and a pointer at
// offset 8 (see duckdb-go's vector_getters.go).
const (
	stringInlineLength  = 12
	stringInlineOffset  = 4
	stringPointerOffset = 8
	stringTSize         = 16
)

// borrowedString returns the bytes of row i of a VARCHAR or BLOB vector,
// without copying: they are only valid while the chunk is.
func borrowedString(v vec, i int) string {
	p := unsafe.Add(v.data, uintptr(i)*stringTSize)
	n := *(*uint32)(p)
	if n <= stringInlineLength {
		return unsafe.String((*byte)(unsafe.Add(p, stringInlineOffset)), int(n))
	}
	return unsafe.String(*(**byte)(unsafe.Add(p, stringPointerOffset)), int(n))
}

// varchar copies the strings of a segment into one allocation and boxes
// them through one slice of string headers.
func varchar() decoder {
	typ := typeWord[string]()
	return func(dst [][]any, j int, v vec, from int) error {
		return decodeStrings(typ, dst, j, v, from)
	}
}

func decodeStrings(typ unsafe.Pointer, dst [][]any, j int, v vec, from int) error {
	total := 0
	for i := range dst {
		if !v.null(from + i) {
			total += len(borrowedString(v, from+i))
		}
	}
	buf := make([]byte, 0, total)
	strs := make([]string, len(dst))
	for i, row := range dst {
		if v.null(from + i) {
			row[j] = nil
			continue
		}
		s := borrowedString(v, from+i)
		if len(s) > 0 {
			start := len(buf)
			buf = append(buf, s...)
			strs[i] = unsafe.String(&buf[start], len(s)) // buf never grows beyond its capacity: never moved
		}
		row[j] = boxed(typ, &strs[i])
	}
	return nil
}

// enum maps the dictionary index of each row to its string, boxed once per
// call.
func enum(c colType) decoder {
	lookup := func(i uint32) (any, error) {
		if int64(i) >= int64(len(c.dict)) {
			return nil, fmt.Errorf("ENUM index %d is beyond the dictionary of %d values", i, len(c.dict))
		}
		return c.dict[i], nil
	}
	fill := func(dst [][]any, j int, v vec, from int, index func(i int) uint32) error {
		for i, row := range dst {
			if v.null(from + i) {
				row[j] = nil
				continue
			}
			x, err := lookup(index(i))
			if err != nil {
				return err
			}
			row[j] = x
		}
		return nil
	}
	switch c.internal {
	case bindings.TypeUTinyInt:
		return func(dst [][]any, j int, v vec, from int) error {
			idx := elems[uint8](v, from, len(dst))
			return fill(dst, j, v, from, func(i int) uint32 { return uint32(idx[i]) })
		}
	case bindings.TypeUSmallInt:
		return func(dst [][]any, j int, v vec, from int) error {
			idx := elems[uint16](v, from, len(dst))
			return fill(dst, j, v, from, func(i int) uint32 { return uint32(idx[i]) })
		}
	case bindings.TypeUInteger:
		return func(dst [][]any, j int, v vec, from int) error {
			idx := elems[uint32](v, from, len(dst))
			return fill(dst, j, v, from, func(i int) uint32 { return idx[i] })
		}
	}
	return func([][]any, int, vec, int) error {
		return fmt.Errorf("ENUM stored as DuckDB type %d is not supported: cast the column to VARCHAR in the query", c.internal)
	}
}

// timestamp decodes a timestamp stored as an int64 count of unit since the
// Unix epoch, to a time.Time in UTC, or to its UTC day when declared date.
func timestamp(t qconnect.Type, unit time.Duration) decoder {
	perSecond := int64(time.Second / unit)
	if t == qconnect.Date {
		perDay := perSecond * secondsPerDay
		return fixed(ok(func(x int64) time.Time {
			days := x / perDay
			if x%perDay < 0 {
				days--
			}
			return time.Unix(days*secondsPerDay, 0).UTC()
		}))
	}
	return fixed(ok(func(x int64) time.Time {
		sec, frac := x/perSecond, x%perSecond
		return time.Unix(sec, frac*int64(unit)).UTC()
	}))
}

// intervalDuration converts a DuckDB interval; a month counts 30 days (the
// convention of DuckDB's epoch() of an interval).
func intervalDuration(months, days int32, micros int64) (time.Duration, error) {
	const maxUS = math.MaxInt64 / int64(time.Microsecond)
	d := int64(months)*30 + int64(days)
	if d > maxUS/microsPerDay || d < -maxUS/microsPerDay || micros > maxUS || micros < -maxUS {
		return 0, errIntervalRange
	}
	us := d*microsPerDay + micros // both terms are within ±maxUS: no overflow
	if us > maxUS || us < -maxUS {
		return 0, errIntervalRange
	}
	return time.Duration(us) * time.Microsecond, nil
}

var errIntervalRange = errors.New("interval does not fit a timespan (about ±292 years)")
