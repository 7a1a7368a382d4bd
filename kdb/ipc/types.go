package ipc

import (
	"fmt"
	"math"
	"time"
)

// q type numbers. A vector has the positive number, an atom the negative.
const (
	KList       int8 = 0
	KBoolean    int8 = 1
	KGUID       int8 = 2
	KByte       int8 = 4
	KShort      int8 = 5
	KInt        int8 = 6
	KLong       int8 = 7
	KReal       int8 = 8
	KFloat      int8 = 9
	KChar       int8 = 10
	KSymbol     int8 = 11
	KTimestamp  int8 = 12
	KMonth      int8 = 13
	KDate       int8 = 14
	KDatetime   int8 = 15
	KTimespan   int8 = 16
	KMinute     int8 = 17
	KSecond     int8 = 18
	KTime       int8 = 19
	KTable      int8 = 98
	KDict       int8 = 99
	KLambda     int8 = 100
	KUnary      int8 = 101
	KSortedDict int8 = 127
	KError      int8 = -128
)

// GUID is a q guid: 16 bytes in the order written.
type GUID [16]byte

// Char is a q char atom. A char vector is a Go string.
type Char byte

// Symbol is a q symbol atom. A symbol vector is a []string.
type Symbol string

// Timestamp is nanoseconds since 2000.01.01D00:00.
type Timestamp int64

// Month is months since 2000.01.
type Month int32

// Date is days since 2000.01.01.
type Date int32

// Datetime is fractional days since 2000.01.01 (a deprecated q type).
type Datetime float64

// Timespan is nanoseconds.
type Timespan int64

// Minute is minutes since midnight.
type Minute int32

// Second is seconds since midnight.
type Second int32

// Time is milliseconds since midnight.
type Time int32

// Table is a q table (flip of a dictionary from column names to columns):
// Data[i] is the vector or general list of column Columns[i].
type Table struct {
	Columns []string
	Data    []any
}

// Dict is a q dictionary. A keyed table is a Dict whose Key and Value are
// both Tables.
type Dict struct {
	Key, Value any
}

// Identity is q's generic null :: (type 101, value 0). A nil Go value
// marshals as Identity.
type Identity struct{}

// Lambda is a q function given as source text.
type Lambda struct {
	Context string // "" for the root namespace
	Body    string
}

// Error is a q error (type -128), e.g. 'type or a signal from a function.
type Error struct{ Msg string }

func (e *Error) Error() string { return "'" + e.Msg }

// Nulls and infinities, as q encodes them.
const (
	NullShort       int16 = math.MinInt16
	InfShort        int16 = math.MaxInt16
	NullInt         int32 = math.MinInt32
	InfInt          int32 = math.MaxInt32
	NullLong        int64 = math.MinInt64
	InfLong         int64 = math.MaxInt64
	nullFloat32Bits       = 0xffc00000 // q's 0Ne bit pattern
	nullFloat64Bits       = 0xfff8000000000000
)

// NullReal and NullFloat return q's real and float nulls (0Ne, 0n): a NaN
// with q's exact bit pattern.
func NullReal() float32  { return math.Float32frombits(nullFloat32Bits) }
func NullFloat() float64 { return math.Float64frombits(nullFloat64Bits) }

// Epoch2000 is q's epoch.
var Epoch2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	// EpochOffsetDays is 2000.01.01 in days since 1970.01.01.
	EpochOffsetDays = 10957
	// EpochOffsetNanos is 2000.01.01 in nanoseconds since 1970.01.01.
	EpochOffsetNanos = EpochOffsetDays * 86400 * int64(time.Second)
	dayNanos         = 86400 * int64(time.Second)
)

// Time returns t as a time.Time (UTC). Null and infinities have no time.Time
// and give the zero Time.
func (t Timestamp) Time() time.Time {
	if int64(t) == NullLong || int64(t) == InfLong || int64(t) == -InfLong {
		return time.Time{}
	}
	return time.Unix(0, int64(t)+EpochOffsetNanos).UTC()
}

// TimestampOf converts a time.Time to a Timestamp.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixNano() - EpochOffsetNanos) }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time {
	return time.Unix((int64(d)+EpochOffsetDays)*86400, 0).UTC()
}

// DateOf returns the date of t (UTC).
func DateOf(t time.Time) Date {
	return Date(floorDiv(t.Unix(), 86400) - EpochOffsetDays)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Time returns the first day of m.
func (m Month) Time() time.Time {
	y, mo := 2000+floorDiv(int64(m), 12), int64(m)-12*floorDiv(int64(m), 12)
	return time.Date(int(y), time.Month(mo+1), 1, 0, 0, 0, 0, time.UTC)
}

// Time returns d as a time.Time, to the millisecond.
func (d Datetime) Time() time.Time {
	ms := math.Round(float64(d) * 86400000)
	return time.UnixMilli(int64(ms) + EpochOffsetDays*86400000).UTC()
}

// Duration returns the timespan as a time.Duration.
func (t Timespan) Duration() time.Duration { return time.Duration(t) }

// Duration returns the time of day.
func (t Time) Duration() time.Duration { return time.Duration(t) * time.Millisecond }

// Duration returns the time of day.
func (s Second) Duration() time.Duration { return time.Duration(s) * time.Second }

// Duration returns the time of day.
func (m Minute) Duration() time.Duration { return time.Duration(m) * time.Minute }

// IsNull reports whether v is a q null atom of its type (0N, 0Nj, 0n, `,
// " ", 0Ng, ...). Vectors are never null.
func IsNull(v any) bool {
	switch x := v.(type) {
	case nil, Identity:
		return true
	case GUID:
		return x == GUID{}
	case int16:
		return x == NullShort
	case int32:
		return x == NullInt
	case int64:
		return x == NullLong
	case float32:
		return x != x
	case float64:
		return x != x
	case Char:
		return x == ' '
	case Symbol:
		return x == ""
	case Timestamp:
		return int64(x) == NullLong
	case Timespan:
		return int64(x) == NullLong
	case Month:
		return int32(x) == NullInt
	case Date:
		return int32(x) == NullInt
	case Minute:
		return int32(x) == NullInt
	case Second:
		return int32(x) == NullInt
	case Time:
		return int32(x) == NullInt
	case Datetime:
		return x != x
	}
	return false
}

// TypeOf returns the q type number Marshal writes for v.
func TypeOf(v any) (int8, error) {
	switch v.(type) {
	case nil, Identity:
		return KUnary, nil
	case bool:
		return -KBoolean, nil
	case []bool:
		return KBoolean, nil
	case GUID:
		return -KGUID, nil
	case []GUID:
		return KGUID, nil
	case byte:
		return -KByte, nil
	case []byte:
		return KByte, nil
	case int16:
		return -KShort, nil
	case []int16:
		return KShort, nil
	case int32:
		return -KInt, nil
	case []int32:
		return KInt, nil
	case int64:
		return -KLong, nil
	case []int64:
		return KLong, nil
	case float32:
		return -KReal, nil
	case []float32:
		return KReal, nil
	case float64:
		return -KFloat, nil
	case []float64:
		return KFloat, nil
	case Char:
		return -KChar, nil
	case string:
		return KChar, nil
	case Symbol:
		return -KSymbol, nil
	case []string:
		return KSymbol, nil
	case Timestamp:
		return -KTimestamp, nil
	case []Timestamp:
		return KTimestamp, nil
	case Month:
		return -KMonth, nil
	case []Month:
		return KMonth, nil
	case Date:
		return -KDate, nil
	case []Date:
		return KDate, nil
	case Datetime:
		return -KDatetime, nil
	case []Datetime:
		return KDatetime, nil
	case Timespan:
		return -KTimespan, nil
	case []Timespan:
		return KTimespan, nil
	case Minute:
		return -KMinute, nil
	case []Minute:
		return KMinute, nil
	case Second:
		return -KSecond, nil
	case []Second:
		return KSecond, nil
	case Time:
		return -KTime, nil
	case []Time:
		return KTime, nil
	case []any:
		return KList, nil
	case Table, *Table:
		return KTable, nil
	case Dict, *Dict:
		return KDict, nil
	case Lambda:
		return KLambda, nil
	case *Error:
		return KError, nil
	}
	return 0, fmt.Errorf("ipc: no q type for Go type %T", v)
}
