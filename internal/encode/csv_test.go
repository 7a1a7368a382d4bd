package encode

import (
	"bytes"
	"encoding/csv"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qconnect/qconnect"
)

func TestCSVTrickyFields(t *testing.T) {
	cols := []qconnect.Column{{Name: `na"me`, Type: qconnect.String}, {Name: "a,b", Type: qconnect.Symbol}, {Name: "x", Type: qconnect.Float}}
	fields := []string{"", "plain", `"`, `""`, `say "hi"`, "a,b", "line\nbreak", "cr\ronly", "crlf\r\nend", "\n", " lead", "trail ",
		"naïve 日本", "bad\xffbyte", "\x00nul", `\`, "'single'", "#comment"}
	var rows [][]any
	for i, s := range fields {
		rows = append(rows, []any{s, fields[len(fields)-1-i], float64(i) + 0.25})
	}
	var buf bytes.Buffer
	trailer := map[string]string{}
	w, err := New(CSV, &buf, Header{}, cols, Ending{SetTrailer: func(k, v string) { trailer[k] = v }})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, rows, 5)
	if err := w.Finish(Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	if trailer[TrailerStatus] != "ok" || len(trailer) != 2 || !strings.Contains(trailer[TrailerMeta], `"rowCount":`) {
		t.Fatalf("trailers %v, want %s: ok", trailer, TrailerStatus)
	}
	r := csv.NewReader(bytes.NewReader(buf.Bytes()))
	r.FieldsPerRecord = 3
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv: %v\n%q", err, buf.Bytes())
	}
	if want := []string{`na"me`, "a,b", "x"}; !reflect.DeepEqual(recs[0], want) {
		t.Fatalf("header %q, want %q", recs[0], want)
	}
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d records, want %d", len(recs), len(rows)+1)
	}
	for i, row := range rows {
		// encoding/csv turns \r\n inside a quoted field into \n.
		want0 := strings.ReplaceAll(wantString(row[0].(string)), "\r\n", "\n")
		want1 := strings.ReplaceAll(wantString(row[1].(string)), "\r\n", "\n")
		if recs[i+1][0] != want0 || recs[i+1][1] != want1 {
			t.Errorf("row %d: got %q, want %q, %q", i, recs[i+1][:2], want0, want1)
		}
	}
	// Record separators are CRLF: every LF that ends a record follows a CR.
	// Take the body apart without the quoted fields to check.
	if !utf8.Valid(buf.Bytes()) {
		t.Error("the body is not valid UTF-8")
	}
	if !strings.HasPrefix(buf.String(), `"na""me","a,b",x`+"\r\n") {
		t.Errorf("header line %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	if !strings.HasSuffix(buf.String(), "\r\n") {
		t.Error("the last record does not end in CRLF")
	}
}

// TestCSVExactLines pins the byte form of the RFC 4180 rules.
func TestCSVExactLines(t *testing.T) {
	cols := []qconnect.Column{{Name: "s", Type: qconnect.String}, {Name: "f", Type: qconnect.Float},
		{Name: "l", Type: qconnect.Long}, {Name: "b", Type: qconnect.Boolean}}
	rows := [][]any{
		{"a", 1.5, int64(-2), true},
		{"", math.NaN(), nil, false}, // empty string is "", null is empty
		{nil, math.Inf(1), int64(0), nil},
		{`q"x`, 1e-9, int64(7), true},
		{"l1\nl2", nil, nil, nil},
	}
	var buf bytes.Buffer
	w, _ := New(CSV, &buf, Header{}, cols, Ending{})
	writeAll(t, w, rows, 10)
	if err := w.Finish(Meta{}, nil); err != nil {
		t.Fatal(err)
	}
	want := "s,f,l,b\r\n" +
		"a,1.5,-2,true\r\n" +
		`"",,,false` + "\r\n" +
		",,0,\r\n" +
		`"q""x",1e-9,7,true` + "\r\n" +
		"\"l1\nl2\",,,\r\n"
	if buf.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

// TestCSVSingleColumnNull: a null in a one-column table must not become a
// blank line, which readers skip.
func TestCSVSingleColumnNull(t *testing.T) {
	cols := []qconnect.Column{{Name: "l", Type: qconnect.Long}}
	var buf bytes.Buffer
	w, _ := New(CSV, &buf, Header{}, cols, Ending{})
	writeAll(t, w, [][]any{{int64(1)}, {nil}, {int64(3)}}, 10)
	w.Finish(Meta{}, nil)
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 4 || recs[2][0] != "" {
		t.Fatalf("records %q (%v), want a header and 3 rows", recs, err)
	}
}

func TestCSVEmptyResult(t *testing.T) {
	var buf bytes.Buffer
	trailer := map[string]string{}
	w, _ := New(CSV, &buf, Header{}, tradeCols, Ending{SetTrailer: func(k, v string) { trailer[k] = v }})
	if err := w.Finish(Meta{}, &qconnect.Error{Code: qconnect.CodeTimeout, Message: "ran past 10s"}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "time,sym,price,size,side\r\n" {
		t.Fatalf("body %q, want the header row only", buf.String())
	}
	if got := trailer[TrailerStatus]; got != "error timeout ran past 10s" {
		t.Fatalf("trailer %q", got)
	}
}

func TestStatusValueHeaderSafe(t *testing.T) {
	cases := []struct {
		err  *qconnect.Error
		want string
	}{
		{nil, "ok"},
		{&qconnect.Error{Code: qconnect.CodeAnalyticError, Message: "x"}, "error analyticError x"},
		{&qconnect.Error{Code: qconnect.CodeInternal}, "error internal"},
		{&qconnect.Error{Message: "no code"}, "error internal no code"},
		{&qconnect.Error{Code: qconnect.CodeAnalyticError, Message: "line1\r\nSet-Cookie: a=b"}, "error analyticError line1 Set-Cookie: a=b"},
		{&qconnect.Error{Code: qconnect.CodeAnalyticError, Message: "  tab\there\x00nul\x7fdel\u0085nel\u2028ls  "}, "error analyticError tab here nul del nel ls"},
		{&qconnect.Error{Code: qconnect.CodeAnalyticError, Message: "bad\xff\xfeutf8 ünïcödé"}, "error analyticError bad utf8 ünïcödé"},
	}
	for _, c := range cases {
		if got := StatusValue(c.err); got != c.want {
			t.Errorf("StatusValue(%+v) = %q, want %q", c.err, got, c.want)
		}
	}
	long := strings.Repeat("é", 1000) // 2000 bytes
	got := headerSafe(long, maxStatusMessage)
	if len(got) > maxStatusMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || len(got) < maxStatusMessage-4 {
		t.Fatalf("a long message became %d bytes (valid UTF-8: %v): ...%q", len(got), utf8.ValidString(got), got[max(0, len(got)-10):])
	}
	if got := headerSafe("word "+strings.Repeat("x", 600), 10); got != "word xx..." {
		t.Fatalf("cut: %q", got)
	}
	if got := headerSafe("abcdef  ghijk", 10); got != "abcdef..." {
		t.Fatalf("cut after a space: %q", got)
	}
	for _, r := range StatusValue(&qconnect.Error{Code: "c", Message: long + "\r\n"}) {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("control character %U in the trailer", r)
		}
	}
}
