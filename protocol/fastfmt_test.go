package protocol

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

// refTimestamp and refDate are the reference forms the fast formatters must
// reproduce byte for byte: time.Format with the PROTOCOL 4.3 layouts.
func refTimestamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format(TimestampLayout)
}

func refDate(days int64) string {
	return time.Unix(days*86400, 0).UTC().Format(DateLayout)
}

// refFloat is the reference float form: strconv through appendFloat.
func refFloat(f float64) (string, bool) {
	b, ok := appendFloat(nil, f, 64)
	return string(b), ok
}

func checkTimestamp(t *testing.T, ns int64) {
	t.Helper()
	prefix := []byte("x,")
	got := string(AppendTimestamp(prefix, ns))
	want := "x," + refTimestamp(ns)
	if got != want {
		t.Fatalf("AppendTimestamp(%d) = %q, want %q", ns, got, want)
	}
	// The cached form, from an empty cache, from the same day (filled by
	// the first call) and from another day.
	for _, c := range []*DayCache{{}, nil, {day: 17, ok: true, text: []byte("1970-01-18")}} {
		if c == nil {
			c = &DayCache{}
			AppendTimestampCached(nil, ns, c)
		}
		if got := string(AppendTimestampCached([]byte("x,"), ns, c)); got != want {
			t.Fatalf("AppendTimestampCached(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestAppendTimestampCachedSequence: one cache through rows that cross
// days forwards and backwards, as a result ordered by anything gives them.
func TestAppendTimestampCachedSequence(t *testing.T) {
	var c DayCache
	base := int64(1564156740123456789)
	for i, step := range []int64{0, 1, nsPerDay - 1, 1, -1, -nsPerDay, 3 * nsPerDay, -base, -1, 1, math.MaxInt64 - base, math.MinInt64} {
		base += step
		if got, want := string(AppendTimestampCached(nil, base, &c)), refTimestamp(base); got != want {
			t.Fatalf("step %d: AppendTimestampCached(%d) = %q, want %q", i, base, got, want)
		}
	}
}

func checkDate(t *testing.T, days int64) {
	t.Helper()
	got := string(AppendDate([]byte("x,"), days))
	if want := "x," + refDate(days); got != want {
		t.Fatalf("AppendDate(%d) = %q, want %q", days, got, want)
	}
}

func checkFloat(t *testing.T, f float64) {
	t.Helper()
	got, gotOK := AppendFloat([]byte("x,"), f)
	want, wantOK := refFloat(f)
	if gotOK != wantOK || string(got) != "x,"+want {
		t.Fatalf("AppendFloat(%v [%#x]) = %q, %v; want %q, %v", f, math.Float64bits(f), got, gotOK, "x,"+want, wantOK)
	}
}

func TestAppendTimestampEdges(t *testing.T) {
	const day = int64(24 * time.Hour)
	for _, ns := range []int64{
		0, 1, -1, 999_999_999, -999_999_999, 1_000_000_000, -1_000_000_000,
		day - 1, day, -day, -day + 1, -day - 1,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1,
		time.Date(2019, 7, 26, 15, 59, 0, 123456789, time.UTC).UnixNano(),
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC).UnixNano(), // leap day of a century leap year
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano(),             // 1900 is not a leap year
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC).UnixNano(),
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		time.Date(2262, 1, 1, 0, 0, 0, 5, time.UTC).UnixNano(),
		time.Date(2024, 12, 31, 12, 0, 0, 100, time.UTC).UnixNano(),
	} {
		checkTimestamp(t, ns)
	}
	// Every day boundary (and the nanosecond either side) over 1677-2262.
	for d := math.MinInt64/day + 1; d < math.MaxInt64/day; d += 1 {
		checkTimestamp(t, d*day)
		checkTimestamp(t, d*day-1)
	}
	// Random instants, each fraction width.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		ns := int64(r.Uint64())
		checkTimestamp(t, ns)
		checkTimestamp(t, ns/1000*1000)
		checkTimestamp(t, ns/1_000_000_000*1_000_000_000)
	}
}

func TestAppendDateEdges(t *testing.T) {
	// Every day of years 1600 to 2400, every 7th day of years -1000 to
	// 11000 (negative and five-digit years are written as time.Format
	// writes them), and DuckDB's DATE bounds.
	day := func(y int) int64 { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400 }
	for d := day(1600); d <= day(2400); d++ {
		checkDate(t, d)
	}
	for d := day(-1000); d <= day(11000); d += 7 {
		checkDate(t, d)
	}
	for _, d := range []int64{math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1, -1, 0, 1} {
		checkDate(t, d)
	}
}

func TestAppendFloatEdges(t *testing.T) {
	for _, f := range []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 0.01, 0.001, -0.01, 0.5, 1.5, 10, 100, 1e6,
		189.5, 189.53, 189.05, 189.50, 415.2, -415.2, 1310, 0.07, 0.29, 1.005, 1.015, 2.675,
		1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1e22, 123456789012.34, 9007199254740.99, 9007199254740.993,
		1e13, 1e15, 1e15 - 0.01, 9.99999999999999e12, -9.99999999999999e12, 1e16,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
		1.0 / 3, 2.0 / 3, 0.1 + 0.2, 100.0 / 3, math.Pi, math.E, 5e-324, 4.35, 4.345, 1.25, 1.125,
	} {
		checkFloat(t, f)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 300_000 {
		// Prices in cents over every magnitude, and their neighbours.
		n := int64(r.Uint64() >> uint(r.IntN(64)))
		if r.IntN(2) == 0 {
			n = -n
		}
		f := float64(n) / 100
		checkFloat(t, f)
		checkFloat(t, math.Nextafter(f, math.Inf(1)))
		checkFloat(t, math.Nextafter(f, math.Inf(-1)))
		checkFloat(t, float64(n)/10)
		checkFloat(t, float64(n)/1000)
		checkFloat(t, math.Float64frombits(r.Uint64()))
	}
}

// TestTextAppenderMatchesAppendText checks the vector appenders, which use
// the fast formatters, against AppendText on boxed values, including
// nulls.
func TestTextAppenderMatchesAppendText(t *testing.T) {
	cols := []qconnect.Column{{Name: "t", Type: qconnect.Timestamp}, {Name: "d", Type: qconnect.Date},
		{Name: "f", Type: qconnect.Float}, {Name: "r", Type: qconnect.Real}}
	ts := []any{time.Unix(0, math.MinInt64).UTC(), time.Unix(0, math.MaxInt64).UTC(), nil,
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2026, 12, 1, 9, 30, 0, 1000, time.UTC)}
	ds := []any{time.Date(1677, 9, 21, 0, 0, 0, 0, time.UTC), nil, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC), time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)}
	fs := []any{math.NaN(), math.Inf(-1), nil, math.Copysign(0, -1), 189.53}
	rs := []any{float32(0.1), nil, float32(189.53), float32(1e-7), float32(3e38)}
	var rows [][]any
	for i := range ts {
		rows = append(rows, []any{ts[i], ds[i], fs[i], rs[i]})
	}
	b, err := qconnect.BatchOf(cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range cols {
		app := TextAppender(c.Type)
		for i := range rows {
			got, gotOK := app(nil, &b.Cols[j], i)
			want, wantOK := AppendText(nil, c.Type, b.Cols[j].Value(i))
			if string(got) != string(want) || gotOK != wantOK {
				t.Errorf("column %s row %d: appender %q %v, AppendText %q %v", c.Name, i, got, gotOK, want, wantOK)
			}
		}
	}
}

// TestSerialAppendersMatch: the appenders for one goroutine (a timestamp
// column keeps its last date) append exactly what the concurrent ones do,
// through rows that stay on a day, cross days both ways and hold nulls.
func TestSerialAppendersMatch(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rows [][]any
	for _, d := range []time.Duration{9 * time.Hour, 9*time.Hour + 1, 23*time.Hour + 59*time.Minute, 24 * time.Hour, -1, 0, 48 * time.Hour} {
		rows = append(rows, []any{day.Add(d), 1.5, "x"}, []any{nil, nil, nil})
	}
	cols := []qconnect.Column{{Name: "t", Type: qconnect.Timestamp}, {Name: "f", Type: qconnect.Float}, {Name: "s", Type: qconnect.Symbol}}
	b, err := qconnect.BatchOf(cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	for j, c := range cols {
		pairs := [][2]VectorAppender{{TextAppender(c.Type), SerialTextAppender(c.Type)}, {JSONAppender(c.Type), SerialJSONAppender(c.Type)}}
		for k, p := range pairs {
			for i := range rows {
				want, wantOK := p[0](nil, &b.Cols[j], i)
				got, gotOK := p[1](nil, &b.Cols[j], i)
				if string(got) != string(want) || gotOK != wantOK {
					t.Errorf("column %s row %d (pair %d): serial %q %v, concurrent %q %v", c.Name, i, k, got, gotOK, want, wantOK)
				}
			}
		}
	}
}

func FuzzAppendTimestamp(f *testing.F) {
	for _, ns := range []int64{0, -1, 1, math.MaxInt64, math.MinInt64, 1564156740123456789} {
		f.Add(ns)
	}
	f.Fuzz(func(t *testing.T, ns int64) {
		checkTimestamp(t, ns)
		checkDate(t, ns%(1<<40))
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 189.53, -0.01, 1e21, 1e-7, 9007199254740.99} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		checkFloat(t, x)
		// The value as cents, the fast path's domain.
		if n := int64(bits) >> (bits & 63); n > -1e15 && n < 1e15 {
			checkFloat(t, float64(n)/100)
		}
	})
}

var sinkBytes []byte

func BenchmarkAppendTimestamp(b *testing.B) {
	buf := make([]byte, 0, 64)
	ns := time.Date(2026, 12, 1, 9, 30, 0, 123456000, time.UTC).UnixNano()
	b.Run("fast", func(b *testing.B) {
		for i := range b.N {
			buf = AppendTimestamp(buf[:0], ns+int64(i))
		}
		sinkBytes = buf
	})
	b.Run("time.Format", func(b *testing.B) {
		for i := range b.N {
			buf = time.Unix(0, ns+int64(i)).UTC().AppendFormat(buf[:0], TimestampLayout)
		}
		sinkBytes = buf
	})
}

func BenchmarkAppendFloat(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.Run("fast", func(b *testing.B) {
		for i := range b.N {
			buf, _ = AppendFloat(buf[:0], float64(18953+i%1000)/100)
		}
		sinkBytes = buf
	})
	b.Run("strconv", func(b *testing.B) {
		for i := range b.N {
			buf = strconv.AppendFloat(buf[:0], float64(18953+i%1000)/100, 'f', -1, 64)
		}
		sinkBytes = buf
	})
}
