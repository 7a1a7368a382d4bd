package ipc

import (
	"math"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// TestColumnar decodes a table with one column of every q vector type
// straight into qconnect vectors and checks values, nulls and infinities.
func TestColumnar(t *testing.T) {
	ts := TimestampOf(time.Date(2024, 3, 1, 9, 30, 0, 123456789, time.UTC))
	tbl := Table{
		Columns: []string{"b", "g", "x", "h", "i", "j", "e", "f", "c", "s", "p", "m", "d", "z", "n", "u", "v", "t", "str", "sa"},
		Data: []any{
			[]bool{true, false, true},
			[]GUID{{1}, {}, {2}},
			[]byte{0, 255, 7},
			[]int16{1, NullShort, InfShort},
			[]int32{1, NullInt, -InfInt},
			[]int64{1, NullLong, InfLong},
			[]float32{1.5, NullReal(), float32(math.Inf(1))},
			[]float64{2.5, NullFloat(), math.Inf(-1)},
			"a b",
			[]string{"x", "", "yz"},
			[]Timestamp{ts, Timestamp(NullLong), Timestamp(InfLong)},
			[]Month{12, Month(NullInt), -1},
			[]Date{366, Date(NullInt), -InfInt32Date},
			[]Datetime{1.5, Datetime(NullFloat()), Datetime(math.Inf(1))},
			[]Timespan{5e9, Timespan(NullLong), Timespan(-InfLong)},
			[]Minute{61, Minute(NullInt), 0},
			[]Second{61, Second(NullInt), 0},
			[]Time{61001, Time(NullInt), 0},
			[]any{"hello", "", Char('c')},
			[]any{Symbol("a"), Symbol(""), Symbol("b")},
		},
	}
	b, err := Marshal(tbl)
	if err != nil {
		t.Fatal(err)
	}
	v, err := UnmarshalColumnar(b)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(Table)
	want := map[string][]any{
		"b":   {true, false, true},
		"g":   {[16]byte{1}, nil, [16]byte{2}},
		"x":   {int64(0), int64(255), int64(7)},
		"h":   {int64(1), nil, int64(32767)},
		"i":   {int64(1), nil, int64(-2147483647)},
		"j":   {int64(1), nil, int64(math.MaxInt64)},
		"e":   {1.5, nil, math.Inf(1)},
		"f":   {2.5, nil, math.Inf(-1)},
		"c":   {"a", nil, "b"},
		"s":   {"x", nil, "yz"},
		"p":   {time.Date(2024, 3, 1, 9, 30, 0, 123456789, time.UTC), nil, nil},
		"m":   {time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), nil, time.Date(1999, 12, 1, 0, 0, 0, 0, time.UTC)},
		"d":   {time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), nil, nil},
		"z":   {time.Date(2000, 1, 2, 12, 0, 0, 0, time.UTC), nil, nil},
		"n":   {5 * time.Second, nil, nil},
		"u":   {61 * time.Minute, nil, time.Duration(0)},
		"v":   {61 * time.Second, nil, time.Duration(0)},
		"t":   {61001 * time.Millisecond, nil, time.Duration(0)},
		"str": {"hello", "", "c"},
		"sa":  {"a", nil, "b"},
	}
	for j, name := range got.Columns {
		vec := got.Data[j].(qconnect.Vector)
		if VectorLen(&vec) != 3 {
			t.Fatalf("%s: %d rows", name, VectorLen(&vec))
		}
		for i := 0; i < 3; i++ {
			if g, w := vec.Value(i), want[name][i]; !sameValue(g, w) {
				t.Errorf("%s[%d] = %#v, want %#v", name, i, g, w)
			}
		}
	}
	// The conversion is the same through ToVector.
	vec, err := ToVector([]Date{366})
	if err != nil || vec.Type != qconnect.Date || vec.Ints[0] != 366+EpochOffsetDays {
		t.Fatalf("%+v %v", vec, err)
	}
	if _, err := ToVector([]any{int64(1), "x"}); err == nil {
		t.Fatal("mixed list became a column")
	}
}

const InfInt32Date = Date(InfInt)

func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}
