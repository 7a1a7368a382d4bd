package encode

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/qconnect/qconnect"
)

// allCols has one column of every result column type of PROTOCOL 4.3.
var allCols = []qconnect.Column{
	{Name: "b", Type: qconnect.Boolean},
	{Name: "l", Type: qconnect.Long},
	{Name: "i", Type: qconnect.Int},
	{Name: "h", Type: qconnect.Short},
	{Name: "f", Type: qconnect.Float},
	{Name: "e", Type: qconnect.Real},
	{Name: "s", Type: qconnect.String},
	{Name: "sym", Type: qconnect.Symbol},
	{Name: "c", Type: qconnect.Char},
	{Name: "ts", Type: qconnect.Timestamp},
	{Name: "d", Type: qconnect.Date},
	{Name: "t", Type: qconnect.Time},
	{Name: "n", Type: qconnect.Timespan},
	{Name: "g", Type: qconnect.GUID},
}

// randomRows builds n rows for allCols from a fixed seed: every type,
// nulls, NaN and infinities, tricky strings, negative timespans, dates
// before 1970.
func randomRows(seed uint64, n int) [][]any {
	r := rand.New(rand.NewPCG(seed, 42))
	strs := []string{"", "plain", `quo"te`, "com,ma", "new\nline", "cr\rlf\r\n", "tab\t", "\x01ctl\x1f",
		"naïve 日本 🚀", "bad\xffutf8\xc3", "line\u2028sep", `back\slash`, " padded ", "=1+2"}
	rows := make([][]any, n)
	for k := range rows {
		row := make([]any, len(allCols))
		for i, c := range allCols {
			if r.IntN(8) == 0 {
				continue // null
			}
			switch c.Type {
			case qconnect.Boolean:
				row[i] = r.IntN(2) == 0
			case qconnect.Long, qconnect.Int, qconnect.Short:
				row[i] = r.Int64() - math.MaxInt64/2
			case qconnect.Float, qconnect.Real:
				switch r.IntN(10) {
				case 0:
					row[i] = math.NaN()
				case 1:
					row[i] = math.Inf(1 - 2*r.IntN(2))
				case 2:
					row[i] = r.NormFloat64() * 1e-9
				case 3:
					row[i] = r.NormFloat64() * 1e25
				default:
					row[i] = r.NormFloat64() * 1000
				}
			case qconnect.String, qconnect.Symbol, qconnect.Char:
				row[i] = strs[r.IntN(len(strs))]
			case qconnect.Timestamp:
				row[i] = time.Unix(0, r.Int64N(1<<62)-1<<61).UTC()
			case qconnect.Date:
				row[i] = time.Date(1900+r.IntN(300), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
			case qconnect.Time:
				row[i] = time.Duration(r.Int64N(int64(24 * time.Hour)))
			case qconnect.Timespan:
				row[i] = time.Duration(r.Int64N(int64(1000*24*time.Hour))) - 500*24*time.Hour
			case qconnect.GUID:
				var g [16]byte
				for j := range g {
					g[j] = byte(r.IntN(256))
				}
				row[i] = g
			}
		}
		rows[k] = row
	}
	return rows
}

// The expected text forms below are written from PROTOCOL 4.3, independently
// of the protocol package the encoders use.

func wantTimestamp(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", t.Year(), t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond())
}

func wantDate(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%04d-%02d-%02d", t.Year(), t.Month(), t.Day())
}

func wantTime(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	ms := int64(d / time.Millisecond)
	return fmt.Sprintf("%s%02d:%02d:%02d.%03d", sign, ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func wantTimespan(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	ns := int64(d)
	day := int64(24 * time.Hour)
	rest := ns % day
	return fmt.Sprintf("%s%dD%02d:%02d:%02d.%09d", sign, ns/day, rest/int64(time.Hour),
		rest/int64(time.Minute)%60, rest/int64(time.Second)%60, rest%int64(time.Second))
}

func wantGUID(g [16]byte) string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// wantString is s with each byte of invalid UTF-8 replaced by U+FFFD.
func wantString(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // range yields U+FFFD for each invalid byte
	}
	return b.String()
}

// wantValue is the decoded form a reader of any format should get for v in
// a column of type t: nil for null (and NaN, ±Inf), int64, float64, bool,
// or the text form as a string.
func wantValue(t qconnect.Type, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return x
	case int64:
		if t == qconnect.Float || t == qconnect.Real {
			return float64(x)
		}
		return x
	case int:
		return wantValue(t, int64(x))
	case int32:
		return wantValue(t, int64(x))
	case int16:
		return wantValue(t, int64(x))
	case float32:
		return wantValue(t, float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case string:
		return wantString(x)
	case time.Time:
		if t == qconnect.Date {
			return wantDate(x)
		}
		return wantTimestamp(x)
	case time.Duration:
		if t == qconnect.Time {
			return wantTime(x)
		}
		return wantTimespan(x)
	case [16]byte:
		return wantGUID(x)
	}
	panic(fmt.Sprintf("no expectation for %T", v))
}

// countingWriter counts bytes and Write calls, keeping nothing.
type countingWriter struct {
	n      int64
	writes int
	max    int // largest single Write
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.writes++
	w.max = max(w.max, len(p))
	return len(p), nil
}

// failingWriter accepts limit bytes, then fails every Write.
type failingWriter struct {
	limit int
	calls int
}

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if len(p) > w.limit {
		return 0, errDiskFull
	}
	w.limit -= len(p)
	return len(p), nil
}

// writeRows writes boxed rows through w as one batch (qconnect.BatchOf).
func writeRows(w Writer, rows [][]any) error {
	var cols []qconnect.Column
	switch w := w.(type) {
	case *jsonWriter:
		cols = w.cols
	case *csvWriter:
		cols = w.cols
	case *arrowWriter:
		cols = w.cols
	}
	b, err := qconnect.BatchOf(cols, rows)
	if err != nil {
		return err
	}
	return w.WriteBatch(b)
}
