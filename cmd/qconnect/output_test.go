package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/client"
)

func TestWriteTableAlignsColumns(t *testing.T) {
	res := &client.Result{
		Columns: []qconnect.Column{
			{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol},
			{Name: "usedMem", Type: qconnect.Long}, {Name: "ratio", Type: qconnect.Float},
			{Name: "note", Type: qconnect.String},
		},
		Rows: [][]any{
			{time.Date(2019, 7, 26, 9, 0, 0, 0, time.UTC), "server_A", int64(123456789), 0.5, "ok"},
			{time.Date(2019, 7, 26, 9, 5, 0, 1, time.UTC), "b", int64(-7), nil, "two\nlines"},
			{nil, "ünï", int64(0), 12.25, nil},
		},
		RowCount:  3,
		Truncated: true,
		ElapsedMs: 3.25,
	}
	var out bytes.Buffer
	if err := writeTable(&out, res); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"time                            sym         usedMem  ratio  note\n" +
		"------------------------------  --------  ---------  -----  ----------\n" +
		"2019-07-26T09:00:00.000000000Z  server_A  123456789    0.5  ok\n" +
		"2019-07-26T09:05:00.000000001Z  b                -7         two\\nlines\n" +
		"                                ünï               0  12.25\n" +
		"rows: 3 (truncated)  elapsed: 3.2 ms\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	empty := &client.Result{Columns: []qconnect.Column{{Name: "x", Type: qconnect.Long}}, ElapsedMs: 1500}
	writeTable(&out, empty)
	if want := "x\n-\nrows: 0  elapsed: 1.50 s\n"; out.String() != want {
		t.Errorf("empty table = %q, want %q", out.String(), want)
	}
	if got := formatElapsed(0.051); got != "0.051 ms" {
		t.Errorf("formatElapsed(0.051) = %q", got)
	}
}

func TestWriteResultCSVQuotes(t *testing.T) {
	res := &client.Result{
		Columns: []qconnect.Column{{Name: "s", Type: qconnect.String}, {Name: "n", Type: qconnect.Long}, {Name: "d", Type: qconnect.Date}},
		Rows: [][]any{
			{`a,b`, int64(1), time.Date(2019, 7, 26, 0, 0, 0, 0, time.UTC)},
			{`say "hi"`, nil, nil},
			{"line1\nline2", int64(-3), nil},
			{" lead", int64(0), nil},
			{"", int64(2), nil},
			{nil, int64(5), nil},
		},
	}
	var out bytes.Buffer
	if err := writeResultCSV(&out, res, nil); err != nil {
		t.Fatal(err)
	}
	// The gateway's CSV (encode.CSV): the empty string is "", null is an
	// empty field, a line break inside a value is kept as it is.
	want := "s,n,d\r\n" +
		"\"a,b\",1,2019-07-26\r\n" +
		"\"say \"\"hi\"\"\",,\r\n" +
		"\"line1\nline2\",-3,\r\n" +
		" lead,0,\r\n" +
		"\"\",2,\r\n" +
		",5,\r\n"
	if out.String() != want {
		t.Errorf("csv = %q\nwant %q", out.String(), want)
	}
	// An RFC 4180 reader gets the values back.
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || recs[2][0] != `say "hi"` || recs[3][0] != "line1\nline2" || recs[1][0] != "a,b" || recs[4][0] != " lead" {
		t.Errorf("read back %q", recs)
	}
	// The field hook (formula neutralisation plugs in there) sees strings only.
	out.Reset()
	if err := writeResultCSV(&out, res, func(b []byte) ([]byte, bool) { return append([]byte("'"), b...), false }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\r\n'x,") && !strings.Contains(out.String(), "\"'a,b\",1,") {
		t.Errorf("field hook not applied: %q", out.String())
	}
}

// fakeClock is an injected clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressMeterTiming(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	p := newProgressMeter(&out, clk.now, true, true)
	p.Write([]byte("h1,h2\r\n1,2\r\n"))
	clk.advance(900 * time.Millisecond)
	p.Write([]byte("3,4\r\n"))
	if out.Len() != 0 {
		t.Fatalf("drew %q before one second", out.String())
	}
	clk.advance(100 * time.Millisecond) // t = 1 s
	p.Write([]byte(strings.Repeat("5,6\r\n", 1000)))
	if got, want := out.String(), "\r  1,002 rows  5.0 kB  1.0k rows/s"; got != want {
		t.Fatalf("first line = %q, want %q", got, want)
	}
	clk.advance(100 * time.Millisecond)
	p.Write([]byte("7,8\r\n"))
	if strings.Count(out.String(), "\r") != 1 {
		t.Errorf("redrew within 250 ms: %q", out.String())
	}
	clk.advance(150 * time.Millisecond) // 250 ms after the first line
	p.Write([]byte("9,9\r\n"))
	// the shorter line is padded to blank the end of the longer one
	if got, want := out.String(), "\r  1,002 rows  5.0 kB  1.0k rows/s\r  1,004 rows  5.0 kB  803 rows/s "; got != want {
		t.Errorf("second line: %q", out.String())
	}
	p.finish()
	if !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("finish did not end the line: %q", out.String())
	}
	if got, want := p.summary("out.csv"), "wrote 1,004 rows (5.0 kB) to out.csv in 1.25s"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}

	// Bytes only (JSON, Arrow), and a shorter line blanks the rest of the longer one.
	out.Reset()
	clk = &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p = newProgressMeter(&out, clk.now, false, true)
	clk.advance(2 * time.Second)
	p.Write(make([]byte, 9_800_000))
	if got, want := out.String(), "\r  9.8 MB  4.9 MB/s"; got != want {
		t.Errorf("bytes line = %q, want %q", got, want)
	}
	p.drawn = 40
	clk.advance(time.Second)
	p.Write(nil)
	if !strings.HasSuffix(out.String(), "\r  9.8 MB  3.3 MB/s"+strings.Repeat(" ", 40-len("  9.8 MB  3.3 MB/s"))) {
		t.Errorf("redraw does not blank the old line: %q", out.String())
	}

	// Not a terminal: counts, never draws.
	out.Reset()
	p = newProgressMeter(&out, clk.now, true, false)
	clk.advance(5 * time.Second)
	p.Write([]byte("a\nb\nc\n"))
	p.finish()
	if out.Len() != 0 || p.rows() != 2 {
		t.Errorf("disabled meter wrote %q, rows %d", out.String(), p.rows())
	}
}

func TestHumanNumbers(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{512: "512 B", 1500: "1.5 kB", 98_100_000: "98.1 MB", 2_500_000_000: "2.5 GB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for f, want := range map[float64]string{950: "950", 1234: "1.2k", 412_000: "412k", 3_400_000: "3.4M"} {
		if got := humanRate(f); got != want {
			t.Errorf("humanRate(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestWriteMethods(t *testing.T) {
	one := 1.0
	ms := []client.MethodInfo{{
		Group: "monPublic", Name: "getMem", Description: "Raw memory\n samples.",
		Params: []client.ParamInfo{
			{Name: "start", Type: "timestamp", DefaultDoc: "one hour before end", Description: "Start (inclusive)."},
			{Name: "syms", Type: "symbol[]", Default: []any{"server_A"}, Enum: []string{"server_A", "server_B"}, MaxLen: 100},
			{Name: "bucket", Type: "timespan", Default: "5m", Description: "Bucket."},
			{Name: "n", Type: "long", Required: true, Min: &one, Description: "How many."},
			{Name: "x", Type: "string"},
		},
		Columns: []qconnect.Column{{Name: "time", Type: qconnect.Timestamp}, {Name: "sym", Type: qconnect.Symbol}},
	}, {Group: "g", Name: "live", Streaming: true, Description: "Ticks."}}
	var out bytes.Buffer
	if err := writeMethods(&out, ms); err != nil {
		t.Fatal(err)
	}
	want := `monPublic/getMem — Raw memory samples.
  params:
    start timestamp (default one hour before end) — Start (inclusive).
    syms symbol[] (default ["server_A"]) [one of server_A, server_B; max length 100]
    bucket timespan (default 5m) — Bucket.
    n long (required) [min 1] — How many.
    x string (optional)
  columns: time timestamp, sym symbol

g/live — Ticks. (streaming: subscribe over the WebSocket)
  params: none
  columns: none
`
	if out.String() != want {
		t.Errorf("methods:\n%s\nwant:\n%s", out.String(), want)
	}
	// Defaults decoded with UseNumber print as the number.
	if got := paramUse(client.ParamInfo{Default: json.Number("5")}); got != "default 5" {
		t.Errorf("paramUse = %q", got)
	}
}

// TestProgressCountsCSVRecords: line breaks inside quoted CSV fields are not
// records, however the bytes are split across writes.
func TestProgressCountsCSVRecords(t *testing.T) {
	data := "a,b\r\n\"x\ny\",1\r\n\"he said \"\"hi\"\"\n\",2\r\nplain,3\r\n"
	for split := 0; split <= len(data); split++ {
		p := newProgressMeter(io.Discard, time.Now, true, false)
		p.csv = true
		p.Write([]byte(data[:split]))
		p.Write([]byte(data[split:]))
		if p.rows() != 3 {
			t.Fatalf("split at %d: %d rows, want 3", split, p.rows())
		}
	}
}
