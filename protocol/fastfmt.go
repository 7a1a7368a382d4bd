package protocol

import (
	"math"
	"strconv"
)

// Fixed-layout formatters of the PROTOCOL 4.3 text forms, for the encoders'
// hot loops. Each produces exactly the bytes of its reference (time.Format
// with TimestampLayout or DateLayout, appendFloat through strconv), which
// the tests and fuzz tests of fastfmt_test.go check, without time.Time,
// layout parsing or, for the common float values, the shortest-digits
// search.

// digits2 holds "00" to "99".
const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// civil returns the proleptic Gregorian date of a day number (days since
// 1970-01-01), for any day an int64 count of nanoseconds or a date column
// can hold (Howard Hinnant's days_from_civil inverse, in integers).
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	year = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365]
	mp := (5*doy + 2) / 153                  // [0, 11], March = 0
	day = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		month = int(mp + 3)
	} else {
		month = int(mp - 9)
	}
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendYMD appends YYYY-MM-DD as time.Format does for a date: four digits
// (zero-padded) for years 0 to 9999, and otherwise the year's own digits
// with its sign (time's layout "2006" for years outside that range).
func appendYMD(dst []byte, days int64) []byte {
	y, m, d := civil(days)
	if y >= 0 && y <= 9999 {
		dst = append(dst, digits2[y/100*2], digits2[y/100*2+1], digits2[y%100*2], digits2[y%100*2+1])
	} else {
		dst = appendYearWide(dst, y)
	}
	return append(dst, '-', digits2[m*2], digits2[m*2+1], '-', digits2[d*2], digits2[d*2+1])
}

// appendYearWide is time.Format's "2006" for a year outside 0..9999: a
// minus sign for negative years, then at least four digits.
func appendYearWide(dst []byte, y int64) []byte {
	u := uint64(y)
	if y < 0 {
		dst = append(dst, '-')
		u = uint64(-y)
	}
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], u, 10)
	for i := len(s); i < 4; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// floorDiv returns floor(a / b) and the non-negative remainder, for b > 0.
func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// AppendTimestamp appends the PROTOCOL 4.3 text form of a timestamp given
// as nanoseconds since 1970-01-01T00:00:00Z: exactly what
// time.Unix(0, ns).UTC().AppendFormat(dst, TimestampLayout) appends
// (2019-07-26T15:59:00.123456789Z), for every int64.
func AppendTimestamp(dst []byte, ns int64) []byte {
	days, rem := floorDiv(ns, nsPerDay)
	return appendClock(appendYMD(dst, days), rem)
}

const nsPerDay = 86400 * 1_000_000_000

// DayCache keeps the date text of the last day AppendTimestampCached
// formatted. The zero value is empty. It is not safe for concurrent use:
// give each encoder its own.
type DayCache struct {
	day  int64
	ok   bool
	text []byte // YYYY-MM-DD (wider for years beyond 0..9999)
}

// AppendTimestampCached appends exactly what AppendTimestamp appends,
// reusing the date text of c when ns falls on the day c holds (the rows of
// a result mostly share a day, and the date is half of the work), and
// keeping ns's day in c otherwise.
func AppendTimestampCached(dst []byte, ns int64, c *DayCache) []byte {
	days, rem := floorDiv(ns, nsPerDay)
	if !c.ok || c.day != days {
		c.text = appendYMD(c.text[:0], days)
		c.day, c.ok = days, true
	}
	return appendClock(append(dst, c.text...), rem)
}

// appendClock appends THH:MM:SS.nnnnnnnnnZ for rem nanoseconds into a day.
func appendClock(dst []byte, rem int64) []byte {
	secs := rem / 1_000_000_000
	frac := rem % 1_000_000_000
	h, mi, s := secs/3600, secs/60%60, secs%60
	f1, f2 := frac/10_000_000, frac%10_000_000 // 2 digits, then 7
	f3, f4 := f2/100_000, f2%100_000           // 2, then 5
	f5, f6 := f4/1_000, f4%1_000               // 2, then 3
	f7, f8 := f6/10, f6%10                     // 2, then 1
	return append(dst, 'T',
		digits2[h*2], digits2[h*2+1], ':',
		digits2[mi*2], digits2[mi*2+1], ':',
		digits2[s*2], digits2[s*2+1], '.',
		digits2[f1*2], digits2[f1*2+1],
		digits2[f3*2], digits2[f3*2+1],
		digits2[f5*2], digits2[f5*2+1],
		digits2[f7*2], digits2[f7*2+1],
		byte('0'+f8), 'Z')
}

// AppendDate appends the PROTOCOL 4.3 text form of a date given as days
// since 1970-01-01: exactly what time.Unix(days*86400, 0).UTC().AppendFormat(dst,
// DateLayout) appends, for every day whose seconds fit an int64.
func AppendDate(dst []byte, days int64) []byte { return appendYMD(dst, days) }

// maxExact is 2^53: integers below it are exact in a float64.
const maxExact = 1 << 53

// appendFloatFast appends f as appendFloat does. Values with at most two
// decimals (prices, sizes, most of what tables hold) take a fast path:
// when f is the double nearest to n/100 for an integer n of at most 15
// digits, no other decimal of as few significant digits rounds to f
// (doubles are spaced far closer than 10^-15 relative), so n/100 with its
// trailing zeros dropped is the shortest form strconv would find, and it
// is written from n's digits directly. float64(n)/100 is correctly rounded
// (n and 100 are exact), so comparing it with f proves f is that nearest
// double. Anything else goes through appendFloat.
func appendFloatFast(dst []byte, f float64) []byte {
	x := f * 100
	if !(x > -1e15 && x < 1e15) || f == 0 { // also NaN; 0 and -0 keep strconv's form
		out, _ := appendFloat(dst, f, 64)
		return out
	}
	n := int64(math.Round(x))
	if n == 0 || float64(n)/100 != f {
		out, _ := appendFloat(dst, f, 64)
		return out
	}
	u := uint64(n)
	if n < 0 {
		dst = append(dst, '-')
		u = uint64(-n)
	}
	whole, cents := u/100, u%100
	dst = strconv.AppendUint(dst, whole, 10)
	switch {
	case cents == 0:
		return dst
	case cents%10 == 0:
		return append(dst, '.', byte('0'+cents/10))
	}
	return append(dst, '.', digits2[cents*2], digits2[cents*2+1])
}

// AppendFloat appends the PROTOCOL 4.3 text form of a float (shortest
// round-tripping digits, exponent form below 1e-6 and from 1e21, like
// encoding/json) and reports true, or appends nothing and reports false for
// NaN and ±Inf, which are null.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	return appendFloatFast(dst, f), true
}
