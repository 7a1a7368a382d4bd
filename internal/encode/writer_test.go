package encode

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
)

var everyFormat = []Format{JSON, NDJSON, CSV, Arrow}

// TestRoundTrip encodes the same random table in every format and reads it
// back with a reader that is not ours.
func TestRoundTrip(t *testing.T) {
	rows := randomRows(7, 1000)
	for _, f := range everyFormat {
		t.Run(string(f), func(t *testing.T) {
			body, trailer := encodeBody(t, f, allCols, rows, 300, nil)
			got, outcome := decodeBody(t, f, body, allCols, trailer)
			if outcome != nil {
				t.Fatalf("a successful body reads as %v", outcome)
			}
			compareRows(t, f, allCols, got, wantRows(f, allCols, rows))
		})
	}
}

// TestFailureMidStream finishes with an error after two batches: every
// format must deliver the rows and a failure the reader cannot miss.
func TestFailureMidStream(t *testing.T) {
	rows := randomRows(8, 200)
	fail := &qconnect.Error{Code: qconnect.CodeAnalyticError, Message: "the backend went away"}
	for _, f := range everyFormat {
		t.Run(string(f), func(t *testing.T) {
			body, trailer := encodeBody(t, f, allCols, rows, 100, fail)
			got, outcome := decodeBody(t, f, body, allCols, trailer)
			if outcome == nil {
				t.Fatal("a failed body reads as a success")
			}
			if f != Arrow && !strings.Contains(outcome.Error(), "analyticError the backend went away") {
				t.Fatalf("outcome %q does not carry the code and message", outcome)
			}
			compareRows(t, f, allCols, got, wantRows(f, allCols, rows))
		})
	}
}

// TestWrongGoType: a value of the wrong Go type is an error naming the
// column, and the body stays well formed so Finish can report the failure.
func TestWrongGoType(t *testing.T) {
	cols := []qconnect.Column{{Name: "k", Type: qconnect.Long}, {Name: "s", Type: qconnect.Symbol}}
	good := [][]any{{int64(1), "a"}, {int64(2), "b"}}
	for _, f := range everyFormat {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			trailer := map[string]string{}
			w, err := New(f, &buf, Header{Type: "r", ID: "i", Date: "d"}, cols, Ending{SetTrailer: func(k, v string) { trailer[k] = v }})
			if err != nil {
				t.Fatal(err)
			}
			if err := writeRows(w, good); err != nil {
				t.Fatal(err)
			}
			err = writeRows(w, [][]any{{int64(3), "c"}, {4.5, "d"}})
			if err == nil || !strings.Contains(err.Error(), `column "k"`) || !strings.Contains(err.Error(), "float64") {
				t.Fatalf("a float64 in a long column: %v", err)
			}
			if err := w.Finish(Meta{}, qconnect.AsError(err)); err != nil {
				t.Fatal(err)
			}
			got, outcome := decodeBody(t, f, buf.Bytes(), cols, trailer)
			if outcome == nil {
				t.Fatal("the failure was not reported")
			}
			// The rows of the bad batch before the bad value may be sent.
			if n := len(got); n < 2 || n > 3 {
				t.Fatalf("%d rows after the error, want the 2 good ones (and maybe 1 more)", n)
			}
			compareRows(t, f, cols, got[:2], wantRows(f, cols, good))
		})
	}
}

// TestTypeChecks: every column type rejects Go types outside the
// convention, in every format (the text and Arrow writers check apart).
func TestTypeChecks(t *testing.T) {
	bad := map[qconnect.Type][]any{
		qconnect.Boolean:   {1, "true"},
		qconnect.Long:      {1.0, int8(1), uint64(1), "1", time.Second},
		qconnect.Float:     {"1.5", true, uint32(1)},
		qconnect.Symbol:    {[]byte("x"), 'x', [16]byte{}},
		qconnect.Timestamp: {"2019-07-26T00:00:00Z", int64(0), time.Second},
		qconnect.Date:      {"2019-07-26", time.Second},
		qconnect.Time:      {time.Time{}, int64(1000)},
		qconnect.Timespan:  {"1s", int64(1)},
		qconnect.GUID:      {"12345678-9abc-def0-1234-56789abcdef0", []byte{1}, [8]byte{}},
	}
	for _, f := range everyFormat {
		for ty, vs := range bad {
			for _, v := range vs {
				w, err := New(f, &bytes.Buffer{}, Header{}, []qconnect.Column{{Name: "v", Type: ty}}, Ending{})
				if err != nil {
					t.Fatal(err)
				}
				if err := writeRows(w, [][]any{{v}}); err == nil {
					t.Errorf("%s: a %T in a %s column was accepted", f, v, ty)
				}
			}
		}
	}
}

func TestRowLength(t *testing.T) {
	for _, f := range everyFormat {
		w, _ := New(f, &bytes.Buffer{}, Header{}, allCols[:3], Ending{})
		err := writeRows(w, [][]any{{true, int64(1)}})
		if err == nil || !strings.Contains(err.Error(), "2 values for 3 columns") {
			t.Errorf("%s: short row: %v", f, err)
		}
	}
}

func TestFinishOnce(t *testing.T) {
	for _, f := range everyFormat {
		w, _ := New(f, &bytes.Buffer{}, Header{}, allCols[:1], Ending{})
		if err := w.Finish(Meta{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.Finish(Meta{}, nil); !errors.Is(err, errFinished) {
			t.Errorf("%s: second Finish: %v", f, err)
		}
		if err := writeRows(w, [][]any{{true}}); !errors.Is(err, errFinished) {
			t.Errorf("%s: WriteBatch after Finish: %v", f, err)
		}
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		f    Format
		w    *bytes.Buffer
		cols []qconnect.Column
		want string
	}{
		{"xml", &bytes.Buffer{}, allCols, "unknown format"},
		{JSON, nil, allCols, "io.Writer"},
		{JSON, &bytes.Buffer{}, []qconnect.Column{{Name: "d", Type: qconnect.Dict}}, "not a result column type"},
		{Arrow, &bytes.Buffer{}, []qconnect.Column{{Name: "d", Type: "decimal"}}, "not a result column type"},
		{CSV, &bytes.Buffer{}, []qconnect.Column{{Name: "a", Type: qconnect.Long}, {Name: "a", Type: qconnect.Symbol}}, "appears twice"},
	}
	for _, c := range cases {
		var err error
		if c.w == nil {
			_, err = New(c.f, nil, Header{}, c.cols, Ending{})
		} else {
			_, err = New(c.f, c.w, Header{}, c.cols, Ending{})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%s, %v): %v, want an error with %q", c.f, c.cols, err, c.want)
		}
	}
}

// TestOneWritePerBatch: New writes nothing, each batch is one Write, and a
// huge batch is a few Writes of bounded size.
func TestOneWritePerBatch(t *testing.T) {
	rows := tradeRows(1000)
	for _, f := range everyFormat {
		cw := &countingWriter{}
		w, err := New(f, cw, Header{Type: "r", ID: "i", Date: "d"}, tradeCols, Ending{})
		if err != nil {
			t.Fatal(err)
		}
		if cw.writes != 0 {
			t.Fatalf("%s: New wrote %d times", f, cw.writes)
		}
		for i := 1; i <= 5; i++ {
			if err := writeRows(w, rows); err != nil {
				t.Fatal(err)
			}
			if cw.writes != i {
				t.Fatalf("%s: %d Writes after %d batches", f, cw.writes, i)
			}
		}
		if err := writeRows(w, nil); err != nil || cw.writes != 5 {
			t.Fatalf("%s: an empty batch wrote (%v)", f, err)
		}
		want := 6 // the envelope's end, the last line, the end-of-stream marker
		if f == CSV {
			want = 5 // the outcome goes in the trailer
		}
		if err := w.Finish(Meta{}, nil); err != nil || cw.writes != want {
			t.Fatalf("%s: Finish made %d Writes (%v), want %d", f, cw.writes-5, err, want-5)
		}
	}

	// A batch of ~5 MiB encoded is written in chunks near flushSize.
	big := make([][]any, 20000)
	long := strings.Repeat("x", 250)
	for i := range big {
		big[i] = []any{long, int64(i)}
	}
	cols := []qconnect.Column{{Name: "s", Type: qconnect.String}, {Name: "n", Type: qconnect.Long}}
	for _, f := range everyFormat {
		cw := &countingWriter{}
		w, _ := New(f, cw, Header{}, cols, Ending{})
		if err := writeRows(w, big); err != nil {
			t.Fatal(err)
		}
		limit := flushSize + 1024
		if f == Arrow {
			limit = int(cw.n) // Arrow buffers larger than flushSize pass straight through
		}
		if cw.writes < 2 || cw.writes > 20 || cw.max > limit {
			t.Errorf("%s: %d bytes in %d Writes, largest %d", f, cw.n, cw.writes, cw.max)
		}
	}
}

// TestWriteErrorSticky: the first error of the underlying writer is returned
// by that call and every later one, without writing again.
func TestWriteErrorSticky(t *testing.T) {
	for _, f := range everyFormat {
		fw := &failingWriter{}
		w, _ := New(f, fw, Header{}, tradeCols, Ending{})
		if err := writeRows(w, tradeRows(10)); !errors.Is(err, errDiskFull) {
			t.Fatalf("%s: WriteBatch on a failing writer: %v", f, err)
		}
		calls := fw.calls
		if err := writeRows(w, tradeRows(10)); !errors.Is(err, errDiskFull) {
			t.Fatalf("%s: second WriteBatch: %v", f, err)
		}
		if err := w.Finish(Meta{}, nil); !errors.Is(err, errDiskFull) {
			t.Fatalf("%s: Finish: %v", f, err)
		}
		if fw.calls != calls {
			t.Fatalf("%s: %d more Writes after the first failure", f, fw.calls-calls)
		}
	}
}

// TestAllocsPerBatchBounded: allocations per batch do not grow with the
// number of rows already written, and the output buffer stays bounded.
func TestAllocsPerBatchBounded(t *testing.T) {
	batch, err := qconnect.BatchOf(tradeCols, tradeRows(1000))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range everyFormat {
		w, _ := New(f, &countingWriter{}, Header{}, tradeCols, Ending{})
		write := func() {
			if err := w.WriteBatch(batch); err != nil {
				t.Fatal(err)
			}
		}
		early := testing.AllocsPerRun(20, write)
		for range 200 { // 200k more rows
			write()
		}
		late := testing.AllocsPerRun(20, write)
		bound := 0.0 // text formats reuse their buffer
		if f == Arrow {
			bound = 100 // new column buffers and IPC metadata per record batch
		}
		if early > bound || late > early+1 {
			t.Errorf("%s: %.1f allocations per batch early, %.1f after 200k rows (bound %.0f)", f, early, late, bound)
		}
		if c := cap(sinkOf(w).buf); c > 2*flushSize {
			t.Errorf("%s: output buffer grew to %d bytes", f, c)
		}
	}
}

func sinkOf(w Writer) *sink {
	switch w := w.(type) {
	case *jsonWriter:
		return w.out
	case *csvWriter:
		return w.out
	case *arrowWriter:
		return w.out
	}
	panic("unknown writer")
}

// tradeCols and tradeRows are a trade-like table for the batching tests
// and the benchmarks.
var tradeCols = []qconnect.Column{
	{Name: "time", Type: qconnect.Timestamp},
	{Name: "sym", Type: qconnect.Symbol},
	{Name: "price", Type: qconnect.Float},
	{Name: "size", Type: qconnect.Long},
	{Name: "side", Type: qconnect.Char},
}

func tradeRows(n int) [][]any {
	syms := []string{"AAPL", "MSFT", "GOOG", "AMZN", "IBM"}
	t0 := time.Date(2019, 7, 26, 9, 30, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		side := "B"
		if i%3 == 0 {
			side = "S"
		}
		rows[i] = []any{t0.Add(time.Duration(i) * 1237 * time.Microsecond), syms[i%len(syms)],
			100 + float64(i%1000)/100, int64(100 * (1 + i%50)), side}
	}
	return rows
}

// TestNothingWrittenBeforeFirstRow: when the first row is bad, nothing
// reaches the writer, so the server can still answer with a plain error;
// the Writer remains usable for a well-formed body.
func TestNothingWrittenBeforeFirstRow(t *testing.T) {
	cols := []qconnect.Column{{Name: "k", Type: qconnect.Long}}
	for _, f := range everyFormat {
		for _, bad := range [][]any{{"x"}, {int64(1), int64(2)}} {
			var buf bytes.Buffer
			trailer := map[string]string{}
			w, _ := New(f, &buf, Header{Type: "r", ID: "i", Date: "d"}, cols, Ending{SetTrailer: func(k, v string) { trailer[k] = v }})
			if err := writeRows(w, [][]any{bad}); err == nil {
				t.Fatalf("%s: bad row %v accepted", f, bad)
			}
			if buf.Len() != 0 {
				t.Fatalf("%s: a failed first row wrote %q", f, buf.Bytes())
			}
			if err := writeRows(w, [][]any{{int64(5)}}); err != nil {
				t.Fatal(err)
			}
			if err := w.Finish(Meta{}, nil); err != nil {
				t.Fatal(err)
			}
			got, outcome := decodeBody(t, f, buf.Bytes(), cols, trailer)
			if outcome != nil || len(got) != 1 || got[0][0] != int64(5) {
				t.Fatalf("%s: body after a failed first row: %v %v", f, got, outcome)
			}
		}
	}
}
