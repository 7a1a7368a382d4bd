package duckdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
	"unsafe"

	bindings "github.com/duckdb/duckdb-go-bindings"
	"github.com/qconnect/qconnect"
)

// vec is one column of a DuckDB data chunk: its values and its validity
// mask, as duckdb_vector_get_data and duckdb_vector_get_validity hand them
// out through the bindings' public API. Chunks of query results are flat,
// so row i is element i. Reading that C memory, and writing the appender's
// chunks the same way (append.go: put), are the only uses of unsafe in this
// package: the layouts are DuckDB's documented C types (duckdb.h), and the
// memory is what the bindings' public functions hand out. No reflect or
// unsafe touches another Go module's unexported state.
type vec struct {
	data  unsafe.Pointer
	valid unsafe.Pointer // one bit per row, 1 = not NULL; nil when no row is NULL
}

func vectorOf(chunk bindings.DataChunk, col int) vec {
	v := bindings.DataChunkGetVector(chunk, bindings.IdxT(col))
	return vec{data: bindings.VectorGetData(v), valid: bindings.VectorGetValidity(v)}
}

// null reports whether row i is NULL; the validity mask is read directly,
// not through a cgo call per row.
func (v vec) null(i int) bool {
	if v.valid == nil {
		return false
	}
	w := *(*uint64)(unsafe.Add(v.valid, uintptr(i/64)*8))
	return w&(1<<(uint(i)%64)) == 0
}

// elems views n values of type T of a vector, starting at row from.
func elems[T any](v vec, from, n int) []T {
	return unsafe.Slice((*T)(v.data), from+n)[from:]
}

// target is the batch vector a decoder fills, with the memory it keeps
// from batch to batch.
type target struct {
	v     *qconnect.Vector
	size  int      // rows of the batch being filled
	valid []uint64 // reused validity bitmap
	codes []uint32 // reused dictionary codes
}

// null marks row i of the batch null.
func (t *target) null(i int) {
	if t.v.Valid == nil {
		t.v.Valid = qconnect.AllValid(t.valid, t.size)
		t.valid = t.v.Valid
	}
	t.v.Valid[i>>6] &^= 1 << (uint(i) & 63)
}

// decoder writes n rows of a chunk's vector v, from row from, into rows
// at, at+1, … of the batch vector of t. Fixed-width batch vectors are
// sized to the batch; strings are appended (rows arrive in order).
type decoder func(t *target, v vec, from, n, at int) error

// fixed decodes a fixed-width DuckDB type T into the batch slice that dst
// selects, converting each value with conv.
func fixed[T, U any](dst func(*qconnect.Vector) []U, conv func(T) (U, error)) decoder {
	return func(t *target, v vec, from, n, at int) error {
		src := elems[T](v, from, n)
		out := dst(t.v)[at : at+n]
		for i := range out {
			if v.null(from + i) {
				t.null(at + i)
				continue
			}
			u, err := conv(src[i])
			if err != nil {
				return err
			}
			out[i] = u
		}
		return nil
	}
}

func ints(v *qconnect.Vector) []int64     { return v.Ints }
func floats(v *qconnect.Vector) []float64 { return v.Floats }

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
		return func(t *target, _ vec, _, n, at int) error {
			for i := range n {
				t.null(at + i)
			}
			if t.v.Type.Storage() == qconnect.StorageBytes {
				for range n {
					t.v.Offsets = append(t.v.Offsets, int32(len(t.v.Data)))
				}
			}
			return nil
		}
	case bindings.TypeBoolean:
		return fixed(func(v *qconnect.Vector) []bool { return v.Bools }, ok(func(b uint8) bool { return b != 0 }))
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
			return fixed(floats, ok(func(x uint64) float64 { return float64(x) }))
		}
		return fixed(ints, func(x uint64) (int64, error) {
			if x > math.MaxInt64 {
				return 0, fmt.Errorf("%d does not fit a long: cast the column to DOUBLE in the query and declare it float", x)
			}
			return int64(x), nil
		})
	case bindings.TypeHugeInt, bindings.TypeUHugeInt:
		signed := c.id == bindings.TypeHugeInt
		if toFloat {
			return fixed(floats, ok(func(h hugeint) float64 { f, _ := new(big.Float).SetInt(h.big(signed)).Float64(); return f }))
		}
		return fixed(ints, func(h hugeint) (int64, error) {
			if i, fits := h.int64(signed); fits {
				return i, nil
			}
			return 0, fmt.Errorf("%s does not fit a long: cast the column to DOUBLE in the query and declare it float", h.big(signed))
		})
	case bindings.TypeFloat:
		return fixed(floats, ok(func(x float32) float64 { return float64(x) }))
	case bindings.TypeDouble:
		return fixed(floats, ok(func(x float64) float64 { return x }))
	case bindings.TypeDecimal:
		return decimal(c)
	case bindings.TypeVarchar, bindings.TypeBlob:
		return varchar
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
		if t == qconnect.Timestamp {
			return fixed(ints, func(days int32) (int64, error) { return scale(int64(days), qconnect.NanosPerDay) })
		}
		return fixed(ints, ok(func(days int32) int64 { return int64(days) }))
	case bindings.TypeTime:
		return fixed(ints, ok(func(us int64) int64 { return us * int64(time.Microsecond) }))
	case bindings.TypeTimeNS:
		return fixed(ints, ok(func(ns int64) int64 { return ns }))
	case bindings.TypeInterval:
		return fixed(ints, func(iv interval) (int64, error) {
			d, err := intervalDuration(iv.months, iv.days, iv.micros)
			return int64(d), err
		})
	case bindings.TypeUUID:
		return fixed(func(v *qconnect.Vector) [][16]byte { return v.GUIDs }, ok(func(h hugeint) [16]byte {
			// DuckDB stores a UUID as a hugeint with the top bit flipped, so
			// that UUIDs sort as their bytes do.
			var g [16]byte
			binary.BigEndian.PutUint64(g[:8], h.upper^(1<<63))
			binary.BigEndian.PutUint64(g[8:], h.lower)
			return g
		}))
	}
	return func(*target, vec, int, int, int) error {
		return fmt.Errorf("DuckDB type %s cannot be returned: cast it in the query (e.g. ::VARCHAR)", c.dbType)
	}
}

// integer decodes a DuckDB integer type that fits an int64.
func integer[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](toFloat bool) decoder {
	if toFloat {
		return fixed(floats, ok(func(x T) float64 { return float64(x) }))
	}
	return fixed(ints, ok(func(x T) int64 { return int64(x) }))
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
		return fixed(floats, ok(func(x int16) float64 { return fromInt(int64(x)) }))
	case bindings.TypeInteger:
		return fixed(floats, ok(func(x int32) float64 { return fromInt(int64(x)) }))
	case bindings.TypeBigInt:
		return fixed(floats, ok(fromInt))
	case bindings.TypeHugeInt:
		factor := new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.scale)), nil))
		return fixed(floats, ok(func(h hugeint) float64 {
			if i, fits := h.int64(true); fits {
				return fromInt(i)
			}
			f, _ := new(big.Float).Quo(new(big.Float).SetInt(h.big(true)), factor).Float64()
			return f
		}))
	}
	return func(*target, vec, int, int, int) error {
		return fmt.Errorf("DECIMAL stored as DuckDB type %d is not supported: cast the column to DOUBLE in the query", c.internal)
	}
}

// DuckDB's duckdb_string_t: 16 bytes, a uint32 length, then the bytes
// themselves when they fit (at most 12), else a prefix and a pointer at
// offset 8 (duckdb.h).
const (
	stringInlineLength  = 12
	stringInlineOffset  = 4
	stringPointerOffset = 8
	stringTSize         = 16
)

// borrowedBytes returns the bytes of row i of a VARCHAR or BLOB vector,
// without copying: they are only valid while the chunk is.
func borrowedBytes(v vec, i int) []byte {
	p := unsafe.Add(v.data, uintptr(i)*stringTSize)
	n := *(*uint32)(p)
	if n <= stringInlineLength {
		return unsafe.Slice((*byte)(unsafe.Add(p, stringInlineOffset)), int(n))
	}
	return unsafe.Slice(*(**byte)(unsafe.Add(p, stringPointerOffset)), int(n))
}

// varchar copies the strings of the rows into the vector's Data.
func varchar(t *target, v vec, from, n, at int) error {
	dst := t.v
	for i := range n {
		if v.null(from + i) {
			t.null(at + i)
			dst.Offsets = append(dst.Offsets, int32(len(dst.Data)))
			continue
		}
		dst.Data = append(dst.Data, borrowedBytes(v, from+i)...)
		if len(dst.Data) > math.MaxInt32 {
			return errors.New("a batch of strings exceeds 2 GiB: lower --duckdb-batch-size")
		}
		dst.Offsets = append(dst.Offsets, int32(len(dst.Data)))
	}
	return nil
}

// enum gives the vector the ENUM's dictionary and copies each row's index
// as its code: symbols are never copied.
func enum(c colType) decoder {
	fill := func(t *target, v vec, from, n, at int, index func(i int) uint32) error {
		if t.v.Dict == nil {
			t.codes = resize(t.codes, t.size)
			t.v.Dict, t.v.Codes = c.dict, t.codes
		}
		for i := range n {
			if v.null(from + i) {
				t.null(at + i)
				t.v.Codes[at+i] = 0
				continue
			}
			x := index(i)
			if int64(x) >= int64(len(c.dict)) {
				return fmt.Errorf("ENUM index %d is beyond the dictionary of %d values", x, len(c.dict))
			}
			t.v.Codes[at+i] = x
		}
		return nil
	}
	if len(c.dict) == 0 {
		// Every row is NULL; Dict must not be nil for a dictionary vector.
		c.dict = []string{""}
	}
	switch c.internal {
	case bindings.TypeUTinyInt:
		return func(t *target, v vec, from, n, at int) error {
			idx := elems[uint8](v, from, n)
			return fill(t, v, from, n, at, func(i int) uint32 { return uint32(idx[i]) })
		}
	case bindings.TypeUSmallInt:
		return func(t *target, v vec, from, n, at int) error {
			idx := elems[uint16](v, from, n)
			return fill(t, v, from, n, at, func(i int) uint32 { return uint32(idx[i]) })
		}
	case bindings.TypeUInteger:
		return func(t *target, v vec, from, n, at int) error {
			idx := elems[uint32](v, from, n)
			return fill(t, v, from, n, at, func(i int) uint32 { return idx[i] })
		}
	}
	return func(*target, vec, int, int, int) error {
		return fmt.Errorf("ENUM stored as DuckDB type %d is not supported: cast the column to VARCHAR in the query", c.internal)
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// errTimestampRange is the error for a timestamp a batch cannot hold.
var errTimestampRange = errors.New("timestamp outside 1677-09-21 to 2262-04-11, the range of nanoseconds since 1970: cast the column to DATE or VARCHAR in the query")

// scale multiplies x by f, failing on overflow.
func scale(x, f int64) (int64, error) {
	if x > math.MaxInt64/f || x < math.MinInt64/f {
		return 0, errTimestampRange
	}
	return x * f, nil
}

// timestamp decodes a timestamp stored as an int64 count of unit since the
// Unix epoch, to nanoseconds, or to its UTC day when declared date.
func timestamp(t qconnect.Type, unit time.Duration) decoder {
	if t == qconnect.Date {
		perDay := int64(24 * time.Hour / unit)
		return fixed(ints, ok(func(x int64) int64 {
			days := x / perDay
			if x%perDay < 0 {
				days--
			}
			return days
		}))
	}
	if unit == time.Nanosecond {
		return fixed(ints, ok(func(x int64) int64 { return x }))
	}
	return fixed(ints, func(x int64) (int64, error) { return scale(x, int64(unit)) })
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
