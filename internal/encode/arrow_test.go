package encode

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/qconnect/qconnect"
)

func TestArrowSchema(t *testing.T) {
	body, _ := encodeBody(t, Arrow, allCols, nil, 1, nil)
	r, err := ipc.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	want := map[string]string{
		"b": "bool", "l": "int64", "i": "int64", "h": "int64", "f": "float64", "e": "float64",
		"s": "utf8", "sym": "utf8", "c": "utf8", "ts": "timestamp[ns, tz=UTC]", "d": "date32",
		"t": "time32[ms]", "n": "duration[ns]", "g": "fixed_size_binary[16]",
	}
	for _, f := range r.Schema().Fields() {
		if got := f.Type.String(); got != want[f.Name] {
			t.Errorf("field %s: Arrow type %s, want %s", f.Name, got, want[f.Name])
		}
		ct, _ := f.Metadata.GetValue(MetaConnectType)
		if !f.Nullable || ct == "" {
			t.Errorf("field %s: nullable %v, connect.type %q", f.Name, f.Nullable, ct)
		}
		ext, _ := f.Metadata.GetValue("ARROW:extension:name")
		if (f.Name == "g") != (ext == "arrow.uuid") {
			t.Errorf("field %s: extension name %q", f.Name, ext)
		}
	}
	if r.Next() {
		t.Fatal("an empty result has a record batch")
	}
	if r.Err() != nil {
		t.Fatalf("an empty result does not end cleanly: %v", r.Err())
	}
}

// TestArrowBatches: one record batch per non-empty WriteBatch, values as
// written (TestRoundTrip covers every type with random values).
func TestArrowBatches(t *testing.T) {
	rows := randomRows(11, 250)
	var buf bytes.Buffer
	w, _ := New(Arrow, &buf, Header{}, allCols, Ending{})
	for _, n := range []int{100, 0, 100, 50} {
		if err := writeRows(w, rows[:n]); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Finish(Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	got, batches, err := decodeArrowBody(t, buf.Bytes(), allCols)
	if err != nil || batches != 3 || len(got) != 250 {
		t.Fatalf("%d batches, %d rows, err %v; want 3 batches of 250 rows and a clean end", batches, len(got), err)
	}
	compareRows(t, Arrow, allCols, got, wantRows(Arrow, allCols, randomRows(11, 250)))
}

// TestArrowValues checks the raw Arrow values of the edge cases.
func TestArrowValues(t *testing.T) {
	maxTS, minTS := time.Unix(0, math.MaxInt64), time.Unix(0, math.MinInt64)
	g := [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8}
	cols := []qconnect.Column{{Name: "f", Type: qconnect.Float}, {Name: "ts", Type: qconnect.Timestamp},
		{Name: "d", Type: qconnect.Date}, {Name: "t", Type: qconnect.Time}, {Name: "n", Type: qconnect.Timespan},
		{Name: "g", Type: qconnect.GUID}, {Name: "s", Type: qconnect.Symbol}, {Name: "l", Type: qconnect.Short}}
	rows := [][]any{
		{math.NaN(), maxTS, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 1500 * time.Millisecond, time.Duration(math.MaxInt64), g, "bad\xff", int16(-3)},
		{math.Inf(-1), minTS, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), 24*time.Hour - 1, time.Duration(math.MinInt64), nil, "", int32(9)},
		{float32(2.5), time.Unix(1564156740, 123456789), time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC), time.Duration(0), -time.Nanosecond, [16]byte{}, nil, 11},
	}
	var buf bytes.Buffer
	w, _ := New(Arrow, &buf, Header{}, cols, Ending{})
	if err := writeRows(w, rows); err != nil {
		t.Fatal(err)
	}
	w.Finish(Meta{}, nil)
	r, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	rec := r.RecordBatch()
	f := rec.Column(0).(*array.Float64)
	if !f.IsNull(0) || !f.IsNull(1) || f.Value(2) != 2.5 {
		t.Errorf("floats: %v", f)
	}
	ts := rec.Column(1).(*array.Timestamp)
	if ts.Value(0) != math.MaxInt64 || ts.Value(1) != math.MinInt64 || ts.Value(2) != 1564156740123456789 {
		t.Errorf("timestamps: %v", ts)
	}
	d := rec.Column(2).(*array.Date32)
	if d.Value(0) != 0 || d.Value(1) != -1 || d.Value(2) != 18103 {
		t.Errorf("dates: %v", d)
	}
	tm := rec.Column(3).(*array.Time32)
	if tm.Value(0) != 1500 || tm.Value(1) != 86399999 || tm.Value(2) != 0 {
		t.Errorf("times: %v", tm)
	}
	n := rec.Column(4).(*array.Duration)
	if n.Value(0) != math.MaxInt64 || n.Value(1) != math.MinInt64 || n.Value(2) != -1 {
		t.Errorf("timespans: %v", n)
	}
	gs := rec.Column(5).(*array.FixedSizeBinary)
	if !bytes.Equal(gs.Value(0), g[:]) || !gs.IsNull(1) || !bytes.Equal(gs.Value(2), make([]byte, 16)) {
		t.Errorf("guids: %v", gs)
	}
	s := rec.Column(6).(*array.String)
	if s.Value(0) != "bad\uFFFD" || s.IsNull(1) || s.Value(1) != "" || !s.IsNull(2) {
		t.Errorf("strings: %v", s)
	}
	l := rec.Column(7).(*array.Int64)
	if l.Value(0) != -3 || l.Value(1) != 9 || l.Value(2) != 11 {
		t.Errorf("shorts: %v", l)
	}
}

// TestTimestampOutOfRange: a timestamp is nanoseconds since the epoch in
// an int64 (as in kdb+), so a value beyond 1677-2262 cannot enter a batch.
func TestTimestampOutOfRange(t *testing.T) {
	cols := []qconnect.Column{{Name: "ts", Type: qconnect.Timestamp}}
	for _, v := range []time.Time{time.Unix(0, math.MaxInt64).Add(1), time.Unix(0, math.MinInt64).Add(-1),
		time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := qconnect.BatchOf(cols, [][]any{{v}}); err == nil || !strings.Contains(err.Error(), "1677") {
			t.Fatalf("%v: %v, want an error naming the range", v, err)
		}
	}
}

// TestArrowCut: a failed stream yields the batches written, then an error,
// never a clean end; also when it fails before the first batch.
func TestArrowCut(t *testing.T) {
	fail := &qconnect.Error{Code: qconnect.CodeTimeout, Message: "late"}
	body, _ := encodeBody(t, Arrow, tradeCols, tradeRows(300), 100, fail)
	r, err := ipc.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var batches int
	for r.Next() {
		batches++
	}
	if batches != 3 {
		t.Fatalf("%d batches before the cut, want 3", batches)
	}
	if !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("a cut stream ends with %v, want an unexpected-EOF error", r.Err())
	}
	// The whole stream minus the cut equals a stream without its end marker.
	ok, _ := encodeBody(t, Arrow, tradeCols, tradeRows(300), 100, nil)
	if !bytes.Equal(body[:len(body)-4], ok[:len(ok)-8]) {
		t.Fatal("the failed stream differs from the successful one before the end")
	}

	body, _ = encodeBody(t, Arrow, tradeCols, nil, 100, fail)
	if _, err := ipc.NewReader(bytes.NewReader(body)); err == nil {
		t.Fatal("a stream cut before its schema opens without error")
	}
}
